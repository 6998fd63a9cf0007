"""Shipping quotes come from every shipping plugin; a failing plugin is left out and
checkout carries on with the others. With no shipping or no payment method, checkout
says so plainly instead of failing."""
from __future__ import annotations

import html
import logging

from sqlalchemy import select

from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.testing import create_product
from storefront.money import Money
from storefront.plugins import ShippingQuote, hookimpl

from checkout_plugins import FixedShipping, PaymentsStub
from checkout_steps import ADDRESS, add_to_cart


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


class BrokenShipping:
    PLUGIN_NAME = "brokenship"

    @hookimpl
    def storefront_shipping_quotes(self, request):
        raise RuntimeError("carrier API timed out")


class OddShipping:
    """Offers a quote in the wrong currency and one under another plugin's id."""

    PLUGIN_NAME = "oddship"

    @hookimpl
    def storefront_shipping_quotes(self, request):
        return [ShippingQuote("oddship:dollars", "Dollar post", Money(100, "USD")),
                ShippingQuote("testship:standard", "Impostor", Money(1, "EUR")),
                ShippingQuote("oddship:pigeon", "Pigeon", Money(50, "EUR"))]


def to_shipping_step(client, product, country_address=None):
    add_to_cart(client, product.variants[0].id, 1)
    client.post("/checkout/contact", data={"email": "ada@example.com"})
    client.post("/checkout/address", data=country_address or ADDRESS)
    return client.get("/checkout/shipping")


def test_a_raising_shipping_plugin_is_left_out_and_the_others_still_quote(make_plugin_app, caplog):
    app = make_plugin_app(BrokenShipping(), FixedShipping(), PaymentsStub(), PLUGINS_RAISE_ERRORS=False)
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=3)
        client = app.test_client()
        with caplog.at_level(logging.ERROR, logger="storefront.plugins.manager"):
            page = to_shipping_step(client, shirt)

        assert page.status_code == 200
        assert "Standard — €5.00" in text(page) and "Express — €15.00" in text(page)
        assert "plugin 'brokenship' failed in storefront_shipping_quotes" in caplog.text
        assert client.post("/checkout/shipping", data={"quote_id": "testship:express"}).status_code == 302


def test_quotes_in_another_currency_or_with_a_taken_id_are_left_out(make_plugin_app, caplog):
    app = make_plugin_app(FixedShipping(), OddShipping(), PaymentsStub(), PLUGINS_RAISE_ERRORS=False)
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=3)
        with caplog.at_level(logging.ERROR, logger="storefront.plugins.manager"):
            page = text(to_shipping_step(app.test_client(), shirt))

        assert "Pigeon — €0.50" in page and "Standard — €5.00" in page
        assert "Dollar post" not in page and "Impostor" not in page
        assert "not EUR" in caplog.text and "its ids must start with 'oddship:'" in caplog.text


def test_with_no_shipping_to_the_destination_checkout_says_so_plainly(app, client, make_product):
    shirt = make_product("Shirt", price=1000, stock=3)

    page = to_shipping_step(client, shirt, {**ADDRESS, "country": "IE", "postal_code": "", "city": "Dublin"})

    assert page.status_code == 200
    assert "Sorry, we cannot ship this order to IE at the moment." in text(page)
    assert client.get("/checkout/payment").location.endswith("/checkout/shipping")


def test_a_store_without_any_shipping_plugin_says_it_cannot_ship(make_plugin_app):
    app = make_plugin_app(PaymentsStub())
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=3)
        page = to_shipping_step(app.test_client(), shirt)
        assert "Sorry, we cannot ship this order to DE at the moment." in text(page)


def test_with_no_payment_method_checkout_says_so_plainly(make_plugin_app):
    app = make_plugin_app(FixedShipping(), PaymentsStub(available=False))
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=3)
        client = app.test_client()
        to_shipping_step(client, shirt)
        client.post("/checkout/shipping", data={"quote_id": "testship:standard"})

        page = client.get("/checkout/payment")

        assert page.status_code == 200
        assert "Sorry, no payment method is available for this order right now." in text(page)
        assert client.get("/checkout/review").location.endswith("/checkout/payment")


def test_a_new_address_forgets_the_shipping_method_chosen_for_the_old_one(app, client, make_product):
    shirt = make_product("Shirt", price=1000, stock=3)
    to_shipping_step(client, shirt)
    client.post("/checkout/shipping", data={"quote_id": "testship:express"})

    client.post("/checkout/address", data={**ADDRESS, "city": "Hamburg", "postal_code": "20095"})

    assert db.session.scalar(select(Cart.shipping_quote_id)) is None
    assert client.get("/checkout/review").location.endswith("/checkout/shipping")


def test_plugins_are_asked_with_the_cart_lines_destination_and_goods_subtotal(app, client, make_product, plugins):
    shipping = plugins[0]
    shirt = make_product("Shirt", variants=[{"price_minor": 1250, "stock": 3, "weight_grams": 400}])

    to_shipping_step(client, shirt)

    request = shipping.requests[-1]
    assert request.destination.country == "DE" and request.destination.postal_code == "10115"
    assert request.subtotal == Money(1250, "EUR") and request.weight_grams == 400
    assert [(line.sku, line.quantity) for line in request.lines] == [(shirt.variants[0].sku, 1)]
