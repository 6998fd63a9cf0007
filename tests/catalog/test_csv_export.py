"""CSV export: the same format as the import, and an export re-imports to the same catalog."""
import csv
import io

from sqlalchemy import delete, select, update

from storefront.catalog import services
from storefront.catalog.csv_io import COLUMNS, export_chunks, import_products
from storefront.catalog.models import Category, Product, Review, StockMovement, WishlistItem
from storefront.extensions import db


def export_text() -> str:
    return "".join(export_chunks(batch_size=2))


def wipe_catalog() -> None:
    for model in (StockMovement, Review, WishlistItem):
        db.session.execute(delete(model))
    for product in db.session.scalars(select(Product)):
        db.session.delete(product)
    db.session.execute(update(Category).values(parent_id=None))
    db.session.execute(delete(Category))
    db.session.commit()


def build_catalog() -> None:
    """A catalog made in the back office's way, with the awkward values CSV must survive."""
    clothing = Category(name="Clothing", slug="clothing")
    db.session.add(clothing)
    db.session.flush()
    shirts = Category(name="Shirts", slug="shirts", parent_id=clothing.id)
    sale = Category(name="Sale, 20% off", slug="sale")
    db.session.add_all([shirts, sale])
    db.session.commit()
    shirt = services.save_product({
        "title": "Linen Shirt", "status": "active", "brand": "Nordweave", "featured": True,
        "description": 'Line one, with "quotes".\r\n\r\n* and a list\n* of two',
        "seo_title": "Linen shirt for summer", "seo_description": "Light, airy; perfect.",
        "category_ids": [shirts.id, sale.id], "attributes": {"material": "linen", "care": ["hand wash", "iron"]}})
    services.save_variant(shirt, {"sku": "LS-M", "price_minor": 4990, "compare_at_minor": 5990, "stock": 3,
                                  "weight_grams": 220, "options": {"size": "M", "colour": "Red"}, "position": 0})
    services.save_variant(shirt, {"sku": "LS-L", "price_minor": 5200, "stock": 0, "active": False,
                                  "options": {"size": "L", "colour": "Red"}, "position": 1})
    services.commit_product(shirt)
    services.save_product({"title": "Gift Card (coming soon)", "status": "draft"})  # no variants yet
    mug = services.save_product({"title": "Mug", "status": "archived", "category_ids": [clothing.id]})
    services.save_variant(mug, {"sku": "MUG-1", "price_minor": 1250, "stock": 7})
    services.commit_product(mug)


def test_the_export_has_the_header_and_one_row_per_variant(app):
    build_catalog()
    rows = list(csv.reader(io.StringIO(export_text())))
    assert tuple(rows[0]) == COLUMNS
    by_sku = {row[COLUMNS.index("sku")]: dict(zip(COLUMNS, row)) for row in rows[1:]}
    shirt = by_sku["LS-M"]
    assert shirt["categories"] == "Clothing > Shirts|Sale, 20% off"
    assert shirt["attributes"] == "care=hand wash|care=iron|material=linen"
    assert (shirt["options"], shirt["price"], shirt["compare_at_price"], shirt["stock"]) == (
        "size=M|colour=Red", "49.90", "59.90", "3")
    assert (by_sku["LS-L"]["active"], by_sku["LS-L"]["compare_at_price"]) == ("false", "")
    gift = by_sku[""]
    assert (gift["handle"], gift["status"], gift["price"]) == ("gift-card-coming-soon", "draft", "")


def test_an_export_re_imports_to_the_same_catalog(app):
    build_catalog()
    first = export_text()
    wipe_catalog()
    assert db.session.scalar(select(Product)) is None

    report = import_products(io.BytesIO(first.encode()))

    assert (report.error_count, report.products_created) == (0, 3)
    assert export_text() == first
    shirt = db.session.scalar(select(Product).where(Product.slug == "linen-shirt"))
    assert (shirt.price_min_minor, shirt.in_stock) == (4990, True)  # the inactive variant does not count


def test_re_importing_an_export_over_the_catalog_changes_nothing(app):
    build_catalog()
    first = export_text()
    report = import_products(io.BytesIO(first.encode()))
    assert (report.products_unchanged, report.products_written, report.stock_movements) == (3, 0, 0)
    assert export_text() == first


def test_the_cli_exports_and_imports_files_with_a_progress_bar(app, runner, tmp_path):
    build_catalog()
    target = tmp_path / "catalog.csv"
    result = runner.invoke(args=["catalog", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert "wrote 3 product(s)" in result.output
    exported = target.read_bytes().decode()
    wipe_catalog()

    result = runner.invoke(args=["catalog", "import", str(target)])

    assert result.exit_code == 0, result.output
    assert "4 row(s) read: 4 imported" in result.output and "3 created" in result.output
    assert export_text() == exported


def test_the_cli_lists_every_bad_row_and_fails_when_nothing_was_imported(app, runner, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("handle,title,sku,price,stock\nok,Ok,OK-1,1.00,1\nbad,Bad,BAD-1,1.234,-1\n", encoding="utf-8")

    refused = runner.invoke(args=["catalog", "import", str(source)])
    assert refused.exit_code == 1
    assert "row 3, price: EUR amounts have at most 2 decimal places" in refused.output
    assert "row 3, stock: cannot be negative" in refused.output
    assert "Nothing was imported" in refused.output and db.session.scalar(select(Product)) is None

    skipped = runner.invoke(args=["catalog", "import", "--mode", "skip-bad", str(source)])
    assert skipped.exit_code == 0, skipped.output
    assert db.session.scalars(select(Product.slug)).all() == ["ok"]

    source.write_text("name,price\nx,1\n", encoding="utf-8")
    wrong = runner.invoke(args=["catalog", "import", str(source)])
    assert wrong.exit_code == 1 and "Unknown column(s) in the header: name" in wrong.output
