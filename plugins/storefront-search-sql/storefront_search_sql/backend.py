"""The SQL search backend: full text, filters, sorts and facet counts in the shop's
own database (SQLite FTS5 or MariaDB FULLTEXT; see :mod:`.fulltext`).

A text search asks the database one question — the matching documents with their
score, price, age and facet keys — and does the rest here: facet filters, ordering,
paging and the facet counts of the whole result. On MariaDB the full-text engine is the
costly part (some µs per posting of every word), so running it once, not once for the
count, once for the page and once per facet query, is what keeps a search fast.
"""
from __future__ import annotations

import re
from dataclasses import replace
from collections import Counter
from typing import Any, Callable, Mapping, Protocol, Sequence

from sqlalchemy import ColumnElement, Float, bindparam, delete, func, insert, literal, or_, select, text
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, ProgrammingError

from storefront.plugins import (Facet, PluginFailure, ProductDocument, SearchFilters, SearchPage, SearchQuery,
                                db_session, load_product_documents)

from . import fulltext
from .tables import FULLTEXT_TABLE, documents, skus, words

MAX_PER_PAGE = 100
#: A search reads at most this many hits, the most relevant first, and pages, sorts and
#: counts facets among them (``SearchPage.capped`` says so). A broad word ("necklace" in
#: a big catalog) then costs what a thousand hits cost: fetching and tallying every one
#: of several thousand took most of a search's time on MariaDB.
HIT_LIMIT = 1000
#: A search without words (never made by the shop's pages, which need words) counts
#: facets only up to this many results, so it cannot load a whole big catalog.
BROWSE_FACET_LIMIT = 10_000
#: ``facet_keys`` holds ``␞name␟value␟label␞name␟value␟label␞`` (ASCII record and unit
#: separators, never typed by anyone; the outer ones let a LIKE match whole entries); the
#: label is empty when it is the value.
RECORD, UNIT = "\x1e", "\x1f"
#: Seconds ``optimize`` waits for the full-text table before giving up.
OPTIMIZE_LOCK_WAIT = 5
#: Rows written per INSERT while indexing.
INSERT_CHUNK = 1000


class FullTextTableMissing(PluginFailure):
    """The search tables are missing: run `flask db upgrade`."""


class Hit(Protocol):
    """One matching document with what filtering, ordering and counting need: the result
    rows themselves (no copy — thousands are read per search)."""

    product_id: int
    price_minor: int
    created_at: int
    #: The document's ``facet_keys`` as stored: filters test it with substring searches
    #: and counts split it, both at C speed.
    facet_keys: str
    #: Higher ranks first.
    score: float


#: Orders of hits (ties: the newer product first).
SORT_KEYS: dict[str, Callable[[Hit], tuple]] = {
    "relevance": lambda hit: (-hit.score, -hit.created_at, -hit.product_id),
    "price_asc": lambda hit: (hit.price_minor, hit.product_id),
    "price_desc": lambda hit: (-hit.price_minor, -hit.product_id),
    "newest": lambda hit: (-hit.created_at, -hit.product_id),
}
#: The same orders in SQL, for a search without words ("relevance" means newest there).
BROWSE_ORDER: dict[str, list[ColumnElement]] = {
    "price_asc": [documents.c.price_minor.asc(), documents.c.product_id.asc()],
    "price_desc": [documents.c.price_minor.desc(), documents.c.product_id.desc()],
    "newest": [documents.c.created_at.desc(), documents.c.product_id.desc()],
}
HIT_COLUMNS = (documents.c.product_id, documents.c.price_minor, documents.c.created_at, documents.c.facet_keys)


