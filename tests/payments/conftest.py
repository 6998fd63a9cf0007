"""A small payment provider for the core's payment tests, and the app that uses it.

``TestPay`` is a real plugin (registered through ``create_app(plugins=…)``) whose
"provider" is a dictionary in this process: what the shopper did at the provider
(``provider.pay(reference)``) and signed webhooks (``provider.webhook(...)``) are plain
HTTP requests against the app, exactly as a provider would send them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading

import pytest
from flask import current_app
from markupsafe import Markup

from storefront.money import Money
from storefront.plugins import (InvalidCallback, PaymentResult, PaymentStep, Setting, get_settings, hookimpl)

SECRET = "whsec_testpay"


class FakeProvider:
    """The provider's side: which payments were paid there, and notifications."""

    def __init__(self):
        self.paid: dict[str, int] = {}
        self.lock = threading.Lock()
        self.order_paid_events: list[str] = []

    def pay(self, reference: str, minor: int) -> None:
        with self.lock:
            self.paid[reference] = minor

    @staticmethod
    def sign(body: bytes, secret: str = SECRET) -> str:
        return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    def webhook_body(self, event_id: str, kind: str, reference: str, minor: int, currency: str = "EUR",
                     payment_id: str = "") -> bytes:
        return json.dumps({"id": event_id, "type": kind, "reference": reference, "amount": minor,
                           "currency": currency, "payment_id": payment_id}).encode()

    def post_webhook(self, client, body: bytes, signature: str | None = None, gateway: str = "testpay"):
        return client.post(f"/payments/{gateway}/webhook", data=body, content_type="application/json",
                           headers={"X-Testpay-Signature": self.sign(body) if signature is None else signature})


class TestPayGateway:
    """Behaviour chosen by the plugin's ``start`` / ``refund`` settings."""

    id = "testpay"
    name = "Test pay"

    def __init__(self, provider: FakeProvider):
        self.provider = provider

    def is_available(self, amount, country):
        return amount.minor > 0

    def start(self, request):
        mode = get_settings("testpay")["start"]
        reference = f"tp_{request.payment_id}"
        if mode == "raise":
            raise ConnectionError("the provider is down")
        if mode == "redirect":
            return PaymentStep.redirect(f"https://pay.example/{reference}", reference)
        if mode == "declined":
            return PaymentStep.done(PaymentResult("failed", request.amount, reference, message="Card declined by test"))
        if mode == "authorized":
            return PaymentStep.done(PaymentResult("authorized", request.amount, reference))
        return PaymentStep.render(Markup('<p class="testpay-step">Pay {} at Test pay</p>').format(
            request.amount.minor), reference)

    def handle_callback(self, callback):
        if callback.path.endswith("/webhook"):
            signature = next((v for k, v in callback.headers.items() if k.lower() == "x-testpay-signature"), "")
            if not hmac.compare_digest(signature, self.provider.sign(callback.body)):
                raise InvalidCallback("bad signature")
            try:
                event = json.loads(callback.body)
                return PaymentResult(event["type"], Money(int(event["amount"]), event["currency"]),
                                     event["reference"], event_id=event["id"], payment_id=event.get("payment_id", ""))
            except (ValueError, KeyError, TypeError):
                raise InvalidCallback("unreadable") from None
        payment = callback.payment
        if payment is None:
            return PaymentResult("failed", Money(0, current_app.config["STORE_CURRENCY"]), message="unknown")
        with self.provider.lock:
            minor = self.provider.paid.get(payment.psp_reference)
        if minor is None:
            return PaymentResult("pending", payment.amount, payment.psp_reference)
        return PaymentResult("paid", Money(minor, payment.amount.currency), payment.psp_reference)

    def capture(self, payment, amount):
        if amount.minor <= 0:
            return PaymentResult("failed", amount, message="Nothing to capture.")
        return PaymentResult("paid", amount, payment.psp_reference)

    def refund(self, payment, amount):
        mode = get_settings("testpay")["refund"]
        if mode == "raise":
            raise ConnectionError("the provider is down")
        if amount.minor <= 0 or mode == "refuse":
            return PaymentResult("failed", amount, message="Refund refused by test")
        return PaymentResult("refunded", amount, f"tpr_{payment.idempotency_key}")


class TestPay:
    """The plugin object."""

    PLUGIN_NAME = "testpay"
    STOREFRONT_REQUIRES = ">=0.1,<1"
    SETTINGS = [Setting("start", "str", default="render",
                        choices=("render", "redirect", "declined", "authorized", "raise")),
                Setting("refund", "str", default="ok", choices=("ok", "refuse", "raise"))]

    def __init__(self, provider: FakeProvider):
        self.provider = provider

    @hookimpl
    def storefront_payment_gateways(self):
        return [TestPayGateway(self.provider)]

    @hookimpl
    def storefront_order_paid(self, order, payment):
        self.provider.order_paid_events.append(order.number)


class ChequeGateway:
    """A second way to pay, so shoppers have something to switch to."""

    id = "cheque"
    name = "Cheque"

    def is_available(self, amount, country):
        return True

    def start(self, request):
        return PaymentStep.render(Markup('<p class="cheque-step">Send a cheque for order {}</p>').format(
            request.order_number))

    def handle_callback(self, callback):
        amount = callback.payment.amount if callback.payment else Money(0, current_app.config["STORE_CURRENCY"])
        return PaymentResult("pending" if callback.payment else "failed", amount)

    def capture(self, payment, amount):
        return PaymentResult("paid" if amount.minor > 0 else "failed", amount)

    def refund(self, payment, amount):
        return PaymentResult("refunded" if amount.minor > 0 else "failed", amount)


class Cheque:
    PLUGIN_NAME = "cheque"
    STOREFRONT_REQUIRES = ">=0.1,<1"

    @hookimpl
    def storefront_payment_gateways(self):
        return [ChequeGateway()]


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def app_config() -> dict:
    return {}


@pytest.fixture
def app(make_plugin_app, provider, app_config):
    application = make_plugin_app(TestPay(provider), Cheque(), **app_config)
    with application.app_context():
        yield application


@pytest.fixture
def testpay_order(make_order, shopper):
    """An order of the shopper awaiting payment through Test pay."""
    return make_order(user=shopper.user, gateway="testpay")
