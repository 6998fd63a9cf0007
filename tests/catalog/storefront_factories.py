"""Catalog data for the storefront page tests, made through the catalog services (the way
the back office and imports make it); categories are plain rows (no service needed)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from storefront.catalog import services
from storefront.catalog.models import Category, Product
from storefront.extensions import db


def make_category(name: str, parent: Category | None = None, **values) -> Category:
    category = Category(name=name, slug=values.pop("slug", services.slugify(name)),
                        parent_id=parent.id if parent else None, **values)
    db.session.add(category)
    db.session.commit()
    return category


def make_product(title: str, *, categories=(), price: int = 1000, stock: int = 5, variants=None,
                 created_at: datetime | None = None, **values) -> Product:
    """An active product with one variant (``price``, ``stock``) unless ``variants`` lists
    dicts for :func:`services.save_variant` (sku and price_minor may be left out)."""
    values.setdefault("status", "active")
    product = services.save_product({"title": title, "category_ids": [c.id for c in categories], **values})
    stem = re.sub(r"[^A-Z0-9]", "", title.upper())[:40] + f"-{product.id}"
    for index, variant in enumerate(variants or [{"price_minor": price, "stock": stock}]):
        services.save_variant(product, {"sku": f"{stem}-{index}", "price_minor": price, **variant})
    if created_at is not None:
        product.created_at = created_at
    services.commit_product(product)
    return product


def spaced_times(count: int, start: datetime = datetime(2026, 1, 1)) -> list[datetime]:
    """Distinct creation times a minute apart, oldest first (whole seconds, as MariaDB keeps)."""
    return [start + timedelta(minutes=i) for i in range(count)]
