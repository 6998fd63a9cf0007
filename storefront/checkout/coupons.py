"""Coupons: is this code usable for this cart and shopper, applying and removing it, and
counting a use when an order is placed — atomically.

Judging a coupon (:func:`check_coupon`) happens whenever totals are shown; a refusal
says exactly why (unknown, no longer valid, not yet valid, expired, used up, already used
by you, minimum not reached, nothing in the cart it applies to). :func:`redeem` runs
inside :func:`~storefront.checkout.services.place_order`'s transaction and is the only
place ``used_count`` changes:

* the coupon row is read ``FOR UPDATE`` (orders using one coupon queue up here), then
  this customer's earlier redemptions are counted with a locking read too (a plain read
  could see an old snapshot under MariaDB's REPEATABLE READ), so concurrent orders
  cannot exceed the per-customer limit;
* ``used_count`` goes up in one conditional ``UPDATE … WHERE usage_limit IS NULL OR
  used_count < usage_limit``; no row updated means the coupon is used up;
* a :class:`CouponRedemption` row records the use (one per order).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..cart.services import forget_checkout_token
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..money import Money, format_money
from .models import COUPON_KINDS, Coupon, CouponRedemption
from .pricing import eligible_flags

MAX_CODE_LENGTH = 64


class CouponRefused(InvalidInput):
    """That coupon cannot be used for this order."""

    code = "coupon_refused"


def normalise_code(code: object) -> str:
    return str(code or "").strip().upper()[:MAX_CODE_LENGTH + 1]


def _money(minor: int, currency: str) -> str:
    return format_money(Money(int(minor), currency), current_app.config["STORE_LOCALE"])


def _date(moment: datetime) -> str:
    return f"{moment.day} {moment.strftime('%B %Y')}"


def find_coupon(code: object) -> Coupon:
    """The coupon with this code (any case), or :class:`CouponRefused`."""
    wanted = normalise_code(code)
    if not wanted:
        raise CouponRefused("Enter a coupon code.")
    if len(wanted) > MAX_CODE_LENGTH:
        raise CouponRefused("That coupon code is too long.")
    coupon = db.session.scalar(select(Coupon).where(Coupon.code == wanted))
    if coupon is None:
        raise CouponRefused(f"We do not know the coupon code {wanted}. Please check the spelling.")
    return coupon


def customer_filter(user=None, email: str = ""):
    """Redemptions that count against this customer: their account's (and any placed
    with their e-mail); a guest's by e-mail. None when we cannot tell who it is yet."""
    email = (email or "").strip().lower()
    if user is not None and getattr(user, "is_authenticated", False):
        return or_(CouponRedemption.user_id == user.id, CouponRedemption.email == user.email.lower())
    if email:
        return CouponRedemption.email == email
    return None


def check_coupon(coupon: Coupon, cart, *, user=None, email: str = "", now: datetime | None = None) -> None:
    """Raise :class:`CouponRefused` with the reason when ``coupon`` cannot be used on ``cart``."""
    now = now or utcnow()
    code = coupon.code
    if not coupon.active:
        raise CouponRefused(f"The coupon {code} is no longer valid.")
    if coupon.starts_at is not None and now < coupon.starts_at:
        raise CouponRefused(f"The coupon {code} is valid from {_date(coupon.starts_at)}.")
    if coupon.ends_at is not None and now >= coupon.ends_at:
        raise CouponRefused(f"The coupon {code} expired on {_date(coupon.ends_at)}.")
    if coupon.kind != "percentage" and coupon.currency != cart.currency:
        raise CouponRefused(f"The coupon {code} cannot be used in {cart.currency}.")
    if coupon.usage_limit is not None and coupon.used_count >= coupon.usage_limit:
        raise CouponRefused(f"The coupon {code} has been used up.")
    if coupon.per_customer_limit is not None:
        who = customer_filter(user, email or cart.email)
        if who is not None:
            used = db.session.scalar(select(func.count(CouponRedemption.id))
                                     .where(CouponRedemption.coupon_id == coupon.id, who))
            if used >= coupon.per_customer_limit:
                raise CouponRefused(_used_by_you(coupon))
    lines = [line for line in cart.lines if line.variant is not None]
    subtotal = sum(int(line.variant.price_minor) * int(line.quantity) for line in lines)
    if coupon.min_subtotal_minor and subtotal < coupon.min_subtotal_minor:
        raise CouponRefused(f"The coupon {code} needs a subtotal of at least "
                            f"{_money(coupon.min_subtotal_minor, cart.currency)}; add "
                            f"{_money(coupon.min_subtotal_minor - subtotal, cart.currency)} more.")
    if coupon.kind != "free_shipping" and lines:
        if not any(eligible_flags(coupon, [line.variant.product_id for line in lines])):
            raise CouponRefused(f"The coupon {code} does not apply to anything in your cart.")


