"""pytest fixtures shipped with Storefront, for the core's tests and for plugins' tests.

Use from a plugin package's ``conftest.py``::

    pytest_plugins = ["storefront.testing"]

The suite runs on SQLite by default. Set ``STOREFRONT_TEST_DATABASE_URL`` (a MariaDB
URL; the database is created if missing and its tables are emptied between tests) and
``STOREFRONT_TEST_REDIS_URL`` (a Redis URL whose database is flushed) to run against
real services. With ``CI`` set, a missing or unreachable service fails the run instead
of skipping tests.

Fixtures: ``app_config`` (override it to change the app's config), ``app``, ``client``,
``runner``, ``make_app`` (build more apps on the same database), ``database_url``,
``redis_url`` (real Redis), ``fake_redis`` and ``queued_jobs`` (jobs on fakeredis),
``chromium_path`` and ``browser_page`` (Playwright in Debian's Chromium); for plugins
``make_plugin_app``, ``configure_plugin`` and ``make_shipping_request`` (see also
:mod:`storefront.plugins.conformance`); for accounts ``make_user``, ``login``,
``staff_client`` and ``sent_mail``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

TEST_DATABASE_URL_ENV = "STOREFRONT_TEST_DATABASE_URL"
TEST_REDIS_URL_ENV = "STOREFRONT_TEST_REDIS_URL"
CHROMIUM_PATH = "/usr/bin/chromium"
TEST_SECRET_KEY = "test-secret-key-not-for-production"

MARKERS = (
    "mariadb: needs a real MariaDB (STOREFRONT_TEST_DATABASE_URL)",
    "redis: needs a real Redis (STOREFRONT_TEST_REDIS_URL)",
    "browser: drives a real Chromium through Playwright",
    "slow: starts external processes (gunicorn, workers)",
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing_service(reason: str) -> None:
    """Skip locally; fail in CI, where every service must be there."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """MariaDB-only tests (concurrency) run in the MariaDB pass, not in the SQLite one."""
    if os.environ.get(TEST_DATABASE_URL_ENV):
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("mariadb") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = os.environ.get(TEST_DATABASE_URL_ENV)
    redis = os.environ.get(TEST_REDIS_URL_ENV)
    return [f"storefront database: {_safe_url(database) if database else 'SQLite (temporary file)'}",
            f"storefront redis: {redis or 'not configured (real-Redis tests skip)'}"]


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- database -------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the MariaDB database named in ``url`` when it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("mysql", "mariadb"):
        return
    server = create_engine(parsed.set(database=""))
    try:
        with server.connect() as connection:
            connection.execute(text(
                f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    finally:
        server.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'storefront-test.db'}"
    try:
        ensure_database(url)
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
        pytest.fail(f"{TEST_DATABASE_URL_ENV}={_safe_url(url)} is unreachable: {exc}", pytrace=False)
    return url


def is_mariadb(url: str) -> bool:
    return make_url(url).get_backend_name() in ("mysql", "mariadb")


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra config for the ``app`` fixture; override this fixture in a test module."""
    return {}


def base_test_config(database_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": None,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": None,
        "MAIL_BACKEND": "memory",
    }


