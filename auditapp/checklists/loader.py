"""Read a checklist YAML file safely and report every problem with its line.

Pipeline: size and encoding checks -> a scan of the raw YAML events (refuses tags,
anchors, aliases and duplicate keys before anything is built) -> round-trip load
(keeps each node's line) -> marshmallow schema -> cross-item checks. Every problem
found is reported at once as ``path:line: field: message``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from . import standards
from .schemas import CLAUSE, KEYS_BY_LEVEL, ChecklistSchema, did_you_mean
from .standards import Standard

MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class LoadedChecklist:
    """A file's outcome: validated data and its hash, or the list of problems."""

    path: Path
    display_path: str
    source_text: str | None = None
    data: dict | None = None
    content_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)
    # The round-trip document, for finding a field's line after validation.
    doc: dict | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems and self.data is not None

    @property
    def item_count(self) -> int:
        return sum(len(s["items"]) for s in self.data["sections"]) if self.data else 0


def display_path(path: Path) -> str:
    """The path as an author would type it: relative to the working folder when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_checklist_file(path: Path, shown_as: str | None = None) -> LoadedChecklist:
    """Load and validate one checklist file; never raises for a bad file."""
    path = Path(path)
    result = LoadedChecklist(path=path, display_path=shown_as or display_path(path))
    problem = _problem_factory(result)
    try:
        size = path.stat().st_size
    except OSError as exc:
        problem(None, "", f"cannot be read: {exc.strerror}")
        return result
    if size > MAX_FILE_BYTES:
        problem(None, "", f"is {size:,} bytes; checklist files are limited to 1 MB")
        return result
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem(line, "", f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8")
        return result
    result.source_text = text
    validate_text(text, result, expected_id=path.stem)
    return result


def validate_text(text: str, result: LoadedChecklist, expected_id: str | None = None) -> None:
    """Fill result.data and content_hash from YAML text, or result.problems."""
    problem = _problem_factory(result)
    for line, message in _scan_events(text):
        problem(line, "", message)
    if result.problems:
        return
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:  # _scan_events sees syntax errors first; kept as a guard
        problem(_mark_line(exc), "", _yaml_message(exc))
        return
    if not isinstance(doc, dict):
        problem(1, "", "the file must be a mapping with id, title, version and sections")
        return

    try:
        data = ChecklistSchema().load(doc)
    except ValidationError as exc:
        data = None
        for path, message in _flatten(exc.messages):
            problem(_line_of(doc, path, message), _format_path(path), _explain(doc, path, message, text))
    for path, message in [*_cross_checks(doc, expected_id), *_standards_checks(doc)]:
        problem(_line_of(doc, path, message), _format_path(path), message)
    if result.problems:
        result.problems.sort(key=lambda p: p.line or 0)
        return
    result.doc = doc
    result.data = data
    result.content_hash = content_hash(data)


def content_hash(data: dict) -> str:
    """SHA-256 of the validated content: comments and layout don't make a new version."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- raw event scan --------------------------------------------------------------------------


