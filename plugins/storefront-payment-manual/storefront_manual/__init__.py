"""Manual payments: bank transfer or pay on delivery.

The shopper places the order and sees how to pay (the instructions, and for a bank
transfer the bank details, the amount and the order number as the reference). Nothing
is charged online: the order awaits payment until staff confirm the money arrived
("Mark paid" in the back office). Refunds are made by hand too; the gateway records them.
"""
from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from storefront.money import Money, format_money
from storefront.plugins import (PaymentCallback, PaymentRef, PaymentRequest, PaymentResult, PaymentStep, Setting,
                                get_settings, hookimpl)

#: Plugin name = the entry-point name in setup.cfg; the gateway id and settings namespace.
NAME = "manual"
STOREFRONT_REQUIRES = ">=0.1,<1"

BANK_TRANSFER = "bank_transfer"
CASH_ON_DELIVERY = "cash_on_delivery"
#: Shown at checkout when no title is set.
TITLES = {BANK_TRANSFER: "Bank transfer", CASH_ON_DELIVERY: "Pay on delivery"}
#: Shown after placing the order when no instructions are set.
INSTRUCTIONS = {
    BANK_TRANSFER: "Please transfer the amount below to our bank account, quoting your order number as the "
                   "reference. We ship your order as soon as the money has arrived.",
    CASH_ON_DELIVERY: "Please have the amount below ready when your parcel arrives; you pay the courier "
                      "on delivery.",
}

SETTINGS = [
    Setting("method", "str", default=BANK_TRANSFER, choices=(BANK_TRANSFER, CASH_ON_DELIVERY),
            label="Method", help="Bank transfer (pay before shipping) or pay on delivery (pay the courier)."),
    Setting("title", "str", optional=True, label="Name at checkout",
            help="What the shopper sees at checkout; empty means “Bank transfer” or “Pay on delivery”."),
    Setting("instructions", "str", optional=True, label="Instructions",
            help="Shown to the shopper after placing the order; empty means a standard text for the method."),
    Setting("bank_details", "str", optional=True, label="Bank details",
            help="Account holder, IBAN, BIC, bank: shown with bank transfers (one item per line)."),
    Setting("countries", "list", optional=True, label="Countries",
            help="ISO country codes (DE, AT …) where shoppers may pay this way; empty means everywhere."),
]


class ManualGateway:
    """A payment made outside the shop: the order waits until staff confirm it."""

    id = NAME

    @property
    def name(self) -> str:
        settings = get_settings(NAME)
        return settings["title"] or TITLES[settings["method"]]

    def is_available(self, amount: Money, country: str) -> bool:
        countries = {code.upper() for code in get_settings(NAME)["countries"]}
        return amount.minor > 0 and (not countries or country.upper() in countries)

    def start(self, request: PaymentRequest) -> PaymentStep:
        """The instructions (and bank details) to show; the order awaits payment."""
        settings = get_settings(NAME)
        method = settings["method"]
        amount = format_money(request.amount, current_app.config.get("STORE_LOCALE", "en_US"))
        parts = [Markup('<div class="manual-payment manual-payment-{}">').format(method.replace("_", "-")),
                 Markup("<p>{}</p>").format(settings["instructions"] or INSTRUCTIONS[method]),
                 Markup('<dl class="product-facts"><dt>Amount</dt><dd class="manual-payment-amount">{}</dd>')
                 .format(amount)]
        if method == BANK_TRANSFER:
            parts.append(Markup('<dt>Reference</dt><dd class="manual-payment-reference">{}</dd>')
                         .format(request.order_number))
        parts.append(Markup("</dl>"))
        if method == BANK_TRANSFER and settings["bank_details"].strip():
            lines = [line.strip() for line in settings["bank_details"].splitlines() if line.strip()]
            parts.append(Markup('<p class="manual-payment-bank">{}</p>').format(Markup("<br>").join(lines)))
        parts.append(Markup("</div>"))
        return PaymentStep.render(Markup("").join(parts))

    def handle_callback(self, callback: PaymentCallback) -> PaymentResult:
        """Nothing calls back for a manual payment: a return still awaits payment; any
        other callback names no payment of this gateway."""
        if callback.payment is None:
            return PaymentResult("failed", Money(0, current_app.config["STORE_CURRENCY"]),
                                 message="Manual payments have no notifications.")
        return PaymentResult("pending", callback.payment.amount, message="We are waiting for your payment.")

    def capture(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        """Staff confirm the money arrived."""
        if amount.minor <= 0:
            return PaymentResult("failed", amount, message="Nothing to capture.")
        return PaymentResult("paid", amount)

    def refund(self, payment: PaymentRef, amount: Money) -> PaymentResult:
        """Staff pay the money back by hand; the shop records it."""
        if amount.minor <= 0:
            return PaymentResult("failed", amount, message="Nothing to refund.")
        return PaymentResult("refunded", amount,
                             message="Pay this amount back to the customer yourself (bank transfer or cash).")


@hookimpl
def storefront_payment_gateways() -> list[ManualGateway]:
    return [ManualGateway()]
