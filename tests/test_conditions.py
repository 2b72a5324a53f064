"""Show-if conditions (issue 15): `show_if: {item, answer}` on items and sections, validated with plain
messages, and the one rule (checklists/conditions.py) that says which items are not asked."""

import copy
import re
import textwrap
from datetime import date
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from auditapp.audits import completion
from auditapp.audits.models import Response
from auditapp.checklists import answers, conditions
from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file
from auditapp.extensions import db
from auditapp.reports import coverage, export

from .support.accounts import log_in
from .support.audits import HX
from .support.conditions import SHOW_IF_WALK, plan_show_if_walk

SHIPPED = Path(__file__).resolve().parent.parent / "checklists"


def load(tmp_path: Path, text: str, name: str = "showif-walk.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_checklist_file(path, shown_as=f"checklists/{name}")


def messages(result) -> list[str]:
    return [f"{p.line}: {p.field}: {p.message}" for p in result.problems]


# --- the format ----------------------------------------------------------------------------------


def test_conditions_load_on_items_and_sections_and_other_files_hash_as_before(tmp_path):
    loaded = load(tmp_path, SHOW_IF_WALK)
    assert loaded.ok, messages(loaded)
    first, second = loaded.data["sections"]
    assert first["items"][1]["show_if"] == {"item": "gate", "answer": ["no", "na"]}
    assert second["show_if"] == {"item": "kind", "answer": ["chemical", "both"]}
    assert "show_if" not in first and "show_if" not in first["items"][0]
    before = {  # the 5S walk is not here: its version 2 added scoring, a change of content on purpose
        "iso14001-2015.yaml": "88792d474c39b79ca248adf1c92fa0683299c026af8796b2a794fce4380e3590",
        "iso45001-2018.yaml": "3b2921bd2d3e92c0c46eedde728afb1abb9ae4a08e9a039b8c74b9a33b0110ed",
        "iso9001-2015.yaml": "b93b20a3e3fd692935c441aaaac314aff9a0fb87b07ea235b078c051e78bb078",
        "production-floor-walk.yaml": "b91dc62bc0c99f57f11af11e78169244b55e7a1c1aac2b59fc67eb728dffc883",
        "supplier-audit.yaml": "7568401df538a1aeb530da563fd9e876ed04e9f806e989b36b43d868291b1235",
    }
    assert {name: load_checklist_file(SHIPPED / name).content_hash for name in before} == before


def replaced(old: str, new: str) -> str:
    assert old in SHOW_IF_WALK
    return SHOW_IF_WALK.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "show_if: {item: gate,",
            "show_if: {item: gates,",
            '15: sections[0].items[1].show_if.item: "gates" is not an item of this checklist; did you mean "gate"?',
        ),
        (
            "show_if: {item: gate,",
            "show_if: {item: why,",
            "15: sections[0].items[1].show_if.item: an item cannot be shown by its own answer;"
            ' name an item before "why"',
        ),
        (
            "show_if: {item: gate,",
            "show_if: {item: kind,",
            '15: sections[0].items[1].show_if.item: "kind" comes later in the checklist;'
            " a condition names an item asked before it",
        ),
        (
            "show_if: {item: kind, answer: [chemical, both]}",
            "show_if: {item: kit-where, answer: [conform]}",
            '23: sections[1].show_if.item: "kit-where" is in this section;'
            " a section is shown by an answer in an earlier section",
        ),
        (
            'answer: ["no", "na"]',
            'answer: ["nope"]',
            '15: sections[0].items[1].show_if.answer[0]: "gate" can never be answered "nope"'
            ' (it gives yes, no, na); did you mean "no"?',
        ),
        (
            "answer: [chemical, both]",
            "answer: [chemical, liquid]",
            '23: sections[1].show_if.answer[1]: "kind" can never be answered "liquid" (it gives dry, chemical, both);'
            " use one of: dry, chemical, both",
        ),
        (
            "show_if: {item: kit-where, answer: [conform]}",
            "show_if: {item: kit-where, answer: [major_nc]}",
            '33: sections[1].items[1].show_if.answer[0]: "kit-where" can never be answered "major_nc"'
            ' (it gives conform, minor_nc, na); did you mean "minor_nc"?',
        ),
        (
            'answer: ["no", "na"]',
            "answer: []",
            '15: sections[0].items[1].show_if.answer: list at least one answer that shows it, e.g. ["no"]',
        ),
        (
            'answer: ["no", "na"]',
            'answer: ["no", "no"]',
            '15: sections[0].items[1].show_if.answer[1]: "no" is listed twice',
        ),
        (
            'show_if: {item: gate, answer: ["no", "na"]}',
            "show_if: gate",
            '15: sections[0].items[1].show_if: expected a mapping like {item: rcv-01, answer: ["no"]}, not text',
        ),
    ],
)
def test_a_wrong_condition_is_named_with_its_line_and_a_plain_reason(tmp_path, old, new, expected):
    loaded = load(tmp_path, replaced(old, new))
    assert expected in messages(loaded)


