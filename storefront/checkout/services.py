"""Checkout: the steps' choices stored on the cart, and placing the order — exactly once.

The cart *is* the checkout until an order is placed from it: the contact e-mail, the
shipping address (a snapshot), the shipping quote id, the payment gateway id and the
coupon code live on it. :func:`checkout_state` re-checks all of them against the
catalog, the coupon rules, the shipping plugins and the gateways every time a step is
shown, fixes what no longer holds and says so (``notices``).

:func:`place_order` trusts nothing it did not just compute: prices come from the
variants now, shipping is re-quoted and matched by id, the gateway must still be
available, plugins may veto (``storefront_validate_checkout``), stock is decremented
atomically (never below zero) and the coupon use counted atomically — all in one
transaction, keyed by the one-time checkout token the review page carried, which is
UNIQUE on the order: a double submit, the back button, a retry or twenty concurrent
posts all end at the same single order.
"""
from __future__ import annotations

import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from ..auth import addresses
from ..auth.services import check_email
from ..cart.models import Cart
from ..cart.services import Notice, empty_cart, forget_checkout_token, revalidate, variant_label
from ..catalog.models import Variant
from ..catalog.services import OutOfStock, adjust_stock
from ..clock import utcnow
from ..errors import InvalidInput, StorefrontError
from ..extensions import db
from ..money import format_money
from ..plugins.manager import collect, notify
from ..plugins.types import Address, CheckoutSnapshot, Line, ShippingQuote
from .coupons import CouponRefused, coupon_of, redeem
from .models import Coupon
from .pricing import Totals, price_cart
from .shipping import destination_of, find_quote, quotes_for

log = logging.getLogger(__name__)

#: The checkout's steps, in order ("cart" comes before them, "place" after).
STEPS = ("contact", "address", "shipping", "payment", "review")
STEP_LABELS = {"contact": "Contact", "address": "Address", "shipping": "Shipping", "payment": "Payment",
               "review": "Review"}
#: Attempts of the order transaction when the database reports a deadlock or lock timeout.
PLACE_ATTEMPTS = 4
#: MariaDB: 1213 deadlock, 1205 lock wait timeout. SQLite says "database is locked".
RETRYABLE_ERRORS = (1213, 1205)


class CheckoutProblem(StorefrontError):
    """The order cannot be placed as it is; ``messages`` say why, ``step`` where to fix it."""

    status = 409
    code = "checkout_problem"

    def __init__(self, messages: list[str] | str, step: str = "review"):
        messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__(" ".join(messages))
        self.messages = messages
        self.step = step


class UnknownGateway(InvalidInput):
    """That payment method is not available for this order."""

    code = "unknown_gateway"


@dataclass
class CheckoutState:
    """Everything a checkout page shows, checked and priced now."""

    cart: Cart
    email: str
    totals: Totals
    coupon: Coupon | None
    destination: Address | None
    quotes: list[ShippingQuote] = field(default_factory=list)
    quote: ShippingQuote | None = None
    gateways: list = field(default_factory=list)
    gateway: object | None = None
    #: What changed since the shopper last looked (shown as flash messages).
    notices: list[str] = field(default_factory=list)

    @property
    def next_step(self) -> str:
        """The first step still to do ("cart" when the cart is empty)."""
        if not self.cart.lines:
            return "cart"
        if not self.email:
            return "contact"
        if self.destination is None:
            return "address"
        if self.quote is None:
            return "shipping"
        if self.gateway is None:
            return "payment"
        return "review"

    def reached(self, step: str) -> bool:
        """May the shopper see ``step`` (every step before it is done)?"""
        if self.next_step == "cart":
            return False
        return STEPS.index(step) <= STEPS.index(self.next_step)

    def snapshot(self) -> CheckoutSnapshot:
        lines = tuple(Line(line.sku, line.quantity, line.unit_price, line.weight_grams, line.product_id)
                      for line in self.totals.lines)
        return CheckoutSnapshot(lines=lines, destination=self.destination, subtotal=self.totals.subtotal,
                                email=self.email, shipping_quote_id=self.quote.id if self.quote else None,
                                payment_gateway_id=getattr(self.gateway, "id", None))


