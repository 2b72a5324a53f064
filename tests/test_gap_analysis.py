"""Gap analysis: an audit run before the first certification lists what is missing, clause by clause,
and turns the gaps into tracked actions. Checked against data built in each test."""

import re
from datetime import date, timedelta

import pytest

from auditapp.audits import services as audits
from auditapp.audits.models import Audit
from auditapp.capa import services as capa
from auditapp.capa.models import CorrectiveAction, Nonconformity
from auditapp.checklists import services as checklists
from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.findings.models import Finding
from auditapp.improvements.models import Improvement
from auditapp.review.pack import audit_figures

from .support.accounts import log_in, make_area
from .support.audits import HX, answer, items_of
from .support.findings import NC_TEXT, finding_of, post_finding

GAP = {
    "statement": "No calibration procedure; gauges are not listed anywhere.",
    "requirement": "",
    "evidence": "",
    "gap_category": "documents",
}


@pytest.fixture
def plan_gap(app, walk, make_user):
    """plan_gap(lead=..., team=[...], area=None, checklist=walk) -> a planned gap analysis."""
    planner = make_user("quality_lead", name="Gap Planner")

    def make(lead=None, team=(), area=None, checklist=None):
        lead = lead or make_user("auditor")
        audit = audits.plan_audit(
            planner,
            checklist_id=(checklist or walk).id,
            title="Readiness gap analysis",
            planned_date=date.today(),
            lead_auditor_id=lead.id,
            team_ids=[m.id for m in team],
            area_id=area.id if area else None,
            kind="gap_analysis",
        )
        db.session.commit()
        return audit

    return make


def write_gap(client, audit, item, result, **fields):
    """Answer an item Partly in place / Missing and write its gap; returns the finding."""
    assert answer(client, audit, item, result).status_code == 200
    response = post_finding(client, audit, item, {**GAP, **fields})
    assert response.status_code == 200, response.data
    return finding_of(audit, item)


def adhoc_gap(client, audit, clause, grade, category, statement):
    response = client.post(
        f"/audits/{audit.id}/findings",
        headers=HX,
        data={"clause": clause, "grade": grade, "gap_category": category, "statement": statement},
    )
    assert response.status_code == 200, response.data
    return db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id, clause=clause, item_id=None))


def statuses(html) -> dict[str, str]:
    return dict(re.findall(r'id="clause-([\d.]+|other)" data-status="(\w+)"', html))


def count(model, **filters) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**filters))


# --- planning and labels -----------------------------------------------------------------------


def test_audit_type_is_chosen_when_planning_and_shown_everywhere(client, login, walk, make_user):
    login("quality_lead")
    form = client.get("/audits/new").get_data(as_text=True)
    assert "Audit type" in form and '<option value="gap_analysis"' in form
    lead = make_user("auditor")
    data = {
        "checklist_id": walk.id,
        "title": "Before certification",
        "planned_date": "2026-12-03",
        "lead_auditor_id": lead.id,
    }
    refused = client.post("/audits/new", data={**data, "kind": "certification"})
    assert refused.status_code == 422 and b"Choose internal audit or gap analysis." in refused.data
    assert b"Before certification" in refused.data
    assert client.post("/audits/new", data={**data, "kind": "gap_analysis"}).status_code == 302
    assert client.post("/audits/new", data={**data, "title": "Plain"}).status_code == 302  # internal by default
    gap, internal = db.session.scalars(db.select(Audit).order_by(Audit.id)).all()
    assert (gap.kind, internal.kind) == ("gap_analysis", "internal")
    planned = db.session.scalar(
        db.select(Event).filter_by(entity_type="audit", action="planned", entity_id=str(gap.id))
    )
    assert planned.changes["kind"] == "gap_analysis"
    screen = client.get(f"/audits/{gap.id}").get_data(as_text=True)
    assert 'id="audit-kind">Gap analysis<' in screen and f"/audits/{gap.id}/gaps" in screen
    assert 'id="audit-kind">Internal audit<' in client.get(f"/audits/{internal.id}").get_data(as_text=True)
    assert client.get("/audits/").get_data(as_text=True).count("badge-kind-gap_analysis") == 1
    report = client.get(f"/audits/{gap.id}/report").get_data(as_text=True)
    assert f"Gap analysis report {gap.number}" in report and f"/audits/{gap.id}/gaps" in report
    assert f"Internal audit report {internal.number}" in client.get(f"/audits/{internal.id}/report").get_data(
        as_text=True
    )


