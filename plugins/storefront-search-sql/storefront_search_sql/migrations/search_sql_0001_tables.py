"""storefront-search-sql: documents, SKUs and the full-text table

The first revision of the plugin's own branch ("sql"). It grows from the catalog
revision, so a store with this plugin still has a single head and a plain
``flask db upgrade`` builds everything.

Revision ID: search_sql_0001
Revises: 0005_catalog
"""
import sqlalchemy as sa
from alembic import op

revision = "search_sql_0001"
down_revision = "0005_catalog"
branch_labels = ("sql",)
depends_on = None

# The full-text table is hand-written: FTS5 on SQLite, FULLTEXT indexes on MariaDB.
# Alembic autogenerate cannot describe either; migrations/env.py skips names with "_fts".
CREATE_FULLTEXT = {
    "sqlite": (
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_sql_fts "
        "USING fts5(title, body, tokenize = 'porter unicode61 remove_diacritics 2')"
    ),
    "mysql": (
        "CREATE TABLE IF NOT EXISTS search_sql_fts ("
        "product_id INTEGER NOT NULL PRIMARY KEY, "
        "title VARCHAR(255) NOT NULL, "
        "body MEDIUMTEXT NOT NULL, "
        "FULLTEXT INDEX ft_search_sql_fts_title (title), "
        "FULLTEXT INDEX ft_search_sql_fts_title_body (title, body)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
    ),
}
CREATE_FULLTEXT["mariadb"] = CREATE_FULLTEXT["mysql"]


def upgrade():
    op.create_table(
        "search_sql_documents",
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("brand", sa.String(length=120), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        sa.Column("rating_avg_x100", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("facet_keys", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_search_sql_documents")),
    )
    with op.batch_alter_table("search_sql_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_sql_documents_price", ["price_minor", "product_id"], unique=False)
        batch_op.create_index("ix_search_sql_documents_created", ["created_at", "product_id"], unique=False)

    op.create_table(
        "search_sql_skus",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("sku", "product_id", name=op.f("pk_search_sql_skus")),
    )
    with op.batch_alter_table("search_sql_skus", schema=None) as batch_op:
        batch_op.create_index("ix_search_sql_skus_product", ["product_id"], unique=False)

    op.execute(CREATE_FULLTEXT[op.get_bind().dialect.name])


def downgrade():
    op.execute("DROP TABLE IF EXISTS search_sql_fts")
    with op.batch_alter_table("search_sql_skus", schema=None) as batch_op:
        batch_op.drop_index("ix_search_sql_skus_product")
    op.drop_table("search_sql_skus")
    with op.batch_alter_table("search_sql_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_sql_documents_created")
        batch_op.drop_index("ix_search_sql_documents_price")
    op.drop_table("search_sql_documents")
