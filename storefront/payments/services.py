"""Payments: which gateways may take this checkout, starting a payment, returns and
webhooks (exactly once), captures and refunds. The only caller of PaymentGateway methods.

How a payment completes exactly once (docs/payments.md tells the whole story):

* One **open** :class:`Payment` row per order and gateway. :func:`start_payment` reuses
  it (the order row is locked while looking), so reloading the payment page or coming
  back later never starts a second charge; its public id (``pay_…``) is the
  idempotency key sent to the provider and the metadata the provider echoes back.
* A webhook's **event id** is inserted into :class:`ProviderEvent` (unique per gateway)
  in the same transaction that acts on it: a redelivery hits the unique key and is
  acknowledged without acting again.
* The payment's status moves by a **conditional UPDATE** (``… WHERE status IN
  (allowed sources)``) and the order's by :func:`storefront.orders.services.mark_paid`,
  itself a conditional UPDATE, committed together: whichever of webhook and shopper
  return comes first completes the order; the other changes nothing.
* A refund **reserves** its amount on the payment (conditional UPDATE) before the
  gateway is asked, so two staff members cannot refund more than was paid, and a
  provider's "refunded" webhook for our own refund finds nothing left to book.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Request, url_for
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from .. import audit
from ..clock import utcnow
from ..errors import InvalidInput, NotFound, StorefrontError
from ..extensions import db
from ..money import Money
from ..orders import services as orders
from ..orders import status as order_status
from ..orders.models import Order
from ..plugins.manager import provider, providers
from ..plugins.types import (InvalidCallback, PaymentCallback, PaymentGateway, PaymentRef, PaymentRequest,
                             PaymentResult, PaymentStep, PaymentUnavailable, UnknownProvider)
from .models import Payment, ProviderEvent, Refund

log = logging.getLogger(__name__)

GATEWAYS_HOOK = "storefront_payment_gateways"
#: Largest webhook body read, in bytes (providers' events are a few kilobytes).
WEBHOOK_MAX_BYTES = 256 * 1024
#: The status of a payment the shopper may still complete (resumed, never duplicated).
OPEN = "pending"
#: Payments holding money that can be refunded.
SETTLED = ("paid", "partially_refunded")
#: Payment status a result moves to → the statuses it may move from (the WHERE of the
#: conditional UPDATE). "paid" also follows "failed": money the provider took after a
#: failed attempt (an old browser tab retrying) is still money the shop received.
TRANSITIONS = {
    "authorized": ("pending",),
    "paid": ("pending", "authorized", "failed"),
    "failed": ("pending",),
    "cancelled": ("pending", "authorized"),
}
RESULT_STATUSES = ("pending", "authorized", "paid", "failed", "refunded", "cancelled")
FAILED_MESSAGE = "Your payment did not go through. Please try again or choose another payment method."


class OrderNotPayable(StorefrontError):
    """This order is not awaiting payment."""

    status = 409
    code = "order_not_payable"


class RefundFailed(StorefrontError):
    """The payment provider did not make the refund; nothing was refunded."""

    status = 502
    code = "refund_failed"


class CaptureFailed(StorefrontError):
    """The payment provider did not capture the payment."""

    status = 502
    code = "capture_failed"


# --- gateways ----------------------------------------------------------------------------------


def available_gateways(amount: Money, country: str) -> list[PaymentGateway]:
    """Enabled gateways willing to take ``amount`` from a shopper in ``country``; a gateway
    whose ``is_available`` raises is left out (logged by the guard)."""
    found = []
    for gateway in providers(GATEWAYS_HOOK, PaymentUnavailable):
        try:
            if gateway.is_available(amount, country):
                found.append(gateway)
        except PaymentUnavailable:
            continue
    return found


def gateway(gateway_id: str) -> PaymentGateway:
    """The enabled gateway with that id, guarded; :class:`UnknownProvider` (404) otherwise."""
    return provider(GATEWAYS_HOOK, gateway_id, PaymentUnavailable)


def gateway_name(gateway_id: str) -> str:
    """The shopper-facing name of a gateway, or its id when it is not enabled."""
    try:
        return gateway(gateway_id).name
    except UnknownProvider:
        return gateway_id


def order_country(order: Order) -> str:
    return str((order.shipping_address or {}).get("country") or "").upper()


# --- reading -----------------------------------------------------------------------------------


def new_payment_id() -> str:
    return "pay_" + secrets.token_urlsafe(18)


def latest_payment(order: Order, status: str | None = None) -> Payment | None:
    """The order's most recent payment attempt (in ``status``, when given)."""
    query = select(Payment).where(Payment.order_id == order.id)
    if status is not None:
        query = query.where(Payment.status == status)
    return db.session.scalars(query.order_by(Payment.id.desc()).limit(1)).first()