def test_a_text_item_cannot_be_a_trigger(tmp_path):
    loaded = load(tmp_path, replaced("show_if: {item: kit-where,", "show_if: {item: why,"))
    assert messages(loaded) == [
        '33: sections[1].items[1].show_if.item: "why" has a text answer, which cannot show or hide anything;'
        " name a yes/no, choice, number or ISO-grade item"
    ]


# --- the rule ------------------------------------------------------------------------------------


@pytest.fixture
def items(tmp_path):
    loaded = load(tmp_path, SHOW_IF_WALK)
    out = []
    for section in loaded.data["sections"]:
        sec = SimpleNamespace(show_if=section.get("show_if"))
        for item in section["items"]:
            spec = answers.normalised(item.get("answer"))
            out.append(SimpleNamespace(key=item["id"], answer=spec, show_if=item.get("show_if"), section=sec))
    return out


@pytest.mark.parametrize(
    ("given", "hidden"),
    [
        ({}, {"why", "kit-where", "kit-sealed"}),  # unanswered triggers hide
        ({"gate": ("conform", "yes")}, {"why", "kit-where", "kit-sealed"}),
        ({"gate": ("major_nc", "no")}, {"kit-where", "kit-sealed"}),
        ({"gate": ("na", "na")}, {"kit-where", "kit-sealed"}),
        ({"kind": ("recorded", "dry")}, {"why", "kit-where", "kit-sealed"}),
        ({"kind": ("recorded", "both")}, {"why", "kit-sealed"}),  # the section shows; kit-where unanswered
        ({"kind": ("recorded", "chemical"), "kit-where": ("conform", None)}, {"why"}),
        ({"kind": ("recorded", "chemical"), "kit-where": ("minor_nc", None)}, {"why", "kit-sealed"}),
        # a hidden trigger hides its dependents whatever it holds (the chain)
        ({"kind": ("recorded", "dry"), "kit-where": ("conform", None)}, {"why", "kit-where", "kit-sealed"}),
        # "not audited" (recorded at completion) is no answer
        ({"gate": ("not_audited", None)}, {"why", "kit-where", "kit-sealed"}),
    ],
)
def test_which_items_are_not_asked(items, given, hidden):
    assert conditions.hidden_keys(items, given) == hidden


def test_multi_choice_shows_when_any_chosen_option_is_listed_and_numbers_by_their_result():
    multi = {"type": "multi_choice", "options": [{"value": v, "label": v, "result": "recorded"} for v in "abc"]}
    assert conditions.matches({"item": "m", "answer": ["b"]}, multi, "recorded", ["a", "b"])
    assert not conditions.matches({"item": "m", "answer": ["c"]}, multi, "recorded", ["a", "b"])
    number = answers.normalised({"type": "number", "min": 40, "max": 45})
    assert conditions.offered(number) == ["conform", "minor_nc", "major_nc", "observation", "ofi", "na"]
    assert conditions.matches({"item": "n", "answer": ["minor_nc"]}, number, "minor_nc", 50)
    assert not conditions.matches({"item": "n", "answer": ["minor_nc"]}, number, "conform", 42)


def test_a_checklist_without_conditions_has_none(items):
    assert conditions.has_conditions(items)
    for i in items:
        i.show_if = None
        i.section.show_if = None
    assert not conditions.has_conditions(items)
    assert conditions.hidden_keys(items, {}) == set()


# --- the spreadsheet -----------------------------------------------------------------------------


def test_show_if_columns_round_trip_through_xlsx_and_csv(tmp_path):
    loaded = load(tmp_path, SHOW_IF_WALK)
    book = sp.checklist_workbook(loaded.data)
    result = sp.read_checklist_upload(book, "showif-walk.xlsx")
    assert [str(p) for p in result.problems] == []
    assert result.data == loaded.data and result.content_hash == loaded.content_hash
    details = {k: str(loaded.data[k]) for k in ("id", "title", "version", "description", "standard")}
    result = sp.read_checklist_upload(sp.items_csv(loaded.data).encode(), "showif-walk.csv", details)
    assert [str(p) for p in result.problems] == [] and result.content_hash == loaded.content_hash
    by = {c.header: c for c in sp.ITEM_COLUMNS}
    assert by["Show if"].write({"item": "gate", "answer": ["no", "na"]}) == "gate = no, na"
    assert by["Section show if"].read(" kind = chemical; both ") == {"item": "kind", "answer": ["chemical", "both"]}
    with pytest.raises(sp.CellProblem, match='write the earlier item\'s id = the answers, e.g. "rcv-01 = no, na"'):
        by["Show if"].read("gate no")


