"""Repeating sections (issue 15): a section the auditor answers once per station, machine or shift,
adding copies during the audit; each copy answered, counted and completed on its own."""

import csv
import io
import textwrap
from pathlib import Path

import pytest
from openpyxl import load_workbook

from auditapp.accounts.models import User
from auditapp.audits import completion
from auditapp.audits import services as audits
from auditapp.audits.models import Response, SectionCopy
from auditapp.capa.models import Nonconformity
from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file
from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.findings.models import Finding
from auditapp.outbox import services as outbox
from auditapp.photos.models import Photo

from .support.accounts import log_in
from .support.app import statements_of
from .support.audits import HX, plan_audit_of
from .support.checklists import VALID
from .support.photos import jpeg
from .support.standards import audited_checklist

LPA = Path(__file__).resolve().parent.parent / "checklists" / "layered-process-audit.yaml"

REPEATING = """\
id: walk
title: Station walk
version: 1
sections:
  - title: Line
    items:
      - id: line-board
        reference: L1
        question: Is the line's board up to date?
  - title: Station
    repeat: {label: Station, max: 3}
    items:
      - id: st-instruction
        reference: S1
        question: Is the work instruction at hand?
      - id: st-guards
        reference: S2
        question: Are the guards in place?
        answer: {type: yes_no}
"""


def load(tmp_path: Path, text: str, name: str = "walk.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_checklist_file(path, shown_as=f"checklists/{name}")


def messages(result) -> list[str]:
    return [str(p) for p in result.problems]


# --- the format ----------------------------------------------------------------------------------


def test_a_section_says_it_repeats_with_a_label_and_a_maximum(tmp_path):
    result = load(tmp_path, REPEATING)
    assert result.ok, messages(result)
    assert result.data["sections"][1]["repeat"] == {"label": "Station", "max": 3}
    assert "repeat" not in result.data["sections"][0]  # no default: a section that does not repeat hashes as before


def test_the_maximum_may_be_left_out(tmp_path):
    result = load(tmp_path, REPEATING.replace("{label: Station, max: 3}", "{label: Machine}"))
    assert result.ok, messages(result)
    assert result.data["sections"][1]["repeat"] == {"label": "Machine"}


@pytest.mark.parametrize(
    "spec, message",
    [
        ("{label: Station, max: 0}", "repeat max: must be a whole number from 1 to 50"),
        ("{label: Station, max: 51}", "repeat max: must be a whole number from 1 to 50"),
        ("{label: Station, max: ten}", "repeat max: expected a whole number, not 'ten'"),
        ("{max: 5}", "repeat label: required field is missing"),
        ("{label: 12}", "repeat label: expected text, but YAML read the number 12"),
        ("{label: Station, copies: 3}", "repeat copies: unknown field"),
        ("Station", "repeat: expected a mapping like {label: Station, max: 10}, not text"),
    ],
)
def test_a_wrong_repeat_is_named_in_plain_words(tmp_path, spec, message):
    result = load(tmp_path, REPEATING.replace("{label: Station, max: 3}", spec))
    assert not result.ok
    said = messages(result)
    assert len(said) == 1, said
    assert said[0].startswith('checklists/walk.yaml:11: section 2 "Station" '), said
    assert message in said[0], said


def test_a_file_without_repeat_hashes_exactly_as_before(tmp_path):
    """The hash of VALID as it was before repeating sections existed (taken on main before this change)."""
    result = load(tmp_path, VALID, "floor.yaml")
    assert result.ok and "repeat" not in result.data["sections"][0]
    again = load(
        tmp_path,
        VALID.replace("    title: Production", "    repeat: {label: Cell}\n    title: Production"),
        "floor.yaml",
    )
    assert again.ok, messages(again)
    assert again.content_hash != result.content_hash  # the key takes part in the hash when it is written


def test_the_shipped_layered_process_audit_repeats_its_station_section():
    result = load_checklist_file(LPA)
    assert result.ok, messages(result)
    repeating = [s for s in result.data["sections"] if "repeat" in s]
    assert [s["title"] for s in repeating] == ["Station"]
    assert repeating[0]["repeat"] == {"label": "Station", "max": 12}
    kinds = {i.get("answer", {}).get("type", "grades") for s in result.data["sections"] for i in s["items"]}
    assert "yes_no" in kinds
    assert not result.data.get("standard") and not result.data.get("standards")


# --- the spreadsheet -----------------------------------------------------------------------------


def test_the_spreadsheet_says_a_section_repeats_in_its_repeat_as_column_and_reads_it_back():
    loaded = load_checklist_file(LPA)
    book = load_workbook(io.BytesIO(sp.checklist_workbook(loaded.data)))
    sheet = book["Items"]
    headers = [c.value for c in sheet[1]]
    column = headers.index("Repeat as")
    cells = [row[column].value for row in sheet.iter_rows(min_row=2)]
    assert cells == [None] * 3 + ["Station, max 12"] * 6  # written as the section's title is, on its rows
    result = sp.read_checklist_upload(sp.checklist_workbook(loaded.data), "layered-process-audit.xlsx")
    assert [str(p) for p in result.problems] == []
    assert result.content_hash == loaded.content_hash


@pytest.mark.parametrize(
    "cell, repeat",
    [
        ("Station", {"label": "Station"}),
        ("Machine, max 4", {"label": "Machine", "max": 4}),
        ("Shift,max:3", {"label": "Shift", "max": 3}),
    ],
)
def test_the_repeat_as_cell_is_read_as_a_label_and_maybe_a_maximum(cell, repeat):
    assert sp._repeat(cell) == repeat
    assert sp._repeat(sp._write_repeat(repeat)) == repeat


def test_a_repeat_as_cell_without_a_label_is_refused():
    with pytest.raises(sp.CellProblem, match="has no label"):
        sp._repeat(", max 4")
    with pytest.raises(sp.CellProblem, match='like "Station, max 10"'):
        sp._repeat("Station, max ten")


# --- an audit of a repeating section -------------------------------------------------------------


@pytest.fixture
def walk_audit(app, client, make_user):
    """A planned audit of REPEATING (a Line section, a Station section repeating up to 3), `client` logged in
    as its lead auditor."""
    lead = make_user("auditor")
    audit = plan_audit_of(app, REPEATING, make_user("quality_lead"), lead, "Line 4 walk")
    log_in(client, lead)
    return audit


def items(audit) -> dict:
    return {i.key: i for i in audit.checklist_version.items}


def station(audit):
    return next(s for s in audit.checklist_version.sections if s.repeat)


def add_station(client, audit, name="", **kwargs):
    url = f"/audits/{audit.id}/sections/{station(audit).id}/copies"
    return client.post(url, data={"name": name}, headers=HX, **kwargs)


def send(client, audit, key, copy=1, base=0, **data):
    it = items(audit)[key]
    url = f"/audits/{audit.id}/items/{it.id}" + (f"/copies/{copy}" if copy != 1 else "") + "/answer"
    return client.post(url, data={"base_revision": base, **data}, headers=HX)


def stored(audit, key, copy):
    db.session.expire_all()
    return db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=items(audit)[key].id, copy=copy))


