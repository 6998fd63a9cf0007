"""Product search: the configured SearchBackend plugin, with the core's basic search as
the fallback, so a search never answers 500.

``SEARCH_BACKEND`` names the backend id (``sql`` by default, from
storefront-search-sql). With no such backend enabled, or when it raises, the basic
search answers: a case-insensitive substring match on title and SKU of active products.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import exists, func, or_, select

from ..extensions import db
from ..plugins.manager import providers
from ..plugins.types import PluginFailure, SearchPage, SearchQuery, SearchUnavailable
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