class SqlSearch:
    """:class:`storefront.plugins.SearchBackend` on SQLite FTS5 / MariaDB FULLTEXT."""

    id = "sql"
    name = "Database full-text search"

    def __init__(self, *, title_weight: int = 5, facet_values: int = 20):
        self.title_weight = title_weight
        self.facet_values = facet_values

    # --- searching ---------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        per_page = min(max(int(query.per_page), 1), MAX_PER_PAGE)
        offset = (max(int(query.page), 1) - 1) * per_page
        terms = fulltext.words(query.text)
        filters = Filters(query.filters)
        # A connection of its own: a fresh transaction sees every committed index write,
        # whatever (MariaDB REPEATABLE READ) snapshot the caller's session holds.
        with db_session().get_bind().connect() as connection:
            if not terms:
                return self._browse(connection, filters, query.sort, per_page, offset)
            match = _exact_sku(connection, query.text) or self._text_match(terms, connection,
                                                                            _common_words(connection, terms))
            if match.title_condition is not None:
                # Ids first: a scan that reads only the titles is twice as fast as one that
                # carries every column of every row along.
                ids = connection.scalars(select(documents.c.product_id).where(match.title_condition)
                                         .order_by(documents.c.product_id.desc()).limit(HIT_LIMIT + 1)).all()
                statement = select(*HIT_COLUMNS, literal(0.0, Float).label("score")).where(
                    documents.c.product_id.in_(bindparam("ids", list(ids), expanding=True, literal_execute=True)))
            else:
                # The most relevant hits only, chosen from (id, score) pairs before any
                # document row is read.
                matched = match.statement.subquery("text_match")
                found = (select(matched).order_by(matched.c.score.desc()).limit(HIT_LIMIT + 1)
                         .subquery("best_matches"))
                statement = select(*HIT_COLUMNS, found.c.score).join(
                    found, found.c.product_id == documents.c.product_id)
            statement = statement.where(*filters.price_conditions())
            hits = connection.execute(statement).all()
        capped = len(hits) > HIT_LIMIT
        page = self._page(hits[:HIT_LIMIT], filters, query.sort, per_page, offset)
        return replace(page, capped=True) if capped else page

    def _browse(self, connection: Connection, filters: "Filters", sort: str, per_page: int, offset: int
                ) -> SearchPage:
        """No words: every searchable product that passes the filters, newest first."""
        conditions = filters.conditions()
        total = connection.scalar(select(func.count()).select_from(documents).where(*conditions)) or 0
        if 0 < total <= BROWSE_FACET_LIMIT:
            hits = connection.execute(select(*HIT_COLUMNS, literal(0.0, Float).label("score"))
                                      .where(*filters.price_conditions())).all()
            return self._page(hits, filters, "newest" if sort == "relevance" else sort, per_page, offset)
        ids: tuple[int, ...] = ()
        if offset < total:
            ordered = select(documents.c.product_id).where(*conditions).order_by(
                *BROWSE_ORDER.get(sort, BROWSE_ORDER["newest"]))
            ids = tuple(connection.scalars(ordered.limit(per_page).offset(offset)))
        return SearchPage(product_ids=ids, total=total, facets=())

    def _page(self, hits: Sequence[Hit], filters: "Filters", sort: str, per_page: int, offset: int) -> SearchPage:
        """Filter, order and page ``hits``, and count the facets of the whole result. A facet
        the shopper filters on is counted without its own filter, so its other values stay
        visible and can be added (brand A *or* B)."""
        wanted = frozenset(filters.values)
        met = {hit.product_id: filters.met_by(hit) for hit in hits} if wanted else {}
        result = [hit for hit in hits if met[hit.product_id] >= wanted] if wanted else list(hits)
        if not result:
            return SearchPage(product_ids=(), total=0, facets=())
        entries: Counter[str] = Counter()
        for hit in result:
            entries.update(hit.facet_keys.split(RECORD))
        counts = {key: number for key, number in _tally(entries).items() if key[0] not in wanted}
        for name in wanted:
            others, entries_of_name = wanted - {name}, _entries_named(name)
            own: Counter[str] = Counter()
            for hit in hits:
                if met[hit.product_id] >= others:
                    own.update(entries_of_name(hit.facet_keys))
            counts.update(_tally(own))
        result.sort(key=SORT_KEYS.get(sort, SORT_KEYS["relevance"]))
        return SearchPage(product_ids=tuple(hit.product_id for hit in result[offset:offset + per_page]),
                          total=len(result), facets=self._facets(counts, filters))

    def _text_match(self, terms: list[str], connection: Connection, common: frozenset[str]) -> fulltext.TextMatch:
        if connection.dialect.name == "sqlite":
            return fulltext.sqlite_match(terms, self.title_weight, common)
        return fulltext.mariadb_match(terms, self.title_weight, _min_token_size(connection), common)

    def _facets(self, counts: Mapping[tuple[str, str, str], int], filters: "Filters") -> tuple[Facet, ...]:
        by_name: dict[str, list[tuple[str, str, int]]] = {}
        for (name, value, label), number in counts.items():
            by_name.setdefault(name, []).append((value, label, number))
        return Facet.in_order(Facet.from_counts(name, rows, limit=self.facet_values,
                                                chosen=filters.values.get(name, ()))
                              for name, rows in by_name.items())

    # --- indexing ----------------------------------------------------------------------

    def index(self, product_ids: list[int]) -> None:
        ids = sorted({int(i) for i in product_ids})
        if not ids:
            return
        wanted = [document for document in load_product_documents(ids) if document.searchable]
        text_rows = {d.id: (d.title[:255], _body(d)) for d in wanted}
        session = db_session()
        try:
            # Full-text rows are rewritten only when their words changed: InnoDB keeps a
            # deleted row in its FULLTEXT index (filtered at every query) until the table
            # is optimised, and most changes (stock, price) leave the words alone.
            current = _fulltext_rows(ids)
            stale = [i for i in ids if i in current and current[i] != text_rows.get(i)]
            fresh = [i for i in sorted(text_rows) if current.get(i) != text_rows[i]]
            _count_words(removed=[current[i] for i in stale], added=[text_rows[i] for i in fresh])
            _delete_fulltext(stale)
            _insert_fulltext([(i, *text_rows[i]) for i in fresh])
            session.execute(delete(skus).where(skus.c.product_id.in_(ids)))
            session.execute(delete(documents).where(documents.c.product_id.in_(ids)))
            _insert(documents, [_document_row(d) for d in wanted])
            _insert(skus, [{"sku": sku, "product_id": d.id} for d in wanted
                           for sku in dict.fromkeys(sku.strip().lower()[:64] for sku in d.skus) if sku])
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def remove(self, product_ids: list[int]) -> None:
        ids = sorted({int(i) for i in product_ids})
        if not ids:
            return
        session = db_session()
        try:
            _count_words(removed=list(_fulltext_rows(ids).values()), added=[])
            _delete_fulltext(ids)
            session.execute(delete(skus).where(skus.c.product_id.in_(ids)))
            session.execute(delete(documents).where(documents.c.product_id.in_(ids)))
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def optimize(self) -> None:
        """Compact the full-text index: MariaDB rebuilds the table (dropping the rows it
        keeps for deleted documents), SQLite merges FTS5 segments. Run it after large
        rebuilds (``flask plugins sql optimize``); searches keep working meanwhile, index
        writes wait. Raises :class:`PluginFailure` when MariaDB cannot have the table."""
        engine = db_session().get_bind()
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text(f"INSERT INTO {FULLTEXT_TABLE}({FULLTEXT_TABLE}) VALUES ('optimize')"))
                return
            # The rebuild needs the table to itself. Waiting behind a long transaction
            # would queue every search behind it, so give up after a few seconds instead.
            connection.execute(text("SET SESSION lock_wait_timeout = :seconds"), {"seconds": OPTIMIZE_LOCK_WAIT})
            outcome = connection.execute(text(f"OPTIMIZE TABLE {FULLTEXT_TABLE}")).all()
        failures = [row[-1] for row in outcome if str(row[2]).lower() == "error"]
        if failures:
            raise PluginFailure("; ".join(failures), plugin="sql")

    # --- inspection --------------------------------------------------------------------

    def stats(self) -> Mapping[str, Any]:
        """What ``flask search status`` shows."""
        return {"documents": db_session().scalar(select(func.count()).select_from(documents)) or 0}


