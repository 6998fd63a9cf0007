"""The Stripe plugin's tests run the real ``stripe`` SDK against localstripe (the
session-scoped ``localstripe`` fixture of storefront.testing) on 127.0.0.1."""
import re

import pytest
import stripe
from sqlalchemy import select

import storefront_stripe

pytest_plugins = ["storefront.testing"]

WEBHOOK_SECRET = "whsec_storefront_test"


@pytest.fixture
def stripe_settings() -> dict:
    """Extra plugin settings for a test module (capture mode …)."""
    return {}


@pytest.fixture
def app(make_plugin_app, localstripe, configure_plugin, stripe_settings):
    application = make_plugin_app(storefront_stripe)
    with application.app_context():
        configure_plugin("stripe", **localstripe.settings(webhook_secret=WEBHOOK_SECRET, **stripe_settings))
        yield application


@pytest.fixture
def stripe_api(localstripe) -> stripe.StripeClient:
    """The Stripe API as a test (or the Stripe dashboard) sees it."""
    return stripe.StripeClient(localstripe.secret_key, base_addresses={"api": localstripe.api_base})


@pytest.fixture
def order(make_order, shopper):
    """The shopper's order of 20.00 EUR, to be paid by card."""
    return make_order(user=shopper.user, gateway="stripe")


class CardPage:
    """The payment page as the shopper's browser sees it, and what Stripe.js would post."""

    def __init__(self, client, order):
        self.client, self.order = client, order

    def open(self):
        response = self.client.get(f"/checkout/pay/{self.order.number}")
        self.html = response.get_data(as_text=True)
        self.response = response
        return response

    def data(self, name: str) -> str:
        return re.search(rf'data-{name}="([^"]*)"', self.html).group(1)

    @property
    def payment(self):
        from storefront.extensions import db
        from storefront.payments.models import Payment

        db.session.expire_all()
        return db.session.scalars(select(Payment).where(Payment.order_id == self.order.id)
                                  .order_by(Payment.id.desc())).first()

    def pay_with(self, payment_method: str):
        """The card form's POST, with the payment method Stripe.js created."""
        return self.client.post(self.data("return-url").replace("&amp;", "&"),
                                data={"payment_method": payment_method})


@pytest.fixture
def card_page(shopper, order) -> CardPage:
    return CardPage(shopper, order)
