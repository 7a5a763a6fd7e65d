"""annual plan: a 文号 is given when a version is issued, so a draft has none

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dom_annual_plan', schema=None) as batch_op:
        batch_op.alter_column('doc_no', existing_type=sa.String(length=40), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('dom_annual_plan', schema=None) as batch_op:
        batch_op.alter_column('doc_no', existing_type=sa.String(length=40), nullable=False)
