"""Two tiny plugins the checkout tests load: shipping with fixed quotes and an
always-available payment gateway (the real gateways are separate plugins with their own
tests)."""
from __future__ import annotations

from storefront.money import Money
from storefront.plugins import ShippingQuote, hookimpl
from storefront.testing import OfflineGateway, gateway_plugin


class FixedShipping:
    """Standard 5.00 and Express 15.00 anywhere but Ireland ("IE")."""

    PLUGIN_NAME = "testship"

    def __init__(self, standard: int = 500, express: int = 1500):
        self.standard = standard
        self.express = express
        self.requests = []

    @hookimpl
    def storefront_shipping_quotes(self, request):
        self.requests.append(request)
        if request.destination.country == "IE":
            return None
        currency = request.subtotal.currency
        return [ShippingQuote("testship:standard", "Standard", Money(self.standard, currency), eta_days=3),
                ShippingQuote("testship:express", "Express", Money(self.express, currency), eta_days=1)]


def PaymentsStub(available: bool = True):
    """The always-available test gateway ("testpay") of the shipped kit, as a plugin."""
    return gateway_plugin(OfflineGateway("testpay", "Test payment", available), name="testpayments")
