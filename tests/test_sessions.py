from datetime import datetime, timedelta, timezone

import pytest
from flask import jsonify, session

from storefront.sessions import SessionRecord, count_sessions, end_session, remove_expired_sessions, rotate_session_id
from storefront.extensions import db


@pytest.fixture
def app(make_app):
    app = make_app()

    @app.post("/remember/<value>")
    def remember(value):
        session["value"] = value
        return jsonify(value=value)

    @app.get("/recall")
    def recall():
        return jsonify(value=session.get("value"))

    @app.post("/rotate")
    def rotate():
        rotate_session_id()
        return jsonify(value=session.get("value"))

    @app.post("/end")
    def end():
        end_session()
        return jsonify(ok=True)

    with app.app_context():
        yield app


def cookie_of(client, app):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def test_session_data_lives_in_the_database_not_in_the_cookie(app, client):
    client.post("/remember/blue-basket")
    sid = cookie_of(client, app)
    assert sid and "blue-basket" not in sid
    assert db.session.scalar(db.select(SessionRecord.session_id)) == f"session:{sid}"
    assert client.get("/recall").json == {"value": "blue-basket"}


def test_session_cookie_is_httponly_and_samesite_lax(app, client):
    response = client.post("/remember/x")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header


def test_session_cookie_is_secure_when_served_over_https(app):
    client = app.test_client()
    response = client.post("/remember/x", base_url="https://shop.test")
    assert "Secure" in response.headers["Set-Cookie"]


def test_rotating_the_session_id_keeps_the_data_and_kills_the_old_id(app, client):
    client.post("/remember/cart-42")
    old_sid = cookie_of(client, app)
    assert client.post("/rotate").json == {"value": "cart-42"}
    new_sid = cookie_of(client, app)
    assert new_sid and new_sid != old_sid
    assert client.get("/recall").json == {"value": "cart-42"}
    # An attacker who fixed or stole the old id gets an empty session.
    attacker = app.test_client()
    attacker.set_cookie(app.config["SESSION_COOKIE_NAME"], old_sid)
    assert attacker.get("/recall").json == {"value": None}
    assert count_sessions() == 1


def test_ending_a_session_removes_its_row_and_expires_the_cookie(app, client):
    client.post("/remember/x")
    assert count_sessions() == 1
    response = client.post("/end")
    assert count_sessions() == 0
    assert "Expires=Thu, 01 Jan 1970" in response.headers["Set-Cookie"]


def _naive_utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def test_expired_sessions_are_removed_and_fresh_ones_kept(app, client):
    client.post("/remember/fresh")
    db.session.add(SessionRecord(session_id="session:stale", data=b"\x80", expiry=_naive_utc_now() - timedelta(minutes=1)))
    db.session.commit()
    assert remove_expired_sessions() == 1
    assert db.session.scalars(db.select(SessionRecord.session_id)).all() == [f"session:{cookie_of(client, app)}"]
    assert client.get("/recall").json == {"value": "fresh"}


def test_an_expired_session_is_not_honoured_even_before_cleanup(app, client):
    client.post("/remember/old")
    record = db.session.scalar(db.select(SessionRecord))
    record.expiry = _naive_utc_now() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/recall").json == {"value": None}


def test_flask_sessions_cleanup_command_reports_what_it_removed(app, runner):
    db.session.add_all([
        SessionRecord(session_id="session:a", data=b"", expiry=_naive_utc_now() - timedelta(days=1)),
        SessionRecord(session_id="session:b", data=b"", expiry=_naive_utc_now() + timedelta(days=1)),
    ])
    db.session.commit()
    result = runner.invoke(args=["sessions", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "removed 1 expired session(s)" in result.output
    assert count_sessions() == 1


def test_session_cleanup_is_a_declared_periodic_job(app):
    from storefront import jobs

    declared = {job.name: job for job in jobs.state(app).periodic}
    assert declared["sessions.remove_expired"].func == "storefront.sessions:remove_expired_sessions"
    assert jobs.resolve(declared["sessions.remove_expired"].func) is remove_expired_sessions
