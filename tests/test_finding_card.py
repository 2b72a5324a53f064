"""The finding card: why major as a tap, the photo saved with the finding, evidence typed or
photographed, the NC number shown where the finding is, recurring statements, the photo rule shown
before grading, and a requirement that reads as one (issue 14)."""

import json
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

from pypdf import PdfReader

from auditapp.audits.services import finding_requirement
from auditapp.capa.models import Nonconformity
from auditapp.checklists import standards
from auditapp.extensions import db
from auditapp.findings.models import MAJOR_REASONS
from auditapp.findings.services import default_requirement
from auditapp.photos.models import Photo

from .support.accounts import log_in
from .support.audits import HX, answer, items_of
from .support.findings import finding_of, post_finding
from .support.photos import jpeg, upload


def graded(client, plan, make_user, result="major_nc", key="8.5.2-traceability", lead=None):
    lead = lead or make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)[key]
    answer(client, audit, item, result)
    return audit, item


def post_with_photo(client, audit, item, data, *photos):
    form = {**data, "photo": [(BytesIO(content), name) for name, content in photos]}
    return client.post(
        f"/audits/{audit.id}/items/{item.id}/finding", data=form, headers=HX, content_type="multipart/form-data"
    )


def nc_of(finding):
    return db.session.scalar(db.select(Nonconformity).filter_by(finding_id=finding.id))


def test_a_major_nc_with_a_reason_tapped_and_a_photo_is_saved_in_one_request(client, plan, make_user):
    audit, item = graded(client, plan, make_user)
    response = post_with_photo(
        client,
        audit,
        item,
        {"statement": "Work order 4711 has no traceability label.", "why_major_reason": "product_risk"},
        ("label.jpg", jpeg()),
    )
    assert response.status_code == 200, response.data
    finding = finding_of(audit, item)
    assert finding.why_major == MAJOR_REASONS["product_risk"]
    assert finding.evidence == ""  # the photo is the evidence; nothing is made up in words
    photo = db.session.scalar(db.select(Photo).filter_by(audit_id=audit.id))
    assert photo.item_id == item.id and photo.finding_id == finding.id
    nc = nc_of(finding)
    html = response.get_data(as_text=True)
    # The NC number is shown on the item as soon as it exists, linked to the NC.
    assert f'<a href="/nc/{nc.id}">{nc.number}</a> raised' in html
    assert "Evidence: photo" in html


def test_an_nc_needs_typed_evidence_or_a_photo(client, plan, make_user):
    audit, item = graded(client, plan, make_user, result="minor_nc")
    refused = post_finding(client, audit, item, {"statement": "Label missing."})
    assert refused.status_code == 422 and b"or add a photo" in refused.data
    assert finding_of(audit, item) is None
    upload(client, audit, item, ("before.jpg", jpeg()))  # a photo taken on the item before writing
    assert post_finding(client, audit, item, {"statement": "Label missing."}).status_code == 200
    assert finding_of(audit, item).statement == "Label missing."


def test_why_major_is_a_reason_words_or_both_and_the_form_shows_them_apart_again(client, plan, make_user):
    audit, item = graded(client, plan, make_user)
    data = {
        "statement": "No labels.",
        "evidence": "WO 4711",
        "why_major_reason": "systemic",
        "why_major": "3 of 3 lines",
    }
    assert post_finding(client, audit, item, data).status_code == 200
    assert finding_of(audit, item).why_major == f"{MAJOR_REASONS['systemic']}: 3 of 3 lines"
    form = client.get(f"/audits/{audit.id}/items/{item.id}?edit=finding").get_data(as_text=True)
    assert 'value="systemic" checked' in form and ">3 of 3 lines</textarea>" in form
    assert (
        post_finding(client, audit, item, {**data, "why_major_reason": "", "why_major": "In words only"}).status_code
        == 200
    )
    assert finding_of(audit, item).why_major == "In words only"
    refused = post_finding(client, audit, item, {**data, "why_major_reason": "made-up"})
    assert refused.status_code == 422 and b"Choose one of the reasons shown" in refused.data


