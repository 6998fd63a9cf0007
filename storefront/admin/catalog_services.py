"""Back-office catalog work the core catalog services do not cover: categories, the
product editor's single save (product + variants + images), image housekeeping, and the
read queries behind the stock and review pages.

Writes go through :mod:`storefront.catalog.services` wherever it has a function for them
(products, variants, stock, bulk actions, moderation), so the audit log, stock movements
and ``storefront_product_changed`` stay in one place. Every function here validates all
of its input before writing anything; a :class:`FormErrors` means nothing was written.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, delete, exists, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit, media
from ..auth.models import User
from ..catalog import services
from ..catalog.models import (PRODUCT_STATUSES, REVIEW_STATUSES, Category, Product, ProductImage, Review,
                              SlugRedirect, StockMovement, Variant, product_categories)
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..money import Money


class FormErrors(InvalidInput):
    """Some fields are not valid; nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Nothing was saved. Please correct the fields marked below.")
        #: field name → message, as the form names its fields.
        self.errors = errors


# --- categories ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryValues:
    """A validated category form. ``slug`` empty means "derive it from the name"."""

    name: str
    slug: str
    parent_id: int | None
    description: str
    position: int
    active: bool
    image: media.PreparedImage | None = None
    remove_image: bool = False


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    depth: int


def get_category(category_id: int) -> Category:
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound("That category does not exist.")
    return category


def category_tree() -> list[CategoryNode]:
    """Every category in display order (parents before their children, by position then
    name), with its depth. One query: categories are few."""
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.name)).all()
    children: dict[int | None, list[Category]] = {}
    known = {c.id for c in categories}
    for category in categories:
        # A parent that no longer exists makes a root rather than hiding the subtree.
        parent = category.parent_id if category.parent_id in known else None
        children.setdefault(parent, []).append(category)
    ordered: list[CategoryNode] = []
    seen: set[int] = set()

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, []):
            if category.id not in seen:
                seen.add(category.id)
                ordered.append(CategoryNode(category, depth))
                walk(category.id, depth + 1)

    walk(None, 0)
    return ordered


def descendant_ids(category_id: int) -> set[int]:
    """Ids of the category's children, grandchildren …, not the category itself."""
    found: set[int] = set()
    frontier = {category_id}
    while frontier:
        frontier = set(db.session.scalars(select(Category.id).where(Category.parent_id.in_(frontier)))) - found
        frontier.discard(category_id)
        found |= frontier
    return found


def save_category(values: CategoryValues, category: Category | None = None, actor=None) -> Category:
    """Create or update a category. Refuses a parent inside its own subtree, an unknown
    parent and a slug another category uses; a changed slug leaves a 301 redirect."""
    errors: dict[str, str] = {}
    creating = category is None
    name = values.name.strip()
    if not name:
        errors["name"] = "A category needs a name."
    elif len(name) > 120:
        errors["name"] = "Use at most 120 characters."
    if values.parent_id is not None:
        if db.session.get(Category, values.parent_id) is None:
            errors["parent_id"] = "That parent category does not exist."
        elif not creating and (values.parent_id == category.id or values.parent_id in descendant_ids(category.id)):
            errors["parent_id"] = "A category cannot sit inside itself or one of its own subcategories."
    wanted_slug = services.slugify(values.slug or name) if (values.slug or name) else ""
    if values.slug and wanted_slug:
        taken = select(Category.id).where(Category.slug == wanted_slug)
        if not creating:
            taken = taken.where(Category.id != category.id)
        if db.session.scalar(taken) is not None:
            errors["slug"] = f"Another category already uses the address “{wanted_slug}”."
    if errors:
        raise FormErrors(errors)

    before = None if creating else _category_facts(category)
    if creating:
        slug = services.unique_slug(Category, wanted_slug)
        category = Category(slug=slug)
        db.session.add(category)
    elif not values.slug:
        slug = category.slug  # a blank slug on edit keeps the address customers know
    else:
        slug = wanted_slug
    old_image = None if creating else category.image_path
    if not creating and slug != category.slug:
        # The core's one rule for old addresses (products use it too).
        services.remember_old_slug("category", category.slug, category.id)
    category.name = name
    category.slug = slug
    category.parent_id = values.parent_id
    category.description = values.description
    category.position = values.position
    category.active = values.active
    if values.image is not None:
        category.image_path = media.save_prepared(values.image).path
    elif values.remove_image:
        category.image_path = None
    db.session.flush()
    after = _category_facts(category)
    audit.record("catalog.category.created" if creating else "catalog.category.updated", actor=actor,
                 target_type="category", target_id=category.id, before=before, after=after)
    db.session.commit()
    if old_image and old_image != category.image_path:
        forget_image_if_unused(old_image)
    if before and any(before[k] != after[k] for k in ("name", "slug", "parent_id", "active")):
        # Search documents carry category names and paths.
        services.product_changed(_product_ids_in_subtree(category.id))
    return category