def test_answers_use_gap_analysis_words_with_the_same_result_codes(client, plan_gap, plan, make_user):
    lead = make_user("auditor")
    gap, internal = plan_gap(lead=lead), plan(lead=lead)
    log_in(client, lead)
    html = client.get(f"/audits/{gap.id}").get_data(as_text=True)
    for code, label in [
        ("conform", "In place"),
        ("minor_nc", "Partly in place"),
        ("major_nc", "Missing"),
        ("na", "Not applicable"),
        ("observation", "Observation"),
        ("ofi", "OFI"),
    ]:
        assert f'<button name="result" value="{code}">{label}</button>' in html
    assert ">Conform</button>" not in html and ">Minor NC</button>" not in html
    assert ">Conform</button>" in client.get(f"/audits/{internal.id}").get_data(as_text=True)
    item = items_of(gap)["8.5.2-traceability"]
    fragment = answer(client, gap, item, "major_nc").get_data(as_text=True)
    assert "Gap: Missing" in fragment
    assert db.session.scalar(db.select(Audit.kind).filter_by(id=gap.id)) == "gap_analysis"
    history = client.get(f"/audits/{gap.id}/items/{item.id}/history").get_data(as_text=True)
    assert "<ins>Missing</ins>" in history


# --- gap findings ------------------------------------------------------------------------------