def test_a_refused_finding_with_a_photo_keeps_neither(client, plan, make_user):
    audit, item = graded(client, plan, make_user)
    refused = post_with_photo(client, audit, item, {"statement": "No labels."}, ("label.jpg", jpeg()))
    assert refused.status_code == 422 and b">No labels.</textarea>" in refused.data
    assert finding_of(audit, item) is None
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0  # saved together or not at all


def test_the_report_and_its_pdf_show_the_nc_number_linked(client, plan, make_user):
    audit, item = graded(client, plan, make_user)
    post_with_photo(
        client, audit, item, {"statement": "No traceability labels.", "why_major_reason": "absent"}, ("l.jpg", jpeg())
    )
    nc = nc_of(finding_of(audit, item))
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert f'<a class="nc-ref" href="/nc/{nc.id}">{nc.number}</a>' in report
    assert "Checked: Are parts traceable to their work order?" in report  # the requirement reads as one
    pdf = client.get(f"/audits/{audit.id}/report.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages)
    assert nc.number in text and "ISO 9001:2015 clause 8.5.2" in text
    screen = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert f'<a href="/nc/{nc.id}">{nc.number}</a>' in screen


def test_recurring_statements_on_the_clause_are_offered_most_used_first(client, plan, make_user):
    lead = make_user("auditor")
    written = ["Label missing on the pallet.", "Work order not on the traveller.", "Label missing on the pallet."]
    for statement in written:
        audit, item = graded(client, plan, make_user, result="minor_nc", lead=lead)
        post_finding(client, audit, item, {"statement": statement, "evidence": "seen"})
    other = make_user("auditor")  # an audit this lead may not see: its words are not offered
    hidden, hidden_item = graded(client, plan, make_user, result="minor_nc", lead=other)
    post_finding(client, hidden, hidden_item, {"statement": "Someone else's words.", "evidence": "seen"})
    audit, item = graded(client, plan, make_user, result="minor_nc", lead=lead)
    form = client.get(f"/audits/{audit.id}/items/{item.id}").get_data(as_text=True)
    assert f'data-statements="/audits/{audit.id}/items/{item.id}/statements"' in form  # fetched when it appears
    html = client.get(f"/audits/{audit.id}/items/{item.id}/statements").get_data(as_text=True)
    offered = html.split('<div class="suggestions">')[1].split("</div>")[0]
    assert offered.index("Label missing on the pallet.") < offered.index("Work order not on the traveller.")
    assert "Someone else" not in offered and offered.count("data-statement-choice") == 2
    unrelated = items_of(audit)["8.7-segregation"]  # another clause: nothing offered
    answer(client, audit, unrelated, "minor_nc")
    assert "suggestions" not in client.get(f"/audits/{audit.id}/items/{unrelated.id}/statements").get_data(as_text=True)


def test_the_photo_rule_shows_on_the_item_before_it_is_graded(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    items = items_of(audit)
    html = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    gauges = html.split(f'id="item-{items["7.1.5-gauges"].id}"')[1].split("</li>")[0]
    storage = html.split(f'id="item-{items["8.5.4-storage"].id}"')[1].split("</li>")[0]
    assert '<h3 class="np">' in gauges and '<h3 class="np">' not in storage
    css = (Path(__file__).resolve().parent.parent / "static/css/app.css").read_text()
    assert '.item h3.np::after { content: "Photo needed if NC";' in css  # said on the item, before grading


def test_a_photo_evidences_an_nc_for_completion_too(client, plan, make_user):
    audit, item = graded(client, plan, make_user, result="minor_nc", key="7.1.5-gauges")
    post_with_photo(client, audit, item, {"statement": "G-17 overdue."}, ("g.jpg", jpeg()))
    summary = client.get(f"/audits/{audit.id}/complete").get_data(as_text=True)
    assert 'id="blockers"' not in summary


def test_a_finding_with_its_photo_queued_offline_is_applied_once(client, plan, make_user):
    audit, item = graded(client, plan, make_user)
    change = {
        "changeId": "7a3c5b0e-2d7f-4c57-9d7e-0c6c1f2b9a10",
        "path": f"/audits/{audit.id}/items/{item.id}/finding",
        "fields": [["statement", "No labels."], ["why_major_reason", "absent"], ["photo", {"file": "file0"}]],
    }
    for _ in range(2):  # sent, then sent again (the answer was lost on the way back)
        data = {"changes": json.dumps([change]), "file0": (BytesIO(jpeg()), "p.jpg", "image/jpeg")}
        response = client.post("/outbox/batch", data=data, content_type="multipart/form-data")
        assert response.status_code == 200 and response.get_json()["results"][0]["status"] == 200
    finding = finding_of(audit, item)
    assert finding.why_major == MAJOR_REASONS["absent"]
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 1
    assert db.session.scalar(db.select(db.func.count(Nonconformity.id))) == 1


def test_an_adhoc_nonconformity_shows_its_number_too(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    data = {"clause": "7.1.5", "grade": "minor_nc", "statement": "Scale S-3 uncalibrated.", "evidence": "No label."}
    html = client.post(f"/audits/{audit.id}/findings", data=data, headers=HX).get_data(as_text=True)
    nc = db.session.scalar(db.select(Nonconformity).filter_by(audit_id=audit.id))
    assert f'<a class="nc-ref" href="/nc/{nc.id}">{nc.number}</a>' in html
    assert f'<a class="nc-ref" href="/nc/{nc.id}">{nc.number}</a>' in client.get(f"/audits/{audit.id}").get_data(
        as_text=True
    )


def test_the_requirement_is_named_from_the_checklist_and_nothing_is_invented(app, plan, make_user):
    audit = plan()
    gauges = items_of(audit)["7.1.5-gauges"]
    assert finding_requirement(audit, gauges) == (
        "ISO 9001:2015 clause 7.1.5 (Monitoring and measuring resources)\nChecked: Are gauges within calibration?"
    )
    sub = SimpleNamespace(clause="7.5.3.1", question="Is the instruction at the station?")
    assert default_requirement(sub, [("ISO 9001:2015", "within 7.5.3 Control of documented information")]).startswith(
        "ISO 9001:2015 clause 7.5.3.1 (within 7.5.3 Control of documented information)\n"
    )
    # No standard and no title known: the clause and the question only; a reference of another scheme
    # is called a reference, not a clause.
    assert default_requirement(sub, []) == "Clause 7.5.3.1\nChecked: Is the instruction at the station?"
    five_s = SimpleNamespace(clause="5S-2", question="Are shadow boards complete?")
    assert default_requirement(five_s, []) == "Reference 5S-2\nChecked: Are shadow boards complete?"
    # A checklist that states the requirement gives it word for word.
    stated = SimpleNamespace(clause="8.5.1", question="Q?", requirement="Checks in the control plan are performed.")
    assert default_requirement(stated, [("ISO 9001:2015", "Control of production")]) == stated.requirement


def test_the_requirement_names_each_declared_standard_that_has_the_clause(app, make_user):
    """An integrated checklist (ISO 9001, 14001, 45001) asks about documented information once: the
    finding's requirement names the clause in each standard, with each standard's own title."""
    version = SimpleNamespace(standard="ISO 9001:2015, ISO 14001:2015, ISO 45001:2018")
    audit = SimpleNamespace(checklist_version=version)
    item = SimpleNamespace(clause="7.5.3", question="Are documents controlled?")
    lines = finding_requirement(audit, item).split("\n")
    named = [standards.by_name(n) for n in ("ISO 9001:2015", "ISO 14001:2015", "ISO 45001:2018")]
    assert lines[0] == "; ".join(f"{s.name} clause 7.5.3 ({s.title_of('7.5.3')})" for s in named)
    assert all(s.title_of("7.5.3") for s in named) and lines[1] == "Checked: Are documents controlled?"
    # A clause only one of them has is named in that one; a part clause within its unit.
    only = SimpleNamespace(clause="7.1.5.1", question="Q?")
    assert finding_requirement(audit, only).startswith(
        "ISO 9001:2015 clause 7.1.5.1 (within 7.1.5 Monitoring and measuring resources)\n"
    )
