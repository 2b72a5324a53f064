"""Checklists from and to spreadsheets: the column table, problems at cells, round trips, bad files."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from auditapp.checklists import spreadsheet as sp
from auditapp.checklists.loader import load_checklist_file
from auditapp.core.sheets import MAX_ROWS
from tests.support.standards import SHIPPED_CHECKLISTS

SHIPPED = sorted(SHIPPED_CHECKLISTS.glob("*.yaml"))
FLOOR = SHIPPED_CHECKLISTS / "production-floor-walk.yaml"


def shipped(path: Path) -> dict:
    loaded = load_checklist_file(path)
    assert loaded.ok, loaded.problems
    return loaded


def edited(path: Path, **cells) -> bytes:
    """The export of a shipped checklist with some Items cells changed (None empties a cell)."""
    book = load_workbook(io.BytesIO(sp.checklist_workbook(shipped(path).data)))
    for name, value in cells.items():
        sheet, _, cell = name.rpartition("_")
        book[sheet or "Items"][cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def problems(result) -> list[str]:
    return [str(p) for p in result.problems]


def notes(result) -> list[str]:
    return [str(p) for p in result.notes]


# --- the column table -------------------------------------------------------------------------


def test_the_rules_columns_read_and_write_each_other():
    by = {c.header: c for c in sp.ITEM_COLUMNS}
    procedures = [
        {"title": "Red-tag routine", "url": "https://intranet.example/5s"},
        {"title": "5S", "document": "QP-1"},
    ]
    cell = by["Procedures"].write(procedures)
    assert cell == "Red-tag routine | https://intranet.example/5s\n5S | QP-1"
    assert by["Procedures"].read(cell) == procedures
    with pytest.raises(sp.CellProblem, match="needs its document number or address"):
        by["Procedures"].read("Red-tag routine")
    assert by["Photo needed for"].read("Major NC, minor_nc") == ["major_nc", "minor_nc"]
    findings = next(f for f in sp.CHECKLIST_FIELDS if f.key == "findings")
    assert findings.read("none") == {"required_for": []} and findings.write({"required_for": []}) == "none"
    assert findings.read("major_nc") == {"required_for": ["major_nc"]}


def test_every_key_of_the_checklist_format_has_a_column_or_field():
    # A key added to the schema without a column would be dropped by the export: add its entry.
    assert sp.uncovered_keys() == {"checklist": [], "section": [], "item": []}


@pytest.mark.parametrize(
    ("header", "value", "cell"),
    [
        ("Section", "Receiving", "Receiving"),
        ("Section clause", "8.5", "8.5"),
        ("Item id", "rcv-03", "rcv-03"),
        ("Reference", "A.5.1", "A.5.1"),
        ("Clause", "8.5.1", "8.5.1"),
        ("Clauses", {"ISO 9001:2015": ["7.5.1", "7.5.3"], "ISO 14001:2015": ["7.5"]}, CLAUSES := sp.CLAUSES_EXAMPLE),
        ("Question", "Is the torque checked?", "Is the torque checked?"),
        ("Guidance", "Look at the log.\nAsk the operator.", "Look at the log.\nAsk the operator."),
        ("Evidence", ["work order", "torque log"], "work order; torque log"),
        ("Evidence", ["a; b", "c"], "a; b\nc"),
        ("Photo rule", "required_on_nc", "required_on_nc"),
        ("Results", ["conform", "minor_nc", "na"], "conform, minor_nc, na"),
    ],
)
def test_each_column_writes_a_value_and_reads_it_back(header, value, cell):
    column = next(c for c in sp.ITEM_COLUMNS if c.header == header)
    assert column.write(value) == cell
    assert column.read(cell) == value


def test_cells_are_read_the_way_a_spreadsheet_author_writes_them():
    by = {c.header: c for c in sp.ITEM_COLUMNS}
    assert by["Results"].read("Conform; Minor NC; N/A") == ["conform", "minor_nc", "na"]
    assert by["Photo rule"].read("Required on NC") == "required_on_nc"
    assert by["Evidence"].read("one\n\ntwo ") == ["one", "two"]
    assert by["Clauses"].read("ISO 9001:2015 8.5.1 8.5.2") == {"ISO 9001:2015": ["8.5.1", "8.5.2"]}
    assert by["Question"].read("   ") is sp.MISSING
    assert by["Section clause"].read(8.5) == "8.5" and by["Item id"].read(12.0) == "12"
    version = next(f for f in sp.CHECKLIST_FIELDS if f.key == "version")
    assert version.read(3.0) == 3 and version.read(" 4 ") == 4 and version.read("two") == "two"
    with pytest.raises(sp.CellProblem, match='"compliant" is not a result; did you mean "conform"'):
        by["Results"].read("compliant")
    with pytest.raises(sp.CellProblem, match="does not name a standard"):
        by["Clauses"].read("8.5.1")


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_export_then_import_gives_identical_content(path):
    loaded = shipped(path)
    result = sp.read_checklist_upload(sp.checklist_workbook(loaded.data), f"{path.stem}.xlsx")
    assert problems(result) == [] and notes(result) == []
    assert result.data == loaded.data
    assert result.content_hash == loaded.content_hash


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_csv_export_then_import_gives_identical_content(path):
    loaded = shipped(path)
    details = {k: str(loaded.data[k]) for k in ("id", "title", "version", "description", "standard")}
    if "findings" in loaded.data:  # a checklist-level rule: a CSV holds items only, like the id and title
        details["findings"] = sp._write_finding_rules(loaded.data["findings"])
    if "scoring" in loaded.data:  # scoring's points per result are checklist-level too
        details["scoring"] = sp._write_scoring(loaded.data["scoring"])
    result = sp.read_checklist_upload(sp.items_csv(loaded.data).encode(), f"{path.stem}.csv", details)
    assert problems(result) == []
    assert result.content_hash == loaded.content_hash


def test_csv_with_semicolons_and_windows_encoding_reads_with_a_note():
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Section", "Item id", "Reference", "Question"])
    writer.writerow(["Réception", "rcv-1", "RCV-1", "Is the goods-in area tidy and the café clean?"])
    writer.writerow(["", "rcv-2", "RCV-2", "Are deliveries checked against the order?"])
    data = out.getvalue().encode("cp1252")
    result = sp.read_checklist_upload(data, "walk.csv", {"id": "walk", "title": "Walk", "version": "1"})
    assert problems(result) == []
    assert result.data["sections"][0]["title"] == "Réception"
    assert [i["id"] for i in result.data["sections"][0]["items"]] == ["rcv-1", "rcv-2"]
    assert any("read as Windows-1252" in n for n in notes(result))


def test_csv_without_checklist_details_says_where_to_give_them():
    data = b"Section,Item id,Reference,Question\nYard,y-1,Y1,Is the yard swept?\n"
    result = sp.read_checklist_upload(data, "yard.csv")
    assert problems(result) == [
        'Checklist: no "Checklist id" row; add one with the value in column B',
        'Checklist: no "Title" row; add one with the value in column B',
        'Checklist: no "Version" row; add one with the value in column B',
    ]
    result = sp.read_checklist_upload(data, "yard.csv", {"id": "Yard walk", "title": "Yard", "version": "x"})
    assert problems(result) == [
        "Checklist id (form): must be lowercase letters, digits and '-', e.g. iso9001-2015",
        "Version (form): expected a whole number, not 'x'",
    ]


# --- problems at cells ------------------------------------------------------------------------


def test_every_problem_is_shown_at_the_cell_it_came_from():
    data = edited(
        FLOOR,
        K7="compliant, minor_nc",
        E4="9.9.9",
        C5="7.5.3.1-wi-at-station",
        G6=None,
        F8="ISO 14001:2015 7.5",
        J9="sometimes",
        Checklist_B4="two",
    )
    result = sp.read_checklist_upload(data, "floor.xlsx")
    assert problems(result) == [
        "Checklist!B4: expected a whole number, not 'two'",
        'Items!E4: "9.9.9" is not a clause of ISO 9001:2015; under 9 it has 9.1, 9.2, 9.3',
        'Items!C5: duplicate item id "7.5.3.1-wi-at-station" (first used at Items!C2)',
        "Items!G6: Question is empty; fill it in",
        'Items!K7: "compliant" is not a result; did you mean "conform"?',
        "Items!F8: fill in either Clause or Clauses, not both",
        'Items!J9: "sometimes" is not a photo rule; use one of: never, optional, required_on_nc, always',
    ]
    assert result.data is None and not result.ok
    assert "clause: 9.9.9" in result.yaml_text  # the YAML it became is shown too


def test_the_same_mistake_down_a_column_is_one_message():
    cells = {f"K{r}": "passed" for r in range(3, 20)}
    result = sp.read_checklist_upload(edited(FLOOR, **cells), "floor.xlsx")
    assert problems(result) == ['Items!K3, K4, K5 and 14 more: "passed" is not a result; did you mean "conform"?']


def test_problems_without_a_cell_go_to_the_row_or_the_sheet():
    book = Workbook()
    book.active.title = "Items"
    book.active.append(["Section", "Item id", "Question"])
    book.active.append(["Yard", "y-1", "Is the yard swept?"])
    out = io.BytesIO()
    book.save(out)
    result = sp.read_checklist_upload(out.getvalue(), "yard.xlsx", {"id": "yard", "title": "Yard", "version": "1"})
    # no Reference or Clause column: the item's problem goes to its row
    assert problems(result) == ['Items row 2: needs a reference (any short text, e.g. "A.5.1") or a clause']


def test_a_section_written_once_for_a_block_of_rows_is_carried_down():
    book = Workbook()
    sheet = book.active
    sheet.title = "Items"
    sheet.append(["Section", "Section clause", "Item id", "Reference", "Question"])
    sheet.append(["Receiving", None, "r-1", "R1", "Are goods checked on arrival?"])
    sheet.append([None, None, "r-2", "R2", "Are rejects kept apart?"])
    sheet.append([None, None, "r-3", "R3", "Are labels legible?"])
    sheet.merge_cells("A2:A4")
    sheet.append(["Storage"])  # a row with only a section starts it
    sheet.append([None, None, "s-1", "S1", "Is stock rotated first in, first out?"])
    sheet.append(["Storage", None, "s-2", "S2", "Are shelves labelled?"])  # the title repeated: same section
    out = io.BytesIO()
    book.save(out)
    result = sp.read_checklist_upload(out.getvalue(), "walk.xlsx", {"id": "walk", "title": "Walk", "version": "1"})
    assert problems(result) == []
    assert [(s["title"], [i["id"] for i in s["items"]]) for s in result.data["sections"]] == [
        ("Receiving", ["r-1", "r-2", "r-3"]),
        ("Storage", ["s-1", "s-2"]),
    ]


def with_cached_values(xlsx: bytes, values: dict[str, str]) -> bytes:
    """The workbook with a saved value for each formula cell, as Excel writes it on saving."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":
                text = data.decode()
                for cell, value in values.items():
                    text = re.sub(
                        rf'<c r="{cell}"([^>]*)><f>([^<]*)</f><v ?/>',
                        rf'<c r="{cell}"\1 t="str"><f>\2</f><v>{value}</v>',
                        text,
                    )
                data = text.encode()
            target.writestr(info, data)
    return out.getvalue()


