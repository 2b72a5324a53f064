"""Show-if conditions (issue 15): `show_if: {item, answer}` on items and sections, validated with plain
messages, and the one rule (checklists/conditions.py) that says which items are not asked."""

import copy
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl.utils import get_column_letter

from auditapp.checklists import answers, conditions
from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file

from .support.conditions import SHOW_IF_WALK

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
    before = {
        "5s-walk.yaml": "ebe381be5097d1239ea6645735b27fe97f254f0cc58bcc7de589b51e09e63387",
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
