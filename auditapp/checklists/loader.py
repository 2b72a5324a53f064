"""Read a checklist YAML file safely and report every problem with its line.

Pipeline: size and encoding checks -> a scan of the raw YAML events (refuses tags,
anchors, aliases and duplicate keys before anything is built) -> round-trip load from those
same events (keeps each node's line; the text is parsed once) -> marshmallow schema -> cross-item checks. Every problem
found is reported at once as ``path:line: place: message``, the place as people read it
(``section 2 "Receiving", item 3 "rcv-03" question``); see Problem and ProblemGroup.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml as pyyaml
from marshmallow import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from ruamel.yaml.reader import Reader

from . import answers, conditions, standards
from .models import PhotoRule
from .nesting import nesting_problem
from .schemas import (
    CLAUSE,
    PHOTO_RULES,
    RESULT_CODES,
    ChecklistSchema,
    accepted,
    did_you_mean,
    did_you_mean_key,
    keys_at,
)
from .standards import Standard

MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One problem in one file.

    ``field`` is the machine path (``sections[1].items[2].question``; what tools map to cells);
    ``position`` is the same place as people read it (``section 2 "Receiving", item 3 "rcv-03" question``),
    used by ``str()``. ``subject`` names the item or section alone (``rcv-03``), for grouped messages.
    """

    path: str
    line: int | None
    field: str
    message: str
    position: str = ""
    subject: str = dataclasses.field(default="", compare=False)

    @property
    def place(self) -> str:
        """Where in the file, as people read it (the machine path when no position was given)."""
        return self.position or self.field

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.place}: {self.message}" if self.place else f"{where}: {self.message}"


# Problems whose message differs only by the value the author typed, yet are the same mistake
# (grouped into one message); every other message must match exactly to be grouped.
SAME_MISTAKE_ACROSS_VALUES = [
    re.compile(r"^expected text, but YAML read the number .*; put it in quotes"),
    re.compile(r"^\S+ was read as the number .*; put it in quotes"),
]
GROUP_LISTS = 5  # the first repeats a grouped message names


@dataclass(frozen=True)
class ProblemGroup:
    """The same mistake in several places: one message, every place still reachable.

    "The same mistake" = the same field at the same level (``sections[].items[].guidnce``) with the
    same message (or one of SAME_MISTAKE_ACROSS_VALUES), in the same file."""

    first: Problem
    others: tuple[Problem, ...] = ()

    @property
    def problems(self) -> tuple[Problem, ...]:
        return (self.first, *self.others)

    @property
    def lines(self) -> list[int]:
        return [p.line for p in self.problems if p.line]

    @property
    def noun(self) -> str:
        level = _level(self.first.field)
        n = len(self.others)
        if level in ("item", "section") and len({p.subject for p in self.problems}) == n + 1:
            return level if n == 1 else level + "s"
        return "place" if n == 1 else "places"

    def __str__(self) -> str:
        if not self.others:
            return str(self.first)
        named = [f"{p.subject or p.place} line {p.line}" if p.line else p.subject or p.place for p in self.others]
        listed = ", ".join(named[:GROUP_LISTS])
        if len(named) > GROUP_LISTS:
            listed += f", …; first {GROUP_LISTS} listed"
        return f"{self.first} (and {len(self.others)} more {self.noun}: {listed})"


def _level(machine_path: str) -> str:
    if re.match(r"^sections\[\d+\]\.items\[\d+\]", machine_path):
        return "item"
    return "section" if machine_path.startswith("sections[") else "checklist"


def _mistake(problem: Problem) -> tuple:
    """What makes two problems the same mistake (see ProblemGroup)."""
    kind = next((p.pattern for p in SAME_MISTAKE_ACROSS_VALUES if p.search(problem.message)), problem.message)
    return (problem.path, re.sub(r"\[\d+\]", "[]", problem.field), kind)


