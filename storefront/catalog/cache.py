"""Catalog speed: cached page data and HTTP caching of the pages shoppers browse.

**Data cache.** Page data (home lists, category trees, listings, product pages, search
results) is kept under keys that include the catalog's *generation*, a number bumped
after every committed catalog write. Invalidation is therefore O(1): entries of an old
generation are simply never read again and expire after ``CATALOG_CACHE_SECONDS``.

* With ``REDIS_URL`` the entries and the generation live in Redis, shared by every web
  process. A Redis that stops answering is left alone for :data:`REDIS_RETRY_SECONDS`
  and pages are computed from the database meanwhile — a cache never takes the shop down.
* Without it each process keeps a bounded in-process TTL dictionary. Another process
  sees a change only when its own entries expire (``CATALOG_CACHE_SECONDS``), which is
  fine for the embedded trial store.

The generation is bumped by a SQLAlchemy session hook (installed by :func:`init_app`):
any commit that inserted, changed or deleted catalog rows — through the ORM or bulk
``update()``/``delete()`` statements — bumps it. Hooking the commit rather than each
service means no write path (products, categories, stock, reviews, imports) can forget.

**HTTP cache.** :func:`render_page` renders a page and decides how it may be cached:
pages that are the same for every anonymous shopper carry a strong ETag (a hash of the
body), ``Cache-Control: public, max-age=CATALOG_HTTP_MAX_AGE`` (``private`` when the
visitor already has a session cookie) and answer 304 to a matching ``If-None-Match``;
pages for signed-in shoppers (or carrying a flashed message) are ``private, no-store``.
"""
from __future__ import annotations

import hashlib
import logging
import pickle
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from flask import Flask, current_app, has_app_context, make_response, render_template, request, session
from flask.wrappers import Response
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from ..extensions import db

log = logging.getLogger(__name__)

T = TypeVar("T")

EXTENSION_KEY = "storefront.catalog_cache"
KEY_PREFIX = "storefront:catalog:"
GENERATION_KEY = KEY_PREFIX + "generation"
#: After a Redis error, how long pages skip Redis before trying it again.
REDIS_RETRY_SECONDS = 30.0
#: Redis must answer fast or not at all: a slow cache is worse than none.
REDIS_TIMEOUT_SECONDS = 0.25
#: Tables whose changes can show on a catalog page.
CATALOG_TABLES = frozenset({"categories", "products", "product_categories", "product_attributes", "variants",
                            "product_images", "reviews", "slug_redirects"})
_CHANGED_FLAG = "storefront.catalog_changed"