@pytest.fixture
def make_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Build apps on the test database: ``make_app(**config)``; tables are emptied afterwards."""
    from . import create_app
    from .extensions import db, limiter

    built = []

    def build(plugins: tuple = (), **overrides: Any):
        config = base_test_config(database_url)
        config.update(overrides)
        app = create_app(config, instance_path=str(tmp_path_factory.mktemp("instance")),
                         plugins=plugins)
        # Tests keep one app context open, so requests share its `g`; forget the user
        # Flask-Login cached there, or one client's sign-in would leak into the next.
        app.before_request_funcs.setdefault(None, []).insert(0, _forget_cached_user)
        with app.app_context():
            db.create_all()
        try:
            limiter.reset()
        except Exception:  # noqa: BLE001 - a test may point the limiter at a stopped Redis on purpose
            pass
        built.append(app)
        return app

    yield build
    from . import jobs

    for app in built:
        connection = jobs.state(app).connection
        if connection is not None and hasattr(connection, "close"):
            connection.close()  # real Redis sockets must not outlive the test
        with app.app_context():
            empty_tables()
            db.session.remove()
            db.engine.dispose()


def _forget_cached_user() -> None:
    from flask import g

    g.pop("_login_user", None)


def empty_tables() -> None:
    """Delete every row of every table (faster than dropping and recreating the schema)."""
    from .extensions import db

    db.session.rollback()
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def app(make_app: Callable[..., Any], app_config: dict[str, Any]):
    application = make_app(**app_config)
    with application.app_context():
        yield application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- redis and jobs -------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    """A real Redis (its database is flushed); skips locally, fails in CI when missing."""
    url = os.environ.get(TEST_REDIS_URL_ENV)
    if not url:
        missing_service(f"{TEST_REDIS_URL_ENV} is not set")
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
        client.flushdb()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{TEST_REDIS_URL_ENV}={url} is unreachable: {exc}", pytrace=False)
    finally:
        client.close()
    return url


@pytest.fixture
def fake_redis():
    import fakeredis

    return fakeredis.FakeStrictRedis()


@pytest.fixture
def queued_jobs(app, fake_redis):
    """Switch ``app`` from inline jobs to RQ queues on fakeredis; returns a helper that
    runs the queued jobs with a SimpleWorker in this process."""
    from . import jobs

    jobs.state(app).connection = fake_redis

    def run(burst: bool = True) -> None:
        from rq import SimpleWorker

        SimpleWorker(jobs.state(app).queues, connection=fake_redis).work(burst=burst,
                                                                         with_scheduler=True)

    run.connection = fake_redis  # type: ignore[attr-defined]
    yield run
    jobs.state(app).connection = None


# --- processes and browsers -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception as exc:  # noqa: BLE001
            last_error = exc
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last_error}")


def app_environment(config: dict[str, Any]) -> dict[str, str]:
    """Environment variables that give a subprocess's create_app() the same config."""
    import json

    env = dict(os.environ)
    for key, value in config.items():
        if value is None:
            env.pop(f"STOREFRONT_{key}", None)
            continue
        env[f"STOREFRONT_{key}"] = value if isinstance(value, str) else json.dumps(value)
    return env


@contextmanager
def serve(config: dict[str, Any], port: int | None = None, workers: int = 1,
          instance_path: str | None = None, probe_routes: bool = False) -> Iterator[str]:
    """Run the app under gunicorn on 127.0.0.1 in a subprocess; yields its base URL."""
    port = port or free_port()
    env = app_environment(config)
    if instance_path:
        env["STOREFRONT_INSTANCE_PATH"] = instance_path
    if probe_routes:
        env[TEST_ROUTES_ENV] = "1"
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
               str(workers), "--access-logfile", "-", "storefront.testing:served_app()"]
    log_file = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(base + "/healthz", process=process)
        except Exception:
            log_file.seek(0)
            sys.stderr.write(log_file.read().decode(errors="replace")[-4000:])
            raise
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()


TEST_ROUTES_ENV = "STOREFRONT_TEST_ROUTES"


def served_app():
    """App factory for :func:`serve`: config comes from the STOREFRONT_* environment.

    With ``STOREFRONT_TEST_ROUTES=1`` it also mounts :func:`probe_blueprint`.
    """
    from . import create_app

    app = create_app()
    if os.environ.get(TEST_ROUTES_ENV):
        app.register_blueprint(probe_blueprint())
    return app


def probe_blueprint():
    """Routes that expose session and rate-limit behaviour to multi-process tests."""
    from flask import Blueprint, jsonify, request, session

    from .extensions import csrf, limiter
    from .sessions import rotate_session_id

    probe = Blueprint("probe", __name__, url_prefix="/_probe")
    csrf.exempt(probe)  # probes are driven by scripts, not forms

    @probe.route("/session", methods=["GET", "POST"])
    def session_value():
        if request.method == "POST":
            session["value"] = request.form["value"]
        return jsonify(value=session.get("value"))

    @probe.post("/rotate")
    def rotate():
        rotate_session_id()
        return jsonify(value=session.get("value"))

    @probe.get("/limited")
    @limiter.limit("3 per minute")
    def limited():
        return jsonify(ok=True)

    return probe


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM_PATH):
        missing_service(f"{CHROMIUM_PATH} is missing (apt-get install -y chromium)")
    return CHROMIUM_PATH


