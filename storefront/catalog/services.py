"""Catalog services: the only code that writes products, variants, stock and reviews.

Each function owns its transaction and tells plugins what changed after the commit
(``storefront_product_changed``), which is how search indexes follow the catalog.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Iterable, Sequence

import markdown as markdown_lib
import nh3
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..clock import utcnow
from ..errors import InvalidInput, NotFound, StorefrontError
from ..extensions import db
from ..money import Money
from ..plugins.manager import notify
from .models import (PRODUCT_STATUSES, Category, Product, ProductAttribute, Review, SlugRedirect, StockMovement,
                     Variant, WishlistItem)

ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote",
                "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "hr"}
STOCK_REASONS = ("restock", "correction", "damaged", "returned", "sale", "cancellation", "import")


class OutOfStock(StorefrontError):
    """There is not enough stock for that."""

    status = 409
    code = "out_of_stock"


def slugify(text: str, max_length: int = 120) -> str:
    """ASCII, lower-case, dash-separated: "Café Crème 2" → "cafe-creme-2"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].strip("-") or "item"


def fold(text: str) -> str:
    """``text`` as MariaDB's ``utf8mb4_unicode_ci`` compares it, case and accents ignored
    ("Red" = "red" = "RÉD"). Unique indexes on MariaDB treat such values as one; the
    services compare with this key so SQLite, which compares bytes, behaves the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def attribute_key(name: str, value: str) -> tuple[str, str]:
    """When two attribute rows of a product are the same one (see :func:`fold`)."""
    return fold(name), fold(value)


def same_sku(skus: Iterable[str]):
    """SQL condition: ``Variant.sku`` is one of ``skus``, case ignored on every database.
    MariaDB's collation already compares so (and the unique index answers); SQLite
    compares bytes, so both sides are lower-cased there (ASCII letters: SQLite's
    ``lower``; MariaDB also ignores accents)."""
    wanted = list(dict.fromkeys(skus))
    if db.session.get_bind().dialect.name == "sqlite":
        return func.lower(Variant.sku).in_(sorted({sku.lower() for sku in wanted}))
    return Variant.sku.in_(wanted)


def unique_slug(model, base: str, exclude_id: int | None = None) -> str:
    slug, n = base, 2
    while True:
        query = select(model.id).where(model.slug == slug)
        if exclude_id is not None:
            query = query.where(model.id != exclude_id)
        if db.session.scalar(query) is None:
            return slug
        slug, n = f"{base}-{n}", n + 1


def render_description(source: str) -> str:
    """Markdown → HTML with only harmless tags (no scripts, styles or event handlers)."""
    html = markdown_lib.markdown(source or "", extensions=["tables"], output_format="html")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener nofollow")


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("That product does not exist.")
    return product


def save_product(values: dict, product: Product | None = None, actor=None, commit: bool = True) -> Product:
    """Create or update a product's own fields (variants separately). A new slug leaves
    a 301 redirect behind.

    ``commit=False`` only flushes (the product has its id) and leaves the transaction to
    the caller, who saves variants with :func:`save_variant` in it and finishes with
    :func:`commit_product` (which commits and tells plugins) — or rolls back, and nothing
    was written."""
    title = (values.get("title") or "").strip()
    if not title:
        raise InvalidInput("A product needs a title.")
    status = values.get("status", product.status if product else "draft")
    if status not in PRODUCT_STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(PRODUCT_STATUSES)}.")
    creating = product is None
    now = utcnow()
    if creating:
        product = Product(created_at=now, currency=values.get("currency") or _store_currency(), price_min_minor=0)
        db.session.add(product)
    before = None if creating else {"title": product.title, "slug": product.slug, "status": product.status}
    product.title = title[:255]
    product.description = values.get("description", product.description or "") or ""
    product.description_html = render_description(product.description)
    product.status = status
    product.brand = (values.get("brand", product.brand or "") or "").strip()[:120]
    product.seo_title = (values.get("seo_title", product.seo_title or "") or "")[:255]
    product.seo_description = (values.get("seo_description", product.seo_description or "") or "")[:320]
    product.featured = bool(values.get("featured", product.featured or False))
    product.updated_at = now
    wanted_slug = slugify(values.get("slug") or (product.slug if not creating else title))
    with db.session.no_autoflush:
        new_slug = unique_slug(Product, wanted_slug, exclude_id=None if creating else product.id)
    if not creating and product.slug != new_slug:
        remember_old_slug("product", product.slug, product.id)
    product.slug = new_slug
    db.session.flush()
    if "category_ids" in values:
        ids = [int(i) for i in values["category_ids"]]
        product.categories = list(db.session.scalars(select(Category).where(Category.id.in_(ids)))) if ids else []
    if "attributes" in values:
        set_product_attributes(product, values["attributes"])
    refresh_product_summary(product)
    audit.record("catalog.product.created" if creating else "catalog.product.updated", actor=actor,
                 target_type="product", target_id=product.id, before=before,
                 after={"title": product.title, "slug": product.slug, "status": product.status})
    if commit:
        db.session.commit()
        product_changed([product.id])
    else:
        db.session.flush()
    return product


def remember_old_slug(kind: str, old_slug: str, target_id: int) -> None:
    """Keep ``old_slug`` answering with a 301 to the product or category ``target_id``."""
    db.session.execute(delete(SlugRedirect).where(SlugRedirect.kind == kind, SlugRedirect.old_slug == old_slug))
    db.session.add(SlugRedirect(kind=kind, old_slug=old_slug, target_id=target_id))


def set_product_attributes(product: Product, attributes: dict[str, str | Sequence[str]]) -> None:
    """Replace the product's own attributes ({"material": "cotton"}); variant options stay.

    Values of one name that differ only in case or accents are one value, as MariaDB's
    unique index sees them (:func:`fold`): the first spelling is kept, and an existing
    row is re-spelt rather than replaced (a replacement would be inserted before the old
    row is deleted and trip that index)."""
    existing = {attribute_key(a.name, a.value): a for a in product.attributes}
    wanted: dict[tuple[str, str], ProductAttribute] = {}
    for name, values in (attributes or {}).items():
        for value in ([values] if isinstance(values, str) else values):
            name_text, value_text = str(name).strip().lower()[:60], str(value).strip()[:120]
            key = attribute_key(name_text, value_text)
            if not value_text or key in wanted:
                continue
            row = existing.get(key) or ProductAttribute(name=name_text, value=value_text, from_variant=False)
            row.value, row.from_variant = value_text, False  # a variant option may become the product's own
            wanted[key] = row
    product.attributes = [a for a in product.attributes if a.from_variant] + list(wanted.values())


def save_variant(product: Product, values: dict, variant: Variant | None = None, actor=None) -> Variant:
    """Create or update one variant in the current transaction (:func:`commit_product`
    commits). A SKU another variant has — compared ignoring case, on every database —
    is refused with :class:`InvalidInput`, and the transaction is rolled back."""
    sku = (values.get("sku") or "").strip()
    if not sku or len(sku) > 64:
        raise InvalidInput("Every variant needs a SKU of at most 64 characters.")
    try:
        price_minor = int(values["price_minor"])
        compare = values.get("compare_at_minor")
        compare_minor = int(compare) if compare not in (None, "") else None
        stock = int(values.get("stock", variant.stock if variant else 0))
        weight = int(values.get("weight_grams", 0) or 0)
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("Price, stock and weight must be whole numbers.") from None
    if price_minor < 0 or stock < 0 or weight < 0 or (compare_minor is not None and compare_minor < 0):
        raise InvalidInput("Price, stock and weight cannot be negative.")
    creating = variant is None
    taken = select(Variant.sku).where(same_sku([sku]))
    with db.session.no_autoflush:
        taken_as = db.session.scalar(taken if creating else taken.where(Variant.id != variant.id))
    if taken_as is not None:
        db.session.rollback()
        raise InvalidInput(f"The SKU {sku} is already used by another variant"
                           + ("." if taken_as == sku else f", as {taken_as} (SKUs ignore case)."))
    if creating:
        variant = Variant(product=product, currency=product.currency, stock=0)
        db.session.add(variant)
    variant.sku = sku
    variant.options = {str(k).strip().lower(): str(v).strip() for k, v in (values.get("options") or {}).items()
                       if str(v).strip()}
    variant.price_minor = price_minor
    variant.compare_at_minor = compare_minor
    variant.weight_grams = weight
    variant.active = bool(values.get("active", True))
    variant.position = int(values.get("position", variant.position or 0) or 0)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput(f"The SKU {sku} is already used by another variant.") from None
    delta = stock - (variant.stock or 0)
    if delta:
        _move_stock(variant, delta, "import" if creating else "correction", "set in the product form", actor)
    refresh_product_summary(product)
    return variant


def refresh_product_summary(product: Product) -> None:
    """Recompute the denormalised price, stock flag and variant-option attributes."""
    db.session.flush()
    active = [v for v in product.variants if v.active]
    product.price_min_minor = min((v.price_minor for v in active), default=0)
    product.in_stock = any(v.stock > 0 for v in active)
    own = [a for a in product.attributes if not a.from_variant]
    # Keep existing rows that still apply: replacing them would insert before the
    # orphan delete and trip the (product, name, value) unique constraint — which on
    # MariaDB ignores case and accents, hence the folded keys.
    existing = {attribute_key(a.name, a.value): a for a in product.attributes if a.from_variant}
    seen = {attribute_key(a.name, a.value) for a in own}
    option_values = []
    for variant in active:
        for name, value in (variant.options or {}).items():
            name_text, value_text = name[:60], str(value)[:120]
            key = attribute_key(name_text, value_text)
            if key not in seen:
                seen.add(key)
                row = existing.get(key) or ProductAttribute(name=name_text, value=value_text, from_variant=True)
                row.value = value_text  # the spelling of the first variant that has it
                option_values.append(row)
    product.attributes = own + option_values


def commit_product(product: Product, actor=None) -> None:
    """Commit variant edits made with :func:`save_variant` and tell plugins."""
    product.updated_at = utcnow()
    db.session.commit()
    product_changed([product.id])


def product_changed(product_ids: Iterable[int], deleted: bool = False) -> None:
    for product_id in product_ids:
        notify("storefront_product_changed", product_id=product_id, deleted=deleted)


def delete_product(product: Product, actor=None) -> None:
    product_id = product.id
    audit.record("catalog.product.deleted", actor=actor, target_type="product", target_id=product_id,
                 before={"title": product.title, "slug": product.slug})
    db.session.delete(product)
    db.session.commit()
    product_changed([product_id], deleted=True)


# --- stock -----------------------------------------------------------------------------------


def adjust_stock(variant_id: int, delta: int, reason: str, note: str = "", actor=None,
                 order_id: int | None = None, commit: bool = True) -> int:
    """Change stock by ``delta`` atomically; never below zero. Returns the new stock.

    One conditional UPDATE does it (``… WHERE stock + :delta >= 0``), so concurrent
    buyers cannot oversell on SQLite or MariaDB; the row count says whether it applied.
    """
    if reason not in STOCK_REASONS:
        raise InvalidInput(f"Reason must be one of {', '.join(STOCK_REASONS)}.")
    if not isinstance(delta, int) or delta == 0:
        raise InvalidInput("Enter a non-zero whole number of units.")
    result = db.session.execute(update(Variant).where(Variant.id == variant_id, Variant.stock + delta >= 0)
                                .values(stock=Variant.stock + delta))
    if result.rowcount != 1:
        db.session.rollback()
        if db.session.get(Variant, variant_id) is None:
            raise NotFound("That variant does not exist.")
        raise OutOfStock()
    variant = db.session.get(Variant, variant_id)
    db.session.refresh(variant, ["stock"])
    db.session.add(StockMovement(variant_id=variant_id, delta=delta, stock_after=variant.stock, reason=reason,
                                 note=(note or "")[:255], order_id=order_id, user_id=getattr(actor, "id", None),
                                 created_at=utcnow()))
    product = variant.product
    product.in_stock = any(v.stock > 0 for v in product.variants if v.active)
    if commit:
        audit.record("catalog.stock.adjusted", actor=actor, target_type="variant", target_id=variant_id,
                     after={"delta": delta, "stock": variant.stock, "reason": reason})
        db.session.commit()
        product_changed([product.id])
    return variant.stock


def _move_stock(variant: Variant, delta: int, reason: str, note: str, actor) -> None:
    """Stock set in a form for a variant being edited (in the caller's transaction)."""
    variant.stock = (variant.stock or 0) + delta
    db.session.flush()
    db.session.add(StockMovement(variant_id=variant.id, delta=delta, stock_after=variant.stock, reason=reason,
                                 note=note, user_id=getattr(actor, "id", None), created_at=utcnow()))


# --- bulk actions -------------------------------------------------------------------------------


def set_status(product_ids: Sequence[int], status: str, actor=None) -> int:
    if status not in PRODUCT_STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(PRODUCT_STATUSES)}.")
    ids = [int(i) for i in product_ids]
    changed = db.session.execute(update(Product).where(Product.id.in_(ids))
                                 .values(status=status, updated_at=utcnow())).rowcount
    audit.record(f"catalog.product.bulk_{status}", actor=actor, target_type="product",
                 target_id=",".join(map(str, ids))[:100], after={"count": changed})
    db.session.commit()
    product_changed(ids)
    return changed


