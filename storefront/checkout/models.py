"""Coupons and their redemptions.

Usage is counted atomically when an order is placed: ``used_count`` goes up in one
conditional UPDATE (``WHERE usage_limit IS NULL OR used_count < usage_limit``) inside the
order's transaction, and every use is a :class:`CouponRedemption` row.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, DateTime, ForeignKey, Integer, String,
                        Table)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

COUPON_KINDS = ("percentage", "fixed", "free_shipping")

coupon_products = Table(
    "coupon_products", db.metadata,
    Column("coupon_id", ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
)

coupon_categories = Table(
    "coupon_categories", db.metadata,
    Column("coupon_id", ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)


class Coupon(db.Model):
    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("used_count >= 0", name="used_count_not_negative"),
        CheckConstraint("usage_limit IS NULL OR used_count <= usage_limit", name="usage_within_limit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored upper-case; shoppers may type it in any case.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # one of COUPON_KINDS
    #: percentage: basis points (1500 = 15 %); fixed: minor units of ``currency``; free_shipping: 0.
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    min_subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Total uses allowed (None = unlimited) and per customer (by account, else e-mail).
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)

    #: Scope: empty both = the whole cart; otherwise only matching lines are discounted.
    products = relationship("Product", secondary=coupon_products)
    categories = relationship("Category", secondary=coupon_categories)


class CouponRedemption(db.Model):
    __tablename__ = "coupon_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: Lower-cased; per-customer limits count by account when signed in, else by e-mail.
    email: Mapped[str] = mapped_column(String(254), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    coupon: Mapped[Coupon] = relationship()
