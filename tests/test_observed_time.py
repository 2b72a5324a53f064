"""A change made offline keeps the time the auditor made it (the device's clock, judged), beside the time
the server received it; history and the report show the observation; the event chain stays correct."""

import io
import json
from datetime import datetime, timedelta

from auditapp.audits.models import Audit, Response
from auditapp.core.observed import MAX_AGE, SKEW, parse_device_time
from auditapp.core.timeutil import utcnow
from auditapp.events import services as events
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import log_in
from .support.audits import items_of


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def planned_yesterday(audit) -> None:
    """Audits are planned before the day they are made; the fixture plans them now."""
    db.session.execute(db.update(Audit).where(Audit.id == audit.id).values(created_at=utcnow() - timedelta(days=1)))
    db.session.commit()


def answered_event(audit, item) -> Event:
    db.session.expire_all()
    return db.session.scalars(
        db.select(Event).filter_by(entity_type="response", action="answered", audit_id=audit.id, item_id=item.id)
    ).one()


def test_the_device_time_is_read_with_its_offset_and_judged():
    received = datetime(2026, 12, 7, 11, 5, 0)
    assert parse_device_time(None, received) is None and parse_device_time("", received) is None
    assert parse_device_time("2026-12-07T10:02:00.000Z", received).at == datetime(2026, 12, 7, 10, 2)
    assert parse_device_time("2026-12-07T11:02:00+01:00", received).at == datetime(2026, 12, 7, 10, 2)
    # A clock a little ahead is normal: the observation is then the received time, never in the future.
    assert parse_device_time(iso(received + SKEW - timedelta(seconds=1)), received).at == received
    ahead = parse_device_time(iso(received + SKEW + timedelta(minutes=1)), received)
    assert ahead.at is None and "ahead" in ahead.note
    old = parse_device_time(iso(received - MAX_AGE - timedelta(hours=1)), received)
    assert old.at is None and "too far in the past" in old.note
    for raw in ("yesterday", "2026-12-07T10:02:00"):  # not a time; a time without its zone
        judged = parse_device_time(raw, received)
        assert judged.at is None and judged.note