def delete_category(category: Category, actor=None) -> None:
    """Delete a category. Its products stay (they only leave it); its subcategories move
    up to its parent; redirects to its old slugs go."""
    category_id = category.id
    affected = _product_ids_in_subtree(category_id)
    image = category.image_path
    audit.record("catalog.category.deleted", actor=actor, target_type="category", target_id=category_id,
                 before=_category_facts(category))
    db.session.execute(update(Category).where(Category.parent_id == category_id)
                       .values(parent_id=category.parent_id))
    # Explicit, rather than relying on ON DELETE CASCADE, which SQLite only honours
    # with its foreign_keys pragma on.
    db.session.execute(delete(product_categories).where(product_categories.c.category_id == category_id))
    db.session.execute(delete(SlugRedirect).where(SlugRedirect.kind == "category",
                                                  SlugRedirect.target_id == category_id))
    db.session.execute(delete(Category).where(Category.id == category_id))
    db.session.commit()
    db.session.expire_all()
    if image:
        forget_image_if_unused(image)
    services.product_changed(affected)


def _category_facts(category: Category) -> dict:
    return {"name": category.name, "slug": category.slug, "parent_id": category.parent_id,
            "active": category.active, "position": category.position, "image": category.image_path}


def _product_ids_in_subtree(category_id: int) -> list[int]:
    ids = {category_id} | descendant_ids(category_id)
    return list(db.session.scalars(select(product_categories.c.product_id).distinct()
                                   .where(product_categories.c.category_id.in_(ids))))


# --- images --------------------------------------------------------------------------------


def image_in_use(path: str) -> bool:
    """Whether a product image or a category still shows ``path`` (keys are shared by
    identical uploads, see :mod:`storefront.media`)."""
    return bool(db.session.scalar(select(or_(exists().where(ProductImage.path == path),
                                             exists().where(Category.image_path == path)))))


def forget_image_if_unused(path: str) -> bool:
    """Delete the stored file and thumbnails once nothing shows them; True if deleted."""
    if image_in_use(path):
        return False
    media.delete_image(path)
    return True


# --- products --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantRow:
    """One validated variant row of the editor. ``stock`` None keeps the current stock
    (the merchant did not touch the field, so a sale meanwhile is not undone)."""

    row: int  # the form row, for error messages
    variant_id: int | None
    sku: str
    options: dict[str, str]
    price_minor: int
    compare_at_minor: int | None
    stock: int | None
    weight_grams: int
    active: bool
    position: int


@dataclass(frozen=True)
class ImageEdit:
    row: int
    image_id: int
    alt: str
    position: int
    remove: bool


@dataclass(frozen=True)
class NewImage:
    prepared: media.PreparedImage
    alt: str


@dataclass(frozen=True)
class ProductSubmission:
    """The validated product editor: ``product`` holds the values of
    :func:`storefront.catalog.services.save_product`."""

    product: dict
    variants: Sequence[VariantRow] = ()
    image_edits: Sequence[ImageEdit] = ()
    new_images: Sequence[NewImage] = field(default_factory=tuple)


def save_product_editor(submission: ProductSubmission, product: Product | None = None, actor=None) -> Product:
    """Save the product, its variants and its images as one change, in one transaction.

    Everything is checked first (categories exist, rows belong to this product, SKUs are
    free); on any problem :class:`FormErrors` is raised and nothing is written. Should
    the write still fail — another request took a SKU in between — the transaction is
    rolled back and the uploads it stored are forgotten: nothing of the change remains,
    a new product included.
    """
    _check_submission(submission, product)
    stored: list[str] = []
    try:
        product = services.save_product(submission.product, product, actor=actor, commit=False)
        removed_images = _save_variants_and_images(product, submission, actor, stored)
        services.commit_product(product, actor=actor)
    except BaseException:
        db.session.rollback()
        for path in stored:
            forget_image_if_unused(path)
        raise
    for path in removed_images:
        forget_image_if_unused(path)
    return product


