"""Back office: categories, products (with variants, images and stock in one editor),
bulk actions, stock adjustments and history, the low-stock list and review moderation.

Views parse the submitted form into typed values — collecting every problem, field by
field — and call one service of :mod:`storefront.admin.catalog_services` (which calls the
core catalog services). A refused form is shown again with its messages and a 400;
nothing is written. Successful posts redirect (post/redirect/get). Every page works
without JavaScript.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import FileStorage, MultiDict

from .. import media
from ..catalog import services
from ..catalog.models import PRODUCT_STATUSES, REVIEW_STATUSES, Category, Product
from ..errors import InvalidInput, StorefrontError
from ..money import Money, MoneyParseError, format_money, parse_money
from . import bp
from . import catalog_services as catalog
from .guard import staff_required

#: Products per page of the product list.
PRODUCTS_PER_PAGE = 50
#: Empty variant rows the editor offers for new variants (save to get more).
BLANK_VARIANT_ROWS = 2
#: Names of repeated rows in the editor: ``variants-<row>-<field>``, ``images-<row>-<field>``.
FORM_ROW = re.compile(r"^(variants|images)-(\d+)-")


def _locale() -> str:
    return current_app.config["STORE_LOCALE"]


def _whole_number(raw: str, *, label: str, minimum: int | None = 0, blank: int | None = None) -> int:
    """``raw`` as an int, or :class:`InvalidInput` with a message naming ``label``."""
    raw = (raw or "").strip()
    if not raw and blank is not None:
        return blank
    try:
        number = int(raw)
    except ValueError:
        raise InvalidInput(f"{label} must be a whole number.") from None
    if minimum is not None and number < minimum:
        raise InvalidInput(f"{label} cannot be below {minimum}." if minimum else f"{label} cannot be negative.")
    if abs(number) > 2_000_000_000:
        raise InvalidInput(f"{label} is too large.")
    return number


def _page() -> int:
    return _whole_number(request.args.get("page", "1"), label="The page", minimum=1)


# --- categories ------------------------------------------------------------------------------


@dataclass
class CategoryForm:
    """What the category form shows: the typed text (or the saved values) and errors."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, category: Category | None) -> CategoryForm:
        if category is None:
            return cls({"name": "", "slug": "", "parent_id": "", "description": "", "position": "0",
                        "active": True, "remove_image": False})
        return cls({"name": category.name, "slug": category.slug, "parent_id": str(category.parent_id or ""),
                    "description": category.description or "", "position": str(category.position),
                    "active": category.active, "remove_image": False})


def parse_category_form(form: MultiDict, files: MultiDict) -> tuple[CategoryForm, catalog.CategoryValues | None]:
    shown = CategoryForm({"name": form.get("name", "").strip(), "slug": form.get("slug", "").strip(),
                          "parent_id": form.get("parent_id", ""), "description": form.get("description", ""),
                          "position": form.get("position", "0"), "active": "active" in form,
                          "remove_image": "remove_image" in form})
    errors = shown.errors
    parent_id = None
    if shown.values["parent_id"]:
        try:
            parent_id = int(shown.values["parent_id"])
        except ValueError:
            errors["parent_id"] = "Choose a parent category from the list."
    try:
        position = _whole_number(shown.values["position"], label="Position", minimum=None, blank=0)
    except InvalidInput as error:
        errors["position"] = error.message
        position = 0
    if len(shown.values["slug"]) > 120:
        errors["slug"] = "Use at most 120 characters."
    image = None
    upload: FileStorage | None = files.get("image")
    if upload is not None and upload.filename:
        try:
            image = media.prepare_image(upload.stream, filename=upload.filename)
        except media.MediaError as error:
            errors["image"] = error.message
    if errors:
        return shown, None
    return shown, catalog.CategoryValues(
        name=shown.values["name"], slug=shown.values["slug"], parent_id=parent_id,
        description=shown.values["description"], position=position, active=shown.values["active"],
        image=image, remove_image=shown.values["remove_image"])


