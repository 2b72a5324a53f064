"""The nonconformity and corrective-action log: sync from findings, the 10.2 workflow, permissions."""

from datetime import date, timedelta

import pytest

from auditapp.accounts.models import User
from auditapp.capa import services as capa
from auditapp.capa.models import CorrectiveAction, Nonconformity
from auditapp.core.errors import Conflict
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import log_in, make_area
from .support.app import run_at_once
from .support.audits import HX, answer, items_of
from .support.capa import advance_to_actions_done, raise_nc
from .support.findings import NC_TEXT, post_finding

YEAR = date.today().year


def ncs():
    db.session.expire_all()
    return db.session.scalars(db.select(Nonconformity).order_by(Nonconformity.id)).all()


# --- findings sync in --------------------------------------------------------------------------


def test_an_nc_finding_becomes_exactly_one_nonconformity_when_saved(client, plan, make_user):
    supervisor = make_user("supervisor")
    area = make_area("Machining", supervisor)
    lead = make_user("auditor")
    audit = plan(lead=lead, area=area)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    answer(client, audit, item, "minor_nc")
    assert ncs() == []  # an empty finding form is not yet a nonconformity
    post_finding(client, audit, item, NC_TEXT)
    [nc] = ncs()
    assert nc.number == f"NC-{YEAR}-0001" and nc.severity == "minor" and nc.status == "open"
    assert (nc.audit_id, nc.clause, nc.area_id, nc.source) == (audit.id, "8.5.2", area.id, "internal_audit")
    assert nc.description == NC_TEXT["statement"] and nc.finding.item_id == item.id
    post_finding(client, audit, item, {**NC_TEXT, "evidence": "More evidence"})  # re-saved
    headers = {**HX, "X-Change-Id": "replayed-finding-1"}
    for _ in range(2):
        client.post(f"/audits/{audit.id}/items/{item.id}/finding", data=NC_TEXT, headers=headers)
    assert len(ncs()) == 1