def _used_by_you(coupon: Coupon) -> str:
    if coupon.per_customer_limit == 1:
        return f"You have already used the coupon {coupon.code}."
    return f"You have already used the coupon {coupon.code} {coupon.per_customer_limit} times, the most allowed."


def apply_coupon(cart, code: object, *, user=None) -> Coupon:
    """Put a coupon on the cart after checking it; :class:`CouponRefused` otherwise."""
    if cart is None or not cart.lines:
        raise CouponRefused("Add something to your cart before using a coupon.")
    coupon = find_coupon(code)
    check_coupon(coupon, cart, user=user)
    cart.coupon_code = coupon.code
    cart.updated_at = utcnow()
    forget_checkout_token(cart)
    db.session.commit()
    return coupon


def remove_coupon(cart) -> None:
    if cart is None or not cart.coupon_code:
        return
    cart.coupon_code = None
    cart.updated_at = utcnow()
    forget_checkout_token(cart)
    db.session.commit()


def coupon_of(cart, *, user=None, commit: bool = True) -> tuple[Coupon | None, str | None]:
    """The cart's coupon if it still applies, else ``(None, why)`` — and the coupon is
    taken off the cart, so what the shopper reviews is what they will pay."""
    if cart is None or not cart.coupon_code:
        return None, None
    try:
        coupon = find_coupon(cart.coupon_code)
        check_coupon(coupon, cart, user=user)
    except CouponRefused as refusal:
        cart.coupon_code = None
        forget_checkout_token(cart)
        if commit:
            db.session.commit()
        return None, f"{refusal.message} It was removed from your cart."
    return coupon, None


def redeem(coupon_id: int, *, order, user=None, email: str, amount: Money) -> CouponRedemption:
    """Count one use of a coupon for ``order`` inside the caller's transaction (no commit).

    Raises :class:`CouponRefused` when the coupon became unusable meanwhile (used up,
    used by this customer in another order, switched off, expired); the caller rolls back.
    """
    coupon = db.session.scalar(select(Coupon).where(Coupon.id == coupon_id).with_for_update()
                               .execution_options(populate_existing=True))
    if coupon is None or not coupon.active:
        raise CouponRefused("That coupon is no longer valid.")
    now = utcnow()
    too_early = coupon.starts_at is not None and now < coupon.starts_at
    if too_early or (coupon.ends_at is not None and now >= coupon.ends_at):
        raise CouponRefused(f"The coupon {coupon.code} is not valid today.")
    if coupon.per_customer_limit is not None:
        who = customer_filter(user, email)
        if who is not None:
            earlier = db.session.scalars(select(CouponRedemption.id)
                                         .where(CouponRedemption.coupon_id == coupon.id, who)
                                         .with_for_update()).all()
            if len(earlier) >= coupon.per_customer_limit:
                raise CouponRefused(_used_by_you(coupon))
    counted = db.session.execute(
        update(Coupon).where(Coupon.id == coupon.id,
                             or_(Coupon.usage_limit.is_(None), Coupon.used_count < Coupon.usage_limit))
        .values(used_count=Coupon.used_count + 1).execution_options(synchronize_session=False))
    if counted.rowcount != 1:
        raise CouponRefused(f"The coupon {coupon.code} has been used up.")
    redemption = CouponRedemption(coupon_id=coupon.id, order_id=order.id,
                                  user_id=getattr(user, "id", None) if user is not None else None,
                                  email=(email or "").strip().lower()[:254], amount_minor=amount.minor,
                                  created_at=now)
    db.session.add(redemption)
    return redemption


# --- the back office ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CouponValues:
    """A coupon as the back-office form describes it (already parsed and typed)."""

    code: str
    kind: str
    #: percentage: basis points (1500 = 15 %); fixed: minor units; free_shipping: 0.
    value: int
    currency: str
    min_subtotal_minor: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    active: bool = True
    description: str = ""
    product_ids: tuple[int, ...] = ()
    category_ids: tuple[int, ...] = ()


def code_problem(code: str) -> str | None:
    """What is wrong with a new coupon code (None when it is fine)."""
    code = normalise_code(code)
    if not code:
        return "Enter a code."
    if len(code) > MAX_CODE_LENGTH or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in code):
        return f"Use at most {MAX_CODE_LENGTH} letters, digits, - or _."
    return None


