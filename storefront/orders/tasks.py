"""Jobs of the orders package (run by RQ workers, or inline without Redis).

``cancel_unpaid_orders`` is the periodic job ``orders.cancel_unpaid`` declared in
:data:`storefront.jobs.PERIODIC_JOBS`: every five minutes it cancels the orders still
awaiting payment past their ``pay_by`` (placed + ``ORDER_UNPAID_HOLD_MINUTES``), returning
their stock and coupon uses. It is idempotent — a second run, or two workers at once,
cancel each order once (the status change is a conditional UPDATE).
"""
from __future__ import annotations

from . import services


def cancel_unpaid_orders() -> int:
    """Cancel orders unpaid past their hold; returns how many were cancelled."""
    return services.cancel_unpaid_orders()