def test_regrading_updates_severity_or_withdraws_and_reinstates(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    answer(client, audit, item, "major_nc")
    [nc] = ncs()
    assert nc.severity == "major"
    change = db.session.scalar(db.select(Event).filter_by(entity_type="nonconformity", action="updated_from_finding"))
    assert change.changes["severity"] == ["minor", "major"]
    answer(client, audit, item, "observation")
    [nc] = ncs()
    assert nc.status == "withdrawn" and nc.withdrawn_reason == "finding regraded to observation"
    answer(client, audit, item, "conform")
    answer(client, audit, item, "minor_nc")
    [nc] = ncs()
    assert nc.status == "open" and nc.severity == "minor"  # the same record, reinstated, never a second one


def test_a_closed_nc_is_not_changed_by_regrading_its_finding_in_a_reopened_audit(client, plan, make_user):
    lead, verifier = make_user("auditor"), make_user("quality_lead")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    nc = db.session.scalar(db.select(Nonconformity))
    advance_to_actions_done(verifier, nc, owner=verifier)
    other = make_user("quality_lead")
    capa.verify(other, nc, True, "Clean since", date.today())
    capa.close(other, nc)
    db.session.commit()
    refused = answer(client, audit, item, "conform")
    assert refused.status_code == 409 and b"is closed; a quality lead must reopen it" in refused.data
    refused = post_finding(client, audit, item, {**NC_TEXT, "statement": "Reworded"})
    assert refused.status_code == 409
    db.session.expire_all()
    assert db.session.get(Nonconformity, nc.id).status == "closed"


def test_adhoc_nc_finding_is_raised_too(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    client.post(
        f"/audits/{audit.id}/findings",
        headers=HX,
        data={"clause": "7.5.3", "grade": "major_nc", "why_major": "No control at all", **NC_TEXT},
    )
    [nc] = ncs()
    assert nc.clause == "7.5.3" and nc.severity == "major"


def test_nc_numbers_stay_unique_and_gap_free_under_concurrent_saves(app, make_user):
    lead_id = make_user("quality_lead").id

    def raise_one(i):
        capa.raise_manually(
            db.session.get(User, lead_id),
            source="supplier",
            clause="8.4",
            area_id=None,
            severity="minor",
            description=f"Batch {i}",
        )
        db.session.commit()

    assert run_at_once(app, 8, raise_one) == []
    assert sorted(nc.number for nc in ncs()) == [f"NC-{YEAR}-{n:04d}" for n in range(1, 9)]


# --- raising by hand ---------------------------------------------------------------------------


def test_quality_lead_raises_from_another_source(client, login, make_user):
    login("quality_lead")
    area = make_area("Paint")
    response = client.post(
        "/nc/new",
        data={
            "source": "certification_stage2",
            "clause": "9.2.2",
            "area_id": area.id,
            "severity": "major",
            "description": "No audit programme for 2026.",
        },
    )
    assert response.status_code == 302
    [nc] = ncs()
    assert (nc.source, nc.clause, nc.severity, nc.area_id) == ("certification_stage2", "9.2.2", "major", area.id)
    bad = client.post("/nc/new", data={"source": "rumour", "clause": "nine", "severity": "huge", "description": "Kept"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Choose where it came from." in html and ">Kept</textarea>" in html


@pytest.mark.parametrize("role", ["auditor", "supervisor"])
def test_only_quality_leads_raise_by_hand(client, make_user, role):
    log_in(client, make_user(role))
    assert (
        client.post(
            "/nc/new", data={"source": "supplier", "clause": "8.4", "severity": "minor", "description": "x"}
        ).status_code
        == 403
    )
    assert ncs() == []


# --- the 10.2 workflow -------------------------------------------------------------------------


def test_each_step_is_guarded_and_explains_why(client, make_user):
    lead = make_user("quality_lead")
    supervisor = make_user("supervisor")
    nc = raise_nc(lead, make_area("Assembly", supervisor))
    log_in(client, supervisor)
    url = f"/nc/{nc.id}"
    refused = client.post(f"{url}/cause", data={"why": ["Printer broke"], "category": "machine", "op": "save"})
    assert refused.status_code == 409 and b"Record the containment or correction first" in refused.data
    assert b">Printer broke</textarea>" in refused.data  # what was typed comes back
    refused = client.post(
        f"{url}/actions", data={"description": "Fix", "owner_id": supervisor.id, "due_date": "2026-12-31"}
    )
    assert refused.status_code == 409 and b"Identify the root cause before planning actions" in refused.data
    assert client.post(f"{url}/contain", data={"containment": ""}).status_code == 422
    assert client.post(f"{url}/contain", data={"containment": "Quarantined rack B"}).status_code == 302
    missing = client.post(f"{url}/cause", data={"why": ["Printer broke"], "category": "", "op": "save"})
    assert missing.status_code == 422 and b"Choose the cause category." in missing.data
    assert (
        client.post(
            f"{url}/cause", data={"why": ["Printer broke", "No spare"], "category": "machine", "op": "save"}
        ).status_code
        == 302
    )
    no_owner = client.post(f"{url}/actions", data={"description": "Buy a spare", "owner_id": "", "due_date": ""})
    assert no_owner.status_code == 422 and b"Choose who owns the action." in no_owner.data
    assert (
        client.post(
            f"{url}/actions", data={"description": "Buy a spare", "owner_id": supervisor.id, "due_date": "2026-12-31"}
        ).status_code
        == 302
    )
    db.session.refresh(nc)
    assert nc.status == "actions_planned" and nc.why_steps == ["Printer broke", "No spare"]
    statuses = [e.changes["status"][1] for e in capa.timeline(nc) if "status" in e.changes]
    assert statuses == ["contained", "cause_identified", "actions_planned"]


def test_five_whys_editor_adds_moves_and_removes(client, make_user):
    lead = make_user("quality_lead")
    nc = raise_nc(lead)
    log_in(client, lead)
    capa.record_containment(lead, nc, "Stopped the line")
    db.session.commit()
    url = f"/nc/{nc.id}/cause"
    client.post(url, data={"why": ["A", "B"], "category": "method", "op": "add"})
    assert db.session.get(Nonconformity, nc.id).why_steps == ["A", "B", ""]
    client.post(url, data={"why": ["A", "B", "C"], "category": "method", "op": "up:2"})
    assert ncs()[0].why_steps == ["A", "C", "B"]
    client.post(url, data={"why": ["A", "C", "B"], "category": "method", "op": "down:0"})
    assert ncs()[0].why_steps == ["C", "A", "B"]
    page = client.post(url, data={"why": ["C", "A", "B"], "category": "method", "op": "remove:1"})
    assert ncs()[0].why_steps == ["C", "B"] and ncs()[0].status == "contained"
    assert page.status_code == 200 and b'aria-label="Move why 2 down" disabled' in page.data


def test_default_due_dates_follow_severity(app, make_user):
    lead = make_user("quality_lead")
    major, minor = raise_nc(lead, severity="major"), raise_nc(lead, severity="minor")
    today = date(2026, 1, 1)
    assert capa.default_due_date(major, today) == date(2026, 1, 31)
    assert capa.default_due_date(minor, today) == date(2026, 4, 1)
    app.config["CAPA_DUE_DAYS"] = {"major": 7, "minor": 14}
    assert capa.default_due_date(major, today) == date(2026, 1, 8)


def test_a_double_submitted_action_is_planned_once(client, make_user):
    lead = make_user("quality_lead")
    nc = raise_nc(lead)
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["Why"], "people")
    db.session.commit()
    log_in(client, lead)
    page = client.get(f"/nc/{nc.id}").get_data(as_text=True)
    assert 'name="change_id" value="' in page
    form = {"description": "Train", "owner_id": lead.id, "due_date": "2026-12-31", "change_id": "double-submit-0001"}
    first = client.post(f"/nc/{nc.id}/actions", data=form)
    second = client.post(f"/nc/{nc.id}/actions", data=form)
    assert first.status_code == second.status_code == 302 and second.headers["X-Change-Replayed"] == "true"
    assert db.session.scalar(db.select(db.func.count(CorrectiveAction.id))) == 1


def test_only_the_owner_completes_an_action_and_the_last_one_moves_the_nc(client, make_user):
    lead, supervisor, other = make_user("quality_lead"), make_user("supervisor"), make_user("supervisor")
    nc = raise_nc(lead, make_area("Assembly", supervisor))
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["Why"], "people")
    first = capa.add_action(lead, nc, "Train", supervisor.id, date.today())
    second = capa.add_action(lead, nc, "Update the work instruction", supervisor.id, date.today())
    db.session.commit()
    log_in(client, other)
    assert client.post(f"/nc/actions/{first.id}/complete", data={"note": "done"}, headers=HX).status_code == 404
    client.post("/logout")
    log_in(client, supervisor)
    empty = client.post(f"/nc/actions/{first.id}/complete", data={"note": ""}, headers=HX)
    # A missing input is a 422 (RuleError) like every form's; a refused step in the workflow is a 409.
    assert empty.status_code == 422 and b"the completion note is the record" in empty.data
    done = client.post(f"/nc/actions/{first.id}/complete", data={"note": "Trained 6 operators"}, headers=HX)
    assert done.status_code == 200 and b"Done" in done.data and done.get_data(as_text=True).lstrip().startswith("<li")
    assert ncs()[0].status == "actions_planned"
    client.post(f"/nc/actions/{second.id}/complete", data={"note": "WI-12 rev C issued"}, headers=HX)
    assert ncs()[0].status == "actions_done"


def test_verification_is_impartial_and_not_effective_returns_to_cause_analysis(client, make_user):
    lead, other_lead = make_user("quality_lead"), make_user("quality_lead")
    nc = raise_nc(lead)
    advance_to_actions_done(lead, nc, owner=lead)
    log_in(client, lead)
    data = {"result": "effective", "evidence": "No label defects in 4 weeks", "verified_on": "2026-12-01"}
    refused = client.post(f"/nc/{nc.id}/verify", data=data)
    assert refused.status_code == 409 and b"another quality lead must verify it" in refused.data
    client.post("/logout")
    log_in(client, other_lead)
    assert (
        client.post(
            f"/nc/{nc.id}/verify", data={**data, "result": "not_effective", "evidence": "Defects found again"}
        ).status_code
        == 302
    )
    nc = ncs()[0]
    assert nc.status == "contained" and nc.verification_result == "not_effective" and nc.verification_count == 1


def test_verify_requires_every_action_done(client, make_user):
    lead, supervisor = make_user("quality_lead"), make_user("supervisor")
    nc = raise_nc(lead)
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["Why"], "people")
    capa.add_action(lead, nc, "Train", supervisor.id, date.today())
    db.session.commit()
    log_in(client, make_user("quality_lead"))
    refused = client.post(
        f"/nc/{nc.id}/verify", data={"result": "effective", "evidence": "x", "verified_on": "2026-12-01"}
    )
    assert refused.status_code == 409 and b"Every corrective action must be done" in refused.data


def test_actions_cannot_be_added_after_verification_and_close_needs_all_done(app, make_user):
    lead, verifier = make_user("quality_lead"), make_user("quality_lead")
    nc = raise_nc(lead)
    advance_to_actions_done(lead, nc, owner=lead)
    capa.verify(verifier, nc, True, "ok", date.today())
    with pytest.raises(Conflict, match="verified effective"):
        capa.add_action(lead, nc, "One more", lead.id, date.today())
    db.session.rollback()


def test_close_makes_it_read_only_until_a_quality_lead_reopens_it(client, make_user):
    lead, verifier, supervisor = make_user("quality_lead"), make_user("quality_lead"), make_user("supervisor")
    nc = raise_nc(lead, make_area("Assembly", supervisor))
    advance_to_actions_done(lead, nc, owner=supervisor)
    log_in(client, verifier)
    client.post(
        f"/nc/{nc.id}/verify",
        data={"result": "effective", "evidence": "Clean for 4 weeks", "verified_on": "2026-12-01"},
    )
    assert client.post(f"/nc/{nc.id}/close").status_code == 302
    assert ncs()[0].status == "closed" and ncs()[0].closed_at is not None
    client.post("/logout")
    log_in(client, supervisor)
    refused = client.post(f"/nc/{nc.id}/contain", data={"containment": "Edited later"})
    assert refused.status_code == 409 and b"a quality lead can reopen it" in refused.data
    assert client.post(f"/nc/{nc.id}/reopen", data={"reason": "It came back"}).status_code == 403
    client.post("/logout")
    log_in(client, verifier)
    assert client.post(f"/nc/{nc.id}/reopen", data={"reason": ""}).status_code == 422
    assert client.post(f"/nc/{nc.id}/reopen", data={"reason": "Recurred on 3 Dec"}).status_code == 302
    assert ncs()[0].status == "contained"


def test_a_closed_nonconformity_cannot_be_rewritten_even_by_sql(app, make_user):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    lead, verifier = make_user("quality_lead"), make_user("quality_lead")
    nc = raise_nc(lead)
    action = advance_to_actions_done(lead, nc, owner=lead)
    capa.verify(verifier, nc, True, "ok", date.today())
    capa.close(verifier, nc)
    db.session.commit()
    for statement in (
        f"UPDATE nonconformities SET description = 'rewritten' WHERE id = {nc.id}",
        f"DELETE FROM nonconformities WHERE id = {nc.id}",
        f"UPDATE corrective_actions SET completion_note = 'x' WHERE id = {action.id}",
    ):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        db.session.rollback()


def test_manual_withdraw_with_reason_but_not_for_audit_findings(client, plan, make_user):
    lead = make_user("quality_lead")
    nc = raise_nc(lead)
    log_in(client, lead)
    assert client.post(f"/nc/{nc.id}/withdraw", data={"reason": "Duplicate of NC-2026-0003"}).status_code == 302
    assert ncs()[0].status == "withdrawn" and ncs()[0].withdrawn_reason == "Duplicate of NC-2026-0003"


def test_withdrawing_cancels_open_actions_and_they_leave_my_actions(client, make_user):
    lead, supervisor = make_user("quality_lead"), make_user("supervisor")
    nc = raise_nc(lead)
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["Why"], "people")
    capa.add_action(lead, nc, "Train the team", supervisor.id, date.today() - timedelta(days=1))
    capa.withdraw(lead, nc, "Raised twice")
    db.session.commit()
    assert db.session.scalar(db.select(CorrectiveAction)).status == "cancelled"
    log_in(client, supervisor)
    assert b"Train the team" not in client.get("/nc/actions/mine").data


