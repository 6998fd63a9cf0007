"""Routes of the checkout blueprint: contact → address → shipping → payment → review →
place. Each step is a plain form that posts and redirects to the next one; a step whose
predecessors are not done yet sends the shopper back to the first one missing.

Every page re-checks the cart (:func:`services.checkout_state`) and shows what changed.
Placing the order redirects to the payment page (``payments.pay``).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth import addresses
from ..cart import services as carts
from ..errors import StorefrontError
from . import bp, services
from .forms import ContactForm, ShippingAddressForm
from .services import STEP_LABELS, STEPS, CheckoutProblem


def _user():
    return current_user if current_user.is_authenticated else None


def _step_url(step: str) -> str:
    return url_for("cart.show") if step == "cart" else url_for(f"checkout.{step}")


class _Redirect(Exception):
    def __init__(self, response):
        self.response = response


def _state(step: str, *, with_gateways: bool = False):
    """The checked checkout for ``step``, or a redirect to where the shopper must go first."""
    cart = carts.current_cart(_user())
    if cart is None or not cart.lines:
        flash("Your cart is empty.", "info")
        raise _Redirect(redirect(url_for("cart.show")))
    state = services.checkout_state(cart, _user(), with_gateways=with_gateways)
    for message in state.notices:
        flash(message, "warning")
    if state.next_step == "cart":
        raise _Redirect(redirect(url_for("cart.show")))
    if not state.reached(step):
        raise _Redirect(redirect(_step_url(state.next_step)))
    return state


def _page(template: str, state, step: str, status: int = 200, **context):
    return render_template(template, state=state, totals=state.totals, step=step, steps=STEPS,
                           step_labels=STEP_LABELS, **context), status


@bp.errorhandler(_Redirect)
def _follow(redirect_: _Redirect):
    return redirect_.response


@bp.get("/checkout")
def start():
    return redirect(_step_url(_state("contact").next_step))


# --- contact ----------------------------------------------------------------------------------------


@bp.route("/checkout/contact", methods=["GET", "POST"])
def contact():
    state = _state("contact")
    form = ContactForm(email=state.email or None)
    if _user() is None and form.validate_on_submit():
        try:
            services.set_contact(state.cart, form.email.data)
        except StorefrontError as error:
            form.email.errors = [error.message]
        else:
            return redirect(url_for("checkout.address"))
    status = 400 if request.method == "POST" else 200
    if _user() is not None and request.method == "POST":
        return redirect(url_for("checkout.address"))
    return _page("checkout/contact.html", state, "contact", status, form=form,
                 sign_in_url=url_for("auth.login", next=url_for("checkout.start")))


# --- address ----------------------------------------------------------------------------------------


@bp.route("/checkout/address", methods=["GET", "POST"])
def address():
    state = _state("address")
    user = _user()
    saved = addresses.list_addresses(user) if user is not None else []
    current = state.cart.shipping_address or {}
    form = ShippingAddressForm(data={name: current.get(name, "") for name in addresses.FIELDS} if current else None)
    status = 200
    if request.method == "POST":
        try:
            if "address_id" in request.form and user is not None:
                services.use_saved_address(state.cart, user, request.form["address_id"])
                return redirect(url_for("checkout.shipping"))
            form = ShippingAddressForm()
            if form.validate_on_submit():
                problems = services.address_problems(form.data)
                for name, message in problems.items():
                    form[name].errors = [message]
                if not problems:
                    services.set_address(state.cart, form.data, user=user,
                                         save=bool(user is not None and form.save_to_book.data))
                    return redirect(url_for("checkout.shipping"))
        except StorefrontError as error:
            if error.status == 404:
                raise
            flash(error.message, "error")
        status = 400
    chosen = next((a.id for a in saved if current and all((getattr(a, n) or "") == current.get(n, "")
                                                          for n in addresses.FIELDS)), None)
    return _page("checkout/address.html", state, "address", status, form=form, saved=saved, chosen=chosen)


# --- shipping ---------------------------------------------------------------------------------------


def _choice_step(step: str, field: str, choose, next_endpoint: str, *, with_gateways: bool):
    """A step where the shopper picks one offered option (``field`` of the form): saved
    through ``choose(cart, user, value)``, then on to ``next_endpoint``; a refused choice
    shows the page again with the message and a 4xx."""
    state = _state(step, with_gateways=with_gateways)
    status = 200
    if request.method == "POST":
        try:
            choose(state.cart, _user(), request.form.get(field, ""), state=state)
        except StorefrontError as error:
            flash(error.message, "error")
            status = error.status if 400 <= error.status < 500 else 400
        else:
            return redirect(url_for(next_endpoint))
    return _page(f"checkout/{step}.html", state, step, status)


@bp.route("/checkout/shipping", methods=["GET", "POST"])
def shipping():
    return _choice_step("shipping", "quote_id", services.choose_shipping, "checkout.payment", with_gateways=False)


# --- payment ----------------------------------------------------------------------------------------


@bp.route("/checkout/payment", methods=["GET", "POST"])
def payment():
    return _choice_step("payment", "gateway_id", services.choose_payment, "checkout.review", with_gateways=True)


# --- review and place ---------------------------------------------------------------------------------


@bp.get("/checkout/review")
def review():
    state = _state("review", with_gateways=True)
    token = services.issue_checkout_token(state.cart)
    return _page("checkout/checkout.html", state, "review", checkout_token=token,
                 coupon_next=url_for("checkout.review"), snapshot=state.snapshot())


@bp.post("/checkout/place")
def place():
    from ..orders.services import remember_order_in_session

    cart = carts.current_cart(_user())
    try:
        order = services.place_order(cart, request.form.get("checkout_token", ""), user=_user())
    except CheckoutProblem as problem:
        for message in problem.messages:
            flash(message, "warning")
        return redirect(_step_url(problem.step))
    remember_order_in_session(order)
    return redirect(url_for("payments.pay", number=order.number))