@pytest.fixture
def browser_page(chromium_path: str):
    """A Playwright page in headless Debian Chromium."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        context = browser.new_context()
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()




# --- plugin authors' kit -------------------------------------------------------------------


@pytest.fixture
def make_plugin_app(make_app: Callable[..., Any]) -> Callable[..., Any]:
    """Build an app where only the given plugins (and the core) are loaded — other
    installed plugins stay out, so results are the plugin's own:
    ``make_plugin_app(storefront_flatrate, STORE_CURRENCY="CHF")``. Works whether the
    plugin is pip-installed or only importable."""

    def build(*plugins: Any, **config: Any):
        config.setdefault("PLUGINS_AUTOLOAD", False)
        return make_app(plugins=plugins, **config)

    return build


@pytest.fixture
def configure_plugin() -> Callable[..., Any]:
    """Save a plugin's settings as the back office would (validated, all or nothing),
    in the current app: ``configure_plugin("flatrate", rate_minor=590)``."""
    from .plugins.settings import save_settings

    def configure(name: str, **values: Any):
        return save_settings(name, values)

    return configure


@pytest.fixture
def make_shipping_request() -> Callable[..., Any]:
    """Build a :class:`~storefront.plugins.ShippingRequest`:
    ``make_shipping_request(country="DE", subtotal="49.30", currency="EUR")``; the cart
    holds one line worth the subtotal unless ``lines`` are given."""
    from .money import Money
    from .plugins.types import Address, Line, ShippingRequest

    def build(country: str = "DE", subtotal: str = "49.30", currency: str = "EUR",
              lines: tuple = (), weight_grams: int = 500):
        amount = Money.from_decimal(subtotal, currency)
        lines = tuple(lines) or (Line("SKU-1", 1, amount, weight_grams=weight_grams),)
        return ShippingRequest(lines, Address(country), amount)

    return build


# --- accounts ---------------------------------------------------------------------------------

TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(app) -> Callable[..., Any]:
    """Create an account: ``make_user(role="staff")``. Staff get a second factor (their
    ``mfa_secret`` is set) unless ``mfa=False``; the password is :data:`TEST_PASSWORD`."""
    import pyotp

    from .auth.models import User
    from .auth.passwords import hash_password
    from .auth.tokens import utcnow
    from .extensions import db

    counter = iter(range(1, 10_000))

    def build(email: str | None = None, role: str = "customer", password: str = TEST_PASSWORD,
              verified: bool = True, mfa: bool | None = None, name: str = "Test Person"):
        mfa = role != "customer" if mfa is None else mfa
        user = User(email=email or f"user{next(counter)}@example.com", password_hash=hash_password(password),
                    name=name, role=role, created_at=utcnow(),
                    email_verified_at=utcnow() if verified else None,
                    mfa_secret=pyotp.random_base32() if mfa else None, mfa_enabled_at=utcnow() if mfa else None)
        db.session.add(user)
        db.session.commit()
        return user

    return build


def totp_for(user) -> str:
    """A TOTP code the app will accept next for ``user`` (skips an already used step)."""
    import time

    import pyotp

    totp = pyotp.TOTP(user.mfa_secret)
    step = int(time.time()) // totp.interval
    if user.mfa_last_step is not None and user.mfa_last_step >= step:
        step = user.mfa_last_step + 1
    return totp.generate_otp(step)


@pytest.fixture
def login() -> Callable[..., Any]:
    """Sign ``user`` in through the real forms: ``login(client, user)``; completes the
    TOTP step when the user has one. Returns the final response."""
    from .extensions import db

    def sign_in(client, user, password: str = TEST_PASSWORD, remember: bool = False):
        response = client.post("/account/login", data={"email": user.email, "password": password,
                                                         "remember": "y" if remember else ""})
        if response.status_code == 302 and "/account/login/verify" in response.location:
            db.session.refresh(user)
            response = client.post("/account/login/verify", data={"code": totp_for(user)})
        assert response.status_code == 302, f"sign-in failed: {response.status_code}"
        return response

    return sign_in


@pytest.fixture
def staff_client(app, make_user, login):
    """A test client signed in as a staff member with a second factor."""
    client = app.test_client()
    client.user = make_user(role="staff")  # type: ignore[attr-defined]
    login(client, client.user)
    return client


def mail_text(message) -> str:
    """The plain-text part of a sent message (links are easiest to find there)."""
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def sent_mail(app) -> list:
    """Messages delivered so far (MAIL_BACKEND=memory), newest last."""
    from .mail import sent_messages

    return sent_messages(app)
