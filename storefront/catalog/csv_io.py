"""CSV import and export of products with their variants (docs/catalog.md, "CSV").

One row per variant; the product's columns are repeated on each of its rows, and a
product's rows are next to each other. A product without variants is one row whose
variant cells are all empty. The export writes exactly what the import reads, so an
export re-imports to the same catalog.

**Import** (:func:`import_products`) reads the file twice, streaming both times, so a
file of a million rows never sits in memory (only the SKUs and handles seen so far do,
for the duplicate checks):

1. *check*: every row is parsed and validated — cell formats, duplicate SKUs in the
   file, SKUs that belong to another product in the catalog, a product's rows being
   together — and every problem is reported as (row, column, reason);
2. *write*: the products are written in batches, one flush per batch. The
   denormalised price, stock flag and option attributes are computed by
   :func:`summarise`, which mirrors
   :func:`~storefront.catalog.services.refresh_product_summary` without its flush per
   product (tests check the two agree).

``all-or-nothing`` writes only when the check found nothing, and then writes everything
in **one transaction** (flushed batch by batch, so memory stays flat): if anything fails
midway, the rollback leaves the catalog as it was. A database rolls back a large
transaction cheaply, which compensating "undo" batches could not do safely while other
people edit the catalog. ``skip-bad`` leaves out every product with at least one bad row
— whole, so no product is ever half-written — and commits the others batch by batch.

Re-importing is idempotent: products are found by handle (their slug), variants by SKU;
a product whose values did not change is not touched (no ``updated_at`` bump, no event).
Stock is an absolute value; a change is recorded as a stock movement with reason
``import``. Nothing is ever deleted: variants missing from the file stay as they are.
Plugins are told about changed products (``storefront_product_changed``) after each
commit.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence, TextIO

from flask import current_app
from sqlalchemy import false, func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload

from .. import audit
from ..errors import InvalidInput
from ..extensions import db
from ..money import Money, MoneyParseError, parse_money
from .models import PRODUCT_STATUSES, Category, Product, ProductAttribute, StockMovement, Variant, product_categories
from .services import (attribute_key, fold, product_changed, render_description, same_sku, set_product_attributes,
                       slugify, unique_slug, utcnow)

#: Every column, in the order the export writes them.
PRODUCT_COLUMNS = ("handle", "title", "description", "status", "brand", "categories", "attributes",
                   "seo_title", "seo_description", "featured")
VARIANT_COLUMNS = ("sku", "options", "price", "compare_at_price", "stock", "weight_grams", "active")
COLUMNS = PRODUCT_COLUMNS + VARIANT_COLUMNS
#: A file may leave out any other column: existing products then keep that value.
REQUIRED_COLUMNS = ("handle", "sku", "price")

IMPORT_MODES = ("all-or-nothing", "skip-bad")
#: Products written (and, in skip-bad mode, committed) together.
DEFAULT_BATCH_SIZE = 500
#: Rows whose catalog look-ups (SKU owners, existing handles) are made in one query.
LOOKUP_CHUNK_ROWS = 1000

CATEGORY_SEPARATOR = " > "
LIST_SEPARATOR = "|"
TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}
HANDLE_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
WHOLE_NUMBER = re.compile(r"[+-]?\d+")
MAX_INT = 2**31 - 1  # stock and weight are INTEGER columns
# TEXT holds 65,535 bytes on MariaDB; description_html must fit too, and HTML is longer.
MAX_DESCRIPTION_BYTES = 32_000
MAX_LINE_BYTES = 1_000_000  # far above any real row; stops a binary file from being read as one "line"
LIMITS = {"handle": 191, "title": 255, "brand": 120, "seo_title": 255, "seo_description": 320, "sku": 64}
CATEGORY_NAME_LIMIT, ATTRIBUTE_NAME_LIMIT, ATTRIBUTE_VALUE_LIMIT = 120, 60, 120

Progress = Callable[[str, int], None]
"""Called as ``progress(phase, bytes_read)`` with phase ``"check"`` then ``"write"``."""


class CsvFormatError(InvalidInput):
    """The file cannot be read as a product CSV (encoding, header, broken quoting)."""

    code = "invalid_csv"


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: the row number as a spreadsheet shows it (the header is row 1), the
    column (empty when it concerns the whole row) and a reason a merchant can act on."""

    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    """What an import did. ``errors`` holds at most ``max_errors`` problems (all of them
    when it is None); ``error_count`` counts every one."""

    mode: str
    filename: str = ""
    max_errors: int | None = None
    rows: int = 0
    rows_imported: int = 0
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    products_skipped: int = 0
    stock_movements: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def rows_skipped(self) -> int:
        return self.rows - self.rows_imported

    @property
    def products_written(self) -> int:
        return self.products_created + self.products_updated

    @property
    def refused(self) -> bool:
        """Errors were found and nothing was imported."""
        return bool(self.error_count) and not self.rows_imported

    @property
    def errors_left_out(self) -> int:
        return self.error_count - len(self.errors)

    def add_error(self, row: int, column: str, reason: str) -> None:
        self.error_count += 1
        if self.max_errors is None or len(self.errors) < self.max_errors:
            self.errors.append(RowError(row, column, reason))


