"""catalog: featured products read in "newest first" order from one index

Revision ID: 0006_featured_index
Revises: 0005_catalog
"""
from alembic import op

revision = '0006_featured_index'
down_revision = '0005_catalog'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_featured_status_created', ['featured', 'status', 'created_at', 'id'],
                              unique=False)
        batch_op.drop_index('ix_products_featured')


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_featured', ['featured'], unique=False)
        batch_op.drop_index('ix_products_featured_status_created')
