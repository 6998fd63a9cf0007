"""Payments, refunds and the provider events already handled.

Exactly once: a payment is unique on ``(gateway_id, psp_reference)`` once the provider
has named it, a provider event is recorded by ``(gateway_id, event_id)`` before it is
acted on, and the paid transition itself is a conditional UPDATE on the payment's status
(see :mod:`storefront.payments.services`), so a webhook racing the shopper's return
completes the order once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

#: pending → authorized → paid → partially_refunded / refunded; or failed / cancelled.
PAYMENT_STATUSES = ("pending", "authorized", "paid", "failed", "cancelled", "partially_refunded", "refunded")


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("gateway_id", "psp_reference", name="uq_payments_gateway_psp_reference"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refund_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public id ("pay_…"): in URLs, metadata sent to the provider, and idempotency keys.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(30))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The provider's id (a PaymentIntent id …); NULL until known (NULLs never collide).
    psp_reference: Mapped[str | None] = mapped_column(String(100))
    #: Last message safe to show the shopper ("Your card was declined.").
    message: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    order = relationship("Order")
    refunds: Mapped[list["Refund"]] = relationship(back_populates="payment", order_by="Refund.id")


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))  # pending | succeeded | failed
    psp_reference: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class ProviderEvent(db.Model):
    """A webhook event already received: a redelivery with the same id is acknowledged
    and ignored."""

    __tablename__ = "payment_provider_events"
    __table_args__ = (UniqueConstraint("gateway_id", "event_id", name="uq_payment_provider_events_gateway_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(60), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime)
