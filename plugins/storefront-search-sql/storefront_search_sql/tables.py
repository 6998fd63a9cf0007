"""The plugin's tables, all prefixed ``search_sql_``.

* ``search_sql_documents`` — one row per searchable (active) product: what filters,
  sorts and facet counts need (price, age, every facet value in one column), and the
  title for the ``LIKE`` fallback of words too short for MariaDB's FULLTEXT (a narrow
  table scans fast).
* ``search_sql_skus`` — SKU (lower case) → product: an exact SKU finds its product at
  once, without the SKU's pieces ("gen", "0042") crowding the full-text index.
* ``search_sql_words`` — every word of the full text → how many documents hold it (the
  row with the empty word counts the documents). A search treats a word that most
  documents hold like a stopword: on MariaDB, FULLTEXT scores every document holding a
  word, and "made" in every description cost ~180 ms with 100,000 products.
* ``search_sql_fts`` — the full text (title, body) keyed by product id: an FTS5 virtual
  table on SQLite (``porter unicode61``), an InnoDB table with FULLTEXT indexes on
  MariaDB. It is not a SQLAlchemy table: Alembic cannot describe either form, so the
  migration creates it by hand and ``migrations/env.py`` leaves names containing
  ``_fts`` alone (``flask db check`` stays clean).

The first three are declared on the core's metadata, so ``flask db check`` compares them
and the test fixtures create and empty them. ``search_sql_fts`` rides along: it is
created right after ``search_sql_documents`` by :data:`CREATE_FULLTEXT` (``IF NOT
EXISTS``), whether by ``db.create_all()`` or by this plugin's migration.
"""
from __future__ import annotations

from sqlalchemy import DDL, BigInteger, Boolean, Column, Index, Integer, String, Table, Text, event

from storefront.plugins import db_metadata

FULLTEXT_TABLE = "search_sql_fts"

documents = Table(
    "search_sql_documents", db_metadata,
    Column("product_id", Integer, primary_key=True, autoincrement=False),
    Column("title", String(255), nullable=False),
    Column("brand", String(120), nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("in_stock", Boolean, nullable=False),
    Column("rating_avg_x100", Integer, nullable=False),
    # POSIX seconds: sorts "newest" without time-zone questions.
    Column("created_at", BigInteger, nullable=False),
    # Every facet value of the product in one string — brand, categories with their
    # ancestors, in_stock, attributes — read with each hit to filter and count facets
    # without a query per facet (format: backend.RECORD).
    Column("facet_keys", Text, nullable=False),
    Index("ix_search_sql_documents_price", "price_minor", "product_id"),
    Index("ix_search_sql_documents_created", "created_at", "product_id"),
)

skus = Table(
    "search_sql_skus", db_metadata,
    Column("sku", String(64), primary_key=True),
    # Part of the key: while a SKU moves between products, both may briefly hold it.
    Column("product_id", Integer, primary_key=True, autoincrement=False),
    Index("ix_search_sql_skus_product", "product_id"),
)

WORD_TYPE = String(84).with_variant(String(84, collation="utf8mb4_bin"), "mysql", "mariadb")

words = Table(
    "search_sql_words", db_metadata,
    # Lower case, as fulltext.document_words finds them; "" counts the documents.
    # Compared byte for byte: MariaDB's default collation would call "café" and "cafe"
    # one key, and two of fulltext.document_words' words would collide.
    Column("word", WORD_TYPE, primary_key=True),
    Column("documents", Integer, nullable=False),
)

#: The full-text table, per dialect. Kept in step with the plugin's migrations.
CREATE_FULLTEXT = {
    "sqlite": (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FULLTEXT_TABLE} "
        "USING fts5(title, body, tokenize = 'porter unicode61 remove_diacritics 2')"
    ),
    "mysql": (
        f"CREATE TABLE IF NOT EXISTS {FULLTEXT_TABLE} ("
        "product_id INTEGER NOT NULL PRIMARY KEY, "
        "title VARCHAR(255) NOT NULL, "
        "body MEDIUMTEXT NOT NULL, "
        f"FULLTEXT INDEX ft_{FULLTEXT_TABLE}_title (title), "
        f"FULLTEXT INDEX ft_{FULLTEXT_TABLE}_title_body (title, body)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
    ),
}
CREATE_FULLTEXT["mariadb"] = CREATE_FULLTEXT["mysql"]
DROP_FULLTEXT = f"DROP TABLE IF EXISTS {FULLTEXT_TABLE}"

for _dialect, _statement in CREATE_FULLTEXT.items():
    event.listen(documents, "after_create", DDL(_statement).execute_if(dialect=_dialect))
event.listen(documents, "after_drop", DDL(DROP_FULLTEXT))