def _check_values(values: CouponValues, coupon: Coupon | None) -> dict[str, str]:
    """Field → problem, for everything the form cannot know on its own."""
    problems: dict[str, str] = {}
    code = normalise_code(values.code)
    wrong = code_problem(code)
    if wrong:
        problems["code"] = wrong
    else:
        taken = db.session.scalar(select(Coupon.id).where(Coupon.code == code))
        if taken is not None and (coupon is None or taken != coupon.id):
            problems["code"] = f"The code {code} is already used by another coupon."
    if values.kind not in COUPON_KINDS:
        problems["kind"] = "Choose a kind of discount."
    elif values.kind == "percentage" and not 1 <= values.value <= 10000:
        problems["value"] = "A percentage must be more than 0 and at most 100."
    elif values.kind == "fixed" and values.value <= 0:
        problems["value"] = "A fixed discount must be more than zero."
    if values.starts_at and values.ends_at and values.ends_at <= values.starts_at:
        problems["ends_at"] = "The end must come after the start."
    for name in ("usage_limit", "per_customer_limit"):
        limit = getattr(values, name)
        if limit is not None and limit < 1:
            problems[name] = "A limit must be at least 1 (leave it empty for no limit)."
    if coupon is not None and values.usage_limit is not None and values.usage_limit < coupon.used_count:
        problems["usage_limit"] = f"It was used {coupon.used_count} times already; the limit cannot be lower."
    return problems


def _audit_view(coupon: Coupon) -> dict:
    return {"code": coupon.code, "kind": coupon.kind, "value": coupon.value, "active": coupon.active,
            "min_subtotal_minor": coupon.min_subtotal_minor, "usage_limit": coupon.usage_limit,
            "per_customer_limit": coupon.per_customer_limit,
            "starts_at": coupon.starts_at.isoformat() if coupon.starts_at else None,
            "ends_at": coupon.ends_at.isoformat() if coupon.ends_at else None,
            "products": sorted(p.id for p in coupon.products), "categories": sorted(c.id for c in coupon.categories)}


def save_coupon(values: CouponValues, coupon: Coupon | None = None, *, actor=None) -> Coupon:
    """Create or update a coupon (audit-logged). :class:`CouponInvalid` lists the problems."""
    from .. import audit
    from ..catalog.models import Category, Product

    problems = _check_values(values, coupon)
    if problems:
        raise CouponInvalid(problems)
    creating = coupon is None
    before = None if creating else _audit_view(coupon)
    if creating:
        coupon = Coupon(used_count=0, created_at=utcnow())
        db.session.add(coupon)
    coupon.code = normalise_code(values.code)
    coupon.kind = values.kind
    coupon.value = 0 if values.kind == "free_shipping" else int(values.value)
    coupon.currency = values.currency
    coupon.min_subtotal_minor = int(values.min_subtotal_minor or 0)
    coupon.starts_at, coupon.ends_at = values.starts_at, values.ends_at
    coupon.usage_limit, coupon.per_customer_limit = values.usage_limit, values.per_customer_limit
    coupon.active = bool(values.active)
    coupon.description = (values.description or "").strip()[:255]
    coupon.products = list(db.session.scalars(select(Product).where(Product.id.in_(values.product_ids)))) \
        if values.product_ids else []
    coupon.categories = list(db.session.scalars(select(Category).where(Category.id.in_(values.category_ids)))) \
        if values.category_ids else []
    db.session.flush()
    audit.record("admin.coupon.created" if creating else "admin.coupon.updated", actor=actor,
                 target_type="coupon", target_id=coupon.id, before=before, after=_audit_view(coupon))
    try:
        db.session.commit()
    except IntegrityError:  # the same code saved twice at once
        db.session.rollback()
        raise CouponInvalid({"code": f"The code {normalise_code(values.code)} is already used by another coupon."}) \
            from None
    return coupon


def set_coupon_active(coupon_id: int, active: bool, *, actor=None) -> Coupon:
    """Switch a coupon off (shoppers are told it is no longer valid) or on again."""
    from .. import audit

    coupon = get_coupon(coupon_id)
    before = coupon.active
    coupon.active = active
    audit.record("admin.coupon.activated" if active else "admin.coupon.deactivated", actor=actor,
                 target_type="coupon", target_id=coupon.id, before={"active": before}, after={"active": active})
    db.session.commit()
    return coupon


def get_coupon(coupon_id: int) -> Coupon:
    coupon = db.session.get(Coupon, coupon_id)
    if coupon is None:
        raise NotFound("That coupon does not exist.")
    return coupon


class CouponInvalid(InvalidInput):
    """The coupon form has problems (``problems``: field → message)."""

    code = "coupon_invalid"

    def __init__(self, problems: dict[str, str]):
        super().__init__(" ".join(problems.values()))
        self.problems = problems
