"""Tamper evidence: each event records which hash scheme made it (the keyed HMAC from now on, plain SHA-256
before); rows can no longer be moved into a completed audit; leaving "completed" clears the completion date,
as the app's logged reopen does.

Plain ADD COLUMN on purpose: a batch rebuild on SQLite would drop the triggers of 0002.
The server default marks every existing entry (and any row inserted behind the app's back) as unkeyed.
Downgrading drops the column, and with it which entries are keyed: after upgrading again the keyed entries
no longer verify. Do not downgrade past this revision a database whose log must stay verifiable.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CLOSED_MESSAGE = "the audit is completed: its records are read-only"
REOPEN_MESSAGE = "a completed audit is reopened only by the app, which clears its completion date and logs why"
AUDIT_RECORDS = ("responses", "findings", "photos")


def upgrade():
    op.add_column("events", sa.Column("hash_scheme", sa.String(length=20), nullable=False, server_default="sha256"))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_up()
    else:
        _sqlite_up()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audits_reopened_by_the_app ON audits")
        op.execute("DROP FUNCTION IF EXISTS audits_reopened_by_the_app()")
        op.execute(_records_function(moved_into=False))
    else:
        op.execute("DROP TRIGGER IF EXISTS audits_reopened_by_the_app")
        for table in AUDIT_RECORDS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_into_completed_no_update")
    op.drop_column("events", "hash_scheme")  # plain DROP COLUMN (SQLite 3.35+): no rebuild, triggers kept


def _sqlite_up():
    # 0002's update trigger looks at the row's old audit; this one at the audit it is moved to.
    for table in AUDIT_RECORDS:
        op.execute(f"CREATE TRIGGER {table}_into_completed_no_update BEFORE UPDATE ON {table} "
                   f"WHEN (SELECT status FROM audits WHERE id = NEW.audit_id) = 'completed' "
                   f"BEGIN SELECT RAISE(ABORT, '{CLOSED_MESSAGE}'); END")
    op.execute(f"CREATE TRIGGER audits_reopened_by_the_app BEFORE UPDATE ON audits "
               f"WHEN OLD.status = 'completed' AND NEW.status <> 'completed' AND NEW.completed_at IS NOT NULL "
               f"BEGIN SELECT RAISE(ABORT, '{REOPEN_MESSAGE}'); END")


def _records_function(moved_into: bool) -> str:
    """0002's audit_records_read_only(), with (or, for the downgrade, without) the check of the new audit."""
    into = """
          IF TG_OP = 'UPDATE' AND (SELECT status FROM audits WHERE id = NEW.audit_id) = 'completed' THEN
            RAISE EXCEPTION '""" + CLOSED_MESSAGE + """';
          END IF;""" if moved_into else ""
    return f"""
        CREATE OR REPLACE FUNCTION audit_records_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE row_audit integer;
        BEGIN
          IF TG_OP = 'INSERT' THEN row_audit := NEW.audit_id; ELSE row_audit := OLD.audit_id; END IF;
          IF (SELECT status FROM audits WHERE id = row_audit) = 'completed' THEN
            RAISE EXCEPTION '{CLOSED_MESSAGE}';
          END IF;{into}
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$"""


def _postgresql_up():
    op.execute(_records_function(moved_into=True))
    op.execute(f"""
        CREATE FUNCTION audits_reopened_by_the_app() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status = 'completed' AND NEW.status <> 'completed' AND NEW.completed_at IS NOT NULL THEN
            RAISE EXCEPTION '{REOPEN_MESSAGE}';
          END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER audits_reopened_by_the_app BEFORE UPDATE ON audits "
               "FOR EACH ROW EXECUTE FUNCTION audits_reopened_by_the_app()")