def change_prices(product_ids: Sequence[int], percent: Decimal, actor=None) -> int:
    """Raise or lower every variant price of these products by ``percent`` (rounded once each)."""
    if percent <= -100 or percent > 1000:
        raise InvalidInput("Enter a change between -99 % and +1000 %.")
    ids = [int(i) for i in product_ids]
    factor = 1 + percent / 100
    count = 0
    for variant in db.session.scalars(select(Variant).where(Variant.product_id.in_(ids))):
        variant.price_minor = Money(variant.price_minor, variant.currency).multiply(factor).minor
        if variant.compare_at_minor is not None:
            variant.compare_at_minor = Money(variant.compare_at_minor, variant.currency).multiply(factor).minor
        count += 1
    for product in db.session.scalars(select(Product).where(Product.id.in_(ids))):
        refresh_product_summary(product)
    audit.record("catalog.product.bulk_price_change", actor=actor, target_type="product",
                 target_id=",".join(map(str, ids))[:100], after={"percent": str(percent), "variants": count})
    db.session.commit()
    product_changed(ids)
    return count


# --- reviews and wishlists ------------------------------------------------------------------------


def add_review(product: Product, user, rating: int, title: str, body: str, verified_buyer: bool = False) -> Review:
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput("Choose a rating from 1 to 5 stars.")
    review = Review(product_id=product.id, user_id=getattr(user, "id", None),
                    author_name=(getattr(user, "name", "") or "")[:120], rating=rating,
                    title=(title or "").strip()[:200], body=(body or "").strip()[:5000],
                    verified_buyer=verified_buyer, status="pending", created_at=utcnow())
    db.session.add(review)
    db.session.commit()
    return review


