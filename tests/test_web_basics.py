"""Request ids, security headers, error pages and health probes."""
import json
import logging
import re
from pathlib import Path

import pytest
from flask import abort

from storefront.config import PROJECT_ROOT
from storefront.logs import JsonFormatter, RequestIdFilter
from storefront.testing import free_port


def test_every_response_carries_a_request_id_that_the_log_line_repeats(client, caplog):
    caplog.set_level(logging.INFO, logger="storefront.access")
    response = client.get("/")
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    access = [r for r in caplog.records if r.name == "storefront.access"]
    assert access and access[-1].request_id == request_id
    assert access[-1].getMessage().startswith("GET / 200")


def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-abc12345"}).headers["X-Request-ID"] == "lb-abc12345"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


def test_json_logs_are_one_object_per_line_with_the_request_id(app):
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "req-12345678"
        record = logging.LogRecord("storefront.x", logging.INFO, __file__, 1, "paid %s", ("#1001",), None)
        RequestIdFilter().filter(record)
        entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "paid #1001" and entry["request_id"] == "req-12345678"
    assert entry["level"] == "INFO"


def test_pages_send_security_headers(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_hsts_is_sent_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    assert "max-age" in client.get("/", base_url="https://shop.test").headers["Strict-Transport-Security"]


def test_home_page_renders_through_the_theme(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Welcome to Storefront" in response.data
    assert b"/theme/css/site.css?v=" in response.data


def test_unknown_page_gets_the_themed_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and response.headers["X-Request-ID"] in page
    assert "Traceback" not in page


def test_api_errors_are_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert response.json["request_id"] == response.headers["X-Request-ID"]


@pytest.fixture
def app_config():
    return {"MAX_CONTENT_LENGTH": 1024}


def test_an_oversized_body_gets_the_413_page(app, client):
    @app.post("/upload")
    def upload():
        from flask import request

        return str(len(request.get_data()))

    response = client.post("/upload", data={"f": "x" * 5000})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


def test_a_post_without_csrf_token_gets_the_400_page(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)

    @app.post("/form")
    def form():
        return "accepted"

    client = app.test_client()
    response = client.post("/form", data={"name": "x"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The CSRF token is missing." in page and "Form expired" in page
    api = client.post("/api/thing", json={})
    assert api.status_code in (400, 404)


def test_a_post_with_the_pages_csrf_token_is_accepted(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)

    @app.post("/form")
    def form():
        return "accepted"

    client = app.test_client()
    # Anonymous catalog pages are publicly cacheable and carry no token; form pages do.
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      client.get("/account/login").get_data(as_text=True)).group(1)
    assert client.post("/form", data={"csrf_token": token}).get_data(as_text=True) == "accepted"
    assert client.post("/form", headers={"X-CSRFToken": token}).status_code == 200


def test_an_unexpected_error_in_production_shows_no_traceback(make_app, caplog):
    app = make_app(TESTING=False)

    @app.get("/boom")
    def boom():
        raise ValueError("secret internals")

    response = app.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page and response.headers["X-Request-ID"] in page
    assert "secret internals" not in page and "Traceback" not in page
    assert "secret internals" in caplog.text  # …but the log has it, with the request id
    assert any(getattr(r, "request_id", None) == response.headers["X-Request-ID"] for r in caplog.records)


def test_a_forbidden_page_uses_the_403_page_with_its_message(app, client):
    @app.get("/secret")
    def secret():
        abort(403, "Staff only.")

    response = client.get("/secret")
    assert response.status_code == 403 and "Staff only." in response.get_data(as_text=True)


def test_too_many_requests_get_the_429_page_with_retry_after(app, client):
    from storefront.extensions import limiter

    @app.get("/limited")
    @limiter.limit("2 per minute")
    def limited():
        return "ok"

    statuses = [client.get("/limited").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    response = client.get("/limited")
    assert "Slow down" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_healthz_says_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok"}}


def test_readyz_names_redis_when_it_is_down_while_pages_still_serve(make_app):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(REDIS_URL=dead_redis, RATELIMIT_STORAGE_URI=None)  # limiter on the dead Redis too
    assert app.config["RATELIMIT_STORAGE_URI"] == dead_redis
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["redis"]
    assert response.json["checks"] == {"database": "ok", "redis": "unreachable"}
    assert client.get("/").status_code == 200


@pytest.mark.redis
def test_readyz_is_ok_with_a_real_redis(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200 and response.json["checks"]["redis"] == "ok"


def test_the_served_app_takes_its_start_up_objects_out_of_the_garbage_collectors_sight(monkeypatch, tmp_path):
    # A full collection walking every module, model and route cost a 40–60 ms pause on
    # a random request; wsgi.py serves serving_app() so those objects are frozen.
    import gc

    from storefront import serving_app

    monkeypatch.setenv("STOREFRONT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("STOREFRONT_SECRET_KEY", "a-production-grade-secret-for-this-test")
    monkeypatch.setenv("STOREFRONT_PLUGINS_AUTOLOAD", "false")
    try:
        app = serving_app()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    assert app.name == "storefront"
    assert "from storefront import serving_app" in (Path(PROJECT_ROOT) / "wsgi.py").read_text()
