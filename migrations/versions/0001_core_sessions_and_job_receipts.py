"""sessions and job receipts

Revision ID: 0001_core
Revises: 
Create Date: 2026-11-23 20:47:26.295203

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_core'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
   
    op.create_table('job_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=191), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_receipts')),
    sa.UniqueConstraint('key', name=op.f('uq_job_receipts_key'))
    )
    with op.batch_alter_table('job_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_receipts_done_at'), ['done_at'], unique=False)

    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('expiry', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('session_id', name=op.f('uq_sessions_session_id'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_expiry'), ['expiry'], unique=False)



def downgrade():
   
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_expiry'))

    op.drop_table('sessions')
    with op.batch_alter_table('job_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_receipts_done_at'))

    op.drop_table('job_receipts')
