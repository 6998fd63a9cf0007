"""Orders after they are placed: payment, shipping, completion, cancellation, refunds, notes,
e-mails.

Checkout (:func:`storefront.checkout.services.place_order`) creates orders; payments
(:mod:`storefront.payments.services`) report money in and out through :func:`mark_paid`
and :func:`record_refund`; the back office and the periodic jobs call the rest.

Rules every function here keeps:

* Status changes go through :mod:`storefront.orders.status` — :func:`~status.change_status`,
  or a conditional ``UPDATE … WHERE status IN sources_for(new)`` where two processes may
  race (paying, cancelling, completing), so a transition happens exactly once.
* Each change is one transaction with its timeline event (:class:`OrderEvent`), its
  e-mail (queued in the same transaction, delivered by a job after the commit) and, for
  staff actions, its audit-log row.
* Event hooks (``storefront_order_paid`` …) fire after the commit.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, Mapping
from urllib.parse import urlsplit

from flask import current_app, has_request_context, session, url_for
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, delete, exists, func, select, update

from .. import audit
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..mail import send_mail
from ..money import Money, format_money
from ..plugins.manager import notify
from ..plugins.types import Line, OrderSummary, PaymentRef
from . import status as st
from .models import Fulfilment, FulfilmentLine, Order, OrderEvent, OrderLine
from .status import InvalidTransition

#: Crockford's base32: no I, L, O or U, so a number read over the phone is unambiguous.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Order numbers a browser session may see without an account (guest checkout, lookup).
SESSION_KEY = "storefront_orders"
SESSION_ORDERS_KEPT = 20
#: E-mails an order sends; each is the template ``mail/order_<kind>.txt``.
EMAIL_KINDS = ("placed", "paid", "shipped", "cancelled", "refunded")
#: ``db.session.info`` key: ids of orders being cancelled (their full refund keeps the status).
_CANCELLING = "storefront_orders_cancelling"
#: Order ids read per batch by the periodic jobs (unpaid orders, shipped orders).
JOB_BATCH = 100

NOTE_MAX_LENGTH = 5000
CARRIER_MAX_LENGTH = 60
TRACKING_NUMBER_MAX_LENGTH = 100
TRACKING_URL_MAX_LENGTH = 500


# --- numbers, events, summaries ------------------------------------------------------------------


def new_order_number() -> str:
    """``"<ORDER_NUMBER_PREFIX>-XXXX-XXXX"``: 40 random bits in Crockford base32, not used yet."""
    prefix = current_app.config["ORDER_NUMBER_PREFIX"]
    for _ in range(20):
        code = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
        number = f"{prefix}-{code[:4]}-{code[4:]}"
        if db.session.scalar(select(Order.id).where(Order.number == number)) is None:
            return number
    raise RuntimeError("could not find an unused order number")  # 2^40 numbers: never in practice


def normalise_number(number: str) -> str:
    """What a shopper typed → the stored form (upper case, no spaces; O→0, I/L→1 as Crockford reads)."""
    text = "".join(str(number or "").split()).upper()[:40]
    prefix = current_app.config["ORDER_NUMBER_PREFIX"].upper() + "-"
    if not text.startswith(prefix):
        return text
    code = text[len(prefix):]
    return prefix + code.replace("O", "0").replace("I", "1").replace("L", "1")


def record_event(order: Order, kind: str, message: str = "", data: Mapping[str, Any] | None = None,
                 actor=None) -> OrderEvent:
    """Add one entry to the order's timeline (the caller commits)."""
    event = OrderEvent(kind=kind, message=message or "", data=dict(data) if data else None,
                       user_id=getattr(actor, "id", None), created_at=utcnow())
    order.events.append(event)
    return event


