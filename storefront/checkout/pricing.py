"""Cart totals: **the one place they are computed**, for the cart page, every checkout
step and placing the order alike.

:func:`price_cart` reads each line's unit price from its variant *now* (never a price
the browser sent, never the price the shopper last saw), applies a coupon, the chosen
shipping quote and the tax decision, and returns an immutable :class:`Totals`.

Rules, in order:

1. line subtotal = unit price × quantity; the cart subtotal is their sum;
2. a coupon discounts the lines it applies to (its product/category scope; all lines
   when it has none): a percentage (basis points) of their subtotal or a fixed amount
   (at most their subtotal), spread over those lines in proportion to their subtotals
   with :meth:`Money.allocate`, so the line discounts add up to the discount exactly;
   a free-shipping coupon makes the shipping free instead;
3. shipping is the quote's price (zero with a free-shipping coupon);
4. tax comes from the ``storefront_calculate_tax`` decision (the core default answers
   last), on the discounted lines and the shipping, for the destination. With
   ``PRICES_INCLUDE_TAX`` the amounts already contain it (it is shown, not added); else
   it is added on top. Without a destination (the cart page) tax is not known yet;
5. total = subtotal − discount + shipping (+ tax when prices exclude it).

Tax plugins receive the lines at their *discounted* unit prices. A line whose discount
does not divide evenly by its quantity is sent as two lines of the same SKU (some units
one minor unit dearer) whose totals add up exactly; their tax is added back together.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from ..catalog.models import Category, product_categories
from ..extensions import db
from ..money import Money
from ..plugins.manager import decide
from ..plugins.types import Address, Line, PluginFailure, ShippingQuote, TaxRequest, TaxResult

#: Basis points in one whole (10000 bp = 100 %).
BASIS_POINTS = 10000


@dataclass(frozen=True)
class PricedLine:
    """One cart line, priced now."""

    line_id: int
    variant_id: int
    product_id: int
    product_slug: str
    sku: str
    title: str
    #: "Size: M, Colour: Blue" (empty for a product without options).
    options: str
    quantity: int
    unit_price: Money
    #: unit price × quantity
    subtotal: Money
    discount: Money
    tax: Money
    #: subtotal − discount (+ tax when prices exclude tax) — what an order line snapshots.
    total: Money
    weight_grams: int
    #: Units in stock right now (the cart page caps its quantity inputs with it).
    stock: int

    @property
    def net(self) -> Money:
        """What the shopper pays for this line before tax is added (after the discount)."""
        return self.subtotal - self.discount


@dataclass(frozen=True)
class Totals:
    currency: str
    lines: tuple[PricedLine, ...]
    subtotal: Money
    discount: Money
    #: What the shopper pays for shipping (zero with a free-shipping coupon).
    shipping: Money
    #: The quote's own price, before a free-shipping coupon.
    shipping_quoted: Money
    tax: Money
    #: Tax on the shipping alone (part of ``tax``).
    shipping_tax: Money
    tax_label: str
    total: Money
    prices_include_tax: bool
    #: False while there is no destination: tax is worked out at checkout.
    tax_known: bool
    coupon_code: str | None = None
    coupon_kind: str | None = None
    shipping_quote: ShippingQuote | None = None

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def free_shipping(self) -> bool:
        return self.coupon_kind == "free_shipping"

    @property
    def goods(self) -> Money:
        """The goods after the discount (what shipping thresholds look at)."""
        return self.subtotal - self.discount


def prices_include_tax() -> bool:
    return bool(current_app.config["PRICES_INCLUDE_TAX"])


def price_cart(cart, *, shipping_quote: ShippingQuote | None = None, coupon=None,
               destination: Address | None = None) -> Totals:
    """Price ``cart`` now (see the module docstring for the rules).

    ``coupon`` is a :class:`~storefront.checkout.models.Coupon` already checked by
    :mod:`storefront.checkout.coupons` (this function applies it, it does not judge it).
    Lines whose variant is gone are left out (re-validation removes them from the cart).
    Raises :class:`PluginFailure` when a tax plugin fails or answers nonsense: guessing
    would charge the wrong amount.
    """
    currency = cart.currency
    zero = Money.zero(currency)
    raw = []
    for line in sorted(cart.lines, key=lambda item: item.id or 0):
        variant = line.variant
        if variant is None or variant.product is None:
            continue
        unit = Money(int(variant.price_minor), currency)
        raw.append((line, variant, unit, unit * int(line.quantity)))
    subtotal = Money.sum((item[3] for item in raw), currency)

    discounts = [zero] * len(raw)
    if coupon is not None and coupon.kind in ("percentage", "fixed") and raw:
        eligible = eligible_flags(coupon, [variant.product_id for _, variant, _, _ in raw])
        discounts = line_discounts(coupon, [item[3] for item in raw], eligible, currency)
    discount = Money.sum(discounts, currency)

    quoted = shipping_quote.price if shipping_quote is not None else zero
    if quoted.currency != currency:
        raise PluginFailure(f"shipping quote {shipping_quote.id} is in {quoted.currency}, not {currency}")
    shipping = zero if coupon is not None and coupon.kind == "free_shipping" else quoted

    include = prices_include_tax()
    line_taxes = [zero] * len(raw)
    shipping_tax = zero
    label = "Tax"
    if destination is not None:
        nets = [item[3] - d for item, d in zip(raw, discounts)]
        result, owners = _decide_tax(raw, nets, shipping, destination, currency)
        for index, amount in zip(owners, result.lines):
            line_taxes[index] = line_taxes[index] + amount
        shipping_tax = result.shipping
        label = result.label or "Tax"
    tax = Money.sum(line_taxes, currency) + shipping_tax

    lines = []
    for (line, variant, unit, line_subtotal), line_discount, line_tax in zip(raw, discounts, line_taxes):
        net = line_subtotal - line_discount
        lines.append(PricedLine(
            line_id=line.id, variant_id=variant.id, product_id=variant.product_id,
            product_slug=variant.product.slug, sku=variant.sku, title=variant.product.title,
            options=_options_text(variant.options), quantity=int(line.quantity), unit_price=unit,
            subtotal=line_subtotal, discount=line_discount, tax=line_tax,
            total=net if include else net + line_tax, weight_grams=int(variant.weight_grams or 0),
            stock=int(variant.stock)))
    total = subtotal - discount + shipping + (zero if include else tax)
    return Totals(currency=currency, lines=tuple(lines), subtotal=subtotal, discount=discount, shipping=shipping,
                  shipping_quoted=quoted, tax=tax, shipping_tax=shipping_tax, tax_label=label, total=total,
                  prices_include_tax=include, tax_known=destination is not None,
                  coupon_code=coupon.code if coupon is not None else None,
                  coupon_kind=coupon.kind if coupon is not None else None, shipping_quote=shipping_quote)


def _options_text(options: dict | None) -> str:
    """"Size: M, Colour: Blue" — snapshotted on order lines."""
    return ", ".join(f"{str(name).capitalize()}: {value}" for name, value in (options or {}).items())


# --- coupons -----------------------------------------------------------------------------------------


def eligible_flags(coupon, product_ids: list[int]) -> list[bool]:
    """Which lines (by product id) a coupon applies to: all without a scope; otherwise
    products it names and products in its categories or their sub-categories."""
    scoped_products = {product.id for product in coupon.products}
    scoped_categories = {category.id for category in coupon.categories}
    if not scoped_products and not scoped_categories:
        return [True] * len(product_ids)
    in_scope = set(scoped_products)
    if scoped_categories:
        categories = with_descendants(scoped_categories)
        rows = select(product_categories.c.product_id).where(
            product_categories.c.product_id.in_(set(product_ids)), product_categories.c.category_id.in_(categories))
        in_scope.update(db.session.scalars(rows))
    return [product_id in in_scope for product_id in product_ids]


def with_descendants(category_ids: set[int]) -> set[int]:
    """The categories and every category below them (one query per level)."""
    found = set(category_ids)
    frontier = set(category_ids)
    for _ in range(32):  # deeper trees than this do not exist in a shop; no endless loop on a cycle
        children = set(db.session.scalars(select(Category.id).where(Category.parent_id.in_(frontier)))) - found
        if not children:
            break
        found |= children
        frontier = children
    return found


def line_discounts(coupon, subtotals: list[Money], eligible: list[bool], currency: str) -> list[Money]:
    """The coupon's discount per line (zero for lines outside its scope)."""
    zero = Money.zero(currency)
    base = Money.sum((amount for amount, ok in zip(subtotals, eligible) if ok), currency)
    if base.minor <= 0:
        return [zero] * len(subtotals)
    if coupon.kind == "percentage":
        rate = Decimal(int(coupon.value)) / Decimal(BASIS_POINTS)
        amount = base.multiply(min(max(rate, Decimal(0)), Decimal(1)))
    elif coupon.kind == "fixed":
        amount = Money(min(max(int(coupon.value), 0), base.minor), currency)
    else:
        return [zero] * len(subtotals)
    if amount.minor <= 0:
        return [zero] * len(subtotals)
    return amount.allocate([amount_.minor if ok else 0 for amount_, ok in zip(subtotals, eligible)])


