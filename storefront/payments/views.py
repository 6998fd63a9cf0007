"""Routes of the payments blueprint: the payment page, shoppers returning from a
provider, and providers' webhooks."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import InvalidInput, StorefrontError
from ..extensions import csrf
from ..orders import status as order_status
from ..orders.services import viewable_order
from ..plugins.types import PaymentUnavailable, UnknownProvider
from . import bp, services

#: Payment states after which the shopper has nothing left to do.
COMPLETED = ("paid", "authorized", "partially_refunded", "refunded")


def _confirmation(number: str):
    return redirect(url_for("orders.confirmation", number=number))


@bp.route("/checkout/pay/<number>", methods=["GET", "POST"])
def pay(number: str):
    """Pay for an order: the chosen gateway's step (a card form, bank details, a redirect
    to the provider); after a failure its message and the methods to try again with.
    POST (with ``gateway``) starts again, with that gateway."""
    order = viewable_order(number)
    if order.status != order_status.PENDING_PAYMENT or services.payment_awaiting_capture(order):
        return _confirmation(order.number)
    step, message, status = None, "", 200
    latest = services.latest_payment(order)
    if request.method == "GET" and latest is not None and latest.status in ("failed", "cancelled"):
        message = latest.message or services.FAILED_MESSAGE
    else:
        chosen = (request.form.get("gateway") or "").strip() if request.method == "POST" else ""
        try:
            step = services.start_payment(order, chosen or None)
        except services.OrderNotPayable:
            return _confirmation(order.number)
        except UnknownProvider:
            message = "That payment method is not available. Please choose another one."
            status = 400 if chosen else 200
        except InvalidInput as error:
            message, status = error.message, 400
        except PaymentUnavailable as error:
            message = error.message
        else:
            if step.kind == "redirect":
                return redirect(step.url)
            if step.kind == "done":
                if step.result.status not in ("failed", "cancelled"):
                    return _confirmation(order.number)
                message, step = step.result.message or services.FAILED_MESSAGE, None
    choices = services.available_gateways(order.total, services.order_country(order))
    return render_template("payments/pay.html", order=order, step=step, message=message, choices=choices,
                           current=order.payment_gateway_id), status


@bp.route("/payments/<gateway_id>/return", methods=["GET", "POST"])
def gateway_return(gateway_id: str):
    """The shopper is back from the provider (or submitted the gateway's form)."""
    outcome = services.handle_return(gateway_id, request)
    if outcome.message:
        flash(outcome.message, "error")
    if outcome.payment_status in COMPLETED:
        return _confirmation(outcome.order_number)
    return redirect(url_for("payments.pay", number=outcome.order_number))


@bp.route("/payments/<gateway_id>/webhook", methods=["POST"])
@csrf.exempt  # authenticated by the provider's signature, not a session
def webhook(gateway_id: str):
    """A provider's notification: 200 when handled or already handled, 400 when not
    authentic or unreadable (nothing changed), 404 for an unknown gateway, 503 when the
    gateway failed (the provider retries)."""
    try:
        outcome = services.handle_webhook(gateway_id, request)
    except StorefrontError as error:
        return jsonify(error=error.code, message=error.message), error.status
    except RequestEntityTooLarge:
        return jsonify(error="too_large", message="The notification is too large."), 413
    return jsonify(received=True, outcome=outcome)
