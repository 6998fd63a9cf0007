"""`flask catalog seed-demo`: a browsable catalog with generated pictures, added once."""
import io

from PIL import Image
from sqlalchemy import func, select

from storefront import media
from storefront.catalog import services
from storefront.catalog.demo import demo_product_count, seed_demo
from storefront.catalog.models import Category, Product, ProductImage, Review, Variant
from storefront.extensions import db
from storefront.testing import empty_tables


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_makes_a_browsable_catalog_with_pictures_and_reviews(app, client, queued_jobs):
    # queued_jobs: thumbnails and search indexing wait in a fake queue; pages show originals.
    result = seed_demo()

    assert result.products == demo_product_count() == count(Product) >= 35
    assert count(Category) == 7 and db.session.scalar(select(func.count(Category.id))
                                                      .where(Category.parent_id.is_not(None))) == 4
    products = db.session.scalars(select(Product)).all()
    assert all(p.status == "active" and p.variants and p.images and p.brand for p in products)
    assert sum(p.featured for p in products) >= 3
    assert any(not p.in_stock for p in products) or any(v.stock == 0 for p in products for v in p.variants)
    sizes = {v.options.get("size") for v in db.session.scalars(select(Variant))}
    assert {"S", "M", "L"} <= sizes
    assert db.session.scalar(select(func.count(Review.id)).where(Review.status == "approved")) >= 10
    assert any(p.rating_count for p in products)

    image = db.session.scalar(select(ProductImage))
    with media.storage().open(image.path) as stored:
        picture = Image.open(io.BytesIO(stored.read()))
        assert picture.size == (image.width, image.height) == (800, 800)
    assert all(c.image_path and c.description for c in db.session.scalars(select(Category)))

    assert client.get("/").status_code == 200
    shirts = db.session.scalar(select(Category).where(Category.name == "Shirts"))
    page = client.get(f"/c/{shirts.slug}")
    assert page.status_code == 200 and b"Linen Camp Shirt" in page.data
    product = client.get("/p/linen-camp-shirt")
    assert product.status_code == 200 and b"Nordweave" in product.data
    with app.test_request_context():
        picture_url = media.image_url(image.path, "medium")
    assert client.get(picture_url).status_code == 200


def test_seed_demo_adds_nothing_twice_and_if_empty_leaves_a_real_catalog_alone(app, runner, queued_jobs):
    own = services.save_product({"title": "My Own Product", "status": "active"})
    result = runner.invoke(args=["catalog", "seed-demo", "--if-empty"])
    assert result.exit_code == 0 and "already has products" in result.output
    assert db.session.scalars(select(Product.id)).all() == [own.id]

    services.delete_product(own)
    first = runner.invoke(args=["catalog", "seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "Adding demo products" in first.output and f"added {demo_product_count()} products" in first.output
    before = (count(Product), count(Variant), count(ProductImage), count(Review), count(Category))

    again = runner.invoke(args=["catalog", "seed-demo"])
    assert again.exit_code == 0 and "added 0 products" in again.output
    assert (count(Product), count(Variant), count(ProductImage), count(Review), count(Category)) == before


def test_the_demo_catalog_is_the_same_on_every_run(app, queued_jobs):
    def catalog():
        return sorted(db.session.execute(select(Product.slug, Product.brand, Product.featured, Product.price_min_minor,
                                                Product.description)).all())

    seed_demo()
    first, images = catalog(), sorted(db.session.scalars(select(ProductImage.path)))
    empty_tables()
    seed_demo()
    assert catalog() == first
    assert sorted(db.session.scalars(select(ProductImage.path))) == images  # same pixels, same keys
