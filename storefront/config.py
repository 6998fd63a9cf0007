"""Every configuration key Storefront reads, its default, and why it exists.

This module is the single list of knobs. Values are layered, last one wins:

1. the defaults below;
2. ``instance/config.py`` (a plain Python file, see ``instance/config.example.py``);
3. environment variables ``STOREFRONT_<KEY>`` (values are parsed as JSON when they
   can be — ``true``, ``10``, ``["a","b"]`` — and taken as strings otherwise);
4. the ``config`` mapping passed to :func:`storefront.create_app` (tests use this).

The instance folder (holding ``config.py`` and the SQLite database) is ``instance/`` beside
the package, or ``$STOREFRONT_INSTANCE_PATH``.

Plugin settings can be overridden per key with ``PLUGIN_<NAME>_<KEY>`` in any layer.
"""
from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any, Mapping

from flask import Flask

ENV_PREFIX = "STOREFRONT_"

#: Shipped so a trial run works; a production app refuses to start with it.
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"

#: The project root (where ``themes/`` and ``migrations/`` live in a checkout).
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEFAULTS: dict[str, Any] = {
    # --- core ---------------------------------------------------------------
    # Signs CSRF tokens and other signed values. Generate one with
    # `python -c "import secrets; print(secrets.token_hex(32))"`.
    "SECRET_KEY": DEFAULT_SECRET_KEY,
    # Shown in the header, page titles and e-mails.
    "STORE_NAME": "Storefront",
    # ISO 4217 currency of prices; money is stored in its minor units.
    "STORE_CURRENCY": "EUR",
    # Babel locale used to format money and dates.
    "STORE_LOCALE": "en_US",
    # Public address of the store ("https://shop.example.com"), for links in e-mails sent by
    # jobs outside a web request (unpaid orders cancelled by the periodic job). Unset:
    # e-mails sent during a request use that request's address; others use http://localhost.
    "STORE_URL": None,
    # Seller details printed on invoices: the postal address (lines separated by "\n")
    # and the VAT / tax number. Empty: left out.
    "STORE_ADDRESS": "",
    "STORE_TAX_ID": "",
    # --- database -------------------------------------------------------------
    # SQLAlchemy URL. A relative SQLite path lives in the instance folder.
    # Production: mysql+pymysql://user:pass@host/db?charset=utf8mb4
    "DATABASE_URL": "sqlite:///storefront.db",
    # Seconds after which pooled MariaDB connections are recycled (below wait_timeout).
    "DATABASE_POOL_RECYCLE": 280,
    # --- redis, jobs ------------------------------------------------------------
    # Redis URL for jobs, rate limits and cache. Unset: jobs run inline, limits in memory.
    "REDIS_URL": None,
    # Queues a `flask worker` listens to, in priority order.
    "JOBS_QUEUES": ["default", "mail", "search"],
    # How many times a failed job is retried, and the waits (seconds) between tries.
    "JOBS_RETRY_INTERVALS": [10, 60, 300],
    # Seconds a job may run before the worker kills it.
    "JOBS_TIMEOUT": 600,
    # --- sessions ---------------------------------------------------------------
    # Server-side sessions live in the `sessions` table of the app database.
    "SESSION_COOKIE_NAME": "storefront_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Always mark the cookie Secure. When False it is still Secure on HTTPS requests.
    "SESSION_COOKIE_SECURE": False,
    # Lifetime of a session (seconds or timedelta); the periodic job removes older rows.
    "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
    # --- security -------------------------------------------------------------
    # Largest request body accepted (bytes); larger ones get the 413 page.
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # CSRF tokens stay valid as long as the session (no hourly expiry of open forms).
    "WTF_CSRF_TIME_LIMIT": None,
    # Content-Security-Policy header. No inline scripts: themes ship .js files.
    "CONTENT_SECURITY_POLICY": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    # Number of trusted reverse proxies in front of the app (X-Forwarded-For/Proto).
    "PROXY_COUNT": 0,
    # Default rate limit for every route (health probes are exempt).
    "RATELIMIT_DEFAULT": "600 per minute",
    # Limiter storage; unset means REDIS_URL when set, else per-process memory.
    "RATELIMIT_STORAGE_URI": None,
    "RATELIMIT_ENABLED": True,
    # --- catalog -------------------------------------------------------------------
    # Id of the search backend plugin to use ("sql", "tantivy"); "basic" is the core's
    # substring search, which also answers whenever the chosen backend fails.
    "SEARCH_BACKEND": "sql",
    # Product ids per batch when `flask search reindex` rebuilds an index (each batch is
    # read with a fixed number of queries and written in one go).
    "SEARCH_REINDEX_BATCH_SIZE": 500,
    # --- catalog pages and their cache (see storefront/catalog/cache.py) -------------
    # Seconds page data (home, categories, products, search) stays cached. Every catalog
    # write starts a new cache generation, so with REDIS_URL changes show at once; without
    # it each process caches for itself and other processes catch up within this delay.
    # 0 turns the data cache off.
    "CATALOG_CACHE_SECONDS": 60,
    # Most entries the in-process cache keeps (used when REDIS_URL is unset).
    "CATALOG_CACHE_MAX_ENTRIES": 2000,
    # max-age (seconds) of anonymous catalog pages (Cache-Control: public, with an ETag),
    # so browsers and a reverse proxy may reuse them. Signed-in pages are never stored.
    "CATALOG_HTTP_MAX_AGE": 60,
    # Products per page of category and search results.
    "CATALOG_PAGE_SIZE": 24,
    # Result and facet counts look at no more than this many products, so a huge category
    # costs no more than a category of this size: above it a page says "More than 1,000
    # products" and its filters show no counts.
    "CATALOG_COUNT_LIMIT": 1000,
    # Product pages say "Only N left" at or below this stock.
    "CATALOG_FEW_LEFT": 5,
    # --- media (uploaded images; see storefront/media.py) ---------------------------
    # Folder of uploaded images and their thumbnails; relative paths are in the instance folder.
    "MEDIA_ROOT": "media",
    # Import path "package.module:factory" of a storage replacing the local folder (an
    # object-store plugin); the factory is called with the app. None: MEDIA_ROOT on disk.
    "MEDIA_STORAGE": None,
    # Largest image file accepted (bytes), counted while reading the upload.
    "MEDIA_MAX_BYTES": 10 * 1024 * 1024,
    # Most pixels an image may declare (width × height), checked before decoding, so
    # decompression bombs are refused.
    "MEDIA_MAX_PIXELS": 40_000_000,
    # --- back office ----------------------------------------------------------------
    # Active variants with this many units or fewer appear on the low-stock list.
    "LOW_STOCK_THRESHOLD": 5,
    # --- accounts and security ---------------------------------------------------
    # Shortest password accepted; common passwords and the account's e-mail are refused too.
    "PASSWORD_MIN_LENGTH": 10,
    # Werkzeug hashing method: scrypt (memory-hard, standard library) at Werkzeug's cost.
    # The test suite lowers the cost ("scrypt:1024:8:1"); never do that in a real store.
    "PASSWORD_HASH_METHOD": "scrypt",
    # Failed sign-ins before an account is locked; the lock doubles on each further lock.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCKOUT_SECONDS": 300,
    # Per-address and per-account limits on sign-in, registration and password reset.
    "RATELIMIT_AUTH": "10 per minute",
    # Lifetime (seconds) of e-mail verification and password-reset links.
    "EMAIL_VERIFICATION_MAX_AGE": 3 * 24 * 3600,
    "PASSWORD_RESET_MAX_AGE": 3600,
    "STAFF_INVITATION_MAX_AGE": 7 * 24 * 3600,
    # Staff and admins must use a TOTP second factor.
    "MFA_REQUIRED_FOR_STAFF": True,
    # --- mail ------------------------------------------------------------------
    # smtp (production), console, outbox (files in instance/outbox) or memory (tests).
    "MAIL_BACKEND": "outbox",
    "MAIL_FROM": "Storefront <shop@localhost>",
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    # --- logging ---------------------------------------------------------------
    # "text" for humans, "json" for log shippers. Every line carries the request id.
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # --- themes -----------------------------------------------------------------
    # Active theme (restart to switch) and the folders searched for themes, first wins
    # (from the environment: a JSON list, or folders joined with os.pathsep). docs/themes.md
    "THEME": "default",
    "THEMES_PATH": [os.path.join(PROJECT_ROOT, "themes")],
    # Seconds a process trusts what it knows about theme files and theme settings before
    # looking again: edited, added or deleted templates and static files, and settings saved
    # in the back office, show on every process within this delay. 0 = check on every use.
    "THEMES_REFRESH_SECONDS": 2,
    # Flask's key: let Jinja ask the theme loader whether a cached template is stale. The
    # loader answers from memory between checks (THEMES_REFRESH_SECONDS), so this is cheap
    # in production. False = template changes need a restart.
    "TEMPLATES_AUTO_RELOAD": True,
    # --- plugins ---------------------------------------------------------------
    # Load plugins from the `storefront.plugins` entry-point group.
    "PLUGINS_AUTOLOAD": True,
    # Entry-point names never imported (kill switch for a broken plugin).
    "PLUGINS_BLOCKED": [],
    # Seconds between checks for plugins enabled/disabled by another process.
    "PLUGINS_REFRESH_SECONDS": 2,
    # Import paths of plugin modules to load as if installed (developing a plugin
    # before packaging it; multi-process tests). Safe mode does not skip these.
    "PLUGINS_EXTRA": [],
    # In tests (TESTING=True), re-raise a plugin's exception instead of containing it, so
    # bugs show. Production always contains it. Tests of isolation turn this off.
    "PLUGINS_RAISE_ERRORS": True,
    # --- cart and checkout ------------------------------------------------------------------
    # Flat tax rate the core applies when no tax plugin answers ("0.19" = 19 %) …
    "TAX_RATE": "0",
    # … unless the destination country has its own: {"DE": "0.19", "FR": "0.20"}.
    "TAX_RATES": {},
    # Whether catalog prices already include tax (B2C in the EU) or tax is added on top.
    "PRICES_INCLUDE_TAX": False,
    # Most units of one variant a single cart line may hold.
    "CART_MAX_QUANTITY": 99,
    # Guest carts untouched for this many days are deleted by a periodic job.
    "CART_GUEST_DAYS": 30,
    # --- orders -------------------------------------------------------------------------------
    # Order numbers look like "SF-4K7Q-9XM2"; the prefix is yours.
    "ORDER_NUMBER_PREFIX": "SF",
    # Unpaid orders are cancelled this many minutes after they were placed; stock returns.
    "ORDER_UNPAID_HOLD_MINUTES": 72 * 60,
    # Orders are completed this many days after their last shipment (a periodic job); 0 turns
    # that off, leaving completion to staff.
    "ORDER_COMPLETE_AFTER_DAYS": 14,
}