# --- who may see and do what -------------------------------------------------------------------


def test_permissions_by_role_and_area(client, plan, make_user):
    lead = make_user("quality_lead")
    owner, stranger = make_user("supervisor"), make_user("supervisor")
    auditor = make_user("auditor")
    area = make_area("Assembly", owner)
    audit = plan(lead=auditor, area=area)
    log_in(client, auditor)
    item = items_of(audit)["8.5.2-traceability"]
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    [nc] = ncs()
    manual = raise_nc(lead, make_area("Paint"))
    # The auditor sees the NC of their audit but cannot work it; others' NCs are not found.
    assert client.get(f"/nc/{nc.id}").status_code == 200
    assert client.post(f"/nc/{nc.id}/contain", data={"containment": "x"}).status_code == 403
    assert client.get(f"/nc/{manual.id}").status_code == 404
    client.post("/logout")
    log_in(client, stranger)
    assert client.get(f"/nc/{nc.id}").status_code == 404
    assert client.post(f"/nc/{nc.id}/contain", data={"containment": "x"}).status_code == 404
    assert nc.number not in client.get("/nc/").get_data(as_text=True)
    client.post("/logout")
    log_in(client, owner)
    assert client.post(f"/nc/{nc.id}/contain", data={"containment": "Held the batch"}).status_code == 302
    assert (
        client.post(
            f"/nc/{nc.id}/verify", data={"result": "effective", "evidence": "x", "verified_on": "2026-12-01"}
        ).status_code
        == 403
    )


