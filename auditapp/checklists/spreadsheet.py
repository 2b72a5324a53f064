"""Checklists to and from spreadsheets (XLSX and CSV).

A spreadsheet is another way of writing the checklist YAML, never a second format: an upload is
turned into YAML text, that text is validated by the same loader as a file in ``checklists/``,
and publishing imports it through ``services.import_checklist`` like every other source. Every
problem the loader finds (it names a field path such as ``sections[1].items[2].clause``) is
shown at the cell it came from: ``Items!F7: ...``.

The layout is data: ``ITEM_COLUMNS`` (one row per item on the Items sheet) and
``CHECKLIST_FIELDS`` (one row per field on the Checklist sheet). Each entry names the YAML key it
fills, how a cell is read and how a value is written, so a new YAML key is one more entry.
``uncovered_keys`` lists the schema's keys that have no entry (a test keeps it empty).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook as XlsxWorkbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent

from ..accounts.models import User
from ..core.errors import RuleError
from ..core.sheets import SheetFileError, Table, cell_name, read_upload
from ..core.tabular import to_csv
from . import answers, services, standards
from .loader import LoadedChecklist, content_hash, line_of, validate_text
from .models import RESULT_LABELS, ChecklistVersion
from .schemas import KEYS_BY_LEVEL, PHOTO_RULES, RESULT_CODES

ITEMS_SHEET = "Items"
CHECKLIST_SHEET = "Checklist"
HELP_SHEET = "Help"
TEMPLATE_ROWS = 500  # rows of the Items sheet that carry the drop-down lists in the template

MISSING: Any = object()  # an empty cell: the key is left out of the YAML
NO_SAVED_VALUE = "a formula with no saved value; open and save the file in Excel, or type the value"
SECTION_SHOW_IF_LATER = (
    "a section's condition goes on its first row (with its title), where it applies to all its items"
)
CLAUSE_WITHOUT_TITLE = "a new section clause but no Section title; write the section's title on this row"


class CellProblem(ValueError):
    """A cell that cannot be read; the message is shown at the cell."""


# --- reading and writing one cell ----------------------------------------------------------------


def _text(value: Any) -> Any:
    """Cell text, trimmed; numbers and dates as they read; an empty cell is MISSING."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or MISSING


def _whole_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value)
    if text is MISSING:
        return MISSING
    return int(text) if re.fullmatch(r"\d{1,9}", text) else text  # text: the loader explains


def _lines(value: Any) -> Any:
    """A list: one entry per line of the cell, or entries separated by ";"."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    parts = text.splitlines() if "\n" in text else text.split(";")
    entries = [p.strip() for p in parts if p.strip()]
    return entries or MISSING


def _write_text(value: Any) -> Any:
    return None if value in (None, "") else value


def _write_lines(values: Any) -> Any:
    if not values:
        return None
    joiner = "\n" if any(";" in v or "\n" in v for v in values) else "; "
    return joiner.join(values)


# Words other tools use for a result, with the result they most likely mean.
RESULT_WORDS = {
    "compliant": "conform",
    "compliance": "conform",
    "conforming": "conform",
    "conformity": "conform",
    "ok": "conform",
    "pass": "conform",
    "passed": "conform",
    "not_applicable": "na",
    "not applicable": "na",
    "n.a.": "na",
    "minor": "minor_nc",
    "minor nonconformity": "minor_nc",
    "major": "major_nc",
    "major nonconformity": "major_nc",
    "obs": "observation",
    "opportunity for improvement": "ofi",
    "improvement": "ofi",
}


def _results(value: Any) -> Any:
    """Result codes separated by "," or ";"; the app's labels ("Minor NC", "N/A") are understood."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    by_label = {str(label).lower(): code for code, label in RESULT_LABELS.items()}
    out = []
    for word in (w.strip() for w in re.split(r"[,;\n]", text)):
        if not word:
            continue
        key = word.lower()
        if key in RESULT_CODES:
            out.append(key)
        elif key in by_label:
            out.append(by_label[key])
        elif key.replace(" ", "_").replace("-", "_") in RESULT_CODES:
            out.append(key.replace(" ", "_").replace("-", "_"))
        elif key in RESULT_WORDS:
            raise CellProblem(f'"{word}" is not a result; did you mean "{RESULT_WORDS[key]}"?')
        else:
            out.append(word)  # the loader says it is not a result, with the list
    return out or MISSING


def _results_one(value: Any) -> Any:
    """One result code (the app's labels understood)."""
    results = _results(value)
    if results is MISSING or len(results) != 1:
        return results if results is MISSING else ", ".join(results)  # the loader names what is wrong
    return results[0]


def _write_results(values: Any) -> Any:
    return ", ".join(values) if values else None


def _photo(value: Any) -> Any:
    text = _text(value)
    if text is MISSING:
        return MISSING
    code = text.lower().replace(" ", "_").replace("-", "_")
    return code if code in PHOTO_RULES else text


CLAUSES_EXAMPLE = "ISO 9001:2015 7.5.1, 7.5.3; ISO 14001:2015 7.5"


def _clause_map(value: Any) -> Any:
    """ "ISO 9001:2015 7.5.1, 7.5.3; ISO 14001:2015 7.5" -> {standard: [clauses]}."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    out: dict[str, list[str]] = {}
    for part in (p.strip() for p in re.split(r"[;\n]", text)):
        if not part:
            continue
        name, codes = _standard_and_codes(part)
        if name is None:
            raise CellProblem(f'"{part}" does not name a standard and its clauses; write e.g. "{CLAUSES_EXAMPLE}"')
        if name in out:
            raise CellProblem(f'"{name}" is named twice; list its clauses once, separated by commas')
        out[name] = codes
    return out or MISSING


def _standard_and_codes(part: str) -> tuple[str | None, list[str]]:
    for known in sorted(standards.names(), key=len, reverse=True):
        if part.lower().startswith(known.lower()) and part[len(known) : len(known) + 1] in ("", " ", ":"):
            rest = part[len(known) :].lstrip(" :")
            return known, [c for c in re.split(r"[,\s]+", rest) if c]
    match = re.fullmatch(r"(.*?\S)\s+(\w[\w.]*(?:\s*,\s*\w[\w.]*)*)", part)
    if match is None or not re.search(r"[A-Za-z]", match.group(1)):
        return None, []
    return match.group(1), [c.strip() for c in match.group(2).split(",")]


def _write_clause_map(mapping: Any) -> Any:
    if not mapping:
        return None
    return "; ".join(f"{name} {', '.join(codes)}".rstrip() for name, codes in mapping.items())


def _renamed(value: Any) -> Any:
    """ "old-id -> new-id; other -> next" -> {old: new}."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    out = {}
    for part in (p.strip() for p in re.split(r"[;\n]", text)):
        if not part:
            continue
        old, arrow, new = part.partition("->")
        if not arrow or not old.strip() or not new.strip():
            raise CellProblem(f'"{part}" is not "old-id -> new-id"')
        out[old.strip()] = new.strip()
    return out or MISSING


