"""pytest fixtures shipped with Storefront, for the core's tests and for plugins' tests.

Use from a plugin package's ``conftest.py``::

    pytest_plugins = ["storefront.testing"]

The suite runs on SQLite by default. Set ``STOREFRONT_TEST_DATABASE_URL`` (a MariaDB
URL; the database is dropped and created afresh for each run, and its tables are
emptied between tests) and
``STOREFRONT_TEST_REDIS_URL`` (a Redis URL whose database is flushed) to run against
real services. With ``CI`` set, a missing or unreachable service fails the run instead
of skipping tests.

Fixtures: ``app_config`` (override it to change the app's config), ``app``, ``client``,
``runner``, ``make_app`` (build more apps on the same database), ``database_url``,
``redis_url`` (real Redis), ``fake_redis`` and ``queued_jobs`` (jobs on fakeredis),
``chromium_path`` and ``browser_page`` (Playwright in Debian's Chromium); for plugins
``make_plugin_app``, ``configure_plugin`` and ``make_shipping_request`` (see also
:mod:`storefront.plugins.conformance`); for search backends ``make_search_product``,
``make_search_category`` and ``search_page``; for accounts ``make_user``, ``login``,
``staff_client``, ``shopper`` (a signed-in customer) and ``sent_mail``; for the catalog
``make_category`` and ``make_product``; for selling ``make_cart`` (a cart ready to
place), ``make_order`` (a placed order, made directly) and ``localstripe`` (a local fake
Stripe on 127.0.0.1).
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
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, make_url, text

TEST_DATABASE_URL_ENV = "STOREFRONT_TEST_DATABASE_URL"
TEST_REDIS_URL_ENV = "STOREFRONT_TEST_REDIS_URL"
#: Set by ``make test`` when it splits the MariaDB pass: each part gets its own database
#: (``<name>_<suffix>``), so parts can run side by side.
TEST_DATABASE_SUFFIX_ENV = "STOREFRONT_TEST_DATABASE_SUFFIX"
CHROMIUM_PATH = "/usr/bin/chromium"
TEST_SECRET_KEY = "test-secret-key-not-for-production"
TEST_PASSWORD_HASH_METHOD = "scrypt:1024:8:1"

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


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the MariaDB database named in ``url`` when it does not exist yet; with
    ``fresh``, drop it first."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("mysql", "mariadb"):
        return
    server = create_engine(parsed.set(database=""))
    try:
        with server.connect() as connection:
            if fresh:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
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
    suffix = os.environ.get(TEST_DATABASE_SUFFIX_ENV)
    if suffix:
        parsed = make_url(url)
        url = parsed.set(database=f"{parsed.database}_{suffix}").render_as_string(hide_password=False)
    try:
        # Afresh for every run, as on a clean CI machine: rows are deleted between tests,
        # but ids would otherwise keep climbing from run to run.
        ensure_database(url, fresh=True)
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
        # Cheap scrypt: hundreds of accounts are made and signed in; the cost is in the hash.
        "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH_METHOD,
    }


@pytest.fixture
def make_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Build apps on the test database: ``make_app(**config)``; tables are emptied afterwards."""
    from . import create_app
    from .extensions import db, limiter

    built = []

    share_url_builders()
    share_engines()

    def build(plugins: tuple = (), **overrides: Any):
        config = base_test_config(database_url)
        config.update(overrides)
        app = create_app(config, instance_path=str(tmp_path_factory.mktemp("instance")),
                         plugins=plugins)
        # Tests keep one app context open, so requests share its `g`; forget the user
        # Flask-Login cached there, or one client's sign-in would leak into the next.
        app.before_request_funcs.setdefault(None, []).insert(0, _forget_cached_user)
        app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
        with app.app_context():
            create_missing_tables()
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


