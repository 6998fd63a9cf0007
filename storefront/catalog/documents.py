"""Products as search documents: the one place that turns catalog rows into
:class:`~storefront.plugins.types.ProductDocument` values for search backends.

Plugins reach it as :func:`storefront.plugins.load_product_documents`. It reads a batch
with a fixed number of queries (products, variants, attributes, category links and the
category tree), whatever the batch size, so ``flask search reindex`` stays linear.
"""
from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import timezone
from typing import Iterable

from sqlalchemy import select

from ..extensions import db
from ..plugins.types import DocumentCategory, ProductDocument
from .models import Category, Product, ProductAttribute, Variant, product_categories

TAG = re.compile(r"<[^>]*>")
#: Longest id list sent in one ``IN (…)``; larger requests are read in chunks.
CHUNK = 1000


def load_product_documents(product_ids: Iterable[int]) -> list[ProductDocument]:
    """Documents of the products with these ids, in id order; ids with no product are
    left out (a backend forgets them). Drafts and archived products are included with
    their ``status``, so a backend can tell "forget" from "index"."""
    ids = sorted({int(i) for i in product_ids})
    documents: list[ProductDocument] = []
    if not ids:
        return documents
    tree = _category_tree()
    for start in range(0, len(ids), CHUNK):
        documents.extend(_load_chunk(ids[start:start + CHUNK], tree))
    return documents


def _load_chunk(ids: list[int], tree: dict[int, _TreeNode]) -> list[ProductDocument]:
    products = db.session.execute(
        select(Product.id, Product.title, Product.slug, Product.description_html, Product.brand,
               Product.price_min_minor, Product.currency, Product.in_stock, Product.status,
               Product.rating_avg_x100, Product.created_at)
        .where(Product.id.in_(ids)).order_by(Product.id)).all()
    skus: dict[int, list[str]] = defaultdict(list)
    for product_id, sku in db.session.execute(
            select(Variant.product_id, Variant.sku).where(Variant.product_id.in_(ids), Variant.active)
            .order_by(Variant.product_id, Variant.position, Variant.id)):
        skus[product_id].append(sku)
    attributes: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for product_id, name, value in db.session.execute(
            select(ProductAttribute.product_id, ProductAttribute.name, ProductAttribute.value)
            .where(ProductAttribute.product_id.in_(ids))
            .order_by(ProductAttribute.product_id, ProductAttribute.name, ProductAttribute.value)):
        attributes[product_id].setdefault(name, []).append(value)
    filed_in: dict[int, list[int]] = defaultdict(list)
    for product_id, category_id in db.session.execute(
            select(product_categories.c.product_id, product_categories.c.category_id)
            .where(product_categories.c.product_id.in_(ids))):
        if category_id in tree:  # an inactive category is not shown, so not searchable
            filed_in[product_id].append(category_id)
    return [
        ProductDocument(
            id=row.id, title=row.title, slug=row.slug, description_text=html_to_text(row.description_html),
            brand=row.brand or "", skus=tuple(skus[row.id]),
            categories=tuple(sorted((tree[c].category for c in filed_in[row.id]), key=lambda c: c.path)),
            categories_with_ancestors=_with_ancestors(filed_in[row.id], tree),
            attributes={name: tuple(values) for name, values in attributes[row.id].items()},
            price_min_minor=int(row.price_min_minor or 0), currency=row.currency, in_stock=bool(row.in_stock),
            status=row.status, rating_avg_x100=int(row.rating_avg_x100 or 0),
            created_at=row.created_at.replace(tzinfo=timezone.utc).timestamp() if row.created_at else 0.0,
        )
        for row in products
    ]


@dataclass(frozen=True)
class _TreeNode:
    category: DocumentCategory
    #: Ids from the root down to this category.
    lineage: tuple[int, ...]


def _category_tree() -> dict[int, _TreeNode]:
    """Every active category with its path. A shop has hundreds, not millions, so one
    query per batch beats walking parents per product."""
    rows = {row.id: row for row in db.session.execute(
        select(Category.id, Category.slug, Category.name, Category.parent_id).where(Category.active))}
    tree = {}
    for category_id, row in rows.items():
        lineage = _lineage(category_id, rows)
        path = "/" + "/".join(rows[i].slug for i in lineage)
        tree[category_id] = _TreeNode(DocumentCategory(row.slug, row.name, path), lineage)
    return tree


def _lineage(category_id: int, rows: dict) -> tuple[int, ...]:
    """Ids from the root down to ``category_id``. An inactive parent ends the path, and a
    parent loop saved by mistake cannot hang the walk."""
    lineage: list[int] = []
    current: int | None = category_id
    while current is not None and current in rows and current not in lineage:
        lineage.append(current)
        current = rows[current].parent_id
    return tuple(reversed(lineage))


def _with_ancestors(category_ids: list[int], tree: dict[int, _TreeNode]) -> tuple[DocumentCategory, ...]:
    found: dict[int, DocumentCategory] = {}
    for category_id in sorted(category_ids, key=lambda c: tree[c].category.path):
        for ancestor in tree[category_id].lineage:
            found.setdefault(ancestor, tree[ancestor].category)
    return tuple(found.values())


def html_to_text(markup: str) -> str:
    """Sanitised description HTML → plain words for indexing (tags dropped, entities read)."""
    # The HTML was sanitised on save, so tags are well-formed; a space per tag keeps
    # "<p>a</p><p>b</p>" two words.
    return " ".join(html.unescape(TAG.sub(" ", markup or "")).split())