def _scan_events(text: str) -> list[tuple[int, str]]:
    """Refuse tags, anchors, aliases, extra documents and duplicate keys, from the event stream.

    Working on events means nothing is constructed first: an alias bomb or a
    python/object tag is refused before it could expand or execute.
    """
    problems: list[tuple[int, str]] = []
    # One frame per open collection: [is_mapping, expecting_key, {key: line}]
    stack: list[list] = []
    documents = 0
    try:
        for ev in YAML(typ="rt").parse(text):
            line = ev.start_mark.line + 1
            if isinstance(ev, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    problems.append((line, "a checklist file holds one YAML document; remove the second '---'"))
            if isinstance(ev, AliasEvent):
                problems.append((line, f"aliases (*{ev.anchor}) are not allowed; write the value out"))
            elif isinstance(ev, NodeEvent):
                if ev.anchor:
                    problems.append((line, f"anchors (&{ev.anchor}) are not allowed; write the value out"))
                tag = getattr(ev, "tag", None)
                if tag and not _implicit(ev):
                    problems.append((line, f"YAML tags ({tag}) are not allowed"))
            if stack and stack[-1][0] and isinstance(ev, NodeEvent):
                frame = stack[-1]
                if frame[1]:  # this node is a key
                    if isinstance(ev, ScalarEvent):
                        if ev.value in frame[2]:
                            problems.append((line, f'duplicate key "{ev.value}" (first at line {frame[2][ev.value]})'))
                        else:
                            frame[2][ev.value] = line
                    else:
                        problems.append((line, "keys must be plain text"))
                frame[1] = not frame[1]
            if isinstance(ev, (MappingStartEvent, SequenceStartEvent)):
                stack.append([isinstance(ev, MappingStartEvent), True, {}])
            elif isinstance(ev, (MappingEndEvent, SequenceEndEvent)):
                stack.pop()
    except MarkedYAMLError as exc:
        problems.append((_mark_line(exc), _yaml_message(exc)))
    except YAMLError as exc:
        problems.append((1, f"not valid YAML: {exc}"))
    return problems


def _implicit(ev: NodeEvent) -> bool:
    if isinstance(ev, ScalarEvent):  # (plain, quoted): the tag is implicit when plain
        return bool(ev.implicit and ev.implicit[0])
    return bool(getattr(ev, "implicit", True))


def _mark_line(exc: MarkedYAMLError) -> int:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark else 1


def _yaml_message(exc: MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return "not valid YAML: " + ("; ".join(parts) if parts else str(exc))


# --- schema errors -> lines ------------------------------------------------------------------


def _flatten(messages, path=()):
    """Yield (path tuple, message) for marshmallow's nested error dicts."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, path + (key,))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            for m in messages:
                yield path, m
        else:
            for m in messages:
                yield from _flatten(m, path)
    else:
        yield path, str(messages)


def _format_path(path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _node_at(doc, path):
    """The container holding the last part of path, and that part (None if the walk breaks)."""
    node = doc
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None, None
    return node, (path[-1] if path else None)


def line_of(loaded: LoadedChecklist, *path) -> int | None:
    """Line of a field in a loaded file, e.g. line_of(loaded, "version")."""
    return _line_of(loaded.doc, path, "") if loaded.doc is not None else None


def _line_of(doc, path, message: str) -> int:
    """Line of the value at path; of the key for unknown fields; of the parent when it is missing."""
    line = getattr(getattr(doc, "lc", None), "line", 0) + 1
    node = doc
    for i, part in enumerate(path):
        lc = getattr(node, "lc", None)
        if lc is None:  # not a round-trip node: it carries no lines
            break
        try:
            if isinstance(node, dict) and part in node:
                last = i == len(path) - 1
                pos = lc.key(part) if (last and message == "Unknown field.") else lc.value(part)
                line = pos[0] + 1
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                line = lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        except (AttributeError, KeyError, TypeError):
            break
    return line


def _explain(doc, path, message: str, text: str) -> str:
    """Turn marshmallow's generic messages into an author's language."""
    if message == "Unknown field.":
        level = "item" if "items" in path[:-1] else "section" if "sections" in path[:-1] else "checklist"
        if "answer" in path[:-1]:  # answer types (issue 15): an answer's keys, or an option's
            level = "option" if "options" in path[:-1] else "answer"
        return f"unknown field{did_you_mean(str(path[-1]), KEYS_BY_LEVEL[level])}"
    if message == "Missing data for required field.":
        return "required field is missing"
    if message.startswith("expected text, but YAML read the number"):
        container, key = _node_at(doc, path)
        token = _source_token(container, key, text)
        if token is not None:
            value = container[key]
            read_as = f"the number {value}"
            if token != str(value):
                return f'{token} was read as {read_as}; put it in quotes: "{token}"'
            return f'expected text, but YAML read {read_as}; put it in quotes: "{token}"'
    return message


def _source_token(container, key, text: str) -> str | None:
    """The value exactly as typed in the file (e.g. '7.10'), from its recorded position."""
    lc = getattr(container, "lc", None)
    if lc is None:  # not a round-trip node: it carries no positions
        return None
    try:
        line, col = lc.value(key) if isinstance(container, dict) else lc.item(key)
    except (AttributeError, KeyError, TypeError, IndexError):
        return None
    rest = text.splitlines()[line][col:]
    token = ""
    for ch in rest:
        if ch in " ,]}#\t":
            break
        token += ch
    return token or None


# --- checks across fields --------------------------------------------------------------------


def _cross_checks(doc, expected_id):
    """Problems no single field shows: duplicates, clause nesting, rename targets, file name."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if expected_id and isinstance(doc.get("id"), str) and doc["id"] != expected_id:
        problems.append((("id",), f'"{doc["id"]}" must match the file name "{expected_id}.yaml"'))
    seen_ids: dict[str, tuple[str | int, ...]] = {}  # item id -> where it is first used
    seen_questions: dict[tuple, str] = {}
    seen_sections: dict[str, int] = {}
    sections = doc.get("sections")
    for s, section in enumerate(sections if isinstance(sections, list) else []):
        if not isinstance(section, dict):
            continue
        sclause = section.get("clause")
        if isinstance(sclause, str):
            if sclause in seen_sections:
                problems.append(
                    (
                        ("sections", s, "clause"),
                        f'clause "{sclause}" already has a section (sections[{seen_sections[sclause]}])',
                    )
                )
            seen_sections.setdefault(sclause, s)
        items = section.get("items")
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            where = ("sections", s, "items", i)
            item_id, clause = item.get("id"), item.get("clause")
            if isinstance(item_id, str):
                if item_id in seen_ids:
                    first = _line_of(doc, seen_ids[item_id], "")
                    problems.append((where + ("id",), f'duplicate item id "{item_id}" (first used at line {first})'))
                else:
                    seen_ids[item_id] = where + ("id",)
            if isinstance(clause, str) and isinstance(sclause, str):
                if clause != sclause and not clause.startswith(sclause + "."):
                    problems.append(
                        (where + ("clause",), f'clause "{clause}" is outside its section\'s clause "{sclause}"')
                    )
            question = item.get("question")
            reference = item.get("reference", clause)
            if isinstance(reference, str) and isinstance(question, str):
                ref = (reference, " ".join(question.lower().split()))
                if ref in seen_questions:
                    what = "clause" if "reference" not in item else "reference"
                    problems.append(
                        (
                            where + ("question",),
                            f'{what} {reference} already asks this question (item "{seen_questions[ref]}")',
                        )
                    )
                else:
                    seen_questions[ref] = item_id if isinstance(item_id, str) else f"sections[{s}].items[{i}]"
            results = item.get("results")
            if isinstance(results, list):
                for r, code in enumerate(results):
                    if isinstance(code, str) and code in results[:r]:
                        problems.append((where + ("results", r), f'"{code}" is listed twice'))
    renamed = doc.get("renamed")
    if isinstance(renamed, dict):
        for old, new in renamed.items():
            if not isinstance(old, str) or not isinstance(new, str):
                continue  # the schema reports the type
            if old == new:
                problems.append((("renamed", old), f'"{old}" is renamed to itself'))
            elif new not in seen_ids:
                problems.append((("renamed", old), f'renamed target "{new}" is not an item in this file'))
            if old in seen_ids and old != new:
                problems.append((("renamed", old), f'"{old}" is renamed but still used as an item id'))
    return problems


# --- standards and clauses -------------------------------------------------------------------


def _declared_names(doc) -> list[tuple[tuple[str | int, ...], str]]:
    """(where, name) of each standard the checklist declares: `standard: X` or `standards: [X, Y]`."""
    standard, listed = doc.get("standard"), doc.get("standards")
    if isinstance(standard, str) and standard.strip():
        return [(("standard",), standard)]
    if isinstance(listed, list):
        return [(("standards", k), name) for k, name in enumerate(listed) if isinstance(name, str)]
    return []


def _standards_checks(doc):
    """Declared standards exist; every clause an item names exists in the standard it names.

    A lone `clause` is the item's reference and, when the checklist declares exactly one standard,
    that standard's clause (today's files); `reference` + `clauses` map an item to several."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(doc.get("standard"), str) and doc["standard"].strip() and doc.get("standards") is not None:
        problems.append((("standards",), "give either standard (one) or standards (a list), not both"))
    named = _declared_names(doc)
    declared: dict[str, Standard] = {}
    for where, name in named:
        found = standards.by_name(name)
        if found is None:
            problems.append(
                (
                    where,
                    f'"{name}" is not a standard the app knows{did_you_mean(name, standards.names())}'
                    " (a checklist of another scheme leaves the standard out and gives each item a reference)",
                )
            )
        elif name in declared:
            problems.append((where, f'"{name}" is listed twice'))
        else:
            declared[name] = found
    only = declared[named[0][1]] if len(named) == 1 and named[0][1] in declared else None
    sections = doc.get("sections")
    for s, section in enumerate(sections if isinstance(sections, list) else []):
        if not isinstance(section, dict):
            continue
        sclause = section.get("clause")
        if only and isinstance(sclause, str) and CLAUSE.match(sclause) and only.kind(sclause) is None:
            problems.append(
                (("sections", s, "clause"), f'"{sclause}" is not a clause of {only.name}{only.suggestion(sclause)}')
            )
        items = section.get("items")
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                problems.extend(_item_standard_checks(item, ("sections", s, "items", i), named, declared, only))
    return problems


def _item_standard_checks(item, where, named, declared: dict[str, Standard], only: Standard | None):
    problems: list[tuple[tuple[str | int, ...], str]] = []
    clause, mapping = item.get("clause"), item.get("clauses")
    if item.get("reference") is None and clause is None:
        problems.append((where, 'needs a reference (any short text, e.g. "A.5.1") or a clause'))
    if clause is not None and mapping is not None:
        problems.append((where + ("clauses",), "give either clause (of the one standard) or clauses, not both"))
    elif isinstance(clause, str) and CLAUSE.match(clause):
        if only is not None and only.kind(clause) is None:
            problems.append(
                (where + ("clause",), f'"{clause}" is not a clause of {only.name}{only.suggestion(clause)}')
            )
        elif len(named) > 1:
            problems.append(
                (
                    where + ("clause",),
                    f"this checklist declares {len(named)} standards, so say which this clause is of:"
                    f' reference: "{clause}" and clauses: {{"{named[0][1]}": ["{clause}"]}}',
                )
            )
    elif isinstance(mapping, dict):
        for name, codes in mapping.items():
            if not isinstance(name, str):
                continue  # the schema reports it
            std = declared.get(name)
            if std is None:
                if name not in {n for _, n in named}:
                    declares = ", ".join(n for _, n in named)
                    hint = f"it declares {declares}" if declares else "declare it first with standards: [...]"
                    problems.append(
                        (where + ("clauses", name), f'"{name}" is not a standard this checklist declares; {hint}')
                    )
                continue
            codes_at = [(where + ("clauses", name), codes)] if isinstance(codes, str) else []
            if isinstance(codes, list):
                codes_at = [(where + ("clauses", name, k), code) for k, code in enumerate(codes)]
            seen: set[str] = set()
            for at, code in codes_at:
                if not isinstance(code, str) or not standards.CLAUSE_CODE.match(code):
                    continue  # the schema reports it
                if std.kind(code) is None:
                    problems.append((at, f'"{code}" is not a clause of {std.name}{std.suggestion(code)}'))
                elif code in seen:
                    problems.append((at, f'"{code}" is listed twice'))
                seen.add(code)
    return problems


def declared_standards(data: dict) -> list[Standard]:
    """The standards a validated checklist declares, in its order."""
    names = [data["standard"]] if data.get("standard") else data.get("standards", [])
    return [s for s in map(standards.by_name, names) if s is not None]


def item_reference(item: dict) -> str:
    """A validated item's reference: `reference`, or its lone `clause`."""
    return item.get("reference") or item["clause"]


def item_clauses(item: dict, declared: list[Standard]) -> list[tuple[str, str]]:
    """(standard key, clause) of each clause a validated item covers."""
    if "clauses" in item:
        by_name = {s.name: s for s in declared}
        return [(by_name[name].key, code) for name, codes in item["clauses"].items() for code in codes]
    if item.get("clause") and len(declared) == 1:
        return [(declared[0].key, item["clause"])]
    return []


def _problem_factory(result: LoadedChecklist):
    def add(line, field_path, message):
        result.problems.append(Problem(result.display_path, line, field_path, message))

    return add
