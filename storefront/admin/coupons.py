"""Back office: coupons — list, create, edit, switch off and on again.

The view parses the form into typed values (collecting every problem, field by field)
and calls one service of :mod:`storefront.checkout.coupons`, which checks the rest,
writes the audit log and commits. A refused form is shown again with its messages and a
400; nothing is written. Works without JavaScript.

Amounts are typed in the store's currency and locale ("5.00"); percentages as percent
("15" or "12.5", stored in basis points); dates and times are UTC.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.datastructures import MultiDict

from ..catalog.models import Product
from ..checkout import coupons
from ..checkout.models import COUPON_KINDS, Coupon
from ..extensions import db
from ..money import Money, MoneyParseError, format_money, parse_money
from . import bp
from .catalog_services import category_tree
from .guard import staff_required

PAGE_SIZE = 50
KIND_LABELS = {"percentage": "Percentage off", "fixed": "Fixed amount off", "free_shipping": "Free shipping"}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
#: Most products one coupon may name.
MAX_SCOPED_PRODUCTS = 200


def _locale() -> str:
    return current_app.config["STORE_LOCALE"]


def _currency() -> str:
    return current_app.config["STORE_CURRENCY"]


def describe(coupon: Coupon) -> str:
    """"15% off", "€5.00 off", "Free shipping" — for lists and the form's title."""
    if coupon.kind == "percentage":
        return f"{(Decimal(coupon.value) / 100).normalize():f}% off"
    if coupon.kind == "fixed":
        return f"{format_money(Money(coupon.value, coupon.currency), _locale())} off"
    return "Free shipping"


