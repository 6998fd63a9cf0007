"""Coupons: percentage, fixed and free shipping; minimum subtotal; validity window;
total and per-customer limits; product and category scope — each refusal with a message
that says why, and every use counted when the order is placed."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import select

from storefront.cart.models import Cart, CartLine
from storefront.checkout.models import Coupon, CouponRedemption
from storefront.checkout.pricing import price_cart
from storefront.clock import utcnow
from storefront.extensions import db
from storefront.orders.models import Order

from checkout_steps import add_to_cart, place, review_token, walk_to_review


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def apply(client, code, **extra):
    return client.post("/cart/coupon", data={"code": code, **extra})


def cart_page(client) -> str:
    return text(client.get("/cart"))


@pytest.fixture
def shirt(make_product):
    return make_product("Linen shirt", price=2500, stock=20)


@pytest.fixture
def hat(make_product):
    return make_product("Hat", price=1000, stock=20)


def test_a_percentage_coupon_discounts_the_cart_and_is_counted_when_the_order_is_placed(client, shirt, make_coupon):
    make_coupon("SPRING15", value=1500)
    add_to_cart(client, shirt.variants[0].id, 2)

    response = apply(client, "spring15")   # any case

    assert response.location.endswith("/cart")
    page = cart_page(client)
    assert "The coupon SPRING15 is applied." in page and "−€7.50" in page and "€42.50" in page
    place(client, walk_to_review(client))
    order = db.session.scalar(select(Order))
    assert (order.coupon_code, order.discount_minor, order.total_minor) == ("SPRING15", 750, 4250 + 500)
    assert order.lines[0].discount_minor == 750 and order.lines[0].total_minor == 4250
    redemption = db.session.scalar(select(CouponRedemption))
    assert (redemption.order_id, redemption.email, redemption.amount_minor) == (order.id, "ada@example.com", 750)
    assert db.session.scalar(select(Coupon.used_count)) == 1


def test_a_fixed_discount_is_spread_over_the_lines_and_adds_up_exactly(app, make_product, make_cart, make_coupon):
    products = [make_product(f"Thing {n}", price=price, stock=5) for n, price in enumerate((333, 333, 334))]
    coupon = make_coupon("TENOFF", kind="fixed", value=100)
    cart = make_cart([p.variants[0] for p in products])

    totals = price_cart(cart, coupon=coupon)

    assert [line.discount.minor for line in totals.lines] == [33, 33, 34]
    assert totals.discount.minor == 100 and totals.total.minor == 900


def test_a_fixed_discount_never_exceeds_what_it_applies_to(app, make_product, make_cart, make_coupon):
    cheap = make_product("Cheap", price=300, stock=5)
    coupon = make_coupon("BIG", kind="fixed", value=5000)

    totals = price_cart(make_cart([cheap.variants[0]]), coupon=coupon)

    assert (totals.discount.minor, totals.total.minor) == (300, 0)


def test_a_free_shipping_coupon_makes_the_chosen_shipping_free(client, shirt, make_coupon):
    make_coupon("SHIPFREE", kind="free_shipping", value=0)
    add_to_cart(client, shirt.variants[0].id, 1)
    apply(client, "SHIPFREE")
    token = walk_to_review(client, quote_id="testship:express")

    page = text(client.get("/checkout/review"))
    assert "<s>€15.00</s> €0.00" in page
    place(client, token)
    order = db.session.scalar(select(Order))
    assert (order.shipping_minor, order.discount_minor, order.total_minor) == (0, 0, 2500)
    assert db.session.scalar(select(CouponRedemption.amount_minor)) == 1500


@pytest.mark.parametrize(("values", "message"), [
    ({"active": False}, "The coupon DEAL is no longer valid."),
    ({"ends_at": utcnow() - timedelta(days=1)}, "The coupon DEAL expired on"),
    ({"starts_at": utcnow() + timedelta(days=3)}, "The coupon DEAL is valid from"),
    ({"min_subtotal_minor": 5000}, "The coupon DEAL needs a subtotal of at least €50.00; add €25.00 more."),
])
def test_a_coupon_that_cannot_be_used_says_why(client, shirt, make_coupon, values, message):
    make_coupon("DEAL", **values)
    add_to_cart(client, shirt.variants[0].id, 1)

    apply(client, "DEAL")

    assert message in cart_page(client)
    assert db.session.scalar(select(Cart.coupon_code)) is None


def test_an_unknown_code_is_refused_by_name(client, shirt):
    add_to_cart(client, shirt.variants[0].id, 1)

    apply(client, "NOPE")
    apply(client, "")

    page = cart_page(client)
    assert "We do not know the coupon code NOPE. Please check the spelling." in page
    assert "Enter a coupon code." in page


def test_a_used_up_coupon_is_refused(client, shirt, make_coupon):
    coupon = make_coupon("ONCE", usage_limit=1)
    coupon.used_count = 1
    db.session.commit()
    add_to_cart(client, shirt.variants[0].id, 1)

    apply(client, "ONCE")

    assert "The coupon ONCE has been used up." in cart_page(client)


def test_a_customer_may_use_a_coupon_only_as_often_as_allowed(app, shirt, make_coupon, make_user, login):
    make_coupon("WELCOME", per_customer_limit=1)
    customer = make_user(email="grace@example.com")
    client = app.test_client()
    login(client, customer)
    add_to_cart(client, shirt.variants[0].id, 1)
    apply(client, "WELCOME")
    place(client, walk_to_review(client, email=None))

    add_to_cart(client, shirt.variants[0].id, 1)
    apply(client, "WELCOME")
    assert "You have already used the coupon WELCOME." in cart_page(client)

    guest = app.test_client()   # the same person as a guest, by e-mail
    add_to_cart(guest, shirt.variants[0].id, 1)
    guest.post("/checkout/contact", data={"email": "Grace@Example.com"})
    apply(guest, "WELCOME")
    assert "You have already used the coupon WELCOME." in cart_page(guest)


def test_a_product_scoped_coupon_discounts_only_that_product(client, shirt, hat, make_coupon):
    make_coupon("HATS", value=5000, product_ids=(hat.id,))
    add_to_cart(client, shirt.variants[0].id, 1)
    add_to_cart(client, hat.variants[0].id, 1)
    apply(client, "HATS")
    place(client, walk_to_review(client))

    order = db.session.scalar(select(Order))
    assert {line.title: line.discount_minor for line in order.lines} == {"Linen shirt": 0, "Hat": 500}


def test_a_category_coupon_covers_its_sub_categories(app, make_category, make_product, make_cart, make_coupon):
    clothing = make_category("Clothing")
    shirts = make_category("Shirts", parent=clothing)
    shirt = make_product("Shirt", price=2000, stock=5, categories=[shirts])
    mug = make_product("Mug", price=1000, stock=5)
    coupon = make_coupon("CLOTHES", value=1000, category_ids=(clothing.id,))

    totals = price_cart(make_cart([shirt.variants[0], mug.variants[0]]), coupon=coupon)

    assert [(line.title, line.discount.minor) for line in totals.lines] == [("Shirt", 200), ("Mug", 0)]


def test_a_scoped_coupon_with_nothing_to_apply_to_says_so(client, shirt, hat, make_coupon):
    make_coupon("HATS", product_ids=(hat.id,))
    add_to_cart(client, shirt.variants[0].id, 1)

    apply(client, "HATS")

    assert "The coupon HATS does not apply to anything in your cart." in cart_page(client)


def test_a_coupon_that_stops_applying_is_taken_off_with_a_notice(client, shirt, make_coupon):
    make_coupon("BIGCART", min_subtotal_minor=5000)
    add_to_cart(client, shirt.variants[0].id, 2)
    apply(client, "BIGCART")
    line = db.session.scalar(select(CartLine))

    client.post("/cart/update", data={f"quantity-{line.id}": "1"})

    page = cart_page(client)
    assert ("The coupon BIGCART needs a subtotal of at least €50.00; add €25.00 more. "
            "It was removed from your cart.") in page
    assert db.session.scalar(select(Cart.coupon_code)) is None


def test_a_coupon_used_up_after_the_review_stops_the_order_until_reviewed_again(app, client, shirt, make_coupon):
    coupon = make_coupon("LAST", usage_limit=1)
    add_to_cart(client, shirt.variants[0].id, 1)
    apply(client, "LAST")
    token = walk_to_review(client)
    coupon.used_count = 1   # someone else's order took the last use meanwhile
    db.session.commit()

    response = place(client, token)

    assert db.session.scalar(select(Order)) is None
    page = text(client.get(response.location, follow_redirects=True))
    assert "The coupon LAST has been used up. It was removed from your cart." in page
    place(client, review_token(client))
    order = db.session.scalar(select(Order))
    assert (order.coupon_code, order.discount_minor, order.total_minor) == (None, 0, 3000)


def test_a_coupon_can_be_removed_from_the_review_page(client, shirt, make_coupon):
    make_coupon("SPRING15", value=1500)
    add_to_cart(client, shirt.variants[0].id, 1)
    apply(client, "SPRING15")
    walk_to_review(client)

    response = client.post("/cart/coupon/remove", data={"next": "/checkout/review"})

    assert response.location.endswith("/checkout/review")
    page = text(client.get("/checkout/review"))
    assert "The coupon is removed." in page and "SPRING15" not in page.split("<main", 1)[1]
