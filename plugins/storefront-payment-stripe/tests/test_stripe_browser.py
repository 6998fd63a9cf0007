"""A signed-in customer buys by card in real Chromium: the whole checkout, then the card
form of the Stripe plugin driven by localstripe's fake Stripe.js — once with a plain Visa
card, once with a 3-D Secure card that asks the shopper to authenticate. The orders end
paid exactly once, localstripe holds the charges, and the customer got the mails."""
from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from storefront.extensions import db
from storefront.orders.models import Order
from storefront.payments.models import Payment
from storefront.testing import TEST_PASSWORD, create_product, serve, watch_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VISA = "4242424242424242"
THREE_D_SECURE = "4000002500003155"


def subjects_to(outbox: Path, address: str) -> list[str]:
    found = []
    for file in sorted(outbox.glob("*.eml")):
        message = email.message_from_string(file.read_text(encoding="utf-8"), policy=policy.default)
        if message["To"] == address:
            found.append(str(message["Subject"]))
    return found


def buy_one(page, base: str, slug: str) -> str:
    """Cart → checkout → review → place; returns the order number on the payment page."""
    page.goto(f"{base}/p/{slug}")
    page.click("button:has-text('Add to cart')")
    page.goto(base + "/cart")
    page.click("text=Check out")
    # Signed in: no contact step; a returning customer's address is remembered, so
    # checkout starts at the first step still to do.
    if page.url.endswith("/checkout/address"):
        page.fill("#full_name", "Ada Lovelace")
        page.fill("#line1", "1 Analytical Street")
        page.fill("#postal_code", "10115")
        page.fill("#city", "Berlin")
        page.select_option("#country", "DE")
        page.click("button:has-text('Ship to this address')")
    if page.url.endswith("/checkout/shipping"):
        page.click("button:has-text('Continue to payment')")
    if page.url.endswith("/checkout/payment"):
        page.check("input[name=gateway_id][value=stripe]")
        page.click("button:has-text('Continue to review')")
    assert page.url.endswith("/checkout/review")
    page.click("button:has-text('Place order and pay')")
    assert "/checkout/pay/" in page.url
    return page.url.rsplit("/", 1)[1]


def type_card(page, number: str) -> None:
    card = "#stripe-card-element"
    page.wait_for_selector(f"{card} input[placeholder=number]")
    page.fill(f"{card} input[placeholder=number]", number)
    page.fill(f"{card} input[placeholder=exp_month]", "12")
    page.fill(f"{card} input[placeholder=exp_year]", "30")   # two digits, as on the card
    page.fill(f"{card} input[placeholder=cvc]", "123")
    page.fill(f"{card} input[placeholder=postal_code]", "10115")


def test_a_signed_in_customer_pays_by_card_and_by_a_card_that_needs_3d_secure(
        app, localstripe, configure_plugin, stripe_api, make_user, database_url, tmp_path, browser_page):
    page = browser_page
    problems = watch_page(page)
    configure_plugin("stripe", **localstripe.settings())
    create_product("Copper Kettle", price=3900, stock=5)
    customer = make_user(email="card@example.com")
    instance = tmp_path / "instance"
    config = {"DATABASE_URL": database_url, "SECRET_KEY": "card-journey-secret", "REDIS_URL": None,
              "LOG_LEVEL": "WARNING", "MAIL_BACKEND": "outbox", "PLUGINS_AUTOLOAD": False,
              "PLUGINS_EXTRA": ["storefront_flatrate", "storefront_stripe"], "RATELIMIT_ENABLED": False}
    with serve(config, instance_path=str(instance)) as base:
        page.goto(base + "/account/login")
        page.fill("#email", customer.email)
        page.fill("#password", TEST_PASSWORD)
        page.click("button:has-text('Sign in')")

        # A plain card: paid on the spot.
        first = buy_one(page, base, "copper-kettle")
        type_card(page, VISA)
        page.click("#stripe-card-form button[type=submit]")
        page.wait_for_url(f"**/orders/{first}/thanks")
        assert "Thank you for your order!" in page.inner_text("main")

        # A 3-D Secure card: the bank's challenge, then paid.
        second = buy_one(page, base, "copper-kettle")
        type_card(page, THREE_D_SECURE)
        page.click("#stripe-card-form button[type=submit]")
        page.click("button:has-text('Complete authentication')")
        page.wait_for_url(f"**/orders/{second}/thanks")
        assert "Thank you for your order!" in page.inner_text("main")

        page.goto(base + "/account/orders")
        history = page.inner_text("main")
        assert first in history and second in history

    db.session.rollback()   # a new transaction: MariaDB shows what the server committed since
    for number in (first, second):
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert (order.status, order.paid_minor) == ("paid", order.total_minor)
        [payment] = db.session.scalars(select(Payment).where(Payment.order_id == order.id)).all()
        intent = stripe_api.v1.payment_intents.retrieve(payment.psp_reference)
        assert (intent.status, intent.amount) == ("succeeded", order.total_minor)
        assert [event.kind for event in order.events].count("paid") == 1
    sent = subjects_to(instance / "outbox", customer.email)
    assert len(sent) == 4   # placed and paid, twice
    assert sum(first in subject for subject in sent) == 2 and sum(second in subject for subject in sent) == 2
    assert problems == []
