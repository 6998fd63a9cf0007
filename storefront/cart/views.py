"""Routes of the cart blueprint: the cart page, adding from a product page, changing
quantities, removing lines, coupons, the header's mini-cart, and the merge at sign-in.

Every form posts and redirects (post/redirect/get); nothing needs JavaScript. What the
shopper should know — a capped quantity, a changed price, a refused coupon — is flashed
on the page they land on.
"""
from __future__ import annotations

import logging

from flask import current_app, flash, has_request_context, redirect, render_template, request, session, url_for
from flask_login import current_user, user_logged_in
from sqlalchemy.exc import SQLAlchemyError

from ..auth.views import safe_next
from ..checkout import coupons
from ..checkout.pricing import price_cart
from ..errors import InvalidInput, StorefrontError
from ..extensions import csrf, db
from . import bp, services

log = logging.getLogger(__name__)

#: Most quantity fields one "update cart" post may carry.
MAX_LINES_PER_UPDATE = 200


def _user():
    return current_user if current_user.is_authenticated else None


def _flash_notices(notices) -> None:
    for notice in notices:
        flash(notice.message, notice.category)


def _back(default: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), default)


@bp.app_template_global("mini_cart")
def mini_cart() -> services.MiniCart | None:
    """Count and subtotal for the header; None (no link count) when unknown or empty."""
    try:
        return services.mini_cart(_user())
    except SQLAlchemyError:
        current_app.logger.warning("mini-cart unavailable", exc_info=True)
        db.session.rollback()
        return None


@bp.get("/cart")
def show():
    cart = services.current_cart(_user())
    _flash_notices(services.revalidate(cart))
    coupon, refused = coupons.coupon_of(cart, user=_user())
    if refused:
        flash(refused, "warning")
    if cart is None:
        totals = None
    else:
        totals = price_cart(cart, coupon=coupon)
    return render_template("cart/cart.html", totals=totals, cart=cart,
                           max_quantity=services.max_quantity())


@bp.post("/cart/add")
@csrf.exempt
def add():
    # Product pages shown to a visitor with no session and no cart are the same for
    # everyone and cached without a CSRF token (see storefront.catalog.cache). Such a
    # visitor has nothing a forged post could change, so their first "Add to cart" is
    # accepted without one; everyone else (signed in, or holding a cart) must send it.
    if current_app.config["WTF_CSRF_ENABLED"] and (
            current_user.is_authenticated or session.get(services.SESSION_KEY) or request.form.get("csrf_token")):
        csrf.protect()
    back = _back(url_for("cart.show"))
    try:
        services.parse_quantity(request.form.get("quantity", "1"))  # before a cart is created
        cart = services.current_cart(_user(), create=True)
        notices = services.add_item(cart, request.form.get("variant_id", ""), request.form.get("quantity", "1"))
    except StorefrontError as error:
        flash(error.message, "error")
        return redirect(safe_next(request.form.get("return_to"), back))
    _flash_notices(notices)
    return redirect(back)


@bp.post("/cart/update")
def update():
    cart = services.current_cart(_user())
    quantities = {key.removeprefix("quantity-"): value for key, value in request.form.items()
                  if key.startswith("quantity-")}
    try:
        if len(quantities) > MAX_LINES_PER_UPDATE:
            raise InvalidInput("Too many items in one update.")
        notices = services.update_quantities(cart, quantities)
    except StorefrontError as error:
        flash(error.message, "error")
    else:
        _flash_notices(notices)
        if not notices:
            flash("Your cart is up to date.", "info")
    return redirect(url_for("cart.show"))


@bp.post("/cart/lines/<int:line_id>/remove")
def remove(line_id: int):
    try:
        _flash_notices(services.remove_line(services.current_cart(_user()), line_id))
    except StorefrontError as error:
        flash(error.message, "error")
    return redirect(_back(url_for("cart.show")))


@bp.post("/cart/coupon")
def apply_coupon():
    back = _back(url_for("cart.show"))
    try:
        coupon = coupons.apply_coupon(services.current_cart(_user()), request.form.get("code", ""), user=_user())
    except StorefrontError as error:
        flash(error.message, "error")
    else:
        flash(f"The coupon {coupon.code} is applied.", "success")
    return redirect(back)


@bp.post("/cart/coupon/remove")
def remove_coupon():
    coupons.remove_coupon(services.current_cart(_user()))
    flash("The coupon is removed.", "info")
    return redirect(_back(url_for("cart.show")))


# --- sign-in ----------------------------------------------------------------------------------------


@user_logged_in.connect
def merge_cart_at_sign_in(sender, user, **extra) -> None:
    """Flask-Login's signal: the guest cart of this session joins the customer's cart."""
    if not has_request_context():
        return
    try:
        notices = services.merge_guest_cart(user)
    except SQLAlchemyError:
        # A cart problem must never stop someone signing in; the guest cart stays behind.
        log.exception("could not merge the guest cart at sign-in")
        db.session.rollback()
        return
    _flash_notices(notices)