@bp.get("/categories")
@staff_required
def categories():
    return render_template("admin/catalog_categories.html", tree=catalog.category_tree())


@bp.route("/categories/new", methods=["GET", "POST"])
@staff_required
def new_category():
    return _category_editor(None)


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@staff_required
def edit_category(category_id: int):
    return _category_editor(catalog.get_category(category_id))


def _category_editor(category: Category | None):
    if request.method == "GET":
        return _render_category_editor(category, CategoryForm.of(category))
    shown, values = parse_category_form(request.form, request.files)
    if values is not None:
        try:
            saved = catalog.save_category(values, category, actor=current_user)
        except catalog.FormErrors as error:
            shown.errors.update(error.errors)
        else:
            flash(f"Category “{saved.name}” saved.", "success")
            return redirect(url_for("admin.categories"))
    return _render_category_editor(category, shown), 400


def _render_category_editor(category: Category | None, shown: CategoryForm):
    excluded = set() if category is None else {category.id} | catalog.descendant_ids(category.id)
    parents = [node for node in catalog.category_tree() if node.category.id not in excluded]
    return render_template("admin/catalog_category_form.html", category=category, form=shown.values,
                           errors=shown.errors, parents=parents)


@bp.post("/categories/<int:category_id>/delete")
@staff_required
def delete_category(category_id: int):
    category = catalog.get_category(category_id)
    name = category.name
    catalog.delete_category(category, actor=current_user)
    flash(f"Category “{name}” deleted; its products stay in the catalog.", "success")
    return redirect(url_for("admin.categories"))


# --- product list and bulk actions -------------------------------------------------------------


@bp.get("/products")
@staff_required
def products():
    return _product_list(request.args.get("q", ""), request.args.get("status", ""), request.args.get("before", ""))


def _product_list(search: str, status: str, before_raw: str, refused: str | None = None):
    """The product list; ``refused`` is the message of a bulk action that was not done (400)."""
    search = search.strip()[:100]
    try:
        before = _whole_number(before_raw, label="The page marker", minimum=1) if before_raw else None
        rows, next_before = catalog.list_products(search, status, before, limit=PRODUCTS_PER_PAGE)
    except InvalidInput as error:
        refused, rows, next_before, before, status = error.message, [], None, None, ""
    if refused:
        flash(refused, "error")
    page = render_template("admin/catalog_products.html", rows=rows, q=search, status=status,
                           statuses=PRODUCT_STATUSES, next_before=next_before, paged=before is not None)
    return page, 400 if refused else 200


@bp.post("/products/bulk")
@staff_required
def bulk_products():
    search, status = request.form.get("q", ""), request.form.get("status", "")
    action = request.form.get("action", "")
    try:
        ids = [_whole_number(raw, label="A selected product", minimum=1)
               for raw in request.form.getlist("product_id")]
        percent = _percent(request.form.get("percent", "")) if action == "price" else None
        changed = catalog.bulk_update(ids, action, percent, actor=current_user)
    except InvalidInput as error:
        return _product_list(search, status, "", refused=error.message)
    flash(_bulk_message(action, changed, percent), "success")
    return redirect(url_for("admin.products", q=search or None, status=status or None))


def _percent(raw: str) -> Decimal:
    text = raw.strip().rstrip("%").strip().replace(",", ".")
    try:
        percent = Decimal(text)
    except InvalidOperation:
        raise InvalidInput("Enter the price change in percent, for example 10 or -15.") from None
    if not percent.is_finite() or percent == 0 or percent.as_tuple().exponent < -2:
        raise InvalidInput("Enter a non-zero percentage with at most two decimals, for example 10 or -12.5.")
    return percent