def payment_awaiting_capture(order: Order) -> Payment | None:
    """The order's authorised payment (authorise-then-capture gateways), if any: staff
    capture it with :func:`capture_payment`; the shopper has nothing left to do."""
    return latest_payment(order, "authorized")


def payment_ref(payment: Payment, idempotency_key: str = "") -> PaymentRef:
    return PaymentRef(payment_id=payment.public_id, gateway_id=payment.gateway_id,
                      amount=Money(payment.amount_minor, payment.currency),
                      psp_reference=payment.psp_reference or "", idempotency_key=idempotency_key)


# --- starting --------------------------------------------------------------------------------------


def start_payment(order: Order, gateway_id: str | None = None) -> PaymentStep:
    """Begin (or resume) paying ``order`` with its gateway, or with ``gateway_id`` when
    the shopper picks another one; returns what the shopper sees next.

    The order's open payment with that gateway is reused (its public id is the
    idempotency key, and the provider's reference from an earlier start is passed back
    so the gateway resumes rather than creates). A step that is already ``done`` is
    applied at once. Raises :class:`OrderNotPayable` (409) when the order is not
    awaiting payment, :class:`UnknownProvider` (404) for a gateway that is not enabled,
    :class:`InvalidInput` for one not offered for this order, and
    :class:`PaymentUnavailable` when the gateway fails — the order stays payable.
    """
    chosen = gateway_id or order.payment_gateway_id
    gw = gateway(chosen)
    if chosen != order.payment_gateway_id:
        offered = {g.id for g in available_gateways(order.total, order_country(order))}
        if chosen not in offered:
            raise InvalidInput("That payment method is not available for this order.")
    payment = _open_payment(order, chosen)
    step = gw.start(_payment_request(order, payment))
    if not isinstance(step, PaymentStep):
        log.error("gateway %r returned %r from start(), not a PaymentStep", chosen, step)
        raise PaymentUnavailable(plugin=getattr(gw, "plugin", None))
    if step.psp_reference and step.psp_reference != (payment.psp_reference or ""):
        _store_reference(payment, step.psp_reference)
    if step.kind == "done":
        _apply(payment, _checked(step.result, chosen))
    return step


def _open_payment(order: Order, gateway_id: str) -> Payment:
    """The order's open payment with ``gateway_id``, created when there is none."""
    now = utcnow()
    # Locking the order row serialises two tabs starting at once (a current read, too:
    # MariaDB's snapshot may predate a payment another request just committed).
    locked = db.session.execute(select(Order.status, Order.total_minor, Order.currency)
                                .where(Order.id == order.id).with_for_update()).one()
    if locked.status != order_status.PENDING_PAYMENT:
        db.session.rollback()
        raise OrderNotPayable()
    if order.payment_gateway_id != gateway_id:
        order.payment_gateway_id = gateway_id
        order.updated_at = now
    payment = db.session.scalars(
        select(Payment).where(Payment.order_id == order.id, Payment.gateway_id == gateway_id, Payment.status == OPEN)
        .order_by(Payment.id.desc()).limit(1).with_for_update()
        .execution_options(populate_existing=True)).first()
    if payment is None or payment.amount_minor != locked.total_minor:
        if locked.total_minor <= 0:
            db.session.rollback()
            raise InvalidInput("This order has nothing to pay.")
        payment = Payment(public_id=new_payment_id(), order_id=order.id, gateway_id=gateway_id, status=OPEN,
                          amount_minor=locked.total_minor, currency=locked.currency, refunded_minor=0,
                          message="", created_at=now, updated_at=now)
        db.session.add(payment)
    db.session.commit()
    return payment


