"""CSV files as they come from spreadsheets and mistakes: BOMs, CRLF, quoted line breaks,
stray columns, wrong encodings, broken quoting — and a big file read in small pieces."""
import io

import pytest
from sqlalchemy import func, select

from storefront.catalog.csv_io import COLUMNS, CsvFormatError, import_products
from storefront.catalog.models import Product, Variant
from storefront.extensions import db

HEADER = ",".join(COLUMNS)
ROW = "mug,Mug,Holds tea.,active,,,,,,,MUG-1,,12.50,,4,300,true"


def test_a_spreadsheet_export_with_bom_crlf_quoted_line_breaks_and_blank_lines_imports(app):
    data = ("\ufeff" + " Handle ,TITLE,description,sku,price\r\n"
            'note,"Notebook, A5","Dotted pages.\r\n\r\nSays ""hello"", twice.",NB-1,3.00\r\n'
            "\r\n"
            ",,,,\r\n"
            "pen,Pen,,PEN-1,1.20\r\n").encode()
    report = import_products(io.BytesIO(data))

    assert (report.error_count, report.products_created, report.rows) == (0, 2, 2)
    note = db.session.scalar(select(Product).where(Product.slug == "note"))
    assert note.title == "Notebook, A5"
    assert note.description == 'Dotted pages.\r\n\r\nSays "hello", twice.'


def test_row_numbers_are_the_ones_a_spreadsheet_shows(app):
    data = (HEADER + "\n" + ROW + '\nnote,Note,"two\nlines",active,,,,,,,N-1,,1.00,,1,0,true\n\n'
            "pen,Pen,,active,,,,,,,P-1,,1.999,,1,0,true\n").encode()
    report = import_products(io.BytesIO(data))
    assert [(e.row, e.column) for e in report.errors] == [(5, "price")]


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty"),
    ("handle,title,sku,price\nmug,Café,M-1,1.00\n".encode("latin-1"), "Line 2 is not UTF-8 text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "not UTF-8 text"),
    (b"handle,title,sku,price,colour\n", "Unknown column(s) in the header: colour"),
    (b"handle,title,price\n", "lacks the required column(s) sku"),
    (b"handle,sku,price,sku\n", "names sku more than once"),
    (b"handle;title;sku;price\nmug;Mug;M-1;1.00\n", "uses “;” between cells"),
    (b'handle,sku,price\nmug,"M-1,1.00\n', "Row 2 is not valid CSV"),
    (b'{"products": []}\n', "Unknown column(s)"),
])
def test_a_file_that_is_not_a_product_csv_is_refused_with_a_clear_message(app, data, message):
    with pytest.raises(CsvFormatError) as refused:
        import_products(io.BytesIO(data))
    assert message in refused.value.message
    assert refused.value.status == 400


def test_a_bad_file_is_refused_before_anything_is_written_even_when_skipping_bad_rows(app):
    data = (HEADER + "\n" + ROW + "\n").encode() + "pen,Stylo é,,,,,,,,,P-1,,1.00,,1,0,true\n".encode("latin-1")
    with pytest.raises(CsvFormatError, match="not UTF-8"):
        import_products(io.BytesIO(data), mode="skip-bad")
    assert db.session.scalar(select(func.count(Product.id))) == 0


def test_extra_cells_are_an_error_unless_they_are_empty(app):
    data = (HEADER + "\n" + ROW + ",,\n" + ROW.replace("mug", "cup").replace("MUG", "CUP") + ",surprise\n"
            "short,Short\n").encode()
    report = import_products(io.BytesIO(data), mode="skip-bad")
    assert [(e.row, e.column) for e in report.errors] == [(3, ""), (4, "")]
    assert "has 18 cells but the header has 17 columns" in report.errors[0].reason
    assert db.session.scalars(select(Product.slug)).all() == ["mug"]


@pytest.mark.parametrize("cells, column, reason", [
    ({"handle": "Linen Shirt"}, "handle", "is not a handle"),
    ({"price": '"12,50"'}, "price", "Enter an amount like 12.50"),
    ({"price": ""}, "price", "a price is required"),
    ({"compare_at_price": "-1.00"}, "compare_at_price", "can't be negative"),
    ({"stock": "2.5"}, "stock", "is not a whole number"),
    ({"weight_grams": "99999999999"}, "weight_grams", "at most"),
    ({"active": "maybe"}, "active", "is not true or false"),
    ({"options": "size"}, "options", "is not name=value"),
    ({"options": "size=M|size=L"}, "options", "is given twice"),
    ({"attributes": "material="}, "attributes", "has no value"),
    ({"categories": "Clothing >  > Shirts"}, "categories", "empty category name"),
    ({"sku": "X" * 65}, "sku", "at most 64 characters"),
    ({"title": ""}, "title", "needs its title"),
    ({"description": "x" * 40_000}, "description", "at most 32,000 bytes"),
])
def test_each_bad_cell_is_reported_with_its_column_and_reason(app, cells, column, reason):
    values = dict(zip(COLUMNS, ROW.split(",")))
    values.update(cells)
    data = (HEADER + "\n" + ",".join(values[c] for c in COLUMNS) + "\n").encode()
    report = import_products(io.BytesIO(data))
    assert [(e.row, e.column) for e in report.errors] == [(2, column)]
    assert reason in report.errors[0].reason


class SmallReads(io.RawIOBase):
    """A file that records the largest read asked of it."""

    def __init__(self, data: bytes):
        self.inner = io.BytesIO(data)
        self.largest_read = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        return self.inner.seek(offset, whence)

    def tell(self):
        return self.inner.tell()

    def readinto(self, buffer):
        self.largest_read = max(self.largest_read, len(buffer))
        data = self.inner.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def test_a_big_file_is_streamed_in_small_reads_and_written_in_batches(app):
    lines = [HEADER] + [f"p-{n},Product {n},,active,,Things > Stuff {n % 7},,,,,SKU-{n}-{v},size={v},"
                        f"{n}.{v}0,,{v},0,true" for n in range(700) for v in range(2)]
    data = ("\r\n".join(lines) + "\r\n").encode()
    stream = SmallReads(data)
    phases = []

    report = import_products(io.BufferedReader(stream, buffer_size=8192), batch_size=200,
                             progress=lambda phase, position: phases.append((phase, position)))

    assert (report.error_count, report.products_created, report.rows_imported) == (0, 700, 1400)
    assert db.session.scalar(select(func.count(Variant.id))) == 1400
    assert stream.largest_read <= 64 * 1024 < len(data)
    assert phases[-1] == ("write", len(data)) and ("check", len(data)) in phases