def _bulk_message(action: str, changed: int, percent: Decimal | None) -> str:
    if action == "price":
        return f"Changed {changed} variant price{'s' if changed != 1 else ''} by {percent:+}%."
    state = {"publish": "published", "archive": "archived", "draft": "set to draft"}[action]
    return f"{changed} product{'s' if changed != 1 else ''} {state}."


# --- product editor --------------------------------------------------------------------------


@dataclass
class ProductForm:
    """What the editor shows: product fields, variant rows and image rows as text, the
    chosen categories, and the errors by field name."""

    values: dict[str, Any]
    variants: list[dict[str, Any]]
    images: list[dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, product: Product | None, locale: str) -> ProductForm:
        if product is None:
            values = {"title": "", "slug": "", "description": "", "status": "draft", "brand": "",
                      "seo_title": "", "seo_description": "", "featured": False, "category_ids": set(),
                      "attributes": ""}
            return cls(values, _blank_variant_rows(0), [])
        own = [a for a in product.attributes if not a.from_variant]
        values = {"title": product.title, "slug": product.slug, "description": product.description or "",
                  "status": product.status, "brand": product.brand or "", "seo_title": product.seo_title or "",
                  "seo_description": product.seo_description or "", "featured": product.featured,
                  "category_ids": {c.id for c in product.categories},
                  "attributes": "\n".join(f"{a.name}: {a.value}" for a in sorted(own, key=lambda a: (a.name, a.id)))}
        variants = [{"row": row, "id": str(v.id), "sku": v.sku,
                     "options": ", ".join(f"{k}={val}" for k, val in (v.options or {}).items()),
                     "price": format_money(Money(v.price_minor, v.currency), locale),
                     "compare_at": (format_money(Money(v.compare_at_minor, v.currency), locale)
                                    if v.compare_at_minor is not None else ""),
                     "stock": str(v.stock), "stock_was": str(v.stock), "weight": str(v.weight_grams or 0),
                     "active": v.active}
                    for row, v in enumerate(product.variants)]
        images = [{"row": row, "id": str(i.id), "path": i.path, "alt": i.alt, "position": str(i.position),
                   "remove": False} for row, i in enumerate(product.images)]
        return cls(values, variants + _blank_variant_rows(len(variants)), images)


def _blank_variant_rows(start: int) -> list[dict[str, Any]]:
    return [{"row": row, "id": "", "sku": "", "options": "", "price": "", "compare_at": "", "stock": "0",
             "stock_was": "", "weight": "", "active": True} for row in range(start, start + BLANK_VARIANT_ROWS)]


@dataclass
class ParsedProduct:
    shown: ProductForm
    submission: catalog.ProductSubmission | None


def parse_product_form(form: MultiDict, files: MultiDict, product: Product | None, currency: str,
                       locale: str) -> ParsedProduct:
    """Read the whole editor; every problem is reported against its field."""
    errors: dict[str, str] = {}
    values = {key: form.get(key, "").strip() for key in
              ("title", "slug", "status", "brand", "seo_title", "seo_description", "attributes")}
    values["description"] = form.get("description", "")
    values["featured"] = "featured" in form
    for key, label, limit in (("title", "Title", 255), ("slug", "Address (slug)", 120), ("brand", "Brand", 120),
                              ("seo_title", "SEO title", 255), ("seo_description", "SEO description", 320)):
        if len(values[key]) > limit:
            errors[key] = f"{label}: use at most {limit} characters."
    if not values["title"]:
        errors["title"] = "A product needs a title."
    if values["status"] not in PRODUCT_STATUSES:
        errors["status"] = f"Status must be one of {', '.join(PRODUCT_STATUSES)}."
    category_ids: set[int] = set()
    for raw in form.getlist("category_ids"):
        try:
            category_ids.add(int(raw))
        except ValueError:
            errors["category_ids"] = "Choose categories from the list."
    values["category_ids"] = category_ids
    attributes = _parse_attributes(values["attributes"], errors)

    variant_rows, variants_shown = _parse_variant_rows(form, currency, locale, errors)
    image_edits, images_shown = _parse_image_rows(form, product, errors)
    new_images: list[catalog.NewImage] = []
    alt = form.get("new_images_alt", "").strip()[:255] or values["title"][:255]
    for upload in files.getlist("new_images"):
        if not upload.filename:
            continue  # the empty part a browser sends when no file was chosen
        try:
            new_images.append(catalog.NewImage(media.prepare_image(upload.stream, filename=upload.filename), alt))
        except media.MediaError as error:
            errors["new_images"] = f"{upload.filename}: {error.message}"
    shown = ProductForm(values, variants_shown, images_shown, errors)
    if errors:
        return ParsedProduct(shown, None)
    product_values = {key: values[key] for key in
                      ("title", "slug", "description", "status", "brand", "seo_title", "seo_description",
                       "featured")}
    product_values.update(category_ids=sorted(category_ids), attributes=attributes, currency=currency)
    return ParsedProduct(shown, catalog.ProductSubmission(product_values, variant_rows, image_edits, new_images))