def _payment_request(order: Order, payment: Payment) -> PaymentRequest:
    return PaymentRequest(
        payment_id=payment.public_id, order_number=order.number,
        amount=Money(payment.amount_minor, payment.currency), email=order.email,
        return_url=url_for("payments.gateway_return", gateway_id=payment.gateway_id, payment=payment.public_id,
                           _external=True),
        cancel_url=url_for("payments.pay", number=order.number, _external=True),
        webhook_url=url_for("payments.webhook", gateway_id=payment.gateway_id, _external=True),
        idempotency_key=f"storefront-{payment.public_id}",
        psp_reference=payment.psp_reference or "")


def _store_reference(payment: Payment, reference: str) -> None:
    """Remember the provider's id of ``payment`` (webhooks are matched by it)."""
    try:
        db.session.execute(update(Payment).where(Payment.id == payment.id)
                           .values(psp_reference=reference[:100], updated_at=utcnow())
                           .execution_options(synchronize_session=False))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.error("gateway %r named payment %s %r, which another payment already has",
                  payment.gateway_id, payment.public_id, reference)
        raise PaymentUnavailable(plugin=payment.gateway_id) from None
    db.session.refresh(payment)


def _checked(result, gateway_id: str) -> PaymentResult:
    if (not isinstance(result, PaymentResult) or result.status not in RESULT_STATUSES
            or not isinstance(result.amount, Money)):
        log.error("gateway %r returned %r, not a PaymentResult", gateway_id, result)
        raise PaymentUnavailable(plugin=gateway_id)
    return result


# --- returns and webhooks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnOutcome:
    """Where the returning shopper goes next: their order, in which payment state, and a
    message to show when the gateway could not answer."""

    order_number: str
    payment_status: str
    message: str = ""