def order_summary(order: Order) -> OrderSummary:
    """The read-only view of an order that event hooks receive."""
    from ..catalog.models import Variant

    variant_ids = [line.variant_id for line in order.lines if line.variant_id]
    weights = dict(db.session.execute(select(Variant.id, Variant.weight_grams)
                                      .where(Variant.id.in_(variant_ids))).all()) if variant_ids else {}
    lines = tuple(Line(sku=line.sku, quantity=line.quantity, unit_price=Money(line.unit_price_minor, order.currency),
                       weight_grams=int(weights.get(line.variant_id) or 0), product_id=line.product_id)
                  for line in order.lines)
    return OrderSummary(id=order.id, number=order.number, email=order.email, status=order.status,
                        total=order.total, lines=lines)


def formatted(amount: Money) -> str:
    """An amount as shoppers and staff read it ("€12.50"), for messages."""
    return format_money(amount, current_app.config["STORE_LOCALE"])


def refundable_amount(order: Order) -> Money:
    """What may still be refunded: paid minus refunded (zero for unpaid orders)."""
    return order.refundable


def get_order(order_id: int, *, lock: bool = False) -> Order:
    """The order, or :class:`NotFound`. With ``lock``, its row is locked (``SELECT … FOR
    UPDATE``) and re-read, so concurrent changes of this order queue up behind this
    transaction instead of deadlocking on the rows they read."""
    if lock:
        order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update()
                                  .execution_options(populate_existing=True))
    else:
        order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound("That order does not exist.")
    return order


def find_order(number: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.number == normalise_number(number)))


# --- who may see an order ----------------------------------------------------------------------


def remember_order_in_session(order: Order) -> None:
    """Let this browser session see ``order`` without an account (after placing it, or
    after a successful guest lookup)."""
    numbers = [n for n in session.get(SESSION_KEY, []) if n != order.number]
    numbers.append(order.number)
    session[SESSION_KEY] = numbers[-SESSION_ORDERS_KEPT:]


def viewable_order(number: str) -> Order:
    """The order ``number`` if the current visitor may see it: a signed-in customer their
    own orders, anyone the orders remembered in their session. :class:`NotFound` otherwise
    — the same answer whether the order exists or not."""
    order = find_order(number)
    if order is not None:
        if current_user.is_authenticated and order.user_id == current_user.id:
            return order
        if order.number in session.get(SESSION_KEY, []):
            return order
    raise NotFound("We could not find that order.")


def lookup_order(number: str, email: str) -> Order:
    """Guest order lookup: the order whose number and e-mail address both match.

    One neutral answer for every mismatch, so the form reveals neither which numbers
    exist nor whose they are.
    """
    order = find_order(number)
    typed = (email or "").strip().lower()
    if order is None or not typed or order.email.strip().lower() != typed:
        raise NotFound("We could not find an order with that number and e-mail address. "
                       "Please check both and try again.")
    return order


def customer_orders(user, page: int = 1, per_page: int = 20) -> tuple[list[Order], bool]:
    """A customer's orders, newest first; ``(orders, has_next_page)``."""
    rows = db.session.scalars(select(Order).where(Order.user_id == user.id)
                              .order_by(Order.placed_at.desc(), Order.id.desc())
                              .limit(per_page + 1).offset((page - 1) * per_page)).all()
    return list(rows[:per_page]), len(rows) > per_page


# --- e-mail ------------------------------------------------------------------------------------------


def order_link(order: Order) -> str:
    """Where an e-mail sends the shopper: their account's order page, or guest lookup."""
    if order.user_id:
        return external_url("orders.account_order", number=order.number)
    return external_url("orders.lookup", number=order.number)


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL, also from jobs with no request (then from ``STORE_URL``)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = urlsplit(current_app.config.get("STORE_URL") or "http://localhost")
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def send_order_email(order: Order, kind: str, **extra: Any):
    """Queue the ``kind`` e-mail for ``order`` (delivered by a job after the caller's
    commit) and note it on the timeline. ``kind`` is one of :data:`EMAIL_KINDS`."""
    if kind not in EMAIL_KINDS:
        raise ValueError(f"order e-mail kind must be one of {EMAIL_KINDS}, got {kind!r}")
    message = send_mail(order.email, f"order_{kind}", order=order, lines=order.lines,
                        status_label=st.label(order.status), order_url=order_link(order),
                        **extra)
    record_event(order, "email", f"E-mail “{message.subject}” sent to {order.email}.",
                 data={"template": f"order_{kind}", "mail_id": message.id})
    return message