# --- tax --------------------------------------------------------------------------------------------------


def _decide_tax(raw, nets: list[Money], shipping: Money, destination: Address,
                currency: str) -> tuple[TaxResult, list[int]]:
    """Ask the tax decision; returns its result and, per request line, the cart line it belongs to."""
    request_lines: list[Line] = []
    owners: list[int] = []
    for index, ((_line, variant, _unit, _subtotal), net) in enumerate(zip(raw, nets)):
        quantity = int(_line.quantity)
        per_unit, extra = divmod(net.minor, quantity)
        weight = int(variant.weight_grams or 0)
        if extra:
            request_lines.append(Line(variant.sku, extra, Money(per_unit + 1, currency), weight, variant.product_id))
            owners.append(index)
        if quantity - extra:
            request_lines.append(Line(variant.sku, quantity - extra, Money(per_unit, currency), weight,
                                      variant.product_id))
            owners.append(index)
    request = TaxRequest(lines=tuple(request_lines), shipping=shipping, destination=destination, currency=currency,
                         prices_include_tax=prices_include_tax())
    result = decide("storefront_calculate_tax", request=request)
    if result is None:
        zero = Money.zero(currency)
        return TaxResult(lines=tuple(zero for _ in request_lines), shipping=zero), owners
    amounts = (*result.lines, result.shipping) if isinstance(result, TaxResult) else ()
    if (not isinstance(result, TaxResult) or len(result.lines) != len(request_lines)
            or not all(isinstance(a, Money) and a.currency == currency and a.minor >= 0 for a in amounts)):
        raise PluginFailure(f"the tax decision returned {result!r} for {len(request_lines)} line(s) in {currency}")
    return result, owners
