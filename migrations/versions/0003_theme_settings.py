"""theme settings: one JSON document of saved values per theme

Revision ID: 0003_theme_settings
Revises: 0002_plugin_state
Create Date: 2026-11-23 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_theme_settings'
down_revision = '0002_plugin_state'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('theme_settings',
    sa.Column('theme', sa.String(length=100), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('theme', name=op.f('pk_theme_settings'))
    )


def downgrade():
    op.drop_table('theme_settings')
