"""Records are evidence: an append-only, hash-chained event log, and read-only completed audits,
enforced by the database itself."""

import hashlib
import json
import re
import stat
import threading
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from auditapp.audits.models import Response
from auditapp.events import services as events
from auditapp.events.models import Event, EventChainHead
from auditapp.extensions import db
from auditapp.findings.models import FINDING_GRADES
from auditapp.photos.models import Photo

from .support.accounts import log_in
from .support.app import run_at_once
from .support.audits import HX, answer, items_of
from .support.capa import close_nc, raise_nc
from .support.photos import jpeg, upload


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
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.hash
    assert events.verify_chain() == (len(rows), None)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET action = 'edited'",
        "UPDATE events SET actor_id = NULL",
        "DELETE FROM events",
    ],
)
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
    _tamper(f'UPDATE events SET changes = \'{{"n": 99, "when": "now"}}\' WHERE id = {target.id}')
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
    for statement in (
        f"UPDATE responses SET result = 'major_nc' WHERE audit_id = {audit.id}",
        f"DELETE FROM responses WHERE audit_id = {audit.id}",
        f"UPDATE audits SET conclusion = 'rewritten' WHERE id = {audit.id}",
    ):
        with pytest.raises(DBAPIError, match="read-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=item.id)).result == "conform"
    # Reopening is the one way back, and it is logged with its reason.
    quality = make_user("quality_lead")
    client.post("/logout")
    log_in(client, quality)
    assert client.post(f"/audits/{audit.id}/reopen", data={"reason": "Missed evidence"}).status_code == 302


# Tamper methods of the security review (defect 6): each one is refused by the database or reported by
# `flask events verify`. The attacker below knows the code, including the unkeyed hash scheme, but not the key.

GRADES = {g.value for g in FINDING_GRADES}


def _completed_audit(client, plan, make_user, result="conform"):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    for item in audit.checklist_version.items:
        answer(client, audit, item, result)
    assert client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done."}).status_code in (200, 302)
    db.session.refresh(audit)
    assert audit.is_completed
    return audit


def _unkeyed_hash(event, prev_hash: str) -> str:
    """The published SHA-256 scheme: anyone can compute it, so a forger does."""
    content = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "action": event.action,
        "changes": event.changes,
        "audit_id": event.audit_id,
        "item_id": event.item_id,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _drop_triggers(conn) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        return
    for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
        conn.execute(text(f'DROP TRIGGER "{name}"'))


def _chain() -> list[Event]:
    return db.session.scalars(db.select(Event).order_by(Event.seq).execution_options(populate_existing=True)).all()


def test_a_status_flip_to_change_an_answer_is_reported_by_the_record_replay(app, runner, client, plan, make_user):
    """(a) No trigger dropped: in progress, change an answer, completed again."""
    audit = _completed_audit(client, plan, make_user)
    response = db.session.scalar(
        db.select(Response).filter_by(audit_id=audit.id, item_id=items_of(audit)["7.1.5-gauges"].id)
    )
    assert runner.invoke(args=["events", "verify", "--records"]).exit_code == 0
    with pytest.raises(DBAPIError, match="reopened only by the app"):
        db.session.execute(text(f"UPDATE audits SET status = 'in_progress' WHERE id = {audit.id}"))
    db.session.rollback()
    with db.engine.begin() as conn:  # the flip as the app's reopen does it, without its event
        conn.execute(text(f"UPDATE audits SET status = 'in_progress', completed_at = NULL WHERE id = {audit.id}"))
        conn.execute(text(f"UPDATE responses SET result = 'major_nc', note = 'forged' WHERE id = '{response.id}'"))
        conn.execute(
            text("UPDATE audits SET status = 'completed', completed_at = :at WHERE id = :id"),
            {"at": audit.completed_at, "id": audit.id},
        )
    result = runner.invoke(args=["events", "verify", "--records"])
    assert result.exit_code == 1, result.output
    assert f"{audit.number} item 7.1.5-gauges: row says major_nc, history says conform" in result.output
    assert f"{audit.number} item 7.1.5-gauges: row's note differs from its history" in result.output


def test_a_photo_cannot_be_moved_or_added_into_a_completed_audit(app, runner, client, plan, make_user):
    """(b) The triggers refuse it; with them dropped, the record replay reports it."""
    audit = _completed_audit(client, plan, make_user)
    other = plan(title="Open audit")
    photo = Photo(
        id=str(uuid.uuid4()),
        sha256="ab" * 32,
        audit_id=other.id,
        content_type="image/jpeg",
        width=1,
        height=1,
        original_width=1,
        original_height=1,
        byte_size=1,
    )
    db.session.add(photo)
    db.session.commit()
    for statement in (
        f"UPDATE photos SET audit_id = {audit.id} WHERE id = '{photo.id}'",
        "INSERT INTO photos (id, sha256, audit_id, content_type, width, height, original_width, "
        f"original_height, byte_size, created_at) VALUES ('p2', '{'cd' * 32}', {audit.id}, "
        "'image/jpeg', 1, 1, 1, 1, 1, CURRENT_TIMESTAMP)",
    ):
        with pytest.raises(DBAPIError, match="read-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    with db.engine.begin() as conn:
        _drop_triggers(conn)
        conn.execute(text(f"UPDATE photos SET audit_id = {audit.id} WHERE id = '{photo.id}'"))
    result = runner.invoke(args=["events", "verify", "--records"])
    assert result.exit_code == 1, result.output
    assert f"{audit.number} photo {photo.id}: row says in the audit, history says never added" in result.output


def test_a_forged_event_with_a_recomputed_hash_is_reported(app, runner, make_user):
    """(c) No trigger dropped: append an entry whose SHA-256 is right, and move the chain head onto it."""
    _log_a_few(make_user)
    head = db.session.get(EventChainHead, 1)
    forged = Event(
        seq=head.last_seq + 1,
        occurred_at=datetime(2026, 12, 1, 9, 30),
        actor_id=None,
        entity_type="response",
        entity_id="x",
        action="answered",
        changes={"result": ["minor_nc", "conform"]},
        prev_hash=head.last_hash,
    )
    forged.hash = _unkeyed_hash(forged, head.last_hash)
    db.session.add(forged)
    head.last_seq, head.last_hash = forged.seq, forged.hash
    db.session.commit()
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 1, result.output
    assert f"BROKEN at entry {forged.seq}" in result.output


def test_a_trimmed_tail_with_the_head_rewound_is_reported_against_the_checkpoint(app, runner, make_user):
    """(d) Triggers dropped: delete the last entries and rewind the chain head to the entry before them."""
    _log_a_few(make_user)
    assert runner.invoke(args=["events", "checkpoint"]).exit_code == 0
    rows = _chain()
    keep = rows[-3]
    with db.engine.begin() as conn:
        _drop_triggers(conn)
        conn.execute(text(f"DELETE FROM events WHERE seq > {keep.seq}"))
        conn.execute(
            text("UPDATE event_chain_head SET last_seq = :seq, last_hash = :hash"), {"seq": keep.seq, "hash": keep.hash}
        )
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 1, result.output
    assert f"the log ends at entry {keep.seq} but a checkpoint saw entry {rows[-1].seq}" in result.output


@pytest.mark.parametrize("mark_unkeyed", [False, True])
def test_a_rewritten_and_rechained_log_is_reported(app, runner, make_user, mark_unkeyed):
    """(e) Triggers dropped: change an entry and recompute every hash after it, and the head."""
    _log_a_few(make_user)
    target = db.session.scalar(db.select(Event).filter_by(entity_type="test", entity_id="1"))
    with db.engine.begin() as conn:
        _drop_triggers(conn)
        conn.execute(
            text("UPDATE events SET changes = :changes WHERE id = :id"),
            {"changes": json.dumps({"n": 99, "when": "now"}), "id": target.id},
        )
        if mark_unkeyed:  # claim the entries were written before the log had a key
            conn.execute(text("UPDATE events SET hash_scheme = 'sha256' WHERE seq >= :seq"), {"seq": target.seq})
    rows = _chain()
    prev = rows[target.seq - 2].hash if target.seq > 1 else events.GENESIS
    with db.engine.begin() as conn:
        _drop_triggers(conn)
        for row in rows[target.seq - 1 :]:
            new_hash = _unkeyed_hash(row, prev)
            conn.execute(
                text("UPDATE events SET prev_hash = :prev, hash = :hash WHERE id = :id"),
                {"prev": prev, "hash": new_hash, "id": row.id},
            )
            prev = new_hash
        conn.execute(text("UPDATE event_chain_head SET last_hash = :hash"), {"hash": prev})
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 1, result.output
    assert f"BROKEN at entry {target.seq}" in result.output


def test_records_worked_through_the_app_match_their_history(app, runner, client, plan, make_user):
    """No false alarm: reopened, re-answered, a photo added, completed again; a nonconformity closed twice."""
    audit = _completed_audit(client, plan, make_user)
    item = items_of(audit)["7.1.5-gauges"]
    quality = make_user("quality_lead")
    client.post("/logout")
    log_in(client, quality)
    assert client.post(f"/audits/{audit.id}/reopen", data={"reason": "Missed evidence"}).status_code == 302
    client.post("/logout")
    log_in(client, audit.lead_auditor)
    answer(client, audit, item, next(r for r in item.results if r != "conform" and r not in GRADES))
    assert upload(client, audit, item, ("gauge.jpg", jpeg())).status_code == 200
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done again.", "confirm_unanswered": "1"})
    assert done.status_code == 302, done.get_data(as_text=True)
    nc = raise_nc(quality)
    close_nc(quality, make_user("quality_lead"), nc, make_user("supervisor"), first_check_effective=False)
    result = runner.invoke(args=["events", "verify", "--records"])
    assert result.exit_code == 0, result.output
    assert " 0 differences" in result.output and "records: 2 compared" in result.output
    # ...and the same closed nonconformity rewritten behind the log's back is reported.
    with db.engine.begin() as conn:
        _drop_triggers(conn)
        conn.execute(
            text("UPDATE nonconformities SET verification_result = 'not_effective' WHERE id = :id"), {"id": nc.id}
        )
    result = runner.invoke(args=["events", "verify", "--records"])
    assert result.exit_code == 1 and f"{nc.number} verification_result: row says not_effective" in result.output


def test_entries_made_before_the_key_still_verify_and_are_counted(app, runner, make_user):
    prev = events.GENESIS
    for seq in (1, 2):  # as 0012 leaves the entries written before it
        old = Event(
            seq=seq,
            occurred_at=datetime(2026, 11, 1, 8, seq),
            entity_type="test",
            entity_id=str(seq),
            action="noted",
            changes={},
            prev_hash=prev,
            hash_scheme="sha256",
        )
        old.hash = prev = _unkeyed_hash(old, prev)
        db.session.add(old)
    db.session.execute(db.update(EventChainHead).values(last_seq=2, last_hash=prev))
    db.session.commit()
    events.record(None, "test", 3, "noted")
    db.session.commit()
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 3 entries, chain verified; 2 entries were written before the log had a key" in result.output


def test_the_chain_key_is_made_once_in_the_instance_folder_and_is_needed_to_verify(app, runner, make_user):
    app.config["EVENT_KEY"] = None
    app.extensions.pop("auditapp_event_key", None)
    _log_a_few(make_user)
    key_file = Path(app.instance_path) / "event_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text()) == 64
    assert runner.invoke(args=["events", "verify"]).exit_code == 0
    app.config["EVENT_KEY"] = "another key"
    app.extensions.pop("auditapp_event_key")
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 1 and "BROKEN at entry 1" in result.output


def test_holding_a_review_writes_a_signed_checkpoint_and_a_forged_one_is_reported(app, runner, client, make_user):
    quality = make_user("quality_lead")
    log_in(client, quality)
    created = client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-06-30"})
    assert (
        client.post(
            created.headers["Location"] + "/held",
            data={"meeting_date": "2026-07-10", "attendees": "CEO", "conclusions": "Fine", "confirm": "1"},
        ).status_code
        == 302
    )
    checkpoint_file = Path(app.config["CHECKPOINT_FILE"])
    written = json.loads(checkpoint_file.read_text().splitlines()[-1])
    head = db.session.get(EventChainHead, 1, populate_existing=True)
    assert (written["seq"], written["hash"]) == (head.last_seq, head.last_hash)
    result = runner.invoke(args=["events", "verify", "--records"])
    assert result.exit_code == 0 and "checkpoints: 1 in" in result.output and "records: 1 compared" in result.output
    with checkpoint_file.open("a") as fh:  # a checkpoint claiming more than was written, without the key
        fh.write(json.dumps({**written, "seq": written["seq"] + 5}) + "\n")
    result = runner.invoke(args=["events", "verify"])
    assert result.exit_code == 1 and "checkpoint line 2: its signature does not hold" in result.output


def test_a_team_answering_at_once_and_a_completion_keep_one_unbroken_chain(app, runner, plan, make_user):
    """Four auditors tap their own items at once (the first taps start the audit) while the lead completes it:
    no tap fails, every write is logged once, nothing is answered after the completion, and the chain and the
    records verify."""
    lead, team = make_user("auditor"), [make_user("auditor") for _ in range(3)]
    audit = plan(lead=lead, team=team)
    items = items_of(audit)
    mine = [items[k] for k in ("7.1.5-gauges", "8.5.2-traceability", "8.7-segregation", "8.5.4-storage")]
    urls = [f"/audits/{audit.id}/items/{item.id}/answer" for item in mine]
    results = [[r for r in item.results if r not in {g.value for g in FINDING_GRADES}][:2] for item in mine]
    assert all(len(pair) == 2 for pair in results)
    sessions = []
    for user in [lead, *team]:
        own = app.test_client()
        log_in(own, user)
        sessions.append((own.get_cookie("session").value, own.csrf_token()))
    complete_url = f"/audits/{audit.id}/complete"
    statuses: list[tuple[int, int]] = []
    some_answered = threading.Event()

    def work(n):
        client = app.test_client()
        cookie, token = sessions[n % 4]
        client.set_cookie("session", cookie)
        headers = {**HX, "X-CSRFToken": token}
        base = 0
        for tap in range(6):
            if n == 4 and tap == 3:  # the lead's second thread completes the audit once answers came in
                assert some_answered.wait(60)
                done = client.post(
                    complete_url, data={"conclusion": "Done.", "confirm_unanswered": "on"}, headers=headers
                )
                statuses.append((n, done.status_code))
                return
            if n == 4:
                continue
            response = client.post(
                urls[n], data={"result": results[n][tap % 2], "base_revision": base}, headers=headers
            )
            statuses.append((n, response.status_code))
            if response.status_code == 200:
                some_answered.set()
            found = re.search(rb'name="base_revision" value="(\d+)"', response.data)
            base = int(found.group(1)) if found else base

    assert run_at_once(app, 5, work) == []
    assert {status for _n, status in statuses} <= {200, 302, 409}, statuses
    assert (4, 302) in statuses  # completed
    db.session.expire_all()
    log = _chain()
    completed_at = next(e.seq for e in log if e.entity_type == "audit" and e.action == "completed")
    for item in mine:
        answered = [e for e in log if e.item_id == item.id and e.action == "answered"]
        row = db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=item.id))
        assert row is not None and len(answered) == row.revision - (row.result == "not_audited")
        assert all(e.seq < completed_at for e in answered)
    audit_actions = [e.action for e in log if e.entity_type == "audit"]
    assert audit_actions.count("started") == 1 and audit_actions.count("completed") == 1
    assert events.verify_chain() == (len(log), None)
    result = runner.invoke(args=["events", "verify", "--records"])
    assert result.exit_code == 0, result.output