def _parse_attributes(text: str, errors: dict[str, str]) -> dict[str, list[str]]:
    """``name: value`` per line (repeat a name for several values)."""
    attributes: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or not value.strip():
            errors["attributes"] = f"Line {number}: write each attribute as “name: value”."
            continue
        if len(name.strip()) > 60 or len(value.strip()) > 120:
            errors["attributes"] = f"Line {number}: names have at most 60 characters, values 120."
            continue
        attributes.setdefault(name.strip(), []).append(value.strip())
    return attributes


def _rows(form: MultiDict, kind: str) -> list[int]:
    return sorted({int(match.group(2)) for key in form
                   if (match := FORM_ROW.match(key)) and match.group(1) == kind})


def _parse_variant_rows(form: MultiDict, currency: str, locale: str,
                        errors: dict[str, str]) -> tuple[list[catalog.VariantRow], list[dict[str, Any]]]:
    parsed: list[catalog.VariantRow] = []
    shown: list[dict[str, Any]] = []
    for position, row in enumerate(_rows(form, "variants")):
        def text(name: str) -> str:
            return form.get(f"variants-{row}-{name}", "").strip()

        def refuse(name: str, message: str) -> None:
            errors[f"variants-{row}-{name}"] = message

        raw = {"row": row, "id": text("id"), "sku": text("sku"), "options": text("options"),
               "price": text("price"), "compare_at": text("compare_at"), "stock": text("stock"),
               "stock_was": text("stock_was"), "weight": text("weight"), "active": f"variants-{row}-active" in form}
        shown.append(raw)
        if not raw["id"] and not any(raw[k] for k in ("sku", "options", "price", "compare_at", "weight")):
            continue  # an unused blank row
        variant_id = None
        if raw["id"]:
            try:
                variant_id = int(raw["id"])
            except ValueError:
                refuse("sku", "This row is damaged; reload the page.")
        if not raw["sku"]:
            refuse("sku", "Every variant needs a SKU.")
        elif len(raw["sku"]) > 64:
            refuse("sku", "A SKU has at most 64 characters.")
        options = _parse_options(raw["options"], lambda message: refuse("options", message))
        price = compare_at = None
        try:
            price = parse_money(raw["price"], currency, locale).minor
        except MoneyParseError as error:
            refuse("price", str(error))
        if raw["compare_at"]:
            try:
                compare_at = parse_money(raw["compare_at"], currency, locale).minor
            except MoneyParseError as error:
                refuse("compare_at", str(error))
        stock = weight = 0
        try:
            stock = _whole_number(raw["stock"], label="Stock", blank=0)
        except InvalidInput as error:
            refuse("stock", error.message)
        try:
            weight = _whole_number(raw["weight"], label="Weight", blank=0)
        except InvalidInput as error:
            refuse("weight", error.message)
        # Untouched stock of an existing variant stays as it is now, so sales made while
        # the form was open are not undone.
        unchanged = variant_id is not None and raw["stock"] == raw["stock_was"]
        if not any(key.startswith(f"variants-{row}-") for key in errors) and price is not None:
            parsed.append(catalog.VariantRow(row=row, variant_id=variant_id, sku=raw["sku"], options=options,
                                             price_minor=price, compare_at_minor=compare_at,
                                             stock=None if unchanged else stock, weight_grams=weight,
                                             active=raw["active"], position=position))
    return parsed, shown