def test_formulas_are_read_as_their_saved_values_and_say_so():
    data = with_cached_values(
        edited(FLOOR, G3='=CONCAT("Is the ", "torque right?")', G4="=A1"), {"G3": "Is the torque right?"}
    )
    result = sp.read_checklist_upload(data, "floor.xlsx")
    assert problems(result) == [f"Items!G4: {sp.NO_SAVED_VALUE}"]
    assert notes(result) == ["Items!G3: a formula; the value Excel saved with the file was read"]
    assert "question: Is the torque right?" in result.yaml_text


def test_numbers_in_code_columns_are_read_as_text_with_a_note():
    result = sp.read_checklist_upload(edited(FLOOR, E3=8.5), "floor.xlsx")
    assert problems(result) == []
    assert notes(result) == [
        'Items!E3: the number 8.5 was read as the text "8.5"; format the column as Text so that 7.10 stays 7.10'
    ]


def test_text_that_looks_like_a_formula_is_exported_as_text():
    data = shipped(FLOOR).data
    data["sections"][0]["items"][0]["question"] = "=HYPERLINK(1) looks like a formula?"
    book = load_workbook(io.BytesIO(sp.checklist_workbook(data)))
    assert book["Items"]["G2"].data_type == "s"
    result = sp.read_checklist_upload(sp.checklist_workbook(data), "floor.xlsx")
    assert result.data["sections"][0]["items"][0]["question"] == "=HYPERLINK(1) looks like a formula?"


