"""The shopper's side of orders: history and detail in the account, guest lookup, the
order page a guest reaches after checkout, the thank-you page and the printable invoice.

Every page finds the order through who is asking (:func:`services.viewable_order` or the
account's owner check): someone else's order is a 404, exactly like a missing one.
"""
from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length

from ..auth.views import run_form
from ..errors import NotFound
from ..extensions import limiter
from . import bp, services
from . import status as st


class LookupForm(FlaskForm):
    number = StringField("Order number", validators=[DataRequired(), Length(max=40)])
    email = EmailField("E-mail address used for the order", validators=[DataRequired(), Length(max=254)])


def _lookup_limit() -> str:
    return current_app.config["RATELIMIT_AUTH"]


def _submitted_number() -> str:
    """Per-order limit: guessing the e-mail of one order from many addresses is slow too."""
    return "order-lookup:" + services.normalise_number(request.form.get("number", ""))[:40]


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        abort(400, "The page number must be a whole number.")


def _authorised(order) -> bool:
    """A card payment is authorised and waits for staff to capture it: nothing for the shopper to do."""
    if order.status != st.PENDING_PAYMENT:
        return False
    from ..payments import services as payments  # lazily: payments imports the orders services

    return payments.payment_awaiting_capture(order) is not None


def _pay_url(order, authorised: bool) -> str | None:
    """The payment page (payments blueprint: instructions, card form) for an order still awaiting payment."""
    if order.status != st.PENDING_PAYMENT or authorised or "payments.pay" not in current_app.view_functions:
        return None
    return url_for("payments.pay", number=order.number)


def _payment_context(order) -> dict:
    authorised = _authorised(order)
    return {"status_label": st.label(order.status), "authorised": authorised,
            "pay_url": _pay_url(order, authorised)}


def _render_detail(order, *, in_account: bool):
    return render_template("orders/detail.html", order=order, in_account=in_account, **_payment_context(order))


# --- the account ---------------------------------------------------------------------------


@bp.get("/account/orders")
@login_required
def account_orders():
    page = _page()
    orders, has_next = services.customer_orders(current_user, page)
    return render_template("orders/history.html", orders=orders, page=page, has_next=has_next, labels=st.LABELS)


@bp.get("/account/orders/<number>")
@login_required
def account_order(number: str):
    order = services.find_order(number)
    if order is None or order.user_id != current_user.id:
        raise NotFound("We could not find that order.")
    return _render_detail(order, in_account=True)


# --- guests ----------------------------------------------------------------------------------


@bp.route("/orders/lookup", methods=["GET", "POST"])
@limiter.limit(_lookup_limit, methods=["POST"])
@limiter.limit(_lookup_limit, methods=["POST"], key_func=_submitted_number)
def lookup():
    form = LookupForm()
    if request.method == "GET" and request.args.get("number"):
        form.number.data = request.args["number"][:40]
    outcome = run_form(form, lambda: services.lookup_order(form.number.data, form.email.data))
    if outcome.ok:
        services.remember_order_in_session(outcome.value)
        return redirect(url_for("orders.detail", number=outcome.value.number))
    return render_template("orders/lookup.html", form=form), outcome.status


@bp.get("/orders/<number>")
def detail(number: str):
    order = services.viewable_order(number)
    return _render_detail(order, in_account=False)


@bp.get("/orders/<number>/thanks")
def confirmation(number: str):
    order = services.viewable_order(number)
    return render_template("orders/confirmation.html", order=order, **_payment_context(order),
                           summary=services.order_summary(order),
                           order_url=url_for("orders.account_order", number=order.number)
                           if current_user.is_authenticated and order.user_id == current_user.id
                           else url_for("orders.detail", number=order.number))


@bp.get("/orders/<number>/invoice")
def invoice(number: str):
    order = services.viewable_order(number)
    return render_template("orders/invoice.html", order=order, status_label=st.label(order.status))