def test_an_auditor_adds_a_station_with_an_optional_name_and_it_is_logged(client, walk_audit):
    audit = walk_audit
    added = add_station(client, audit, "  press   line ")
    assert added.status_code == 200, added.get_data(as_text=True)
    html = added.get_data(as_text=True)
    assert "Station 2 – press line" in html  # the new copy, as its own section
    assert f'action="/audits/{audit.id}/items/' not in html  # lean: no plain forms on the screen
    assert f"/audits/{audit.id}/items/{items(audit)['st-guards'].id}/copies/2/answer" in html
    assert "Station 3" in html and "Add station" in html  # the form for the next one comes with it
    assert 'id="progress"' in html and "0</strong>/5" in html  # the progress counts the new station's items
    copy = db.session.scalar(db.select(SectionCopy).filter_by(audit_id=audit.id))
    assert (copy.number, copy.name) == (2, "press line")
    event = db.session.scalar(db.select(Event).filter_by(action="copy_added"))
    assert event.changes == {"section": "Station", "copy": 2, "name": "press line"}
    assert audits.section_copies(audit)[-1].label == "Station 2 – press line"


def test_no_more_stations_than_the_checklist_allows(client, walk_audit):
    audit = walk_audit
    assert add_station(client, audit).status_code == 200
    third = add_station(client, audit)
    assert third.status_code == 200
    assert "3 stations: the most this checklist allows." in third.get_data(as_text=True)
    refused = add_station(client, audit)
    assert refused.status_code == 422
    assert "This checklist allows at most 3 of “Station”." in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(SectionCopy.id))) == 2