def test_the_template_has_the_columns_help_and_drop_downs():
    book = load_workbook(io.BytesIO(sp.checklist_workbook(None)))
    assert book.sheetnames == ["Checklist", "Items", "Help"]
    assert [c.value for c in book["Items"][1]] == [c.header for c in sp.ITEM_COLUMNS]
    assert book["Items"]["J1"].comment.text.startswith("When a photo is asked for")
    lists = [v.formula1 for v in book["Items"].data_validations.dataValidation]
    assert '"never,optional,required_on_nc,always"' in lists
    assert [book["Checklist"].cell(r, 1).value for r in range(2, 8)] == [
        "Checklist id",
        "Title",
        "Version",
        "Standards",
        "Description",
        "Renamed items",
    ]
    help_rows = [row[1] for row in book["Help"].iter_rows(values_only=True)]
    assert all(c.header in help_rows for c in sp.ITEM_COLUMNS)
    # the empty template reads back as "fill me in", not as an error page
    result = sp.read_checklist_upload(sp.checklist_workbook(None), "template.xlsx")
    assert "Items: no items yet; add one row per item under the header row" in problems(result)


# --- files that are not spreadsheets ------------------------------------------------------------


def zip_with(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "this is an old Excel file (.xls)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "this is not a CSV text file"),
        (b"PK\x03\x04 broken", "the file looks like a zip but cannot be opened"),
        (zip_with({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}), "OpenDocument"),
        (zip_with({"word/document.xml": b"<w/>"}), "this zip file is not an Excel workbook"),
        (zip_with({"[Content_Types].xml": b"<x", "xl/workbook.xml": b"<nope"}), "the workbook cannot be read"),
        # 100 MB of one letter packs into 100 KB: refused from the zip's directory, never unpacked
        (zip_with({"xl/workbook.xml": b"<w/>", "xl/sharedStrings.xml": b"a" * 100_000_000}), "unpacks to"),
        (zip_with({"xl/workbook.xml": b"<w/>", "xl/sharedStrings.xml": b"a" * 20_000_000}), "text table"),
        (b"Section,Question\n" + b"a,b\n" * (MAX_ROWS + 1), "more than 5,000 rows"),
        (b"x" * (4 * 1024 * 1024 + 1), "spreadsheets are limited to 4 MB"),
        (b"Name,Owner\nx,y\n", "no sheet has the item columns"),
        (b'Section,Question\n"' + b"a" * 200_000 + b'"\n', "the CSV file cannot be read"),
    ],
    ids=[
        "empty",
        "xls",
        "png",
        "broken-zip",
        "ods",
        "docx",
        "bad-xml",
        "zip-bomb",
        "huge-shared-strings",
        "rows",
        "size",
        "no-columns",
        "huge-field",
    ],
)
def test_a_file_that_is_not_a_readable_checklist_spreadsheet_is_refused_clearly(data, message):
    with pytest.raises(sp.SpreadsheetRefused) as refused:
        sp.read_checklist_upload(data, "upload.xlsx")
    assert message in refused.value.message
    assert refused.value.status == 422


