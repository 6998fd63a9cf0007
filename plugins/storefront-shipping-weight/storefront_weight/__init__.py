"""Table-rate shipping by weight and zone: the parcel's weight picks a bracket of the
destination's zone; heavier parcels pay per extra kilogram or are not shipped; free
above a threshold. The table is one setting (see :mod:`.table` for its format)."""
from __future__ import annotations

from storefront.money import Money
from storefront.plugins import Setting, ShippingQuote, ShippingRequest, get_settings, hookimpl

from .table import Beyond, Bracket, RateTable, Zone, check_table, parse_table

#: Plugin name = the entry-point name in setup.cfg; the settings namespace.
NAME = "weight"
STOREFRONT_REQUIRES = ">=0.1,<1"

SETTINGS = [
    Setting("label", "str", default="Parcel", label="Name at checkout",
            help="What the shopper sees at checkout."),
    Setting("rates", "text", optional=True, validate=check_table, label="Rate table",
            help="One line per zone: zone | countries (or * for the rest) | brackets like 1kg=490 5kg=790 "
                 "(prices in minor units) | optionally +150/kg for parcels above the last bracket, "
                 "which are not shipped otherwise. Empty: no quotes."),
    Setting("free_above_minor", "int", optional=True, min=0,
            label="Free shipping from (minor units)",
            help="Carts whose subtotal reaches this amount ship free; empty means never."),
    Setting("unweighed_item_grams", "int", optional=True, min=0, max=1_000_000,
            label="Weight of an item without one (grams)",
            help="Counted for each unit whose product has no weight; empty counts such items as 0 g."),
    Setting("eta_days", "int", optional=True, min=0, max=365, label="Days to delivery",
            help="Estimated days to delivery, shown to the shopper."),
]

__all__ = ["NAME", "SETTINGS", "Beyond", "Bracket", "RateTable", "Zone", "parcel_grams", "parse_table",
           "storefront_shipping_quotes"]


def parcel_grams(request: ShippingRequest, unweighed_item_grams: int | None = None) -> int:
    """The cart's weight; units without a weight count ``unweighed_item_grams`` each."""
    assumed = unweighed_item_grams or 0
    return sum((line.weight_grams or assumed) * line.quantity for line in request.lines)


@hookimpl
def storefront_shipping_quotes(request: ShippingRequest) -> list[ShippingQuote] | None:
    """The price of the destination zone's bracket for the cart's weight; none when no
    zone lists the country or the parcel is heavier than the zone takes."""
    settings = get_settings(NAME)
    zone = parse_table(settings["rates"]).zone_for(request.destination.country)
    if zone is None:
        return None
    price = zone.price_for(parcel_grams(request, settings["unweighed_item_grams"]))
    if price is None:
        return None
    if request.subtotal_reaches(settings["free_above_minor"]):
        price = 0
    return [ShippingQuote(f"{NAME}:{zone.name}", settings["label"], Money(price, request.subtotal.currency),
                          eta_days=settings["eta_days"])]
