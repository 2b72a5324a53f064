"""Records are evidence: an append-only, hash-chained event log, and read-only completed audits,
enforced by the database itself."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from auditapp.audits.models import Response
from auditapp.events import services as events
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import log_in
from .support.app import run_at_once
from .support.audits import answer, items_of


def _log_a_few(make_user):
    user = make_user("quality_lead")
    for i in range(3):
        events.record(user, "test", i, "noted", {"n": i, "when": "now"})
    db.session.commit()
    return user


def test_entries_are_chained_in_order(app, make_user):
    _log_a_few(make_user)
    rows = db.session.scalars(db.select(Event).order_by(Event.seq)).all()
    assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
    for before, after in zip(rows, rows[1:]):
        assert after.prev_hash == before.hash
    assert events.verify_chain() == (len(rows), None)


@pytest.mark.parametrize("statement", [
    "UPDATE events SET action = 'edited'",
    "UPDATE events SET actor_id = NULL",
    "DELETE FROM events",
])
def test_the_database_refuses_to_change_or_delete_entries(app, make_user, statement):
    _log_a_few(make_user)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Event.id))) >= 3


def _tamper(sql: str) -> None:
    """What a stray script with the triggers switched off could do."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
        conn.execute(text(sql))


def test_verify_reports_the_first_changed_entry(app, runner, make_user):
    _log_a_few(make_user)
    assert runner.invoke(args=["events", "verify"]).exit_code == 0
    target = db.session.scalar(db.select(Event).filter_by(entity_type="test", entity_id="1"))
    _tamper(f"UPDATE events SET changes = '{{\"n\": 99, \"when\": \"now\"}}' WHERE id = {target.id}")
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {target.seq} (event id {target.id}): its content was changed" in result.output


def test_verify_reports_a_removed_entry(app, runner, make_user):
    _log_a_few(make_user)
    target = db.session.scalar(db.select(Event).filter_by(entity_type="test", entity_id="1"))
    _tamper(f"DELETE FROM events WHERE id = {target.id}")
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 1 and f"entry {target.seq} (event id None): missing" in result.output


def test_verify_reports_a_cut_off_end(app, runner, make_user):
    _log_a_few(make_user)
    last = db.session.scalar(db.select(Event).order_by(Event.seq.desc()))
    _tamper(f"DELETE FROM events WHERE id = {last.id}")
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 1 and "the log ends early" in result.output


def test_concurrent_writers_keep_one_unbroken_chain(app, make_user):
    user_id = make_user("auditor").id

    def write(n):
        for i in range(5):
            events.record(None, "race", f"{n}-{i}", "written", {"by": user_id})
            db.session.commit()

    assert run_at_once(app, 6, write) == []
    checked, broken = events.verify_chain()
    assert broken is None and checked == db.session.scalar(db.select(db.func.count(Event.id)))


def test_a_completed_audit_cannot_be_rewritten_even_by_sql(app, client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    for item in audit.checklist_version.items:
        answer(client, audit, item, "conform")
    client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done."})
    item = items_of(audit)["8.5.2-traceability"]
    for statement in (f"UPDATE responses SET result = 'major_nc' WHERE audit_id = {audit.id}",
                      f"DELETE FROM responses WHERE audit_id = {audit.id}",
                      f"UPDATE audits SET conclusion = 'rewritten' WHERE id = {audit.id}"):
        with pytest.raises(DBAPIError, match="read-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=item.id)).result == "conform"
    # Reopening is the one way back, and it is logged with its reason.
    quality = make_user("quality_lead")
    client.post("/logout")
    log_in(client, quality)
    assert client.post(f"/audits/{audit.id}/reopen", data={"reason": "Missed evidence"}).status_code == 302
