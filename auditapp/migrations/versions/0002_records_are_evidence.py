"""Records are evidence: the event log is append-only and a completed audit's records are read-only,
enforced by the database itself so that neither a bug nor a stray script can rewrite them.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

EVENTS_MESSAGE = "the event log is append-only"
CLOSED_MESSAGE = "the audit is completed: its records are read-only"
# Tables whose rows belong to one audit (column audit_id).
AUDIT_RECORDS = ("responses", "findings", "photos")


def upgrade():
    # The chain head exists from the start, so the first two writers never race to create it.
    op.execute("INSERT INTO event_chain_head (id, last_seq, last_hash) VALUES (1, 0, '" + "0" * 64 + "')")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_up()
    else:
        _sqlite_up()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
        op.execute("DROP TRIGGER IF EXISTS audits_completed_read_only ON audits")
        for table in AUDIT_RECORDS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_completed_read_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_records_read_only()")
        op.execute("DROP FUNCTION IF EXISTS audits_completed_read_only()")
    else:
        for name in ("events_no_update", "events_no_delete", "audits_completed_read_only"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for table in AUDIT_RECORDS:
            for when in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_completed_no_{when}")
    op.execute("DELETE FROM event_chain_head")


def _sqlite_up():
    op.execute(f"CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
               f"BEGIN SELECT RAISE(ABORT, '{EVENTS_MESSAGE}'); END")
    op.execute(f"CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
               f"BEGIN SELECT RAISE(ABORT, '{EVENTS_MESSAGE}'); END")
    # Reopening (completed -> in progress) stays possible; editing while completed does not.
    op.execute(f"CREATE TRIGGER audits_completed_read_only BEFORE UPDATE ON audits "
               f"WHEN OLD.status = 'completed' AND NEW.status = 'completed' "
               f"BEGIN SELECT RAISE(ABORT, '{CLOSED_MESSAGE}'); END")
    for table in AUDIT_RECORDS:
        for when, row in (("insert", "NEW"), ("update", "OLD"), ("delete", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_completed_no_{when} BEFORE {when.upper()} ON {table} "
                f"WHEN (SELECT status FROM audits WHERE id = {row}.audit_id) = 'completed' "
                f"BEGIN SELECT RAISE(ABORT, '{CLOSED_MESSAGE}'); END")


def _postgresql_up():
    op.execute(f"""
        CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{EVENTS_MESSAGE}'; END $$""")
    op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
               "FOR EACH ROW EXECUTE FUNCTION events_append_only()")
    op.execute("CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
               "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()")
    op.execute(f"""
        CREATE FUNCTION audits_completed_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status = 'completed' AND NEW.status = 'completed' THEN
            RAISE EXCEPTION '{CLOSED_MESSAGE}';
          END IF;
          RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER audits_completed_read_only BEFORE UPDATE ON audits "
               "FOR EACH ROW EXECUTE FUNCTION audits_completed_read_only()")
    op.execute(f"""
        CREATE FUNCTION audit_records_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE row_audit integer;
        BEGIN
          IF TG_OP = 'INSERT' THEN row_audit := NEW.audit_id; ELSE row_audit := OLD.audit_id; END IF;
          IF (SELECT status FROM audits WHERE id = row_audit) = 'completed' THEN
            RAISE EXCEPTION '{CLOSED_MESSAGE}';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""")
    for table in AUDIT_RECORDS:
        op.execute(f"CREATE TRIGGER {table}_completed_read_only BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION audit_records_read_only()")