@dataclass
class CouponForm:
    """What the coupon form shows: the typed text (or the saved values) and errors."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, coupon: Coupon | None) -> CouponForm:
        if coupon is None:
            return cls({"code": "", "kind": "percentage", "value": "", "min_subtotal": "", "starts_at": "",
                        "ends_at": "", "usage_limit": "", "per_customer_limit": "", "active": True,
                        "description": "", "products": "", "category_ids": []})
        if coupon.kind == "percentage":
            value = f"{(Decimal(coupon.value) / 100).normalize():f}"
        elif coupon.kind == "fixed":
            value = format_money(Money(coupon.value, coupon.currency), _locale())
        else:
            value = ""
        return cls({
            "code": coupon.code, "kind": coupon.kind, "value": value,
            "min_subtotal": format_money(Money(coupon.min_subtotal_minor, coupon.currency), _locale())
            if coupon.min_subtotal_minor else "",
            "starts_at": coupon.starts_at.strftime(DATETIME_FORMAT) if coupon.starts_at else "",
            "ends_at": coupon.ends_at.strftime(DATETIME_FORMAT) if coupon.ends_at else "",
            "usage_limit": "" if coupon.usage_limit is None else str(coupon.usage_limit),
            "per_customer_limit": "" if coupon.per_customer_limit is None else str(coupon.per_customer_limit),
            "active": coupon.active, "description": coupon.description or "",
            "products": ", ".join(p.slug for p in coupon.products),
            "category_ids": [c.id for c in coupon.categories]})


def _limit(raw: str, name: str, errors: dict[str, str]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        errors[name] = "Enter a whole number, or leave it empty for no limit."
        return None
    return int(raw)


def _moment(raw: str, name: str, errors: dict[str, str]) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw[:16], DATETIME_FORMAT)
    except ValueError:
        errors[name] = "Enter a date and time like 2027-03-01T09:00."
        return None


def _products(raw: str, errors: dict[str, str]) -> tuple[int, ...]:
    """Product slugs or ids, separated by commas or spaces."""
    wanted = [part for part in raw.replace(",", " ").split() if part]
    if len(wanted) > MAX_SCOPED_PRODUCTS:
        errors["products"] = f"Name at most {MAX_SCOPED_PRODUCTS} products."
        return ()
    if not wanted:
        return ()
    ids = [int(part) for part in wanted if part.isdigit()]
    slugs = [part for part in wanted if not part.isdigit()]
    rows = db.session.execute(select(Product.id, Product.slug).where(
        or_(Product.id.in_(ids), Product.slug.in_(slugs)))).all()
    found_ids = {row.id for row in rows}
    found_slugs = {row.slug for row in rows}
    unknown = [part for part in wanted if (part.isdigit() and int(part) not in found_ids)
               or (not part.isdigit() and part not in found_slugs)]
    if unknown:
        errors["products"] = f"No product is called {', '.join(unknown[:5])}."
    return tuple(sorted(found_ids))


def parse_coupon_form(form: MultiDict) -> tuple[CouponForm, coupons.CouponValues | None]:
    shown = CouponForm({
        "code": form.get("code", "").strip().upper(), "kind": form.get("kind", ""),
        "value": form.get("value", "").strip(), "min_subtotal": form.get("min_subtotal", "").strip(),
        "starts_at": form.get("starts_at", "").strip(), "ends_at": form.get("ends_at", "").strip(),
        "usage_limit": form.get("usage_limit", "").strip(),
        "per_customer_limit": form.get("per_customer_limit", "").strip(), "active": "active" in form,
        "description": form.get("description", "").strip(), "products": form.get("products", "").strip(),
        "category_ids": [int(v) for v in form.getlist("category_ids") if v.isdigit()]})
    errors = shown.errors
    values = shown.values
    currency = _currency()
    wrong_code = coupons.code_problem(values["code"])
    if wrong_code:
        errors["code"] = wrong_code
    kind = values["kind"]
    amount = 0
    if kind not in COUPON_KINDS:
        errors["kind"] = "Choose a kind of discount."
    elif kind == "percentage":
        try:
            percent = Decimal(values["value"].rstrip("%").strip())
            basis_points = percent * 100
            if not percent.is_finite() or basis_points != basis_points.to_integral_value():
                raise InvalidOperation
            amount = int(basis_points)
        except InvalidOperation:
            errors["value"] = "Enter a percentage like 15 or 12.5."
    elif kind == "fixed":
        try:
            amount = parse_money(values["value"], currency, _locale()).minor
        except MoneyParseError as error:
            errors["value"] = str(error)
    min_subtotal = 0
    if values["min_subtotal"]:
        try:
            min_subtotal = parse_money(values["min_subtotal"], currency, _locale()).minor
        except MoneyParseError as error:
            errors["min_subtotal"] = str(error)
    starts_at = _moment(values["starts_at"], "starts_at", errors)
    ends_at = _moment(values["ends_at"], "ends_at", errors)
    usage_limit = _limit(values["usage_limit"], "usage_limit", errors)
    per_customer = _limit(values["per_customer_limit"], "per_customer_limit", errors)
    product_ids = _products(values["products"], errors)
    if len(values["description"]) > 255:
        errors["description"] = "Use at most 255 characters."
    if errors:
        return shown, None
    return shown, coupons.CouponValues(
        code=values["code"], kind=kind, value=amount, currency=currency, min_subtotal_minor=min_subtotal,
        starts_at=starts_at, ends_at=ends_at, usage_limit=usage_limit, per_customer_limit=per_customer,
        active=values["active"], description=values["description"], product_ids=product_ids,
        category_ids=tuple(values["category_ids"]))


# --- pages ----------------------------------------------------------------------------------------


@bp.get("/coupons")
@staff_required
def coupon_list():
    q = request.args.get("q", "").strip().upper()[:64]
    query = select(Coupon)
    if q:
        query = query.where(Coupon.code.like(f"%{q}%"))
    try:
        page = max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        page = 1
    rows = db.session.scalars(query.order_by(Coupon.active.desc(), Coupon.code)
                              .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/coupons.html", coupons=rows[:PAGE_SIZE], q=q, page=page,
                           has_next=len(rows) > PAGE_SIZE, describe=describe)


@bp.route("/coupons/new", methods=["GET", "POST"])
@staff_required
def new_coupon():
    return _coupon_editor(None)


@bp.route("/coupons/<int:coupon_id>", methods=["GET", "POST"])
@staff_required
def edit_coupon(coupon_id: int):
    return _coupon_editor(coupons.get_coupon(coupon_id))


def _coupon_editor(coupon: Coupon | None):
    if request.method == "GET":
        return _render_editor(coupon, CouponForm.of(coupon))
    shown, values = parse_coupon_form(request.form)
    if values is not None:
        try:
            saved = coupons.save_coupon(values, coupon, actor=current_user)
        except coupons.CouponInvalid as error:
            shown.errors.update(error.problems)
        else:
            flash(f"Coupon {saved.code} saved.", "success")
            return redirect(url_for("admin.coupon_list"))
    return _render_editor(coupon, shown), 400


def _render_editor(coupon: Coupon | None, shown: CouponForm):
    return render_template("admin/coupons_form.html", coupon=coupon, form=shown.values, errors=shown.errors,
                           kinds=KIND_LABELS, categories=category_tree(), currency=_currency(),
                           describe=describe)


@bp.post("/coupons/<int:coupon_id>/active")
@staff_required
def set_coupon_active(coupon_id: int):
    active = request.form.get("active") == "1"
    coupon = coupons.set_coupon_active(coupon_id, active, actor=current_user)
    flash(f"Coupon {coupon.code} is {'active again' if active else 'switched off'}.", "success")
    return redirect(url_for("admin.coupon_list"))
