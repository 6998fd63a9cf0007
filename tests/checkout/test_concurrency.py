"""Placing orders under real concurrency on MariaDB: threads, each with its own app
context, database session and connection, released at the same moment.

* 100 buyers for 10 units: exactly 10 orders, stock 0 and never below, 90 clear refusals;
* one review page posted 20 times at once: one order, and every response leads to it;
* a coupon limited to 5 uses, 20 orders at once: exactly 5 uses;
* a coupon allowed once per customer, 5 orders by one e-mail at once: one use.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from storefront.cart.models import Cart
from storefront.catalog.models import StockMovement, Variant
from storefront.checkout.models import Coupon, CouponRedemption
from storefront.checkout.services import CheckoutProblem, place_order
from storefront.config import mariadb_engine_options
from storefront.extensions import db
from storefront.orders.models import Order

from checkout_steps import add_to_cart, walk_to_review

pytestmark = pytest.mark.mariadb

READY = {"shipping_quote_id": "testship:standard", "payment_gateway_id": "testpay"}


@pytest.fixture
def app_config(database_url):
    # One connection per thread, so the threads really meet in the database.
    return {"SQLALCHEMY_ENGINE_OPTIONS": {**mariadb_engine_options(database_url, 280), "pool_size": 40,
                                          "max_overflow": 70, "pool_timeout": 60}}


def run_at_once(count: int, work) -> list:
    """Run ``work(i)`` on ``count`` threads released together; results in order."""
    barrier = threading.Barrier(count, timeout=60)

    def start(i):
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def placer(app, cart_ids):
    """A thread's work: place cart ``i`` through the service, as the view does."""
    def work(i):
        with app.test_request_context("/checkout/place", method="POST"):
            try:
                cart = db.session.get(Cart, cart_ids[i])
                return "placed", place_order(cart, cart.checkout_token).number
            except CheckoutProblem as problem:
                return "refused", " ".join(problem.messages)
            finally:
                db.session.remove()
    return work


def fresh(query):
    db.session.rollback()   # our own snapshot is older than the threads' commits
    return db.session.scalar(query)


def test_a_hundred_buyers_for_ten_units_make_exactly_ten_orders(app, make_product, make_cart):
    product = make_product("Limited print", price=5000, stock=10)
    variant = product.variants[0]
    cart_ids = [make_cart([variant], email=f"buyer{i}@example.com", **READY).id for i in range(100)]

    results = run_at_once(100, placer(app, cart_ids))

    placed = [number for outcome, number in results if outcome == "placed"]
    refused = [message for outcome, message in results if outcome == "refused"]
    assert len(placed) == 10 and len(set(placed)) == 10 and len(refused) == 90
    assert all("sold out" in message or "left of Limited print" in message for message in refused), refused[:3]
    assert fresh(select(Variant.stock).where(Variant.id == variant.id)) == 0
    assert fresh(select(func.count(Order.id))) == 10
    sales = db.session.execute(select(func.count(), func.sum(StockMovement.delta), func.min(StockMovement.stock_after))
                               .where(StockMovement.reason == "sale")).one()
    assert tuple(sales) == (10, -10, 0)


def test_one_review_page_posted_twenty_times_at_once_makes_one_order(app, client, make_product):
    variant_id = make_product("Kettle", price=3000, stock=50).variants[0].id
    add_to_cart(client, variant_id, 2)
    token = walk_to_review(client)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    db.session.remove()

    def post(_):
        same_browser = app.test_client()
        same_browser.set_cookie(cookie.key, cookie.value)
        response = same_browser.post("/checkout/place", data={"checkout_token": token})
        return response.status_code, response.location

    responses = run_at_once(20, post)

    number = fresh(select(Order.number))
    assert fresh(select(func.count(Order.id))) == 1
    assert {status for status, _ in responses} == {302}
    assert all(number in location for _, location in responses), responses
    assert fresh(select(Variant.stock).where(Variant.id == variant_id)) == 48


def test_a_coupon_limited_to_five_uses_is_used_exactly_five_times(app, make_product, make_cart, make_coupon):
    make_coupon("FIVE", value=1000, usage_limit=5)
    products = [make_product(f"Gift {i}", price=2000, stock=3) for i in range(20)]
    cart_ids = [make_cart([p.variants[0]], email=f"fan{i}@example.com", coupon_code="FIVE", **READY).id
                for i, p in enumerate(products)]

    results = run_at_once(20, placer(app, cart_ids))

    placed = [number for outcome, number in results if outcome == "placed"]
    refused = [message for outcome, message in results if outcome == "refused"]
    assert len(placed) == 5 and len(refused) == 15
    assert all("The coupon FIVE has been used up." in message for message in refused), refused[:3]
    assert fresh(select(Coupon.used_count)) == 5
    assert db.session.scalar(select(func.count(CouponRedemption.id))) == 5
    assert db.session.scalar(select(func.count(Order.id)).where(Order.coupon_code == "FIVE")) == 5


def test_a_once_per_customer_coupon_is_used_once_by_concurrent_orders(app, make_product, make_cart, make_coupon):
    make_coupon("HELLO", value=1000, per_customer_limit=1)
    products = [make_product(f"Item {i}", price=2000, stock=3) for i in range(5)]
    cart_ids = [make_cart([p.variants[0]], email="same.person@example.com", coupon_code="HELLO", **READY).id
                for p in products]

    results = run_at_once(5, placer(app, cart_ids))

    assert [outcome for outcome, _ in results].count("placed") == 1
    assert all("You have already used the coupon HELLO." in message
               for outcome, message in results if outcome == "refused")
    assert fresh(select(func.count(CouponRedemption.id))) == 1
    assert db.session.scalar(select(Coupon.used_count)) == 1