def group_problems(problems: list[Problem]) -> list[ProblemGroup]:
    """One group per mistake, in the order each first appears; problems without a field stay alone."""
    groups: dict[tuple, list[Problem]] = {}
    for n, problem in enumerate(problems):
        key = _mistake(problem) if problem.field else (n,)
        groups.setdefault(key, []).append(problem)
    return [ProblemGroup(ps[0], tuple(ps[1:])) for ps in groups.values()]


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
    def grouped(self) -> list[ProblemGroup]:
        """The problems with each repeated mistake as one message (what the CLI and pages show)."""
        return group_problems(self.problems)

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
    """Fill result.data and content_hash from YAML text, or result.problems.

    Every source of checklist YAML comes through here (the folder's files, the browser editor, an XLSX
    import, a stored version read again), so each refuses nesting no checklist needs before parsing."""
    deep = nesting_problem(text)
    if deep is not None:
        result.problems.append(Problem(result.display_path, deep[0], "", deep[1]))
        return
    try:
        _validate_yaml(text, result, expected_id)
    except RecursionError:  # nesting_problem stops what it can see; the composer's recursion is the last guard
        result.problems = [Problem(result.display_path, None, "", NESTED_TOO_DEEPLY)]
        result.data = result.doc = result.content_hash = None


NESTED_TOO_DEEPLY = "is nested too deeply to read; a checklist needs a few levels"


def _validate_yaml(text: str, result: LoadedChecklist, expected_id: str | None = None) -> None:
    problem = _problem_factory(result)
    doc = _fast_load(text)
    if doc is None:  # not a clean mapping from libyaml: ruamel.yaml's parser, and its words for any problem
        events: list = []
        for line, message in _scan_events(text, events):
            problem(line, "", message)
        if result.problems:
            return
        try:
            doc = _load_events(text, events)
        except MarkedYAMLError as exc:  # _scan_events sees syntax errors first; kept as a guard
            line, message = _plain_yaml_error(exc, text)
            problem(line, "", message)
            return
    if not isinstance(doc, dict):
        problem(1, "", "the file must be a mapping with id, title, version and sections")
        return

    try:
        data = ChecklistSchema().load(doc)
    except ValidationError as exc:
        data = None
        for path, message in _flatten(exc.messages):
            problem(_line_of(doc, path, message), path, _explain(doc, path, message, text), doc)
    scoring_problems = _scoring_checks(data) if data is not None else []
    for path, message in [
        *_cross_checks(doc, expected_id),
        *_standards_checks(doc),
        *_rules_checks(doc),
        *_show_if_checks(doc),
        *scoring_problems,
    ]:
        problem(_line_of(doc, path, message), path, message, doc)
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


