"""human tasks: the loop iteration a task ran in, so a new period is told from a correction

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 05:55:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round_key', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('round_key')