# --- payment ---------------------------------------------------------------------------------------


def _payment_ref(order: Order, payment, amount: Money) -> PaymentRef:
    if isinstance(payment, PaymentRef):
        return payment
    if payment is not None:
        return PaymentRef(payment_id=payment.public_id, gateway_id=payment.gateway_id,
                          amount=Money(payment.amount_minor, payment.currency),
                          psp_reference=payment.psp_reference or "")
    return PaymentRef(payment_id="", gateway_id=order.payment_gateway_id, amount=amount)


def _settle_offline_payment(order: Order, amount: Money, now):
    """Staff confirmed money that arrived outside the store (bank transfer, cash on
    delivery): the order's open payment with its gateway becomes paid — or a paid one is
    recorded — so refunds later go through that gateway like any other."""
    from ..payments import services as payments
    from ..payments.models import Payment

    payment = db.session.scalars(select(Payment).where(Payment.order_id == order.id,
                                                       Payment.gateway_id == order.payment_gateway_id,
                                                       Payment.status == "pending")
                                 .order_by(Payment.id.desc()).limit(1)).first()
    if payment is None:
        payment = Payment(public_id=payments.new_payment_id(), order_id=order.id,
                          gateway_id=order.payment_gateway_id, currency=order.currency, created_at=now,
                          refunded_minor=0)
        db.session.add(payment)
    payment.status = "paid"
    payment.amount_minor = amount.minor
    payment.updated_at = now
    db.session.flush()
    return payment


