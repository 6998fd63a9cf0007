"""Order status rules, in one table.

Every status change in the code goes through :func:`change_status`, which consults
:data:`TRANSITIONS`; nothing else assigns ``Order.status``. The table is the
documentation too (docs/orders.md quotes it).
"""
from __future__ import annotations

from ..errors import StorefrontError

PENDING_PAYMENT = "pending_payment"
PAID = "paid"
PARTIALLY_FULFILLED = "partially_fulfilled"
FULFILLED = "fulfilled"
COMPLETED = "completed"
CANCELLED = "cancelled"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"

#: Shown to shoppers and staff.
LABELS = {
    PENDING_PAYMENT: "Awaiting payment",
    PAID: "Paid",
    PARTIALLY_FULFILLED: "Partially shipped",
    FULFILLED: "Shipped",
    COMPLETED: "Completed",
    CANCELLED: "Cancelled",
    PARTIALLY_REFUNDED: "Partially refunded",
    REFUNDED: "Refunded",
}

#: from-status → the statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING_PAYMENT: frozenset({PAID, CANCELLED}),
    PAID: frozenset({PARTIALLY_FULFILLED, FULFILLED, CANCELLED, PARTIALLY_REFUNDED, REFUNDED}),
    PARTIALLY_FULFILLED: frozenset({FULFILLED, PARTIALLY_REFUNDED, REFUNDED}),
    FULFILLED: frozenset({COMPLETED, PARTIALLY_REFUNDED, REFUNDED}),
    COMPLETED: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    # A partial refund does not end the order: it may still ship and complete.
    PARTIALLY_REFUNDED: frozenset({PARTIALLY_REFUNDED, PARTIALLY_FULFILLED, FULFILLED, COMPLETED, REFUNDED}),
    CANCELLED: frozenset(),
    REFUNDED: frozenset(),
}

STATUSES = tuple(TRANSITIONS)
#: Orders whose goods may still be shipped.
FULFILLABLE = frozenset({PAID, PARTIALLY_FULFILLED, PARTIALLY_REFUNDED})
#: Orders with money that can be refunded.
REFUNDABLE = frozenset({PAID, PARTIALLY_FULFILLED, FULFILLED, COMPLETED, PARTIALLY_REFUNDED})
#: Orders staff may cancel (stock returns; a paid one is refunded in full first).
CANCELLABLE = frozenset({PENDING_PAYMENT, PAID})


class InvalidTransition(StorefrontError):
    """That order cannot move to that status from where it is."""

    status = 409
    code = "invalid_transition"


def label(status: str) -> str:
    """A status as shoppers and staff read it ("Awaiting payment"); unknown ones as they are."""
    return LABELS.get(status, status)


def can_change(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def change_status(order, new: str) -> str:
    """Move ``order`` to ``new`` or raise :class:`InvalidTransition`. Returns the old status.

    The caller owns the transaction and records the timeline event.
    """
    old = order.status
    if not can_change(old, new):
        raise InvalidTransition(f"An order that is {label(old).lower()} cannot become "
                                f"{label(new).lower()}.")
    order.status = new
    return old


def sources_for(new: str) -> frozenset[str]:
    """The statuses from which an order may move to ``new``: for conditional UPDATEs
    (``… WHERE status IN :sources``) that make a transition happen exactly once under
    concurrency."""
    return frozenset(old for old, targets in TRANSITIONS.items() if new in targets)