def _is_signed_in(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def checkout_state(cart: Cart, user=None, *, with_gateways: bool = True, commit: bool = True) -> CheckoutState:
    """Re-validate and price ``cart`` for the checkout pages.

    Fixes what no longer holds — lines (see :func:`~storefront.cart.services.revalidate`),
    a coupon that stopped applying, a shipping quote no longer offered, a gateway no
    longer available — and lists each change in ``notices``. ``with_gateways`` asks the
    gateways too (the payment and review steps); the total must be known for that.
    """
    from ..payments.services import available_gateways

    notices = [notice.message for notice in revalidate(cart, commit=False)]
    email = user.email if _is_signed_in(user) else (cart.email or "")
    coupon, refused = coupon_of(cart, user=user, commit=False)
    if refused:
        notices.append(refused)
    destination = destination_of(cart.shipping_address)
    quotes: list[ShippingQuote] = []
    quote = None
    if destination is not None and cart.lines:
        quotes = quotes_for(price_cart(cart, coupon=coupon), destination)
        quote = find_quote(quotes, cart.shipping_quote_id)
        if cart.shipping_quote_id and quote is None:
            notices.append("The shipping method you chose is no longer offered for this order. "
                           "Please choose another.")
            cart.shipping_quote_id = None
            forget_checkout_token(cart)
    totals = price_cart(cart, shipping_quote=quote, coupon=coupon, destination=destination)
    gateways: list = []
    gateway = None
    if with_gateways and destination is not None and quote is not None:
        gateways = available_gateways(totals.total, destination.country)
        gateway = next((g for g in gateways if g.id == cart.payment_gateway_id), None)
        if cart.payment_gateway_id and gateway is None:
            notices.append("The payment method you chose is not available for this order. Please choose another.")
            cart.payment_gateway_id = None
            forget_checkout_token(cart)
    elif not with_gateways and cart.payment_gateway_id:
        gateway = _ChosenGateway(cart.payment_gateway_id)
    if commit:
        db.session.commit()
    return CheckoutState(cart=cart, email=email, totals=totals, coupon=coupon, destination=destination,
                         quotes=quotes, quote=quote, gateways=gateways, gateway=gateway, notices=notices)


@dataclass(frozen=True)
class _ChosenGateway:
    """A stored gateway choice not re-checked on this page (it is on payment and review)."""

    id: str

    @property
    def name(self) -> str:
        return self.id


# --- the steps ----------------------------------------------------------------------------------------


def set_contact(cart: Cart, email: str) -> None:
    """Contact step for guests: the e-mail address the order confirmation goes to."""
    cart.email = check_email(email)
    cart.updated_at = utcnow()
    forget_checkout_token(cart)
    db.session.commit()


def address_problems(values: dict) -> dict[str, str]:
    """Field → message for the per-country required fields (the account address rules)."""
    country = (values.get("country") or "").upper()
    return {name: f"{addresses.FIELD_LABELS.get(name, name)} is required for addresses in {country}."
            for name in addresses.missing_fields({**values, "country": country})}


def set_address(cart: Cart, values: dict, *, user=None, save: bool = False) -> None:
    """Shipping address step: store a snapshot of the address (and, for a signed-in
    customer who asks, save it to their address book). A new destination forgets the
    chosen shipping method, whose quotes depended on it."""
    snapshot = {name: str(values.get(name) or "").strip() for name in addresses.FIELDS}
    snapshot["country"] = snapshot["country"].upper()
    problems = address_problems(snapshot)
    if problems:
        raise InvalidInput(" ".join(problems.values()))
    if not snapshot["full_name"] or not snapshot["line1"] or not snapshot["city"] or len(snapshot["country"]) != 2:
        raise InvalidInput("Enter a name, street address, city and country.")
    if save and _is_signed_in(user):
        addresses.save_address(user, snapshot)  # commits; the same rules as the address book
    if snapshot != (cart.shipping_address or {}):
        cart.shipping_address = snapshot
        cart.shipping_quote_id = None
        cart.payment_gateway_id = None
    cart.updated_at = utcnow()
    forget_checkout_token(cart)
    db.session.commit()


def use_saved_address(cart: Cart, user, address_id: object) -> None:
    """Shipping address step: one of the signed-in customer's saved addresses (another
    customer's address is not found)."""
    try:
        key = int(str(address_id))
    except ValueError:
        raise InvalidInput("Choose one of your addresses.") from None
    address = addresses.get_address(user, key)
    set_address(cart, {name: getattr(address, name) or "" for name in addresses.FIELDS}, user=user)


def choose_shipping(cart: Cart, user, quote_id: object, *, state: CheckoutState | None = None) -> ShippingQuote:
    """Shipping step: store the id of one of the quotes offered right now (those of
    ``state`` when the caller has just computed it: shipping plugins may ask a carrier)."""
    state = state or checkout_state(cart, user, with_gateways=False, commit=False)
    quote = find_quote(state.quotes, str(quote_id or "")[:100])
    if quote is None:
        db.session.commit()
        raise InvalidInput("That shipping method is not available for your address. Please choose one of the list.")
    cart.shipping_quote_id = quote.id
    cart.updated_at = utcnow()
    forget_checkout_token(cart)
    db.session.commit()
    return quote


def choose_payment(cart: Cart, user, gateway_id: object, *, state: CheckoutState | None = None) -> None:
    """Payment step: store the id of one of the gateways available for this order (those
    of ``state``, with its gateways, when the caller has just computed it)."""
    state = state or checkout_state(cart, user, commit=False)
    wanted = str(gateway_id or "")[:64]
    if not any(gateway.id == wanted for gateway in state.gateways):
        db.session.commit()
        raise UnknownGateway()
    cart.payment_gateway_id = wanted
    cart.updated_at = utcnow()
    forget_checkout_token(cart)
    db.session.commit()


def issue_checkout_token(cart: Cart) -> str:
    """The review page's one-time token (kept while the cart stays as reviewed)."""
    if not cart.checkout_token:
        cart.checkout_token = secrets.token_urlsafe(32)
        db.session.commit()
    return cart.checkout_token


# --- placing the order ---------------------------------------------------------------------------------


def order_for_token(token: str):
    from ..orders.models import Order

    return db.session.scalar(select(Order).where(Order.checkout_token == token))


def _retryable(error: OperationalError) -> bool:
    code = error.orig.args[0] if getattr(error.orig, "args", None) else None
    return code in RETRYABLE_ERRORS or "database is locked" in str(error.orig)


def place_order(cart: Cart | None, token: object, *, user=None):
    """Turn the reviewed cart into an order awaiting payment; exactly once per token.

    Returns the order — the one already placed with ``token`` when there is one (a
    double submit, a retry, a concurrent duplicate). Raises :class:`CheckoutProblem`
    (nothing written but the cart's own corrections) when the order cannot be placed as
    reviewed: the cart changed, a price changed, stock ran out, the coupon is used up,
    the shipping method or gateway is gone, or a plugin refuses it.
    After the commit, ``storefront_order_placed`` is fired.
    """
    from ..orders import services as orders

    token = str(token or "")[:43]
    if not token:
        raise CheckoutProblem("Please review your order before placing it.", "review")
    existing = order_for_token(token)
    if existing is not None:
        return existing
    cart_id = cart.id if cart is not None else None
    for attempt in range(1, PLACE_ATTEMPTS + 1):
        try:
            order = _place(cart_id, token, user)
            break
        except CheckoutProblem:
            # A concurrent request with the same token may have placed it meanwhile.
            db.session.rollback()
            existing = order_for_token(token)
            if existing is not None:
                return existing
            raise
        except IntegrityError:
            # UNIQUE(checkout_token): a concurrent request placed this very order first.
            db.session.rollback()
            existing = order_for_token(token)
            if existing is not None:
                log.info("place_order: order %s was placed by a concurrent request", existing.number)
                return existing
            raise
        except OperationalError as error:
            db.session.rollback()
            if attempt == PLACE_ATTEMPTS or not _retryable(error):
                raise
            log.info("place_order: %s, retrying (attempt %d)", error.orig, attempt)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    notify("storefront_order_placed", order=orders.order_summary(order))
    return order


def _place(cart_id: int | None, token: str, user):
    from ..orders import services as orders
    from ..orders.models import Order, OrderLine

    cart = db.session.get(Cart, cart_id) if cart_id is not None else None
    if cart is None or not cart.lines:
        raise CheckoutProblem("Your cart is empty.", "cart")
    if cart.checkout_token != token:
        raise CheckoutProblem("Your cart changed since you reviewed it. Please check your order again.", "review")
    state = checkout_state(cart, user)  # re-validates, re-prices, re-quotes; commits its corrections
    if state.notices:
        raise CheckoutProblem(state.notices, "cart" if not cart.lines else "review")
    step = state.next_step
    if step != "review":
        raise CheckoutProblem(f"Please complete the {STEP_LABELS.get(step, step).lower()} step first.", step)
    vetoes = [str(message) for message in collect("storefront_validate_checkout", checkout=state.snapshot())
              if message]
    if vetoes:
        raise CheckoutProblem(vetoes, "review")

    totals = state.totals
    now = utcnow()
    shipping_address = dict(cart.shipping_address or {})
    order = Order(number=orders.new_order_number(), checkout_token=token,
                  user_id=user.id if _is_signed_in(user) else None, email=state.email,
                  status="pending_payment", currency=totals.currency, subtotal_minor=totals.subtotal.minor,
                  discount_minor=totals.discount.minor, shipping_minor=totals.shipping.minor,
                  tax_minor=totals.tax.minor, total_minor=totals.total.minor,
                  prices_include_tax=totals.prices_include_tax, tax_label=totals.tax_label[:60],
                  paid_minor=0, refunded_minor=0, coupon_code=totals.coupon_code,
                  shipping_quote_id=state.quote.id, shipping_label=state.quote.label[:120],
                  shipping_address=shipping_address, payment_gateway_id=state.gateway.id, placed_at=now,
                  pay_by=now + timedelta(minutes=int(current_app.config["ORDER_UNPAID_HOLD_MINUTES"])),
                  updated_at=now)
    db.session.add(order)
    db.session.flush()  # a duplicate token fails here, before any stock is touched

    # Stock first, in variant order: each UPDATE locks its row; a fixed order keeps two
    # carts sharing variants from waiting on each other in a circle.
    for line in sorted(totals.lines, key=lambda item: item.variant_id):
        try:
            adjust_stock(line.variant_id, -line.quantity, "sale", note=f"order {order.number}",
                         order_id=order.id, commit=False)
        except OutOfStock:
            # adjust_stock rolled the whole order back; tell the shopper what is left.
            raise CheckoutProblem(_out_of_stock_messages(cart_id, line), "cart") from None
    for line in totals.lines:
        order.lines.append(OrderLine(variant_id=line.variant_id, product_id=line.product_id, sku=line.sku,
                                     title=line.title[:255], options=line.options[:255], quantity=line.quantity,
                                     unit_price_minor=line.unit_price.minor, discount_minor=line.discount.minor,
                                     tax_minor=line.tax.minor, total_minor=line.total.minor,
                                     quantity_fulfilled=0))
    if state.coupon is not None:
        saved = totals.discount + (totals.shipping_quoted - totals.shipping)
        try:
            redeem(state.coupon.id, order=order, user=user if _is_signed_in(user) else None, email=state.email,
                   amount=saved)
        except CouponRefused as refusal:
            db.session.rollback()
            cart = db.session.get(Cart, cart_id)
            cart.coupon_code = None
            forget_checkout_token(cart)
            db.session.commit()
            raise CheckoutProblem(f"{refusal.message} It was removed from your cart; "
                                  "please check your order again.", "review") from None
    locale = current_app.config["STORE_LOCALE"]
    orders.record_event(order, "placed", f"Order placed: {format_money(totals.total, locale)} "
                                         f"to pay by {state.gateway.id}.",
                        data={"total_minor": totals.total.minor, "gateway": state.gateway.id,
                              "shipping": state.quote.id, "coupon": totals.coupon_code})
    empty_cart(cart)
    orders.send_order_email(order, "placed")
    db.session.commit()
    return order


def _out_of_stock_messages(cart_id: int, line) -> list[str]:
    """After a failed decrement: fix the cart and say what is left of ``line``."""
    variant = db.session.get(Variant, line.variant_id)
    label = variant_label(variant) if variant is not None else line.title
    left = max(int(variant.stock), 0) if variant is not None else 0
    message = (f"Sorry, {label} sold out while you were checking out." if left == 0 else
               f"Only {left} left of {label}; your cart held {line.quantity}.")
    notices: list[Notice] = revalidate(db.session.get(Cart, cart_id))
    return [message] + [notice.message for notice in notices
                        if label not in notice.message]
