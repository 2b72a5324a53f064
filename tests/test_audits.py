"""Field audits: planning, My audits, one-tap answers, notes, conflicts, replays, completion, report."""

import threading
import uuid
from collections import Counter
from datetime import date, timedelta

import pytest
from flask import current_app

from auditapp.accounts.models import User
from auditapp.audits import services as audits
from auditapp.audits.models import NOT_AUDITED, Audit, Response
from auditapp.core.changes import AppliedChange
from auditapp.core.errors import RuleError
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import log_in, make_area
from .support.app import count_queries, run_at_once
from .support.audits import HX, answer, items_of, reload


def response_of(audit, item):
    db.session.expire_all()
    return db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=item.id))


# --- planning ----------------------------------------------------------------------------------


def test_quality_lead_plans_an_audit_pinned_to_the_latest_version(client, login, walk, make_user):
    lead = login("quality_lead")
    auditor, member = make_user("auditor"), make_user("auditor")
    area = make_area("Machining")
    response = client.post(
        "/audits/new",
        data={
            "checklist_id": walk.id,
            "title": "Cell 3 walk",
            "area_id": area.id,
            "criteria": "",
            "planned_date": "2026-12-03",
            "lead_auditor_id": auditor.id,
            "team_ids": [member.id, auditor.id],
            "auditee": "Pat Operator",
        },
    )
    assert response.status_code == 302
    audit = db.session.scalar(db.select(Audit))
    assert audit.number == f"AUD-{date.today().year}-001"
    assert audit.checklist_version_id == walk.latest.id
    assert audit.criteria == "Floor walk, checklist version 1; ISO 9001:2015"
    assert [m.id for m in audit.team] == [member.id]  # the lead is not also a team member
    assert audit.created_by_id == lead.id and audit.status == "planned"
    assert (
        db.session.scalar(db.select(Event).filter_by(entity_type="audit", action="planned")).changes["number"]
        == audit.number
    )


def test_audit_numbers_count_up(plan):
    numbers = [plan().number for _ in range(3)]
    year = date.today().year
    assert numbers == [f"AUD-{year}-001", f"AUD-{year}-002", f"AUD-{year}-003"]