def _scan_events(text: str, events: list | None = None, parsed: list | None = None) -> list[tuple[int, str]]:
    """Refuse tags, anchors, aliases, extra documents and duplicate keys, from the event stream.

    Working on events means nothing is constructed first: an alias bomb or a
    python/object tag is refused before it could expand or execute. Each event is also added to
    `events` when given, for _load_events; `parsed` scans events parsed already instead of the text.
    """
    problems: list[tuple[int, str]] = []
    # One frame per open collection: [is_mapping, expecting_key, {key: line}]
    stack: list[list] = []
    documents = 0
    try:
        for ev in YAML(typ="rt").parse(text) if parsed is None else parsed:
            if events is not None:
                events.append(ev)
            line = ev.start_mark.line + 1
            if isinstance(ev, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    problems.append((line, "a checklist file holds one YAML document; remove the second '---'"))
            if isinstance(ev, AliasEvent):
                problems.append(
                    (
                        line,
                        f"aliases (*{ev.anchor}) are not allowed; write the value out"
                        " (text that starts with * goes in quotes)",
                    )
                )
            elif isinstance(ev, NodeEvent):
                if ev.anchor:
                    problems.append(
                        (
                            line,
                            f"anchors (&{ev.anchor}) are not allowed; write the value out"
                            " (text that starts with & goes in quotes)",
                        )
                    )
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
        problems.append(_plain_yaml_error(exc, text))
    except YAMLError as exc:
        problems.append((1, f"not valid YAML: {exc}"))
    return problems


def _load_events(text: str, events: list):
    """The round-trip document of text, composed from the events _scan_events parsed: one parse, not two.

    ruamel.yaml's own composer and constructor build it from those events, so it is the document
    YAML(typ="rt").load(text) returns, each node's line and column included. The pure-Python parser is
    the slow part of validating (issue 15: it ran twice). A %YAML directive reaches the constructor
    through the parser's scanner, not through events, so such a text is loaded the plain way (and so is
    one whose events did not reach the end of the stream)."""
    yaml = YAML(typ="rt")
    whole = bool(events) and isinstance(events[-1], StreamEndEvent)
    if whole and not any(isinstance(ev, DocumentStartEvent) and ev.version for ev in events):
        yaml.Parser = functools.partial(_Replay, events)
    return yaml.load(text)


# Characters on which libyaml and ruamel.yaml's reader could part ways (tabs, line breaks other than "\n",
# a byte-order mark, what ruamel.yaml refuses as unprintable): such a text takes ruamel.yaml's parser.
_NOT_FOR_LIBYAML = re.compile("[\t\r\x85\u2028\u2029\ufeff]|" + Reader.NON_PRINTABLE.pattern)
_C_LOADER = getattr(pyyaml, "CSafeLoader", None)  # None when PyYAML was built without libyaml


def _fast_load(text: str):
    """The round-trip document of a text libyaml parses with nothing for _scan_events to refuse; else None.

    libyaml (C, through PyYAML) parses some 20 times faster than ruamel.yaml's pure-Python parser, which
    was nearly all of a validation's time. Its events, as ruamel.yaml's classes, go through the same scan
    and the same composer and round-trip constructor (_load_events), so the document is the one
    ruamel.yaml builds: scalars are still read by ruamel.yaml's YAML 1.2 rules, lines and columns are
    libyaml's marks, which count the same. Anything else (a syntax error, a refused anchor or tag, a
    directive, an empty value, an unusual character, an error while building) returns None, and the caller parses the
    text with ruamel.yaml, whose positions and words every problem message is written for."""
    if _C_LOADER is None or _NOT_FOR_LIBYAML.search(text):
        return None
    try:
        events = [_as_ruamel_event(ev) for ev in pyyaml.parse(text, Loader=_C_LOADER)]
        if _scan_events(text, parsed=events) or not isinstance(events[2], MappingStartEvent):
            return None
        if any(isinstance(ev, DocumentStartEvent) and (ev.version or ev.tags) for ev in events):
            return None
        if any(isinstance(ev, ScalarEvent) and ev.value == "" and ev.style is None for ev in events):
            return None  # an empty value ("key:"): libyaml marks it after the colon, ruamel.yaml at the next token
        return _load_events(text, events)
    except Exception:  # whatever went wrong, ruamel.yaml's parser says it in its own words
        return None


def _as_ruamel_event(ev):
    """A PyYAML event as the ruamel.yaml event its parser makes (plain scalars have style None there)."""
    kind = type(ev)
    if kind is pyyaml.ScalarEvent:
        return ScalarEvent(ev.anchor, ev.tag, ev.implicit, ev.value, ev.start_mark, ev.end_mark, style=ev.style or None)
    if kind is pyyaml.MappingStartEvent or kind is pyyaml.SequenceStartEvent:
        made = MappingStartEvent if kind is pyyaml.MappingStartEvent else SequenceStartEvent
        return made(ev.anchor, ev.tag, ev.implicit, ev.start_mark, ev.end_mark, flow_style=ev.flow_style)
    if kind is pyyaml.AliasEvent:
        return AliasEvent(ev.anchor, ev.start_mark, ev.end_mark)
    if kind is pyyaml.DocumentStartEvent:
        return DocumentStartEvent(ev.start_mark, ev.end_mark, ev.explicit, ev.version, ev.tags)
    if kind is pyyaml.DocumentEndEvent:
        return DocumentEndEvent(ev.start_mark, ev.end_mark, ev.explicit)
    simple = {
        pyyaml.StreamStartEvent: StreamStartEvent,
        pyyaml.StreamEndEvent: StreamEndEvent,
        pyyaml.MappingEndEvent: MappingEndEvent,
        pyyaml.SequenceEndEvent: SequenceEndEvent,
    }
    return simple[kind](ev.start_mark, ev.end_mark)


class _Replay:
    """A parser for ruamel.yaml's composer that hands out events parsed before (see _load_events)."""

    def __init__(self, events: list, loader=None) -> None:
        self.events = events
        self.next = 0

    def check_event(self, *choices) -> bool:
        if self.next >= len(self.events):
            return False
        return not choices or isinstance(self.events[self.next], choices)

    def peek_event(self):
        return self.events[self.next] if self.next < len(self.events) else None

    def get_event(self):
        event = self.peek_event()
        self.next += 1
        return event

    def dispose(self) -> None:
        self.events = []


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


# What a line looks like: optional "- ", a key, ":" and the rest.
_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[^\s:#\"'\[\]{}][^:#]*?):(?:\s+(?P<value>.*))?$")
LONGEST_QUOTED = 70  # a value longer than this is not repeated quoted in the hint


def _plain_yaml_error(exc: MarkedYAMLError, text: str) -> tuple[int, str]:
    """(line, message) for a YAML syntax error, in words for someone who never wrote YAML before.

    The parser's own words are kept only when no case below recognises the error."""
    lines = text.splitlines()
    mark, context = exc.problem_mark, exc.context_mark
    line = _mark_line(exc)
    at = lines[mark.line] if mark and mark.line < len(lines) else ""
    problem, where = exc.problem or "", exc.context or ""
    col = mark.column if mark else 0
    prefix = "not valid YAML: "
    if "'\\t'" in problem or "\t" in problem:
        tabs = [n + 1 for n, ln in enumerate(lines) if "\t" in ln[: len(ln) - len(ln.lstrip())] and n + 1 != line]
        also = f" ({'lines' if len(tabs) > 1 else 'line'} {', '.join(map(str, tabs[:10]))} too)" if tabs else ""
        return line, prefix + (
            f"this line has a tab character; YAML lines are indented with spaces only: replace it with spaces{also}"
        )
    if "mapping values are not allowed" in problem:
        found = _KEY_LINE.match(at)
        if found and found.group("value") and mark and found.end("key") < col:
            return line, prefix + (
                f'the text after "{found.group("key").strip()}:" contains a colon and a space, which YAML reads as'
                f" another key; put the text in quotes{_quoted_hint(found)}"
            )
        above = _line_above(lines, mark.line if mark else 0)
        if above is not None:
            n, prev = above
            shown = re.sub(r"^-\s*", "", prev.strip()).split(":")[0]
            return line, prefix + (
                f'this line is indented more than line {n + 1} ("{shown}"), so YAML reads it as part of that value;'
                " start it in the same column as the other keys of its item or section"
            )
    if "expected <block end>" in problem or "expected <block end>" in where:
        dash = re.match(r"^\s*-[^\s-]", at)
        if dash:
            return line, prefix + 'put a space after the dash: "- " starts each item of a list'
        if "'<scalar>'" in problem:
            opened = _unclosed_quote(lines, context.line if context else 0, mark.line if mark else 0)
            if opened is not None:
                return opened + 1, prefix + (
                    f"the quote opened on this line is not closed on it, so YAML read on to line {line};"
                    " close the quote at the end of the text"
                )
            return line, prefix + (
                "text follows a closing quote: a value that starts with a quote must end with it; quote the"
                f" whole text, or leave the quotes out{_quoted_hint(_KEY_LINE.match(at))}"
            )
        indent = len(at) - len(at.lstrip())
        entry = _entry_above(lines, mark.line if mark else 0, indent)
        key = _KEY_LINE.match(at)
        if entry is not None and key and not key.group("dash") and key.group("key").strip() == entry[1]:
            return line, prefix + f'a new entry of the list starts with "- ": write "- {at.strip()}"'
        hint = ""
        if entry is not None:
            hint = f" (this line starts in column {indent + 1}, the keys of the entry above in column {entry[0] + 1})"
        return line, prefix + (
            "this line is not lined up with the lines around it: the keys of one item or section start in the"
            f' same column, and each new item starts with "- "{hint}'
        )
    if "could not find expected ':'" in problem and context is not None:
        started = lines[context.line] if context.line < len(lines) else ""
        if re.match(r"^\s*(-\s+)?[A-Za-z_][\w-]*:\S", started):
            return context.line + 1, prefix + 'put a space after the colon: "key: value"'
        return context.line + 1, prefix + (
            'this line is neither "key: value" nor "- entry"; text that runs over several lines goes in quotes'
            ' or under "key: |" indented below it'
        )
    if "block scalar" in where:
        return line, prefix + (
            'after "key: |" or "key: >" the text goes on the lines below, indented; text that starts with | or >'
            f" on the same line goes in quotes{_quoted_hint(_KEY_LINE.match(at))}"
        )
    if "sequence entries are not allowed" in problem:
        return line, prefix + (
            '"- " starts a list entry on a line of its own, under its key and indented; text that starts with'
            f' "- " goes in quotes{_quoted_hint(_KEY_LINE.match(at))}'
        )
    starts = {"while scanning an alias": "*", "while scanning an anchor": "&", "while scanning a directive": "%"}
    if "cannot start any token" in problem or where in starts:
        char = starts.get(where) or (at[col] if col < len(at) else "")
        hint = _quoted_hint(_KEY_LINE.match(at))
        return line, prefix + f"text cannot start with {char}; put the text in quotes{hint}"
    if "flow sequence" in where or "flow mapping" in where:
        opener, closer = ("[", "]") if "sequence" in where else ("{", "}")
        opened_at = context.line + 1 if context else line
        return opened_at, prefix + (
            f'the list opened with "{opener}" on this line is not closed with "{closer}" on it; put entries that'
            ' contain ":" or "," in quotes'
        )
    if "end of stream" in problem and "quoted scalar" in where and context is not None:
        return context.line + 1, prefix + "the quote opened on this line is never closed; close it after the text"
    return line, _yaml_message(exc)


def _quoted_hint(found) -> str:
    """': guidance: "Check: sample three parts."' when the value is short enough to repeat."""
    if not found or not found.group("value") or len(found.group("value")) > LONGEST_QUOTED:
        return ""
    value = found.group("value").rstrip()
    quoted = f'"{value}"' if '"' not in value else "'" + value.replace("'", "''") + "'"
    return f": {found.group('key').strip()}: {quoted}"


def _line_above(lines: list[str], n: int) -> tuple[int, str] | None:
    """The nearest line above n with content (not blank, not only a comment)."""
    for k in range(min(n, len(lines)) - 1, -1, -1):
        if lines[k].strip() and not lines[k].strip().startswith("#"):
            return k, lines[k]
    return None


def _key_column(line: str) -> int:
    """Column where the key of a line starts ("      - id: x" -> 8)."""
    found = re.match(r"^(\s*-\s+|\s*)", line)
    return len(found.group(0)) if found else 0


def _entry_above(lines: list[str], n: int, column: int) -> tuple[int, str] | None:
    """(column of its keys, first key) of the nearest list entry ("- key: ...") above line n at column."""
    for k in range(min(n, len(lines)) - 1, -1, -1):
        found = _KEY_LINE.match(lines[k])
        if found and found.group("dash") and len(found.group("indent")) == column:
            return _key_column(lines[k]), found.group("key").strip()
    return None


def _unclosed_quote(lines: list[str], start: int, end: int) -> int | None:
    """The first line between start and end whose value opens a quote it does not close."""
    for k in range(start, min(end, len(lines))):
        found = _KEY_LINE.match(lines[k])
        value = (found.group("value") or "") if found else ""
        if value[:1] in ("'", '"') and value.rstrip().count(value[0]) == 1:
            return k
    return None


# --- schema errors -> lines ------------------------------------------------------------------


def _flatten(messages, path=()):
    """Yield (path tuple, message) for marshmallow's nested error dicts."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            # "_schema" is marshmallow's name for the whole value: the problem is at path itself.
            yield from _flatten(value, path if key == "_schema" else path + (key,))
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


TITLE_SHOWN = 30  # characters of a section title shown in a position


def describe(doc, path) -> tuple[str, str]:
    """(position, subject) of a field path as people read them.

    ("sections", 1, "items", 2, "question") -> ('section 2 "Receiving", item 3 "rcv-03" question', "rcv-03");
    ("sections", 1) -> ('section 2 "Receiving"', 'section 2 "Receiving"'); ("title",) -> ("checklist title", "").
    """
    path = tuple(path)
    if len(path) >= 2 and path[0] == "sections" and isinstance(path[1], int):
        section = _get(doc, "sections", path[1])
        title = section.get("title") if isinstance(section, dict) else None
        where = subject = f"section {path[1] + 1}"
        if isinstance(title, str) and title.strip():
            short = title.strip() if len(title.strip()) <= TITLE_SHOWN else title.strip()[: TITLE_SHOWN - 1] + "…"
            where = subject = f'{where} "{short}"'
        rest = path[2:]
        if len(rest) >= 2 and rest[0] == "items" and isinstance(rest[1], int):
            item = _get(section, "items", rest[1])
            item_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(item_id, str) and item_id:
                where, subject = f'{where}, item {rest[1] + 1} "{item_id}"', item_id
            else:
                where = f"{where}, item {rest[1] + 1}"
                subject = f"{subject} item {rest[1] + 1}"
            rest = rest[2:]
    else:
        where, subject, rest = "checklist", "", path
    return " ".join([where, *_field_words(rest)]), subject


def _get(node, key, index):
    try:
        return node[key][index]
    except (KeyError, IndexError, TypeError):
        return None


def _field_words(rest) -> list[str]:
    """("results", 2) -> ["results", "entry 3"]; ("clauses", "ISO 45001:2018") -> ["clauses", '"ISO 45001:2018"']."""
    words = []
    for n, part in enumerate(rest):
        if isinstance(part, int):
            words.append(f"entry {part + 1}")
        elif n == 0 or re.fullmatch(r"[a-z][a-z_]*", str(part)):
            words.append(str(part))
        else:
            words.append(f'"{part}"')
    return words


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
        return f"unknown field{did_you_mean_key(str(path[-1]), keys_at(path))}"
    if message == "Missing data for required field.":
        return "required field is missing"
    if message == "Field may not be null.":
        line = _source_line(doc, path, text)
        if line is not None and re.search(r":\s+#", line):
            return 'is empty: text after " #" is a comment; put text that starts with # in quotes'
        if path and path[-1] in LIST_KEYS:
            return f'is empty; list the {path[-1]} on the lines below it, indented, each starting with "- "'
        return "is empty; write a value after the colon"
    if message == "Invalid input type.":
        container, key = _node_at(doc, path)
        value = container[key] if container is not None and key is not None else None
        what = "an item" if "items" in path[-2:-1] else "a section" if "sections" in path[-2:-1] else "this"
        keys = "id: and question:" if what == "an item" else "title: and items:"
        shown = f' ("{value[:40]}")' if isinstance(value, str) else ""
        return f'{what} is written as {_kind_of(value)}{shown}; write it as keys, {keys} indented under its "- "'
    if message in ("expected text, not a mapping", "expected text, not a list"):
        line = _source_line(doc, path, text)
        found = _KEY_LINE.match(line or "")
        if found and (found.group("value") or "")[:1] in ("{", "["):
            first = found.group("value")[0]
            return f'{message}: text that starts with "{first}" must be in quotes{_quoted_hint(found)}'

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


LIST_KEYS = ("sections", "items", "evidence", "results", "standards")


def _kind_of(value) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool) or value is None:
        return "yes/no or nothing"
    return "a number" if isinstance(value, (int, float)) else "something else"


def _source_line(doc, path, text: str) -> str | None:
    """The line of the file where the key at path is written."""
    container, key = _node_at(doc, path)
    lc = getattr(container, "lc", None)
    if lc is None or not isinstance(container, dict):
        return None
    try:
        line = lc.key(key)[0]
    except (AttributeError, KeyError, TypeError):
        return None
    lines = text.splitlines()
    return lines[line] if line < len(lines) else None


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
                        f'clause "{sclause}" already has a section'
                        f" ({describe(doc, ('sections', seen_sections[sclause]))[0]})",
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
                    seen_questions[ref] = item_id if isinstance(item_id, str) else describe(doc, where)[0]
            results = item.get("results")
            if isinstance(results, list):
                codes = [accepted(c, RESULT_CODES) if isinstance(c, str) else None for c in results]
                for r, code in enumerate(codes):
                    if code is not None and code in codes[:r]:
                        said = f'"{results[r]}"' if results[r] == code else f'"{results[r]}" ({code})'
                        problems.append((where + ("results", r), f"{said} is listed twice"))
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


# --- evidence rules and finding rules (issue 15, helper "rules") -------------------------------


def _rules_checks(doc):
    """An item's evidence rules name results the item offers, once each, and never a photo it refuses."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    sections = doc.get("sections")
    for s, section in enumerate(sections if isinstance(sections, list) else []):
        items = section.get("items") if isinstance(section, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else []):
            require = item.get("require") if isinstance(item, dict) else None
            if not isinstance(require, dict):
                continue
            where = ("sections", s, "items", i, "require")
            # Raw values, as written: "Minor NC" is minor_nc (schemas.accepted), as the schema reads it.
            offered = item.get("results")
            if isinstance(offered, list) and all(isinstance(r, str) for r in offered):
                offered = [accepted(r, RESULT_CODES) or r for r in offered]
            else:
                offered = RESULT_CODES
            for kind in ("photo", "note"):
                listed = require.get(kind)
                if not isinstance(listed, list):
                    continue  # the schema reports it
                listed = [accepted(c, RESULT_CODES) if isinstance(c, str) else None for c in listed]
                for k, code in enumerate(listed):
                    if code is None:
                        continue  # the schema reports it
                    if code not in offered:
                        problems.append(
                            (
                                where + (kind, k),
                                f'"{code}" is not one of this item\'s results ({", ".join(offered)})'
                                f"{did_you_mean(code, list(offered))}",
                            )
                        )
                    elif code in listed[:k]:
                        problems.append((where + (kind, k), f'"{code}" is listed twice'))
            photo = item.get("photo")
            if (
                isinstance(photo, str)
                and accepted(photo, PHOTO_RULES) == PhotoRule.NEVER.value
                and require.get("photo")
            ):
                problems.append((where + ("photo",), "the item says photo: never, so no result can require a photo"))
    findings = doc.get("findings")
    required = findings.get("required_for") if isinstance(findings, dict) else None
    required = (
        [accepted(c, RESULT_CODES) if isinstance(c, str) else None for c in required]
        if isinstance(required, list)
        else []
    )
    for k, code in enumerate(required):
        if code is not None and code in required[:k]:
            problems.append((("findings", "required_for", k), f'"{code}" is listed twice'))
    return problems


# --- show-if conditions (issue 15, helper "showif") -------------------------------------------


def _trigger_answers(item: dict) -> list[str] | None:
    """What a condition on this raw item may list (conditions.offered), or None if its answer is broken
    (the schema reports that)."""
    spec = item.get("answer")
    if spec is None:
        results = item.get("results")
        if isinstance(results, list) and all(isinstance(r, str) for r in results):
            return [accepted(r, RESULT_CODES) or r for r in results]
        return conditions.offered(None)
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        return None
    kind = accepted(spec["type"], answers.ANSWER_TYPES)
    if kind is None:
        return None
    raw = dict(spec, type=kind)
    for key in ("no", "outside"):
        if isinstance(raw.get(key), str):
            raw[key] = accepted(raw[key], answers.ANSWER_RESULTS) or raw[key]
    try:
        return conditions.offered(answers.normalised(raw))
    except (KeyError, TypeError, AttributeError):
        return None


def _show_if_checks(doc):
    """A condition names an earlier item (a section's: an item of an earlier section) that can give the
    answers it lists."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    sections = doc.get("sections")
    sections = sections if isinstance(sections, list) else []
    all_ids: dict[str, tuple[int, int]] = {}  # item id -> (section, position in the file), first use
    raw_items: dict[str, dict] = {}
    n = 0
    for s, section in enumerate(sections):
        items = section.get("items") if isinstance(section, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                all_ids.setdefault(item["id"], (s, n))
                raw_items.setdefault(item["id"], item)
            n += 1

    def check(condition, where, s: int, n: int | None) -> None:
        if not isinstance(condition, dict) or not isinstance(condition.get("item"), str):
            return  # the schema reports it
        trigger = condition["item"]
        found = all_ids.get(trigger)
        at = where + ("show_if", "item")
        if found is None:
            problems.append((at, f'"{trigger}" is not an item of this checklist{did_you_mean(trigger, list(all_ids))}'))
            return
        ts, tn = found
        if n is not None and tn == n:
            problems.append((at, f'an item cannot be shown by its own answer; name an item before "{trigger}"'))
            return
        if n is None and ts == s:
            problems.append(
                (at, f'"{trigger}" is in this section; a section is shown by an answer in an earlier section')
            )
            return
        if (n is not None and tn > n) or (n is None and ts > s):
            problems.append(
                (at, f'"{trigger}" comes later in the checklist; a condition names an item asked before it')
            )
            return
        offered = _trigger_answers(raw_items[trigger])
        listed = condition.get("answer")
        if offered is None or not isinstance(listed, list):
            return
        if not offered:
            kind = raw_items[trigger]["answer"].get("type")
            problems.append(
                (
                    at,
                    f'"{trigger}" has a {kind} answer, which cannot show or hide anything;'
                    " name a yes/no, choice, number or ISO-grade item",
                )
            )
            return
        for k, value in enumerate(listed):
            if not isinstance(value, str):
                continue  # the schema reports it
            if value not in offered:
                problems.append(
                    (
                        where + ("show_if", "answer", k),
                        f'"{trigger}" can never be answered "{value}" (it gives {", ".join(offered)})'
                        f"{did_you_mean(value, offered)}",
                    )
                )
            elif value in listed[:k]:
                problems.append((where + ("show_if", "answer", k), f'"{value}" is listed twice'))

    n = 0
    for s, section in enumerate(sections):
        if not isinstance(section, dict):
            continue
        if "show_if" in section:
            check(section["show_if"], ("sections", s), s, None)
        items = section.get("items")
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and "show_if" in item:
                check(item["show_if"], ("sections", s, "items", i), s, n)
            n += 1
    return problems


# --- scoring (issue 15, helper "scoring") ----------------------------------------------------

NEEDS_SCORING = (
    "needs scoring at the top of the checklist, which turns scoring on and gives each result its points:"
    " scoring: {points: {conform: 2, observation: 1, ofi: 2, minor_nc: 1, major_nc: 0}}"
)


def _scoring_checks(data: dict):
    """Points and weights only in a scored checklist; every result an item can be given has its points.

    Run on the validated data (codes already normalised); the paths still find the lines written."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    scored = "scoring" in data
    default = data["scoring"]["points"] if scored else {}
    for s, section in enumerate(data["sections"]):
        if "weight" in section and not scored:
            problems.append((("sections", s, "weight"), f"a section's weight {NEEDS_SCORING}"))
        for i, item in enumerate(section["items"]):
            where: tuple[str | int, ...] = ("sections", s, "items", i)
            spec = answers.normalised(item.get("answer"))
            options = item.get("answer", {}).get("options") or []
            with_points = [k for k, o in enumerate(options) if isinstance(o, dict) and "points" in o]
            for key in ("weight", "points"):
                if key in item and not scored:
                    problems.append((where + (key,), f"an item's {key} {NEEDS_SCORING}"))
            if with_points and not scored:
                problems.append((where + ("answer", "options", with_points[0], "points"), f"points {NEEDS_SCORING}"))
            if with_points and spec is not None and spec["type"] != "choice":
                problems.append(
                    (
                        where + ("answer", "options", with_points[0], "points"),
                        "points on options are for a choice answer; a multi_choice item is scored by its result"
                        " (give the item points per result instead)",
                    )
                )
                continue
            for k in with_points:
                if spec is not None and spec["options"][k]["result"] == "na":
                    problems.append(
                        (
                            where + ("answer", "options", k, "points"),
                            "an option whose result is na is never scored; remove its points",
                        )
                    )
            if not scored:
                continue
            points = {**default, **item.get("points", {})}
            results = item["results"] or answers.possible_results(spec)
            if spec is not None and spec["type"] == "choice":
                results = [o["result"] for o in spec["options"] if "points" not in o]
            missing = [r for r in dict.fromkeys(results) if r not in ("na", answers.RECORDED) and r not in points]
            if missing:
                listed = ", ".join(missing)
                problems.append(
                    (
                        where + ("points",) if "points" in item else where,
                        f"can be answered {listed}, which {'has' if len(missing) == 1 else 'have'} no points:"
                        f" add {listed} to the scoring points at the top, or to the item's points",
                    )
                )
            own = item.get("points", {})
            unused = [r for r in own if r not in results and not (spec and spec["type"] == "choice")]
            if unused:
                problems.append(
                    (
                        where + ("points", unused[0]),
                        f'"{unused[0]}" is not one of this item\'s results ({", ".join(results)})',
                    )
                )
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


def problem_at(display: str, line: int | None, doc, path: tuple, message: str) -> Problem:
    """A Problem at a field path such as ("sections", 1, "items", 2, "question"), named both ways."""
    position, subject = describe(doc, path)
    return Problem(display, line, _format_path(path), message, position, subject)


def _problem_factory(result: LoadedChecklist):
    def add(line, path, message, doc=None):
        if isinstance(path, str):  # "" for problems of the whole file
            result.problems.append(Problem(result.display_path, line, path, message))
        else:
            result.problems.append(problem_at(result.display_path, line, doc, path, message))

    return add
