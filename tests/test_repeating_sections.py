"""Repeating sections (issue 15): a section the auditor answers once per station, machine or shift,
adding copies during the audit; each copy answered, counted and completed on its own."""

import io
import textwrap
from pathlib import Path

import pytest
from openpyxl import load_workbook

from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file

from .support.checklists import VALID

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
