"""storefront-search-sql: document counts per word

Counts the words of the full-text rows already there, so searches on an upgraded store
know the common words at once (the backend keeps the counts up to date from then on).

Revision ID: search_sql_0002
Revises: search_sql_0001
"""
import re
from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "search_sql_0002"
down_revision = "search_sql_0001"
branch_labels = None
depends_on = None

# As storefront_search_sql.fulltext.document_words (a migration keeps its own copy).
WORD = re.compile(r"\w+", re.UNICODE)
MAX_TOKEN_SIZE = 84
BATCH = 1000


def upgrade():
    words = op.create_table(
        "search_sql_words",
        sa.Column("word", sa.String(length=84).with_variant(sa.String(length=84, collation="utf8mb4_bin"),
                                                             "mysql", "mariadb"), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_sql_words")),
    )
    counts: Counter[str] = Counter()
    rows = op.get_bind().execute(sa.text("SELECT title, body FROM search_sql_fts"))
    for title, body in rows:
        counts[""] += 1
        counts.update({w for w in WORD.findall(f"{title} {body}".lower()) if len(w) <= MAX_TOKEN_SIZE})
    entries = [{"word": word, "documents": number} for word, number in sorted(counts.items())]
    for start in range(0, len(entries), BATCH):
        op.bulk_insert(words, entries[start:start + BATCH])


def downgrade():
    op.drop_table("search_sql_words")
