"""A shopper goes through checkout with plain forms (no JavaScript) and ends up with one
order awaiting payment: prices, shipping and tax recomputed on the server, stock taken,
price snapshots on the lines, the confirmation e-mail queued, the cart emptied."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from storefront.auth.models import Address
from storefront.cart.models import Cart
from storefront.catalog.models import StockMovement, Variant
from storefront.extensions import db
from storefront.testing import create_product, mail_text
from storefront.orders.models import Order
from storefront.plugins import hookimpl

from checkout_steps import ADDRESS, add_to_cart, place, review_token, walk_to_review


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def orders() -> list[Order]:
    return list(db.session.scalars(select(Order).order_by(Order.id)))


@pytest.fixture
def shirt(make_product):
    return make_product("Linen shirt", price=2500, stock=5,
                        variants=[{"price_minor": 2500, "stock": 5, "options": {"size": "M"}}])


def test_a_guest_places_an_order_that_awaits_payment(app, client, shirt, sent_mail):
    variant = shirt.variants[0]
    add_to_cart(client, variant.id, 2)
    token = walk_to_review(client)

    response = place(client, token)

    [order] = orders()
    assert response.status_code == 302 and response.location.endswith(f"/checkout/pay/{order.number}")
    assert order.status == "pending_payment" and order.email == "ada@example.com" and order.user_id is None
    assert (order.subtotal_minor, order.discount_minor, order.shipping_minor, order.tax_minor,
            order.total_minor) == (5000, 0, 500, 0, 5500)
    assert order.shipping_address["city"] == "Berlin" and order.shipping_label == "Standard"
    assert order.payment_gateway_id == "testpay" and order.checkout_token == token
    assert order.pay_by is not None and order.pay_by > order.placed_at
    [line] = order.lines
    assert (line.sku, line.title, line.options, line.quantity, line.unit_price_minor, line.total_minor) == (
        variant.sku, "Linen shirt", "Size: M", 2, 2500, 5000)
    assert db.session.get(Variant, variant.id).stock == 3
    movement = db.session.scalar(select(StockMovement).where(StockMovement.reason == "sale"))
    assert (movement.delta, movement.order_id, movement.stock_after) == (-2, order.id, 3)
    assert "Your cart is empty" in text(client.get("/cart"))
    assert [message["To"] for message in sent_mail] == ["ada@example.com"]
    assert order.number in mail_text(sent_mail[0])


def test_the_order_keeps_its_prices_when_the_catalog_changes_later(app, client, shirt):
    from storefront.catalog import services as catalog

    add_to_cart(client, shirt.variants[0].id, 1)
    place(client, walk_to_review(client))
    variant = shirt.variants[0]
    catalog.save_variant(shirt, {"sku": variant.sku, "price_minor": 9900, "stock": variant.stock}, variant)
    catalog.save_product({"title": "Renamed"}, product=shirt)

    [order] = orders()
    assert (order.lines[0].unit_price_minor, order.lines[0].title) == (2500, "Linen shirt")


def test_posting_the_same_review_page_twice_gives_the_same_order(app, client, shirt):
    add_to_cart(client, shirt.variants[0].id, 1)
    token = walk_to_review(client)

    first = place(client, token)
    second = place(client, token)   # double click, back button, retry

    assert first.location == second.location
    assert len(orders()) == 1 and db.session.get(Variant, shirt.variants[0].id).stock == 4


def test_a_review_page_is_stale_once_the_cart_changes(app, client, shirt, make_product):
    hat = make_product("Hat", price=1000, stock=5)
    add_to_cart(client, shirt.variants[0].id, 1)
    token = walk_to_review(client)
    add_to_cart(client, hat.variants[0].id, 1)   # in another tab, after reviewing

    response = place(client, token)

    assert response.status_code == 302 and response.location.endswith("/checkout/review")
    assert "Your cart changed since you reviewed it." in text(client.get("/checkout/review"))
    assert orders() == []


def test_steps_cannot_be_skipped(app, client, shirt):
    assert client.get("/checkout").location.endswith("/cart")    # nothing in the cart
    add_to_cart(client, shirt.variants[0].id, 1)

    assert client.get("/checkout").location.endswith("/checkout/contact")
    assert client.get("/checkout/review").location.endswith("/checkout/contact")
    client.post("/checkout/contact", data={"email": "ada@example.com"})
    assert client.get("/checkout/shipping").location.endswith("/checkout/address")
    assert client.post("/checkout/payment", data={"gateway_id": "testpay"}).location.endswith("/checkout/address")


def test_a_guest_must_give_a_valid_email(client, shirt):
    add_to_cart(client, shirt.variants[0].id, 1)

    response = client.post("/checkout/contact", data={"email": "not-an-address"})

    assert response.status_code == 400 and "Enter a valid e-mail address" in text(response)


def test_the_address_needs_the_fields_its_country_requires(client, shirt):
    add_to_cart(client, shirt.variants[0].id, 1)
    client.post("/checkout/contact", data={"email": "ada@example.com"})

    response = client.post("/checkout/address", data={**ADDRESS, "country": "US", "postal_code": "", "region": ""})

    page = text(response)
    assert response.status_code == 400
    assert "State / region is required for addresses in US." in page
    assert "Postal code is required for addresses in US." in page
    assert db.session.scalar(select(Cart.shipping_address)) is None


def test_a_signed_in_customer_ships_to_an_address_from_their_book(app, shirt, make_user, login):
    customer = make_user(email="grace@example.com")
    home = Address(user_id=customer.id, full_name="Grace Hopper", line1="2 Compiler Way", city="Paris",
                   postal_code="75001", country="FR", is_default_shipping=True)
    db.session.add(home)
    db.session.commit()
    client = app.test_client()
    login(client, customer)
    add_to_cart(client, shirt.variants[0].id, 1)

    assert client.get("/checkout").location.endswith("/checkout/address")   # signed in: no contact step
    page = text(client.get("/checkout/address"))
    assert "2 Compiler Way" in page and f'name="address_id" value="{home.id}"' in page
    assert client.post("/checkout/address", data={"address_id": home.id}).location.endswith("/checkout/shipping")
    client.post("/checkout/shipping", data={"quote_id": "testship:express"})
    client.post("/checkout/payment", data={"gateway_id": "testpay"})
    place(client, review_token(client))

    [order] = orders()
    assert (order.user_id, order.email, order.shipping_address["city"]) == (customer.id, "grace@example.com", "Paris")
    assert (order.shipping_minor, order.total_minor) == (1500, 4000)


def test_someone_elses_saved_address_is_not_found(app, shirt, make_user, login):
    stranger = make_user()
    theirs = Address(user_id=stranger.id, full_name="S", line1="Secret 1", city="Rome", postal_code="00100",
                     country="IT")
    db.session.add(theirs)
    db.session.commit()
    client = app.test_client()
    login(client, make_user())
    add_to_cart(client, shirt.variants[0].id, 1)

    response = client.post("/checkout/address", data={"address_id": theirs.id})

    assert response.status_code == 404 and db.session.scalar(select(Cart.shipping_address)) is None


def test_a_signed_in_customer_may_save_a_new_address_to_their_book(app, shirt, make_user, login):
    customer = make_user()
    client = app.test_client()
    login(client, customer)
    add_to_cart(client, shirt.variants[0].id, 1)

    client.post("/checkout/address", data={**ADDRESS, "save_to_book": "y"})

    assert db.session.scalar(select(Address.city).where(Address.user_id == customer.id)) == "Berlin"


def test_the_order_placed_event_reaches_plugins_after_the_commit(make_app):
    from checkout_plugins import FixedShipping, PaymentsStub

    class Listener:
        PLUGIN_NAME = "listener"
        seen = []

        @hookimpl
        def storefront_order_placed(self, order):
            # committed already: a fresh connection sees it
            with db.engine.connect() as connection:
                found = connection.scalar(select(func.count(Order.id)).where(Order.id == order.id))
            self.seen.append((order.number, order.total.minor, found))

    listener = Listener()
    app = make_app(plugins=(FixedShipping(), PaymentsStub(), listener), PLUGINS_AUTOLOAD=False)
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=2)
        client = app.test_client()
        add_to_cart(client, shirt.variants[0].id, 1)
        place(client, walk_to_review(client))
        [order] = orders()
        assert listener.seen == [(order.number, 1500, 1)]


def test_a_plugin_can_refuse_the_checkout_with_its_message(make_app):
    from checkout_plugins import FixedShipping, PaymentsStub

    class NoIslands:
        PLUGIN_NAME = "noislands"

        @hookimpl
        def storefront_validate_checkout(self, checkout):
            if checkout.destination and checkout.destination.postal_code.startswith("18"):
                return ["We cannot deliver to islands yet."]
            return None

    app = make_app(plugins=(FixedShipping(), PaymentsStub(), NoIslands()), PLUGINS_AUTOLOAD=False)
    with app.app_context():
        shirt = create_product("Shirt", price=1000, stock=2)
        client = app.test_client()
        add_to_cart(client, shirt.variants[0].id, 1)
        token = walk_to_review(client, address={**ADDRESS, "postal_code": "18565", "city": "Hiddensee"})

        response = place(client, token)

        assert response.location.endswith("/checkout/review")
        assert "We cannot deliver to islands yet." in text(client.get("/checkout/review"))
        assert orders() == [] and db.session.get(Variant, shirt.variants[0].id).stock == 2