# --- filters ------------------------------------------------------------------------------


class Filters:
    """A query's filters (read by the core) as this backend tests them: facet values per
    name against ``facet_keys``, and a price range in SQL."""

    def __init__(self, filters: SearchFilters):
        self.values = filters.by_facet
        self.price_min = filters.price_min
        self.price_max = filters.price_max
        # One pattern per filter: any chosen value of it, as a whole facet_keys entry.
        self._patterns = {name: re.compile("|".join(re.escape(f"{RECORD}{name}{UNIT}{value}{UNIT}")
                                                    for value in chosen))
                          for name, chosen in self.values.items()}

    def met_by(self, hit: Hit) -> frozenset[str]:
        """The names of the facet filters ``hit`` meets."""
        return frozenset(name for name, pattern in self._patterns.items() if pattern.search(hit.facet_keys))

    def price_conditions(self) -> list[ColumnElement]:
        found: list[ColumnElement] = []
        if self.price_min is not None:
            found.append(documents.c.price_minor >= self.price_min)
        if self.price_max is not None:
            found.append(documents.c.price_minor <= self.price_max)
        return found

    def conditions(self) -> list[ColumnElement]:
        """Every filter as SQL on ``search_sql_documents`` (a search without words)."""
        found = self.price_conditions()
        for name, chosen in self.values.items():
            found.append(or_(*(documents.c.facet_keys.like(f"%{RECORD}{_escape_like(name)}{UNIT}"
                                                            f"{_escape_like(value)}{UNIT}%", escape="!")
                               for value in chosen)))
        return found