def test_a_tap_again_after_a_lost_answer_gets_the_station_it_asked_for_not_one_more(client, walk_audit, make_user):
    audit = walk_audit
    url = f"/audits/{audit.id}/sections/{station(audit).id}/copies"
    form = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert '<input type="hidden" name="number" value="2">' in form  # the screen names the station it adds
    first = client.post(url, data={"name": "press line", "number": 2}, headers=HX)
    again = client.post(url, data={"name": "press line", "number": 2}, headers=HX)  # the first answer never came
    assert first.status_code == again.status_code == 200
    assert "Station 2 – press line" in again.get_data(as_text=True)
    assert '<input type="hidden" name="number" value="3">' in again.get_data(as_text=True)  # the next form
    db.session.expire_all()
    assert [(c.number, c.name) for c in db.session.scalars(db.select(SectionCopy))] == [(2, "press line")]
    assert db.session.scalar(db.select(db.func.count(Event.id)).filter_by(action="copy_added")) == 1
    # The next station is added when asked for; at the checklist's most, a retry still gets its station.
    assert client.post(url, data={"number": 3}, headers=HX).status_code == 200
    assert client.post(url, data={"number": 3}, headers=HX).status_code == 200
    assert sorted(n for (n,) in db.session.execute(db.select(SectionCopy.number))) == [2, 3]
    assert client.post(url, data={"number": 1}, headers=HX).status_code == 422


def test_a_station_a_teammate_added_under_the_same_number_is_not_taken_for_a_retry(client, walk_audit, make_user):
    audit = walk_audit
    assert add_station(client, audit, "press line").status_code == 200  # the lead: station 2
    mate = make_user("auditor")
    added = audits.add_section_copy(mate, audit, station(audit).id, "paint shop", number=2)  # asked for 2 too
    db.session.commit()
    assert (added.number, added.name) == (3, "paint shop")
    assert db.session.scalar(db.select(db.func.count(SectionCopy.id))) == 2


def test_only_members_add_stations_only_to_repeating_sections_of_an_open_audit(client, walk_audit, make_user):
    audit = walk_audit
    line = next(s for s in audit.checklist_version.sections if not s.repeat)
    refused = client.post(f"/audits/{audit.id}/sections/{line.id}/copies", data={"name": ""}, headers=HX)
    assert refused.status_code == 422 and "does not repeat" in refused.get_data(as_text=True)
    assert client.post(f"/audits/{audit.id}/sections/99999/copies", data={}, headers=HX).status_code == 404
    client.post("/logout")
    log_in(client, make_user("quality_lead"))  # may see the audit, is not on its team
    assert add_station(client, audit).status_code == 403
    assert db.session.scalar(db.select(db.func.count(SectionCopy.id))) == 0


def test_adding_a_station_needs_the_csrf_token(client, walk_audit):
    assert add_station(client, walk_audit, csrf=False).status_code == 400
    assert db.session.scalar(db.select(db.func.count(SectionCopy.id))) == 0


def test_each_station_is_answered_and_noted_on_its_own(client, walk_audit):
    audit = walk_audit
    add_station(client, audit, "press")
    assert send(client, audit, "st-guards", value="yes").status_code == 200
    answered = send(client, audit, "st-guards", copy=2, value="no")
    assert answered.status_code == 200, answered.get_data(as_text=True)
    assert stored(audit, "st-guards", 1).result == "conform"
    assert stored(audit, "st-guards", 2).result == "minor_nc"
    html = answered.get_data(as_text=True)
    assert f'id="item-{items(audit)["st-guards"].id}-c2"' in html
    assert f'id="sec-{station(audit).id}-2" class="sec-count" hx-swap-oob="true">1/2' in html
    it = items(audit)["st-instruction"]
    note = client.post(
        f"/audits/{audit.id}/items/{it.id}/copies/2/note", data={"note": "WI rev B", "base_revision": 0}, headers=HX
    )
    assert note.status_code == 200
    assert stored(audit, "st-instruction", 2).note == "WI rev B" and stored(audit, "st-instruction", 1) is None
    event = db.session.scalar(db.select(Event).filter_by(action="note_saved"))
    assert event.changes["copy"] == 2


