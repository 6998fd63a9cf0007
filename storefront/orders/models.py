"""Orders: what was bought, at what price, where it goes, and everything that happened.

Lines snapshot everything a later catalog change could alter (title, SKU, options, unit
price, tax): an order reads the same in ten years. Status changes go through
:mod:`storefront.orders.status` only; the timeline (:class:`OrderEvent`) records each
one, every e-mail, payment and staff note.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text,
                        event)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..money import Money


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_status_placed", "status", "placed_at"),
        Index("ix_orders_placed_at", "placed_at"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("refunded_minor >= 0", name="refunded_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the shopper and staff quote ("SF-4K7Q-9XM2"); unique, not guessable.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: The checkout's one-time token: placing twice with it finds this order.
    checkout_token: Mapped[str] = mapped_column(String(43), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    #: The recipient's name at purchase (copied from the shipping address when the order
    #: is inserted), so staff can search orders by name on SQLite and MariaDB alike.
    customer_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    status: Mapped[str] = mapped_column(String(30))  # see orders/status.py
    currency: Mapped[str] = mapped_column(String(3))

    subtotal_minor: Mapped[int] = mapped_column(BigInteger)      # lines before discount
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)         # what the shopper pays
    #: Whether the prices above include tax (PRICES_INCLUDE_TAX at the time of purchase).
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_label: Mapped[str] = mapped_column(String(60), default="Tax")
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    coupon_code: Mapped[str | None] = mapped_column(String(64))
    shipping_quote_id: Mapped[str | None] = mapped_column(String(100))
    shipping_label: Mapped[str] = mapped_column(String(120), default="")
    #: Snapshot of the address (full_name, company, line1, line2, city, region, postal_code, country, phone).
    shipping_address: Mapped[dict | None] = mapped_column(JSON)
    payment_gateway_id: Mapped[str] = mapped_column(String(64))

    placed_at: Mapped[datetime] = mapped_column(DateTime)
    #: Unpaid past this moment → cancelled by the periodic job, stock returned.
    pay_by: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    #: The customer's account (None for guests).
    user = relationship("User")
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                    order_by="OrderLine.id")
    events: Mapped[list["OrderEvent"]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                      order_by="OrderEvent.id")
    fulfilments: Mapped[list["Fulfilment"]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                           order_by="Fulfilment.id")

    # Amounts as Money (templates format them with the `money` filter).
    def _money(self, minor: int | None) -> Money:
        return Money(minor or 0, self.currency)

    @property
    def subtotal(self) -> Money:
        return self._money(self.subtotal_minor)

    @property
    def discount(self) -> Money:
        return self._money(self.discount_minor)

    @property
    def shipping(self) -> Money:
        return self._money(self.shipping_minor)

    @property
    def tax(self) -> Money:
        return self._money(self.tax_minor)

    @property
    def total(self) -> Money:
        return self._money(self.total_minor)

    @property
    def paid(self) -> Money:
        return self._money(self.paid_minor)

    @property
    def refunded(self) -> Money:
        return self._money(self.refunded_minor)

    @property
    def refundable(self) -> Money:
        """What was paid and not refunded yet."""
        return self._money(max(0, (self.paid_minor or 0) - (self.refunded_minor or 0)))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_fulfilled >= 0 AND quantity_fulfilled <= quantity", name="fulfilled_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    #: Kept while the variant exists; the snapshot below is what counts.
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    #: "Size: M, Colour: Red" — the variant's option values at purchase.
    options: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: unit price × quantity − discount (+ tax when prices exclude tax).
    total_minor: Mapped[int] = mapped_column(BigInteger)
    quantity_fulfilled: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def unit_price(self) -> Money:
        return Money(self.unit_price_minor, self.order.currency)

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.order.currency)

    @property
    def quantity_to_ship(self) -> int:
        return self.quantity - (self.quantity_fulfilled or 0)


class OrderEvent(db.Model):
    """One entry of an order's timeline: status changes, payments, e-mails, staff notes."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    #: placed | paid | payment | payment_authorized | payment_failed | fulfilled | completed | cancelled |
    #: refunded | status | email | note
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    order: Mapped[Order] = relationship(back_populates="events")


class Fulfilment(db.Model):
    """One shipment: some or all lines, with a tracking number."""

    __tablename__ = "fulfilments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(60), default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="")
    tracking_url: Mapped[str] = mapped_column(String(500), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    order: Mapped[Order] = relationship(back_populates="fulfilments")
    lines: Mapped[list["FulfilmentLine"]] = relationship(cascade="all, delete-orphan")


class FulfilmentLine(db.Model):
    __tablename__ = "fulfilment_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fulfilment_id: Mapped[int] = mapped_column(ForeignKey("fulfilments.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    order_line: Mapped[OrderLine] = relationship()


@event.listens_for(Order, "before_insert")
def _copy_customer_name(mapper, connection, order: Order) -> None:
    """Whoever places the order need not know about the search column."""
    if not order.customer_name:
        order.customer_name = str((order.shipping_address or {}).get("full_name") or "")[:120]
