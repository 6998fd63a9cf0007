"""Back office: orders — the list (filters, search, pages), one order with its timeline,
and the staff actions: mark paid, ship (by line, with tracking), complete, cancel, refund,
note.

Views parse the form, call one service of :mod:`storefront.orders.services` (refunds go
through :func:`storefront.payments.services.refund_payment`, which books them with
``record_refund``), and redirect back to the order (post/redirect/get). A refused action
is a flash message on the order page, never an error page; every action is audit-logged
by the service in the same transaction as the change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..auth.forms import EmptyForm
from ..auth.models import User
from ..errors import InvalidInput, StorefrontError
from ..extensions import db
from ..money import Money, MoneyParseError, parse_money
from ..orders import services
from ..orders import status as st
from ..orders.models import Order
from . import bp
from .guard import staff_required

PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 100
#: The ``status`` filter value for every order with units left to ship, whatever its
#: status (paid, partially shipped, partially refunded): the dashboard's "to ship" link.
TO_SHIP = "to_ship"


class FilterError(ValueError):
    """A filter value the list cannot use; the message says how to fix it."""


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        raise FilterError("The page number must be a whole number.") from None


def _day(name: str, label: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"Enter the {label} date as YYYY-MM-DD.") from None


def _filters() -> dict[str, str]:
    return {key: request.args.get(key, "").strip()[:SEARCH_MAX_LENGTH] for key in ("status", "from", "to", "gateway", "q")}


def _order_query(filters: dict[str, str]):
    query = select(Order)
    if filters["status"] == TO_SHIP:
        query = query.where(services.to_ship_condition())
    elif filters["status"]:
        if filters["status"] not in st.STATUSES:
            raise FilterError("Choose a status from the list.")
        query = query.where(Order.status == filters["status"])
    start, end = _day("from", "“from”"), _day("to", "“to”")
    if start and end and end < start:
        raise FilterError("The “to” date is before the “from” date.")
    if start:
        query = query.where(Order.placed_at >= datetime.combine(start, datetime.min.time()))
    if end:
        query = query.where(Order.placed_at < datetime.combine(end + timedelta(days=1), datetime.min.time()))
    if filters["gateway"]:
        query = query.where(Order.payment_gateway_id == filters["gateway"])
    if filters["q"]:
        text = filters["q"].lower()
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Order.number == services.normalise_number(filters["q"]),
                                func.lower(Order.number).like(like, escape="\\"),
                                func.lower(Order.email).like(like, escape="\\"),
                                func.lower(Order.customer_name).like(like, escape="\\")))
    return query


def _gateways() -> list[str]:
    return sorted(g for g in db.session.scalars(select(Order.payment_gateway_id).distinct()) if g)


def _orders_page(filters: dict[str, str], orders: list[Order], page: int, has_next: bool) -> str:
    return render_template("admin/orders.html", orders=orders, filters=filters, page=page, has_next=has_next,
                           statuses=st.LABELS, counts=services.status_counts(), to_ship=TO_SHIP,
                           to_ship_count=services.to_ship_count(), gateways=_gateways())


@bp.get("/orders")
@staff_required
def orders():
    filters = _filters()
    try:
        page = _page()
        query = _order_query(filters)
    except FilterError as error:
        flash(str(error), "error")
        return _orders_page(filters, [], 1, False), 400
    rows = db.session.scalars(query.order_by(Order.placed_at.desc(), Order.id.desc())
                              .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return _orders_page(filters, rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


def _get_order(number: str) -> Order:
    order = services.find_order(number)
    if order is None:
        abort(404)
    return order


@dataclass(frozen=True)
class PaymentView:
    payment: object
    amount: Money
    refunded: Money
    refunds: list[tuple[object, Money]]


def _payments_of(order: Order) -> list[PaymentView]:
    from ..payments.models import Payment

    payments = db.session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)).all()
    return [PaymentView(p, Money(p.amount_minor, p.currency), Money(p.refunded_minor or 0, p.currency),
                        [(r, Money(r.amount_minor, p.currency)) for r in p.refunds]) for p in payments]


@bp.get("/orders/<number>")
@staff_required
def order(number: str):
    order = _get_order(number)
    user_ids = {e.user_id for e in order.events if e.user_id} | {f.user_id for f in order.fulfilments if f.user_id}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    from ..payments import services as payments

    capturable = payments.payment_awaiting_capture(order) is not None
    return render_template("admin/order.html", order=order, status_label=st.label(order.status),
                           labels=st.LABELS, people=people, payments=_payments_of(order), form=EmptyForm(),
                           can_capture=capturable,
                           can_mark_paid=order.status in st.sources_for(st.PAID) and not capturable,
                           can_fulfil=order.status in st.FULFILLABLE and any(l.quantity_to_ship for l in order.lines),
                           can_complete=services.completable(order),
                           can_cancel=order.status in st.CANCELLABLE,
                           can_refund=order.status in st.REFUNDABLE and order.refundable.minor > 0)


@bp.get("/orders/<number>/invoice")
@staff_required
def order_invoice(number: str):
    order = _get_order(number)
    return render_template("orders/invoice.html", order=order, status_label=st.label(order.status))


# --- actions ---------------------------------------------------------------------------------


def _back(order: Order):
    return redirect(url_for("admin.order", number=order.number))


def _checked_form() -> bool:
    """The CSRF token (when CSRF is on, a missing one never reaches the view)."""
    if EmptyForm().validate_on_submit():
        return True
    flash("The form expired. Please try again.", "error")
    return False


def _staff_action(number: str, action, success) -> Response:
    """Run one staff action on order ``number`` and go back to it. ``action(order)`` calls
    the service; a domain error (or bad input it raises as :class:`InvalidInput`) becomes
    a flash message. ``success`` is the message, or builds it from the action's result."""
    order = _get_order(number)
    if not _checked_form():
        return _back(order)
    try:
        result = action(order)
    except StorefrontError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(success(result) if callable(success) else success, "success")
    return _back(order)