def parse_env_value(raw: str) -> Any:
    """Read an environment value as JSON when possible (``true``, ``3``), else as text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        key[len(ENV_PREFIX):]: parse_env_value(value)
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX)
    }


def load(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Layer the configuration onto ``app.config`` (see the module docstring)."""
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(environment_overrides(os.environ))
    app.config.from_mapping(overrides or {})
    _derive(app)


def _derive(app: Flask) -> None:
    """Fill the library-specific keys from ours, so each knob is set in one place."""
    cfg = app.config
    cfg["SQLALCHEMY_DATABASE_URI"] = cfg["DATABASE_URL"]
    if cfg["DATABASE_URL"].startswith(("mysql", "mariadb")):
        cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", mariadb_engine_options(cfg["DATABASE_URL"],
                                                                          cfg["DATABASE_POOL_RECYCLE"]))
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"] or "memory://"
    # When Redis is down the limiter keeps serving, counting in memory meanwhile.
    cfg.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    cfg.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    cfg.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    cfg.setdefault("RATELIMIT_KEY_PREFIX", "storefront")
    lifetime = cfg["PERMANENT_SESSION_LIFETIME"]
    if not isinstance(lifetime, timedelta):
        cfg["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=int(lifetime))


#: Hosts that mean "this machine": TLS to them protects nothing.
LOOPBACK_HOSTS = frozenset({None, "", "localhost", "127.0.0.1", "::1"})


def mariadb_engine_options(url: str, pool_recycle: int) -> dict[str, Any]:
    """Engine options for MariaDB: check connections before use, recycle them before the
    server's idle timeout, and no TLS to a server on this machine.

    PyMySQL otherwise *prefers* TLS and builds a fresh SSL context, loading the system's
    CA store, for every new connection (~17 ms each, even when the server has TLS off).
    A URL that asks for TLS (any ``ssl_*`` parameter) is left alone, and so is every
    remote host.
    """
    from sqlalchemy import make_url

    options: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": pool_recycle}
    parsed = make_url(url)
    if parsed.host in LOOPBACK_HOSTS and not any(key.startswith("ssl") for key in parsed.query):
        options["connect_args"] = {"ssl_disabled": True}
    return options


def is_production(app: Flask) -> bool:
    return not (app.debug or app.testing)


class ConfigurationError(RuntimeError):
    """The configuration cannot run a store; the message says how to fix it."""


def check(app: Flask) -> None:
    """Refuse to start with settings that are unsafe in production."""
    if is_production(app) and app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        raise ConfigurationError(
            "Refusing to start in production with the default SECRET_KEY.\n"
            "Set one in instance/config.py (SECRET_KEY = \"...\") or in the environment "
            "(STOREFRONT_SECRET_KEY=...). Generate one with:\n"
            "    python -c \"import secrets; print(secrets.token_hex(32))\"\n"
            "For a local trial run use `make demo` or `flask run --debug`."
        )
