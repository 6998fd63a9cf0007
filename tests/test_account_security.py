"""Attacks a storefront must shrug off: CSRF, session fixation, brute force, IDOR,
privilege escalation, token reuse, account enumeration."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from storefront.auth.models import Address, AuthToken, LoginThrottle, User
from storefront.auth.tokens import utcnow
from storefront.extensions import db
from storefront.testing import TEST_PASSWORD, mail_text

NEW_PASSWORD = "a completely new passphrase"


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def test_every_state_changing_route_refuses_a_request_without_csrf_token(csrf_app):
    """Walk the whole URL map: any route accepting POST/PUT/PATCH/DELETE must answer 400."""
    exempt_prefixes = ("/_probe/",)  # test-only probes are not mounted here anyway
    # A visitor with no session adding from a publicly cached product page (which has no
    # token to give) is let through once; with a session or cart the token is required
    # (tests/cart/test_cart_sign_in_and_housekeeping.py). Webhooks carry a signature.
    exempt_rules = {"/cart/add", "/payments/<gateway_id>/webhook"}
    client = csrf_app.test_client()
    checked = []
    for rule in csrf_app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.rule.startswith(exempt_prefixes) or rule.rule in exempt_rules:
            continue
        url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "1" if "int" in m.group(0) else "x", rule.rule)
        for method in methods:
            response = client.open(url, method=method, data={"email": "a@example.com"})
            assert response.status_code == 400, f"{method} {rule.rule} answered {response.status_code}"
            checked.append(rule.rule)
    assert "/account/login" in checked and "/account/logout" in checked and len(checked) >= 15


def test_a_session_id_from_before_sign_in_is_useless_afterwards(app, make_user):
    user = make_user()
    victim = app.test_client()
    victim.get("/account/login")  # the attacker planted / learned this id
    victim.post("/account/addresses/new")  # make sure a session row exists
    planted = victim.get_cookie("storefront_session")
    response = victim.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert victim.get_cookie("storefront_session").value != (planted.value if planted else None)
    attacker = app.test_client()
    if planted:
        attacker.set_cookie("storefront_session", planted.value)
    assert attacker.get("/account/").status_code == 302
    assert victim.get("/account/").status_code == 200


def test_repeated_failures_lock_the_address_whether_or_not_it_is_registered(app, make_user):
    user = make_user()
    for n, email in enumerate((user.email, "ghost@example.com")):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.1.0.{n}"  # stay under the per-address rate limit
        statuses = [client.post("/account/login", data={"email": email, "password": f"wrong{i}"}).status_code
                    for i in range(app.config["LOGIN_MAX_FAILURES"] + 1)]
        assert statuses == [401] * (app.config["LOGIN_MAX_FAILURES"] - 1) + [429, 429]
    # Even the right password is refused while locked …
    client = app.test_client()
    locked = client.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.get_data(as_text=True)
    # … until the lock expires.
    db.session.execute(update(LoginThrottle).where(LoginThrottle.email == user.email)
                       .values(locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.post("/account/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 302


def test_staff_can_lift_a_lockout_from_the_cli(app, make_user, runner):
    user = make_user()
    db.session.add(LoginThrottle(email=user.email, failures=0, lockouts=1, locked_until=utcnow() + timedelta(hours=1)))
    db.session.commit()
    result = runner.invoke(args=["users", "unlock", user.email])
    assert "unlocked" in result.output
    assert app.test_client().post("/account/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 302


@pytest.fixture
def limited_app(make_app):
    app = make_app(RATELIMIT_AUTH="3 per minute", LOGIN_MAX_FAILURES=100)
    with app.app_context():
        yield app


def test_the_rate_limiter_answers_429_per_account_even_from_many_addresses(limited_app):
    from storefront.auth.models import User as UserModel
    from storefront.auth.passwords import hash_password
    from storefront.auth.tokens import utcnow

    app = limited_app
    user = UserModel(email="limited@example.com", password_hash=hash_password(TEST_PASSWORD), created_at=utcnow())
    db.session.add(user)
    db.session.commit()
    statuses = []
    for n in range(5):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n}"
        statuses.append(client.post("/account/login", data={"email": user.email, "password": "nope"}).status_code)
    assert statuses == [401, 401, 401, 429, 429]


def test_the_rate_limiter_answers_429_per_address_across_accounts(limited_app):
    app = limited_app
    client = app.test_client()
    statuses = [client.post("/account/reset", data={"email": f"u{n}@example.com"}).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_a_customer_gets_404_for_another_customers_address(app, make_user, login):
    alice, bob = make_user(), make_user()
    bobs = Address(user_id=bob.id, full_name="Bob", line1="x", city="y", country="GB", postal_code="E1 6AN")
    db.session.add(bobs)
    db.session.commit()
    client = app.test_client()
    login(client, alice)
    assert client.get(f"/account/addresses/{bobs.id}/edit").status_code == 404
    assert client.post(f"/account/addresses/{bobs.id}/edit", data={"full_name": "Mallory", "line1": "x", "city": "y",
                                                                   "country": "GB", "postal_code": "E1"}).status_code == 404
    assert client.post(f"/account/addresses/{bobs.id}/delete").status_code == 404
    db.session.refresh(bobs)
    assert bobs.full_name == "Bob"


def test_a_customer_cannot_sign_out_another_customers_session(app, make_user, login):
    from storefront.auth.models import UserSession

    alice, bob = make_user(), make_user()
    bob_client, alice_client = app.test_client(), app.test_client()
    login(bob_client, bob)
    login(alice_client, alice)
    bobs_session = db.session.scalar(select(UserSession).where(UserSession.user_id == bob.id))
    assert alice_client.post(f"/account/sessions/{bobs_session.id}/revoke").status_code == 404
    assert bob_client.get("/account/").status_code == 200


def test_back_office_pages_refuse_customers_and_send_strangers_to_sign_in(app, make_user, login):
    back_office = [r.rule for r in app.url_map.iter_rules()
                   if r.rule.startswith("/admin") and "GET" in r.methods and "<" not in r.rule
                   and r.endpoint not in ("admin.login", "admin.static")]
    assert "/admin/" in back_office
    stranger = app.test_client()
    customer = app.test_client()
    login(customer, make_user())
    for url in back_office:
        assert stranger.get(url).status_code == 302, url
        assert customer.get(url).status_code == 403, url


def test_reset_links_work_once_and_expire(client, make_user, sent_mail):
    user = make_user()
    client.post("/account/reset", data={"email": user.email})
    link = re.search(r"http://localhost(/account/reset/\S+)", mail_text(sent_mail[-1])).group(1)
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 302
    reused = client.post(link, data={"password": "another new passphrase"})
    assert reused.status_code == 400 and "invalid or has expired" in reused.get_data(as_text=True)

    client.post("/account/reset", data={"email": user.email})
    link = re.search(r"http://localhost(/account/reset/\S+)", mail_text(sent_mail[-1])).group(1)
    db.session.execute(update(AuthToken).values(expires_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    assert client.get(link).status_code == 400


def test_verification_links_work_once_and_expire(client, sent_mail):
    client.post("/account/register", data={"email": "v@example.com", "password": TEST_PASSWORD})
    link = re.search(r"http://localhost(/account/verify/\S+)", mail_text(sent_mail[-1])).group(1)
    assert client.get(link).status_code == 302
    assert client.get(link).status_code == 400
    user = db.session.scalar(select(User))
    user.email_verified_at = None
    from storefront.auth import tokens

    fresh = tokens.issue(user, "verify_email", 60)
    db.session.execute(update(AuthToken).where(AuthToken.used_at.is_(None))
                       .values(expires_at=utcnow() - timedelta(seconds=5)))
    db.session.commit()
    assert client.get(f"/account/verify/{fresh}").status_code == 400
    assert client.get("/account/verify/not-a-real-token").status_code == 400


def test_reset_answers_the_same_for_registered_and_unknown_addresses(client, make_user, sent_mail):
    user = make_user()
    known = client.post("/account/reset", data={"email": user.email}).get_data(as_text=True)
    unknown = client.post("/account/reset", data={"email": "nobody@example.com"}).get_data(as_text=True)

    def strip(page, email):
        return re.sub(r'[0-9a-f]{32}|name="csrf-token" content="[^"]*"', "", page.replace(email, "EMAIL"))

    assert strip(known, user.email) == strip(unknown, "nobody@example.com")
    assert [m["To"] for m in sent_mail] == [user.email]


def test_staff_role_changes_sign_the_person_out(app, make_user, login):
    from storefront.auth import services

    admin, clerk = make_user(role="admin"), make_user(role="staff")
    clerk_client = app.test_client()
    login(clerk_client, clerk)
    services.set_role(clerk, "customer", actor=admin)
    assert clerk_client.get("/account/").status_code == 302