class _CellError(ValueError):
    """A cell's value is unusable; the message is the reason shown to the merchant."""


# --- reading the file ---------------------------------------------------------------------------


def _text_lines(stream: BinaryIO) -> Iterator[str]:
    """The file's lines as text, line endings kept (as ``csv`` wants them).

    UTF-8 is decoded line by line — a byte-order mark is dropped — so a bad byte is
    reported with its line number, and no more than one line is ever held.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    number = 1
    while True:
        raw = stream.readline(MAX_LINE_BYTES)
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise CsvFormatError(f"Line {number} is longer than {MAX_LINE_BYTES // 1_000_000} MB; this is not a "
                                 "product CSV.")
        try:
            line = decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise CsvFormatError(f"Line {number} is not UTF-8 text. Save the file as “CSV UTF-8” and try "
                                 "again.") from None
        if not raw:
            return
        if number == 1:
            line = line.removeprefix("\ufeff")
        yield line
        number += raw.endswith(b"\n")


def _text_rows(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every record of the file, header included (row 1).

    Quoted cells may hold commas, quotes and line breaks; lines may end in LF or CRLF.
    Blank lines (and Excel's ",,,," lines) count as rows — so row numbers are the ones
    a spreadsheet shows — but are not yielded.
    """
    reader = csv.reader(_text_lines(stream), strict=True)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFormatError(f"Row {number + 1} is not valid CSV ({exc}). Check its quotes.") from None
        number += 1
        if any(cell.strip() for cell in cells):
            yield number, cells


def _read_header(cells: list[str]) -> list[str]:
    """The normalised column names of a header row; raises :class:`CsvFormatError`."""
    names = [cell.strip().lower() for cell in cells]
    if len(names) == 1 and ";" in names[0]:
        raise CsvFormatError("The file uses “;” between cells; a product CSV uses commas. Export it "
                             "again as “CSV UTF-8 (comma delimited)”.")
    unknown = [name or f"(column {i + 1} has no name)" for i, name in enumerate(names) if name not in COLUMNS]
    if unknown:
        raise CsvFormatError(f"Unknown column(s) in the header: {', '.join(unknown)}. The columns are: "
                             f"{', '.join(COLUMNS)}.")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise CsvFormatError(f"The header names {', '.join(duplicated)} more than once.")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise CsvFormatError(f"The header lacks the required column(s) {', '.join(missing)} "
                             f"(the first row must name the columns, e.g. {','.join(COLUMNS)}).")
    return names


