"""The cart: adding from the product page, changing and removing lines with plain forms,
clear messages for bad quantities, the header's mini-cart, and carts kept per visitor."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from storefront.cart.models import Cart, CartLine
from storefront.extensions import db


@pytest.fixture
def app_config():
    return {"PLUGINS_AUTOLOAD": False, "CART_MAX_QUANTITY": 10}


@pytest.fixture
def shirt(make_product):
    return make_product("Linen shirt", price=2500, stock=5)


def page(response_or_client, url: str | None = None) -> str:
    response = response_or_client.get(url) if url else response_or_client
    return html.unescape(response.get_data(as_text=True))


def add(client, variant_id, quantity=1, **extra):
    return client.post("/cart/add", data={"variant_id": variant_id, "quantity": quantity, **extra})


def lines() -> list[tuple[int, int]]:
    return [(line.variant_id, line.quantity) for line in db.session.scalars(select(CartLine).order_by(CartLine.id))]


def mini_cart(text: str) -> str:
    """The header's cart link as a screen reader reads it."""
    link = re.search(r'data-testid="mini-cart"[^>]*>(.*?)</a>', text, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", link).split())


def test_a_guest_adds_a_product_and_sees_it_in_the_cart_and_the_header(client, shirt):
    variant = shirt.variants[0]

    response = add(client, variant.id, 2)

    assert response.status_code == 302 and response.location.endswith("/cart")
    text = page(client, "/cart")
    assert "Added 2 × Linen shirt to your cart." in text
    assert "Linen shirt" in text and 'name="quantity-' in text and "€50.00" in text
    assert mini_cart(text) == "Cart 2 items, €50.00"


def test_the_product_page_offers_add_to_cart_only_for_a_variant_in_stock(client, make_product):
    shirt = make_product("Shirt", variants=[{"price_minor": 1000, "stock": 0, "options": {"size": "S"}},
                                            {"price_minor": 1000, "stock": 3, "options": {"size": "M"}}])
    small, medium = shirt.variants

    assert "Add to cart" not in page(client, f"/p/shirt?variant={small.id}")
    text = page(client, f"/p/shirt?variant={medium.id}")
    assert "Add to cart" in text and f'name="variant_id" value="{medium.id}"' in text and 'max="3"' in text


def test_adding_again_sums_the_quantities_and_caps_them_at_the_stock(client, shirt):
    variant = shirt.variants[0]
    add(client, variant.id, 3)

    add(client, variant.id, 4)

    assert lines() == [(variant.id, 5)]
    assert "Only 5 of Linen shirt are available; your cart holds 5." in page(client, "/cart")
    add(client, variant.id, 1)
    assert "Your cart already holds 5 of Linen shirt (only 5 left)." in page(client, "/cart")


@pytest.mark.parametrize(("quantity", "message"), [
    ("-1", "The quantity cannot be negative."),
    ("0", "Choose a quantity of at least 1."),
    ("11", "You can order at most 10 of one item."),
    ("99999999999999999999", "The quantity must be a whole number, like 1 or 2."),
    ("two", "The quantity must be a whole number, like 1 or 2."),
    ("1.5", "The quantity must be a whole number, like 1 or 2."),
    ("", "Enter a quantity."),
])
def test_a_bad_quantity_gets_a_clear_message_and_adds_nothing(client, shirt, quantity, message):
    response = add(client, shirt.variants[0].id, quantity, return_to=f"/p/{shirt.slug}")

    assert response.status_code == 302 and response.location.endswith(f"/p/{shirt.slug}")
    assert message in page(client, "/cart")
    assert lines() == [] and db.session.scalar(select(func.count(Cart.id))) == 0


def test_an_unknown_or_unpublished_variant_cannot_be_added(client, shirt, make_product):
    draft = make_product("Secret", status="draft")

    for variant_id in ("999999", "abc", str(draft.variants[0].id)):
        add(client, variant_id)

    text = page(client, "/cart")
    assert "That item is not available." in text and "Choose an option of this product first." in text
    assert lines() == []


def test_a_sold_out_variant_cannot_be_added(client, make_product):
    gone = make_product("Gone", stock=0)

    add(client, gone.variants[0].id)

    assert "Gone is sold out." in page(client, "/cart") and lines() == []


def test_quantities_change_with_one_form_and_zero_removes_a_line(client, shirt, make_product):
    hat = make_product("Hat", price=1000, stock=9)
    add(client, shirt.variants[0].id)
    add(client, hat.variants[0].id)
    shirt_line, hat_line = db.session.scalars(select(CartLine).order_by(CartLine.id)).all()

    response = client.post("/cart/update", data={f"quantity-{shirt_line.id}": "3",
                                                  f"quantity-{hat_line.id}": "0"})

    assert response.status_code == 302
    assert lines() == [(shirt.variants[0].id, 3)]
    assert "Removed Hat from your cart." in page(client, "/cart")


def test_one_bad_quantity_in_an_update_changes_nothing(client, shirt, make_product):
    hat = make_product("Hat", price=1000, stock=9)
    add(client, shirt.variants[0].id)
    add(client, hat.variants[0].id)
    shirt_line, hat_line = db.session.scalars(select(CartLine).order_by(CartLine.id)).all()

    client.post("/cart/update", data={f"quantity-{shirt_line.id}": "2", f"quantity-{hat_line.id}": "-4"})

    assert "The quantity cannot be negative." in page(client, "/cart")
    assert lines() == [(shirt.variants[0].id, 1), (hat.variants[0].id, 1)]


def test_a_quantity_above_the_stock_is_capped_with_a_notice(client, shirt):
    add(client, shirt.variants[0].id)
    line = db.session.scalar(select(CartLine))

    client.post("/cart/update", data={f"quantity-{line.id}": "8"})

    assert lines() == [(shirt.variants[0].id, 5)]
    assert "Only 5 of Linen shirt are available; your cart holds 5." in page(client, "/cart")


def test_a_line_is_removed_with_its_button(client, shirt):
    add(client, shirt.variants[0].id)
    line = db.session.scalar(select(CartLine))

    response = client.post(f"/cart/lines/{line.id}/remove")

    assert response.status_code == 302 and lines() == []
    text = page(client, "/cart")
    assert "Removed Linen shirt from your cart." in text and "Your cart is empty." in text


def test_nobody_can_change_someone_elses_cart_line(app, client, shirt):
    add(client, shirt.variants[0].id, 2)
    line = db.session.scalar(select(CartLine))
    stranger = app.test_client()
    add(stranger, shirt.variants[0].id, 1)

    stranger.post(f"/cart/lines/{line.id}/remove")
    stranger.post("/cart/update", data={f"quantity-{line.id}": "5"})

    assert "That item is no longer in your cart." in page(stranger, "/cart")
    assert db.session.get(CartLine, line.id).quantity == 2


def test_each_visitor_has_their_own_cart(app, client, shirt):
    add(client, shirt.variants[0].id, 2)
    other = app.test_client()

    assert "Your cart is empty." in page(other, "/cart")
    assert mini_cart(page(other, "/cart")) == "Cart"


def test_a_signed_in_customers_cart_follows_them_to_another_device(app, shirt, make_user, login):
    customer = make_user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, customer)
    add(laptop, shirt.variants[0].id, 2)

    login(phone, customer)

    assert "Linen shirt" in page(phone, "/cart")
    assert db.session.scalar(select(Cart.user_id)) == customer.id


def test_a_cart_page_works_without_a_session_and_starts_none(client):
    response = client.get("/cart")

    assert response.status_code == 200 and "Your cart is empty." in page(response)
    assert db.session.scalar(select(func.count(Cart.id))) == 0


def test_the_mini_cart_costs_one_query(app, client, shirt):
    from sqlalchemy import event

    from storefront.cart.views import mini_cart as mini

    add(client, shirt.variants[0].id, 2)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.test_request_context():
        from flask import session

        from storefront.cart.services import SESSION_KEY

        session[SESSION_KEY] = db.session.scalar(select(Cart.token))
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            result = mini()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert (result.count, result.subtotal.minor) == (2, 5000)
    assert len(statements) == 1


def test_the_harbour_theme_shows_the_mini_cart_too(make_app):
    from storefront.testing import create_product

    harbour = make_app(THEME="harbour", PLUGINS_AUTOLOAD=False)
    with harbour.app_context():
        hat = create_product("Hat", price=1000, stock=3)
        client = harbour.test_client()
        add(client, hat.variants[0].id, 3)

        text = page(client, "/cart")

    assert "harbour-masthead" in text and mini_cart(text) == "Cart 3 items, €30.00"