def _escape_like(value: str) -> str:
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")


# --- hits and rows -----------------------------------------------------------------------------

def _entries_named(name: str) -> Callable[[str], list[str]]:
    """A function listing the entries of facet ``name`` in a ``facet_keys`` string."""
    pattern = re.compile(f"(?<={RECORD}){re.escape(name + UNIT)}[^{RECORD}]*")
    return pattern.findall


def _tally(entries: Mapping[str, int]) -> dict[tuple[str, str, str], int]:
    """Counted ``facet_keys`` entries → (name, value, label) → products. A value seen with
    two labels (a category renamed while part of the index is older) counts once, under
    the label most products carry."""
    counts: dict[tuple[str, str], int] = {}
    labels: dict[tuple[str, str], tuple[int, str]] = {}
    for entry, number in entries.items():
        name, _, rest = entry.partition(UNIT)
        value, _, label = rest.partition(UNIT)
        if name and value:
            counts[(name, value)] = counts.get((name, value), 0) + number
            if number > labels.get((name, value), (0, ""))[0]:
                labels[(name, value)] = (number, label or value)
    return {(name, value, labels[(name, value)][1]): number for (name, value), number in counts.items()}


def _exact_sku(connection: Connection, text: str) -> fulltext.TextMatch | None:
    """The products whose SKU is exactly ``text`` (any case), as a text match — or None."""
    sku = (text or "").strip().lower()
    if not sku or len(sku) > 64:
        return None
    found = select(skus.c.product_id, literal(1.0, Float).label("score")).where(skus.c.sku == sku)
    if connection.scalar(select(found.exists())):
        return fulltext.TextMatch(statement=found)
    return None


def _document_row(document: ProductDocument) -> dict[str, Any]:
    return {"product_id": document.id, "title": document.title[:255], "brand": document.brand[:120],
            "price_minor": document.price_min_minor, "currency": document.currency, "in_stock": document.in_stock,
            "rating_avg_x100": document.rating_avg_x100, "created_at": int(document.created_at),
            "facet_keys": _facet_keys(document)}


def _facet_keys(document: ProductDocument) -> str:
    """Every (facet, value, label) of a document in one string (see :data:`RECORD`)."""
    entries: list[tuple[str, str, str]] = []
    if document.brand:
        entries.append((SearchFilters.BRAND, document.brand, document.brand))
    entries.extend((SearchFilters.CATEGORY, c.slug, c.name) for c in document.categories_with_ancestors)
    entries.append((SearchFilters.IN_STOCK, "true" if document.in_stock else "false", ""))
    for name, values in document.attributes.items():
        if name not in SearchFilters.RESERVED:
            entries.extend((name, value, value) for value in values)
    # An empty label means "the value itself": shorter rows, read faster with every hit.
    clean = [tuple(part.replace(RECORD, " ").replace(UNIT, " ")
                   for part in (name, value, "" if label == value else label)) for name, value, label in entries]
    return RECORD + RECORD.join(UNIT.join(entry) for entry in dict.fromkeys(clean)) + RECORD


