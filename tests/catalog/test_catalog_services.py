from decimal import Decimal

import pytest
from sqlalchemy import select

from storefront.catalog import services
from storefront.catalog.models import Product, ProductAttribute, SlugRedirect, StockMovement, Variant
from storefront.errors import InvalidInput
from storefront.extensions import db


def make_product(title="Linen Shirt", **values):
    product = services.save_product({"title": title, "status": "active", **values})
    return product


def test_a_description_is_rendered_from_markdown_without_scripts(app):
    product = make_product(description="**Soft** linen <script>alert(1)</script> [x](javascript:alert(1))")
    assert "<strong>Soft</strong>" in product.description_html
    assert "<script" not in product.description_html and "javascript:" not in product.description_html


def test_slugs_are_unique_and_a_renamed_slug_leaves_a_redirect(app):
    first, second = make_product("Café Crème"), make_product("Cafe Creme")
    assert (first.slug, second.slug) == ("cafe-creme", "cafe-creme-2")
    services.save_product({"title": "Café Crème", "slug": "coffee-cream"}, product=first)
    redirect = db.session.scalar(select(SlugRedirect))
    assert (redirect.old_slug, redirect.target_id) == ("cafe-creme", first.id)


def test_variants_set_the_products_price_stock_flag_and_option_attributes(app):
    product = make_product(attributes={"material": "linen"})
    services.save_variant(product, {"sku": "SH-M", "price_minor": 4900, "stock": 0, "options": {"Size": "M"}})
    services.save_variant(product, {"sku": "SH-L", "price_minor": 4500, "stock": 3, "options": {"Size": "L"}})
    services.commit_product(product)
    assert product.price_min_minor == 4500 and product.in_stock
    facts = sorted((a.name, a.value, a.from_variant) for a in db.session.scalars(select(ProductAttribute)))
    assert facts == [("material", "linen", False), ("size", "L", True), ("size", "M", True)]
    with pytest.raises(InvalidInput, match="already used"):
        services.save_variant(product, {"sku": "SH-M", "price_minor": 1})


def test_stock_never_goes_below_zero_and_every_change_is_a_movement(app):
    product = make_product()
    variant = services.save_variant(product, {"sku": "A1", "price_minor": 1000, "stock": 2})
    services.commit_product(product)
    assert services.adjust_stock(variant.id, -2, "sale") == 0
    with pytest.raises(services.OutOfStock):
        services.adjust_stock(variant.id, -1, "sale")
    assert db.session.get(Variant, variant.id).stock == 0
    assert services.adjust_stock(variant.id, 5, "restock", note="delivery 42") == 5
    moves = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
    assert [(m.delta, m.stock_after, m.reason) for m in moves] == [(2, 2, "import"), (-2, 0, "sale"), (5, 5, "restock")]
    with pytest.raises(InvalidInput):
        services.adjust_stock(variant.id, 1, "because")


def test_bulk_price_change_rounds_each_price_once(app):
    product = make_product()
    services.save_variant(product, {"sku": "P1", "price_minor": 999, "compare_at_minor": 1999})
    services.commit_product(product)
    services.change_prices([product.id], Decimal("10"))
    variant = db.session.scalar(select(Variant))
    assert (variant.price_minor, variant.compare_at_minor) == (1099, 2199)  # 1098.9 → 1099, 2198.9 → 2199
    assert db.session.get(Product, product.id).price_min_minor == 1099