def test_an_answer_replayed_later_keeps_the_time_it_was_made_and_the_time_received(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    planned_yesterday(audit)
    item = items_of(audit)["8.5.2-traceability"]
    log_in(client, lead)
    made = (utcnow() - timedelta(minutes=63)).replace(microsecond=0)
    response = client.post(
        f"/audits/{audit.id}/items/{item.id}/answer",
        data={"result": "conform", "base_revision": 0},
        headers={"HX-Request": "true", "X-Change-Id": "chg-obs00001", "X-Observed-At": iso(made)},
    )
    assert response.status_code == 200
    event = answered_event(audit, item)
    assert event.observed_at == made and event.observed_note is None
    assert event.occurred_at - made > timedelta(minutes=60)  # received now
    assert event.received_late and event.observed_or_received == made
    response_row = db.session.scalars(db.select(Response).filter_by(audit_id=audit.id, item_id=item.id)).one()
    assert response_row.answered_at == made
    assert db.session.get(Audit, audit.id).started_at == made  # the audit started when its first record was made
    history = client.get(f"/audits/{audit.id}/items/{item.id}/history").get_data(as_text=True)
    assert made.strftime("%d %b %Y %H:%M:%S") in history
    assert f"recorded offline {made:%H:%M}, received {event.occurred_at:%H:%M}" in history
    assert events.verify_chain()[1] is None


def test_an_answer_made_online_has_no_device_time_and_no_note(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["8.5.2-traceability"]
    log_in(client, lead)
    client.post(
        f"/audits/{audit.id}/items/{item.id}/answer",
        data={"result": "conform", "base_revision": 0},
        headers={"HX-Request": "true", "X-Change-Id": "chg-obs00002"},
    )
    event = answered_event(audit, item)
    assert event.observed_at is None and event.observed_note is None and not event.received_late
    history = client.get(f"/audits/{audit.id}/items/{item.id}/history").get_data(as_text=True)
    assert "recorded offline" not in history


def test_a_wrong_device_clock_is_not_used_and_says_so(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)  # planned now: a time an hour ago is before it was planned
    items = items_of(audit)
    log_in(client, lead)
    cases = {
        "8.5.2-traceability": (iso(utcnow() + timedelta(hours=2)), "ahead"),
        "7.1.5-gauges": (iso(utcnow() - timedelta(hours=1)), "before the audit was planned"),
    }
    for n, (key, (sent, _)) in enumerate(cases.items()):
        client.post(
            f"/audits/{audit.id}/items/{items[key].id}/answer",
            data={"result": "conform", "base_revision": 0},
            headers={"HX-Request": "true", "X-Change-Id": f"chg-obs1000{n}", "X-Observed-At": sent},
        )
    for key, (_, why) in cases.items():
        event = answered_event(audit, items[key])
        assert event.observed_at is None and why in event.observed_note
        row = db.session.scalars(db.select(Response).filter_by(audit_id=audit.id, item_id=items[key].id)).one()
        assert abs(row.answered_at - event.occurred_at) < timedelta(minutes=1)  # the received time stands
        assert why in client.get(f"/audits/{audit.id}/items/{items[key].id}/history").get_data(as_text=True)
    assert events.verify_chain()[1] is None


def test_a_batch_carries_each_change_s_time_and_the_batch_s_own_header_does_not_leak(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    planned_yesterday(audit)
    items = items_of(audit)
    gauges, trace = items["7.1.5-gauges"], items["8.5.2-traceability"]
    log_in(client, lead)
    first, second = ((utcnow() - timedelta(minutes=m)).replace(microsecond=0) for m in (40, 30))
    changes = [
        {
            "changeId": "chg-obs20001",
            "path": f"/audits/{audit.id}/items/{trace.id}/answer",
            "fields": [["result", "conform"], ["base_revision", "0"]],
            "observedAt": iso(first),
        },
        {
            "changeId": "chg-obs20002",
            "path": f"/audits/{audit.id}/items/{gauges.id}/answer",
            "fields": [["result", "minor_nc"], ["base_revision", "0"]],
            "observedAt": iso(second),
        },
        {  # no time of its own: the batch request's header is not its time
            "changeId": "chg-obs20003",
            "path": f"/audits/{audit.id}/items/{trace.id}/answer",
            "fields": [["result", "ofi"], ["base_revision", "1"]],
        },
    ]
    response = client.post(
        "/outbox/batch",
        data={"changes": json.dumps(changes)},
        content_type="multipart/form-data",
        headers={"X-Observed-At": iso(utcnow() - timedelta(minutes=50))},
    )
    assert [r["outcome"] for r in response.get_json()["results"]] == ["applied"] * 3
    db.session.expire_all()
    answered = db.session.scalars(
        db.select(Event).filter_by(entity_type="response", action="answered", audit_id=audit.id).order_by(Event.seq)
    ).all()
    assert [e.observed_at for e in answered] == [first, second, None]
    # The chain's order is the server's (seq), whatever the devices' times; it verifies.
    assert [e.seq for e in answered] == sorted(e.seq for e in answered)
    assert events.verify_chain()[1] is None
    # A resend of the same batch changes nothing, its time included.
    again = client.post("/outbox/batch", data={"changes": json.dumps(changes)}, content_type="multipart/form-data")
    assert [r["outcome"] for r in again.get_json()["results"]] == ["already applied"] * 3
    assert db.session.scalar(db.select(db.func.count(Event.id)).filter_by(action="answered")) == 3


def test_the_observed_time_is_under_the_chain_s_hash(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    planned_yesterday(audit)
    item = items_of(audit)["8.5.2-traceability"]
    log_in(client, lead)
    made = (utcnow() - timedelta(minutes=20)).replace(microsecond=0)
    client.post(
        f"/audits/{audit.id}/items/{item.id}/answer",
        data={"result": "conform", "base_revision": 0},
        headers={"HX-Request": "true", "X-Change-Id": "chg-obs30001", "X-Observed-At": iso(made)},
    )
    event = answered_event(audit, item)
    assert events.entry_hash(event) == event.hash
    db.session.expunge(event)
    event.observed_at = made - timedelta(hours=1)  # as if rewritten in the database
    assert events.entry_hash(event) != event.hash


def test_the_report_shows_when_a_finding_was_made_offline(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    planned_yesterday(audit)
    gauges = items_of(audit)["7.1.5-gauges"]
    log_in(client, lead)
    made = (utcnow() - timedelta(minutes=45)).replace(microsecond=0)
    headers = {"HX-Request": "true", "X-Observed-At": iso(made)}
    client.post(
        f"/audits/{audit.id}/items/{gauges.id}/answer",
        data={"result": "minor_nc", "base_revision": 0},
        headers={**headers, "X-Change-Id": "chg-obs40001"},
    )
    saved = client.post(
        f"/audits/{audit.id}/items/{gauges.id}/finding",
        data={"statement": "Gauge overdue", "evidence": "Calibration label expired", "requirement": "7.1.5"},
        headers={**headers, "X-Change-Id": "chg-obs40002"},
    )
    assert saved.status_code == 200, saved.data
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert f"Recorded:</strong> {made:%d %b %Y %H:%M} UTC (made offline; received" in report
    assert f"<th>Started</th><td>{made:%d %b %Y %H:%M} UTC" in report


def test_an_imported_export_keeps_each_change_s_time(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    planned_yesterday(audit)
    trace = items_of(audit)["8.5.2-traceability"]
    quality = make_user("quality_lead")
    log_in(client, quality)
    made = (utcnow() - timedelta(hours=3)).replace(microsecond=0)
    export = {
        "exported": iso(utcnow()),
        "user": lead.email,
        "entries": [
            {
                "seq": 1,
                "path": f"/audits/{audit.id}/items/{trace.id}/answer",
                "changeId": "chg-obs50001",
                "queuedAt": iso(made),
                "fields": [["result", "conform"], ["base_revision", "0"]],
            }
        ],
    }
    response = client.post(
        "/outbox/import",
        content_type="multipart/form-data",
        data={"export": (io.BytesIO(json.dumps(export).encode()), "outbox.json")},
    )
    assert "1 of 1 applied" in response.get_data(as_text=True)
    assert answered_event(audit, trace).observed_at == made