def _write_renamed(mapping: Any) -> Any:
    return "; ".join(f"{old} -> {new}" for old, new in mapping.items()) if mapping else None


def _procedures(value: Any) -> Any:
    """One procedure per line: "title | document" or "title | https://address" (or both, in either order)."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    out = []
    for line in (part.strip() for part in text.splitlines()):
        if not line:
            continue
        title, *refs = (p.strip() for p in line.split("|"))
        entry: dict[str, str] = {"title": title}
        for ref in filter(None, refs):
            key = "url" if re.match(r"(?i)^https?:", ref) else "document"
            if key in entry:
                raise CellProblem(f'"{line}" gives two {key}s; write "title | document | https://address"')
            entry[key] = ref
        if not refs:
            raise CellProblem(
                f'"{line}" needs its document number or address: "title | WI-12" or "title | https://..."'
            )
        out.append(entry)
    return out or MISSING


def _write_procedures(values: Any) -> Any:
    if not values:
        return None
    lines = []
    for p in values:
        refs = [p[k] for k in ("document", "url") if p.get(k)]
        lines.append(" | ".join([p["title"], *refs]))
    return "\n".join(lines)


def _finding_rules(value: Any) -> Any:
    """The results that need a written finding ("major_nc"; "none" for none at all)."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    if text.strip().lower() == "none":
        return {"required_for": []}
    results = _results(text)
    return MISSING if results is MISSING else {"required_for": results}


def _write_finding_rules(rules: Any) -> Any:
    if not rules:
        return None
    return _write_results(rules.get("required_for")) or "none"


def _number(value: Any) -> Any:
    """A limit: a number as the sheet holds it, or text that reads as one ("40", "4.5", "4,5")."""
    if isinstance(value, bool):
        return value  # the loader says it is not a number
    if isinstance(value, (int, float)):
        return value
    text = _text(value)
    if text is MISSING:
        return MISSING
    for parse in (int, float):
        try:
            return parse(text.replace(",", "."))
        except ValueError:
            continue
    raise CellProblem(f'"{text}" is not a number like 40 or 4.5')


def _write_number(value: Any) -> Any:
    return value


def _options(value: Any) -> Any:
    """One option per line: "value", or "value | label | result" (label and result may be left empty)."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    out: list[Any] = []
    for line in (part.strip() for part in text.splitlines()):
        if not line:
            continue
        if "|" not in line:
            out.append(line)
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 4:
            raise CellProblem(f'"{line}" has more than value | label | result | points')
        option: dict[str, Any] = {"value": parts[0]}
        for key, part in zip(("label", "result"), parts[1:3], strict=False):
            if part:
                option[key] = part
        if len(parts) == 4 and parts[3]:
            option["points"] = _number(parts[3])  # scoring (issue 15)
        out.append(option)
    return out or MISSING


def _write_options(options: Any) -> Any:
    if not options:
        return None
    lines = []
    for option in options:
        if isinstance(option, str):
            lines.append(option)
        else:
            parts = [option["value"], option.get("label", ""), option.get("result", "")]
            if "points" in option:
                parts.append(answers.number_text(option["points"]))  # scoring (issue 15)
            lines.append(" | ".join(parts).rstrip())
            if lines[-1] == option["value"]:
                lines[-1] += " |"  # a mapping of its value alone stays a mapping
    return "\n".join(lines)


SHOW_IF_EXAMPLE = "rcv-01 = no, na"


def _show_if(value: Any) -> Any:
    """ "rcv-01 = no, na" -> {item: rcv-01, answer: [no, na]}: asked only when rcv-01 was answered so."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    item, equals, listed = text.partition("=")
    answer = [a.strip() for a in re.split(r"[,;\n]", listed) if a.strip()]
    if not equals or not item.strip() or not answer:
        raise CellProblem(
            f'"{text}" is not a condition; write the earlier item\'s id = the answers, e.g. "{SHOW_IF_EXAMPLE}"'
        )
    return {"item": item.strip(), "answer": answer}


def _write_show_if(condition: Any) -> Any:
    return f"{condition['item']} = {', '.join(condition['answer'])}" if condition else None


# --- scoring (issue 15): points per result, "conform 2, minor_nc 1, major_nc 0" -------------------
POINTS_EXAMPLE = "conform 2, observation 1, ofi 2, minor_nc 1, major_nc 0"
_POINTS_PART = re.compile(r"^(?P<result>.*?)\s*[=:]?\s*(?P<points>[+-]?\d+(?:[.,]\d+)?)$")


def _points(value: Any) -> Any:
    """Points per result: "conform 2, minor_nc 1" (also "conform=2; minor_nc=1", one per line)."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    out: dict[str, Any] = {}
    for part in (p.strip() for p in re.split(r"[,;\n]", text)):
        if not part:
            continue
        found = _POINTS_PART.match(part)
        if not found or not found.group("result"):
            raise CellProblem(f'"{part}" is not a result and its points, like {POINTS_EXAMPLE}')
        out[found.group("result")] = _number(found.group("points"))
    return out or MISSING


def _write_points(points: Any) -> Any:
    if not points:
        return None
    return ", ".join(f"{result} {answers.number_text(n)}" for result, n in points.items())


def _scoring(value: Any) -> Any:
    points = _points(value)
    return MISSING if points is MISSING else {"points": points}


def _write_scoring(scoring: Any) -> Any:
    return _write_points((scoring or {}).get("points"))


REPEAT_MAX_WORDS = re.compile(r"^(?P<label>.*?)\s*,\s*max(?:imum)?\s*:?\s*(?P<max>\d+)\s*$", re.IGNORECASE)


def _repeat(value: Any) -> Any:
    """ "Station" or "Station, max 10": the section repeats, the auditor adds copies named by the label
    (issue 15, helper "repeat"); the schema checks the label's length and the maximum."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    match = REPEAT_MAX_WORDS.match(text)
    if match is None:
        if re.search(r",\s*max", text, re.IGNORECASE):
            raise CellProblem(f'"{text}" is not a label and a maximum like "Station, max 10"')
        return {"label": text}
    if not match["label"]:
        raise CellProblem(f'"{text}" has no label; write it like "Station, max 10"')
    return {"label": match["label"], "max": int(match["max"])}


