"""Product search: the configured SearchBackend plugin, with the core's basic search as
the fallback, so a search never answers 500.

``SEARCH_BACKEND`` names the backend id (``sql`` by default, from
storefront-search-sql). With no such backend enabled, or when it raises, the basic
search answers: a case-insensitive substring match on title and SKU of active products.

Backends keep their index in step with the catalog through the product-changed event
and jobs; :func:`product_id_batches` and :func:`index_batch` rebuild one from scratch
(``flask search reindex``, see :mod:`.search_cli`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from flask import current_app
from sqlalchemy import exists, func, or_, select

from ..extensions import db
from ..plugins.manager import GuardedProvider, providers
from ..plugins.types import PluginFailure, SearchPage, SearchQuery, SearchUnavailable, UnknownProvider
from .models import Product, Variant

log = logging.getLogger(__name__)
BASIC_BACKEND_ID = "basic"
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class SearchOutcome:
    page: SearchPage
    backend: str  # id of the backend that answered
    fell_back: bool  # True when the configured backend failed or was missing


def search_products(query: SearchQuery) -> SearchOutcome:
    """Search with the configured backend; the basic search answers when it is missing or
    fails (``fell_back``), so this never raises for a backend's sake."""
    query = replace(query, text=(query.text or "")[:MAX_QUERY_LENGTH])
    wanted = current_app.config["SEARCH_BACKEND"]
    backend = next((p for p in providers("storefront_search_backends", SearchUnavailable) if p.id == wanted), None)
    if backend is not None:
        try:
            return SearchOutcome(backend.search(query), backend.id, fell_back=False)
        except PluginFailure:
            log.warning("search backend %r failed; answering with the basic search", wanted)
    return SearchOutcome(basic_search(query), BASIC_BACKEND_ID, fell_back=wanted != BASIC_BACKEND_ID)


def search_backends() -> list:
    """Every enabled backend (for re-indexing)."""
    return providers("storefront_search_backends", SearchUnavailable)


def search_backend(backend_id: str | None = None) -> GuardedProvider:
    """The enabled backend with this id (default: ``SEARCH_BACKEND``), or
    :class:`UnknownProvider`. Its failures surface as :class:`SearchUnavailable`."""
    wanted = backend_id or current_app.config["SEARCH_BACKEND"]
    for backend in search_backends():
        if backend.id == wanted:
            return backend
    raise UnknownProvider(f"No enabled search backend is called {wanted!r}.")


def product_id_batches(batch_size: int, first_id: int = 1) -> list[range]:
    """Contiguous ranges of product ids from ``first_id`` to the highest id, ``batch_size``
    each. Gaps left by deleted products are included on purpose: a backend forgets ids
    that have no document, so a rebuild also clears out products it missed deleting."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    highest = db.session.scalar(select(func.max(Product.id))) or 0
    return [range(start, min(start + batch_size, highest + 1))
            for start in range(max(first_id, 1), highest + 1, batch_size)]


def index_batch(backend: GuardedProvider, ids: range) -> None:
    """(Re-)index one batch, then end the read transaction, so a long rebuild holds no
    snapshot open on MariaDB and no rows in the session."""
    try:
        backend.index(list(ids))
    finally:
        db.session.close()


def searchable_product_count() -> int:
    """Products a complete index holds: the active ones."""
    return db.session.scalar(select(func.count()).select_from(Product).where(Product.status == "active")) or 0


def basic_search(query: SearchQuery) -> SearchPage:
    """Substring match on title and SKU, newest first — slow on huge catalogs, never down."""
    text = (query.text or "").strip()[:MAX_QUERY_LENGTH].lower()
    conditions = [Product.status == "active"]
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        sku_match = exists().where(Variant.product_id == Product.id,
                                   func.lower(Variant.sku).like(like, escape="\\"))
        conditions.append(or_(func.lower(Product.title).like(like, escape="\\"), sku_match))
    total = db.session.scalar(select(func.count()).select_from(Product).where(*conditions)) or 0
    order = {"price_asc": (Product.price_min_minor, Product.id), "price_desc": (Product.price_min_minor.desc(), Product.id)}
    ids = db.session.scalars(select(Product.id).where(*conditions)
                             .order_by(*order.get(query.sort, (Product.created_at.desc(), Product.id.desc())))
                             .limit(query.per_page).offset((max(query.page, 1) - 1) * query.per_page)).all()
    return SearchPage(product_ids=tuple(ids), total=total, facets=())
