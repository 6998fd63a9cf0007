"""plugin state: enabled flag and settings document per plugin

Revision ID: 0002_plugin_state
Revises: 0001_core
Create Date: 2026-11-23 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_plugin_state'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plugin_state',
    sa.Column('name', sa.String(length=191), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('settings', sa.Text(), nullable=False),
    sa.Column('version_seen', sa.String(length=64), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_plugin_state'))
    )


def downgrade():
    op.drop_table('plugin_state')