def _check_submission(submission: ProductSubmission, product: Product | None) -> None:
    errors: dict[str, str] = {}
    category_ids = {int(i) for i in submission.product.get("category_ids", ())}
    if category_ids:
        found = set(db.session.scalars(select(Category.id).where(Category.id.in_(category_ids))))
        if category_ids - found:
            errors["category_ids"] = "One of the chosen categories no longer exists."
    own_variants = {v.id for v in product.variants} if product else set()
    own_images = {i.id for i in product.images} if product else set()
    # SKUs compare ignoring case, as MariaDB's unique index does, on every database.
    rows_by_sku: dict[str, int] = {}
    for row in submission.variants:
        if row.variant_id is not None and row.variant_id not in own_variants:
            errors[f"variants-{row.row}-sku"] = "That variant belongs to another product; reload the page."
        if services.fold(row.sku) in rows_by_sku:
            errors[f"variants-{row.row}-sku"] = f"The SKU {row.sku} is used twice in this form."
        rows_by_sku.setdefault(services.fold(row.sku), row.row)
    if rows_by_sku:
        wanted = [row.sku for row in submission.variants]
        clashes = db.session.execute(select(Variant.sku, Variant.product_id).where(services.same_sku(wanted))).all()
        typed = {services.fold(row.sku): row.sku for row in reversed(submission.variants)}
        for sku, owner in clashes:
            key = services.fold(sku)
            if (product is None or owner != product.id) and key in rows_by_sku:
                spelt = "" if typed[key] == sku else f" as {sku} (SKUs ignore case)"
                errors[f"variants-{rows_by_sku[key]}-sku"] = (
                    f"The SKU {typed[key]} is already used by another product{spelt}.")
    for edit in submission.image_edits:
        if edit.image_id not in own_images:
            errors[f"images-{edit.row}-alt"] = "That image belongs to another product; reload the page."
    if errors:
        raise FormErrors(errors)


def _save_variants_and_images(product: Product, submission: ProductSubmission, actor, stored: list[str]
                              ) -> list[str]:
    """Apply the variant rows and image edits in the current transaction; returns the
    image paths removed (to forget after the commit). Uploads written to storage are
    added to ``stored`` (to forget should the transaction not commit)."""
    variants = {v.id: v for v in product.variants}
    before = {v.sku: _variant_facts(v) for v in product.variants}
    for row in submission.variants:
        variant = variants.get(row.variant_id) if row.variant_id else None
        values = {"sku": row.sku, "options": row.options, "price_minor": row.price_minor,
                  "compare_at_minor": row.compare_at_minor, "weight_grams": row.weight_grams,
                  "active": row.active, "position": row.position,
                  "stock": variant.stock if (row.stock is None and variant) else (row.stock or 0)}
        try:
            services.save_variant(product, values, variant, actor=actor)
        except InvalidInput as error:  # a SKU taken since the check; the session is rolled back
            raise FormErrors({f"variants-{row.row}-sku": error.message}) from None
    images = {i.id: i for i in product.images}
    removed = []
    for edit in submission.image_edits:
        image = images[edit.image_id]
        if edit.remove:
            removed.append(image.path)
            product.images.remove(image)
        else:
            image.alt, image.position = edit.alt, edit.position
    next_position = max((i.position for i in product.images), default=-1) + 1
    for offset, new in enumerate(submission.new_images):
        saved = media.save_prepared(new.prepared)
        stored.append(saved.path)
        product.images.append(ProductImage(path=saved.path, alt=new.alt, position=next_position + offset,
                                           width=saved.width, height=saved.height))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FormErrors({"variants": "Another change to this product was saved meanwhile; reload the page."}) \
            from None
    after = {v.sku: _variant_facts(v) for v in product.variants}
    if before != after or removed or submission.new_images:
        audit.record("catalog.product.variants_images_saved", actor=actor, target_type="product",
                     target_id=product.id, before={"variants": before},
                     after={"variants": after, "images_removed": removed,
                            "images_added": [i.prepared.key for i in submission.new_images]})
    return removed


def _variant_facts(variant: Variant) -> dict:
    return {"price_minor": variant.price_minor, "compare_at_minor": variant.compare_at_minor,
            "stock": variant.stock, "active": variant.active, "options": dict(variant.options or {})}


def delete_product(product: Product, actor=None) -> None:
    """Delete a product (through the core service) and the images only it showed."""
    paths = [image.path for image in product.images]
    services.delete_product(product, actor=actor)
    for path in paths:
        forget_image_if_unused(path)


# --- product list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductListRow:
    product: Product
    price_from: Money
    variant_count: int
    stock: int
    image_path: str | None


