"""Every time the cart is shown, each line is checked against the catalog as it is now:
changed prices, shrunk stock and withdrawn products are fixed in the cart and the
shopper is told what changed."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from storefront.cart.models import CartLine
from storefront.catalog import services as catalog
from storefront.extensions import db


@pytest.fixture
def app_config():
    return {"PLUGINS_AUTOLOAD": False}


@pytest.fixture
def shirt(make_product):
    return make_product("Linen shirt", price=2500, stock=5)


def cart_page(client) -> str:
    return html.unescape(client.get("/cart").get_data(as_text=True))


def in_cart(client, variant, quantity):
    client.post("/cart/add", data={"variant_id": variant.id, "quantity": quantity})
    client.get("/cart")  # read the "added" message


def test_a_changed_price_is_shown_with_the_old_and_new_price_once(client, shirt):
    variant = shirt.variants[0]
    in_cart(client, variant, 2)

    catalog.save_variant(shirt, {"sku": variant.sku, "price_minor": 2900, "stock": variant.stock}, variant)
    catalog.commit_product(shirt)

    text = cart_page(client)
    assert "The price of Linen shirt changed from €25.00 to €29.00." in text and "€58.00" in text
    assert db.session.scalar(select(CartLine.seen_price_minor)) == 2900
    assert "changed from" not in cart_page(client)  # said once; the shopper has seen it now


def test_a_line_above_the_remaining_stock_is_capped(client, shirt):
    variant = shirt.variants[0]
    in_cart(client, variant, 4)

    catalog.adjust_stock(variant.id, -3, "damaged")

    assert "Only 2 of Linen shirt are left; your cart now holds 2." in cart_page(client)
    assert db.session.scalar(select(CartLine.quantity)) == 2


def test_a_sold_out_line_is_removed(client, shirt):
    variant = shirt.variants[0]
    in_cart(client, variant, 1)

    catalog.adjust_stock(variant.id, -5, "damaged")

    text = cart_page(client)
    assert "Linen shirt is sold out and was removed from your cart." in text and "Your cart is empty." in text
    assert db.session.scalar(select(CartLine)) is None


@pytest.mark.parametrize("withdraw", ["unpublish", "deactivate_variant"])
def test_a_withdrawn_product_leaves_the_cart_with_a_notice(client, shirt, make_product, withdraw):
    hat = make_product("Hat", price=1000, stock=3)
    in_cart(client, shirt.variants[0], 1)
    in_cart(client, hat.variants[0], 1)

    if withdraw == "unpublish":
        catalog.set_status([shirt.id], "draft")
    else:
        variant = shirt.variants[0]
        catalog.save_variant(shirt, {"sku": variant.sku, "price_minor": 2500, "active": False}, variant)
        catalog.commit_product(shirt)

    assert "Linen shirt is no longer available and was removed from your cart." in cart_page(client)
    assert [line.variant_id for line in db.session.scalars(select(CartLine))] == [hat.variants[0].id]


def test_a_deleted_product_leaves_the_cart(client, shirt, make_product):
    hat = make_product("Hat", price=1000, stock=3)
    in_cart(client, shirt.variants[0], 1)
    in_cart(client, hat.variants[0], 1)

    catalog.delete_product(shirt)

    text = cart_page(client)
    assert "Hat" in text and "Linen shirt" not in text.split("<main", 1)[1]
    assert [line.variant_id for line in db.session.scalars(select(CartLine))] == [hat.variants[0].id]


def test_the_header_count_follows_the_corrected_cart(client, shirt):
    variant = shirt.variants[0]
    in_cart(client, variant, 4)
    catalog.adjust_stock(variant.id, -4, "damaged")

    text = cart_page(client)

    assert "Only 1 of Linen shirt are left" in text
    assert 'mini-cart-count">1<' in text