def _write_repeat(repeat: Any) -> Any:
    if not repeat:
        return None
    label = str(repeat.get("label", ""))
    return f"{label}, max {repeat['max']}" if "max" in repeat else label


MORE = ("*",)  # the path of the column that carries keys without a column of their own
MAX_MORE_CHARS = 20_000


def _more(value: Any) -> Any:
    """A YAML mapping of keys that have no column yet ({answer: {type: number, unit: Nm}})."""
    text = _text(value)
    if text is MISSING:
        return MISSING
    if len(text) > MAX_MORE_CHARS:
        raise CellProblem(f"at most {MAX_MORE_CHARS:,} characters of YAML")
    try:
        for event in YAML(typ="rt").parse(text):  # refuse what could expand before building anything
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                raise CellProblem("anchors and aliases (& and *) are not allowed; write the value out")
        parsed = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise CellProblem(f"not a YAML mapping like {{key: value}}: {str(exc).splitlines()[0]}")
    if not isinstance(parsed, dict) or not all(isinstance(k, str) for k in parsed):
        raise CellProblem("write a YAML mapping like {key: value}")
    return parsed or MISSING


def _write_more(mapping: Any) -> Any:
    if not mapping:
        return None
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = True
    yaml.width = 1_000_000
    out = io.StringIO()
    yaml.dump(dict(mapping), out)
    return out.getvalue().strip()