def test_a_wrong_show_if_cell_is_named_at_its_cell(tmp_path):
    loaded = load(tmp_path, SHOW_IF_WALK)
    data = copy.deepcopy(loaded.data)
    data["sections"][0]["items"][1]["show_if"] = {"item": "gate", "answer": ["maybe"]}
    result = sp.read_checklist_upload(sp.checklist_workbook(data), "showif-walk.xlsx")
    column = next(k for k, c in enumerate(sp.ITEM_COLUMNS, start=1) if c.header == "Show if")
    cell = f"Items!{get_column_letter(column)}3"
    assert [str(p) for p in result.problems] == [
        f'{cell}: show_if.answer[0]: "gate" can never be answered "maybe" (it gives yes, no, na); use one of: yes, no, na'
    ]


# --- the server: hidden items are not asked ------------------------------------------------------


@pytest.fixture
def walk_audit(app, client, make_user):
    """A planned audit of SHOW_IF_WALK, `client` logged in as its lead auditor."""
    lead = make_user("auditor")
    audit = plan_show_if_walk(app, make_user("quality_lead"), lead)
    log_in(client, lead)
    return audit


def send(client, audit, key, value=None, result=None):
    it = item(audit, key)
    current = db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=it.id))
    data = [("base_revision", str(current.revision if current else 0))]
    if value is not None:
        data.append(("value", value))
    if result is not None:
        data.append(("result", result))
    response = client.post(f"/audits/{audit.id}/items/{it.id}/answer", data=MultiDict(data), headers=HX)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    return response.get_data(as_text=True)


def item(audit, key):
    return next(i for i in audit.checklist_version.items if i.key == key)


def ids(audit, *keys) -> str:
    return " ".join(sorted(str(item(audit, k).id) for k in keys))


def not_asked_of(html: str) -> str:
    found = re.search(r'<div id="not-asked" hidden data-not-asked="([\d ]*)"', html)
    assert found, "the not-asked list is missing"
    return " ".join(sorted(found.group(1).split()))


def test_the_screen_hides_items_whose_condition_is_not_met_and_counts_only_what_is_asked(client, walk_audit):
    audit = walk_audit
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert "<strong>0</strong>/2 answered" in page  # gate and kind; why and the spill kit section are not asked
    why, gate = item(audit, "why"), item(audit, "gate")
    assert f'id="item-{why.id}" data-show-if=\'{{"answer": ["no", "na"], "item": "{gate.id}"}}\' hidden>' in page
    assert re.search(rf'<li class="item" id="item-{gate.id}">', page)  # a trigger carries nothing
    kind = item(audit, "kind")
    section = why.version.sections[1]
    assert (
        f'id="section-{section.id}" data-show-if=\'{{"answer": ["chemical", "both"], "item": "{kind.id}"}}\' hidden>'
        in page
    )
    assert not_asked_of(page) == ids(audit, "why", "kit-where", "kit-sealed")
    assert f'<a href="#section-{section.id}" hidden>' in page  # its chip in the section bar too

    # An answer's response says, out of band, what is asked now, with the progress.
    html = send(client, audit, "gate", "no")
    assert not_asked_of(html) == ids(audit, "kit-where", "kit-sealed")
    assert "<strong>1</strong>/3 answered" in html
    html = send(client, audit, "kind", "both")
    assert not_asked_of(html) == ids(audit, "kit-sealed")  # kit-where unanswered hides kit-sealed
    assert "<strong>2</strong>/4 answered" in html
    html = send(client, audit, "kit-where", result="conform")
    assert not_asked_of(html) == ""
    assert "<strong>3</strong>/5 answered" in html
    # The item fetched alone (after a sync) carries its condition and whether it is asked now.
    alone = client.get(f"/audits/{audit.id}/items/{why.id}", headers=HX).get_data(as_text=True)
    assert "data-show-if=" in alone and "hidden>" not in alone.split("</h3>")[0]


def test_hidden_items_never_block_completion_and_are_not_recorded_as_not_audited(client, walk_audit):
    audit = walk_audit
    send(client, audit, "gate", "yes")
    send(client, audit, "kind", "dry")
    check = completion.completion_check(audit)
    assert check.unanswered == [] and check.blockers == []
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Gate closed, dry goods."})
    assert done.status_code == 302, done.get_data(as_text=True)
    stored = db.session.scalars(db.select(Response).filter_by(audit_id=audit.id)).all()
    assert sorted(item_key(r) for r in stored) == ["gate", "kind"]  # nothing written for what was not asked


def item_key(response) -> str:
    return response.item.key


