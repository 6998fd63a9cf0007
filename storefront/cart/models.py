"""Carts: one per guest session or per signed-in customer, lines keyed by variant.

A line remembers the unit price the shopper saw when it was added
(``seen_price_minor``) so re-validation can say "the price of X changed" instead of
silently charging a different amount. The checkout's choices (contact, address,
shipping method, gateway, coupon) live on the cart too: a cart *is* the checkout
until an order is placed from it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Cart(db.Model):
    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random, unguessable; a guest's session holds it (never the numeric id).
    token: Mapped[str] = mapped_column(String(43), unique=True)
    #: A signed-in customer has at most one cart, which follows them across devices.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    # --- checkout choices (validated again when the order is placed) ---
    email: Mapped[str] = mapped_column(String(254), default="")
    #: A snapshot of the shipping address form (full_name, line1, city, postal_code, country …).
    shipping_address: Mapped[dict | None] = mapped_column(JSON)
    shipping_quote_id: Mapped[str | None] = mapped_column(String(100))
    payment_gateway_id: Mapped[str | None] = mapped_column(String(64))
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    #: One-time token for placing the order: issued on the review step, stored on the order
    #: (unique), so a double submit, the back button or a retry finds the same order.
    checkout_token: Mapped[str | None] = mapped_column(String(43))

    lines: Mapped[list["CartLine"]] = relationship(back_populates="cart", cascade="all, delete-orphan",
                                                   order_by="CartLine.id")


class CartLine(db.Model):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id", name="uq_cart_lines_cart_variant"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    #: The unit price shown when the line was added or last confirmed.
    seen_price_minor: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(DateTime)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    variant = relationship("Variant")