# --- the layout, as data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the Items sheet: the YAML key it fills, at section or item level."""

    header: str
    level: str  # "section" | "item"
    path: tuple[str, ...]  # where the value goes in the section's or item's mapping
    help: str
    read: Callable[[Any], Any] = _text
    write: Callable[[Any], Any] = _write_text
    allowed: Callable[[], list[str]] | None = None  # a drop-down list in the template
    code: bool = False  # short codes: the sheet formats the column as text, numbers get a note
    required: bool = False
    width: int = 16

    @property
    def key(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Field:
    """One row of the Checklist sheet: label in column A, value in column B."""

    label: str
    key: str
    help: str
    read: Callable[[Any], Any] = _text
    write: Callable[[Any], Any] = _write_text
    in_template: bool = True
    required: bool = False


def _result_column(header: str, path: tuple[str, ...], help: str) -> Column:
    """An item column holding one result code (a drop-down of the codes in the template)."""
    return Column(header, "item", path, help, read=_results_one, allowed=lambda: list(RESULT_CODES), code=True)


def _results_column(header: str, path: tuple[str, ...], help: str) -> Column:
    """An item column holding result codes separated by commas."""
    return Column(header, "item", path, help, read=_results, write=_write_results, allowed=lambda: list(RESULT_CODES))


ITEM_COLUMNS: list[Column] = [
    Column(
        "Section",
        "section",
        ("title",),
        "The section's title. Write it on the section's first row; rows below with an empty Section"
        " cell (or a merged cell) belong to the same section. A row with only a Section starts it.",
        required=True,
        width=22,
    ),
    Column("Section clause", "section", ("clause",), "Optional clause number the section covers, e.g. 8.5.", code=True),
    Column(
        "Item id",
        "item",
        ("id",),
        "A short unique id that stays when the question is reworded: letters, digits, '.', '_' or '-',"
        " e.g. 8.5.2-traceability.",
        code=True,
        required=True,
        width=22,
    ),
    Column(
        "Reference",
        "item",
        ("reference",),
        'Your reference for the item, any short text: "A.5.1", "5S-2", "8.5.1".',
        code=True,
    ),
    Column(
        "Clause",
        "item",
        ("clause",),
        "Shortcut when the checklist declares one standard: its clause number, which is also the"
        " item's reference. Leave Reference and Clauses empty then.",
        code=True,
    ),
    Column(
        "Clauses",
        "item",
        ("clauses",),
        f'Clauses of the declared standards the item covers: standard, then its clauses, e.g. "{CLAUSES_EXAMPLE}".',
        read=_clause_map,
        write=_write_clause_map,
        width=28,
    ),
    Column(
        "Question",
        "item",
        ("question",),
        "What the auditor asks or checks (3-1000 characters).",
        required=True,
        width=50,
    ),
    Column("Guidance", "item", ("guidance",), "How to audit it: what to look at, good and bad signs.", width=50),
    Column(
        "Evidence",
        "item",
        ("evidence",),
        "Records or things to look at: one per line, or separated by ;",
        read=_lines,
        write=_write_lines,
        width=30,
    ),
    Column(
        "Photo rule",
        "item",
        ("photo",),
        "When a photo is asked for. Empty means optional.",
        read=_photo,
        allowed=lambda: list(PHOTO_RULES),
    ),
    Column(
        "Results",
        "item",
        ("results",),
        "The results the auditor may choose, separated by commas. Empty means all of them.",
        read=_results,
        write=_write_results,
        allowed=lambda: list(RESULT_CODES),
        width=24,
    ),
    Column(
        "Answer type",
        "item",
        ("answer", "type"),
        "How the item is answered. Empty: the ISO grades (Results column). yes_no, number, text, date,"
        " choice or multi_choice: fill the answer columns that follow.",
        allowed=lambda: list(answers.ANSWER_TYPES),
        code=True,
    ),
    Column("Unit", "item", ("answer", "unit"), "A number answer's unit, e.g. Nm.", code=True),
    Column(
        "Min",
        "item",
        ("answer", "min"),
        "A number answer's lowest conforming value.",
        read=_number,
        write=_write_number,
    ),
    Column(
        "Max",
        "item",
        ("answer", "max"),
        "A number answer's highest conforming value.",
        read=_number,
        write=_write_number,
    ),
    _result_column(
        "Outside limits", ("answer", "outside"), "The result proposed for a number outside Min/Max (empty: minor_nc)."
    ),
    _result_column("If no", ("answer", "no"), "A yes_no answer's result for No (empty: minor_nc)."),
    Column(
        "Choices",
        "item",
        ("answer", "options"),
        "A choice's options, one per line: value, or value | label | result (e.g. dirty | Dirty | minor_nc);"
        " scoring: value | label | result | points (e.g. clean | Clean | conform | 2).",
        read=_options,
        write=_write_options,
        width=30,
    ),
    _results_column(
        "Photo needed for",
        ("require", "photo"),
        "Results for which the item needs a photo (besides its photo rule), separated by commas.",
    ),
    _results_column(
        "Note needed for", ("require", "note"), "Results for which the item needs a note, separated by commas."
    ),
    Column(
        "Procedures",
        "item",
        ("procedures",),
        "What the item checks, one per line: title | document number, or title | https://address.",
        read=_procedures,
        write=_write_procedures,
        width=36,
    ),
    Column(
        "Section weight",
        "section",
        ("weight",),
        "Scoring: the section's weight in the total, written on the section's first row (empty: 1).",
        read=_number,
        write=_write_number,
    ),
    Column(
        "Points",
        "item",
        ("points",),
        "Scoring: the item's own points per result, instead of the checklist's Scoring points for the results"
        f" named, e.g. {POINTS_EXAMPLE}. Empty: the checklist's.",
        read=_points,
        write=_write_points,
        width=24,
    ),
    Column(
        "Weight",
        "item",
        ("weight",),
        "Scoring: the item's weight in its section (empty: 1; 0 leaves it out of the score).",
        read=_number,
        write=_write_number,
    ),
    Column(
        "More (YAML)",
        "item",
        MORE,
        "Keys of the checklist format that have no column of their own, as YAML: {key: value, other: [a, b]}.",
        read=_more,
        write=_write_more,
        width=30,
    ),
    # show-if (issue 15, helper "showif"): last, so the columns before keep their letters
    Column(
        "Show if",
        "item",
        ("show_if",),
        "Optional: the item is asked only when an earlier item was answered so: its id = the answers,"
        f' e.g. "{SHOW_IF_EXAMPLE}". Answers: yes, no or na (yes/no items), option values (choices), results'
        " (ISO-grade and number items). Otherwise it is not asked and never blocks completion.",
        read=_show_if,
        write=_write_show_if,
        width=20,
    ),
    Column(
        "Section show if",
        "section",
        ("show_if",),
        "Optional, on the section's first row: the whole section is asked only when an item of an earlier"
        f' section was answered so, e.g. "{SHOW_IF_EXAMPLE}" (see Show if).',
        read=_show_if,
        write=_write_show_if,
        width=20,
    ),
    # --- repeating sections (issue 15, helper "repeat"): last, so the columns before keep their letters
    Column(
        "Repeat as",
        "section",
        ("repeat",),
        "Only for a section the auditor answers once per station, machine or shift: the name of one copy,"
        ' e.g. "Station", or "Station, max 10" (at most 50; 10 when not given). Write it on the section\'s'
        ' first row; the auditor adds "Station 2", "Station 3"... during the audit.',
        read=_repeat,
        write=_write_repeat,
    ),
]

CHECKLIST_FIELDS: list[Field] = [
    Field("Checklist id", "id", "Lowercase letters, digits and '-', e.g. supplier-audit.", required=True),
    Field("Title", "title", "The name auditors see.", required=True),
    Field(
        "Version",
        "version",
        "A whole number; raise it by one for each change you publish.",
        read=_whole_number,
        write=lambda v: v,
        required=True,
    ),
    Field(
        "Standards",
        "standards",
        "The standards the checklist covers, separated by ; (e.g. ISO 9001:2015; ISO 14001:2015)."
        " Leave empty for a checklist of another scheme (a 5S walk).",
        read=_lines,
        write=_write_lines,
    ),
    Field(
        "Standard",
        "standard",
        "The one standard the checklist covers (older form of Standards; use one of the two).",
        in_template=False,
    ),
    Field("Description", "description", "What the checklist is for, shown in the library."),
    Field(
        "Renamed items",
        "renamed",
        "Only when an item id changed since the last version: old-id -> new-id; other-old -> other-new",
        read=_renamed,
        write=_write_renamed,
    ),
    Field(
        "Findings needed for",
        "findings",
        "The results that need a written finding, separated by commas (e.g. major_nc); none for no finding at"
        " all. Empty: every finding grade (minor_nc, major_nc, observation, ofi), as an ISO audit needs.",
        read=_finding_rules,
        write=_write_finding_rules,
    ),
    Field(
        "Scoring points",
        "scoring",
        f"Turns scoring on: the points each result earns, e.g. {POINTS_EXAMPLE}. N/A, recorded answers and"
        " unanswered items are not scored. Empty: no scoring (Points, Weight and Section weight stay empty).",
        read=_scoring,
        write=_write_scoring,
    ),
    Field(
        "More (YAML)",
        "*",
        "Checklist keys of the format that have no row of their own, as YAML: {key: value}.",
        read=_more,
        write=_write_more,
        in_template=False,
    ),
]

SECTION_COLUMNS = [c for c in ITEM_COLUMNS if c.level == "section"]
ROW_COLUMNS = [c for c in ITEM_COLUMNS if c.level == "item"]


def uncovered_keys() -> dict[str, list[str]]:
    """YAML keys of the schema that no column or field writes (a new key needs an entry)."""
    covered = {
        "checklist": {f.key for f in CHECKLIST_FIELDS} | {"sections"},
        "section": {c.path[0] for c in SECTION_COLUMNS} | {"items"},
        "item": {c.path[0] for c in ROW_COLUMNS},
    }  # keys listed here travel in the "More (YAML)" column (items) or row (checklist) meanwhile
    return {level: [k for k in KEYS_BY_LEVEL[level] if k not in covered[level]] for level in covered}


def _normal(header: Any) -> str:
    return " ".join(str(header).replace("_", " ").lower().split()) if header is not None else ""


_COLUMN_BY_HEADER = {_normal(c.header): c for c in ITEM_COLUMNS} | {
    _normal(c.key): c for c in ITEM_COLUMNS if c.level == "item"
}
_FIELD_BY_LABEL = {_normal(f.label): f for f in CHECKLIST_FIELDS} | {_normal(f.key): f for f in CHECKLIST_FIELDS}


# --- reading an upload ---------------------------------------------------------------------------


@dataclass
class SheetProblem:
    """A problem (or a note) and where it is: "Items!F7", "Items row 7", "Checklist", "Version (form)"."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class SheetImport:
    """What an upload became: the YAML text, its validated data, and problems at cells."""

    source_name: str
    yaml_text: str | None = None
    data: dict | None = None
    content_hash: str | None = None
    problems: list[SheetProblem] = field(default_factory=list)
    notes: list[SheetProblem] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)  # checklist key -> where it was read

    @property
    def ok(self) -> bool:
        return not self.problems and self.data is not None

    @property
    def item_count(self) -> int:
        return sum(len(s["items"]) for s in self.data["sections"]) if self.data else 0


class SpreadsheetRefused(RuleError):
    """The upload is not a readable spreadsheet of a checklist (422, shown beside the upload)."""

    def __init__(self, message: str):
        super().__init__("file", message)


@dataclass
class _Where:
    """Cells of the sheet that each part of the YAML came from."""

    sheet: str = ITEMS_SHEET
    fields: dict[str, str] = field(default_factory=dict)  # checklist key -> "Checklist!B3"
    field_labels: dict[str, str] = field(default_factory=dict)
    section_rows: list[int] = field(default_factory=list)
    section_cells: list[dict[str, str]] = field(default_factory=list)  # column key -> cell
    item_rows: list[list[int]] = field(default_factory=list)
    item_cells: list[list[dict[str, str]]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # column key -> header as written


def read_checklist_upload(
    data: bytes,
    filename: str,
    details: dict[str, str] | None = None,
    detail_where: Callable[[Field], str] | None = None,
) -> SheetImport:
    """An uploaded XLSX or CSV as checklist YAML, validated, with every problem at its cell.

    `details` (YAML key -> text) fills checklist fields the file does not give: a CSV holds items
    only, so its id, title and version come from the form next to the upload (or CLI options).
    Raises SpreadsheetRefused when the file is not a readable spreadsheet at all.
    """
    try:
        book = read_upload(data, filename)
    except SheetFileError as exc:
        raise SpreadsheetRefused(exc.message)
    result = SheetImport(source_name=Path(filename).name or "upload")
    result.notes.extend(SheetProblem("file", n) for n in book.notes)
    if book.kind == "csv":  # undo the quote core.tabular puts before text a spreadsheet would run
        for table in book.tables:
            table.rows = [[_unescape(v) for v in row] for row in table.rows]
    items, header_row = _items_table(book.tables)
    where = _Where(sheet=items.name)
    doc = CommentedMap()
    _read_fields(book.table(CHECKLIST_SHEET), details or {}, detail_where, doc, where, result)
    _read_items(items, header_row, doc, where, result)
    result.cells = dict(where.fields)
    result.yaml_text = dump_yaml(doc, f"Made from {result.source_name} by the spreadsheet import.")
    loaded = LoadedChecklist(path=Path(result.source_name), display_path=result.source_name)
    validate_text(result.yaml_text, loaded)
    taken = {p.where for p in result.problems}
    # Messages that point at a YAML line ("first used at line 12") point at its cell instead.
    lines = _cells_by_line(result.yaml_text, where) if any("line " in p.message for p in loaded.problems) else {}
    for problem in loaded.problems:
        cell = _cell_of(problem.field, where)
        if cell in taken:
            continue  # the cell already has the reader's (better) message
        result.problems.append(SheetProblem(cell, _sheet_message(problem.field, problem.message, where, lines)))
    result.problems = _collapse(_sorted(result.problems))
    result.notes = _collapse(_sorted(result.notes))
    if not result.problems and loaded.ok:
        result.data = loaded.data
        result.content_hash = loaded.content_hash
    return result


def _unescape(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        return value[1:]
    return value


def _items_table(tables: list[Table]) -> tuple[Table, int]:
    """The sheet of items and its header row: "Items", else the first sheet with known headers."""
    ordered = sorted(tables, key=lambda t: t.name.strip().lower() != ITEMS_SHEET.lower())
    for table in ordered:
        for r, row in enumerate(table.rows[:10], start=1):
            if sum(_normal(v) in _COLUMN_BY_HEADER for v in row) >= 2:
                return table, r
    headers = ", ".join(c.header for c in ITEM_COLUMNS[:4])
    raise SpreadsheetRefused(
        f"no sheet has the item columns ({headers}, ...) in its first rows; start from the template"
    )


def _read_fields(table, details, detail_where, doc, where: _Where, result: SheetImport) -> None:
    values: dict[str, Any] = {}
    if table is not None:
        for r, row in enumerate(table.rows, start=1):
            label = _normal(row[0]) if row else ""
            found = _FIELD_BY_LABEL.get(label.rstrip(":"))
            if found is None:
                continue
            cell = f"{table.name}!{cell_name(r, 2)}"
            where.fields[found.key] = cell
            value = table.value(r, 2)
            if (r, 2) in table.formulas:
                result.notes.append(SheetProblem(cell, "a formula; the value Excel saved with the file was read"))
            try:
                read = found.read(value)
            except CellProblem as exc:
                result.problems.append(SheetProblem(cell, str(exc)))
                continue
            if read is not MISSING:
                values[found.key] = read
    for f in CHECKLIST_FIELDS:
        where.field_labels[f.key] = f.label
        text = (details.get(f.key) or "").strip()
        if f.key in values or not text:
            continue
        where.fields[f.key] = detail_where(f) if detail_where else f"{f.label} (form)"
        try:
            read = f.read(text)
        except CellProblem as exc:
            result.problems.append(SheetProblem(where.fields[f.key], str(exc)))
            continue
        if read is not MISSING:
            values[f.key] = read
    for f in CHECKLIST_FIELDS:  # the YAML's key order, whatever the sheet's row order
        if f.key in values and f.key != "*":
            doc[f.key] = values[f.key]
    for key, value in values.get("*", {}).items():
        if key in doc or key == "sections":
            cell = where.fields["*"]
            result.problems.append(SheetProblem(cell, f'"{key}" has a row of its own; write it there'))
        else:
            doc[key] = value
            where.fields[key] = where.fields["*"]


def _read_items(table: Table, header_row: int, doc, where: _Where, result: SheetImport) -> None:
    columns: dict[int, Column] = {}
    for c, header in enumerate(table.rows[header_row - 1], start=1):
        column = _COLUMN_BY_HEADER.get(_normal(header))
        if column is None:
            if _normal(header):
                result.notes.append(
                    SheetProblem(f"{table.name}!{cell_name(header_row, c)}", f'column "{header}" is not read')
                )
            continue
        if column.key in where.headers.values() or column in columns.values():
            result.problems.append(
                SheetProblem(f"{table.name}!{cell_name(header_row, c)}", f'a second "{column.header}" column')
            )
            continue
        columns[c] = column
        where.headers[column.level + ":" + column.key] = f"{table.name}!{cell_name(header_row, c)}"
    for column in ITEM_COLUMNS:
        if column.required and column not in columns.values():
            result.problems.append(
                SheetProblem(f"{table.name}!{header_row}:{header_row}", f'no "{column.header}" column; add it')
            )
    sections = CommentedSeq()
    doc["sections"] = sections
    current: CommentedMap | None = None
    for r in range(header_row + 1, len(table.rows) + 1):
        section_values: dict[Column, Any] = {}
        item_values: dict[Column, Any] = {}
        cells: dict[Column, str] = {}
        for c, column in columns.items():
            cell = f"{table.name}!{cell_name(r, c)}"
            cells[column] = cell
            raw = table.value(r, c)
            if (r, c) in table.formulas:
                if raw is None:
                    result.problems.append(SheetProblem(cell, NO_SAVED_VALUE))
                    continue
                result.notes.append(SheetProblem(cell, "a formula; the value Excel saved with the file was read"))
            if column.code and isinstance(raw, (int, float)) and not isinstance(raw, bool):
                result.notes.append(
                    SheetProblem(
                        cell,
                        f'the number {_text(raw)} was read as the text "{_text(raw)}"; format the column as Text'
                        " so that 7.10 stays 7.10",
                    )
                )
            try:
                value = column.read(raw)
            except CellProblem as exc:
                result.problems.append(SheetProblem(cell, str(exc)))
                value = MISSING
                if column.level == "item":
                    item_values.setdefault(column, MISSING)
            if value is MISSING:
                continue
            (section_values if column.level == "section" else item_values)[column] = value
        has_item = bool(item_values)
        if not section_values and not has_item:
            continue  # an empty row
        title = next((v for c, v in section_values.items() if c.path == ("title",)), MISSING)
        clause = next((v for c, v in section_values.items() if c.path == ("clause",)), MISSING)
        starts = current is None or (
            title is not MISSING and (title != current.get("title") or _or_none(clause) != current.get("clause"))
        )
        if not starts and title is MISSING and clause is not MISSING and current is not None:
            if clause != current.get("clause"):
                cell = next(cells[c] for c in section_values if c.path == ("clause",))
                result.problems.append(SheetProblem(cell, CLAUSE_WITHOUT_TITLE))
        shown_if = next((v for c, v in section_values.items() if c.path == ("show_if",)), MISSING)
        if not starts and shown_if is not MISSING and current is not None and shown_if != current.get("show_if"):
            cell = next(cells[c] for c in section_values if c.path == ("show_if",))
            result.problems.append(SheetProblem(cell, SECTION_SHOW_IF_LATER))
        if starts:
            current = CommentedMap()
            for column in SECTION_COLUMNS:
                if column in section_values:
                    _put(current, column.path, section_values[column])
            current["items"] = CommentedSeq()
            sections.append(current)
            where.section_rows.append(r)
            where.section_cells.append({c.key: cell for c, cell in cells.items() if c.level == "section"})
            where.item_rows.append([])
            where.item_cells.append([])
        if has_item:
            assert current is not None  # a section was started above
            item = CommentedMap()
            for column in ROW_COLUMNS:  # the table's order is the YAML's order
                value = item_values.get(column, MISSING)
                if value is MISSING:
                    continue
                if column.path != MORE:
                    _put(item, column.path, value)
                    continue
                for key, extra in value.items():
                    if key in item or any(c.path[0] == key for c in ROW_COLUMNS):
                        result.problems.append(
                            SheetProblem(cells[column], f'"{key}" has a column of its own; write it there')
                        )
                    else:
                        item[key] = extra
            current["items"].append(item)
            where.item_rows[-1].append(r)
            where.item_cells[-1].append({c.key: cell for c, cell in cells.items() if c.level == "item"})


def _or_none(value: Any) -> Any:
    return None if value is MISSING else value


def _put(mapping: CommentedMap, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        mapping = mapping.setdefault(key, CommentedMap())
    mapping[path[-1]] = value


def _get(mapping: dict, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(mapping, dict) or key not in mapping:
            return None
        mapping = mapping[key]
    return mapping


_PATH = re.compile(r"^sections\[(\d+)\](?:\.items\[(\d+)\])?(?:\.(.+))?$")


def _cell_of(field_path: str, where: _Where) -> str:
    """The cell (or row, or sheet) a loader problem's field path came from."""
    match = _PATH.match(field_path)
    if match is None:
        key = re.split(r"[.\[]", field_path, maxsplit=1)[0]
        if key == "sections":
            return where.sheet
        if key in where.fields:
            return where.fields[key]
        return CHECKLIST_SHEET if key else where.sheet
    s, i, rest = int(match.group(1)), match.group(2), match.group(3) or ""
    if s >= len(where.section_rows):
        return where.sheet
    if i is None:
        column = _column_for(rest, SECTION_COLUMNS)
        cells = where.section_cells[s]
        if column is not None and column.key in cells:
            return cells[column.key]
        return f"{where.sheet} row {where.section_rows[s]}"
    i_ = int(i)
    if i_ >= len(where.item_rows[s]):
        return f"{where.sheet} row {where.section_rows[s]}"
    column = _column_for(rest, ROW_COLUMNS)
    cells = where.item_cells[s][i_]
    if column is None and rest:
        column = next((c for c in ROW_COLUMNS if c.path == MORE), None)  # a key without a column
    if column is not None and column.key in cells:
        return cells[column.key]
    return f"{where.sheet} row {where.item_rows[s][i_]}"


def _column_for(rest: str, columns: list[Column]) -> Column | None:
    """The column whose key is the longest prefix of a field path's rest ("clauses.ISO 9001:2015")."""
    best = None
    for column in columns:
        key = column.key
        if rest == key or rest.startswith(key + ".") or rest.startswith(key + "["):
            if best is None or len(key) > len(best.key):
                best = column
    return best


def _sheet_message(field_path: str, message: str, where: _Where, lines: dict[int, str]) -> str:
    """The loader's message in the sheet's words: columns and cells, not YAML keys and lines."""
    match = _PATH.match(field_path)
    rest = (match.group(3) or "") if match else ""
    if field_path == "sections" and message.startswith("a checklist needs at least one section"):
        return "no items yet; add one row per item under the header row"
    if message == "required field is missing":
        if match is None:
            label = where.field_labels.get(field_path, field_path)
            if field_path in where.fields:
                return f"{label} is empty; fill it in"
            return f'no "{label}" row; add one with the value in column B'
        columns = ROW_COLUMNS if match.group(2) is not None else SECTION_COLUMNS
        column = _column_for(rest, columns)
        if column is not None:
            if column.path == ("title",):
                return "the first item has no section; write the section's title here"
            return f"{column.header} is empty; fill it in"
    own_row = {f.key for f in CHECKLIST_FIELDS if f.key != "*"}
    if match is not None and match.group(2) is not None and rest and _column_for(rest, ROW_COLUMNS) is None:
        message = f"{rest}: {message}"  # a key in the More column: say which
    elif match is not None and "." in rest and not rest.startswith(("clauses", "results", "evidence")):
        message = f"{rest}: {message}"
    elif match is None and field_path and re.split(r"[.\[]", field_path, maxsplit=1)[0] not in own_row:
        message = f"{field_path}: {message}"
    for yaml_words, sheet_words in _SHEET_WORDS:
        message = message.replace(yaml_words, sheet_words)
    message = re.sub(r"\bline (\d+)", lambda m: lines.get(int(m.group(1)), m.group(0)), message)
    return re.sub(
        r"sections\[(\d+)\]",
        lambda m: (
            f"the section on row {where.section_rows[int(m.group(1))]}"
            if int(m.group(1)) < len(where.section_rows)
            else m.group(0)
        ),
        message,
    )


# The loader speaks of YAML keys; a spreadsheet author knows the columns.
_SHEET_WORDS = [
    ("give either clause (of the one standard) or clauses, not both", "fill in either Clause or Clauses, not both"),
    ("a reference in another scheme goes in reference:", "a reference in another scheme goes in the Reference column:"),
    ("declare it first with standards: [...]", "add it to Standards on the Checklist sheet first"),
    ("leaves the standard out and gives each item a reference", "leaves Standards empty, each item a Reference"),
]


def _cells_by_line(text: str, where: _Where) -> dict[int, str]:
    """YAML line -> the cell its value came from (the loader's messages name lines)."""
    loaded = LoadedChecklist(path=Path("x"), display_path="x")
    try:
        loaded.doc = YAML(typ="rt").load(text)
    except Exception:  # the loader reports what is wrong with the text itself
        return {}
    out: dict[int, str] = {}
    for s, cells_of_items in enumerate(where.item_cells):
        for i, cells in enumerate(cells_of_items):
            for key, cell in cells.items():
                line = line_of(loaded, "sections", s, "items", i, *key.split("."))
                if line:
                    out.setdefault(line, cell)
    return out


def _position(where: str) -> tuple:
    match = re.match(r"^(.*)!([A-Z]+)(\d+)$", where)
    if match:
        return (match.group(1), int(match.group(3)), len(match.group(2)), match.group(2))
    match = re.match(r"^(.*) row (\d+)$", where)
    if match:
        return (match.group(1), int(match.group(2)), 0, "")
    return ("", 0, 0, where)


def _sorted(problems: list[SheetProblem]) -> list[SheetProblem]:
    return sorted(problems, key=lambda p: (p.where.split("!")[0] != CHECKLIST_SHEET, _position(p.where)))


def _collapse(problems: list[SheetProblem], keep: int = 3) -> list[SheetProblem]:
    """One message for a mistake repeated down a column: "Items!C2, C3, C4 and 94 more: ..."."""
    groups: dict[tuple[str, str, str], list[SheetProblem]] = {}
    for p in problems:
        match = re.match(r"^(.*)!([A-Z]+)\d+$", p.where)
        key = (match.group(1), match.group(2), p.message) if match else ("", p.where, p.message + str(id(p)))
        groups.setdefault(key, []).append(p)
    out = []
    for (sheet, _, message), group in groups.items():
        if len(group) <= keep + 1 or not sheet:
            out.extend(group)
            continue
        shown = [group[0].where] + [g.where.split("!", 1)[1] for g in group[1:keep]]
        out.append(SheetProblem(f"{', '.join(shown)} and {len(group) - keep} more", message))
    return out


def items_csv(data: dict) -> str:
    """The Items sheet of a validated checklist as CSV (same columns; the checklist fields go in the form)."""
    rows = []
    for section in data["sections"]:
        for item in section["items"]:
            rows.append([_cell_value(c, section, item) for c in ITEM_COLUMNS])
    return to_csv([c.header for c in ITEM_COLUMNS], rows)


# --- YAML text -----------------------------------------------------------------------------------


def dump_yaml(doc: Any, comment: str = "") -> str:
    """The YAML text of a checklist mapping, strings quoted where YAML would misread them."""
    yaml = YAML(typ="rt")
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    if comment:
        out.write(f"# {comment}\n")
    yaml.dump(doc, out)
    return out.getvalue()


# --- writing a workbook ----------------------------------------------------------------------------

HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def checklist_workbook(data: dict | None) -> bytes:
    """The XLSX of a validated checklist (export), or the empty template when data is None."""
    missing = [k for k in _data_keys(data) if k not in _covered_keys()] if data else []
    if missing:  # never drop content silently: the exporter must know every key
        raise RuleError("file", f"this checklist uses {', '.join(missing)}, which the spreadsheet has no column for")
    book = XlsxWorkbook()
    fields_sheet = book.active
    fields_sheet.title = CHECKLIST_SHEET
    _write_fields(fields_sheet, data)
    items_sheet = book.create_sheet(ITEMS_SHEET)
    _write_items(items_sheet, data)
    _write_help(book.create_sheet(HELP_SHEET))
    book.active = 1 if data else 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _covered_keys() -> set[str]:
    return {"section:" + c.path[0] for c in SECTION_COLUMNS} | {"section:items"}


def _data_keys(data: dict) -> set[str]:
    """The section keys a checklist uses (items and the checklist have the More column and row)."""
    return {"section:" + k for section in data.get("sections", []) for k in section}


def _cell_value(column: Column, section: dict, item: dict) -> Any:
    """What a column's cell holds for an item of a validated checklist."""
    if column.path == MORE:
        return column.write(_extra(item, {c.path[0] for c in ROW_COLUMNS}))
    return column.write(_get(section if column.level == "section" else item, column.path))


def _extra(mapping: dict, keys: set[str]) -> dict:
    """The keys of a mapping that have no column or row of their own."""
    return {k: v for k, v in mapping.items() if k not in keys}


def _set(cell: Any, value: Any) -> None:
    """A value in a cell; text is always stored as text (never run as a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _write_fields(sheet: Any, data: dict | None) -> None:
    sheet.append(["Field", "Value", "What to write"])
    for c in sheet[1]:
        c.font, c.fill = BOLD, HEADER_FILL
    for f in CHECKLIST_FIELDS:
        if data is None:
            if not f.in_template:
                continue
            value = None
        else:
            value = data.get(f.key) if f.key != "*" else _extra(data, {g.key for g in CHECKLIST_FIELDS} | {"sections"})
            if f.key == "standard" and not value:
                continue  # "Standards" carries a checklist's standards unless it used the older key
            if f.key == "standards" and "standards" not in data:
                continue
            value = f.write(value)
            if f.key == "*" and value is None:
                continue
        row = sheet.max_row + 1
        _set(sheet.cell(row, 1), f.label)
        sheet.cell(row, 1).font = BOLD
        _set(sheet.cell(row, 2), value)
        sheet.cell(row, 2).number_format = "@"
        sheet.cell(row, 2).alignment = WRAP
        _set(sheet.cell(row, 3), f.help + (" Required." if f.required else ""))
        sheet.cell(row, 3).alignment = WRAP
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 50
    sheet.column_dimensions["C"].width = 70


def _write_items(sheet: Any, data: dict | None) -> None:
    for c, column in enumerate(ITEM_COLUMNS, start=1):
        cell = sheet.cell(1, c)
        _set(cell, column.header)
        cell.font, cell.fill = BOLD, HEADER_FILL
        allowed = f" Allowed: {', '.join(column.allowed())}." if column.allowed else ""
        cell.comment = Comment(column.help + allowed + (" Required." if column.required else ""), "auditapp")
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = column.width
        if column.code:
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    row = 2
    for section in (data or {}).get("sections", []):
        for item in section["items"]:
            for c, column in enumerate(ITEM_COLUMNS, start=1):
                value = _cell_value(column, section, item)
                cell = sheet.cell(row, c)
                _set(cell, value)
                if column.code:
                    cell.number_format = "@"
                if isinstance(value, str) and len(value) > 40:
                    cell.alignment = WRAP
            row += 1
    last = max(row + 200, TEMPLATE_ROWS)
    for c, column in enumerate(ITEM_COLUMNS, start=1):
        if column.allowed and column.read is not _results:  # a list of several can't be a drop-down
            letter = sheet.cell(1, c).column_letter
            choice = DataValidation(type="list", formula1='"' + ",".join(column.allowed()) + '"', allow_blank=True)
            choice.error = f"Choose one of: {', '.join(column.allowed())}"
            choice.showErrorMessage = True
            sheet.add_data_validation(choice)
            choice.add(f"{letter}2:{letter}{last}")


def _write_help(sheet: Any) -> None:
    sheet.append(["How this workbook becomes a checklist"])
    sheet["A1"].font = Font(bold=True, size=13)
    for line in (
        "Checklist sheet: one field per row, its name in column A and its value in column B.",
        "Items sheet: one row per item, under the header row. Columns are found by their header, in any order;"
        " columns with other headers are ignored.",
        "A CSV file holds the Items sheet only: give the checklist id, title and version next to the upload.",
        "Nothing is imported by uploading: the app shows the YAML the file becomes and every problem at its cell;"
        " a quality lead then publishes it as the next version.",
        "",
    ):
        sheet.append([line])
    sheet.append(["Sheet", "Column or field", "Required", "What to write", "Allowed values"])
    for c in sheet[sheet.max_row]:
        c.font, c.fill = BOLD, HEADER_FILL
    for f in CHECKLIST_FIELDS:
        sheet.append([CHECKLIST_SHEET, f.label, "yes" if f.required else "", f.help, ""])
    for column in ITEM_COLUMNS:
        allowed = ", ".join(column.allowed()) if column.allowed else ""
        if column.path == ("results",):
            allowed += " (the app's labels such as Minor NC and N/A are understood too)"
        sheet.append([ITEMS_SHEET, column.header, "yes" if column.required else "", column.help, allowed])
    for row in sheet.iter_rows(min_row=8):
        for c in row:
            c.alignment = WRAP
    for letter, width in zip("ABCDE", (12, 18, 10, 70, 40), strict=True):
        sheet.column_dimensions[letter].width = width


# --- versions, permissions and publishing ----------------------------------------------------------


def version_data(version: ChecklistVersion) -> dict:
    """A version's validated content, read again from the YAML it was imported from."""
    loaded = LoadedChecklist(path=Path(version.source_path), display_path=version.source_path)
    validate_text(version.source_text, loaded)
    if not loaded.ok or loaded.data is None:
        raise RuleError("file", "this version's YAML no longer validates; download the YAML source instead")
    return loaded.data


def may_import(user: User | Any) -> bool:
    """Who may publish a checklist from a spreadsheet: whoever may write checklists in the browser."""
    return bool(getattr(user, "is_authenticated", False)) and user.can_author_checklists


def publish_problem(result: SheetImport) -> SheetProblem | None:
    """What publishing would refuse, shown before the author presses Publish: the version rule
    (services.version_problem's, in its words), at the Version cell."""
    if result.data is None:
        return None
    checklist = services.get_checklist(result.data["id"])
    loaded = LoadedChecklist(
        Path(result.source_name), result.source_name, data=result.data, content_hash=result.content_hash
    )
    refusal = services.version_problem(loaded, checklist.latest if checklist else None)
    return SheetProblem(_version_cell(result), refusal.message) if refusal is not None else None


def _version_cell(result: SheetImport) -> str:
    return result.cells.get("version", "Version")


MAX_YAML_CHARS = 4 * 1024 * 1024


def pack_yaml(text: str) -> str:
    """The YAML for the publish form's hidden field, compressed: a 1,000-item checklist's YAML
    (about 600 kB) would pass the 500 kB a form field may carry (Flask's MAX_FORM_MEMORY_SIZE)."""
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def unpack_yaml(packed: str) -> str:
    """The text pack_yaml packed; RuleError for anything else (never inflates past MAX_YAML_CHARS)."""
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.b64decode(packed, validate=True), MAX_YAML_CHARS)
        if inflate.unconsumed_tail or not inflate.eof:
            raise RuleError("yaml", "the checklist to publish is too big or cut short; upload the file again")
        return raw.decode()
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError):
        raise RuleError("yaml", "the checklist to publish was damaged on the way; upload the file again")


def same_content(a: dict, b: dict) -> bool:
    """Two validated checklists hash the same."""
    return content_hash(a) == content_hash(b)