def test_a_copy_the_audit_does_not_have_is_not_found(client, walk_audit):
    audit = walk_audit
    assert send(client, audit, "st-guards", copy=2, value="yes").status_code == 404
    add_station(client, audit)
    assert send(client, audit, "line-board", copy=2, result="conform").status_code == 404  # the line is asked once
    assert send(client, audit, "st-guards", copy=3, value="yes").status_code == 404
    assert send(client, audit, "st-guards", copy=2, value="yes").status_code == 200


def test_progress_and_completion_count_each_station(client, walk_audit):
    audit = walk_audit
    add_station(client, audit, "press")
    prog = audits.progress(audit)
    assert (prog.total, prog.answered) == (5, 0)
    for copy in (1, 2):
        send(client, audit, "st-instruction", copy=copy, result="conform")
    send(client, audit, "line-board", result="conform")
    send(client, audit, "st-guards", value="yes")
    prog = audits.progress(audit)
    assert (prog.total, prog.answered) == (5, 4)
    assert prog.by_section[station(audit).id] == (2, 2) and prog.by_section[f"{station(audit).id}-2"] == (1, 2)
    check = completion.completion_check(audit)
    assert [(u.where, u.question) for u in check.unanswered] == [("Station 2 – press: ", "Are the guards in place?")]
    page = client.get(f"/audits/{audit.id}/complete").get_data(as_text=True)
    assert "Station 2 – press: " in page and f"#item-{items(audit)['st-guards'].id}-c2" in page
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"})
    assert done.status_code == 302
    assert stored(audit, "st-guards", 2).result == "not_audited" and stored(audit, "st-guards", 1).result == "conform"


def test_a_finding_blocker_names_the_station(client, walk_audit):
    audit = walk_audit
    add_station(client, audit)
    send(client, audit, "st-instruction", copy=2, result="minor_nc")
    blockers = [str(b) for b in completion.completion_check(audit).blockers]
    assert blockers == ["Station 2: S1 “Is the work instruction at hand?”: needs a written finding."]
    it = items(audit)["st-instruction"]
    saved = client.post(
        f"/audits/{audit.id}/items/{it.id}/copies/2/finding",
        data={"statement": "Old revision at station 2", "evidence": "WI rev A seen", "requirement": ""},
        headers=HX,
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert completion.completion_check(audit).blockers == []
    finding = db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id))
    assert finding.copy == 2 and finding.response_id == stored(audit, "st-instruction", 2).id


def test_the_audit_screen_shows_each_station_as_its_own_section(client, walk_audit):
    audit = walk_audit
    add_station(client, audit, "press")
    send(client, audit, "st-guards", copy=2, value="no")
    html = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    sid = station(audit).id
    assert f'id="section-{sid}"' in html and f'id="section-{sid}-2"' in html
    assert "<h2>Station 1</h2>" in html and "<h2>Station 2 – press</h2>" in html
    assert html.count("Add station") == 1 and html.index("Add station") > html.index(f'id="section-{sid}-2"')
    assert f'id="sec-{sid}-2" class="sec-count">1/2' in html


def test_an_answer_to_a_station_replays_through_the_outbox_import(app, client, walk_audit):
    audit = walk_audit
    add_station(client, audit)
    it = items(audit)["st-guards"]
    entry = {
        "path": f"/audits/{audit.id}/items/{it.id}/copies/2/answer",
        "fields": [["base_revision", "0"], ["value", "no"]],
    }
    lead = db.session.get(User, audit.lead_auditor_id)
    detail = outbox._apply(lead, entry, 1600)
    assert detail == "answer minor_nc"
    assert stored(audit, "st-guards", 2).result == "minor_nc" and stored(audit, "st-guards", 1) is None


def station_nc_audit(client, audit):
    """Two stations; station 2's instruction a minor NC with its finding written; the rest conform."""
    add_station(client, audit, "press")
    for copy in (1, 2):
        send(client, audit, "st-instruction", copy=copy, result="minor_nc" if copy == 2 else "conform")
        send(client, audit, "st-guards", copy=copy, value="yes")
    send(client, audit, "line-board", result="conform")
    it = items(audit)["st-instruction"]
    saved = client.post(
        f"/audits/{audit.id}/items/{it.id}/copies/2/finding",
        data={"statement": "Old revision at the press", "evidence": "WI rev A seen", "requirement": ""},
        headers=HX,
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)