def _parse_options(text: str, refuse) -> dict[str, str]:
    """``size=M, colour=Red`` → ``{"size": "M", "colour": "Red"}``."""
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, equals, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not equals or not name or not value:
            refuse("Write options as name=value, separated by commas, for example “size=M, colour=Red”.")
            return {}
        if name in options:
            refuse(f"The option “{name}” is given twice.")
            return {}
        if len(name) > 60 or len(value) > 120:
            refuse("Option names have at most 60 characters, values 120.")
            return {}
        options[name] = value
    return options


def _parse_image_rows(form: MultiDict, product: Product | None,
                      errors: dict[str, str]) -> tuple[list[catalog.ImageEdit], list[dict[str, Any]]]:
    paths = {str(i.id): i.path for i in product.images} if product else {}
    edits: list[catalog.ImageEdit] = []
    shown: list[dict[str, Any]] = []
    for row in _rows(form, "images"):
        raw = {"row": row, "id": form.get(f"images-{row}-id", "").strip(),
               "alt": form.get(f"images-{row}-alt", "").strip(),
               "position": form.get(f"images-{row}-position", "").strip(),
               "remove": f"images-{row}-remove" in form}
        raw["path"] = paths.get(raw["id"], "")
        shown.append(raw)
        if raw["id"] not in paths:
            errors[f"images-{row}-alt"] = "This image is no longer part of the product; reload the page."
            continue
        if len(raw["alt"]) > 255:
            errors[f"images-{row}-alt"] = "Alt text has at most 255 characters."
            continue
        try:
            position = _whole_number(raw["position"], label="Position", minimum=None, blank=0)
        except InvalidInput as error:
            errors[f"images-{row}-position"] = error.message
            continue
        edits.append(catalog.ImageEdit(row=row, image_id=int(raw["id"]), alt=raw["alt"], position=position,
                                       remove=raw["remove"]))
    return edits, shown


@bp.route("/products/new", methods=["GET", "POST"])
@staff_required
def new_product():
    return _product_editor(None)


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@staff_required
def edit_product(product_id: int):
    return _product_editor(services.get_product(product_id))


def _product_editor(product: Product | None):
    locale = _locale()
    if request.method == "GET":
        return _render_product_editor(product, ProductForm.of(product, locale))
    currency = product.currency if product else current_app.config["STORE_CURRENCY"]
    parsed = parse_product_form(request.form, request.files, product, currency, locale)
    if parsed.submission is not None:
        try:
            saved = catalog.save_product_editor(parsed.submission, product, actor=current_user)
        except catalog.FormErrors as error:
            parsed.shown.errors.update(error.errors)
        else:
            flash(f"“{saved.title}” saved.", "success")
            return redirect(url_for("admin.edit_product", product_id=saved.id))
    if any(upload.filename for upload in request.files.getlist("new_images")):
        parsed.shown.errors.setdefault(
            "new_images", "Choose your new images again: uploads are not kept while the form has errors.")
    rows = parsed.shown.variants
    start = max((r["row"] for r in rows), default=-1) + 1
    if not any(not r["id"] and not r["sku"] for r in rows):
        parsed.shown.variants = rows + _blank_variant_rows(start)
    return _render_product_editor(product, parsed.shown), 400