def moderate_review(review_id: int, status: str, actor=None) -> Review:
    if status not in ("approved", "rejected"):
        raise InvalidInput("Approve or reject.")
    review = db.session.get(Review, review_id)
    if review is None:
        raise NotFound("That review does not exist.")
    review.status = status
    _refresh_rating(review.product_id)
    audit.record(f"catalog.review.{status}", actor=actor, target_type="review", target_id=review_id)
    db.session.commit()
    product_changed([review.product_id])
    return review


def _refresh_rating(product_id: int) -> None:
    db.session.flush()
    count, total = db.session.execute(select(func.count(Review.id), func.coalesce(func.sum(Review.rating), 0))
                                      .where(Review.product_id == product_id, Review.status == "approved")).one()
    product = db.session.get(Product, product_id)
    product.rating_count = count
    product.rating_avg_x100 = round(total * 100 / count) if count else 0


def add_to_wishlist(user, product_id: int, variant_id: int | None = None) -> None:
    product = db.session.get(Product, product_id)
    if product is None or product.status != "active":
        raise NotFound("That product does not exist.")
    exists = db.session.scalar(select(WishlistItem.id).where(WishlistItem.user_id == user.id,
                                                             WishlistItem.product_id == product_id))
    if exists is None:
        db.session.add(WishlistItem(user_id=user.id, product_id=product_id, variant_id=variant_id, created_at=utcnow()))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # a double click: already there


def remove_from_wishlist(user, product_id: int) -> None:
    db.session.execute(delete(WishlistItem).where(WishlistItem.user_id == user.id,
                                                  WishlistItem.product_id == product_id))
    db.session.commit()


def _store_currency() -> str:
    from flask import current_app

    return current_app.config["STORE_CURRENCY"]
