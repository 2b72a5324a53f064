"""Containment notices: the one e-mail per nonconformity telling its area's owner that it needs containment.

Revision ID: 0017
Revises: 0016
"""

from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "containment_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonconformity_id", sa.Integer(), nullable=False),
        sa.Column("sent_to", sa.String(length=254), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["nonconformity_id"],
            ["nonconformities.id"],
            name=op.f("fk_containment_notices_nonconformity_id_nonconformities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_containment_notices")),
        sa.UniqueConstraint("nonconformity_id", name=op.f("uq_containment_notices_nonconformity_id")),
    )


def downgrade():
    op.drop_table("containment_notices")
