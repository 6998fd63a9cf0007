"""Customer accounts end to end through the real forms (CSRF off; see test_account_security)."""
import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from storefront.audit import AuditEvent
from storefront.auth.models import Address, AuthToken, User, UserSession
from storefront.extensions import db
from storefront.testing import TEST_PASSWORD, totp_for, mail_text

NEW_PASSWORD = "a completely new passphrase"


def link_in(message, path):
    return re.search(rf"http://localhost({path}/\S+)", mail_text(message)).group(1)


def actions():
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_registering_sends_a_verification_link_that_confirms_the_address(client, sent_mail):
    response = client.post("/account/register", data={"email": "Ann@Example.com", "password": TEST_PASSWORD,
                                                      "name": "Ann"})
    assert response.status_code == 200 and "Check your inbox" in response.get_data(as_text=True)
    user = db.session.scalar(select(User))
    assert user.email == "ann@example.com" and user.role == "customer" and not user.email_verified
    assert user.password_hash.startswith("scrypt:")
    assert sent_mail[-1]["To"] == "ann@example.com"
    client.get(link_in(sent_mail[-1], "/account/verify"))
    db.session.refresh(user)
    assert user.email_verified
    assert actions() == ["auth.registered", "auth.email_verified"]


def test_a_weak_password_is_refused_with_reasons(client):
    for password, reason in [("short", "at least 10 characters"), ("password123", "most commonly used"),
                             ("ann@example.com", "e-mail address as your password")]:
        response = client.post("/account/register", data={"email": "ann@example.com", "password": password})
        assert response.status_code == 400
        assert reason in response.get_data(as_text=True)
    assert db.session.scalar(select(User)) is None


def test_registering_an_existing_address_looks_the_same_but_warns_the_owner(client, make_user, sent_mail):
    owner = make_user(email="taken@example.com")
    response = client.post("/account/register", data={"email": "taken@example.com", "password": NEW_PASSWORD})
    assert response.status_code == 200 and "Check your inbox" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(User)).all()) == 1
    assert sent_mail[-1]["To"] == owner.email and "tried to register" in sent_mail[-1]["Subject"]


def test_signing_in_and_out(client, make_user):
    user = make_user()
    response = client.post("/account/login", data={"email": user.email.upper(), "password": TEST_PASSWORD})
    assert response.status_code == 302 and response.location == "/account/"
    assert client.get("/account/").status_code == 200
    client.post("/account/logout")
    assert client.get("/account/").status_code == 302
    assert actions() == ["auth.login", "auth.logout"]


