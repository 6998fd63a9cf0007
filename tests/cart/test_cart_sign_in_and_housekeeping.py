"""Signing in folds the guest cart into the customer's cart (deterministically, capped at
the stock, saying what was capped); old guest carts are deleted by a periodic job; and
adding to the cart is protected against forged posts wherever there is something to
protect."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storefront import jobs
from storefront.cart.models import Cart, CartLine
from storefront.cart.services import remove_old_guest_carts
from storefront.clock import utcnow
from storefront.extensions import db
from storefront.testing import create_product


@pytest.fixture
def app_config():
    return {"PLUGINS_AUTOLOAD": False, "CART_MAX_QUANTITY": 10}


def add(client, variant, quantity=1):
    return client.post("/cart/add", data={"variant_id": variant.id, "quantity": quantity})


def cart_lines(user_id=None):
    query = select(CartLine.variant_id, CartLine.quantity).join(Cart).order_by(CartLine.variant_id)
    query = query.where(Cart.user_id == user_id) if user_id else query.where(Cart.user_id.is_(None))
    return [tuple(row) for row in db.session.execute(query)]


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_signing_in_sums_both_carts_and_caps_at_the_stock_with_a_notice(app, make_product, make_user, login):
    shirt = make_product("Linen shirt", price=2500, stock=4)
    hat = make_product("Hat", price=1000, stock=20)
    sock = make_product("Sock", price=300, stock=20)
    customer = make_user()
    laptop = app.test_client()
    login(laptop, customer)
    add(laptop, shirt.variants[0], 3)
    add(laptop, hat.variants[0], 2)
    laptop.get("/cart")

    phone = app.test_client()
    add(phone, shirt.variants[0], 2)   # 3 + 2 > 4 in stock
    add(phone, hat.variants[0], 9)     # 2 + 9 > CART_MAX_QUANTITY 10
    add(phone, sock.variants[0], 1)    # only in the guest cart
    phone.get("/cart")
    login(phone, customer)

    text = text_of(phone.get("/cart"))
    assert "We added the items from before you signed in to your cart." in text
    assert "Your carts held 5 of Linen shirt together; only 4 are available, so your cart holds 4." in text
    assert "Your carts held 11 of Hat together; only 10 are available, so your cart holds 10." in text
    assert cart_lines(customer.id) == sorted([(shirt.variants[0].id, 4), (hat.variants[0].id, 10),
                                              (sock.variants[0].id, 1)])
    assert db.session.scalar(select(func.count(Cart.id))) == 1   # the guest cart is gone


def test_a_customer_without_a_cart_simply_adopts_the_guest_cart(app, client, make_product, make_user, login):
    shirt = make_product("Linen shirt", price=2500, stock=4)
    customer = make_user()
    add(client, shirt.variants[0], 2)

    login(client, customer)

    assert cart_lines(customer.id) == [(shirt.variants[0].id, 2)]
    assert "Your cart is saved to your account." in text_of(client.get("/cart"))


def test_after_signing_out_the_browser_has_an_empty_cart_and_the_account_keeps_its_own(
        app, client, make_product, make_user, login):
    shirt = make_product("Linen shirt", price=2500, stock=4)
    customer = make_user()
    login(client, customer)
    add(client, shirt.variants[0], 1)

    client.post("/account/logout")

    assert "Your cart is empty." in text_of(client.get("/cart"))
    assert cart_lines(customer.id) == [(shirt.variants[0].id, 1)]


def test_guest_carts_older_than_the_setting_are_deleted_by_the_periodic_job(app, make_product, make_user):
    shirt = make_product("Linen shirt", stock=4)
    customer = make_user()
    old = utcnow() - timedelta(days=31)
    for token, user_id, updated in (("old-guest", None, old), ("fresh-guest", None, utcnow()),
                                    ("old-customer", customer.id, old)):
        cart = Cart(token=token, user_id=user_id, currency="EUR", created_at=updated, updated_at=updated, email="")
        cart.lines.append(CartLine(variant_id=shirt.variants[0].id, quantity=1, seen_price_minor=1000,
                                   added_at=updated))
        db.session.add(cart)
    db.session.commit()

    assert "cart.remove_old_guest_carts" in [job.name for job in jobs.state(app).periodic]
    assert remove_old_guest_carts() == 1

    assert sorted(db.session.scalars(select(Cart.token))) == ["fresh-guest", "old-customer"]
    assert db.session.scalar(select(func.count(CartLine.id))) == 2


# --- forged posts -------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(make_app):
    # Its own app (CSRF on), and no fixture that builds the default one: on MariaDB a
    # second app's session would read from an older snapshot.
    application = make_app(WTF_CSRF_ENABLED=True, PLUGINS_AUTOLOAD=False)
    with application.app_context():
        yield application


def token_from(text: str) -> str:
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', text).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


def test_a_first_visitor_adds_from_a_cached_product_page_and_then_needs_the_token(csrf_app):
    shirt = create_product("Linen shirt", price=2500, stock=4)
    client = csrf_app.test_client()
    first_page = client.get(f"/p/{shirt.slug}")
    assert first_page.headers["Cache-Control"] == "public, max-age=60"   # the same for everyone …
    assert token_from(text_of(first_page)) == ""                          # … so it carries no token

    assert add(client, shirt.variants[0]).status_code == 302
    assert cart_lines() == [(shirt.variants[0].id, 1)]

    # Now there is a cart to protect: a post without the token is refused …
    forged = add(client, shirt.variants[0])
    assert forged.status_code == 400 and "CSRF" in text_of(forged)
    # … and the product page, now private, carries a real one.
    page = client.get(f"/p/{shirt.slug}")
    assert "no-store" in page.headers["Cache-Control"]
    token = token_from(text_of(page))
    response = client.post("/cart/add", data={"variant_id": shirt.variants[0].id, "quantity": 1,
                                              "csrf_token": token})
    assert response.status_code == 302 and cart_lines() == [(shirt.variants[0].id, 2)]


def test_a_signed_in_shopper_always_needs_the_token(csrf_app):
    from storefront.auth.models import User
    from storefront.auth.passwords import hash_password

    shirt = create_product("Linen shirt", price=2500, stock=4)
    user = User(email="robin@example.com", password_hash=hash_password("correct horse battery staple"),
                name="Robin", role="customer", created_at=utcnow(), email_verified_at=utcnow())
    db.session.add(user)
    db.session.commit()
    client = csrf_app.test_client()
    login_page = text_of(client.get("/account/login"))
    client.post("/account/login", data={"email": user.email, "password": "correct horse battery staple",
                                        "csrf_token": token_from(login_page)})

    assert add(client, shirt.variants[0]).status_code == 400
    assert cart_lines(user.id) == []