# --- keys without a column of their own ---------------------------------------------------------

FUTURE = {
    "answer": {
        "type": "number",
        "unit": "Nm",
        "min": 40,
        "max": 45.5,
        "no": "minor_nc",
        "options": [{"value": "clean", "label": "Clean: ok", "result": "conform"}, "dirty"],
    },
    "procedures": [{"title": "Torque work instruction", "document": "WI-12 rev C"}],
}


def test_the_more_column_carries_any_other_key_and_reads_it_back():
    more = next(c for c in sp.ITEM_COLUMNS if c.path == sp.MORE)
    assert more.read(more.write(FUTURE)) == FUTURE
    with pytest.raises(sp.CellProblem, match="anchors and aliases"):
        more.read("{a: &x [1, 2], b: *x}")
    with pytest.raises(sp.CellProblem, match="write a YAML mapping"):
        more.read("[1, 2]")
    with pytest.raises(sp.CellProblem, match="not a YAML mapping"):
        more.read("{a: [")


def test_an_export_never_drops_a_key_it_has_no_column_for():
    data = shipped(FLOOR).data
    data["sections"][0]["items"][1]["later"] = {"type": "number", "unit": "Nm", "limits": [40, 45]}
    data["later"] = {"kept": True}
    result = sp.read_checklist_upload(sp.checklist_workbook(data), "floor.xlsx")
    assert "unit: Nm" in result.yaml_text and "kept: true" in result.yaml_text
    # the schema has no such keys: the loader's problems point at the cells that carry them
    found = problems(result)
    assert len(found) == 2, found
    assert re.match(r"Checklist!B\d+: later: unknown field", found[0]), found
    assert re.match(r"Items![A-Z]+3: later: unknown field", found[1]), found


