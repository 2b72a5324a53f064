"""Standards as data: each standard's clause tree, read from `standards/*.yaml` (format in the README).

A clause with clauses under it is a *heading* (ISO 9001 7.1); a clause without is one that coverage
counts (a *unit*: 7.1.5), unless the file marks it `part: true`, a sub-clause counted under its parent
(7.1.5.1 counts as 7.1.5). A checklist item may name any clause of the tree; an item on a heading covers
the units under it only partly, and the coverage page says so.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

STANDARDS_DIR = Path(__file__).parent / "standards"
STANDARD_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# "8.5.2", "10", "A.5.1": a top-level part (digits or a letter) then numbers, dot-separated.
CLAUSE_CODE = re.compile(r"^[A-Z0-9]{1,3}(\.\d{1,3}){0,5}$")
HEADING, UNIT, PART = "heading", "unit", "part"
ISO9001 = "iso9001-2015"


class StandardFileError(ValueError):
    """A standard's file is wrong; the message lists every problem as `path:line: message`."""


@dataclass(frozen=True)
class Clause:
    code: str
    title: str
    kind: str  # HEADING, UNIT or PART
    parent: str | None


@dataclass(frozen=True)
class Standard:
    key: str  # "iso9001-2015": stored with each item's clauses
    name: str  # "ISO 9001:2015": what checklists declare
    title: str
    clauses: dict[str, Clause] = field(repr=False)

    @property
    def units(self) -> list[Clause]:
        """The clauses coverage counts, in the standard's order."""
        return [c for c in self.clauses.values() if c.kind == UNIT]

    def kind(self, code: str) -> str | None:
        clause = self.clauses.get(code)
        return clause.kind if clause else None

    def unit_of(self, code: str) -> str | None:
        """The unit a clause counts as: itself, or for a part the unit above it; None for a heading
        or a clause the standard does not have."""
        clause = self.clauses.get(code)
        while clause is not None and clause.kind == PART:
            clause = self.clauses.get(clause.parent or "")
        return clause.code if clause is not None and clause.kind == UNIT else None

    def units_under(self, code: str) -> list[str]:
        """The units a heading covers (partly): every unit below it."""
        prefix = code + "."
        return [c.code for c in self.units if c.code.startswith(prefix)]

    def title_of(self, code: str) -> str:
        clause = self.clauses.get(code)
        return clause.title if clause else ""

    def suggestion(self, code: str) -> str:
        """What the standard has near a clause it does not have: the clauses under the nearest existing
        parent ('; under 5.1 it has 5.1.1, 5.1.2'), that parent itself, or where the list is."""
        parent = parent_code(code)
        while parent is not None and parent not in self.clauses:
            parent = parent_code(parent)
        if parent is None:
            return f"; its clauses are listed in standards/{self.key}.yaml"
        children = [c.code for c in self.clauses.values() if c.parent == parent]
        if not children:
            return f'; did you mean "{parent}"?'
        return f"; under {parent} it has {', '.join(children)}"


def parent_code(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


def load_standard_file(path: Path) -> Standard:
    """Read one standard's file; raise StandardFileError with every problem and its line."""
    problems: list[str] = []

    def problem(line: int | None, message: str) -> None:
        problems.append(f"{path.name}:{line}: {message}" if line else f"{path.name}: {message}")

    doc: Any
    try:
        doc = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise StandardFileError(f"{path.name}: cannot be read: {exc}") from exc
    if not isinstance(doc, dict):
        raise StandardFileError(f"{path.name}: must be a mapping with id, name, title and clauses")
    for key in doc:
        if key not in ("id", "name", "title", "clauses"):
            problem(_lc(doc).key(key)[0] + 1, f'unknown field "{key}"; use id, name, title and clauses')
    for key in ("id", "name", "title"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            problem(_lc(doc).line + 1, f"{key}: required text")
    if isinstance(doc.get("id"), str):
        if not STANDARD_ID.match(doc["id"]):
            problem(_lc(doc).value("id")[0] + 1, "id: lowercase letters, digits and '-', e.g. iso9001-2015")
        elif doc["id"] != path.stem:
            problem(_lc(doc).value("id")[0] + 1, f'id: "{doc["id"]}" must match the file name "{path.stem}.yaml"')
    raw: Any = doc.get("clauses")
    if not isinstance(raw, dict) or not raw:
        problem(_lc(doc).line + 1, 'clauses: a mapping of clause number to title, e.g. "4.1": Internal issues')
        raise StandardFileError("\n".join(problems))
    entries: dict[str, tuple[str, bool]] = {}
    for code, value in raw.items():
        line = _lc(raw).key(code)[0] + 1
        if not isinstance(code, str) or not CLAUSE_CODE.match(code):
            problem(line, f'clause "{code}" must be quoted text like "8.5.2"')
            continue
        part = False
        if isinstance(value, dict):
            extra = [k for k in value if k not in ("title", "part")]
            if extra:
                problem(line, f'clause "{code}": unknown field "{extra[0]}"; use title and part')
            part, value = value.get("part", False), value.get("title")
            if not isinstance(part, bool):
                problem(line, f'clause "{code}": part must be true or false')
                part = False
        if not isinstance(value, str) or not value.strip():
            problem(line, f'clause "{code}": needs a title in your own words')
            continue
        parent = parent_code(code)
        if parent is not None and parent not in entries:
            problem(line, f'clause "{code}": its parent "{parent}" must be listed before it')
        if part and parent is None:
            problem(line, f'clause "{code}": a top-level clause cannot be a part')
        entries[code] = (value.strip(), part)
    has_children = {parent_code(code) for code, (_, part) in entries.items() if not part}
    for code, (_, part) in entries.items():
        if part and code in has_children:
            problem(_lc(raw).key(code)[0] + 1, f'clause "{code}": a part cannot have clauses of its own under it')
        parent = parent_code(code)
        if part and parent in entries and parent in has_children:
            problem(_lc(raw).key(code)[0] + 1, f'clause "{code}": a part belongs to a clause without headings under it')
    if problems:
        raise StandardFileError("\n".join(problems))
    clauses = {
        code: Clause(code, title, PART if part else HEADING if code in has_children else UNIT, parent_code(code))
        for code, (title, part) in entries.items()
    }
    return Standard(doc["id"], doc["name"].strip(), doc["title"].strip(), clauses)


@functools.cache
def _registry() -> dict[str, Standard]:
    """Every standard the app knows, by key (files do not change while it runs)."""
    standards = [load_standard_file(path) for path in sorted(STANDARDS_DIR.glob("*.yaml"))]
    return {s.key: s for s in standards}


def all_standards() -> list[Standard]:
    return list(_registry().values())


def get_standard(key: str) -> Standard | None:
    return _registry().get(key)


def iso9001() -> Standard:
    return _registry()[ISO9001]


def by_name(name: str) -> Standard | None:
    """The standard a checklist declares by name ("ISO 9001:2015")."""
    return next((s for s in _registry().values() if s.name == name), None)


def names() -> list[str]:
    return [s.name for s in _registry().values()]


def _lc(node: Any) -> Any:
    """A round-trip node's line and column record (`.line`, `.key(k)`, `.value(k)`, 0-based)."""
    return node.lc