# --- My actions --------------------------------------------------------------------------------


def test_my_actions_lists_mine_overdue_first(client, make_user):
    lead, supervisor = make_user("quality_lead"), make_user("supervisor")
    nc = raise_nc(lead)
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["Why"], "people")
    capa.add_action(lead, nc, "Later action", supervisor.id, date.today() + timedelta(days=20))
    capa.add_action(lead, nc, "Late action", supervisor.id, date.today() - timedelta(days=2))
    capa.add_action(lead, nc, "Someone else's", lead.id, date.today())
    db.session.commit()
    log_in(client, supervisor)
    html = client.get("/nc/actions/mine").get_data(as_text=True)
    assert html.index("Late action") < html.index("Later action") and "Someone else" not in html
    assert "overdue" in html.split("Late action")[1].split("</li>")[0]


def test_my_actions_empty_state(client, login):
    login("supervisor")
    assert b"Nothing to do" in client.get("/nc/actions/mine").data


def test_manual_nc_keeps_its_photos_and_refuses_a_bad_one_whole(app, client, login):
    from io import BytesIO

    from PIL import Image

    from auditapp.photos.models import Photo

    login("quality_lead")
    good = BytesIO()
    Image.new("RGB", (640, 480), (200, 0, 0)).save(good, "JPEG")
    form = {"source": "customer_complaint", "clause": "8.2.1", "severity": "minor", "description": "Scratched lids"}
    bad = client.post(
        "/nc/new",
        content_type="multipart/form-data",
        data={**form, "photo": [(BytesIO(good.getvalue()), "a.jpg"), (BytesIO(b"not an image"), "b.jpg")]},
    )
    assert bad.status_code == 422 and b"Nothing was saved" in bad.data and b"Scratched lids" in bad.data
    assert ncs() == [] and db.session.scalar(db.select(db.func.count(Photo.id))) == 0
    ok = client.post(
        "/nc/new", content_type="multipart/form-data", data={**form, "photo": [(BytesIO(good.getvalue()), "a.jpg")]}
    )
    assert ok.status_code == 302
    [nc] = ncs()
    photo = db.session.scalar(db.select(Photo))
    assert photo.nonconformity_id == nc.id and photo.audit_id is None
    assert f"/photos/{photo.id}" in client.get(f"/nc/{nc.id}").get_data(as_text=True)
    served = client.get(f"/photos/{photo.id}?size=thumb")
    assert served.status_code == 200
    served.close()