class SharedTemplateBytecode(BytecodeCache):
    """A Jinja bytecode cache kept in memory for the whole test process.

    Every test builds its own app, and each app's Jinja environment would otherwise lex,
    parse and compile every template it renders again — a fifth of the suite's time.
    Entries are keyed by template name and file and checked against the source's
    checksum, so a theme file a test rewrites is compiled afresh.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        data = self._compiled.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = SharedTemplateBytecode()


def _share_results(owner: type, name: str, key: Callable[..., Any]) -> None:
    """Replace the method ``owner.name`` with one that computes its result once per
    ``key(*arguments)`` for the whole test process. The methods shared this way are
    private to their libraries: a missing method, or arguments ``key`` cannot read,
    leave the library to do as it always does."""
    original = getattr(owner, name, None)
    if original is None or getattr(original, "shared_by_storefront_tests", False):
        return
    results: dict[Any, Any] = {}

    def shared(*arguments):
        try:
            found = key(*arguments)
            hash(found)
        except Exception:  # noqa: BLE001 - anything unexpected: the library's own way
            return original(*arguments)
        if found not in results:
            results[found] = original(*arguments)
        return results[found]

    shared.shared_by_storefront_tests = True
    setattr(owner, name, shared)


def share_url_builders() -> None:
    """Let every app in this process share Werkzeug's compiled URL builders.

    Werkzeug generates and compiles two Python functions per route for every app (about
    230 per app here); a test process builds an app per test, which made route
    compilation a fifth of the suite's time. A builder depends only on the rule text, its
    parsed parts, its defaults (with their converters) and whether unknown arguments are
    appended, so one compiled per such key serves every app.
    """
    from werkzeug.routing.rules import Rule

    def builder_key(rule, append_unknown=True):
        return (rule.rule, append_unknown, tuple(rule._trace),
                tuple(sorted((name, repr(value), type(rule._converters.get(name)).__qualname__)
                             for name, value in (rule.defaults or {}).items())))

    _share_results(Rule, "_compile_builder", builder_key)


def share_engines() -> None:
    """Give apps built with the same database options the same SQLAlchemy engine.

    An engine caches the SQL it compiles, so a fresh engine per test compiled every
    statement again (a fifth of the suite's time). Tests still get a fresh app, session
    and pool state: :func:`make_app` empties the tables and disposes of the pool after
    each test. Apps with other options (another URL, pool size …) get their own engine.
    """
    from flask_sqlalchemy.extension import SQLAlchemy

    _share_results(SQLAlchemy, "_make_engine",
                   lambda extension, bind_key, options, app: repr(sorted(options.items(), key=lambda i: i[0])))


def _forget_cached_user() -> None:
    """Tests keep one app context across requests, so ``g`` outlives a request: forget
    the signed-in user Flask-Login cached and the CSRF token Flask-WTF cached there, or
    the next request (maybe another client's) would see them."""
    from flask import g

    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def create_missing_tables() -> None:
    """``db.create_all()`` for the tables the database lacks, found with one query
    (create_all asks about each of ~60 tables, every test, ~25 ms on MariaDB)."""
    from sqlalchemy import inspect

    from .extensions import db

    existing = set(inspect(db.engine).get_table_names())
    missing = [table for table in db.metadata.sorted_tables if table.name not in existing]
    if missing:
        db.metadata.create_all(db.engine, tables=missing)


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
    from . import serving_app

    app = serving_app()  # as wsgi.py serves it
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




#: Collects Content-Security-Policy violations in ``window.__cspViolations`` (a blocked
#: inline script or style would otherwise fail silently).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""


def watch_page(page) -> list[str]:
    """Start watching a Playwright page: CSP violations land in ``window.__cspViolations``;
    the returned list fills with console errors (failed resource loads aside)."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text else None)
    page.add_init_script(CSP_WATCH)
    return problems


# --- plugin authors' kit -------------------------------------------------------------------


class OfflineGateway:
    """A payment gateway for tests of everything around payments: it takes any amount
    offline (the order awaits payment, like a bank transfer), captures at once, refunds
    at once and remembers the refunds (``.refunds``: (payment id, amount) pairs)."""

    def __init__(self, id: str = "testpay", name: str = "Test payment", available: bool = True):
        self.id, self.name, self.available = id, name, available
        self.refunds: list = []

    def is_available(self, amount, country):
        return self.available

    def start(self, request):
        from .plugins.types import PaymentResult, PaymentStep

        return PaymentStep.done(PaymentResult("pending", request.amount))

    def handle_callback(self, callback):
        from .plugins.types import PaymentResult

        amount = callback.payment.amount if callback.payment else None
        return PaymentResult("pending", amount) if amount else PaymentResult("failed", _zero_money())

    def capture(self, payment, amount):
        from .plugins.types import PaymentResult

        return PaymentResult("paid", amount)

    def refund(self, payment, amount):
        from .plugins.types import PaymentResult

        self.refunds.append((payment.payment_id, amount))
        return PaymentResult("refunded", amount, psp_reference=f"re_{len(self.refunds)}")


def _zero_money():
    from flask import current_app

    from .money import Money

    return Money.zero(current_app.config["STORE_CURRENCY"])


def gateway_plugin(gateway, name: str | None = None):
    """A plugin object offering ``gateway``: ``make_plugin_app(gateway_plugin(OfflineGateway()))``."""
    from .plugins.manager import hookimpl

    class GatewayPlugin:
        PLUGIN_NAME = name or f"{gateway.id}_gateway"

        @hookimpl
        def storefront_payment_gateways(self):
            return [gateway]

    return GatewayPlugin()




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
    from .clock import utcnow
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


def signed_in_client(app, user, login):
    """A test client of ``app`` signed in as ``user`` (``client.user``)."""
    client = app.test_client()
    client.user = user  # type: ignore[attr-defined]
    login(client, user)
    return client


@pytest.fixture
def staff_client(app, make_user, login):
    """A test client signed in as a staff member with a second factor."""
    return signed_in_client(app, make_user(role="staff"), login)


@pytest.fixture
def shopper(app, make_user, login):
    """A test client signed in as a new customer (``shopper.user``)."""
    return signed_in_client(app, make_user(), login)


def mail_text(message) -> str:
    """The plain-text part of a sent message (links are easiest to find there)."""
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def sent_mail(app) -> list:
    """Messages delivered so far (MAIL_BACKEND=memory), newest last."""
    from .mail import sent_messages

    return sent_messages(app)


# --- catalog ----------------------------------------------------------------------------------


def create_category(name: str, parent=None, **values):
    """A category row (categories need no service)."""
    from .catalog.models import Category
    from .catalog.services import slugify
    from .extensions import db

    category = Category(name=name, slug=values.pop("slug", slugify(name)),
                        parent_id=parent.id if parent else None, **values)
    db.session.add(category)
    db.session.commit()
    return category


def create_product(title: str, *, categories=(), price: int = 1000, stock: int = 5, variants=None,
                   created_at=None, **values):
    """An active product made through the catalog services, with one variant (``price``
    minor units, ``stock`` units) unless ``variants`` lists dicts for
    :func:`storefront.catalog.services.save_variant` (``sku`` and ``price_minor`` may be
    left out; SKUs are derived from the title)."""
    import re

    from .catalog import services

    values.setdefault("status", "active")
    product = services.save_product({"title": title, "category_ids": [c.id for c in categories], **values})
    stem = re.sub(r"[^A-Z0-9]", "", title.upper())[:40] + f"-{product.id}"
    for index, variant in enumerate(variants or [{"price_minor": price, "stock": stock}]):
        services.save_variant(product, {"sku": f"{stem}-{index}", "price_minor": price, **variant})
    if created_at is not None:
        product.created_at = created_at
    services.commit_product(product)
    return product


@pytest.fixture
def make_category(app) -> Callable[..., Any]:
    """``make_category("Shoes", parent=None, **columns)`` → a saved Category."""
    return create_category


@pytest.fixture
def make_product(app) -> Callable[..., Any]:
    """``make_product("Linen shirt", price=2500, stock=3, categories=[…])`` → an active
    product with one variant; see :func:`create_product`."""
    return create_product


# --- orders and their back office -------------------------------------------------------------------


def create_order(lines=None, *, user=None, email: str | None = None, status: str = "pending_payment",
                 gateway: str = "manual", payment: bool = False, shipping_minor: int = 0, tax_minor: int = 0,
                 discount_minor: int = 0, coupon=None, placed_at=None, pay_by=None, shipping_address=None,
                 placed_mail: bool = False):
    """A placed order made directly (not through checkout): ``lines`` are products,
    variants or ``(product_or_variant, quantity)`` pairs — by default one new product
    (10.00, 10 in stock) × 2. Stock is taken through ``adjust_stock`` ("sale" movements),
    the order awaits payment with ``pay_by`` = placed + ORDER_UNPAID_HOLD_MINUTES.

    ``payment=True`` adds a pending Payment row for ``gateway``; ``status="paid"`` then
    marks it paid through :func:`storefront.orders.services.mark_paid`. ``coupon`` records
    a redemption and counts its use; ``placed_mail`` queues the "placed" e-mail.
    """
    import secrets
    from datetime import timedelta

    from flask import current_app

    from .catalog.models import Product, Variant
    from .catalog.services import adjust_stock
    from .clock import utcnow
    from .extensions import db
    from .orders import services
    from .orders.models import Order, OrderLine

    if lines is None:
        lines = [(create_product("Test product", price=1000, stock=10), 2)]
    pairs = []
    for item in lines:
        thing, quantity = item if isinstance(item, tuple) else (item, 1)
        variant = thing.variants[0] if isinstance(thing, Product) else thing
        assert isinstance(variant, Variant), f"make_order needs products or variants, got {thing!r}"
        pairs.append((variant, quantity))
    currency = pairs[0][0].currency
    now = placed_at or utcnow()
    address = shipping_address or {"full_name": getattr(user, "name", "") or "Guest Shopper", "company": "",
                                   "line1": "1 Market Street", "line2": "", "city": "Leeds", "region": "",
                                   "postal_code": "LS1 1AA", "country": "GB", "phone": ""}
    subtotal = sum(v.price_minor * q for v, q in pairs)
    order = Order(number=services.new_order_number(), checkout_token=secrets.token_urlsafe(32),
                  user_id=getattr(user, "id", None), email=email or getattr(user, "email", None) or "guest@example.com",
                  status="pending_payment", currency=currency, subtotal_minor=subtotal, discount_minor=discount_minor,
                  shipping_minor=shipping_minor, tax_minor=tax_minor,
                  total_minor=subtotal - discount_minor + shipping_minor + tax_minor,
                  prices_include_tax=False, tax_label="Tax", paid_minor=0, refunded_minor=0,
                  coupon_code=getattr(coupon, "code", None), shipping_quote_id="flatrate:standard",
                  shipping_label="Standard", shipping_address=address, payment_gateway_id=gateway, placed_at=now,
                  pay_by=pay_by or now + timedelta(minutes=current_app.config["ORDER_UNPAID_HOLD_MINUTES"]),
                  updated_at=now)
    for variant, quantity in pairs:
        options = ", ".join(f"{k}: {v}" for k, v in (variant.options or {}).items())
        order.lines.append(OrderLine(variant_id=variant.id, product_id=variant.product_id, sku=variant.sku,
                                     title=variant.product.title, options=options, quantity=quantity,
                                     unit_price_minor=variant.price_minor, discount_minor=0, tax_minor=0,
                                     total_minor=variant.price_minor * quantity, quantity_fulfilled=0))
    db.session.add(order)
    db.session.flush()
    for variant, quantity in pairs:
        adjust_stock(variant.id, -quantity, "sale", note=f"Order {order.number}", order_id=order.id, commit=False)
    if coupon is not None:
        from .checkout.models import Coupon, CouponRedemption
        from sqlalchemy import update

        db.session.execute(update(Coupon).where(Coupon.id == coupon.id).values(used_count=Coupon.used_count + 1))
        db.session.add(CouponRedemption(coupon_id=coupon.id, order_id=order.id, user_id=order.user_id,
                                        email=order.email.lower(), amount_minor=discount_minor, created_at=now))
    services.record_event(order, "placed", f"Order placed ({gateway}).")
    payment_row = None
    if payment:
        from .payments.models import Payment

        payment_row = Payment(public_id="pay_" + secrets.token_urlsafe(12), order_id=order.id, gateway_id=gateway,
                              status="pending", amount_minor=order.total_minor, currency=currency,
                              refunded_minor=0, created_at=now, updated_at=now)
        db.session.add(payment_row)
    if placed_mail:
        services.send_order_email(order, "placed")
    db.session.commit()
    if status == "paid":
        if payment_row is not None:
            payment_row.status = "paid"
        services.mark_paid(order.id, payment=payment_row)
    elif status != "pending_payment":
        raise ValueError("make_order makes orders awaiting payment or paid; move them on through the services")
    return order


@pytest.fixture
def make_order(app) -> Callable[..., Any]:
    """``make_order([(product, 2)], user=…, status="paid", payment=True)`` → a placed
    order, made without checkout; see :func:`create_order`."""
    return create_order


# --- search backends --------------------------------------------------------------------------


@pytest.fixture
def make_search_product(app) -> Callable[..., Any]:
    """``make_search_product("Lamp", brand="Lumen", price_minor=2500, options={"colour": "Red"},
    categories=[category_id], sku="L-1", stock=0, status="draft")`` → the id of a product
    saved through the catalog services (the search backend indexes it as in a real shop);
    see :func:`storefront.plugins.conformance.add_search_product`."""
    from .plugins.conformance import add_search_product

    return add_search_product


@pytest.fixture
def make_search_category(app) -> Callable[..., Any]:
    """``make_search_category("Shirts", parent=clothing_id)`` → the new category's id."""
    from .plugins.conformance import add_search_category

    return add_search_category


@pytest.fixture
def search_page(app) -> Callable[..., Any]:
    """``search_page("headph", sort="price_asc", brand=("Acme",))`` → the SearchPage the
    shop's search gives, asserting the store's ``SEARCH_BACKEND`` answered (no fallback);
    see :func:`storefront.plugins.conformance.search_with`."""
    from .plugins.conformance import search_with

    return search_with(app.config["SEARCH_BACKEND"])


# --- payments: localstripe, a fake Stripe for the Stripe plugin's tests -----------------------------

#: Runs localstripe bound to 127.0.0.1 (its own CLI listens on every interface) on the port
#: given as the first argument. It never loads /tmp/localstripe.pickle, and writing it is
#: switched off, so parallel runs (each on its own port) do not share or clobber a store.
LOCALSTRIPE_WRAPPER = """\
import logging, sys
from aiohttp import web
from localstripe import resources
from localstripe.server import app
resources.Store.dump_to_disk = lambda self: None
logging.basicConfig(level=logging.INFO)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]))
"""


class LocalStripe:
    """A running localstripe: where to point the Stripe plugin, and the hooks its fake
    Stripe.js (or a test standing in for a browser) uses."""

    #: Any key starting with sk_ / pk_ is accepted.
    secret_key = "sk_test_storefront"
    publishable_key = "pk_test_storefront"

    def __init__(self, url: str):
        self.url = url

    @property
    def api_base(self) -> str:
        """The plugin's ``api_base`` setting."""
        return self.url

    @property
    def js_url(self) -> str:
        """The plugin's ``js_url`` setting: localstripe's fake Stripe.js."""
        return f"{self.url}/js.stripe.com/v3/"

    def settings(self, **extra: Any) -> dict[str, Any]:
        """Stripe plugin settings pointing at this server (for ``configure_plugin``)."""
        return {"secret_key": self.secret_key, "publishable_key": self.publishable_key,
                "api_base": self.api_base, "js_url": self.js_url, **extra}

    def _call(self, method: str, path: str, data: dict | None = None, *, json_body: bool = False) -> Any:
        import json
        import urllib.parse

        body = None
        if data is not None:
            body = json.dumps(data).encode() if json_body else urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.url + path, data=body, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else None

    def reset(self) -> None:
        """Forget every object (customers, intents …). Registered webhooks stay."""
        self._call("DELETE", "/_config/data")

    def register_webhook(self, url: str, secret: str, events: list[str] | None = None,
                         webhook_id: str = "storefront") -> None:
        """Have localstripe POST signed events to ``url`` (about 1 s after each happens);
        registering the same ``webhook_id`` again replaces the endpoint."""
        data: dict[str, Any] = {"url": url, "secret": secret}
        if events:
            data.update({f"events[{i}]": name for i, name in enumerate(events)})
        self._call("POST", f"/_config/webhooks/{webhook_id}", data)

    def card_token(self, number: str = "4242424242424242", exp_month: int = 12, exp_year: int = 2030,
                   cvc: str = "123") -> dict:
        """What the fake Stripe.js's ``createToken(card)`` does with a typed card: the
        token's ``["card"]["id"]`` is the payment method the card form posts."""
        return self._call("POST", "/v1/tokens", {
            "card[number]": number, "card[exp_month]": str(exp_month), "card[exp_year]": str(exp_year),
            "card[cvc]": cvc, "key": self.publishable_key})

    def authenticate(self, intent_id: str, client_secret: str, success: bool = True) -> dict:
        """What the fake Stripe.js does when the shopper completes (or fails) 3-D Secure."""
        return self._call("POST", f"/v1/payment_intents/{intent_id}/_authenticate?success={str(success).lower()}",
                          {"key": self.publishable_key, "client_secret": client_secret}, json_body=True)


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """localstripe on 127.0.0.1 and a free port for the whole test session, emptied at
    the start (call ``.reset()`` for a clean slate). Skips when localstripe is not
    installed or does not start — and fails instead under ``CI``."""
    import importlib.util

    if importlib.util.find_spec("localstripe") is None:
        missing_service("localstripe is not installed (pip install -e '.[dev]')")
    port = free_port()
    workdir = tmp_path_factory.mktemp("localstripe")
    log_file = open(workdir / "localstripe.log", "wb")
    process = subprocess.Popen([sys.executable, "-c", LOCALSTRIPE_WRAPPER, str(port)], cwd=workdir,
                               stdout=log_file, stderr=subprocess.STDOUT)
    server = LocalStripe(f"http://127.0.0.1:{port}")
    try:
        try:
            wait_for_http(server.js_url, timeout=30, process=process)
            server.reset()
        except Exception as exc:  # noqa: BLE001 - any failure means "not running"
            log_file.flush()
            tail = (workdir / "localstripe.log").read_text(errors="replace")[-2000:]
            missing_service(f"localstripe did not start on port {port}: {exc}\n{tail}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()


# --- carts and checkout -----------------------------------------------------------------------------

#: The shipping address :func:`create_cart` puts on a cart unless told otherwise.
TEST_ADDRESS = {"full_name": "Ada Lovelace", "company": "", "line1": "1 Analytical Street", "line2": "",
                "city": "Berlin", "region": "", "postal_code": "10115", "country": "DE", "phone": ""}


def create_cart(lines=(), *, user=None, email: str = "shopper@example.com", address: dict | None = None,
                shipping_quote_id: str | None = None, payment_gateway_id: str | None = None,
                coupon_code: str | None = None, ready: bool = True):
    """A cart straight in the database, as if the shopper had gone through checkout up to
    the review page: ``lines`` are variants or ``(variant, quantity)`` pairs; the e-mail
    and :data:`TEST_ADDRESS` are filled in, and with ``ready`` a checkout token is issued
    (``cart.checkout_token``) so :func:`storefront.checkout.services.place_order` can take
    it — once shipping and gateway ids of loaded plugins are given."""
    import secrets

    from .cart.models import Cart, CartLine
    from .clock import utcnow
    from .extensions import db

    now = utcnow()
    cart = Cart(token=secrets.token_urlsafe(32), user_id=getattr(user, "id", None), currency="EUR",
                created_at=now, updated_at=now, email=getattr(user, "email", None) or email,
                shipping_address=dict(address or TEST_ADDRESS), shipping_quote_id=shipping_quote_id,
                payment_gateway_id=payment_gateway_id, coupon_code=coupon_code,
                checkout_token=secrets.token_urlsafe(32) if ready else None)
    for item in lines:
        variant, quantity = item if isinstance(item, tuple) else (item, 1)
        cart.currency = variant.currency
        cart.lines.append(CartLine(variant_id=variant.id, quantity=quantity, seen_price_minor=variant.price_minor,
                                   added_at=now))
    db.session.add(cart)
    db.session.commit()
    return cart


@pytest.fixture
def make_cart(app) -> Callable[..., Any]:
    """``make_cart([(variant, 2)], shipping_quote_id="flatrate:standard",
    payment_gateway_id="manual")`` → a cart ready to place; see :func:`create_cart`."""
    return create_cart
