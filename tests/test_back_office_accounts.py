import re

from sqlalchemy import select

from storefront.audit import AuditEvent
from storefront.auth.models import Address, User
from storefront.extensions import db
from storefront.testing import TEST_PASSWORD, totp_for, mail_text


def test_staff_find_a_customer_and_see_their_addresses_and_activity(staff_client, make_user, login, app):
    ann = make_user(email="ann@example.com", name="Ann Example")
    make_user(email="bob@example.com")
    db.session.add(Address(user_id=ann.id, full_name="Ann", line1="1 Road", city="Leeds", country="GB",
                           postal_code="LS1 1AA"))
    db.session.commit()
    login(app.test_client(), ann)
    listing = staff_client.get("/admin/customers?q=ann").get_data(as_text=True)
    assert "ann@example.com" in listing and "bob@example.com" not in listing
    detail = staff_client.get(f"/admin/customers/{ann.id}").get_data(as_text=True)
    assert "1 Road" in detail and "auth.login" in detail


def test_staff_lock_a_customer_out_and_unlock_them(staff_client, make_user, login, app):
    ann = make_user()
    ann_client = app.test_client()
    login(ann_client, ann)
    staff_client.post(f"/admin/customers/{ann.id}/lock")
    assert ann_client.get("/account/").status_code == 302
    assert app.test_client().post("/account/login", data={"email": ann.email, "password": TEST_PASSWORD}).status_code == 429
    staff_client.post(f"/admin/customers/{ann.id}/unlock")
    assert app.test_client().post("/account/login", data={"email": ann.email, "password": TEST_PASSWORD}).status_code == 302
    logged = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_email == staff_client.user.email)).all()
    assert "admin.customer.locked" in logged and "admin.customer.unlocked" in logged


def test_staff_remove_a_customers_second_factor(staff_client, make_user):
    ann = make_user(mfa=True)
    staff_client.post(f"/admin/customers/{ann.id}/reset-mfa")
    db.session.refresh(ann)
    assert not ann.mfa_enabled


def test_an_admin_invites_staff_who_accept_by_the_emailed_link(app, make_user, login, sent_mail):
    admin = make_user(role="admin")
    admin_client = app.test_client()
    login(admin_client, admin)
    admin_client.post("/admin/staff/invite", data={"email": "clerk@example.com", "role": "staff"})
    link = re.search(r"http://localhost(/account/invitation/\S+)", mail_text(sent_mail[-1])).group(1)
    newcomer = app.test_client()
    assert newcomer.post(link, data={"name": "Clerk", "password": "short"}).status_code == 400
    assert newcomer.post(link, data={"name": "Clerk", "password": "clerk passphrase 2026"}).status_code == 302
    clerk = db.session.scalar(select(User).where(User.email == "clerk@example.com"))
    assert clerk.role == "staff" and clerk.name == "Clerk"
    assert newcomer.get(link).status_code == 400  # single use
    login(newcomer, clerk, password="clerk passphrase 2026")
    assert newcomer.get("/admin/").location == "/account/mfa"  # staff must set up MFA first


def test_plain_staff_cannot_invite_or_change_roles(staff_client, make_user):
    other = make_user(role="staff")
    assert staff_client.post("/admin/staff/invite", data={"email": "x@example.com", "role": "admin"}).status_code == 403
    assert staff_client.post(f"/admin/staff/{other.id}/role", data={"role": "admin"}).status_code == 403
    db.session.refresh(other)
    assert other.role == "staff"


def test_the_audit_log_viewer_filters_by_action_and_actor(staff_client, make_user, app):
    ann = make_user()
    app.test_client().post("/account/login", data={"email": ann.email, "password": "wrong password"})
    page = staff_client.get("/admin/audit?action=auth.login_failed").get_data(as_text=True)
    assert "auth.login_failed" in page and "auth.login<" not in page
    by_staff = staff_client.get(f"/admin/audit?actor={staff_client.user.email}").get_data(as_text=True)
    assert "auth.login" in by_staff and "auth.login_failed" not in by_staff
    assert staff_client.get("/admin/audit?since=yesterday").status_code == 400
    assert staff_client.get("/admin/audit?page=abc").status_code == 400


def test_the_back_office_menu_lists_the_core_pages(staff_client):
    page = staff_client.get("/admin/").get_data(as_text=True)
    for label in ("Dashboard", "Customers", "Staff", "Audit log", "Plugins", "Theme"):
        assert f">{label}</a>" in page