def test_a_key_with_its_own_column_is_refused_in_the_more_column():
    more = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[[c.header for c in sp.ITEM_COLUMNS].index("More (YAML)")]
    result = sp.read_checklist_upload(edited(FLOOR, **{f"{more}4": "{question: Twice?}"}), "floor.xlsx")
    assert problems(result) == [f'Items!{more}4: "question" has a column of its own; write it there']


def test_a_zip_of_an_unknown_version_is_refused():
    data = bytearray(zip_with({"xl/workbook.xml": b"<w/>"}))
    central = data.index(b"PK\x01\x02")
    data[central + 6 : central + 8] = (255).to_bytes(2, "little")  # "version needed to extract": 25.5
    with pytest.raises(sp.SpreadsheetRefused, match="cannot be opened"):
        sp.read_checklist_upload(bytes(data), "odd.xlsx")


def test_csv_export_quotes_text_a_spreadsheet_would_run_and_import_takes_the_quote_off():
    data = shipped(FLOOR).data
    data["sections"][0]["items"][0]["question"] = "=HYPERLINK(1) looks like a formula?"
    data["sections"][0]["items"][0]["evidence"] = ["-5 degrees log", "@mention list"]
    text = sp.items_csv(data)
    assert "'=HYPERLINK(1)" in text and "'-5 degrees log" in text
    details = {"id": data["id"], "title": data["title"], "version": "1", "standard": data["standard"]}
    details["description"] = data["description"]
    result = sp.read_checklist_upload(text.encode(), "floor.csv", details)
    assert problems(result) == []
    assert result.data == data


def test_a_last_row_of_nothing_but_a_formula_is_read():
    data = with_cached_values(edited(FLOOR, A30="=A2"), {"A30": "Point of use"})
    result = sp.read_checklist_upload(data, "floor.xlsx")
    assert notes(result) == ["Items!A30: a formula; the value Excel saved with the file was read"]
    # its saved value starts a section of that title, with no items under it
    assert problems(result) == ["Items row 30: a section needs at least one item"]
