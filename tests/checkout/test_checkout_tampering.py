"""The browser is never trusted with money or stock: tampered prices are ignored,
tampered quantities refused with a message, a shipping id or gateway nobody offered is
refused, and a price change after the review stops the order until the shopper has seen
the new price."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from storefront.cart.models import Cart
from storefront.catalog import services as catalog
from storefront.catalog.models import Variant
from storefront.extensions import db
from storefront.orders.models import Order

from checkout_steps import add_to_cart, place, review_token, walk_to_review


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def shirt(make_product):
    return make_product("Linen shirt", price=2500, stock=5)


def test_price_fields_posted_by_the_browser_are_ignored(client, shirt):
    add_to_cart(client, shirt.variants[0].id, 1, price="1", price_minor="1", unit_price_minor="1")
    client.post("/checkout/contact", data={"email": "ada@example.com"})
    token = walk_to_review(client, email=None)

    place(client, token, total_minor="1", price="0.01", shipping_minor="0", discount_minor="2500")

    order = db.session.scalar(select(Order))
    assert (order.lines[0].unit_price_minor, order.shipping_minor, order.total_minor) == (2500, 500, 3000)


@pytest.mark.parametrize(("quantity", "message"), [
    ("-3", "The quantity cannot be negative."), ("0", "Choose a quantity of at least 1."),
    ("1000", "You can order at most 99 of one item."), ("1e3", "The quantity must be a whole number"),
    ("½", "The quantity must be a whole number"), ("3; DROP TABLE carts", "The quantity must be a whole number")])
def test_a_tampered_quantity_never_reaches_the_cart(client, shirt, quantity, message):
    response = add_to_cart(client, shirt.variants[0].id, quantity)

    assert response.status_code == 302
    assert message in text(client.get("/cart"))
    assert db.session.scalar(select(Cart)) is None


def test_a_shipping_id_nobody_offered_is_refused(client, shirt):
    add_to_cart(client, shirt.variants[0].id, 1)
    walk_to_review(client)

    response = client.post("/checkout/shipping", data={"quote_id": "testship:free-for-me"})

    assert response.status_code == 400
    assert "That shipping method is not available for your address." in text(response)
    assert db.session.scalar(select(Cart.shipping_quote_id)) == "testship:standard"


def test_an_unknown_gateway_gets_a_4xx(client, shirt):
    add_to_cart(client, shirt.variants[0].id, 1)
    walk_to_review(client)

    response = client.post("/checkout/payment", data={"gateway_id": "free-money"})

    assert response.status_code == 400
    assert "That payment method is not available for this order." in text(response)
    assert db.session.scalar(select(Cart.payment_gateway_id)) == "testpay"


def test_a_shipping_choice_that_vanished_before_placing_is_refused(app, client, shirt, plugins):
    add_to_cart(client, shirt.variants[0].id, 1)
    token = walk_to_review(client, quote_id="testship:express")
    cart = db.session.scalar(select(Cart))
    cart.shipping_quote_id = "testship:teleport"   # as if the plugin stopped offering it
    db.session.commit()

    response = place(client, token)

    assert response.location.endswith("/checkout/review")
    page = text(client.get(response.location, follow_redirects=True))
    assert "The shipping method you chose is no longer offered for this order." in page
    assert db.session.scalar(select(Order)) is None


def test_a_price_raised_after_the_review_stops_the_order_and_shows_the_new_price(client, shirt):
    variant = shirt.variants[0]
    add_to_cart(client, variant.id, 2)
    token = walk_to_review(client)
    catalog.save_variant(shirt, {"sku": variant.sku, "price_minor": 2700, "stock": variant.stock}, variant)
    catalog.commit_product(shirt)

    response = place(client, token)

    assert db.session.scalar(select(Order)) is None
    page = text(client.get(response.location, follow_redirects=True))
    assert "The price of Linen shirt changed from €25.00 to €27.00." in page
    place(client, review_token(client))
    order = db.session.scalar(select(Order))
    assert (order.subtotal_minor, order.total_minor) == (5400, 5900)


def test_stock_sold_elsewhere_after_the_review_is_refused_with_what_is_left(client, shirt):
    variant = shirt.variants[0]
    add_to_cart(client, variant.id, 4)
    token = walk_to_review(client)
    catalog.adjust_stock(variant.id, -3, "damaged")

    response = place(client, token)

    assert db.session.scalar(select(Order)) is None
    page = text(client.get(response.location, follow_redirects=True))
    assert "Only 2 of Linen shirt are left; your cart now holds 2." in page
    assert db.session.get(Variant, variant.id).stock == 2


def test_a_place_post_without_a_token_is_refused(client, shirt):
    add_to_cart(client, shirt.variants[0].id, 1)
    walk_to_review(client)

    response = client.post("/checkout/place", data={})

    assert response.location.endswith("/checkout/review")
    assert "Please review your order before placing it." in text(client.get("/checkout/review"))
    assert db.session.scalar(select(Order)) is None