def test_the_nonconformity_raised_from_a_station_names_it(client, walk_audit):
    audit = walk_audit
    station_nc_audit(client, audit)
    nc = db.session.scalar(db.select(Nonconformity))
    assert nc.title == "Station 2 – press: Old revision at the press"
    assert nc.description == "Station 2 – press: Old revision at the press"


def test_the_report_pdf_and_export_list_each_station_under_its_name(client, walk_audit, make_user):
    audit = walk_audit
    station_nc_audit(client, audit)
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"})
    assert done.status_code == 302
    html = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    first, second = html.index('<th colspan="3">Station 1</th>'), html.index('<th colspan="3">Station 2 – press</th>')
    assert first < second
    rows = html[second:].split("</table>")[0]
    assert "Minor NC" in rows and rows.count("Are the guards in place?") == 1
    assert '<span class="copy-name">Station 2 – press: </span>' in html
    pdf = client.get(f"/audits/{audit.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    client.post("/logout")
    log_in(client, make_user("quality_lead"))
    table = list(csv.reader(io.StringIO(client.get("/reports/audit-results.csv").get_data(as_text=True))))
    where, key = table[0].index("Section copy"), table[0].index("Item")
    found = {(r[key], r[where], r[table[0].index("Result")]) for r in table[1:]}
    assert ("st-instruction", "Station 2 – press", "Minor NC") in found
    assert ("st-instruction", "Station 1", "Conform") in found
    assert ("line-board", "", "Conform") in found


def test_the_report_shows_a_station_s_finding_with_that_station_s_photos_read_once_for_the_pdf(client, walk_audit):
    """Photos are kept by slot (item, copy): station 2's finding shows station 2's photo, not the one taken on the
    same item in station 1; the report PDF reads the audit's photos in one statement."""
    audit = walk_audit
    station_nc_audit(client, audit)
    it = items(audit)["st-instruction"]
    for copy, colour in ((1, (20, 200, 20)), (2, (200, 20, 20))):
        data = {"item_id": str(it.id), "copy": str(copy), "photo": [(io.BytesIO(jpeg(color=colour)), f"s{copy}.jpg")]}
        sent = client.post(f"/audits/{audit.id}/photos", data=data, headers=HX, content_type="multipart/form-data")
        assert sent.status_code == 200, sent.get_data(as_text=True)[:500]
    taken = {p.copy: p.id for p in db.session.scalars(db.select(Photo).where(Photo.audit_id == audit.id))}
    html = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    finding = html.split('<span class="copy-name">Station 2 – press: </span>')[1].split("</section>")[0]
    assert f"/photos/{taken[2]}" in finding and f"/photos/{taken[1]}" not in html
    statements, pdf = statements_of(lambda: client.get(f"/audits/{audit.id}/report.pdf"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert len([s for s in statements if "FROM photos" in s]) == 1, "\n".join(statements)


def test_the_shipped_layered_process_audit_is_audited_and_adds_nothing_to_any_standard(client, app, make_user):
    """Audited as a team would on a day with one station: every answer, completion, the report."""
    values = {key: ["yes"] for key in ("lpa-line-board", "lpa-line-actions")}
    values |= {f"lpa-st-{k}": ["yes"] for k in ("instruction", "first-off", "defect-tags", "guards", "gauges")}
    values |= {"lpa-line-staffing": ["6"], "lpa-st-housekeeping": ["clean"]}
    audit = audited_checklist(client, app, make_user, LPA.read_text(encoding="utf-8"), values=values)
    db.session.expire_all()
    assert audit.is_completed
    results = {
        (r.item.key, r.copy): r.result for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))
    }
    assert set(results.values()) == {"conform"} and len(results) == 9  # one station: copy 1 only
    log_in(client, make_user("quality_lead"))
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert '<th colspan="3">Station 1</th>' in report and "Clean and in order" in report
    coverage = client.get("/reports/coverage").get_data(as_text=True)
    assert "layered" not in coverage.lower()
    preview = client.get("/checklists/layered-process-audit/v1").get_data(as_text=True)
    assert "Repeats: the auditor adds “Station 2”, “Station 3”… during the audit, up to 12" in preview
