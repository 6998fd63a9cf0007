"""The back office's CSV page: upload with a mode, read the report, download the export."""
import csv
import io
import re

from sqlalchemy import select

from storefront.catalog.csv_io import COLUMNS
from storefront.catalog.models import Product
from storefront.extensions import db

GOOD = "mug,Stoneware Mug,Holds tea.,active,Kiln,Home > Kitchen,,,,false,MUG-1,,12.50,,40,400,true"
BAD = "jug,Jug,,active,,,,,,,JUG-1,,12.345,,-2,0,true"


def upload(client, body: bytes, mode: str = "all-or-nothing", filename: str = "products.csv"):
    return client.post("/admin/catalog/import", data={"mode": mode, "file": (io.BytesIO(body), filename)},
                       content_type="multipart/form-data")


def csv_body(*rows: str) -> bytes:
    return ("\r\n".join((",".join(COLUMNS),) + rows) + "\r\n").encode()


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_staff_find_the_page_in_the_menu_and_strangers_are_kept_out(client, staff_client):
    page = staff_client.get("/admin/catalog/import")
    assert page.status_code == 200
    assert 'href="/admin/catalog/import"' in page.get_data(as_text=True)  # the menu entry
    assert "Import nothing (all or nothing)" in text(page)
    assert client.get("/admin/catalog/import").status_code in (302, 401, 403)
    assert client.get("/admin/catalog/export.csv").status_code in (302, 401, 403)


def test_an_upload_imports_and_reports_what_it_did(staff_client):
    response = upload(staff_client, csv_body(GOOD))
    assert response.status_code == 200
    page = text(response)
    assert "The file was imported." in page and "Products created</th><td>1<" in page
    assert db.session.scalar(select(Product.title)) == "Stoneware Mug"


def test_bad_rows_are_each_reported_and_all_or_nothing_imports_nothing(staff_client):
    response = upload(staff_client, csv_body(GOOD, BAD))
    assert response.status_code == 400
    page = text(response)
    assert "Nothing was imported: the file has 2 errors." in page
    assert "<td>3</td><td>price</td><td>EUR amounts have at most 2 decimal places." in page
    assert "<td>3</td><td>stock</td><td>cannot be negative</td>" in page
    assert db.session.scalar(select(Product)) is None


def test_skip_bad_imports_the_good_products_and_reports_the_skipped_ones(staff_client):
    response = upload(staff_client, csv_body(GOOD, BAD), mode="skip-bad")
    assert response.status_code == 200
    page = text(response)
    assert "1 product with bad rows was skipped" in page and "Rows skipped</th><td>1<" in page
    assert db.session.scalars(select(Product.slug)).all() == ["mug"]


def test_a_file_that_is_not_a_product_csv_gets_a_clear_400(staff_client):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    for body, message in ((png, "not UTF-8 text"), ("name,prix\r\nx,1\r\n".encode(), "Unknown column(s)"),
                          ("handle,title,sku,price\r\nmug,Café,M-1,1.00\r\n".encode("cp1252"), "Line 2 is not UTF-8")):
        response = upload(staff_client, body)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    missing = staff_client.post("/admin/catalog/import", data={"mode": "skip-bad"}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "Choose a CSV file" in missing.get_data(as_text=True)
    odd_mode = upload(staff_client, csv_body(GOOD), mode="sometimes")
    assert odd_mode.status_code == 400 and db.session.scalar(select(Product)) is None


def test_the_export_downloads_as_a_csv_that_the_import_reads_back(staff_client):
    upload(staff_client, csv_body(GOOD))
    response = staff_client.get("/admin/catalog/export.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="products-')
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data()
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert tuple(rows[0]) == COLUMNS and rows[1][COLUMNS.index("sku")] == "MUG-1"
    again = upload(staff_client, body)
    assert again.status_code == 200 and "Products unchanged</th><td>1<" in text(again)
