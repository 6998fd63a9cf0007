"""Jobs of the orders package (run by RQ workers, or inline without Redis).

``cancel_unpaid_orders`` is the periodic job ``orders.cancel_unpaid`` declared in
:data:`storefront.jobs.PERIODIC_JOBS`: every five minutes it cancels the orders still
awaiting payment past their ``pay_by`` (placed + ``ORDER_UNPAID_HOLD_MINUTES``), returning
their stock and coupon uses. It is idempotent — a second run, or two workers at once,
cancel each order once (the status change is a conditional UPDATE).

``complete_shipped_orders`` is the periodic job ``orders.complete_shipped``: every hour it
completes the orders fully shipped at least ``ORDER_COMPLETE_AFTER_DAYS`` days ago (0 turns
it off). Idempotent in the same way.
"""
from __future__ import annotations

from . import services


def cancel_unpaid_orders() -> int:
    """Cancel orders unpaid past their hold; returns how many were cancelled."""
    return services.cancel_unpaid_orders()


def complete_shipped_orders() -> int:
    """Complete orders fully shipped long enough ago; returns how many were completed."""
    return services.complete_shipped_orders()