def mark_paid(order_id: int, *, payment=None, actor=None, amount: Money | None = None,
              record_payment: bool = False) -> bool:
    """Move the order to *paid*, exactly once.

    One conditional ``UPDATE … SET status='paid' WHERE id=:id AND status IN
    sources_for('paid')`` decides: True only for the call that made the transition — it
    then sets ``paid_at``/``paid_minor``, records the event, queues the "paid" e-mail,
    commits (with whatever the caller has pending, e.g. its Payment row) and fires
    ``storefront_order_paid``. Every other call returns False and changes nothing.

    ``payment`` is the :class:`~storefront.payments.models.Payment` (or a PaymentRef) that
    paid; ``amount`` defaults to the order total. Staff confirming an offline payment pass
    ``record_payment=True``: the order's open Payment row is marked paid too.
    """
    order = get_order(order_id)
    amount = amount if amount is not None else order.total
    if not isinstance(amount, Money) or amount.currency != order.currency or amount.minor <= 0:
        raise InvalidInput(f"The paid amount must be a positive amount in {order.currency}.")
    now = utcnow()
    _lock_order_row(order_id)
    result = db.session.execute(
        update(Order).where(Order.id == order_id, Order.status.in_(st.sources_for(st.PAID)))
        .values(status=st.PAID, paid_at=now, paid_minor=amount.minor, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    db.session.refresh(order)
    if record_payment and payment is None:
        payment = _settle_offline_payment(order, amount, now)
    ref = _payment_ref(order, payment, amount)
    record_event(order, "paid", f"Paid {formatted(amount)} through {ref.gateway_id or 'an unknown gateway'}.",
                 data={"amount_minor": amount.minor, "gateway_id": ref.gateway_id, "payment_id": ref.payment_id},
                 actor=actor)
    send_order_email(order, "paid")
    if actor is not None:
        audit.record("order.marked_paid", actor=actor, target_type="order", target_id=order.number,
                     before={"status": st.PENDING_PAYMENT}, after={"status": st.PAID, "paid_minor": amount.minor})
    db.session.commit()
    notify("storefront_order_paid", order=order_summary(order), payment=ref)
    return True


# --- cancellation ------------------------------------------------------------------------------------


def _lock_order_row(order_id: int) -> None:
    """Take the order's row lock by primary key before a status UPDATE.

    ``UPDATE … WHERE id = :id AND status IN (…)`` may be run through the status index
    (MariaDB's choice on a small table), locking index entries before the row: two such
    UPDATEs of one order then deadlocked under load (the payment-racing-cancellation and
    concurrent mark-paid tests). Waiting on the row first leaves nothing to cross. Locks
    already held — a payment row taken by the payments service — keep their order."""
    db.session.execute(select(Order.id).where(Order.id == order_id).with_for_update())


def _move_once(order: Order, old_status: str, new_status: str, *guards: ColumnElement[bool], done: str,
               **values: Any) -> None:
    """Move ``order`` from ``old_status`` (the status this call read and checked) to
    ``new_status`` with one conditional UPDATE that also requires ``guards``, setting
    ``values`` too; then refresh it. When another transaction changed the order first,
    roll back and raise :class:`InvalidTransition` ("… nothing was ``done``")."""
    _lock_order_row(order.id)
    result = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == old_status, *guards)
        .values(status=new_status, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(order)
        raise InvalidTransition(f"This order changed meanwhile (it is now "
                                f"{st.label(order.status).lower()}); nothing was {done}.")
    db.session.refresh(order)


def cancel_order(order_id: int, reason: str, *, actor=None, unpaid_only: bool = False) -> Order:
    """Cancel an order that is awaiting payment or paid (not shipped yet).

    With ``unpaid_only`` (the unpaid-order job) an order that is no longer awaiting
    payment is refused with :class:`InvalidTransition`: a payment that landed after the
    job chose the order wins, and the order is neither refunded nor cancelled.

    A paid order is refunded in full first, through its gateway
    (:func:`storefront.payments.services.refund_payment`). Then, in one transaction: the
    status becomes *cancelled* (a conditional UPDATE, so a payment arriving at the same
    moment and the cancellation cannot both win), every line's stock returns (stock
    movement "cancellation"), the coupon use is given back, the event and the e-mail
    are recorded. ``storefront_order_cancelled`` fires after the commit.
    """
    order = get_order(order_id)
    reason = " ".join((reason or "").split())[:255] or "Cancelled by the store."
    if order.status not in st.CANCELLABLE:
        raise InvalidTransition(f"An order that is {st.label(order.status).lower()} "
                                "cannot be cancelled.")
    if unpaid_only and order.status != st.PENDING_PAYMENT:
        raise InvalidTransition(f"This order is {st.label(order.status).lower()} now; "
                                "it is no longer awaiting payment.")
    refunded = None
    if order.status == st.PAID and order.refundable.minor > 0:
        refunded = order.refundable
        _refund_in_full_for_cancellation(order, refunded, reason, actor)
    old_status = order.status
    if old_status not in st.sources_for(st.CANCELLED):
        raise InvalidTransition(f"An order that is {st.label(old_status).lower()} "
                                "cannot be cancelled.")
    # Only from the status this call decided on: an order paid since it was read (a
    # webhook racing the unpaid-order job) is not cancelled with the money kept; and a
    # paid order only once all its money went back.
    _move_once(order, old_status, st.CANCELLED, Order.refunded_minor >= Order.paid_minor,
               done="cancelled", cancelled_at=utcnow())
    product_ids = _return_stock(order, actor)
    coupon_code = _give_back_coupon_use(order)
    record_event(order, "cancelled", reason, actor=actor,
                 data={"reason": reason, "previous_status": old_status, "coupon": coupon_code,
                       "refunded_minor": refunded.minor if refunded else 0})
    send_order_email(order, "cancelled", reason=reason, refunded=refunded)
    if actor is not None:
        audit.record("order.cancelled", actor=actor, target_type="order", target_id=order.number,
                     before={"status": old_status}, after={"status": st.CANCELLED, "reason": reason})
    db.session.commit()
    notify("storefront_order_cancelled", order=order_summary(order), reason=reason)
    from ..catalog.services import product_changed

    product_changed(sorted(product_ids))
    return order


def _refund_in_full_for_cancellation(order: Order, amount: Money, reason: str, actor) -> None:
    # Imported by module, lazily: payments imports this module too.
    from ..payments import services as payments

    cancelling = db.session.info.setdefault(_CANCELLING, set())
    cancelling.add(order.id)
    try:
        payments.refund_payment(order, amount, reason=f"Order cancelled: {reason}"[:255], actor=actor)
    finally:
        cancelling.discard(order.id)
    db.session.refresh(order)


def _return_stock(order: Order, actor) -> set[int]:
    from ..catalog.models import Variant
    from ..catalog.services import adjust_stock

    ids = {line.variant_id for line in order.lines if line.variant_id}
    existing = set(db.session.scalars(select(Variant.id).where(Variant.id.in_(ids)))) if ids else set()
    product_ids = set()
    for line in order.lines:
        if line.variant_id in existing:
            adjust_stock(line.variant_id, line.quantity, "cancellation", note=f"Order {order.number} cancelled",
                         actor=actor, order_id=order.id, commit=False)
            if line.product_id:
                product_ids.add(line.product_id)
    return product_ids


def _give_back_coupon_use(order: Order) -> str | None:
    from ..checkout.models import Coupon, CouponRedemption

    redemption = db.session.scalar(select(CouponRedemption).where(CouponRedemption.order_id == order.id))
    if redemption is None:
        return None
    db.session.execute(update(Coupon).where(Coupon.id == redemption.coupon_id, Coupon.used_count > 0)
                       .values(used_count=Coupon.used_count - 1).execution_options(synchronize_session=False))
    code = order.coupon_code
    db.session.execute(delete(CouponRedemption).where(CouponRedemption.id == redemption.id)
                       .execution_options(synchronize_session=False))
    db.session.expunge(redemption)
    return code


def cancel_unpaid_orders() -> int:
    """Cancel every order still awaiting payment past its ``pay_by`` (the periodic job).

    Idempotent: a cancelled order is no longer awaiting payment, and an order paid at
    the last moment wins its race (see :func:`cancel_order`) and is skipped. An order
    whose card payment is authorised is not unpaid: the shopper is done and staff
    capture it (or cancel the order themselves), so the job leaves it alone.
    """
    # Imported here: the payments package imports these services.
    from ..payments.models import Payment

    authorised = exists().where(Payment.order_id == Order.id, Payment.status == "authorized")
    return _each_order_in_batches(
        [Order.status == st.PENDING_PAYMENT, Order.pay_by.is_not(None), Order.pay_by < utcnow(), ~authorised],
        lambda order_id: cancel_order(order_id, "Not paid in time: the order was cancelled automatically.",
                                      unpaid_only=True))


def _each_order_in_batches(conditions: list[ColumnElement[bool]], change) -> int:
    """A periodic job's loop: ``change(order_id)`` for every order meeting ``conditions``,
    read :data:`JOB_BATCH` ids at a time (each change commits). An order ``change`` refuses —
    it changed since it was picked — is skipped. Returns how many were changed."""
    changed = 0
    skipped: set[int] = set()
    while True:
        ids = db.session.scalars(select(Order.id).where(*conditions, Order.id.not_in(skipped or {0}))
                                 .order_by(Order.id).limit(JOB_BATCH)).all()
        if not ids:
            return changed
        for order_id in ids:
            try:
                change(order_id)
            except (InvalidTransition, NotFound):
                skipped.add(order_id)
                db.session.rollback()
                continue
            changed += 1


# --- shipping --------------------------------------------------------------------------------------


def _clean_text(value: Any, label: str, max_length: int) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > max_length:
        raise InvalidInput(f"{label} may have at most {max_length} characters.")
    return text


def _clean_tracking_url(value: Any) -> str:
    url = str(value or "").strip()
    if not url:
        return ""
    if len(url) > TRACKING_URL_MAX_LENGTH:
        raise InvalidInput(f"The tracking link may have at most {TRACKING_URL_MAX_LENGTH} characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidInput("The tracking link must be a web address starting with https:// or http://.")
    return url


def _clean_quantities(order: Order, quantities: Mapping[Any, Any]) -> dict[int, int]:
    lines = {line.id: line for line in order.lines}
    wanted: dict[int, int] = {}
    for raw_id, raw_quantity in (quantities or {}).items():
        try:
            line_id = int(raw_id)
        except (TypeError, ValueError):
            raise InvalidInput("That line is not part of this order.") from None
        line = lines.get(line_id)
        if line is None:
            raise InvalidInput("That line is not part of this order.")
        if isinstance(raw_quantity, bool) or not isinstance(raw_quantity, int):
            raise InvalidInput(f"Enter a whole number of units to ship for {line.title}.")
        if raw_quantity < 0:
            raise InvalidInput(f"The quantity to ship for {line.title} cannot be negative.")
        if raw_quantity == 0:
            continue
        if raw_quantity > line.quantity_to_ship:
            left = line.quantity_to_ship
            raise InvalidInput(f"Only {left} unit{'s' if left != 1 else ''} of {line.title} "
                               f"{'are' if left != 1 else 'is'} left to ship.")
        wanted[line_id] = raw_quantity
    if not wanted:
        raise InvalidInput("Enter how many units of at least one line to ship.")
    return wanted


def fulfil_order(order_id: int, quantities: Mapping[int, int], *, carrier: str = "", tracking_number: str = "",
                 tracking_url: str = "", actor) -> Fulfilment:
    """Ship some or all of the remaining units, by line: ``{order_line_id: quantity}``.

    Quantities must be positive and no more than what remains to ship (zero entries are
    ignored). The order becomes *partially fulfilled* or *fulfilled*; the shopper gets
    the "shipped" e-mail with the carrier and tracking number; ``storefront_order_fulfilled``
    fires once everything has shipped.
    """
    order = get_order(order_id, lock=True)
    if order.status not in st.FULFILLABLE:
        raise InvalidTransition(f"An order that is {st.label(order.status).lower()} "
                                "cannot be shipped.")
    wanted = _clean_quantities(order, quantities)
    carrier = _clean_text(carrier, "The carrier", CARRIER_MAX_LENGTH)
    tracking_number = _clean_text(tracking_number, "The tracking number", TRACKING_NUMBER_MAX_LENGTH)
    tracking_url = _clean_tracking_url(tracking_url)
    for line_id, quantity in wanted.items():
        # The guard against a concurrent shipment of the same units.
        result = db.session.execute(
            update(OrderLine).where(OrderLine.id == line_id, OrderLine.order_id == order.id,
                                    OrderLine.quantity_fulfilled + quantity <= OrderLine.quantity)
            .values(quantity_fulfilled=OrderLine.quantity_fulfilled + quantity)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            db.session.rollback()
            raise InvalidInput("Some of these units were shipped meanwhile; reload the order and try again.")
    fulfilment = Fulfilment(carrier=carrier, tracking_number=tracking_number, tracking_url=tracking_url,
                            user_id=getattr(actor, "id", None), created_at=utcnow(),
                            lines=[FulfilmentLine(order_line_id=line_id, quantity=quantity)
                                   for line_id, quantity in wanted.items()])
    order.fulfilments.append(fulfilment)
    for line in order.lines:
        db.session.refresh(line, ["quantity_fulfilled"])
    old_status = order.status
    new_status = st.FULFILLED if all(line.quantity_to_ship == 0 for line in order.lines) else st.PARTIALLY_FULFILLED
    if new_status != old_status:
        st.change_status(order, new_status)
    order.updated_at = utcnow()
    db.session.flush()
    units = sum(wanted.values())
    shipped_lines = [(line, wanted[line.id]) for line in order.lines if line.id in wanted]
    record_event(order, "fulfilled",
                 f"Shipped {units} unit{'s' if units != 1 else ''}"
                 + (f" with {carrier}" if carrier else "") + (f", tracking {tracking_number}" if tracking_number else "")
                 + ".",
                 data={"fulfilment_id": fulfilment.id, "lines": {str(k): v for k, v in wanted.items()},
                       "carrier": carrier, "tracking_number": tracking_number, "tracking_url": tracking_url},
                 actor=actor)
    send_order_email(order, "shipped", fulfilment=fulfilment, shipped_lines=shipped_lines,
                     complete=new_status == st.FULFILLED)
    if actor is not None:
        audit.record("order.fulfilled", actor=actor, target_type="order", target_id=order.number,
                     before={"status": old_status},
                     after={"status": order.status, "lines": {str(k): v for k, v in wanted.items()},
                            "carrier": carrier, "tracking_number": tracking_number})
    db.session.commit()
    if new_status == st.FULFILLED:
        notify("storefront_order_fulfilled", order=order_summary(order))
    return fulfilment


# --- completion --------------------------------------------------------------------------------------


def _units_left_to_ship():
    """SQL: the order of the enclosing query (``orders.id``) has a line not fully shipped."""
    return exists().where(OrderLine.order_id == Order.id, OrderLine.quantity_fulfilled < OrderLine.quantity)


def to_ship_condition():
    """SQL condition for orders with units left to ship: paid, partially shipped, or
    partially refunded with something still to send (the dashboard and the list filter)."""
    return and_(Order.status.in_(st.FULFILLABLE), _units_left_to_ship())


def completable(order: Order) -> bool:
    """Whether ``order`` may become *completed*: every unit shipped, and its status allows it."""
    return order.status in st.sources_for(st.COMPLETED) and all(line.quantity_to_ship == 0 for line in order.lines)


def complete_order(order_id: int, *, actor=None) -> Order:
    """Close an order whose every unit has shipped (*shipped*, or *partially refunded*
    with nothing left to ship): it becomes *completed*, exactly once.

    Bookkeeping only: the shopper is not e-mailed, and no hook fires. A completed order
    can still be refunded. Anything else — units left to ship, cancelled, already
    completed — is refused with :class:`InvalidTransition` and changes nothing.
    """
    # Locked first: the guarded UPDATE below also reads the order's lines, and five
    # completions at once deadlocked on MariaDB without the order row taken first.
    order = get_order(order_id, lock=True)
    old_status = order.status
    left = sum(line.quantity_to_ship for line in order.lines)
    if old_status == st.COMPLETED:
        raise InvalidTransition("This order is already completed.")
    if old_status in st.FULFILLABLE and left:
        raise InvalidTransition(f"{left} unit{'s are' if left != 1 else ' is'} still to ship; an order is "
                                "completed once everything has shipped.")
    if old_status not in st.sources_for(st.COMPLETED) or left:
        raise InvalidTransition(f"An order that is {st.label(old_status).lower()} "
                                "cannot be completed.")
    # Of several calls at once (staff and the job) one makes the transition, and the
    # audit's "before" is what the order really was.
    _move_once(order, old_status, st.COMPLETED, ~_units_left_to_ship(), done="completed")
    record_event(order, "completed", "Completed: everything has shipped.", actor=actor,
                 data={"previous_status": old_status})
    if actor is not None:
        audit.record("order.completed", actor=actor, target_type="order", target_id=order.number,
                     before={"status": old_status}, after={"status": st.COMPLETED})
    db.session.commit()
    return order


def complete_shipped_orders() -> int:
    """Complete every order whose last shipment left at least ``ORDER_COMPLETE_AFTER_DAYS``
    days ago and that has nothing left to ship (the periodic job); 0 days turns it off.

    Idempotent: a completed order is no longer a candidate, and an order that changed
    since it was picked (refunded in full, say) is refused by :func:`complete_order` and
    skipped.
    """
    days = int(current_app.config["ORDER_COMPLETE_AFTER_DAYS"])
    if days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    last_shipped = select(func.max(Fulfilment.created_at)).where(Fulfilment.order_id == Order.id).scalar_subquery()
    return _each_order_in_batches([Order.status.in_(st.sources_for(st.COMPLETED)), ~_units_left_to_ship(),
                                   last_shipped <= cutoff], complete_order)


# --- refunds ---------------------------------------------------------------------------------------


def record_refund(order_id: int, amount: Money, *, actor=None) -> Order:
    """Book a refund the gateway has made (called by :func:`storefront.payments.services.refund_payment`).

    ``refunded_minor`` grows atomically and never beyond what was paid; the order becomes
    *partially refunded* or *refunded* (a cancelled order, or one being cancelled, keeps
    its status); the event and the "refunded" e-mail are recorded; ``storefront_order_refunded``
    fires after the commit with this refund's amount. Check :func:`refundable_amount`
    *before* asking the gateway: an amount this refuses was not booked.
    """
    order = get_order(order_id)
    if not isinstance(amount, Money) or amount.currency != order.currency:
        raise InvalidInput(f"The refund must be an amount in {order.currency}.")
    if amount.minor <= 0:
        raise InvalidInput("The refund must be more than zero.")
    cancelling = order.id in db.session.info.get(_CANCELLING, ())
    keeps_status = cancelling or order.status == st.CANCELLED
    if not keeps_status and order.status not in st.REFUNDABLE:
        raise InvalidTransition(f"An order that is {st.label(order.status).lower()} "
                                "cannot be refunded.")
    result = db.session.execute(
        update(Order).where(Order.id == order.id, Order.refunded_minor + amount.minor <= Order.paid_minor)
        .values(refunded_minor=Order.refunded_minor + amount.minor, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidInput(f"At most {formatted(order.refundable)} can be refunded.")
    db.session.refresh(order)
    old_status = order.status
    if not keeps_status:
        new_status = st.REFUNDED if order.refunded_minor >= order.paid_minor else st.PARTIALLY_REFUNDED
        if new_status != old_status:
            st.change_status(order, new_status)
    record_event(order, "refunded", f"Refunded {formatted(amount)}.", actor=actor,
                 data={"amount_minor": amount.minor, "refunded_minor": order.refunded_minor})
    if not cancelling:
        send_order_email(order, "refunded", amount=amount)
    if actor is not None:
        audit.record("order.refunded", actor=actor, target_type="order", target_id=order.number,
                     before={"status": old_status},
                     after={"status": order.status, "amount_minor": amount.minor,
                            "refunded_minor": order.refunded_minor})
    db.session.commit()
    notify("storefront_order_refunded", order=order_summary(order), amount=amount)
    return order


# --- notes ---------------------------------------------------------------------------------------


def add_note(order_id: int, text: str, *, actor) -> OrderEvent:
    """A staff note on the timeline (never shown to the shopper)."""
    order = get_order(order_id)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write the note first.")
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidInput(f"A note may have at most {NOTE_MAX_LENGTH} characters.")
    event = record_event(order, "note", text, actor=actor)
    audit.record("order.note_added", actor=actor, target_type="order", target_id=order.number,
                 after={"length": len(text)})
    db.session.commit()
    return event


def status_counts() -> dict[str, int]:
    """How many orders are in each status (the back office's filter counts)."""
    return dict(db.session.execute(select(Order.status, func.count(Order.id)).group_by(Order.status)).all())


def to_ship_count() -> int:
    """How many orders have units left to ship (the dashboard, the back office's filter)."""
    return int(db.session.scalar(select(func.count(Order.id)).where(to_ship_condition())) or 0)