def test_a_wrong_password_gets_a_message_that_does_not_say_whether_the_address_exists(client, make_user):
    user = make_user()
    wrong = client.post("/account/login", data={"email": user.email, "password": "not the password"})
    unknown = client.post("/account/login", data={"email": "nobody@example.com", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    message = "The e-mail address or password is not correct."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_remember_me_keeps_the_session_beyond_the_browser_session(client, make_user, login):
    user = make_user()
    forgetful = login(client, user)
    assert "Expires=" not in forgetful.headers["Set-Cookie"]
    other = client.application.test_client()
    remembered = login(other, user, remember=True)
    assert "Expires=" in remembered.headers["Set-Cookie"]


def test_mfa_enrolment_then_sign_in_needs_the_code(client, make_user, login):
    user = make_user()
    login(client, user)
    page = client.get("/account/mfa").get_data(as_text=True)
    assert "<svg" in page  # QR code drawn by the server
    secret = re.search(r'data-testid="mfa-secret">([A-Z2-7]+)<', page).group(1)
    wrong = client.post("/account/mfa", data={"code": "000000"})
    assert wrong.status_code == 400
    done = client.post("/account/mfa", data={"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    db.session.refresh(user)
    assert user.mfa_enabled
    client.post("/account/logout")

    step_one = client.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert step_one.location.startswith("/account/login/verify")
    assert client.get("/account/").status_code == 302  # not signed in yet
    assert client.post("/account/login/verify", data={"code": "123456"}).status_code == 400
    assert client.post("/account/login/verify", data={"code": codes[0]}).status_code == 302
    assert client.get("/account/").status_code == 200
    client.post("/account/logout")
    client.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert client.post("/account/login/verify", data={"code": codes[0]}).status_code == 400  # used once
    db.session.refresh(user)
    assert client.post("/account/login/verify", data={"code": totp_for(user)}).status_code == 302
    assert "auth.mfa_recovery_code_used" in actions() and "auth.mfa_failed" in actions()


def test_a_totp_code_cannot_be_replayed(client, make_user):
    user = make_user(mfa=True)
    code = totp_for(user)
    client.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert client.post("/account/login/verify", data={"code": code}).status_code == 302
    attacker = client.application.test_client()
    attacker.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert attacker.post("/account/login/verify", data={"code": code}).status_code == 400


def test_password_reset_through_the_emailed_link(client, make_user, sent_mail):
    user = make_user()
    client.post("/account/reset", data={"email": user.email})
    link = link_in(sent_mail[-1], "/account/reset")
    assert client.post(link, data={"password": "short"}).status_code == 400
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 302
    assert client.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 401
    assert client.post("/account/login", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 302
    assert "was changed" in sent_mail[-1]["Subject"]


def test_changing_the_password_signs_out_other_devices_but_not_this_one(app, make_user, login):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    response = laptop.post("/account/password", data={"current_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert laptop.get("/account/").status_code == 200
    assert phone.get("/account/").status_code == 302
    assert len(db.session.scalars(select(UserSession)).all()) == 1


def test_changing_the_email_needs_confirmation_from_the_new_address(app, make_user, login, sent_mail):
    user = make_user(email="old@example.com")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    assert laptop.post("/account/email", data={"email": "new@example.com", "password": "wrong"}).status_code == 401
    laptop.post("/account/email", data={"email": "new@example.com", "password": TEST_PASSWORD})
    assert sent_mail[-1]["To"] == "new@example.com"
    laptop.get(link_in(sent_mail[-1], "/account/email/confirm"))
    db.session.refresh(user)
    assert user.email == "new@example.com"
    assert sent_mail[-1]["To"] == "old@example.com"  # the old address is told
    assert laptop.get("/account/").status_code == 200 and phone.get("/account/").status_code == 302


def test_the_sessions_page_lists_devices_and_signs_one_out(app, make_user, login):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    phone.environ_base["HTTP_USER_AGENT"] = "PhoneBrowser/1.0"
    login(phone, user)
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert "PhoneBrowser/1.0" in page and "(this device)" in page
    phone_session = db.session.scalar(select(UserSession).where(UserSession.user_agent == "PhoneBrowser/1.0"))
    laptop.post(f"/account/sessions/{phone_session.id}/revoke")
    assert phone.get("/account/").status_code == 302
    assert laptop.get("/account/").status_code == 200


def test_sign_out_everywhere_else(app, make_user, login):
    user = make_user()
    clients = [app.test_client() for _ in range(3)]
    for c in clients:
        login(c, user)
    clients[0].post("/account/sessions/revoke-others")
    assert [c.get("/account/").status_code for c in clients] == [200, 302, 302]


def test_the_address_book_requires_fields_by_country_and_keeps_one_default(client, make_user, login):
    user = make_user()
    login(client, user)
    us = {"full_name": "Ann", "line1": "1 Main St", "city": "Springfield", "country": "US"}
    response = client.post("/account/addresses/new", data=us)
    assert response.status_code == 400 and "State / region, Postal code required" in response.get_data(as_text=True)
    assert client.post("/account/addresses/new", data={**us, "region": "IL", "postal_code": "62701"}).status_code == 302
    de = {"full_name": "Ann", "line1": "Hauptstr. 1", "city": "Berlin", "country": "DE", "postal_code": "10115",
          "is_default_shipping": "y"}
    assert client.post("/account/addresses/new", data=de).status_code == 302
    book = db.session.scalars(select(Address).order_by(Address.id)).all()
    assert [(a.country, a.is_default_shipping, a.is_default_billing) for a in book] == [
        ("US", False, True), ("DE", True, False)]
    client.post(f"/account/addresses/{book[0].id}/delete")
    assert [a.country for a in db.session.scalars(select(Address))] == ["DE"]


def test_deleting_the_account_erases_personal_data(client, make_user, login):
    user = make_user(email="gone@example.com", name="Gone Person")
    login(client, user)
    client.post("/account/addresses/new", data={"full_name": "G", "line1": "x", "city": "y", "country": "GB",
                                                "postal_code": "SW1A 1AA"})
    assert client.post("/account/delete", data={"password": "wrong"}).status_code == 401
    assert client.post("/account/delete", data={"password": TEST_PASSWORD}).status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.email.startswith("deleted-") and user.name == "" and user.password_hash is None
    assert db.session.scalar(select(Address)) is None
    assert client.get("/account/").status_code == 302


def test_create_admin_from_the_cli(runner):
    result = runner.invoke(args=["users", "create-admin", "boss@example.com", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User))
    assert admin.role == "admin" and admin.email_verified
    weak = runner.invoke(args=["users", "create-admin", "b2@example.com", "--password", "short"])
    assert weak.exit_code != 0 and "at least 10 characters" in weak.output


def test_staff_without_a_second_factor_are_sent_to_set_one_up(client, make_user, login):
    staff = make_user(role="staff", mfa=False)
    login(client, staff)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.location == "/account/mfa"


def test_staff_with_mfa_reach_the_back_office(staff_client):
    assert staff_client.get("/admin/").status_code == 200


def test_a_customer_can_make_new_recovery_codes_and_turn_mfa_off(client, make_user, login):
    user = make_user(mfa=True)
    login(client, user)
    db.session.refresh(user)
    page = client.post("/account/mfa/recovery-codes", data={"code": totp_for(user)}).get_data(as_text=True)
    codes = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", page)
    assert len(codes) == 10
    wrong = client.post("/account/mfa/disable", data={"password": "wrong password", "code": "123456"},
                        follow_redirects=True)
    assert "Your password is not correct." in wrong.get_data(as_text=True)
    client.post("/account/mfa/disable", data={"password": TEST_PASSWORD, "code": codes[0]})
    db.session.refresh(user)
    assert not user.mfa_enabled


def test_staff_cannot_turn_their_second_factor_off(staff_client):
    response = staff_client.post("/account/mfa/disable", data={"password": TEST_PASSWORD, "code": "000000"})
    assert response.status_code == 403
