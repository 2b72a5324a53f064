"""Findings: opened in place by a finding grade, validated on the server, kept in step with the result."""

from pathlib import Path

from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.findings.models import Finding

from .support.accounts import log_in
from .support.audits import HX, answer, items_of
from .support.findings import NC_TEXT, finding_of, post_finding


def setup_item(client, plan, make_user, key="8.5.2-traceability", result="minor_nc"):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)[key]
    response = answer(client, audit, item, result)
    return audit, item, response


def test_a_finding_grade_opens_the_finding_form_in_place(client, plan, make_user):
    audit, item, response = setup_item(client, plan, make_user)
    html = response.get_data(as_text=True)
    assert 'class="finding-form"' in html and "Finding: Minor NC" in html
    # The requirement is pre-filled as a requirement (standard, clause and its title), the question as what was checked.
    assert (
        "ISO 9001:2015 clause 8.5.2 (Identification and traceability)\nChecked: Are parts traceable to their work order?"
        in html
    )
    # The form is in every open item, shown by the stylesheet only for a finding grade (also
    # offline); "why major" only for a major NC.
    assert html.startswith('<li class="item answered r-minor_nc"') and 'class="finding finding-new"' in html
    assert '<fieldset class="why-major">' in html
    css = (Path(__file__).resolve().parent.parent / "static/css/app.css").read_text()
    assert ".item.r-minor_nc .finding-new" in css and ".item.r-major_nc .why-major" in css
    assert ".item.r-conform .finding-new" not in css


def test_major_nc_asks_why_it_is_major(client, plan, make_user):
    audit, item, response = setup_item(client, plan, make_user, result="major_nc")
    assert 'name="why_major"' in response.get_data(as_text=True)
    refused = post_finding(client, audit, item, NC_TEXT)
    assert refused.status_code == 422 and b"Choose why this is a major nonconformity" in refused.data
    ok = post_finding(client, audit, item, {**NC_TEXT, "why_major": "No gauge on the line is controlled."})
    assert ok.status_code == 200 and finding_of(audit, item).why_major == "No gauge on the line is controlled."


def test_invalid_finding_comes_back_with_messages_and_everything_typed(client, plan, make_user):
    audit, item, _ = setup_item(client, plan, make_user)
    response = post_finding(
        client, audit, item, {"statement": "Half a thought", "requirement": "8.5.2", "evidence": ""}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Record the objective evidence" in html and ">Half a thought</textarea>" in html
    assert html.startswith("<li") and finding_of(audit, item) is None


def test_saved_finding_shows_as_a_summary_and_is_logged(client, plan, make_user):
    audit, item, _ = setup_item(client, plan, make_user)
    response = post_finding(client, audit, item, NC_TEXT)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Gauge G-17 is past its calibration date." in html
    assert "Edit finding" in html and "finding-form" not in html
    finding = finding_of(audit, item)
    assert finding.grade == "minor_nc" and finding.clause == "8.5.2" and finding.evidence == NC_TEXT["evidence"]
    event = db.session.scalar(db.select(Event).filter_by(entity_type="finding", action="created"))
    assert event.item_id == item.id and event.changes["statement"] == [None, NC_TEXT["statement"]]
    edit = client.get(f"/audits/{audit.id}/items/{item.id}?edit=finding", headers=HX).get_data(as_text=True)
    assert "finding-form" in edit and NC_TEXT["statement"] in edit


def test_observation_needs_only_a_statement(client, plan, make_user):
    audit, item, _ = setup_item(client, plan, make_user, result="observation")
    assert post_finding(client, audit, item, {"statement": ""}).status_code == 422
    assert post_finding(client, audit, item, {"statement": "Labels are hand-written."}).status_code == 200


def test_regrading_updates_the_finding_and_conform_withdraws_it(client, plan, make_user):
    audit, item, _ = setup_item(client, plan, make_user)
    post_finding(client, audit, item, NC_TEXT)
    answer(client, audit, item, "major_nc")
    assert finding_of(audit, item).grade == "major_nc"
    answer(client, audit, item, "conform")
    finding = finding_of(audit, item)
    assert finding.status == "withdrawn"  # kept as evidence, not deleted
    answer(client, audit, item, "minor_nc")
    assert finding_of(audit, item).status == "open"
    actions = [
        e.action for e in db.session.scalars(db.select(Event).filter_by(entity_type="finding").order_by(Event.id))
    ]
    assert actions == ["created", "regraded", "withdrawn", "regraded"]


def test_a_finding_needs_a_finding_grade_first(client, plan, make_user):
    audit, item, _ = setup_item(client, plan, make_user, result="conform")
    assert post_finding(client, audit, item, NC_TEXT).status_code == 409


def test_completion_waits_for_written_findings_and_required_photos(client, plan, make_user):
    audit, item, _ = setup_item(client, plan, make_user, key="7.1.5-gauges")  # photo required on NC
    summary = client.get(f"/audits/{audit.id}/complete").get_data(as_text=True)
    link = f'<a href="/audits/{audit.id}#item-{item.id}">'
    # Named by the item's question (not its internal id), and linked to the item on the audit screen.
    assert f"{link}7.1.5 “Are gauges within calibration?”: needs a written finding.</a>" in summary
    assert f"{link}7.1.5 “Are gauges within calibration?”: a nonconformity here needs a photo.</a>" in summary
    assert "7.1.5-gauges" not in summary
    post_finding(client, audit, item, NC_TEXT)
    refused = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "x", "confirm_unanswered": "on"})
    assert refused.status_code == 422 and b"needs a photo" in refused.data


def test_adhoc_finding_with_a_clause_picker(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert '<option value="8.5.2">' in page and '<option value="7.1.5">' in page
    url = f"/audits/{audit.id}/findings"
    refused = client.post(url, data={"clause": "7.10.x", "grade": "minor_nc", "statement": "Typed"}, headers=HX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Enter a clause number such as 8.5.2." in html and ">Typed</textarea>" in html
    ok = client.post(
        url,
        data={"clause": "9.1.3", "grade": "ofi", "statement": "Trend charts could show scrap by shift."},
        headers=HX,
    )
    assert ok.status_code == 200 and "Trend charts could show scrap by shift." in ok.get_data(as_text=True)
    finding = db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id))
    assert finding.item_id is None and finding.clause == "9.1.3" and finding.grade == "ofi"
    edit = client.get(f"/audits/{audit.id}/findings/{finding.id}/edit", headers=HX).get_data(as_text=True)
    assert f'name="edit_id" value="{finding.id}"' in edit
    client.post(
        url,
        data={"edit_id": finding.id, "clause": "9.1.3", "grade": "observation", "statement": "Reworded."},
        headers=HX,
    )
    db.session.refresh(finding)
    assert finding.grade == "observation" and finding.statement == "Reworded."
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert "Reworded." in report