# --- one row ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """A parsed row: the product's values and the variant's, each holding only the
    columns present in the header (an absent column keeps the current value)."""

    number: int
    handle: str
    product: dict[str, Any]
    variant: dict[str, Any] | None  # None: a product without variants
    errors: list[tuple[str, str]]  # (column, reason)
    filled: frozenset[str]  # product columns whose cell is not empty


def _text(limit_key: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > LIMITS[limit_key]:
            raise _CellError(f"at most {LIMITS[limit_key]} characters (this has {len(value)})")
        return value

    return parse


def _stripped(limit_key: str) -> Callable[[str], str]:
    check = _text(limit_key)
    return lambda value: check(value.strip())


def _parse_description(value: str) -> str:
    size = len(value.encode())
    if size > MAX_DESCRIPTION_BYTES:
        raise _CellError(f"at most {MAX_DESCRIPTION_BYTES:,} bytes (this has {size:,})")
    return value


def _parse_status(value: str) -> str:
    status = value.strip().lower() or "draft"
    if status not in PRODUCT_STATUSES:
        raise _CellError(f"unknown status “{value.strip()}”; use {', '.join(PRODUCT_STATUSES)}")
    return status


def _parse_bool_or(default: bool) -> Callable[[str], bool]:
    def parse(value: str) -> bool:
        word = value.strip().lower()
        if not word:
            return default
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise _CellError(f"“{value.strip()}” is not true or false")

    return parse


def _parse_categories(value: str) -> tuple[tuple[str, ...], ...]:
    paths: list[tuple[str, ...]] = []
    for raw_path in value.split(LIST_SEPARATOR):
        if not raw_path.strip():
            continue
        names = tuple(name.strip() for name in raw_path.split(">"))
        if not all(names):
            raise _CellError(f"“{raw_path.strip()}” has an empty category name; write paths like "
                             "“Clothing > Shirts”")
        too_long = next((name for name in names if len(name) > CATEGORY_NAME_LIMIT), None)
        if too_long:
            raise _CellError(f"category names have at most {CATEGORY_NAME_LIMIT} characters")
        if names not in paths:
            paths.append(names)
    return tuple(paths)


def _parse_pairs(value: str, *, unique_names: bool) -> tuple[tuple[str, str], ...]:
    """"name=value|name=value" → pairs, names lower-cased as the services store them."""
    pairs: list[tuple[str, str]] = []
    for part in value.split(LIST_SEPARATOR):
        if not part.strip():
            continue
        name, equals, text = part.partition("=")
        name, text = name.strip().lower(), text.strip()
        if not equals or not name:
            raise _CellError(f"“{part.strip()}” is not name=value")
        if not text:
            raise _CellError(f"“{name}” has no value")
        if len(name) > ATTRIBUTE_NAME_LIMIT or len(text) > ATTRIBUTE_VALUE_LIMIT:
            raise _CellError(f"names have at most {ATTRIBUTE_NAME_LIMIT} characters and values at most "
                             f"{ATTRIBUTE_VALUE_LIMIT}")
        if unique_names and any(name == seen for seen, _ in pairs):
            raise _CellError(f"“{name}” is given twice")
        if (name, text) not in pairs:
            pairs.append((name, text))
    return tuple(pairs)


def _parse_options(value: str) -> dict[str, str]:
    return dict(_parse_pairs(value, unique_names=True))


def _parse_attributes(value: str) -> tuple[tuple[str, str], ...]:
    return _parse_pairs(value, unique_names=False)


def _parse_whole(value: str) -> int:
    text = value.strip()
    if not text:
        return 0
    if not WHOLE_NUMBER.fullmatch(text):
        raise _CellError(f"“{text}” is not a whole number")
    number = int(text)
    if number < 0:
        raise _CellError("cannot be negative")
    if number > MAX_INT:
        raise _CellError(f"at most {MAX_INT:,}")
    return number


def _money_parser(currency: str, *, required: bool) -> Callable[[str], int | None]:
    def parse(value: str) -> int | None:
        if not value.strip():
            if required:
                raise _CellError(f"a price is required, e.g. {_example_price(currency)}")
            return None
        try:
            # Fixed en_US notation: the file is data, not a shopper's typing ("1234.50").
            return parse_money(value, currency, "en_US").minor
        except MoneyParseError as exc:
            raise _CellError(str(exc)) from None

    return parse


def _example_price(currency: str) -> str:
    return format(Money.from_decimal("49.9", currency).as_decimal(), "f")


def _parse_sku(value: str) -> str:
    sku = value.strip()
    if not sku:
        raise _CellError("every variant needs a SKU")
    return _text("sku")(sku)


class _RowParser:
    """Turns a row's cells into a :class:`_Row`, collecting every cell's problem."""

    def __init__(self, header: list[str], currency: str):
        self.header = header
        self.width = len(header)
        self.product_parsers: dict[str, Callable[[str], Any]] = {
            "title": lambda v: _text("title")(v.strip()),
            "description": _parse_description,
            "status": _parse_status,
            "brand": _stripped("brand"),
            "categories": _parse_categories,
            "attributes": _parse_attributes,
            "seo_title": _text("seo_title"),
            "seo_description": _text("seo_description"),
            "featured": _parse_bool_or(False),
        }
        self.variant_parsers: dict[str, Callable[[str], Any]] = {
            "sku": _parse_sku,
            "options": _parse_options,
            "price": _money_parser(currency, required=True),
            "compare_at_price": _money_parser(currency, required=False),
            "stock": _parse_whole,
            "weight_grams": _parse_whole,
            "active": _parse_bool_or(True),
        }
        self.variant_columns = [name for name in header if name in VARIANT_COLUMNS]

    def parse(self, number: int, cells: list[str]) -> _Row:
        errors: list[tuple[str, str]] = []
        if len(cells) > self.width and any(cell.strip() for cell in cells[self.width:]):
            errors.append(("", f"has {len(cells)} cells but the header has {self.width} columns"))
        elif len(cells) < self.width:
            errors.append(("", f"has {len(cells)} cells but the header has {self.width} columns"))
        values = dict(zip(self.header, cells + [""] * (self.width - len(cells))))
        handle = values["handle"].strip()
        if not handle:
            errors.append(("handle", "every row needs the handle of its product"))
        elif len(handle) > LIMITS["handle"] or not HANDLE_PATTERN.fullmatch(handle):
            errors.append(("handle", f"“{handle[:80]}” is not a handle: use lower-case letters, digits and "
                                     "single dashes, e.g. “linen-shirt”"))
        product = self._parse_cells(self.product_parsers, values, errors)
        variant = None
        if any(values[name].strip() for name in self.variant_columns):
            variant = self._parse_cells(self.variant_parsers, values, errors)
        filled = frozenset(name for name in self.product_parsers if values.get(name, "").strip())
        return _Row(number, handle, product, variant, errors, filled)

    @staticmethod
    def _parse_cells(parsers: dict[str, Callable[[str], Any]], values: dict[str, str],
                     errors: list[tuple[str, str]]) -> dict[str, Any]:
        parsed = {}
        for name, parse in parsers.items():
            if name in values:
                try:
                    parsed[name] = parse(values[name])
                except _CellError as exc:
                    errors.append((name, str(exc)))
        return parsed


def _rows(stream: BinaryIO, currency: str, progress: Progress | None, phase: str
          ) -> Iterator[tuple[_RowParser, _Row]]:
    stream.seek(0)
    with closing(_text_rows(stream)) as records:  # closed at once, even when a row raises
        first = next(records, None)
        if first is None:
            raise CsvFormatError(f"The file is empty. Its first row must name the columns: {','.join(COLUMNS)}.")
        parser = _RowParser(_read_header(first[1]), currency)
        for number, cells in records:
            if progress is not None and number % 500 == 0:
                progress(phase, stream.tell())
            yield parser, parser.parse(number, cells)
    if progress is not None:
        progress(phase, stream.tell())


# --- pass 1: check every row ------------------------------------------------------------------------


@dataclass
class _Group:
    """The rows of one product seen so far (first pass)."""

    handle: str
    first_row: int
    product: dict[str, Any]
    rows: int = 0
    product_only_rows: list[int] = field(default_factory=list)
    variant_rows: int = 0


class _Checker:
    """First pass: validates every row and remembers which products are bad."""

    def __init__(self, report: ImportReport, currency: str):
        self.report = report
        self.currency = currency
        self.bad_handles: set[str] = set()
        self.closed: dict[str, int] = {}  # handle → first row, for products whose rows ended
        self.sku_rows: dict[str, int] = {}  # folded SKU (services.fold) → the row it first appeared on
        self.group: _Group | None = None
        self.header: list[str] = []
        self.pending_skus: list[tuple[int, str, str]] = []  # (row, handle, sku)
        self.pending_handles: dict[str, int] = {}  # handle → first row (catalog look-up)

    def fail(self, row: int, column: str, reason: str, handle: str) -> None:
        self.report.add_error(row, column, reason)
        if handle:
            self.bad_handles.add(handle)

    def check(self, parser: _RowParser, row: _Row) -> None:
        self.header = parser.header
        self.report.rows += 1
        for column, reason in row.errors:
            self.fail(row.number, column, reason, row.handle if HANDLE_PATTERN.fullmatch(row.handle) else "")
        if not row.handle or any(column == "handle" for column, _ in row.errors):
            return
        group = self.group
        if group is None or group.handle != row.handle:
            self._close_group()
            if row.handle in self.closed:
                self.fail(row.number, "handle", f"the rows of product “{row.handle}” must be next to each "
                                                f"other; it already appeared at row {self.closed[row.handle]}",
                          row.handle)
            group = self.group = _Group(row.handle, row.number, row.product)
            self.pending_handles.setdefault(row.handle, row.number)
        else:
            self._compare_product_cells(group, row)
        group.rows += 1
        if row.variant is None:
            group.product_only_rows.append(row.number)
        else:
            group.variant_rows += 1
            sku = row.variant.get("sku")
            if sku:
                key = fold(sku)
                if key in self.sku_rows:
                    self.fail(row.number, "sku", f"{sku} is also on row {self.sku_rows[key]} (SKUs are unique, "
                                                 "whatever their case)", row.handle)
                else:
                    self.sku_rows[key] = row.number
                    self.pending_skus.append((row.number, row.handle, sku))
        if len(self.pending_skus) + len(self.pending_handles) >= LOOKUP_CHUNK_ROWS:
            self._look_up_catalog()

    def finish(self) -> None:
        self._close_group()
        self._look_up_catalog()
        self.report.errors.sort(key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else -1))

    def _compare_product_cells(self, group: _Group, row: _Row) -> None:
        """Later rows repeat the product's values or leave them empty; anything else is
        ambiguous (which one should win?), so it is an error."""
        for column in row.filled:
            if column in row.product and _comparable(row.product[column]) != _comparable(group.product.get(column)):
                self.fail(row.number, column, f"differs from row {group.first_row}, the first row of "
                                              f"product “{group.handle}” (repeat its value or leave it empty)",
                          group.handle)

    def _close_group(self) -> None:
        group = self.group
        if group is None:
            return
        if group.product_only_rows and group.variant_rows:
            for number in group.product_only_rows:
                self.fail(number, "sku", "every variant needs a SKU (a row without variant cells stands for a "
                                         "product without variants and must be its only row)", group.handle)
        if "title" in group.product and not group.product["title"]:
            self.fail(group.first_row, "title", "the first row of a product needs its title", group.handle)
        self.closed[group.handle] = group.first_row
        self.group = None

    def _look_up_catalog(self) -> None:
        """SKUs owned by other products, and new products the file cannot fully describe."""
        if self.pending_skus:
            owners = _sku_owners([sku for _, _, sku in self.pending_skus])
            for number, handle, sku in self.pending_skus:
                owner = owners.get(fold(sku))
                if owner is not None and owner != handle:
                    self.fail(number, "sku", f"{sku} belongs to another product (“{owner}”)", handle)
            self.pending_skus = []
        if self.pending_handles:
            existing = dict(db.session.execute(select(Product.slug, Product.currency)
                                               .where(Product.slug.in_(list(self.pending_handles)))).all())
            for handle, number in self.pending_handles.items():
                currency = existing.get(handle)
                if currency is None and "title" not in self.header:
                    self.fail(number, "title", f"“{handle}” is a new product: add a title column", handle)
                elif currency is not None and currency != self.currency:
                    self.fail(number, "price", f"“{handle}” is priced in {currency}; this file's prices are in "
                                               f"{self.currency}", handle)
            self.pending_handles = {}


def _comparable(value: Any) -> Any:
    """Lists of categories or attributes are the same whatever their order."""
    return frozenset(value) if isinstance(value, tuple) else value


def _sku_owners(skus: Sequence[str]) -> dict[str, str]:
    """Folded SKU (:func:`~storefront.catalog.services.fold`) → handle of the product that
    has it: SKUs that differ only in case are one SKU, on SQLite as on MariaDB."""
    if not skus:
        return {}
    rows = db.session.execute(select(Variant.sku, Product.slug).join(Product, Product.id == Variant.product_id)
                              .where(same_sku(skus))).all()
    return {fold(sku): slug for sku, slug in rows}


# --- the denormalised summary ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    price_min_minor: int
    in_stock: bool
    option_attributes: tuple[tuple[str, str], ...]  # (name, value) rows with from_variant=True


def summarise(variants: Iterable[tuple[int, int, bool, dict]], own_attributes: Iterable[tuple[str, str]]
              ) -> Summary:
    """A product's denormalised columns from its variants ``(price_minor, stock, active,
    options)`` in position order and its own attributes — exactly what
    :func:`storefront.catalog.services.refresh_product_summary` stores, for writers that
    work in bulk (the import, ``flask catalog generate``)."""
    active = [(price, stock, options) for price, stock, is_active, options in variants if is_active]
    seen = {attribute_key(name, value) for name, value in own_attributes}
    option_values = []
    for _, _, options in active:
        for name, value in (options or {}).items():
            row = (name[:60], str(value)[:120])
            if attribute_key(*row) not in seen:  # "Red" and "red" are one value, as on MariaDB
                seen.add(attribute_key(*row))
                option_values.append(row)
    return Summary(min((price for price, _, _ in active), default=0), any(stock > 0 for _, stock, _ in active),
                   tuple(option_values))


def _store_summary(product: Product) -> None:
    """Apply :func:`summarise` to a loaded product, keeping the attribute rows that still
    apply (a replaced row would be inserted before the old one is deleted and trip the
    unique constraint)."""
    own = [a for a in product.attributes if not a.from_variant]
    variants = sorted(product.variants, key=lambda v: (v.position or 0, v.id or 0))
    summary = summarise(((v.price_minor, v.stock, v.active, v.options) for v in variants),
                        ((a.name, a.value) for a in own))
    _assign(product, "price_min_minor", summary.price_min_minor)
    _assign(product, "in_stock", summary.in_stock)
    existing = {attribute_key(a.name, a.value): a for a in product.attributes if a.from_variant}
    wanted = list(own)
    for name, value in summary.option_attributes:
        row = existing.get(attribute_key(name, value))
        if row is None:
            row = ProductAttribute(name=name, value=value, from_variant=True)
        _assign(row, "value", value)
        wanted.append(row)
    if wanted != list(product.attributes):
        product.attributes = wanted


# --- categories ------------------------------------------------------------------------------------------


class CategoryPaths:
    """The category tree as paths of names ("Clothing > Shirts"), loaded once.

    Names match without regard to case, so "clothing > shirts" finds "Clothing > Shirts"
    instead of creating a near-twin. :meth:`ensure` creates missing categories (in the
    caller's transaction).
    """

    def __init__(self) -> None:
        self.reload()

    def reload(self) -> None:
        rows = db.session.execute(select(Category.id, Category.parent_id, Category.name)
                                  .order_by(Category.position, Category.id)).all()
        parents = {row.id: (row.parent_id, row.name) for row in rows}
        self.names: dict[int, tuple[str, ...]] = {}
        self.ids: dict[tuple[str, ...], int] = {}
        for category_id in parents:
            path = self._path_of(category_id, parents)
            self.names[category_id] = path
            self.ids.setdefault(self._key(path), category_id)

    @staticmethod
    def _path_of(category_id: int, parents: dict[int, tuple[int | None, str]]) -> tuple[str, ...]:
        path: list[str] = []
        seen: set[int] = set()
        current: int | None = category_id
        while current is not None and current in parents and current not in seen:  # a loop must not hang
            seen.add(current)
            parent_id, name = parents[current]
            path.append(name)
            current = parent_id
        return tuple(reversed(path))

    @staticmethod
    def _key(path: Sequence[str]) -> tuple[str, ...]:
        return tuple(name.casefold() for name in path)

    def path(self, category_id: int) -> str:
        return CATEGORY_SEPARATOR.join(self.names.get(category_id, ()))

    def ensure(self, path: Sequence[str]) -> int:
        """The id of the category at ``path``, creating it and its missing parents."""
        parent_id: int | None = None
        for depth in range(1, len(path) + 1):
            key = self._key(path[:depth])
            if key not in self.ids:
                name = path[depth - 1]
                category = Category(name=name, parent_id=parent_id, description="", position=0, active=True,
                                    slug=unique_slug(Category, slugify(name)))
                db.session.add(category)
                db.session.flush()
                self.ids[key] = category.id
                self.names[category.id] = tuple(path[:depth])
            parent_id = self.ids[key]
        assert parent_id is not None
        return parent_id


# --- export ----------------------------------------------------------------------------------------------


def _bool_cell(value: bool) -> str:
    return "true" if value else "false"


def _money_cell(minor: int | None, currency: str) -> str:
    return "" if minor is None else format(Money(minor, currency).as_decimal(), "f")


def _pairs_cell(pairs: Iterable[tuple[str, str]]) -> str:
    return LIST_SEPARATOR.join(f"{name}={value}" for name, value in pairs)


def _rows_of(head: list[str], variants: Sequence[Any]) -> list[list[str]]:
    """A product's rows from its product cells and its variants (ORM objects or rows with
    the same attribute names), in display order."""
    if not variants:
        return [head + [""] * len(VARIANT_COLUMNS)]
    return [head + [v.sku, _pairs_cell((v.options or {}).items()), _money_cell(v.price_minor, v.currency),
                    _money_cell(v.compare_at_minor, v.currency), str(v.stock), str(v.weight_grams),
                    _bool_cell(v.active)] for v in variants]


def _head(product: Any, category_paths: Iterable[str], own_attributes: Iterable[tuple[str, str]]) -> list[str]:
    return [product.slug, product.title, product.description or "", product.status, product.brand or "",
            LIST_SEPARATOR.join(sorted(category_paths)), _pairs_cell(sorted(own_attributes)),
            product.seo_title or "", product.seo_description or "", _bool_cell(product.featured)]


def product_rows(product: Product, categories: CategoryPaths) -> list[list[str]]:
    """The CSV rows of one loaded product (as :func:`export_chunks` writes them)."""
    head = _head(product, (categories.path(c.id) for c in product.categories if c.id is not None),
                 ((a.name, a.value) for a in product.attributes if not a.from_variant))
    return _rows_of(head, sorted(product.variants, key=lambda v: (v.position or 0, v.id or 0)))


def export_chunks(batch_size: int = DEFAULT_BATCH_SIZE, progress: Callable[[int], None] | None = None
                  ) -> Iterator[str]:
    """The whole catalog as CSV text, header first, one chunk per batch of products (by
    id), so a response or a file can stream it. ``progress(n)`` gets each batch's size.

    Reads plain rows, four queries per batch, rather than ORM objects: building objects
    would cost more than the whole rest of the export.
    """
    categories = CategoryPaths()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    last_id = 0
    while True:
        products = db.session.execute(
            select(Product.id, Product.slug, Product.title, Product.description, Product.status, Product.brand,
                   Product.seo_title, Product.seo_description, Product.featured)
            .where(Product.id > last_id).order_by(Product.id).limit(batch_size)).all()
        ids = [product.id for product in products]
        variants: dict[int, list[Any]] = {}
        for variant in db.session.execute(
                select(Variant.product_id, Variant.sku, Variant.options, Variant.price_minor,
                       Variant.compare_at_minor, Variant.currency, Variant.stock, Variant.weight_grams,
                       Variant.active).where(Variant.product_id.in_(ids))
                .order_by(Variant.product_id, Variant.position, Variant.id)):
            variants.setdefault(variant.product_id, []).append(variant)
        attributes: dict[int, list[tuple[str, str]]] = {}
        for product_id, name, value in db.session.execute(
                select(ProductAttribute.product_id, ProductAttribute.name, ProductAttribute.value)
                .where(ProductAttribute.product_id.in_(ids), ProductAttribute.from_variant == false())):
            attributes.setdefault(product_id, []).append((name, value))
        paths: dict[int, list[str]] = {}
        for product_id, category_id in db.session.execute(
                select(product_categories.c.product_id, product_categories.c.category_id)
                .where(product_categories.c.product_id.in_(ids))):
            paths.setdefault(product_id, []).append(categories.path(category_id))
        for product in products:
            head = _head(product, paths.get(product.id, ()), attributes.get(product.id, ()))
            writer.writerows(_rows_of(head, variants.get(product.id, ())))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if progress is not None:
            progress(len(products))
        if len(products) < batch_size:
            return
        last_id = ids[-1]


def count_products() -> int:
    """How many products the catalog holds (an export's progress bar length)."""
    return db.session.scalar(select(func.count(Product.id))) or 0


# --- pass 2: write ---------------------------------------------------------------------------------------


@dataclass
class _ProductRows:
    """All rows of one good product (second pass)."""

    handle: str
    first_row: int
    product: dict[str, Any]
    variants: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0


def _good_products(rows: Iterator[tuple[_RowParser, _Row]], bad_handles: set[str]) -> Iterator[_ProductRows]:
    current: _ProductRows | None = None
    for _, row in rows:
        if row.errors or row.handle in bad_handles:
            continue
        if current is None or current.handle != row.handle:
            if current is not None:
                yield current
            current = _ProductRows(row.handle, row.number, row.product)
        current.rows += 1
        if row.variant is not None:
            current.variants.append(row.variant)
    if current is not None:
        yield current


class _ConcurrentChange(Exception):
    """The catalog changed between the check and the write (a SKU was taken meanwhile)."""


class _Writer:
    """Second pass: applies good products to the catalog, batch by batch."""

    def __init__(self, report: ImportReport, currency: str, actor: Any):
        self.report = report
        self.currency = currency
        self.actor = actor
        self.categories = CategoryPaths()
        self.now = utcnow()

    def write_batch(self, batch: list[_ProductRows]) -> list[int]:
        """Apply ``batch`` (flushed, not committed); returns the ids of changed products."""
        handles = [item.handle for item in batch]
        existing = {p.slug: p for p in db.session.scalars(
            select(Product).where(Product.slug.in_(handles))
            .options(selectinload(Product.variants), selectinload(Product.attributes),
                     selectinload(Product.categories)))}
        owners = _sku_owners([v["sku"] for item in batch for v in item.variants])
        wanted_categories = {path for item in batch for path in item.product.get("categories", ())}
        category_ids = {path: self.categories.ensure(path) for path in wanted_categories}
        loaded = {c.id: c for c in db.session.scalars(select(Category)
                                                      .where(Category.id.in_(list(category_ids.values()))))}
        changed = []
        stock_changes: list[tuple[Variant, int]] = []
        with db.session.no_autoflush:  # one flush for the whole batch, below
            for item in batch:
                for variant in item.variants:
                    owner = owners.get(fold(variant["sku"]))
                    if owner is not None and owner != item.handle:
                        raise _ConcurrentChange(f"SKU {variant['sku']} now belongs to “{owner}”")
                product, outcome = self._apply(item, existing.get(item.handle),
                                               {path: loaded[i] for path, i in category_ids.items()}, stock_changes)
                if outcome != "unchanged":
                    changed.append(product)
                setattr(self.report, f"products_{outcome}", getattr(self.report, f"products_{outcome}") + 1)
                self.report.rows_imported += item.rows
        db.session.flush()  # new variants get their ids
        db.session.add_all([StockMovement(variant_id=variant.id, delta=delta, stock_after=variant.stock,
                                          reason="import", note="CSV import", created_at=self.now,
                                          user_id=getattr(self.actor, "id", None))
                            for variant, delta in stock_changes])
        db.session.flush()
        self.report.stock_movements += len(stock_changes)
        return [product.id for product in changed]

    def _apply(self, item: _ProductRows, product: Product | None, categories: dict[tuple[str, ...], Category],
               stock_changes: list[tuple[Variant, int]]) -> tuple[Product, str]:
        """Apply one product's rows; returns it and "created", "updated" or "unchanged"."""
        values = item.product
        creating = product is None
        if product is None:
            product = Product(slug=item.handle, title="", description="", description_html="", status="draft",
                              brand="", seo_title="", seo_description="", featured=False, currency=self.currency,
                              price_min_minor=0, in_stock=False, rating_avg_x100=0, rating_count=0,
                              created_at=self.now, updated_at=self.now)
            db.session.add(product)
            before = None
        else:
            before = product_rows(product, self.categories)
        for column in ("title", "status", "brand", "seo_title", "seo_description", "featured"):
            if column in values:
                _assign(product, column, values[column])
        if "description" in values and (creating or product.description != values["description"]):
            product.description = values["description"]
            product.description_html = render_description(product.description)
        if "categories" in values:
            wanted = [categories[path] for path in values["categories"]]
            if {c.id for c in product.categories} != {c.id for c in wanted}:
                product.categories = wanted
        if "attributes" in values:
            grouped: dict[str, list[str]] = {}
            for name, value in values["attributes"]:
                grouped.setdefault(name, []).append(value)
            set_product_attributes(product, grouped)
        stock_changes.extend(self._apply_variants(product, item.variants))
        _store_summary(product)
        if creating:
            return product, "created"
        if product_rows(product, self.categories) == before:
            return product, "unchanged"
        product.updated_at = self.now
        return product, "updated"

    def _apply_variants(self, product: Product, rows: list[dict[str, Any]]) -> list[tuple[Variant, int]]:
        by_sku = {fold(v.sku): v for v in product.variants}
        stock_changes = []
        for position, values in enumerate(rows):
            variant = by_sku.get(fold(values["sku"]))
            if variant is None:
                variant = Variant(sku=values["sku"], options={}, currency=product.currency, stock=0,
                                  weight_grams=0, active=True, position=position, price_minor=values["price"])
                product.variants.append(variant)
            _assign(variant, "sku", values["sku"])
            _assign(variant, "position", position)
            _assign(variant, "price_minor", values["price"])
            for column, attribute in (("options", "options"), ("compare_at_price", "compare_at_minor"),
                                      ("weight_grams", "weight_grams"), ("active", "active")):
                if column in values:
                    _assign(variant, attribute, values[column])
            if "stock" in values and values["stock"] != (variant.stock or 0):
                stock_changes.append((variant, values["stock"] - (variant.stock or 0)))
                variant.stock = values["stock"]
        return stock_changes


def _assign(target: Any, attribute: str, value: Any) -> None:
    """Set only what differs, so an unchanged re-import issues no UPDATE."""
    if getattr(target, attribute) != value:
        setattr(target, attribute, value)


def _batches(items: Iterator[_ProductRows], size: int) -> Iterator[list[_ProductRows]]:
    batch: list[_ProductRows] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the service -----------------------------------------------------------------------------------------


def import_products(stream: BinaryIO, *, mode: str = "all-or-nothing", actor: Any = None, filename: str = "",
                    batch_size: int = DEFAULT_BATCH_SIZE, max_errors: int | None = None,
                    progress: Progress | None = None) -> ImportReport:
    """Import a product CSV from a seekable binary ``stream`` (see the module docstring).

    ``mode`` is ``all-or-nothing`` (nothing is written when any row is bad) or
    ``skip-bad`` (products with a bad row are left out whole; the others are written).
    Raises :class:`CsvFormatError` — before writing anything — when the file cannot be
    read as a product CSV (not UTF-8, unknown or missing columns, broken quoting).
    Returns the :class:`ImportReport`; it lists at most ``max_errors`` errors.
    """
    if mode not in IMPORT_MODES:
        raise InvalidInput(f"The mode must be {' or '.join(IMPORT_MODES)}.")
    if batch_size < 1:
        raise InvalidInput("The batch size must be at least 1.")
    currency = current_app.config["STORE_CURRENCY"]
    report = ImportReport(mode=mode, filename=filename, max_errors=max_errors)
    checker = _Checker(report, currency)
    for parser, row in _rows(stream, currency, progress, "check"):
        checker.check(parser, row)
    checker.finish()
    db.session.rollback()  # end the look-ups' read transaction before writing
    if report.error_count and mode == "all-or-nothing":
        report.products_skipped = len(checker.closed)
        return report
    report.products_skipped = len(checker.bad_handles)
    writer = _Writer(report, currency, actor)
    with closing(_good_products(_rows(stream, currency, progress, "write"), checker.bad_handles)) as good:
        if mode == "all-or-nothing":
            _write_all(writer, good, batch_size, report)
        else:
            _write_each_batch(writer, good, batch_size, report)
    return report


def _write_all(writer: _Writer, good: Iterator[_ProductRows], batch_size: int, report: ImportReport) -> None:
    """One transaction for the whole file: a failure anywhere rolls everything back."""
    changed: list[int] = []
    try:
        for batch in _batches(good, batch_size):
            changed.extend(writer.write_batch(batch))
        _record(report, writer.actor)
        db.session.commit()
    except (_ConcurrentChange, IntegrityError, DataError) as exc:
        db.session.rollback()
        _nothing_written(report, exc)
        return
    except BaseException:
        db.session.rollback()
        raise
    product_changed(changed)


def _write_each_batch(writer: _Writer, good: Iterator[_ProductRows], batch_size: int,
                      report: ImportReport) -> None:
    """A commit per batch; a batch that fails is retried product by product, so one
    product changed meanwhile by someone else costs only that product."""
    for batch in _batches(good, batch_size):
        _commit_batch(writer, batch, report)
    _record(report, writer.actor)
    db.session.commit()


def _commit_batch(writer: _Writer, batch: list[_ProductRows], report: ImportReport) -> None:
    counts = _counts(report)
    try:
        changed = writer.write_batch(batch)
        db.session.commit()
    except (_ConcurrentChange, IntegrityError, DataError) as exc:
        db.session.rollback()
        _restore_counts(report, counts)
        writer.categories.reload()  # categories made in the rolled-back batch are gone
        if len(batch) > 1:
            for item in batch:
                _commit_batch(writer, [item], report)
        else:
            report.products_skipped += 1
            report.add_error(batch[0].first_row, "handle", f"“{batch[0].handle}” was not saved: {_reason(exc)}.")
        return
    except BaseException:
        db.session.rollback()
        raise
    product_changed(changed)


_COUNTED = ("rows_imported", "products_created", "products_updated", "products_unchanged", "stock_movements")


def _counts(report: ImportReport) -> tuple[int, ...]:
    return tuple(getattr(report, name) for name in _COUNTED)


def _restore_counts(report: ImportReport, counts: tuple[int, ...]) -> None:
    for name, value in zip(_COUNTED, counts):
        setattr(report, name, value)


def _nothing_written(report: ImportReport, exc: BaseException) -> None:
    report.products_skipped += report.products_created + report.products_updated + report.products_unchanged
    _restore_counts(report, (0,) * len(_COUNTED))
    report.add_error(0, "", f"Nothing was imported: {_reason(exc)}.")


def _reason(exc: BaseException) -> str:
    """Why the database refused a write the check had accepted."""
    if isinstance(exc, _ConcurrentChange):
        return f"the catalog changed during the import ({exc}); import the file again"
    if isinstance(exc, DataError):
        return "the database refused a value as too long or out of range"
    # The check catches clashes within the file and with the catalog as it was; what is
    # left is a change made meanwhile, or names equal only to the database's collation
    # (MariaDB compares "Red" and "red" as equal).
    return ("a SKU, handle or attribute clashes with another one, added meanwhile or differing only in case; "
            "import the file again")


def _record(report: ImportReport, actor: Any) -> None:
    audit.record("catalog.products.imported", actor=actor, target_type="catalog", target_id="csv",
                 after={"file": report.filename[:100], "mode": report.mode, "rows": report.rows,
                        "created": report.products_created, "updated": report.products_updated,
                        "skipped": report.products_skipped, "errors": report.error_count})


def write_export(target: TextIO, progress: Callable[[int], None] | None = None) -> None:
    """Write the whole catalog as CSV to a text file opened with ``newline=""``."""
    for chunk in export_chunks(progress=progress):
        target.write(chunk)


__all__ = ["COLUMNS", "IMPORT_MODES", "PRODUCT_COLUMNS", "REQUIRED_COLUMNS", "VARIANT_COLUMNS", "CategoryPaths",
           "CsvFormatError", "ImportReport", "RowError", "Summary", "count_products", "export_chunks",
           "import_products", "product_rows", "summarise", "write_export"]
