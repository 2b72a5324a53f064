"""Kept PDFs: the last PDF of a completed audit's report, served again while its content is unchanged.

Revision ID: 0021
Revises: 0020
"""

from alembic import op
import sqlalchemy as sa

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kept_pdfs",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("content_key", sa.String(length=64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kept_pdfs")),
    )
    op.create_index(op.f("ix_kept_pdfs_made_at"), "kept_pdfs", ["made_at"])


def downgrade():
    op.drop_index(op.f("ix_kept_pdfs_made_at"), table_name="kept_pdfs")
    op.drop_table("kept_pdfs")
