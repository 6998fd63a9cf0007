"""CSV import: validation of every row, the two modes, idempotent re-import, stock movements."""
import io

import pytest
from sqlalchemy import func, select

from storefront.catalog import services
from storefront.catalog.csv_io import COLUMNS, import_products
from storefront.catalog.models import Category, Product, ProductAttribute, StockMovement, Variant
from storefront.extensions import db
from storefront.plugins import hookimpl

HEADER = ",".join(COLUMNS)


def csv_bytes(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join((header,) + rows) + "\n").encode())


SHIRT_ROWS = (
    'linen-shirt,Linen Shirt,"Cool **linen**, for summer.",active,Nordweave,Clothing > Shirts|Summer,'
    'material=linen|fit=regular,,,true,LS-M-RED,size=M|colour=Red,49.90,59.90,5,220,true',
    "linen-shirt,Linen Shirt,,,,,,,,,LS-L-RED,size=L|colour=Red,52.00,,0,230,true",
)
MUG_ROW = "stoneware-mug,Stoneware Mug,Holds tea.,active,Kiln & Co,Home > Kitchen,,,,false,MUG-1,,12.50,,40,400,true"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_good_file_creates_products_with_variants_categories_attributes_and_stock(app):
    report = import_products(csv_bytes(*SHIRT_ROWS, MUG_ROW))

    assert (report.rows, report.rows_imported, report.products_created, report.error_count) == (3, 3, 2, 0)
    shirt = db.session.scalar(select(Product).where(Product.slug == "linen-shirt"))
    assert (shirt.title, shirt.status, shirt.brand, shirt.featured) == ("Linen Shirt", "active", "Nordweave", True)
    assert "<strong>linen</strong>" in shirt.description_html
    assert sorted(c.name for c in shirt.categories) == ["Shirts", "Summer"]
    shirts = db.session.scalar(select(Category).where(Category.name == "Shirts"))
    assert shirts.parent.name == "Clothing"
    variants = {v.sku: v for v in shirt.variants}
    assert variants["LS-M-RED"].options == {"size": "M", "colour": "Red"}
    assert (variants["LS-M-RED"].price_minor, variants["LS-M-RED"].compare_at_minor) == (4990, 5990)
    assert (variants["LS-L-RED"].price_minor, variants["LS-L-RED"].compare_at_minor) == (5200, None)
    # The denormalised columns are what the services compute.
    assert (shirt.price_min_minor, shirt.in_stock) == (4990, True)
    facts = sorted((a.name, a.value, a.from_variant) for a in shirt.attributes)
    assert facts == [("colour", "Red", True), ("fit", "regular", False), ("material", "linen", False),
                     ("size", "L", True), ("size", "M", True)]
    moves = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
    assert [(m.delta, m.stock_after, m.reason) for m in moves] == [(5, 5, "import"), (40, 40, "import")]


BAD_ROWS = (
    "good-one,Good One,,active,,,,,,,G-1,,10.00,,1,0,true",                 # row 2: fine
    "bad-price,Bad Price,,active,,,,,,,BP-1,,12.345,,1,0,true",             # row 3: price
    "bad-stock,Bad Stock,,active,,,,,,,BS-1,,10.00,,-3,0,true",             # row 4: stock
    "no-sku,No Sku,,active,,,,,,,,size=M,10.00,,1,0,true",                  # row 5: sku
    "odd-status,Odd Status,,published,,,,,,,OS-1,,10.00,,1,0,true",         # row 6: status
    "dupe-sku,Dupe Sku,,active,,,,,,,G-1,,10.00,,1,0,true",                 # row 7: sku in file
    "taken-sku,Taken Sku,,active,,,,,,,TAKEN-1,,10.00,,1,0,true",           # row 8: sku in catalog
)


def make_existing_product() -> Product:
    product = services.save_product({"title": "Existing", "status": "active"})
    services.save_variant(product, {"sku": "TAKEN-1", "price_minor": 100, "stock": 1})
    services.commit_product(product)
    return product


