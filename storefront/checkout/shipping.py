"""Shipping quotes for a cart and a destination, from every enabled shipping plugin.

Quotes are collected through ``storefront_shipping_quotes``. A plugin that raises is left
out (logged and counted by the plugin manager) and checkout carries on with the others;
so is a quote that is not a :class:`ShippingQuote`, is in another currency, costs a
negative amount, has an id not starting with the plugin's name (``"<plugin>:<code>"``,
so one plugin cannot shadow another's quote) or repeats an id. With no quote at all
checkout says plainly that it cannot ship there.

The shopper's choice is stored as the quote's **id**; when the order is placed the cart
is quoted again and the choice matched by id, never by a price from the browser.
"""
from __future__ import annotations

from ..money import Money
from ..plugins.manager import collect_answers, contain
from ..plugins.types import Address, Line, ShippingQuote, ShippingRequest

HOOK = "storefront_shipping_quotes"


def destination_of(address: dict | None) -> Address | None:
    """The cart's shipping address (a form snapshot) as plugins see it."""
    if not address or not address.get("country"):
        return None
    try:
        return Address(country=str(address["country"]).upper(), postal_code=str(address.get("postal_code") or ""),
                       city=str(address.get("city") or ""), region=str(address.get("region") or ""))
    except ValueError:
        return None


def shipping_request(totals, destination: Address) -> ShippingRequest:
    """The request plugins quote: the priced lines and the goods after discounts."""
    lines = tuple(Line(line.sku, line.quantity, line.unit_price, line.weight_grams, line.product_id)
                  for line in totals.lines)
    return ShippingRequest(lines=lines, destination=destination, subtotal=totals.goods)


def quotes_for(totals, destination: Address) -> list[ShippingQuote]:
    """Every acceptable quote for these priced lines going to ``destination``, cheapest first."""
    if totals.is_empty:
        return []
    found: dict[str, tuple[str, ShippingQuote]] = {}
    for answer in collect_answers(HOOK, request=shipping_request(totals, destination)):
        quote = answer.value
        problem = None
        if not isinstance(quote, ShippingQuote):
            problem = f"returned {quote!r}, which is not a ShippingQuote"
        elif not isinstance(quote.price, Money) or quote.price.currency != totals.currency:
            problem = f"quoted {quote.id} in {getattr(quote.price, 'currency', '?')}, not {totals.currency}"
        elif quote.price.minor < 0:
            problem = f"quoted {quote.id} at a negative price"
        elif not quote.id.startswith(f"{answer.plugin}:"):
            problem = f"offered quote id {quote.id}; its ids must start with '{answer.plugin}:'"
        elif quote.id in found:
            problem = f"offered quote id {quote.id} twice"
        if problem:
            contain(answer.plugin, HOOK, ValueError(f"{HOOK}: {problem}"))
            continue
        found[quote.id] = (answer.plugin, quote)
    return sorted((quote for _, quote in found.values()), key=lambda q: (q.price.minor, q.label, q.id))


def find_quote(quotes: list[ShippingQuote], quote_id: str | None) -> ShippingQuote | None:
    return next((quote for quote in quotes if quote.id == quote_id), None) if quote_id else None
