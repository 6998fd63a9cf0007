"""The core's own hook implementations: the shop works with zero plugins installed.

Listed in :data:`storefront.plugins.manager.CORE_PLUGINS`; always enabled.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from flask import current_app

from ..config import ConfigurationError
from ..money import Money, quantize
from .manager import hookimpl
from .types import TaxRequest, TaxResult


def parse_tax_rate(raw: Any, key: str = "TAX_RATE") -> Decimal:
    """A configured rate as a Decimal fraction ("0.19" is 19 %), or a ConfigurationError
    naming ``key``."""
    if isinstance(raw, (bool, float)):
        raise ConfigurationError(f"{key} must be a decimal fraction in quotes like \"0.19\", got {raw!r}")
    try:
        rate = Decimal(str(raw))
    except InvalidOperation:
        raise ConfigurationError(f"{key} must be a decimal fraction like \"0.19\", got {raw!r}") from None
    if not rate.is_finite() or not 0 <= rate < 1:
        raise ConfigurationError(f"{key} must be between 0 and 1 (\"0.19\" is 19 %), got {raw!r}")
    return rate


def flat_tax_rate() -> Decimal:
    """``TAX_RATE`` from the config as a Decimal fraction ("0.19" is 19 %)."""
    return parse_tax_rate(current_app.config["TAX_RATE"])


def tax_rate_for(country: str) -> Decimal:
    """The rate for a destination country: its entry in ``TAX_RATES`` (``{"DE": "0.19"}``),
    else the flat ``TAX_RATE``."""
    rates = current_app.config.get("TAX_RATES") or {}
    if not isinstance(rates, dict):
        raise ConfigurationError(f"TAX_RATES must map country codes to rates like {{\"DE\": \"0.19\"}}, "
                                 f"got {rates!r}")
    for code, raw in rates.items():
        if str(code).strip().upper() == country:
            return parse_tax_rate(raw, f"TAX_RATES[{code!r}]")
    return flat_tax_rate()


def included_tax(amount: Money, rate: Decimal) -> Money:
    """The tax contained in a price that includes it: ``amount × rate / (1 + rate)``,
    rounded once by :func:`storefront.money.quantize`."""
    if not rate:
        return Money.zero(amount.currency)
    with localcontext() as context:
        context.prec = 60  # exact enough that only a true half-cent tie is rounded as one
        exact = amount.as_decimal() * rate / (1 + rate)
    return Money(quantize(exact, amount.currency), amount.currency)


@hookimpl(trylast=True)
def storefront_calculate_tax(request: TaxRequest) -> TaxResult:
    """Default tax: one rate per destination country (``TAX_RATES``, else ``TAX_RATE``;
    zero unless set) on every line and on shipping.

    With ``request.prices_include_tax`` the amounts already contain the tax and the
    result is the part they contain; otherwise it is the tax to add on top.
    ``trylast``: any tax plugin that answers is asked first and wins.
    """
    rate = tax_rate_for(request.destination.country)
    label = f"Tax {(rate * 100).normalize():f}%" if rate else "Tax"
    if request.prices_include_tax:
        return TaxResult(lines=tuple(included_tax(line.total, rate) for line in request.lines),
                         shipping=included_tax(request.shipping, rate), label=label)
    return TaxResult(lines=tuple(line.total.multiply(rate) for line in request.lines),
                     shipping=request.shipping.multiply(rate), label=label)
