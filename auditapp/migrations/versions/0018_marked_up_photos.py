"""Marked-up photos: a copy the auditor drew on (circle, arrow, label) names the photo it was drawn on;
both stay as evidence.

Plain ADD COLUMN on SQLite (the reference inline, which SQLite allows for a column that defaults to NULL):
a batch rebuild would drop the photos table's triggers (0002, 0012). Downgrading on SQLite has to rebuild
the table (SQLite cannot drop a column that references another), so it puts the table's triggers back.

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

FK = "fk_photos_marked_up_from_id_photos"
INDEX = "ix_photos_marked_up_from_id"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("photos", sa.Column("marked_up_from_id", sa.String(length=36), nullable=True))
        op.create_foreign_key(FK, "photos", "photos", ["marked_up_from_id"], ["id"])
    else:
        op.execute(f"ALTER TABLE photos ADD COLUMN marked_up_from_id VARCHAR(36) CONSTRAINT {FK} REFERENCES photos (id)")
    op.create_index(INDEX, "photos", ["marked_up_from_id"], unique=False)


def downgrade():
    op.drop_index(INDEX, table_name="photos")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FK, "photos", type_="foreignkey")
        op.drop_column("photos", "marked_up_from_id")
        return
    triggers = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'photos'"
    ).scalars().all()
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_column("marked_up_from_id")
    for sql in triggers:
        op.execute(sql)