def test_invalid_plan_comes_back_with_messages_and_typed_values(client, login, walk):
    login("quality_lead")
    response = client.post(
        "/audits/new",
        data={"checklist_id": walk.id, "title": "Kept title", "planned_date": "soon", "lead_auditor_id": ""},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a date like 2026-12-01." in html and "Choose the lead auditor." in html
    assert 'value="Kept title"' in html


def test_owner_of_the_area_cannot_lead_its_audit(client, login, walk, make_user):
    login("quality_lead")
    owner = make_user("quality_lead", name="Owen Owner")  # quality leads can audit; make them own the area
    owner.role = "supervisor"
    db.session.commit()
    area = make_area("Paint", owner)
    owner.role = "auditor"  # later became an auditor but still owns the area
    db.session.commit()
    form = {
        "checklist_id": walk.id,
        "title": "Paint walk",
        "area_id": area.id,
        "planned_date": "2026-12-03",
        "lead_auditor_id": owner.id,
    }
    response = client.post("/audits/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Owen Owner owns Paint, so cannot lead its audit" in html and "9.2.2 c" in html
    assert 'name="override_reason"' in html
    response = client.post("/audits/new", data={**form, "override_reason": "Only trained auditor on site this month"})
    assert response.status_code == 302
    audit = db.session.scalar(db.select(Audit))
    assert audit.impartiality_override == "Only trained auditor on site this month"
    event = db.session.scalar(db.select(Event).filter_by(entity_type="audit", action="planned"))
    assert event.changes["impartiality_override"] == "Only trained auditor on site this month"


def test_only_quality_leads_may_override_impartiality(app, walk, make_user):
    admin = make_user("admin")
    owner = make_user("supervisor")
    area = make_area("Paint", owner)
    owner.role = "auditor"
    db.session.commit()
    with pytest.raises(RuleError, match="Only a quality lead"):
        audits.plan_audit(
            admin,
            checklist_id=walk.id,
            title="x",
            planned_date=date.today(),
            lead_auditor_id=owner.id,
            area_id=area.id,
            override_reason="because",
        )


@pytest.mark.parametrize("role", ["auditor", "supervisor"])
def test_auditors_and_supervisors_cannot_plan(client, make_user, role, walk):
    log_in(client, make_user(role))
    assert client.get("/audits/new").status_code == 403
    assert client.post("/audits/new", data={"title": "x"}).status_code == 403


def test_plan_page_without_checklists_says_what_to_do(client, login):
    login("quality_lead")
    assert b"No checklist is imported yet." in client.get("/audits/new").data


def test_numbers_stay_unique_when_audits_are_planned_at_once(app, walk, make_user):
    """Eight planners at the same moment, each in its own connection: eight distinct, gap-free numbers."""
    planner_id, lead_id, checklist_id = make_user("quality_lead").id, make_user("auditor").id, walk.id

    def plan_one(i):
        audits.plan_audit(
            db.session.get(User, planner_id),
            checklist_id=checklist_id,
            title=f"t{i}",
            planned_date=date.today(),
            lead_auditor_id=lead_id,
        )
        db.session.commit()

    assert run_at_once(app, 8, plan_one) == []
    numbers = sorted(db.session.scalars(db.select(Audit.number)))
    year = date.today().year
    assert numbers == [f"AUD-{year}-{n:03d}" for n in range(1, 9)]


# --- My audits ---------------------------------------------------------------------------------


def test_my_audits_groups_today_in_progress_upcoming_and_completed(client, plan, make_user):
    me = make_user("auditor", name="Me Myself")
    plan(lead=me, title="Today walk")
    plan(team=[me], planned=date.today() + timedelta(days=3), title="Next week walk")
    started = plan(lead=me, planned=date.today() - timedelta(days=1), title="Started walk")
    plan(title="Somebody else's walk")
    done = plan(lead=me, title="Done walk")
    started.status = "in_progress"
    done.completed_at = done.created_at  # before the status: a completed audit is read-only
    done.status = "completed"
    db.session.commit()
    log_in(client, me)
    html = client.get("/audits/mine").get_data(as_text=True)
    sections = {
        key: html.split(f'id="group-{key}"')[1].split("</section>")[0]
        for key in ("today", "in-progress", "upcoming", "completed")
    }
    assert "Today walk" in sections["today"] and "Started walk" in sections["in-progress"]
    assert "Next week walk" in sections["upcoming"] and "Done walk" in sections["completed"]
    assert "Somebody else" not in html
    assert "0/5" in sections["today"]  # progress shown for each


def test_my_audits_empty_state(client, login):
    login("auditor")
    assert b"No audits assigned to you yet" in client.get("/audits/mine").data


@pytest.mark.parametrize("url", ["/audits/", "/audits/mine"])
def test_audit_lists_take_the_same_queries_for_2_or_8_audits(client, plan, make_user, url):
    me = make_user("quality_lead")
    log_in(client, me)
    for _ in range(2):
        plan(lead=me, team=[make_user("auditor")])
    few = count_queries(client, url)
    for _ in range(6):
        plan(lead=me, team=[make_user("auditor")])
    assert count_queries(client, url) == few


# --- who may see and record --------------------------------------------------------------------


def test_audit_visibility_by_role(client, plan, make_user):
    supervisor = make_user("supervisor")
    area = make_area("Machining", supervisor)
    member = make_user("auditor")
    audit = plan(team=[member], area=area)
    stranger = make_user("auditor")
    other_supervisor = make_user("supervisor")
    item = items_of(audit)["7.2-training"]
    for user, view, record in (
        (member, 200, 200),
        (supervisor, 200, 403),
        (stranger, 404, 404),
        (other_supervisor, 404, 404),
        (make_user("quality_lead"), 200, 403),
    ):
        log_in(client, user)
        assert client.get(f"/audits/{audit.id}").status_code == view, user.role
        assert answer(client, audit, item, "conform").status_code == record, user.role
        client.post("/logout")
    assert response_of(audit, item).answered_by_id == member.id


def test_items_of_another_checklist_are_not_found(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    assert client.post(f"/audits/{audit.id}/items/99999/answer", data={"result": "conform"}).status_code == 404


# --- answering ---------------------------------------------------------------------------------


def test_one_tap_saves_and_swaps_only_that_item(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    response = answer(client, audit, item, "conform")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.startswith(f'<li class="item answered r-conform" id="item-{item.id}">')
    assert len(response.data) < 4096
    assert '"audit:answered"' in response.headers["HX-Trigger"]
    assert "HX-Request" in response.headers["Vary"]
    saved = response_of(audit, item)
    assert saved.result == "conform" and saved.revision == 1 and saved.answered_by_id == lead.id
    assert reload(audit).status == "in_progress" and audit.started_at is not None


def test_progress_counts_answered_over_applicable(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    items = items_of(audit)
    answer(client, audit, items["8.5.2-traceability"], "conform")
    answer(client, audit, items["8.7-segregation"], "na")
    page = client.get(f"/audits/{audit.id}/progress").get_data(as_text=True)
    fragment = client.get(f"/audits/{audit.id}/progress", headers=HX).get_data(as_text=True)
    assert "<strong>1</strong>/4 answered" in fragment and "1 N/A" in fragment
    section = items["8.5.2-traceability"].section_id
    assert f'<span id="sec-{section}" class="sec-count" hx-swap-oob="true">1/2</span>' in fragment
    assert "<html" in page and "<html" not in fragment


def test_only_results_the_checklist_allows_are_accepted(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["7.2-training"]  # no N/A allowed
    html = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    block = html.split(f'id="item-{item.id}"')[1].split("</li>")[0]
    assert 'value="na"' not in block and 'value="ofi"' in block
    response = answer(client, audit, item, "na")
    assert response.status_code == 422 and response_of(audit, item) is None
    assert answer(client, audit, item, "excellent").status_code == 422


def test_changing_a_result_keeps_every_earlier_value(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    for result in ("conform", "observation", "conform"):
        assert answer(client, audit, item, result).status_code == 200
    changes = [
        e.changes["result"]
        for e in db.session.scalars(
            db.select(Event).filter_by(entity_type="response", action="answered").order_by(Event.id)
        )
    ]
    assert changes == [[None, "conform"], ["conform", "observation"], ["observation", "conform"]]
    history = client.get(f"/audits/{audit.id}/items/{item.id}/history").get_data(as_text=True)
    assert history.count("response answered") == 3 and "<del>Observation</del>" in history


def test_a_replayed_change_applies_once_and_returns_the_same_answer(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    change = str(uuid.uuid4())
    first = answer(client, audit, item, "minor_nc", 0, **{"X-Change-Id": change})
    again = answer(client, audit, item, "minor_nc", 0, **{"X-Change-Id": change})
    assert first.status_code == again.status_code == 200
    assert again.data == first.data and again.headers["HX-Trigger"] == first.headers["HX-Trigger"]
    assert again.headers["X-Change-Replayed"] == "true"
    assert response_of(audit, item).revision == 1
    assert db.session.scalar(db.select(db.func.count(Event.id)).filter_by(entity_type="response")) == 1
    assert db.session.get(AppliedChange, change).user_id == lead.id


def test_a_change_id_of_another_user_is_refused(client, plan, make_user):
    lead, member = make_user("auditor"), make_user("auditor")
    audit = plan(lead=lead, team=[member])
    item = items_of(audit)["8.5.2-traceability"]
    log_in(client, lead)
    answer(client, audit, item, "conform", 0, **{"X-Change-Id": "shared-change-id-1"})
    client.post("/logout")
    log_in(client, member)
    other = items_of(audit)["8.7-segregation"]
    assert answer(client, audit, other, "conform", 0, **{"X-Change-Id": "shared-change-id-1"}).status_code == 409
    assert response_of(audit, other) is None


def test_a_stale_save_is_refused_and_shows_both_values(client, plan, make_user):
    lead, member = make_user("auditor", name="Lee Lead"), make_user("auditor", name="Mo Member")
    audit = plan(lead=lead, team=[member])
    item = items_of(audit)["8.5.2-traceability"]
    log_in(client, member)
    assert answer(client, audit, item, "conform", 0).status_code == 200
    client.post("/logout")
    log_in(client, lead)
    response = answer(client, audit, item, "major_nc", 0)  # based on the empty item it loaded earlier
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Mo Member changed this item meanwhile." in html
    assert "Theirs: <b>Conform</b>" in html and "Yours: <b>Major NC</b>" in html
    assert response_of(audit, item).result == "conform"
    assert 'name="base_revision" value="1"' in html  # tapping again now replaces theirs knowingly
    assert answer(client, audit, item, "major_nc", 1).status_code == 200
    assert response_of(audit, item).result == "major_nc"


def test_two_auditors_answer_different_items_at_once(client, app, plan, make_user):
    lead, member = make_user("auditor"), make_user("auditor")
    audit = plan(lead=lead, team=[member])
    items = items_of(audit)
    other = app.test_client()
    log_in(client, lead)
    log_in(other, member)
    assert answer(client, audit, items["8.5.2-traceability"], "conform", 0).status_code == 200
    assert answer(other, audit, items["8.7-segregation"], "ofi", 0).status_code == 200
    assert response_of(audit, items["8.7-segregation"]).answered_by_id == member.id


def test_note_saves_itself_and_updates_its_revision_out_of_band(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    response = client.post(
        f"/audits/{audit.id}/items/{item.id}/note",
        data={"note": "Labels faded on rack B", "base_revision": 0},
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="save-state saved">Saved' in html
    assert f'value="1" id="rev-n-{item.id}" hx-swap-oob="true"' in html
    assert response_of(audit, item).note == "Labels faded on rack B"
    assert response_of(audit, item).result is None
    # A tap right after typing is not a conflict: result and note have their own revisions.
    assert answer(client, audit, item, "conform", 0).status_code == 200
    assert response_of(audit, item).note == "Labels faded on rack B"
    stale = client.post(
        f"/audits/{audit.id}/items/{item.id}/note", data={"note": "mine", "base_revision": 0}, headers=HX
    )
    assert stale.status_code == 409 and "Labels faded on rack B" in stale.get_data(as_text=True)
    assert response_of(audit, item).note == "Labels faded on rack B"


def test_plain_form_post_without_javascript_redirects_back(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    response = client.post(f"/audits/{audit.id}/items/{item.id}/answer", data={"result": "conform", "base_revision": 0})
    assert response.status_code == 302 and response.location.endswith(f"/audits/{audit.id}#item-{item.id}")


def test_item_fragment_and_page(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    page = client.get(f"/audits/{audit.id}/items/{item.id}").get_data(as_text=True)
    fragment = client.get(f"/audits/{audit.id}/items/{item.id}", headers=HX).get_data(as_text=True)
    assert "<html" in page and fragment.startswith("<li")


# --- completing --------------------------------------------------------------------------------


def _answer_all(client, audit, result="conform"):
    for item in audit.checklist_version.items:
        answer(client, audit, item, result)


def test_complete_shows_a_summary_then_records_unanswered_as_not_audited(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    items = items_of(audit)
    answer(client, audit, items["8.5.2-traceability"], "conform")
    answer(client, audit, items["8.7-segregation"], "na")
    summary = client.get(f"/audits/{audit.id}/complete").get_data(as_text=True)
    assert "<dt>Conform</dt><dd>1</dd>" in summary and "<dt>Unanswered</dt><dd>3</dd>" in summary
    assert "Are operators trained for this station?" in summary
    refused = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Good overall."})
    assert refused.status_code == 422 and b"3 items are unanswered" in refused.data
    assert "Good overall." in refused.get_data(as_text=True)
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Good overall.", "confirm_unanswered": "on"})
    assert done.status_code == 302
    reload(audit)
    assert audit.status == "completed" and audit.conclusion == "Good overall."
    assert response_of(audit, items["7.2-training"]).result == NOT_AUDITED


def test_completion_needs_the_conclusion_and_the_lead_auditor(client, plan, make_user):
    lead, member = make_user("auditor"), make_user("auditor")
    audit = plan(lead=lead, team=[member])
    log_in(client, member)
    assert b"Only the lead auditor" in client.get(f"/audits/{audit.id}/complete").data
    # A rule about who may act is a 403 (NotAllowed), answered with its message.
    refused = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "x", "confirm_unanswered": "on"})
    assert refused.status_code == 403 and b"Only the lead auditor can complete the audit." in refused.data
    client.post("/logout")
    log_in(client, lead)
    response = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "", "confirm_unanswered": "on"})
    assert response.status_code == 422 and b"Write the audit conclusion" in response.data
    assert reload(audit).status == "planned"


def test_completed_audit_is_read_only(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    _answer_all(client, audit)
    client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done."})
    item = items_of(audit)["8.5.2-traceability"]
    refused = answer(client, audit, item, "minor_nc")
    assert refused.status_code == 409 and b"completed and read-only" in refused.data
    assert (
        client.post(
            f"/audits/{audit.id}/items/{item.id}/note", data={"note": "x", "base_revision": 1}, headers=HX
        ).status_code
        == 409
    )
    assert client.get(f"/audits/{audit.id}/complete").status_code == 409
    assert response_of(audit, item).result == "conform"
    html = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert "This audit is read-only." in html and "disabled" in html


def test_reopen_needs_lead_or_quality_lead_and_a_reason(client, plan, make_user):
    lead, member = make_user("auditor"), make_user("auditor")
    audit = plan(lead=lead, team=[member])
    log_in(client, lead)
    _answer_all(client, audit)
    client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done."})
    client.post("/logout")
    log_in(client, member)
    assert client.post(f"/audits/{audit.id}/reopen", data={"reason": "I want to"}).status_code == 403
    client.post("/logout")
    quality = make_user("quality_lead")
    log_in(client, quality)
    client.post(f"/audits/{audit.id}/reopen", data={"reason": ""})
    assert reload(audit).status == "completed"
    assert client.post(f"/audits/{audit.id}/reopen", data={"reason": "Evidence for 8.7 was missed"}).status_code == 302
    assert reload(audit).status == "in_progress"
    event = db.session.scalar(db.select(Event).filter_by(entity_type="audit", action="reopened"))
    assert event.changes["reason"] == "Evidence for 8.7 was missed" and event.actor_id == quality.id


def test_report_shows_scope_criteria_team_results_findings_conclusion(client, plan, make_user):
    lead, member = make_user("auditor", name="Lee Lead"), make_user("auditor", name="Mo Member")
    area = make_area("Machining")
    audit = plan(lead=lead, team=[member], area=area)
    log_in(client, lead)
    items = items_of(audit)
    for key, result in (("7.2-training", "minor_nc"), ("8.5.2-traceability", "conform")):
        answer(client, audit, items[key], result)
    client.post(
        f"/audits/{audit.id}/items/{items['7.2-training'].id}/finding",
        headers=HX,
        data={
            "statement": "Two operators lack the press training record.",
            "requirement": "7.2",
            "evidence": "Training matrix rev 4; badges 117 and 203.",
        },
    )
    client.post(
        f"/audits/{audit.id}/complete", data={"conclusion": "Effective with one minor NC.", "confirm_unanswered": "on"}
    )
    html = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    for text in (
        "Internal audit report " + audit.number,
        "Machining",
        "Floor walk, checklist version 1",
        "Lee Lead",
        "Mo Member",
        "Two operators lack the press training record.",
        "Training matrix rev 4; badges 117 and 203.",
        "Effective with one minor NC.",
        "Not audited",
    ):
        assert text in html, text
    from pathlib import Path

    assert "@page" in (Path(__file__).resolve().parent.parent / "static/css/app.css").read_text()


def test_area_owner_on_the_team_needs_an_override_too(app, walk, make_user):
    quality = make_user("quality_lead")
    owner = make_user("quality_lead", name="Olive Owner")  # quality leads audit, and may own an area
    owner.role = "supervisor"
    db.session.commit()
    area = make_area("Paint", owner)
    owner.role = "quality_lead"
    db.session.commit()
    with pytest.raises(audits.NeedsOverride, match="cannot be on its audit team"):
        audits.plan_audit(
            quality,
            checklist_id=walk.id,
            title="x",
            planned_date=date.today(),
            lead_auditor_id=make_user("auditor").id,
            team_ids=[owner.id],
            area_id=area.id,
        )
    db.session.rollback()
    audit = audits.plan_audit(
        quality,
        checklist_id=walk.id,
        title="x",
        planned_date=date.today(),
        lead_auditor_id=make_user("auditor").id,
        team_ids=[owner.id],
        area_id=area.id,
        override_reason="Owner joins as an observer only",
    )
    db.session.commit()
    assert audit.impartiality_override == "Owner joins as an observer only"


def test_a_change_resent_while_its_original_runs_gets_the_original_answer(app, client, plan, make_user):
    """Ten copies of one change id at once: one applies, nine replay it; none is a conflict with itself."""
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = items_of(audit)["7.1.5-gauges"]
    log_in(client, lead)
    token = client.csrf_token()  # puts the CSRF secret in the session first
    cookie = client.get_cookie("session").value
    url = f"/audits/{audit.id}/items/{item.id}/answer"  # read here: the test's objects stay in its thread
    statuses, lock = [], threading.Lock()

    def resend(n):
        copy = current_app.test_client()
        copy.set_cookie("session", cookie)
        response = copy.post(
            url,
            data={"result": "minor_nc", "base_revision": 0},
            headers={**HX, "X-Change-Id": "same-change-0001", "X-CSRFToken": token},
        )
        with lock:
            statuses.append((response.status_code, response.headers.get("X-Change-Replayed")))

    assert run_at_once(app, 10, resend) == []
    assert Counter(statuses) == {(200, None): 1, (200, "true"): 9}
    assert response_of(audit, item).revision == 1
    answered = db.session.scalars(db.select(Event).filter_by(entity_type="response", action="answered")).all()
    assert len(answered) == 1
