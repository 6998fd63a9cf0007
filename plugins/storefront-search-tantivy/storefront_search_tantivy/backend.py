"""The tantivy search backend: BM25 over title and body, typo tolerance, filters,
sorts and facet counts from an on-disk index (see :mod:`.schema` and :mod:`.store`).

A search for "wireles hedphones" becomes, per word, "any of": the exact stemmed term
in the title (boosted) or the body, a prefix of it for the last word (results while
typing), and — for a word of 4 letters or more that the index does not hold — the term
within 1 edit (2 from 8 letters) in either field, worth less than an exact hit. Every
word must match in one of those ways. A word the index holds is taken as meant: "lamp"
does not also find "lamb", "camp" and "damp". A search that is exactly a SKU finds that
product alone.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import tantivy

from storefront.plugins import Facet, SearchFilters, SearchPage, SearchQuery, load_product_documents

from . import store
from .schema import SEPARATOR, STOPWORDS, build_schema, query_words, stemmer, to_document

BRAND, CATEGORY, IN_STOCK = SearchFilters.BRAND, SearchFilters.CATEGORY, SearchFilters.IN_STOCK
ATTRIBUTE = "attribute"
#: Facet → the fast field its counts are aggregated on.
FACET_FIELDS = {BRAND: "brand", CATEGORY: "category_name", IN_STOCK: "in_stock", ATTRIBUTE: "attribute"}
MAX_PER_PAGE = 100
#: Buckets asked of each terms aggregation; facets are trimmed to the setting afterwards.
AGGREGATION_SIZE = 1000
#: Score multipliers of the ways a word can match (exact title hits rank first).
EXACT_BODY, PREFIX, FUZZY = 1.0, 0.8, 0.3
FUZZY_MIN_LENGTH, FUZZY_TWO_EDITS_LENGTH = 4, 8


class TantivySearch:
    """:class:`storefront.plugins.SearchBackend` on a tantivy index in ``directory``."""

    id = "tantivy"
    name = "Tantivy (typo-tolerant)"

    def __init__(self, directory: str, *, title_boost: float = 3.0, typo_tolerance: bool = True,
                 facet_values: int = 20, writer_heap_bytes: int = 64_000_000):
        self.directory = directory
        self.title_boost = title_boost
        self.typo_tolerance = typo_tolerance
        self.facet_values = facet_values
        self.writer_heap_bytes = writer_heap_bytes
        self.schema = build_schema()

    # --- searching ---------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        try:
            return self._search(query)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            # A panic inside tantivy reaches Python as pyo3's PanicException, a
            # BaseException the core's guard does not catch: make it a clean failure so
            # the basic search answers instead of a 500.
            if isinstance(exc, Exception):
                raise
            raise store.IndexUnreadable() from exc

    def _search(self, query: SearchQuery) -> SearchPage:
        per_page = min(max(int(query.per_page), 1), MAX_PER_PAGE)
        offset = (max(int(query.page), 1) - 1) * per_page
        searcher = store.searcher(self.directory)
        text_query = self._text_query(searcher, query.text)
        filters = query.filters
        full = self._with_filters(text_query, filters)
        # Count first (limit ≥ 1: a limit of 0 panics, stack notes §8a), and never ask
        # for a page past the end: the collector would reserve offset + limit slots.
        total = searcher.search(full, 1, count=True).count or 0
        if total == 0:
            return SearchPage(product_ids=(), total=0, facets=())
        ids: tuple[int, ...] = ()
        if offset < total:
            hits = searcher.search(full, per_page, count=False, offset=offset, **_ordering(query.sort, query.text))
            addresses = [address for _score, address in hits.hits]
            ids = tuple(int(i) for i in searcher.fast_field_values("id", addresses))
        return SearchPage(product_ids=ids, total=total, facets=self._facets(searcher, text_query, filters))

    def _text_query(self, searcher: tantivy.Searcher, text: str) -> tantivy.Query:
        sku = (text or "").strip().lower()
        if sku and searcher.doc_freq("sku", sku):
            return tantivy.Query.term_query(self.schema, "sku", sku)
        words = query_words(text)
        if not words:
            return tantivy.Query.all_query()
        # Only stopwords ("the"): every description has them, a title may mean them.
        fields = ("title",) if all(word in STOPWORDS for word in words) else ("title", "body")
        analyzer = stemmer()
        groups = []
        for position, word in enumerate(words):
            last = position == len(words) - 1
            terms = analyzer.analyze(word)
            for term in terms:
                spellings: list[str] = []
                if self.typo_tolerance and not any(searcher.doc_freq(field, term) for field in fields):
                    # Typos are measured against the word as typed too: stemming a misspelt
                    # word can move it further away ("wireles" stems to "wirel").
                    spellings = sorted({term, word}) if len(terms) == 1 else [term]
                groups.append(self._term_group(term, spellings, fields, prefix=last))
        if not groups:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, group) for group in groups])

    def _term_group(self, term: str, spellings: list[str], fields: tuple[str, ...], *, prefix: bool
                    ) -> tantivy.Query:
        """Every way one word may match in ``fields`` (``term`` is its stem, ``spellings``
        what to forgive typos in); any one is enough."""
        ways = []
        weights = {"title": self.title_boost, "body": EXACT_BODY}
        for field in fields:
            weight = weights[field]
            ways.append(tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, field, term), weight))
            if prefix:
                ways.append(tantivy.Query.boost_query(
                    tantivy.Query.fuzzy_term_query(self.schema, field, term, distance=0, prefix=True),
                    weight * PREFIX))
            for spelling in spellings:
                if len(spelling) >= FUZZY_MIN_LENGTH:
                    distance = 2 if len(spelling) >= FUZZY_TWO_EDITS_LENGTH else 1
                    ways.append(tantivy.Query.boost_query(
                        tantivy.Query.fuzzy_term_query(self.schema, field, spelling, distance=distance,
                                                       transposition_cost_one=True, prefix=prefix),
                        weight * FUZZY))
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, way) for way in ways])

    def _with_filters(self, text_query: tantivy.Query, filters: SearchFilters, *, leave_out: str | None = None
                      ) -> tantivy.Query:
        clauses = [(tantivy.Occur.Must, text_query)]
        for name, values in filters.by_facet.items():
            if name == leave_out:
                continue
            if name == IN_STOCK:
                clauses.append((tantivy.Occur.Must,
                                tantivy.Query.term_query(self.schema, "in_stock", filters.in_stock)))
            elif name in (BRAND, CATEGORY):
                clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, name, list(values))))
            else:
                pairs = [f"{name}{SEPARATOR}{value}" for value in values]
                clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, ATTRIBUTE, pairs)))
        if filters.price_min is not None or filters.price_max is not None:
            clauses.append((tantivy.Occur.Must, tantivy.Query.range_query(
                self.schema, "price", tantivy.FieldType.Integer, filters.price_min, filters.price_max)))
        return tantivy.Query.boolean_query(clauses)

    def _facets(self, searcher: tantivy.Searcher, text_query: tantivy.Query, filters: SearchFilters
                ) -> tuple[Facet, ...]:
        """Counts over the whole result; a facet the shopper filters on is counted without
        its own filter, so its other values stay visible (brand A *or* B)."""
        filtered = set(filters.by_facet)
        # One aggregation for every facet not filtered on …
        fields = {key: field for key, field in FACET_FIELDS.items() if key not in filtered}
        rows = _facet_rows(_buckets(searcher, self._with_filters(text_query, filters), fields), skip=filtered)
        # … and one per facet filtered on, without its own filter.
        for name in filtered:
            key = name if name in FACET_FIELDS else ATTRIBUTE
            buckets = _buckets(searcher, self._with_filters(text_query, filters, leave_out=name),
                               {key: FACET_FIELDS[key]})
            rows[name] = _facet_rows(buckets, only={name}).get(name, [])
        return Facet.in_order(Facet.from_counts(name, counts, limit=self.facet_values,
                                                chosen=filters.by_facet.get(name, ()))
                              for name, counts in rows.items() if counts)

    # --- indexing ----------------------------------------------------------------------

    def index(self, product_ids: list[int]) -> None:
        ids = sorted({int(i) for i in product_ids})
        if not ids:
            return
        documents = [d for d in load_product_documents(ids) if d.searchable]
        with store.writer(self.directory, self.writer_heap_bytes) as writer:
            for product_id in ids:
                writer.delete_documents_by_term("id", product_id)
            for document in documents:
                writer.add_document(to_document(document))

    def remove(self, product_ids: list[int]) -> None:
        ids = sorted({int(i) for i in product_ids})
        if not ids:
            return
        with store.writer(self.directory, self.writer_heap_bytes) as writer:
            for product_id in ids:
                writer.delete_documents_by_term("id", product_id)

    # --- inspection --------------------------------------------------------------------

    def stats(self) -> Mapping[str, Any]:
        """What ``flask search status`` shows."""
        if not store.exists(self.directory):
            return {"documents": 0, "index": f"not built yet ({self.directory})"}
        searcher = store.searcher(self.directory)
        size = sum(entry.stat().st_size for entry in os.scandir(self.directory) if entry.is_file())
        return {"documents": searcher.num_docs, "segments": searcher.num_segments,
                "size": f"{size / 1_000_000:.1f} MB", "directory": self.directory}


# --- helpers ----------------------------------------------------------------------------------


def _ordering(sort: str, text: str) -> dict[str, Any]:
    if sort == "price_asc":
        return {"order_by_field": "price", "order": tantivy.Order.Asc}
    if sort == "price_desc":
        return {"order_by_field": "price", "order": tantivy.Order.Desc}
    if sort == "newest" or not query_words(text):
        return {"order_by_field": "newest", "order": tantivy.Order.Desc}
    return {}


def _buckets(searcher: tantivy.Searcher, query: tantivy.Query, fields: Mapping[str, str]
             ) -> dict[str, list[tuple[Any, int]]]:
    """Terms aggregation per facet key: key → [(term, documents)]."""
    if not fields:
        return {}
    request = {key: {"terms": {"field": field, "size": AGGREGATION_SIZE}} for key, field in fields.items()}
    answer = searcher.aggregate(query, request)
    return {key: [(bucket.get("key_as_string", bucket["key"]), int(bucket["doc_count"]))
                  for bucket in answer.get(key, {}).get("buckets", [])]
            for key in fields}


def _facet_rows(buckets: Mapping[str, list[tuple[Any, int]]], *, only: set[str] | None = None,
                skip: Iterable[str] = ()) -> dict[str, list[tuple[str, str, int]]]:
    """Buckets → facet name → [(value, label, count)]. Attribute buckets ("size␟M") are
    split by name; ``only`` keeps those names, ``skip`` drops those."""
    rows: dict[str, list[tuple[str, str, int]]] = {}
    for key, found in buckets.items():
        for term, count in found:
            term = str(term)
            if key == ATTRIBUTE:
                name, _, value = term.partition(SEPARATOR)
                label = value
            elif key == CATEGORY:
                name, (value, _, label) = key, term.partition(SEPARATOR)
            else:
                name, value, label = key, term, term
            if name in skip or (only is not None and name not in only) or (
                    key == ATTRIBUTE and name in SearchFilters.RESERVED):
                continue
            rows.setdefault(name, []).append((value, label, count))
    return rows