def _body(document: ProductDocument) -> str:
    """Everything findable besides the title: description, brand, categories, attributes.
    SKUs are looked up whole instead (``search_sql_skus``)."""
    parts = [document.description_text, document.brand, *(c.name for c in document.categories),
             *(value for values in document.attributes.values() for value in values)]
    return " ".join(part for part in parts if part)


def _insert(table, rows: list[dict[str, Any]]) -> None:
    session = db_session()
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(table), rows[start:start + INSERT_CHUNK])


def _fulltext_key() -> str:
    """The product id column of the full-text table: FTS5 keys rows by ``rowid``."""
    return "rowid" if db_session().get_bind().dialect.name == "sqlite" else "product_id"


def _fulltext_rows(ids: list[int]) -> dict[int, tuple[str, str]]:
    """Product id → (title, body) as the full-text table holds them."""
    key = _fulltext_key()
    try:
        rows = db_session().execute(text(f"SELECT {key}, title, body FROM {FULLTEXT_TABLE} WHERE {key} IN :ids")
                                    .bindparams(bindparam("ids", ids, expanding=True)))
    except (OperationalError, ProgrammingError) as exc:
        raise FullTextTableMissing() from exc
    return {row[0]: (row[1], row[2]) for row in rows}


def _delete_fulltext(ids: list[int]) -> None:
    if ids:
        db_session().execute(text(f"DELETE FROM {FULLTEXT_TABLE} WHERE {_fulltext_key()} IN :ids")
                             .bindparams(bindparam("ids", ids, expanding=True)))


def _insert_fulltext(rows: list[tuple[int, str, str]]) -> None:
    if not rows:
        return
    statement = text(f"INSERT INTO {FULLTEXT_TABLE} ({_fulltext_key()}, title, body) VALUES (:id, :title, :body)")
    session = db_session()
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(statement, [{"id": product_id, "title": title, "body": body}
                                    for product_id, title, body in rows[start:start + INSERT_CHUNK]])


def _count_words(removed: list[tuple[str, str]], added: list[tuple[str, str]]) -> None:
    """Keep ``search_sql_words`` in step with full-text rows (title, body) about to be
    deleted and inserted, in the caller's transaction. Rows are upserted in word order,
    so two indexing jobs at once take their row locks in the same order."""
    change: Counter[str] = Counter()
    for sign, texts in ((-1, removed), (1, added)):
        for title, body in texts:
            change[""] += sign
            for word in fulltext.document_words(title, body):
                change[word] += sign
    rows = [{"word": word, "documents": number} for word, number in sorted(change.items()) if number]
    if not rows:
        return
    session = db_session()
    if session.get_bind().dialect.name == "sqlite":
        statement = sqlite_insert(words)
        statement = statement.on_conflict_do_update(
            index_elements=[words.c.word], set_={"documents": words.c.documents + statement.excluded.documents})
    else:
        statement = mysql_insert(words)
        statement = statement.on_duplicate_key_update(documents=words.c.documents + statement.inserted.documents)
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(statement, rows[start:start + INSERT_CHUNK])


def _common_words(connection: Connection, terms: list[str]) -> frozenset[str]:
    """The search's terms most documents hold (see :func:`fulltext.common_words`): one
    primary-key lookup of the document count and of the words each term begins."""
    prefixes = [words.c.word.like(f"{_escape_like(t)}%", escape="!") for t in terms]
    rows = connection.execute(select(words.c.word, words.c.documents).where(or_(words.c.word == "", *prefixes)))
    counts = {word: number for word, number in rows}
    return fulltext.common_words(terms, counts, counts.pop("", 0))


def _min_token_size(connection: Connection) -> int:
    """InnoDB's shortest indexed word (a server setting, 3 by default); read per search
    because a pooled connection may meet a reconfigured server."""
    value = connection.execute(text("SELECT @@innodb_ft_min_token_size")).scalar()
    return int(value or 3)
