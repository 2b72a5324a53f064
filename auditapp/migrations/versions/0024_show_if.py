"""Show-if conditions (issue 15): checklist_items.show_if and checklist_sections.show_if, JSON
{"item": key, "answer": [...]}; NULL = always asked, so existing rows keep their meaning and versions
imported before keep their content hash.

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("checklist_items", sa.Column("show_if", sa.JSON(), nullable=True))
    op.add_column("checklist_sections", sa.Column("show_if", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("checklist_sections", "show_if")
    op.drop_column("checklist_items", "show_if")
