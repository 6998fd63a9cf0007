"""`flask catalog generate`: deterministic, and its shortcuts store what the services would."""
from sqlalchemy import delete, func, select

from storefront.catalog import services
from storefront.catalog.generate import SKU_PREFIX, generate_catalog
from storefront.catalog.models import (Category, Product, ProductAttribute, Review, StockMovement, Variant,
                                       product_categories)
from storefront.extensions import db


def snapshot() -> dict:
    def rows(query):
        return [tuple(row) for row in db.session.execute(query).all()]

    return {
        "products": rows(select(Product.id, Product.slug, Product.title, Product.description, Product.status,
                                Product.brand, Product.featured, Product.price_min_minor, Product.in_stock,
                                Product.rating_avg_x100, Product.created_at).order_by(Product.id)),
        "variants": rows(select(Variant.id, Variant.product_id, Variant.sku, Variant.options, Variant.price_minor,
                                Variant.compare_at_minor, Variant.stock, Variant.active).order_by(Variant.id)),
        "attributes": sorted(rows(select(ProductAttribute.product_id, ProductAttribute.name, ProductAttribute.value,
                                         ProductAttribute.from_variant))),
        "categories": sorted(rows(select(product_categories.c.product_id, product_categories.c.category_id))),
        "reviews": sorted(rows(select(Review.product_id, Review.rating, Review.author_name))),
    }


def wipe_products() -> None:
    for table in (StockMovement.__table__, Review.__table__, ProductAttribute.__table__, product_categories,
                  Variant.__table__, Product.__table__):
        db.session.execute(delete(table))
    db.session.commit()


def test_the_same_seed_generates_the_same_catalog_and_another_seed_another(app):
    generate_catalog(200, seed=7, batch_size=64)
    first = snapshot()
    wipe_products()
    generate_catalog(200, seed=7, batch_size=200)
    assert snapshot() == first
    wipe_products()
    generate_catalog(200, seed=8)
    assert snapshot()["products"] != first["products"]

    assert len(first["products"]) == 200
    per_product = {}
    for _, product_id, *_ in first["variants"]:
        per_product[product_id] = per_product.get(product_id, 0) + 1
    assert set(per_product.values()) <= {1, 2, 3} and len(per_product) == 200
    assert db.session.scalar(select(func.count(Category.id))) > 30


def test_generated_products_hold_exactly_what_the_services_would_store(app):
    generate_catalog(200, seed=3)
    products = db.session.scalars(select(Product)).all()
    stored = {p.id: (p.price_min_minor, p.in_stock, p.rating_avg_x100, p.rating_count, p.description_html,
                     sorted((a.name, a.value, a.from_variant) for a in p.attributes)) for p in products}
    for product in products:
        services.refresh_product_summary(product)
        services._refresh_rating(product.id)
        product.description_html = services.render_description(product.description)
    recomputed = {p.id: (p.price_min_minor, p.in_stock, p.rating_avg_x100, p.rating_count, p.description_html,
                         sorted((a.name, a.value, a.from_variant) for a in p.attributes)) for p in products}
    db.session.rollback()
    assert recomputed == stored
    # The sample is varied enough to test something.
    assert any(not in_stock for _, in_stock, *_ in stored.values())
    assert any(count for _, _, _, count, *_ in stored.values())
    assert any(any(from_variant for *_, from_variant in attrs) for *_, attrs in stored.values())
    moves = db.session.execute(select(StockMovement.delta, Variant.stock, StockMovement.reason)
                               .join(Variant, Variant.id == StockMovement.variant_id)).all()
    assert moves and all(delta == stock and reason == "import" for delta, stock, reason in moves)


def test_generating_adds_to_an_existing_catalog_without_clashing(app):
    product = services.save_product({"title": "Hand-made Mug", "status": "active"})
    services.save_variant(product, {"sku": "MUG-1", "price_minor": 1200, "stock": 1})
    services.commit_product(product)
    generate_catalog(20, seed=1)
    generate_catalog(20, seed=1)
    assert db.session.scalar(select(func.count(Product.id))) == 41
    skus = db.session.scalars(select(Variant.sku).where(Variant.sku.like(f"{SKU_PREFIX}%"))).all()
    assert len(skus) == len(set(skus)) > 40


def test_the_cli_shows_progress_and_says_to_reindex_search(app, runner):
    result = runner.invoke(args=["catalog", "generate", "--products", "30", "--seed", "5", "--batch", "10"])
    assert result.exit_code == 0, result.output
    assert "Generating products" in result.output and "added 30 products" in result.output
    assert "flask search reindex" in result.output
    assert db.session.scalar(select(func.count(Product.id))) == 30