def _render_product_editor(product: Product | None, shown: ProductForm):
    return render_template("admin/catalog_product_form.html", product=product, form=shown.values,
                           variants=shown.variants, images=shown.images, errors=shown.errors,
                           statuses=PRODUCT_STATUSES, tree=catalog.category_tree(),
                           currency=product.currency if product else current_app.config["STORE_CURRENCY"])


@bp.post("/products/<int:product_id>/delete")
@staff_required
def delete_product(product_id: int):
    product = services.get_product(product_id)
    if request.form.get("confirm") != "yes":
        flash("Tick “Yes, delete this product” to delete it.", "error")
        return redirect(url_for("admin.edit_product", product_id=product_id))
    title = product.title
    catalog.delete_product(product, actor=current_user)
    flash(f"“{title}” deleted.", "success")
    return redirect(url_for("admin.products"))


# --- stock -------------------------------------------------------------------------------------


@bp.get("/stock")
@staff_required
def stock():
    sku = request.args.get("sku", "").strip()[:64]
    if sku:
        try:
            variant = catalog.find_variant_by_sku(sku)
        except StorefrontError as error:
            flash(error.message, "error")
        else:
            return redirect(url_for("admin.variant_stock", variant_id=variant.id))
    threshold = int(current_app.config["LOW_STOCK_THRESHOLD"])
    return render_template("admin/catalog_stock.html", variants=catalog.low_stock_variants(threshold),
                           threshold=threshold, sku=sku), (404 if sku else 200)


@bp.get("/stock/variants/<int:variant_id>")
@staff_required
def variant_stock(variant_id: int):
    return _render_variant_stock(catalog.get_variant(variant_id), {"delta": "", "reason": "restock", "note": ""})


@bp.post("/stock/variants/<int:variant_id>")
@staff_required
def adjust_variant_stock(variant_id: int):
    variant = catalog.get_variant(variant_id)
    typed = {key: request.form.get(key, "").strip() for key in ("delta", "reason", "note")}
    errors: dict[str, str] = {}
    try:
        delta = _whole_number(typed["delta"], label="The change", minimum=None)
        if delta == 0:
            raise InvalidInput("Enter how many units to add (for example 12) or remove (for example -3).")
    except InvalidInput as error:
        errors["delta"] = error.message
    if typed["reason"] not in services.STOCK_REASONS:
        errors["reason"] = "Choose a reason from the list."
    if len(typed["note"]) > 255:
        errors["note"] = "A note has at most 255 characters."
    if not errors:
        try:
            now = services.adjust_stock(variant.id, delta, typed["reason"], typed["note"], actor=current_user)
        except services.OutOfStock:
            errors["delta"] = f"Stock cannot go below zero: there are {variant.stock} units."
        else:
            flash(f"Stock of {variant.sku} is now {now}.", "success")
            return redirect(url_for("admin.variant_stock", variant_id=variant.id))
    return _render_variant_stock(catalog.get_variant(variant_id), typed, errors), 400


def _render_variant_stock(variant, typed: dict[str, str], errors: dict[str, str] | None = None):
    return render_template("admin/catalog_variant_stock.html", variant=variant, typed=typed, errors=errors or {},
                           reasons=services.STOCK_REASONS, movements=catalog.stock_movements(variant.id))


# --- reviews -------------------------------------------------------------------------------------


@bp.get("/reviews")
@staff_required
def reviews():
    status = request.args.get("status", "")
    page = _page()
    rows, has_next = catalog.review_queue(status, page)
    return render_template("admin/catalog_reviews.html", rows=rows, status=status, statuses=REVIEW_STATUSES,
                           page=page, has_next=has_next)


@bp.post("/reviews/<int:review_id>")
@staff_required
def moderate_review(review_id: int):
    decision = request.form.get("decision", "")
    review = services.moderate_review(review_id, decision, actor=current_user)
    flash(f"Review {'approved' if review.status == 'approved' else 'rejected'}.", "success")
    return redirect(url_for("admin.reviews", status=request.form.get("status") or None,
                            page=request.form.get("page") or None))
