"""Flat-rate shipping: one price for the countries of your zone, optionally another for
the rest of the world, free above a threshold. Every number is a setting."""
from __future__ import annotations

from storefront.money import Money
from storefront.plugins import Setting, ShippingQuote, ShippingRequest, get_settings, hookimpl

#: Plugin name = the entry-point name in setup.cfg; the settings namespace.
NAME = "flatrate"
STOREFRONT_REQUIRES = ">=0.1,<1"

SETTINGS = [
    Setting("label", "str", default="Standard shipping", label="Name at checkout",
            help="What the shopper sees at checkout."),
    Setting("countries", "list", optional=True, label="Countries of your zone",
            help="ISO country codes of your zone (DE, AT …); empty means every country."),
    Setting("rate_minor", "int", default=490, min=0, label="Rate in your zone (minor units)",
            help="Price for your zone in minor units of the store currency (490 = 4.90)."),
    Setting("other_rate_minor", "int", optional=True, min=0,
            label="Rate elsewhere (minor units)",
            help="Price for every other country; empty means you do not ship there."),
    Setting("free_above_minor", "int", optional=True, min=0,
            label="Free shipping from (minor units)",
            help="Carts whose subtotal reaches this amount ship free; empty means never."),
    Setting("eta_days", "int", optional=True, min=0, max=365, label="Days to delivery",
            help="Estimated days to delivery, shown to the shopper."),
]


@hookimpl
def storefront_shipping_quotes(request: ShippingRequest) -> list[ShippingQuote] | None:
    """One quote: the zone rate, the rest-of-world rate, or none when we do not ship there."""
    settings = get_settings(NAME)
    zone = {country.upper() for country in settings["countries"]}
    in_zone = not zone or request.destination.country in zone
    rate = settings["rate_minor"] if in_zone else settings["other_rate_minor"]
    if rate is None:
        return None
    if request.subtotal_reaches(settings["free_above_minor"]):
        rate = 0
    code = "standard" if in_zone else "international"
    return [ShippingQuote(f"{NAME}:{code}", settings["label"], Money(rate, request.subtotal.currency),
                          eta_days=settings["eta_days"])]