@bp.post("/orders/<number>/mark-paid")
@staff_required
def mark_order_paid(number: str):
    def mark(order: Order) -> str:
        if not services.mark_paid(order.id, actor=current_user, record_payment=True):
            raise InvalidInput(f"Order {order.number} is not awaiting payment any more; nothing changed.")
        return order.number

    return _staff_action(number, mark, "Order {} is marked paid; the customer was told.".format)


@bp.post("/orders/<number>/capture")
@staff_required
def capture_order_payment(number: str):
    """Authorise-then-capture gateways: take the authorised money now (the order becomes paid)."""
    return _staff_action(number, lambda order: payments().capture_payment(order, current_user),
                         "Payment captured; the order is paid.")


def _shipped_quantities(order: Order) -> dict[int, int]:
    quantities: dict[int, int] = {}
    for line in order.lines:
        raw = request.form.get(f"quantity-{line.id}", "").strip()
        if raw:
            try:
                quantities[line.id] = int(raw)
            except ValueError:
                raise InvalidInput(f"Enter a whole number of units to ship for {line.title}.") from None
    return quantities


@bp.post("/orders/<number>/fulfil")
@staff_required
def fulfil_order(number: str):
    return _staff_action(number, lambda order: services.fulfil_order(
        order.id, _shipped_quantities(order), carrier=request.form.get("carrier", ""),
        tracking_number=request.form.get("tracking_number", ""), tracking_url=request.form.get("tracking_url", ""),
        actor=current_user), "Shipment recorded; the customer was sent the tracking details.")


@bp.post("/orders/<number>/complete")
@staff_required
def complete_order(number: str):
    return _staff_action(number, lambda order: services.complete_order(order.id, actor=current_user),
                         lambda order: f"Order {order.number} is completed.")


@bp.post("/orders/<number>/cancel")
@staff_required
def cancel_order(number: str):
    def cancel(order: Order) -> Order:
        reason = request.form.get("reason", "").strip()
        if not reason:
            raise InvalidInput("Say why the order is cancelled (the customer reads it).")
        if len(reason) > 255:
            raise InvalidInput("Keep the reason under 255 characters.")
        return services.cancel_order(order.id, reason, actor=current_user)

    return _staff_action(number, cancel, lambda order: f"Order {order.number} is cancelled; its stock is back on sale.")


def _refund_amount(order: Order) -> Money:
    """The amount typed (or everything left with ``full``); the payments service checks it
    against what can still be refunded."""
    if request.form.get("full"):
        return services.refundable_amount(order)
    try:
        return parse_money(request.form.get("amount", ""), order.currency, current_app.config["STORE_LOCALE"])
    except MoneyParseError as error:
        raise InvalidInput(str(error)) from None


@bp.post("/orders/<number>/refund")
@staff_required
def refund_order(number: str):
    def refund(order: Order) -> str:
        if order.status not in st.REFUNDABLE or services.refundable_amount(order).minor <= 0:
            raise InvalidInput("There is nothing left to refund on this order.")
        amount = _refund_amount(order)
        reason = " ".join(request.form.get("reason", "").split())[:255]
        payments().refund_payment(order, amount, reason=reason, actor=current_user)
        return f"Refunded {services.formatted(amount)} through {order.payment_gateway_id}."

    return _staff_action(number, refund, lambda message: message)


@bp.post("/orders/<number>/note")
@staff_required
def add_order_note(number: str):
    return _staff_action(number, lambda order: services.add_note(order.id, request.form.get("text", ""),
                                                                 actor=current_user), "Note added.")


def payments():
    """The payments services, imported when first needed: they import the orders services."""
    from ..payments import services as payment_services

    return payment_services