def test_all_or_nothing_writes_nothing_when_rows_are_bad_and_reports_each_error(app):
    make_existing_product()
    before = (count(Product), count(Variant), count(Category), count(StockMovement))

    report = import_products(csv_bytes(*BAD_ROWS), mode="all-or-nothing")

    assert (count(Product), count(Variant), count(Category), count(StockMovement)) == before
    found = [(e.row, e.column) for e in report.errors]
    assert found == [(3, "price"), (4, "stock"), (5, "sku"), (6, "status"), (7, "sku"), (8, "sku")]
    reasons = {e.row: e.reason for e in report.errors}
    assert "at most 2 decimal places" in reasons[3]
    assert "cannot be negative" in reasons[4]
    assert "needs a SKU" in reasons[5]
    assert "published" in reasons[6] and "draft, active, archived" in reasons[6]
    assert "row 2" in reasons[7]
    assert "belongs to another product" in reasons[8] and "existing" in reasons[8]
    assert (report.rows, report.rows_imported, report.rows_skipped, report.products_written) == (7, 0, 7, 0)


def test_skip_bad_writes_only_the_good_products_and_never_half_a_product(app):
    rows = (
        "whole,Whole,,active,,,,,,,W-1,size=S,10.00,,1,0,true",
        "whole,Whole,,active,,,,,,,W-2,size=M,10.00,,1,0,true",
        "half,Half,,active,,,,,,,H-1,size=S,10.00,,1,0,true",   # fine on its own…
        "half,Half,,active,,,,,,,H-2,size=M,ten,,1,0,true",     # …but its product has a bad row
    )
    report = import_products(csv_bytes(*rows), mode="skip-bad")

    assert db.session.scalars(select(Product.slug)).all() == ["whole"]
    assert sorted(db.session.scalars(select(Variant.sku))) == ["W-1", "W-2"]
    assert [(e.row, e.column) for e in report.errors] == [(5, "price")]
    assert (report.rows_imported, report.rows_skipped, report.products_created, report.products_skipped) == (2, 2, 1, 1)


def test_the_same_file_twice_gives_the_same_catalog_and_a_change_updates_only_what_changed(app):
    import_products(csv_bytes(*SHIRT_ROWS, MUG_ROW))
    snapshot = sorted(db.session.execute(select(Variant.sku, Variant.price_minor, Variant.stock)).all())
    shirt_updated_at = db.session.scalar(select(Product.updated_at).where(Product.slug == "linen-shirt"))

    again = import_products(csv_bytes(*SHIRT_ROWS, MUG_ROW))

    assert (again.products_created, again.products_updated, again.products_unchanged) == (0, 0, 2)
    assert (count(Product), count(Variant), count(Category), count(StockMovement)) == (2, 3, 5, 2)
    assert count(ProductAttribute) == 5
    assert sorted(db.session.execute(select(Variant.sku, Variant.price_minor, Variant.stock)).all()) == snapshot

    cheaper = MUG_ROW.replace("12.50", "11.00").replace(",40,", ",35,")
    changed = import_products(csv_bytes(*SHIRT_ROWS, cheaper))

    assert (changed.products_updated, changed.products_unchanged, changed.stock_movements) == (1, 1, 1)
    mug = db.session.scalar(select(Product).where(Product.slug == "stoneware-mug"))
    assert (mug.price_min_minor, mug.variants[0].stock) == (1100, 35)
    move = db.session.scalar(select(StockMovement).order_by(StockMovement.id.desc()))
    assert (move.delta, move.stock_after, move.reason) == (-5, 35, "import")
    assert db.session.scalar(select(Product.updated_at).where(Product.slug == "linen-shirt")) == shirt_updated_at


def test_a_file_with_only_some_columns_updates_prices_and_stock_and_keeps_the_rest(app):
    import_products(csv_bytes(*SHIRT_ROWS))
    report = import_products(csv_bytes("linen-shirt,LS-M-RED,45.00,9", header="handle,sku,price,stock"))

    assert report.products_updated == 1
    shirt = db.session.scalar(select(Product).where(Product.slug == "linen-shirt"))
    variant = next(v for v in shirt.variants if v.sku == "LS-M-RED")
    assert (variant.price_minor, variant.stock, variant.options) == (4500, 9, {"size": "M", "colour": "Red"})
    assert (shirt.title, shirt.brand, shirt.price_min_minor) == ("Linen Shirt", "Nordweave", 4500)
    assert sorted(c.name for c in shirt.categories) == ["Shirts", "Summer"]


def test_a_new_product_in_a_file_without_titles_is_an_error(app):
    report = import_products(csv_bytes("brand-new,BN-1,5.00", header="handle,sku,price"))
    assert [(e.row, e.column) for e in report.errors] == [(2, "title")]
    assert count(Product) == 0