def test_a_gap_says_what_is_missing_and_its_category(client, plan_gap, make_user):
    lead = make_user("auditor")
    audit = plan_gap(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    opened = answer(client, audit, item, "minor_nc").get_data(as_text=True)
    assert "Gap: Partly in place" in opened and "What is missing" in opened and 'name="gap_category"' in opened
    assert 'name="why_major"' not in opened and "What was seen (optional)" in opened
    empty = post_finding(client, audit, item, {"statement": "", "gap_category": ""})
    html = empty.get_data(as_text=True)
    assert (
        empty.status_code == 422 and "Say what is missing" in html and "Choose what kind of thing is missing." in html
    )
    typed = post_finding(client, audit, item, {"statement": "No traveller on the parts", "gap_category": ""})
    html = typed.get_data(as_text=True)
    assert typed.status_code == 422 and ">No traveller on the parts</textarea>" in html
    assert html.startswith("<li") and finding_of(audit, item) is None
    bad = post_finding(client, audit, item, {"statement": "x", "gap_category": "software"})
    assert bad.status_code == 422 and b"Choose documents, records, responsibilities or controls." in bad.data
    ok = post_finding(client, audit, item, {"statement": "No traveller on the parts", "gap_category": "records"})
    assert ok.status_code == 200 and "Gap (Partly in place · Records):" in ok.get_data(as_text=True)
    finding = finding_of(audit, item)
    assert (finding.gap_category, finding.evidence, finding.grade) == ("records", "", "minor_nc")
    created = db.session.scalar(db.select(Event).filter_by(entity_type="finding", action="created"))
    assert created.changes["gap_category"] == [None, "records"]
    answer(client, audit, item, "major_nc")  # Missing after all: the gap stays, regraded
    assert finding_of(audit, item).grade == "major_nc" and finding_of(audit, item).gap_category == "records"


def test_adhoc_gap_needs_a_category_too(client, plan_gap, make_user):
    lead = make_user("auditor")
    audit = plan_gap(lead=lead)
    log_in(client, lead)
    refused = client.post(
        f"/audits/{audit.id}/findings",
        headers=HX,
        data={"clause": "5.3", "grade": "major_nc", "statement": "Nobody is named for the QMS."},
    )
    assert refused.status_code == 422 and b"Choose what kind of thing is missing." in refused.data
    assert b"Nobody is named for the QMS." in refused.data
    finding = adhoc_gap(client, audit, "5.3", "major_nc", "responsibilities", "Nobody is named for the QMS.")
    assert finding.gap_category == "responsibilities" and finding.evidence == ""


def test_gaps_raise_no_nonconformity_and_enter_no_register(client, plan_gap, make_user):
    lead = make_user("auditor")
    audit = plan_gap(lead=lead)
    log_in(client, lead)
    items = items_of(audit)
    write_gap(client, audit, items["7.1.5-gauges"], "major_nc")  # photo required on NC: not for a gap
    write_gap(client, audit, items["8.5.2-traceability"], "minor_nc", gap_category="controls")
    answer(client, audit, items["7.2-training"], "ofi")
    assert (
        post_finding(client, audit, items["7.2-training"], {"statement": "A skills matrix would help."}).status_code
        == 200
    )
    adhoc_gap(client, audit, "9.2", "major_nc", "controls", "No internal audit programme.")
    assert count(Nonconformity) == 0 and count(Improvement) == 0
    assert db.session.scalar(db.select(Event).filter_by(entity_type="nonconformity")) is None
    done = client.post(
        f"/audits/{audit.id}/complete", data={"conclusion": "Ready in 6 months.", "confirm_unanswered": "on"}
    )
    assert done.status_code == 302  # a gap needs neither objective evidence nor a photo
    assert count(Nonconformity) == 0 and count(Improvement) == 0


def test_internal_audit_still_raises_nonconformities(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    items = items_of(audit)
    answer(client, audit, items["8.5.2-traceability"], "minor_nc")
    assert (
        post_finding(
            client, audit, items["8.5.2-traceability"], {"statement": "x", "gap_category": "documents"}
        ).status_code
        == 422
    )  # an internal audit still wants objective evidence
    assert (
        post_finding(client, audit, items["8.5.2-traceability"], {**NC_TEXT, "gap_category": "documents"}).status_code
        == 200
    )
    answer(client, audit, items["7.2-training"], "ofi")
    post_finding(client, audit, items["7.2-training"], {"statement": "A skills matrix would help."})
    nc = db.session.scalar(db.select(Nonconformity))
    assert nc.severity == "minor" and nc.finding.gap_category is None
    assert count(Improvement) == 1


# --- the report --------------------------------------------------------------------------------


def build_gap_analysis(client, plan_gap, make_user, area=None, team=()):
    """4.4 partly (ad hoc), 7.1.5 in place, 7.2 partly, 8.5.2 missing, 8.5.4 partly (in place + ad-hoc
    missing), 8.7 not applicable; every other clause not assessed."""
    lead = make_user("auditor", name="Lead Auditor")
    audit = plan_gap(lead=lead, area=area, team=team)
    log_in(client, lead)
    items = items_of(audit)
    answer(client, audit, items["7.1.5-gauges"], "conform")
    gaps = {
        "7.2": write_gap(
            client,
            audit,
            items["7.2-training"],
            "minor_nc",
            gap_category="records",
            statement="Training is given but not recorded.",
        ),
        "8.5.2": write_gap(
            client, audit, items["8.5.2-traceability"], "major_nc", statement="Parts carry no work order reference."
        ),
    }
    answer(client, audit, items["8.5.4-storage"], "conform")
    answer(client, audit, items["8.7-segregation"], "na")
    gaps["8.5.4"] = adhoc_gap(client, audit, "8.5.4", "major_nc", "controls", "No shelf-life control for resin.")
    gaps["4.4"] = adhoc_gap(
        client, audit, "4.4.1", "minor_nc", "documents", "Process map lacks the outsourced heat treatment."
    )
    client.post("/logout")
    return audit, lead, gaps


def test_gap_report_lists_each_clause_with_its_status_and_gaps(client, plan_gap, make_user):
    audit, _, gaps = build_gap_analysis(client, plan_gap, make_user)
    log_in(client, make_user("quality_lead"))
    html = client.get(f"/audits/{audit.id}/gaps").get_data(as_text=True)
    found = statuses(html)
    assert len(found) == 54
    assert {c: s for c, s in found.items() if s != "not_assessed"} == {
        "4.4": "partly",
        "7.1.5": "in_place",
        "7.2": "partly",
        "8.5.2": "missing",
        "8.5.4": "partly",
        "8.7": "not_applicable",
    }
    assert list(found)[:4] == ["4.1", "4.2", "4.3", "4.4"]  # 4.1 ... 10.3 order
    section = html.split('id="clause-8.5.4"')[1].split("</section>")[0]
    assert "No shelf-life control for resin." in section and "Controls" in section
    assert "Parts carry no work order reference." in html.split('id="clause-8.5.2"')[1].split("</section>")[0]
    assert "Process map lacks the outsourced heat treatment." in html.split('id="clause-4.4"')[1].split("</section>")[0]
    assert f'id="gap-{gaps["7.2"].id}"' in html.split('id="clause-7.2"')[1].split("</section>")[0]
    summary = dict(re.findall(r'<dd id="((?:sum|cat)-\w+)">([^<]+)</dd>', html))
    assert summary == {
        "sum-assessed": "6 of 54",
        "sum-in_place": "1",
        "sum-partly": "3",
        "sum-missing": "1",
        "sum-not_applicable": "1",
        "sum-gaps": "4",
        "sum-without_action": "4",
        "cat-documents": "2",
        "cat-records": "1",
        "cat-responsibilities": "0",
        "cat-controls": "1",
    }
    assert "No action planned yet." in html and "Plan every gap without an action (4)" in html


def test_gap_report_is_for_whoever_may_view_the_audit(client, plan_gap, plan, make_user):
    owner = make_user("supervisor")
    member = make_user("auditor")
    audit, lead, gaps = build_gap_analysis(
        client, plan_gap, make_user, area=make_area("Moulding", owner), team=[member]
    )
    url = f"/audits/{audit.id}/gaps"
    for user, status, form in [
        (owner, 200, False),
        (member, 200, False),
        (lead, 200, True),
        (make_user("admin"), 200, False),
        (make_user("auditor"), 404, False),
    ]:
        log_in(client, user)
        response = client.get(url)
        assert response.status_code == status, user.role
        assert ("Plan an action for this gap" in response.get_data(as_text=True)) is form
        client.post("/logout")
    assert client.get(url).status_code == 302  # login first
    internal = plan()
    log_in(client, make_user("quality_lead"))
    assert client.get(f"/audits/{internal.id}/gaps").status_code == 404


def test_gap_report_is_printable(client, plan_gap, make_user):
    audit, lead, _ = build_gap_analysis(client, plan_gap, make_user)
    log_in(client, lead)
    html = client.get(f"/audits/{audit.id}/gaps").get_data(as_text=True)
    assert '<article class="report gap-report">' in html and 'class="no-print gap-form"' in html
    assert "<style" not in html and "<script>" not in html and " style=" not in html


# --- the action plan ---------------------------------------------------------------------------


def test_one_gap_turns_into_a_tracked_action(client, plan_gap, make_user):
    audit, _, gaps = build_gap_analysis(client, plan_gap, make_user)
    quality, owner = make_user("quality_lead"), make_user("supervisor", name="Sam Supervisor")
    log_in(client, quality)
    gap = gaps["8.5.2"]
    url = f"/audits/{audit.id}/gaps/{gap.id}"
    page = client.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True) and "Vary" in page.headers
    fragment = client.get(url, headers=HX).get_data(as_text=True)
    assert fragment.startswith(f'<div class="gap gap-major_nc" id="gap-{gap.id}">') and "<html" not in fragment
    typed = {"description": "Print the work order on every traveller", "owner_id": "", "due_date": ""}
    refused = client.post(f"{url}/actions", data=typed, headers=HX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and html.startswith('<div class="gap')
    assert "Choose who owns the action." in html and "Choose the due date." in html
    assert ">Print the work order on every traveller</textarea>" in html and count(CorrectiveAction) == 0
    due = date.today() + timedelta(days=60)
    ok = client.post(f"{url}/actions", data={**typed, "owner_id": owner.id, "due_date": due.isoformat()}, headers=HX)
    html = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "gap:action-planned" in ok.headers["HX-Trigger"]
    assert "Print the work order on every traveller" in html and "Sam Supervisor" in html
    assert '<span class="action-state">Open</span>' in html
    action = db.session.scalar(db.select(CorrectiveAction))
    assert (action.origin, action.finding_id, action.nonconformity_id, action.owner_id, action.due_date) == (
        "gap_analysis",
        gap.id,
        None,
        owner.id,
        due,
    )
    event = db.session.scalar(db.select(Event).filter_by(entity_type="corrective_action", action="planned"))
    assert event.changes["origin"] == "gap_analysis" and event.changes["finding_id"] == gap.id
    assert event.actor_id == quality.id
    # Without JavaScript: the page comes back, or a redirect to the gap in the report.
    plain_refused = client.post(f"{url}/actions", data={"description": "", "owner_id": owner.id, "due_date": "soon"})
    assert (
        plain_refused.status_code == 422
        and b"<html" in plain_refused.data
        and b"Enter a date like" in plain_refused.data
    )
    plain = client.post(
        f"{url}/actions", data={"description": "Train the packers", "owner_id": owner.id, "due_date": due.isoformat()}
    )
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/audits/{audit.id}/gaps#gap-{gap.id}")
    assert count(CorrectiveAction, finding_id=gap.id) == 2


def test_only_quality_leads_and_the_lead_auditor_plan_gap_actions(client, plan_gap, make_user):
    owner = make_user("supervisor")
    member = make_user("auditor")
    audit, lead, gaps = build_gap_analysis(
        client, plan_gap, make_user, area=make_area("Moulding", owner), team=[member]
    )
    url = f"/audits/{audit.id}/gaps/{gaps['7.2'].id}/actions"
    bulk = f"/audits/{audit.id}/gaps/plan-every-gap"
    data = {"description": "Keep training records", "owner_id": owner.id, "due_date": "2030-01-31"}
    for user, status in [(member, 403), (owner, 403), (make_user("admin"), 403), (make_user("auditor"), 404)]:
        log_in(client, user)
        assert client.post(url, data=data, headers=HX).status_code == status, user.role
        assert client.get(bulk).status_code == status
        assert client.post(bulk, data={**data, "confirm": "yes"}).status_code == status
        client.post("/logout")
    assert count(CorrectiveAction) == 0
    log_in(client, lead)
    assert client.post(url, data=data, headers=HX).status_code == 200
    assert client.post(f"/audits/{audit.id}/gaps/not-a-finding/actions", data=data).status_code == 404
    assert count(CorrectiveAction) == 1


def test_every_gap_without_an_action_planned_at_once_after_confirmation(client, plan_gap, make_user):
    audit, lead, gaps = build_gap_analysis(client, plan_gap, make_user)
    owner = make_user("supervisor", name="Pat Owner")
    log_in(client, lead)
    due = date.today() + timedelta(days=90)
    client.post(
        f"/audits/{audit.id}/gaps/{gaps['4.4'].id}/actions",
        data={"description": "Redraw the process map", "owner_id": owner.id, "due_date": due.isoformat()},
    )
    url = f"/audits/{audit.id}/gaps/plan-every-gap"
    form = client.get(url).get_data(as_text=True)
    assert "3 gaps have no action yet" in form and "Process map lacks" not in form
    refused = client.post(url, data={"owner_id": "", "due_date": due.isoformat()})
    assert refused.status_code == 422 and b"Choose who owns the action." in refused.data
    assert f'value="{due.isoformat()}"'.encode() in refused.data
    confirm = client.post(url, data={"owner_id": owner.id, "due_date": due.isoformat()})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and count(CorrectiveAction) == 1  # nothing planned before confirming
    assert (
        "3 actions will be planned, owned by" in html and "Pat Owner" in html and 'name="confirm" value="yes"' in html
    )
    done = client.post(
        url, data={"owner_id": owner.id, "due_date": due.isoformat(), "confirm": "yes", "change_id": "bulk-change-0001"}
    )
    assert done.status_code == 302
    planned = db.session.scalars(db.select(CorrectiveAction).order_by(CorrectiveAction.id)).all()[1:]
    assert {a.finding_id for a in planned} == {gaps[c].id for c in ("7.2", "8.5.2", "8.5.4")}
    assert all(a.owner_id == owner.id and a.due_date == due and a.origin == "gap_analysis" for a in planned)
    assert "Close the gap at 8.5.2: Parts carry no work order reference." in {a.description for a in planned}
    bulk_event = db.session.scalar(db.select(Event).filter_by(entity_type="audit", action="gap_actions_planned"))
    assert sorted(bulk_event.changes["actions"]) == sorted(a.id for a in planned)
    replay = client.post(
        url, data={"owner_id": owner.id, "due_date": due.isoformat(), "confirm": "yes", "change_id": "bulk-change-0001"}
    )
    assert replay.headers.get("X-Change-Replayed") == "true" and count(CorrectiveAction) == 4
    again = client.post(url, data={"owner_id": owner.id, "due_date": due.isoformat(), "confirm": "yes"})
    assert again.status_code == 409 and b"Every gap already has an action." in again.data
    report = client.get(f"/audits/{audit.id}/gaps").get_data(as_text=True)
    assert '<dd id="sum-without_action">0</dd>' in report and "Plan every gap without an action" not in report


def test_gap_actions_are_in_the_action_log_and_my_actions_and_completable(client, plan_gap, make_user):
    audit, _, gaps = build_gap_analysis(client, plan_gap, make_user)
    quality, owner = make_user("quality_lead"), make_user("supervisor")
    today = date.today()
    done_action = capa.plan_tracked_action(
        quality, "gap_analysis", "Record training", owner.id, today + timedelta(days=30), finding_id=gaps["7.2"].id
    )
    late = capa.plan_tracked_action(
        quality,
        "gap_analysis",
        "Write the traceability procedure",
        owner.id,
        today - timedelta(days=1),
        finding_id=gaps["8.5.2"].id,
    )
    still_open = capa.plan_tracked_action(
        quality, "gap_analysis", "Shelf-life labels", owner.id, today + timedelta(days=10), finding_id=gaps["8.5.4"].id
    )
    db.session.commit()
    log_in(client, quality)
    log_page = client.get("/nc/actions?origin=gap_analysis&state=all").get_data(as_text=True)
    assert "3 actions" in log_page and "Write the traceability procedure" in log_page
    assert f"/audits/{audit.id}/gaps#gap-{gaps['8.5.2'].id}" in log_page
    assert "3 actions" not in client.get("/nc/actions?origin=management_review&state=all").get_data(as_text=True)
    client.post("/logout")
    log_in(client, owner)
    mine = client.get("/nc/actions/mine").get_data(as_text=True)
    assert all(f'id="action-{a.id}"' in mine for a in (done_action, late, still_open))
    assert mine.index(f'id="action-{late.id}"') < mine.index(f'id="action-{still_open.id}"')  # overdue first
    completed = client.post(
        f"/nc/actions/{done_action.id}/complete", data={"note": "Records kept in HR folder."}, headers=HX
    )
    assert completed.status_code == 200 and b"Records kept in HR folder." in completed.data
    db.session.refresh(done_action)
    assert done_action.is_done
    assert (
        db.session.scalar(db.select(Event).filter_by(entity_type="corrective_action", action="completed")).changes[
            "origin"
        ]
        == "gap_analysis"
    )
    assert f'id="action-{done_action.id}"' not in client.get("/nc/actions/mine").get_data(as_text=True)
    report = client.get(f"/audits/{audit.id}/gaps")  # the owner is no audit member: may not view it
    assert report.status_code == 404
    client.post("/logout")
    log_in(client, quality)
    html = client.get(f"/audits/{audit.id}/gaps").get_data(as_text=True)
    state = dict(re.findall(r'id="gap-action-(\d+)">.*?<span class="action-state">(\w+)</span>', html, re.S))
    assert state == {str(done_action.id): "Done", str(late.id): "Overdue", str(still_open.id): "Open"}
    assert "Records kept in HR folder." in html


def test_a_gap_found_in_place_after_all_cancels_its_open_actions(client, plan_gap, make_user):
    audit, lead, gaps = build_gap_analysis(client, plan_gap, make_user)
    quality = make_user("quality_lead")
    action = capa.plan_tracked_action(
        quality,
        "gap_analysis",
        "Record training",
        lead.id,
        date.today() + timedelta(days=30),
        finding_id=gaps["7.2"].id,
    )
    kept = capa.plan_tracked_action(
        quality,
        "gap_analysis",
        "Traceability procedure",
        lead.id,
        date.today() + timedelta(days=30),
        finding_id=gaps["8.5.2"].id,
    )
    db.session.commit()
    log_in(client, lead)
    answer(client, audit, items_of(audit)["8.5.2-traceability"], "minor_nc")  # still a gap: kept
    db.session.refresh(kept)
    assert kept.status == "open" and finding_of(audit, items_of(audit)["8.5.2-traceability"]).grade == "minor_nc"
    answer(client, audit, items_of(audit)["7.2-training"], "conform")
    db.session.refresh(action)
    assert action.status == "cancelled"
    assert db.session.scalar(db.select(Event).filter_by(entity_type="corrective_action", action="cancelled"))
    assert f'id="action-{action.id}"' not in client.get("/nc/actions/mine").get_data(as_text=True)
    html = client.get(f"/audits/{audit.id}/gaps").get_data(as_text=True)
    assert statuses(html)["7.2"] == "in_place" and "Record training" not in html


# --- coverage and the full checklist -------------------------------------------------------------


def test_coverage_and_readiness_ignore_gap_analyses(client, plan_gap, plan, make_user):
    lead = make_user("auditor")
    gap = plan_gap(lead=lead)
    internal = plan(lead=lead)
    log_in(client, lead)
    answer(client, gap, items_of(gap)["7.1.5-gauges"], "conform")
    answer(client, gap, items_of(gap)["8.5.2-traceability"], "major_nc")
    post_finding(client, gap, items_of(gap)["8.5.2-traceability"], GAP)
    answer(client, internal, items_of(internal)["8.7-segregation"], "conform")
    for audit in (gap, internal):
        assert (
            client.post(
                f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"}
            ).status_code
            == 302
        )
    client.post("/logout")
    log_in(client, make_user("quality_lead"))
    html = client.get("/reports/coverage").get_data(as_text=True)
    assert 'id="coverage-count">1 of 54<' in html and 'id="coverage-gap-note"' in html
    assert 'class="cov cov-not_audited" id="clause-7.1.5"' in html
    assert 'class="cov cov-not_audited" id="clause-8.5.2"' in html
    assert 'class="cov cov-conform" id="clause-8.7"' in html
    assert "53 not audited" in client.get("/reports/readiness").get_data(as_text=True)
    # Nor are they internal audit results in the management review pack (9.3.2 c 6)...
    figures = audit_figures(date.today() - timedelta(days=30), date.today(), date.today())
    assert figures.completed == 1 and figures.planned == 1 and figures.by_result == {}
    # ...while the period's export keeps them, in their own words.
    rows = client.get("/reports/audit-results.csv").get_data(as_text=True)
    assert "8.5.2-traceability,Are parts traceable to their work order?,Missing," in rows
    assert f"{internal.number}," in rows and "Major NC" not in rows


def test_gap_analysis_with_the_full_iso_9001_checklist(client, app, shipped_checklists, make_user):
    checklists.sync_directory(shipped_checklists)
    iso = checklists.get_checklist("iso9001-2015")
    quality = log_in(client, make_user("quality_lead"))
    assert (
        client.post(
            "/audits/new",
            data={
                "kind": "gap_analysis",
                "checklist_id": iso.id,
                "title": "Stage 0",
                "planned_date": date.today().isoformat(),
                "lead_auditor_id": quality.id,
            },
        ).status_code
        == 302
    )
    audit = db.session.scalar(db.select(Audit))
    items = audit.checklist_version.items
    by_clause = {}
    for item in items:
        by_clause.setdefault(item.clause, item)
    answer(client, audit, by_clause["7.5.3.1"], "major_nc")
    assert post_finding(client, audit, by_clause["7.5.3.1"], GAP).status_code == 200
    answer(client, audit, by_clause["7.5.3.2"], "conform")
    answer(client, audit, by_clause["9.2.1"], "conform")
    html = client.get(f"/audits/{audit.id}/gaps").get_data(as_text=True)
    found = statuses(html)
    assert found["7.5.3"] == "partly" and found["9.2"] == "in_place" and "other" not in found
    assert "No calibration procedure" in html.split('id="clause-7.5.3"')[1].split("</section>")[0]
    assert '<dd id="sum-assessed">2 of 54</dd>' in html and '<dd id="cat-documents">1</dd>' in html