def handle_return(gateway_id: str, request: Request) -> ReturnOutcome:
    """The shopper came back from the provider (GET) or submitted a form the gateway
    rendered (POST, CSRF-checked, only for the shopper's own order):
    ``/payments/<gateway_id>/return?payment=pay_…``.

    The gateway reads the request and asks its provider; the result is applied exactly
    once (a webhook may have done it already). :class:`NotFound` for an unknown payment.
    """
    gw = gateway(gateway_id)
    payment = db.session.scalar(select(Payment).where(Payment.public_id == request.args.get("payment", ""),
                                                      Payment.gateway_id == gateway_id))
    if payment is None:
        raise NotFound("We could not find that payment.")
    number = payment.order.number
    if request.method == "POST":
        orders.viewable_order(number)  # a form may only act on the shopper's own order
        body = urlencode([(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"]).encode()
    else:
        body = b""
    callback = PaymentCallback(method=request.method, path=request.path, args=request.args.to_dict(),
                               headers=dict(request.headers.items()), body=body, payment=payment_ref(payment))
    try:
        result = _checked(gw.handle_callback(callback), gateway_id)
    except PaymentUnavailable as exc:
        return ReturnOutcome(number, payment.status, exc.message)
    if result.psp_reference and payment.psp_reference and result.psp_reference != payment.psp_reference:
        raise InvalidCallback("That answer is about another payment.")
    if result.psp_reference and not payment.psp_reference:
        _store_reference(payment, result.psp_reference)
    _apply(payment, result)
    db.session.refresh(payment)
    return ReturnOutcome(number, payment.status)


def handle_webhook(gateway_id: str, request: Request) -> str:
    """A provider's server-to-server notification: ``/payments/<gateway_id>/webhook``.

    Returns what happened: ``"applied"``, ``"unchanged"`` (already known),
    ``"duplicate"`` (an event id seen before: acknowledged, not acted on) or
    ``"ignored"`` (about no payment of ours). Raises :class:`UnknownProvider` (404),
    ``RequestEntityTooLarge`` (413) above :data:`WEBHOOK_MAX_BYTES`,
    :class:`InvalidCallback` (400: bad signature, malformed body — nothing changes) and
    :class:`PaymentUnavailable` (503: the gateway failed; the provider will retry).
    """
    gw = gateway(gateway_id)
    callback = PaymentCallback(method=request.method, path=request.path, args=request.args.to_dict(),
                               headers=dict(request.headers.items()), body=_limited_body(request))
    result = _checked(gw.handle_callback(callback), gateway_id)
    payment = _payment_for(gateway_id, result)
    if payment is None:
        log.info("webhook of %r about no payment of ours (%s %r) ignored", gateway_id, result.status,
                 result.psp_reference or result.payment_id)
        return "ignored"
    if result.event_id:
        db.session.add(ProviderEvent(gateway_id=gateway_id, event_id=result.event_id[:100],
                                     kind=result.status, received_at=utcnow()))
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return "duplicate"
    return "applied" if _apply(payment, result) else "unchanged"


def _limited_body(request: Request) -> bytes:
    if request.content_length is not None and request.content_length > WEBHOOK_MAX_BYTES:
        raise RequestEntityTooLarge()
    body = request.stream.read(WEBHOOK_MAX_BYTES + 1)
    if len(body) > WEBHOOK_MAX_BYTES:
        raise RequestEntityTooLarge()
    return body


def _payment_for(gateway_id: str, result: PaymentResult) -> Payment | None:
    """The payment a provider's result is about: by its reference, else by our id."""
    if result.psp_reference:
        payment = db.session.scalar(select(Payment).where(Payment.gateway_id == gateway_id,
                                                          Payment.psp_reference == result.psp_reference))
        if payment is not None:
            return payment
    if result.payment_id:
        payment = db.session.scalar(select(Payment).where(Payment.gateway_id == gateway_id,
                                                          Payment.public_id == result.payment_id))
        if payment is not None and payment.psp_reference in (None, "", result.psp_reference or None):
            if result.psp_reference and not payment.psp_reference:
                _store_reference(payment, result.psp_reference)
            return payment
    return None


# --- applying a result, exactly once --------------------------------------------------------------------


def _apply(payment: Payment, result: PaymentResult, *, actor=None) -> bool:
    """Move ``payment`` and its order as ``result`` says, exactly once, and commit
    (together with whatever the caller added, e.g. a :class:`ProviderEvent`).

    True when this call changed something.
    """
    if result.status == "refunded":
        return _book_provider_refund(payment, result)
    if result.status == "pending":
        db.session.commit()
        return False
    amount = Money(payment.amount_minor, payment.currency)
    if result.status == "paid" and result.amount != amount:
        log.error("payment %s: the provider reports %s paid, %s was asked; not marking the order paid",
                  payment.public_id, result.amount, amount)
        orders.record_event(payment.order, "payment",
                            f"The provider reported {result.amount} paid for payment {payment.public_id}, "
                            f"which asked {amount}: check it with the provider.")
        db.session.commit()
        return False
    values = {"status": result.status, "updated_at": utcnow()}
    if result.status in ("failed", "cancelled"):
        values["message"] = (result.message or FAILED_MESSAGE)[:255]
    changed = db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status.in_(TRANSITIONS[result.status]))
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1
    order = payment.order
    if result.status == "paid":
        now_paid = changed or db.session.scalar(
            select(Payment.status).where(Payment.id == payment.id).with_for_update()) == "paid"
        if not now_paid:
            db.session.commit()
            return False
        # Commits our UPDATE (and the caller's event row) with the order's transition.
        if orders.mark_paid(payment.order_id, payment=payment, actor=actor, amount=amount):
            return True
        if changed:
            db.session.refresh(order)
            log.warning("payment %s was paid while order %s is %s", payment.public_id, order.number, order.status)
            orders.record_event(order, "payment",
                                f"Payment {payment.public_id} of {amount} arrived while the order was "
                                f"{order_status.label(order.status).lower()}: "
                                "check whether it must be refunded.",
                                data={"payment_id": payment.public_id, "gateway_id": payment.gateway_id})
        db.session.commit()
        return changed
    if changed:
        name = gateway_name(payment.gateway_id)
        if result.status == "authorized":
            orders.record_event(order, "payment_authorized",
                                f"{amount} authorised through {name}; capture it to complete the order.",
                                data={"payment_id": payment.public_id}, actor=actor)
        else:
            orders.record_event(order, "payment_failed",
                                f"Payment through {name} {'was cancelled' if result.status == 'cancelled' else 'failed'}"
                                f": {values['message']}", data={"payment_id": payment.public_id}, actor=actor)
    db.session.commit()
    return changed


def _book_provider_refund(payment: Payment, result: PaymentResult) -> bool:
    """A provider says ``result.amount`` has been refunded in total on ``payment``:
    book the part the store did not make itself (a refund in the provider's dashboard)."""
    locked = db.session.scalars(select(Payment).where(Payment.id == payment.id).with_for_update()
                                .execution_options(populate_existing=True)).one()
    if result.amount.currency != locked.currency or locked.status not in SETTLED + ("refunded",):
        log.warning("refund report for payment %s (%s, %s) ignored", locked.public_id, locked.status, result.amount)
        db.session.commit()
        return False
    extra = min(result.amount.minor, locked.amount_minor) - locked.refunded_minor
    if extra <= 0:
        db.session.commit()
        return False
    amount = Money(extra, locked.currency)
    locked.refunded_minor += extra
    locked.status = "refunded" if locked.refunded_minor >= locked.amount_minor else "partially_refunded"
    locked.updated_at = utcnow()
    db.session.add(Refund(payment_id=locked.id, amount_minor=extra, status="succeeded", reason=(
        f"Refunded at {gateway_name(locked.gateway_id)}")[:255], created_at=utcnow()))
    order = db.session.get(Order, locked.order_id, with_for_update=True, populate_existing=True)
    bookable = order.status in order_status.REFUNDABLE and order.refunded_minor + extra <= order.paid_minor
    if not bookable:
        log.error("refund of %s made at the provider for order %s (%s) cannot be booked on the order",
                  amount, order.number, order.status)
        orders.record_event(order, "payment", f"{amount} was refunded at the provider, but the order "
                            "could not book it: check it.", data={"payment_id": locked.public_id})
        db.session.commit()
        return True
    orders.record_refund(order.id, amount)  # commits the payment side with it
    return True


# --- capture and refunds ---------------------------------------------------------------------------------


def capture_payment(order: Order, actor) -> Payment:
    """Staff capture the order's authorised payment (authorise-then-capture gateways);
    the order becomes paid (exactly once, whatever webhook arrives meanwhile).

    Raises :class:`InvalidInput` when there is nothing to capture and
    :class:`CaptureFailed` when the provider refuses or cannot be reached.
    """
    payment = payment_awaiting_capture(order)
    if payment is None:
        raise InvalidInput("This order has no authorised payment to capture.")
    amount = Money(payment.amount_minor, payment.currency)
    name = gateway_name(payment.gateway_id)
    try:
        result = _checked(gateway(payment.gateway_id).capture(
            payment_ref(payment, f"storefront-{payment.public_id}-capture"), amount), payment.gateway_id)
    except (PaymentUnavailable, UnknownProvider):
        raise CaptureFailed(f"{name} could not capture the payment right now; please try again later.") from None
    if result.status != "paid":
        raise CaptureFailed(result.message or f"{name} refused to capture the payment.")
    audit.record("payment.captured", actor=actor, target_type="order", target_id=order.number,
                 before={"payment": payment.public_id, "status": "authorized"},
                 after={"status": "paid", "amount_minor": amount.minor})
    _apply(payment, result, actor=actor)
    db.session.refresh(payment)
    return payment


def refund_payment(order: Order, amount: Money, *, reason: str = "", actor=None) -> Refund:
    """Refund ``amount`` of ``order`` through the gateway that took the money.

    The amount must be positive, in the order's currency and at most what is left to
    refund. It is reserved on the payment first (so concurrent refunds cannot exceed
    it), the gateway is asked with an idempotency key derived from the refund, and on
    success the refund is booked on the order
    (:func:`storefront.orders.services.record_refund`: status, event, e-mail, hook).
    Raises :class:`InvalidInput` for a bad amount and :class:`RefundFailed` when the
    provider refuses or cannot be reached (nothing is refunded then).
    """
    if not isinstance(amount, Money) or amount.currency != order.currency:
        raise InvalidInput(f"The refund must be an amount in {order.currency}.")
    if amount.minor <= 0:
        raise InvalidInput("The refund must be more than zero.")
    if amount > order.refundable:
        raise InvalidInput(f"At most {orders.formatted(order.refundable)} can be refunded.")
    payment = db.session.scalars(
        select(Payment).where(Payment.order_id == order.id, Payment.status.in_(SETTLED),
                              Payment.amount_minor - Payment.refunded_minor >= amount.minor)
        .order_by(Payment.id.desc()).limit(1)).first()
    if payment is None:
        raise InvalidInput(f"This order has no payment from which {orders.formatted(amount)} can be refunded.")
    now = utcnow()
    reserved = db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status.in_(SETTLED),
                              Payment.refunded_minor + amount.minor <= Payment.amount_minor)
        .values(refunded_minor=Payment.refunded_minor + amount.minor, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not reserved:
        db.session.rollback()
        raise InvalidInput("This payment was refunded meanwhile; reload the order and try again.")
    refund = Refund(payment_id=payment.id, amount_minor=amount.minor, status="pending",
                    reason=" ".join((reason or "").split())[:255], user_id=getattr(actor, "id", None),
                    created_at=now)
    db.session.add(refund)
    db.session.commit()

    name = gateway_name(payment.gateway_id)
    key = f"storefront-{payment.public_id}-refund-{refund.id}"
    try:
        result = _checked(gateway(payment.gateway_id).refund(payment_ref(payment, key), amount), payment.gateway_id)
    except (PaymentUnavailable, UnknownProvider):
        _release(refund, amount, f"{name} could not be reached")
        raise RefundFailed(f"{name} could not refund right now; nothing was refunded. Please try again later.") \
            from None
    if result.status != "refunded":
        _release(refund, amount, result.message)
        raise RefundFailed(result.message or f"{name} refused the refund; nothing was refunded.")
    refund.status = "succeeded"
    refund.psp_reference = (result.psp_reference or "")[:100] or None
    db.session.execute(update(Payment).where(Payment.id == payment.id).values(
        status=case((Payment.refunded_minor >= Payment.amount_minor, "refunded"), else_="partially_refunded"),
        updated_at=utcnow()).execution_options(synchronize_session=False))
    try:
        orders.record_refund(order.id, amount, actor=actor)  # commits the refund with it
    except StorefrontError:
        # The provider refunded; keep that on record even if the order cannot book it.
        db.session.rollback()
        log.exception("refund %s of order %s was made but could not be booked on the order", refund.id, order.number)
        refund = db.session.get(Refund, refund.id)
        refund.status = "succeeded"
        refund.psp_reference = (result.psp_reference or "")[:100] or None
        db.session.commit()
        raise
    return refund


def _release(refund: Refund, amount: Money, why: str) -> None:
    """A refund the gateway did not make: give its reservation back, mark it failed."""
    db.session.rollback()
    db.session.execute(update(Payment).where(Payment.id == refund.payment_id,
                                             Payment.refunded_minor >= amount.minor)
                       .values(refunded_minor=Payment.refunded_minor - amount.minor, updated_at=utcnow())
                       .execution_options(synchronize_session=False))
    refund = db.session.get(Refund, refund.id, populate_existing=True)
    refund.status = "failed"
    if why:
        refund.reason = f"{refund.reason} — failed: {why}".strip(" —")[:255]
    db.session.commit()