def test_an_answer_on_an_item_that_became_hidden_is_kept_but_counts_nowhere(client, walk_audit):
    audit = walk_audit
    send(client, audit, "gate", "yes")
    send(client, audit, "kind", "chemical")
    send(client, audit, "kit-where", result="minor_nc")  # needs a written finding: blocks completion
    assert [b.item_id for b in completion.completion_check(audit).blockers] == [item(audit, "kit-where").id]
    html = send(client, audit, "kind", "dry")  # the spill kit section is no longer asked
    assert not_asked_of(html) == ids(audit, "why", "kit-where", "kit-sealed")
    assert "<strong>2</strong>/2 answered" in html
    check = completion.completion_check(audit)
    assert check.blockers == [] and check.unanswered == [] and "minor_nc" not in check.progress.counts
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    row = report.split(item(audit, "kit-where").question)[1].split("</tr>")[0]
    assert "Not asked: condition not met" in row and "Answer kept, not counted: Minor NC" in row
    assert "Recorded deviations" not in report
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Dry goods only."})
    assert done.status_code == 302, done.get_data(as_text=True)
    kept = db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=item(audit, "kit-where").id))
    assert (kept.result, kept.not_asked) == ("minor_nc", True)
    asked = db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=item(audit, "gate").id))
    assert asked.not_asked is False
    rows = list(export.result_rows(date.today(), date.today()))
    assert [r[9] for r in rows if r[7] == "kit-where"] == ["Not asked: condition not met"]
    assert [r[9] for r in rows if r[7] == "gate"] == ["Conform"]
    pdf = client.get(f"/audits/{audit.id}/report.pdf")
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(pdf.data)).pages).split())
    assert text.count("Not asked: condition not met") == 3 and "Answer kept, not counted: Minor NC" in text


def test_the_readmes_show_if_example_is_a_valid_checklist(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("**Conditions (show-if).**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = load(tmp_path, "id: showif-walk\ntitle: Show-if walk\nversion: 1\n" + block)
    assert loaded.ok, messages(loaded)
    assert [s.get("show_if") for s in loaded.data["sections"]] == [
        None,
        {"item": "kind", "answer": ["chemical", "both"]},
    ]


def test_the_checklist_preview_says_when_an_item_or_section_is_asked(client, walk_audit):
    version = walk_audit.checklist_version
    page = client.get(f"/checklists/{version.checklist.key}/v{version.number}").get_data(as_text=True)
    assert "Asked only when gate = no, na" in page
    assert "Section asked only when kind = chemical, both" in page


def test_an_answer_kept_on_a_hidden_item_does_not_audit_its_clause(app, client, make_user):
    """The coverage map counts what was asked: kit-where covers ISO 9001 8.5.1, answered, then hidden."""
    folder = Path(app.config["CHECKLIST_DIR"])
    text = SHOW_IF_WALK.replace("version: 1\n", "version: 1\nstandard: ISO 9001:2015\n").replace(
        'reference: "S-4"', 'clause: "8.5.1"'
    )
    (folder / "showif-walk.yaml").write_text(text, encoding="utf-8")
    lead = make_user("auditor")
    audit = plan_show_if_walk(app, make_user("quality_lead"), lead, write=False)
    log_in(client, lead)
    send(client, audit, "gate", "yes")
    send(client, audit, "kind", "chemical")
    send(client, audit, "kit-where", result="conform")
    tallied = select(coverage.answer_tallies(None, None).subquery())
    send(client, audit, "kind", "dry")
    assert client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Dry goods."}).status_code == 302
    assert db.session.execute(tallied).all() == []
    # The same answer in an audit where it is asked counts.
    other = plan_show_if_walk(app, make_user("quality_lead"), lead, write=False)
    send(client, other, "gate", "yes")
    send(client, other, "kind", "chemical")
    send(client, other, "kit-where", result="conform")
    send(client, other, "kit-sealed", result="conform")
    assert client.post(f"/audits/{other.id}/complete", data={"conclusion": "Chemicals."}).status_code == 302
    assert [(r.clause, r.result) for r in db.session.execute(tallied)] == [("8.5.1", "conform")]


def test_a_section_condition_below_the_sections_first_row_is_named_at_its_cell(tmp_path):
    loaded = load(tmp_path, SHOW_IF_WALK)
    book = load_workbook(BytesIO(sp.checklist_workbook(loaded.data)))
    sheet = book[sp.ITEMS_SHEET]
    column = next(k for k, c in enumerate(sp.ITEM_COLUMNS, start=1) if c.header == "Section show if")
    sheet.cell(row=3, column=column, value="gate = no")  # the second row of "Receiving"
    out = BytesIO()
    book.save(out)
    result = sp.read_checklist_upload(out.getvalue(), "showif-walk.xlsx")
    assert [str(p) for p in result.problems] == [f"Items!{get_column_letter(column)}3: {sp.SECTION_SHOW_IF_LATER}"]
