"""Shopper text → the full-text part of a search, per database.

Both engines get the same words (``\\w+`` runs, lower case, at most :data:`MAX_TERMS`);
operators typed by the shopper (quotes, ``+``, ``-``, ``*``…) are never passed through,
so no input can be a syntax error.

* **SQLite FTS5** — every word must match; the last one as a prefix (``"headph"*``), so
  results appear while typing. The ``porter`` tokenizer stems both sides, so
  "headphone" finds "headphones". Ranked by ``bm25`` with the title weighted above the
  body.
* **MariaDB InnoDB FULLTEXT** — ``+word*`` for every word in BOOLEAN MODE (InnoDB has no
  stemmer; the prefix stands in for one). InnoDB never indexes words shorter than
  ``innodb_ft_min_token_size`` (3) nor its stopwords ("the"), and a required word it
  cannot find matches nothing — so those words are dropped. When nothing is left
  ("tv", "the") the search falls back to a pattern match on the title (a word starting
  "tv": ``title REGEXP '\\btv'``). Ranked by the MATCH scores, the title's weighted.

An exact SKU is looked up before any of this (see ``search_sql_skus``).

Common words — held, with the words they begin, by more than :data:`COMMON_SHARE` of
the documents and by at least :data:`COMMON_MIN_DOCUMENTS` of them ("made" in every
description) — are treated like stopwords: they tell products apart no better, and
MariaDB's FULLTEXT scores every document holding a word, which made such a search cost
~180 ms with 100,000 products. A search of common words alone looks in titles only.

Stopwords are dropped on SQLite too when other words remain ("the lamp" → "lamp"): a
shopper means the lamp, not only descriptions containing "the"; a search of stopwords
alone looks in titles only, as on MariaDB.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, Integer, Select, TextClause, and_, text

from .tables import documents

WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
#: InnoDB's default stopword list (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD; reading
#: that table needs the PROCESS privilege, so it is copied here), plus "and", which InnoDB
#: indexes but no shopper means as a required word.
STOPWORDS = frozenset(
    "a about an and are as at be by com de en for from how i in is it la of on or that the this to "
    "was what when where who will with und www".split())
#: InnoDB FULLTEXT skips longer words (innodb_ft_max_token_size).
MAX_TOKEN_SIZE = 84


#: A word (with the words it begins) in more than this share of the documents is common …
COMMON_SHARE = 0.5
#: … when it is in at least this many documents: below that, scoring it costs little.
COMMON_MIN_DOCUMENTS = 10_000


def document_words(title: str, body: str) -> set[str]:
    """The distinct words of a document, as ``search_sql_words`` counts them."""
    return {w for w in WORD.findall(f"{title} {body}".lower()) if len(w) <= MAX_TOKEN_SIZE}


def common_words(terms: list[str], counts: dict[str, int], documents: int) -> frozenset[str]:
    """The ``terms`` that are common, from ``counts`` of the words they begin (word →
    documents holding it) and the number of ``documents``."""
    if documents < COMMON_MIN_DOCUMENTS:
        return frozenset()
    threshold = max(COMMON_SHARE * documents, COMMON_MIN_DOCUMENTS)
    return frozenset(t for t in terms
                     if sum(number for word, number in counts.items() if word.startswith(t)) > threshold)


def words(shopper_text: str) -> list[str]:
    """The words of a search, lower case, in order, each once, at most :data:`MAX_TERMS`."""
    seen: dict[str, None] = {}
    for word in WORD.findall((shopper_text or "").lower()):
        seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


@dataclass(frozen=True)
class TextMatch:
    """How a search's words match: a full-text query giving ``(product_id, score)`` rows
    (higher scores rank first), or — for words the engine cannot see — a condition on
    ``search_sql_documents.title`` (score 0)."""

    statement: TextClause | Select | None = None
    title_condition: ColumnElement | None = None


def sqlite_match(terms: list[str], title_weight: float, common: frozenset[str] = frozenset()) -> TextMatch:
    kept = [t for t in terms if t not in STOPWORDS and t not in common]
    # Words are \w+ runs, so quoting them cannot break out of the FTS5 string.
    expression = " ".join(f'"{t}"' for t in kept or terms) + "*"
    if not kept:
        # Only stopwords ("the") or common words: every description has them, a title
        # may mean them.
        expression = f"title : ({expression})"
    statement = text(
        "SELECT rowid AS product_id, -bm25(search_sql_fts, :title_weight, 1.0) AS score "
        "FROM search_sql_fts WHERE search_sql_fts MATCH :expression"
    ).bindparams(expression=expression, title_weight=float(title_weight))
    return TextMatch(statement=statement.columns(product_id=Integer, score=Float))


def mariadb_match(terms: list[str], title_weight: float, min_token_size: int,
                  common: frozenset[str] = frozenset()) -> TextMatch:
    indexable = [t for t in terms if min_token_size <= len(t) <= MAX_TOKEN_SIZE and t not in STOPWORDS
                 and t not in common]
    if indexable:
        expression = " ".join(f"+{t}*" for t in indexable)
        statement = text(
            "SELECT product_id, "
            ":title_weight * MATCH(title) AGAINST(:expression IN BOOLEAN MODE) "
            "+ MATCH(title, body) AGAINST(:expression IN BOOLEAN MODE) AS score "
            "FROM search_sql_fts WHERE MATCH(title, body) AGAINST(:expression IN BOOLEAN MODE)"
        ).bindparams(expression=expression, title_weight=float(title_weight))
        return TextMatch(statement=statement.columns(product_id=Integer, score=Float))
    # (Stopwords are not in InnoDB's index at all: those go to the pattern match below.)
    in_titles = [t for t in terms if t in common and t not in STOPWORDS and min_token_size <= len(t) <= MAX_TOKEN_SIZE]
    if in_titles and all(t in common or t in STOPWORDS for t in terms):
        # Common words (and stopwords) alone: the titles' own FULLTEXT index holds them
        # for the few products that have them in the title.
        expression = " ".join(f"+{t}*" for t in in_titles)
        statement = text(
            "SELECT product_id, MATCH(title) AGAINST(:expression IN BOOLEAN MODE) AS score "
            "FROM search_sql_fts WHERE MATCH(title) AGAINST(:expression IN BOOLEAN MODE)"
        ).bindparams(expression=expression)
        return TextMatch(statement=statement.columns(product_id=Integer, score=Float))
    # Only short words or stopwords: FULLTEXT cannot see them, the title can. A pattern
    # match on the title: REGEXP rather than LIKE '%tv%' because it keeps only words that
    # start so ("the" is not "leather") and runs about 3× faster than a LIKE under the
    # column's case-blind unicode collation (which it follows too). The copy of the title
    # in search_sql_documents is scanned, not the full-text table with its bodies.
    title = documents.c.title
    return TextMatch(title_condition=and_(*(title.regexp_match(rf"\b{t}") for t in terms)))
