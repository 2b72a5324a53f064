"""Scoring (issue 15): a version's points per result (checklist_versions.scoring; NULL = not scored), a
section's and an item's weight (NULL = 1) and an item's own points. All nullable: existing rows keep their
meaning, and checklist versions imported before keep their content hash.

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("checklist_versions", sa.Column("scoring", sa.JSON(), nullable=True))
    op.add_column("checklist_sections", sa.Column("weight", sa.Float(), nullable=True))
    op.add_column("checklist_items", sa.Column("weight", sa.Float(), nullable=True))
    op.add_column("checklist_items", sa.Column("points", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("checklist_items", "points")
    op.drop_column("checklist_items", "weight")
    op.drop_column("checklist_sections", "weight")
    op.drop_column("checklist_versions", "scoring")