def test_manual_nc_photos_obey_the_per_request_limit_and_are_stored_before_the_change_lock(app, client, login):
    from io import BytesIO
    from pathlib import Path

    import sqlalchemy
    from PIL import Image

    from auditapp.photos.models import Photo

    login("quality_lead")
    photos = []
    for n in range(11):
        out = BytesIO()
        Image.new("RGB", (40, 30), (n * 20, 0, 0)).save(out, "JPEG")
        photos.append(out.getvalue())
    form = {"source": "customer_complaint", "clause": "8.2.1", "severity": "minor", "description": "Scratched lids"}
    refused = client.post(
        "/nc/new",
        content_type="multipart/form-data",
        data={**form, "photo": [(BytesIO(p), f"{n}.jpg") for n, p in enumerate(photos)]},
    )
    assert refused.status_code == 413 and b"at most 10 can be added in one go" in refused.data
    assert ncs() == [] and db.session.scalar(db.select(db.func.count(Photo.id))) == 0
    folder = Path(app.config["PHOTO_DIR"])
    files_when_locked = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE EVENT_CHAIN_HEAD") and not files_when_locked:
            files_when_locked.append(len(list(folder.rglob("*.jpg"))) if folder.exists() else 0)

    sqlalchemy.event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        ok = client.post(
            "/nc/new",
            content_type="multipart/form-data",
            data={**form, "photo": [(BytesIO(p), f"{n}.jpg") for n, p in enumerate(photos[:2])]},
        )
    finally:
        sqlalchemy.event.remove(db.engine, "before_cursor_execute", on_execute)
    assert ok.status_code == 302
    assert files_when_locked == [4]  # two photos and their thumbnails before the first lock