class MemoryStore:
    """A thread-safe TTL dictionary holding at most ``max_entries`` (oldest go first)."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` for a live entry, ``(False, None)`` otherwise."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if entry[0] <= self.clock():
                del self._entries[key]
                return False, None
            return True, entry[1]

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (self.clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class CacheState:
    """Per-app cache machinery (``app.extensions["storefront.catalog_cache"]``)."""

    ttl: int
    redis_url: str | None
    memory: MemoryStore
    #: The Redis client; built on first use from ``redis_url`` (tests may set a fake one).
    redis: Any = None
    #: The generation of the in-process store (used without Redis).
    local_generation: int = 0
    #: Monotonic time before which Redis is not tried again after an error.
    redis_resting_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def redis_client(self) -> Any | None:
        """The Redis client, or None when there is no Redis or it is resting after an error."""
        if self.redis is None and not self.redis_url:
            return None
        if time.monotonic() < self.redis_resting_until:
            return None
        if self.redis is None:
            from redis import Redis

            self.redis = Redis.from_url(self.redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                        socket_timeout=REDIS_TIMEOUT_SECONDS)
        return self.redis

    def redis_failed(self, error: Exception) -> None:
        log.warning("catalog cache: Redis failed (%s); serving from the database for %ss",
                    error, int(REDIS_RETRY_SECONDS))
        self.redis_resting_until = time.monotonic() + REDIS_RETRY_SECONDS


def init_app(app: Flask) -> None:
    """Set up the cache for ``app`` and the session hook that bumps the generation."""
    app.extensions[EXTENSION_KEY] = CacheState(
        ttl=int(app.config["CATALOG_CACHE_SECONDS"]),
        redis_url=app.config["REDIS_URL"],
        memory=MemoryStore(int(app.config["CATALOG_CACHE_MAX_ENTRIES"])),
    )
    # The listeners are global to Flask-SQLAlchemy's session class: install them once. A
    # flush that is rolled back still bumps at the next commit: a spare bump costs nothing.
    session_class = db.session.session_factory.class_
    if not event.contains(session_class, "after_commit", _after_commit):
        event.listen(session_class, "after_flush", _note_flushed_changes)
        event.listen(session_class, "do_orm_execute", _note_bulk_statement)
        event.listen(session_class, "after_commit", _after_commit)


def state(app: Flask | None = None) -> CacheState:
    return (app or current_app).extensions[EXTENSION_KEY]


# --- generation ---------------------------------------------------------------------------------


def generation() -> int:
    """The current catalog generation (part of every data cache key)."""
    cache = state()
    client = cache.redis_client()
    if client is not None:
        try:
            return int(client.get(GENERATION_KEY) or 0)
        except Exception as error:  # noqa: BLE001 - any Redis failure means "no cache"
            cache.redis_failed(error)
    return cache.local_generation


def catalog_changed() -> None:
    """Start a new generation: every cached page computed before this call is stale.

    Called after commits that touched catalog tables (see the module docstring); call it
    yourself after writing catalog rows outside the ORM session (raw SQL, bulk loaders).
    """
    cache = state()
    with cache.lock:
        cache.local_generation += 1
    client = cache.redis_client()
    if client is not None:
        try:
            client.incr(GENERATION_KEY)
        except Exception as error:  # noqa: BLE001
            cache.redis_failed(error)


def _note_flushed_changes(db_session: Session, flush_context: Any) -> None:
    for instance in (*db_session.new, *db_session.dirty, *db_session.deleted):
        if getattr(type(instance), "__tablename__", None) in CATALOG_TABLES:
            db_session.info[_CHANGED_FLAG] = True
            return


def _note_bulk_statement(orm_execute_state: ORMExecuteState) -> None:
    if orm_execute_state.is_select:
        return
    table = getattr(orm_execute_state.statement, "table", None)
    if getattr(table, "name", None) in CATALOG_TABLES:
        orm_execute_state.session.info[_CHANGED_FLAG] = True


def _after_commit(db_session: Session) -> None:
    if db_session.info.pop(_CHANGED_FLAG, False) and has_app_context() and EXTENSION_KEY in current_app.extensions:
        catalog_changed()



# --- data cache ---------------------------------------------------------------------------------


def remember(name: str, key: str, compute: Callable[[], T]) -> T:
    """The cached value of ``name``/``key`` for the current generation, computing and
    storing it when missing. ``key`` must capture everything the value depends on.

    Values must pickle (plain data and frozen dataclasses — never ORM objects). None is
    never stored, so made-up URLs cannot fill the cache. ``CATALOG_CACHE_SECONDS = 0``
    computes every time.
    """
    cache = state()
    if cache.ttl <= 0:
        return compute()
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    client = cache.redis_client()
    if client is not None:
        try:
            full_key = f"{KEY_PREFIX}{int(client.get(GENERATION_KEY) or 0)}:{name}:{digest}"
            raw = client.get(full_key)
        except Exception as error:  # noqa: BLE001 - any Redis failure: use the in-process store
            cache.redis_failed(error)
        else:
            if raw is not None:
                try:
                    return pickle.loads(raw)  # noqa: S301 - our own Redis, like RQ's job payloads
                except Exception:  # noqa: BLE001 - written by an older release: recompute
                    log.info("catalog cache: unreadable entry %s recomputed", full_key)
            value = compute()
            if value is None:
                return None
            try:
                client.set(full_key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), ex=cache.ttl)
            except Exception as error:  # noqa: BLE001
                cache.redis_failed(error)
            return value
    full_key = f"{cache.local_generation}:{name}:{digest}"
    found, value = cache.memory.get(full_key)
    if found:
        return value
    value = compute()
    if value is not None:
        cache.memory.set(full_key, value, cache.ttl)
    return value


# --- HTTP caching ---------------------------------------------------------------------------


def same_for_every_visitor() -> bool:
    """True when this GET page shows nothing personal: nobody is signed in, no flashed
    message waits to be shown and there is no cart (the header shows its count). Such a
    page gets an ETag and may be kept by browsers."""
    from ..cart.services import SESSION_KEY as CART_KEY

    return (request.method in ("GET", "HEAD") and not current_user.is_authenticated
            and "_flashes" not in session and not session.get(CART_KEY))


def _no_csrf_token() -> str:
    # Such a page has no forms to protect. Rendering a token would put one visitor's token
    # in a shared copy, change the ETag every second (tokens are timestamped) and start a
    # session — a database row and a Set-Cookie — for every anonymous visitor.
    return ""


def render_page(template: str, status: int = 200, **context: Any) -> Response:
    """Render a catalog page with the caching headers it deserves.

    Anonymous pages carry a strong ETag (a hash of the body) and answer 304 to a matching
    ``If-None-Match``. They are ``public`` only when the request has no session cookie:
    the session interface refreshes an existing cookie on every response, and a shared
    cache must never store a ``Set-Cookie``; with a cookie they are ``private``. Pages
    for signed-in shoppers are ``private, no-store``.
    """
    anonymous = same_for_every_visitor() and status == 200
    if anonymous:
        context["csrf_token"] = _no_csrf_token
    body = render_template(template, **context)
    response = make_response(body, status)
    if not anonymous:
        return private_response(response)
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    cacheable_response(response, int(current_app.config["CATALOG_HTTP_MAX_AGE"]))
    return response.make_conditional(request)


def cacheable_response(response: Response, max_age: int) -> Response:
    """Let browsers keep ``response`` for ``max_age`` seconds, and shared caches too
    unless the request carries a session cookie (whose refreshed ``Set-Cookie`` a proxy
    must never hand to someone else)."""
    has_session = current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    response.cache_control.public = not has_session
    response.cache_control.private = has_session
    response.cache_control.max_age = max_age
    response.vary.add("Cookie")
    return response


def private_response(response: Response) -> Response:
    """Mark ``response`` as belonging to one shopper: never stored by browsers or proxies."""
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response
