"""The core's own hook implementations: the shop works with zero plugins installed.

Listed in :data:`storefront.plugins.manager.CORE_PLUGINS`; always enabled.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import current_app

from ..config import ConfigurationError
from .manager import hookimpl
from .types import TaxRequest, TaxResult


def flat_tax_rate() -> Decimal:
    """``TAX_RATE`` from the config as a Decimal fraction ("0.19" is 19 %)."""
    raw = current_app.config["TAX_RATE"]
    try:
        rate = Decimal(str(raw))
    except InvalidOperation:
        raise ConfigurationError(f"TAX_RATE must be a decimal fraction like \"0.19\", got {raw!r}") from None
    if not rate.is_finite() or not 0 <= rate < 1:
        raise ConfigurationError(f"TAX_RATE must be between 0 and 1 (\"0.19\" is 19 %), got {raw!r}")
    return rate


@hookimpl(trylast=True)
def storefront_calculate_tax(request: TaxRequest) -> TaxResult:
    """Default tax: the flat ``TAX_RATE`` on every line and on shipping (zero unless set).

    ``trylast``: any tax plugin that answers is asked first and wins.
    """
    rate = flat_tax_rate()
    label = f"Tax {(rate * 100).normalize():f}%" if rate else "Tax"
    return TaxResult(lines=tuple(line.total.multiply(rate) for line in request.lines),
                     shipping=request.shipping.multiply(rate), label=label)
