"""The catalog: categories, products, variants, images, reviews, wishlists and stock
movements.

Money is integer minor units with its currency (``*_minor`` + ``currency``). Stock lives
on variants and can never go below zero (a CHECK constraint backs the conditional
UPDATE in :func:`storefront.catalog.services.adjust_stock`); every change is a
:class:`StockMovement`.

A product keeps a few denormalised columns (``price_min_minor``, ``in_stock``,
``rating_avg_x100``) maintained by the services, so category pages sort and filter with
plain indexed columns even with a million products.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index,
                        Integer, String, Table, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

PRODUCT_STATUSES = ("draft", "active", "archived")
REVIEW_STATUSES = ("pending", "approved", "rejected")

product_categories = Table(
    "product_categories", db.metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    # Category pages read "products in category X": the index leads with the category.
    Index("ix_product_categories_category_product", "category_id", "product_id"),
)


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    slug: Mapped[str] = mapped_column(String(191), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    image_path: Mapped[str | None] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(back_populates="parent", order_by="Category.position")


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_status_price", "status", "price_min_minor", "id"),
        Index("ix_products_status_created", "status", "created_at", "id"),
        # The featured products of a category page, already in "newest first" order.
        Index("ix_products_featured_status_created", "featured", "status", "created_at", "id"),
        Index("ix_products_status_rating", "status", "rating_avg_x100", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(191), unique=True)
    # Markdown written by the merchant; description_html is its sanitised rendering.
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    brand: Mapped[str] = mapped_column(String(120), default="", index=True)
    seo_title: Mapped[str] = mapped_column(String(255), default="")
    seo_description: Mapped[str] = mapped_column(String(320), default="")
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    # Denormalised from variants and reviews by the services (see module docstring).
    price_min_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    in_stock: Mapped[bool] = mapped_column(Boolean, default=False)
    rating_avg_x100: Mapped[int] = mapped_column(Integer, default=0)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    categories: Mapped[list[Category]] = relationship(secondary=product_categories, order_by=Category.position)
    variants: Mapped[list["Variant"]] = relationship(back_populates="product", cascade="all, delete-orphan",
                                                     order_by="Variant.position, Variant.id")
    images: Mapped[list["ProductImage"]] = relationship(back_populates="product", cascade="all, delete-orphan",
                                                        order_by="ProductImage.position, ProductImage.id")
    attributes: Mapped[list["ProductAttribute"]] = relationship(back_populates="product",
                                                                cascade="all, delete-orphan")


class ProductAttribute(db.Model):
    """A filterable fact about a product: its own attributes (material: cotton) and the
    option values of its active variants (size: M), kept by the services for facets."""

    __tablename__ = "product_attributes"
    __table_args__ = (
        UniqueConstraint("product_id", "name", "value", name="uq_product_attributes_product_name_value"),
        Index("ix_product_attributes_name_value_product", "name", "value", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(120))
    # True for values that come from variant options (size, colour) rather than the product.
    from_variant: Mapped[bool] = mapped_column(Boolean, default=False)

    product: Mapped[Product] = relationship(back_populates="attributes")


class SlugRedirect(db.Model):
    """An old slug still answering with a 301 to the current one."""

    __tablename__ = "slug_redirects"
    __table_args__ = (UniqueConstraint("kind", "old_slug", name="uq_slug_redirects_kind_old_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # product | category
    old_slug: Mapped[str] = mapped_column(String(191))
    target_id: Mapped[int] = mapped_column(Integer)


class Variant(db.Model):
    __tablename__ = "variants"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    # {"size": "M", "colour": "Red"}; empty for a product without options.
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    compare_at_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(Integer, default=0)
    weight_grams: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def label(self) -> str:
        return " / ".join(str(v) for v in (self.options or {}).values()) or "Standard"


class ProductImage(db.Model):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    # Storage key of the original (see storefront.media); thumbnails derive from it.
    path: Mapped[str] = mapped_column(String(255))
    alt: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(back_populates="images")


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),
                      Index("ix_reviews_product_status", "product_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    author_name: Mapped[str] = mapped_column(String(120), default="")
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    verified_buyer: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class WishlistItem(db.Model):
    __tablename__ = "wishlist_items"
    __table_args__ = (UniqueConstraint("user_id", "product_id", name="uq_wishlist_items_user_product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class StockMovement(db.Model):
    """One change of a variant's stock: why, by whom, for which order, and the result."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    stock_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))  # restock | correction | damaged | sale | cancellation | import
    note: Mapped[str] = mapped_column(String(255), default="")
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
