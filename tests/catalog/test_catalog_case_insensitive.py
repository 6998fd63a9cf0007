"""MariaDB's unique indexes see "Red" and "red" (and "ABC-1" and "abc-1") as one value,
SQLite's do not. The catalog services compare the way MariaDB does, so a shop behaves the
same on both: no 500 on MariaDB, no near-twins on SQLite. These tests run on both."""
import io

import pytest
from sqlalchemy import func, select

from storefront.catalog import services
from storefront.catalog.csv_io import COLUMNS, import_products
from storefront.catalog.models import Product, ProductAttribute, Variant
from storefront.errors import InvalidInput
from storefront.extensions import db


def attributes_of(product) -> list[tuple[str, str, bool]]:
    db.session.expire_all()
    return sorted((a.name, a.value, a.from_variant)
                  for a in db.session.scalars(select(ProductAttribute).where(ProductAttribute.product_id == product.id)))


def csv_bytes(*rows: str) -> io.BytesIO:
    return io.BytesIO(("\n".join((",".join(COLUMNS),) + rows) + "\n").encode())


def test_a_sku_that_differs_only_in_case_is_taken_and_nothing_is_written(make_product):
    make_product("Linen Shirt", variants=[{"sku": "LS-RED-M"}])
    other = services.save_product({"title": "Other Shirt", "status": "active"}, commit=False)

    with pytest.raises(InvalidInput) as refused:
        services.save_variant(other, {"sku": "ls-red-m", "price_minor": 100})

    assert refused.value.message == "The SKU ls-red-m is already used by another variant, as LS-RED-M (SKUs ignore case)."
    assert db.session.scalars(select(Product.title)).all() == ["Linen Shirt"]  # rolled back, product and all
    assert db.session.scalar(select(func.count()).select_from(Variant)) == 1


def test_a_variant_may_change_the_case_of_its_own_sku(make_product):
    product = make_product("Mug", variants=[{"sku": "mug-1"}])

    services.save_variant(product, {"sku": "MUG-1", "price_minor": 900}, product.variants[0])
    services.commit_product(product)

    assert db.session.scalars(select(Variant.sku)).all() == ["MUG-1"]


def test_the_product_editor_refuses_a_sku_taken_in_another_case(staff_client, make_product):
    make_product("Linen Shirt", variants=[{"sku": "LS-RED-M"}])

    response = staff_client.post("/admin/products/new", data={
        "title": "Twin", "status": "active", "variants-0-sku": "ls-red-m", "variants-0-price": "10",
        "variants-0-stock": "0", "variants-0-active": "y"}, content_type="multipart/form-data")

    assert response.status_code == 400
    assert ("The SKU ls-red-m is already used by another product as LS-RED-M (SKUs ignore case)."
            in response.get_data(as_text=True))
    assert db.session.scalars(select(Product.title)).all() == ["Linen Shirt"]


def test_the_csv_import_refuses_a_sku_another_product_has_in_another_case(make_product):
    make_product("Linen Shirt", variants=[{"sku": "LS-RED-M"}])

    report = import_products(csv_bytes("twin,Twin,,active,,,,,,,ls-red-m,,1.00,,0,0,true"))

    assert [(e.row, e.column) for e in report.errors] == [(2, "sku")]
    assert "ls-red-m belongs to another product" in report.errors[0].reason
    assert db.session.scalars(select(Product.title)).all() == ["Linen Shirt"]


def test_attribute_values_that_differ_only_in_case_are_one_value(make_product):
    product = services.save_product({"title": "Scarf", "status": "active",
                                     "attributes": {"colour": ["Red", "red", "RED"], "Material": "Wool"}})

    assert attributes_of(product) == [("colour", "Red", False), ("material", "Wool", False)]

    services.save_product({"attributes": {"colour": "red", "material": "WOOL"}, "title": "Scarf"}, product)
    assert attributes_of(product) == [("colour", "red", False), ("material", "WOOL", False)]  # re-spelt


def test_variant_options_in_different_cases_make_one_filterable_value(make_product):
    product = make_product("Tee", attributes={"fit": "Slim"},
                           variants=[{"options": {"colour": "Red", "size": "M"}},
                                     {"options": {"colour": "red", "size": "L"}},
                                     {"options": {"colour": "RED", "fit": "slim", "size": "l"}}])

    assert attributes_of(product) == [("colour", "Red", True), ("fit", "Slim", False), ("size", "L", True),
                                      ("size", "M", True)]


def test_an_option_value_can_become_the_products_own_attribute_in_another_case(make_product):
    product = make_product("Tee", variants=[{"options": {"colour": "red"}}])

    services.save_product({"title": "Tee", "attributes": {"colour": "Red"}}, product)

    assert attributes_of(product) == [("colour", "Red", False)]


def test_an_import_with_option_values_in_different_cases_keeps_one_value(app):
    report = import_products(csv_bytes(
        "tee,Tee,,active,,,colour=Blue,,,,T-1,size=M|colour=blue,10.00,,1,0,true",
        "tee,Tee,,,,,,,,,T-2,size=m|colour=BLUE,10.00,,1,0,true"))

    assert report.error_count == 0
    product = db.session.scalar(select(Product))
    assert attributes_of(product) == [("colour", "Blue", False), ("size", "M", True)]
