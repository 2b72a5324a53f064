"""Change ids applied once, and the retention of what a replay answers (flask changes prune)."""

from datetime import timedelta

from auditapp.audits.models import Response
from auditapp.core.changes import AppliedChange
from auditapp.core.timeutil import utcnow
from auditapp.extensions import db

from .support.accounts import log_in
from .support.audits import HX, items_of


def test_pruning_drops_old_answers_but_a_late_replay_still_applies_nothing(app, client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    log_in(client, lead)
    url, headers = f"/audits/{audit.id}/items/{item.id}/answer", {**HX, "X-Change-Id": "old-change-0001"}
    assert client.post(url, data={"result": "minor_nc", "base_revision": 0}, headers=headers).status_code == 200
    assert (
        client.post(
            url, data={"result": "conform", "base_revision": 1}, headers={**HX, "X-Change-Id": "new-change-0002"}
        ).status_code
        == 200
    )
    old = db.session.get(AppliedChange, "old-change-0001")
    old.applied_at = utcnow() - timedelta(days=31)
    db.session.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["changes", "prune", "--dry-run"])
    assert "1 stored answers are older than 30 days (dry run" in dry.output
    kept = db.session.get(AppliedChange, "old-change-0001")
    assert kept.body or kept.headers  # an answer stores no body: a replay renders the item again
    done = runner.invoke(args=["changes", "prune"])
    assert "Pruned the stored answers of 1 changes older than 30 days" in done.output
    db.session.expire_all()
    pruned, recent = db.session.get(AppliedChange, "old-change-0001"), db.session.get(AppliedChange, "new-change-0002")
    assert (pruned.body, pruned.headers) == ("", {})
    assert recent.body or recent.headers  # inside the retention: kept
    late = client.post(url, data={"result": "minor_nc", "base_revision": 0}, headers=headers)
    assert late.status_code == 200 and late.headers["X-Change-Replayed"] == "true"
    assert b"Already applied" in late.data
    answer = db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=item.id))
    assert (answer.result, answer.revision) == ("conform", 2)  # the late copy changed nothing
