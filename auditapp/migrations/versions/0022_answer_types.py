"""Answer types (issue 15): an item's answer spec (checklist_items.answer; NULL = the ISO grades, as before)
and an answer's value (responses.value; NULL for ISO-grade answers). Both nullable: existing rows keep
their meaning, and checklist versions imported before keep their content hash.

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("checklist_items", sa.Column("answer", sa.JSON(), nullable=True))
    op.add_column("responses", sa.Column("value", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("responses", "value")
    op.drop_column("checklist_items", "answer")