def test_rows_of_one_product_must_be_together_and_agree_on_the_product(app):
    rows = (
        "apart,Apart,,active,,,,,,,A-1,,1.00,,0,0,true",
        "other,Other,,active,,,,,,,O-1,,1.00,,0,0,true",
        "apart,Apart,,active,,,,,,,A-2,,1.00,,0,0,true",
        "split,Split,,active,,,,,,,S-1,,1.00,,0,0,true",
        "split,Split Mind,,,,,,,,,S-2,,1.00,,0,0,true",
        "split,,,,,,,,,,S-3,,1.00,,0,0,true",   # empty product cells repeat the first row's
    )
    report = import_products(csv_bytes(*rows), mode="skip-bad")

    assert [(e.row, e.column) for e in report.errors] == [(4, "handle"), (6, "title")]
    assert "row 2" in report.errors[0].reason and "row 5" in report.errors[1].reason
    assert db.session.scalars(select(Product.slug)).all() == ["other"]


def test_a_product_without_variants_is_one_row_with_empty_variant_cells(app):
    report = import_products(csv_bytes("coming-soon,Coming Soon,Soon.,draft,,,,,,,,,,,,,"))
    product = db.session.scalar(select(Product))
    assert (report.error_count, product.title, product.variants, product.price_min_minor) == (0, "Coming Soon", [], 0)

    mixed = import_products(csv_bytes("mixed,Mixed,,,,,,,,,,,,,,,", "mixed,Mixed,,,,,,,,,M-1,,1.00,,0,0,true"))
    assert [(e.row, e.column) for e in mixed.errors] == [(2, "sku")]


def test_a_sku_is_matched_without_regard_to_case_like_mariadb_does(app):
    report = import_products(csv_bytes("a,A,,,,,,,,,abc-1,,1.00,,0,0,true", "b,B,,,,,,,,,ABC-1,,1.00,,0,0,true"))
    assert [(e.row, e.column) for e in report.errors] == [(3, "sku")]


class ChangeObserver:
    PLUGIN_NAME = "csvobserver"

    def __init__(self):
        self.changed = []

    @hookimpl
    def storefront_product_changed(self, product_id, deleted):
        from storefront.catalog.models import Product

        # Told after the commit: the product is readable from a fresh transaction.
        assert db.session.get(Product, product_id) is not None
        self.changed.append(product_id)


@pytest.mark.parametrize("mode", ["all-or-nothing", "skip-bad"])
def test_plugins_hear_about_changed_products_after_the_commit_and_not_about_unchanged_ones(make_app, mode):
    observer = ChangeObserver()
    app = make_app(plugins=(observer,))
    with app.app_context():
        import_products(csv_bytes(*SHIRT_ROWS, MUG_ROW), mode=mode, batch_size=1)
        assert len(observer.changed) == 2
        observer.changed.clear()
        import_products(csv_bytes(*SHIRT_ROWS, MUG_ROW.replace("12.50", "13.00")), mode=mode)
        mug = db.session.scalar(select(Product.id).where(Product.slug == "stoneware-mug"))
        assert observer.changed == [mug]


def test_the_import_is_recorded_in_the_audit_log(app, make_user):
    from storefront.audit import AuditEvent

    staff = make_user(role="staff")
    import_products(csv_bytes(MUG_ROW), actor=staff, mode="skip-bad")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.products.imported"))
    assert (event.actor_id, event.after["created"], event.after["mode"]) == (staff.id, 1, "skip-bad")
    assert db.session.scalar(select(StockMovement.user_id)) == staff.id


def test_the_denormalised_columns_agree_with_what_the_services_compute(app):
    rows = SHIRT_ROWS + (
        MUG_ROW,
        "mixed,Mixed,,active,,,colour=Red,,,,MX-1,colour=Red|size=S,9.00,,0,0,true",
        "mixed,Mixed,,active,,,colour=Red,,,,MX-2,colour=Blue|size=S,3.00,,5,0,false",
        "mixed,Mixed,,active,,,colour=Red,,,,MX-3,colour=Green,7.00,,0,0,true",
    )
    import_products(csv_bytes(*rows), batch_size=2)

    def state():
        return {p.slug: (p.price_min_minor, p.in_stock,
                         sorted((a.name, a.value, a.from_variant) for a in p.attributes))
                for p in db.session.scalars(select(Product))}

    imported = state()
    for product in db.session.scalars(select(Product)):
        services.refresh_product_summary(product)
    assert state() == imported
    assert imported["mixed"] == (700, False, [("colour", "Green", True), ("colour", "Red", False),
                                              ("size", "S", True)])