def list_products(search: str = "", status: str = "", before_id: int | None = None,
                  limit: int = 50) -> tuple[list[ProductListRow], int | None]:
    """Newest first, optionally filtered by a title / SKU search and a status; keyset
    paginated on the id. Returns the rows and the ``before_id`` of the next page."""
    if status and status not in PRODUCT_STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(PRODUCT_STATUSES)}.")
    query = select(Product)
    if search:
        # LIKE ignores ASCII case on SQLite and under MariaDB's *_ci collations alike; the
        # SKU prefix match can use the unique index.
        pattern = _escape_like(search)
        query = query.where(or_(Product.title.like(f"%{pattern}%", escape="\\"),
                                Product.id.in_(select(Variant.product_id)
                                               .where(Variant.sku.like(f"{pattern}%", escape="\\")))))
    if status:
        query = query.where(Product.status == status)
    if before_id is not None:
        query = query.where(Product.id < before_id)
    products = db.session.scalars(query.order_by(Product.id.desc()).limit(limit + 1)).all()
    page, more = products[:limit], len(products) > limit
    ids = [p.id for p in page]
    totals = {pid: (count, stock) for pid, count, stock in db.session.execute(
        select(Variant.product_id, func.count(Variant.id), func.coalesce(func.sum(Variant.stock), 0))
        .where(Variant.product_id.in_(ids)).group_by(Variant.product_id))} if ids else {}
    first_images: dict[int, str] = {}
    if ids:
        for product_id, path in db.session.execute(select(ProductImage.product_id, ProductImage.path)
                                                   .where(ProductImage.product_id.in_(ids))
                                                   .order_by(ProductImage.position.desc(), ProductImage.id.desc())):
            first_images[product_id] = path  # the last one written wins: the first by position
    rows = [ProductListRow(p, Money(p.price_min_minor, p.currency), *totals.get(p.id, (0, 0)), first_images.get(p.id))
            for p in page]
    return rows, (page[-1].id if more else None)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def bulk_update(product_ids: Iterable[int], action: str, percent=None, actor=None) -> int:
    """Publish, archive or reprice the selected products (through the core services)."""
    ids = sorted({int(i) for i in product_ids})
    if not ids:
        raise InvalidInput("Select at least one product.")
    if action == "publish":
        return services.set_status(ids, "active", actor=actor)
    if action == "archive":
        return services.set_status(ids, "archived", actor=actor)
    if action == "draft":
        return services.set_status(ids, "draft", actor=actor)
    if action == "price":
        if percent is None:
            raise InvalidInput("Enter the price change in percent, for example 10 or -15.")
        return services.change_prices(ids, percent, actor=actor)
    raise InvalidInput("Choose publish, archive, draft or a price change.")


# --- stock ---------------------------------------------------------------------------------


def get_variant(variant_id: int) -> Variant:
    variant = db.session.get(Variant, variant_id, options=[joinedload(Variant.product)])
    if variant is None:
        raise NotFound("That variant does not exist.")
    return variant


def find_variant_by_sku(sku: str) -> Variant:
    variant = db.session.scalar(select(Variant).where(services.same_sku([sku.strip()])).limit(1))
    if variant is None:
        raise NotFound(f"No variant has the SKU “{sku.strip()}”.")
    return variant


def low_stock_variants(threshold: int, limit: int = 500) -> list[Variant]:
    """Active variants of products not archived with ``threshold`` units or fewer, the
    emptiest first."""
    return list(db.session.scalars(
        select(Variant).join(Variant.product).options(joinedload(Variant.product))
        .where(Variant.active == true(), Variant.stock <= threshold, Product.status != "archived")
        .order_by(Variant.stock, Variant.sku).limit(limit)))


@dataclass(frozen=True)
class MovementRow:
    movement: StockMovement
    by: str | None


def stock_movements(variant_id: int, limit: int = 200) -> list[MovementRow]:
    """The variant's stock changes, newest first, with who made them."""
    rows = db.session.execute(select(StockMovement, User.email).outerjoin(User, User.id == StockMovement.user_id)
                              .where(StockMovement.variant_id == variant_id)
                              .order_by(StockMovement.id.desc()).limit(limit)).all()
    return [MovementRow(movement, email) for movement, email in rows]


# --- reviews ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRow:
    review: Review
    product_title: str


def review_queue(status: str = "", page: int = 1, per_page: int = 50) -> tuple[list[ReviewRow], bool]:
    """Reviews with the pending ones first (oldest pending first: first come, first
    served), then the others newest first. Returns the page and whether more follow."""
    if status and status not in REVIEW_STATUSES:
        raise InvalidInput(f"Status must be one of {', '.join(REVIEW_STATUSES)}.")
    pending_first = case((Review.status == "pending", 0), else_=1)
    query = select(Review, Product.title).join(Product, Product.id == Review.product_id)
    if status:
        query = query.where(Review.status == status)
    query = query.order_by(pending_first,
                           case((Review.status == "pending", Review.id), else_=-Review.id))
    rows = db.session.execute(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    return [ReviewRow(review, title) for review, title in rows[:per_page]], len(rows) > per_page


__all__ = ["FormErrors", "CategoryValues", "CategoryNode", "get_category", "category_tree", "descendant_ids",
           "save_category", "delete_category", "image_in_use", "forget_image_if_unused", "VariantRow",
           "ImageEdit", "NewImage", "ProductSubmission", "save_product_editor", "delete_product",
           "ProductListRow", "list_products", "bulk_update", "get_variant", "find_variant_by_sku",
           "low_stock_variants", "MovementRow", "stock_movements", "ReviewRow", "review_queue"]
