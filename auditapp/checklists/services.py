"""Checklist rules: import YAML files as versions, and compare versions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..events import services as events
from ..extensions import db
from . import answers, scoring
from .loader import (
    MAX_FILE_BYTES,
    LoadedChecklist,
    Problem,
    declared_standards,
    item_clauses,
    item_reference,
    line_of,
    load_checklist_file,
    problem_at,
    validate_text,
)
from .models import Checklist, ChecklistItem, ChecklistSection, ChecklistVersion, ItemClause

T = TypeVar("T")


def checklist_files(directory: Path) -> list[Path]:
    """The checklist files in a folder, in a stable order."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def shown_in_folder(path: Path) -> str:
    """A file's name as the library shows it: "checklists/iso9001-2015.yaml"."""
    return f"{path.parent.name}/{path.name}"


def check_files(paths: list[Path], shown: Callable[[Path], str] | None = None) -> list[LoadedChecklist]:
    """Load and validate each file, plus the checks across files (one id, one file)."""
    loaded = [load_checklist_file(p, shown(p) if shown else None) for p in paths]
    owner: dict[str, LoadedChecklist] = {}
    for item in loaded:
        if not item.ok:
            continue
        assert item.data is not None  # ok: the file validated
        key = item.data["id"]
        if key in owner:
            item.problems.append(
                problem_at(
                    item.display_path,
                    line_of(item, "id"),
                    item.doc,
                    ("id",),
                    f'"{key}" is already the id of {owner[key].display_path}',
                )
            )
        else:
            owner[key] = item
    return loaded


@dataclass
class SyncReport:
    imported: list[ChecklistVersion] = field(default_factory=list)
    unchanged: list[ChecklistVersion] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)


def sync_directory(directory: Path, actor: User | None = None) -> SyncReport:
    """Import every valid file; each file imports whole or not at all, invalid ones are skipped."""
    report = SyncReport()
    for loaded in check_files(checklist_files(directory), shown_in_folder):
        if not loaded.ok:
            report.problems.extend(loaded.problems)
            report.skipped_files.append(loaded.display_path)
            continue
        try:
            outcome, version, problems = import_checklist(loaded, actor)
            if problems:
                db.session.rollback()
                report.problems.extend(problems)
                report.skipped_files.append(loaded.display_path)
                continue
            db.session.commit()
        except SQLAlchemyError as exc:
            db.session.rollback()
            report.problems.append(Problem(loaded.display_path, None, "", f"not imported: {exc.__class__.__name__}"))
            report.skipped_files.append(loaded.display_path)
            continue
        assert version is not None  # only a refusal comes without a version, and it has problems
        (report.imported if outcome == "imported" else report.unchanged).append(version)
    return report


def import_checklist(
    loaded: LoadedChecklist, actor: User | None = None
) -> tuple[str, ChecklistVersion | None, list[Problem]]:
    """Add a new version for changed content; return (outcome, version, problems). Does not commit."""
    data = loaded.data
    assert data is not None  # only valid files are imported
    checklist = db.session.scalar(db.select(Checklist).filter_by(key=data["id"]))
    latest = checklist.latest if checklist else None
    if latest and latest.content_hash == loaded.content_hash:
        return "unchanged", latest, []
    refusal = version_problem(loaded, latest)
    if refusal is not None:
        return "refused", None, [refusal]
    if checklist is None:
        checklist = Checklist(key=data["id"])
        db.session.add(checklist)
    version = _build_version(checklist, loaded, actor)
    db.session.flush()
    events.record(
        actor,
        "checklist_version",
        version.id,
        "imported",
        {
            "checklist": data["id"],
            "version": version.number,
            "content_hash": version.content_hash,
            "items": len(version.items),
            "source": loaded.display_path,
        },
    )
    return "imported", version, []


def version_problem(loaded: LoadedChecklist, latest: ChecklistVersion | None) -> Problem | None:
    """Changed content whose `version` is not above the latest imported one: the problem, with the number to use."""
    data = loaded.data
    assert data is not None  # only valid files are imported
    if latest is None or latest.content_hash == loaded.content_hash or data["version"] > latest.number:
        return None
    hint = (
        f"the content changed since version {latest.number} was imported; raise version to {latest.number + 1}"
        if data["version"] == latest.number
        else f"version {data['version']} is older than the imported version {latest.number};"
        f" raise version to {latest.number + 1}"
    )
    return problem_at(loaded.display_path, line_of(loaded, "version"), loaded.doc, ("version",), hint)


def _build_version(
    checklist: Checklist | None,
    loaded: LoadedChecklist,
    actor: User | None,
    add: Callable[[object], None] | None = None,
) -> ChecklistVersion:
    """The version's rows, added to the session (or to `add`: a draft's preview adds them nowhere)."""
    add = add or db.session.add
    data = loaded.data
    assert data is not None  # only valid files are imported
    declared = declared_standards(data)
    version = ChecklistVersion(
        checklist=checklist,
        number=data["version"],
        content_hash=loaded.content_hash,
        title=data["title"],
        standard=data["standard"] or ", ".join(s.name for s in declared),
        description=data["description"],
        renamed=data["renamed"],
        finding_results=data["findings"]["required_for"] if "findings" in data else None,
        scoring=data.get("scoring"),
        source_path=loaded.display_path,
        source_text=loaded.source_text,
        imported_by_id=getattr(actor, "id", None),
    )
    add(version)
    position = 0
    for s, sec in enumerate(data["sections"]):
        section = ChecklistSection(
            version=version,
            position=s,
            clause=sec["clause"],
            title=sec["title"],
            show_if=sec.get("show_if"),
            weight=sec.get("weight"),
            repeat=sec.get("repeat"),
        )
        add(section)  # SQLAlchemy 2 does not cascade along backrefs
        for item in sec["items"]:
            add(
                ChecklistItem(
                    version=version,
                    section=section,
                    position=position,
                    key=item["id"],
                    clause=item_reference(item),
                    clause_links=[ItemClause(standard=key, clause=code) for key, code in item_clauses(item, declared)],
                    question=item["question"],
                    guidance=item["guidance"],
                    evidence=item["evidence"],
                    photo_rule=item["photo"],
                    results=item["results"] or answers.possible_results(answers.normalised(item.get("answer"))),
                    answer=answers.normalised(item.get("answer")),
                    require=item.get("require"),
                    procedures=item.get("procedures"),
                    show_if=item.get("show_if"),
                    weight=item.get("weight"),
                    points=item.get("points"),
                )
            )
            position += 1
    return version


# --- what every tap reads of a version, read once per process ------------------------------------
# A version's items never change once imported (audits pin to it), so what an answer's response reads of
# them (the items' order and sections for the progress, the scoring rules) is kept per process, like a file
# that does not change. The key holds the content hash and the import time besides the id, so a database
# built again (tests, a restore) never meets another version's rules under the same id.
_KEPT: dict[tuple, Any] = {}
KEPT_VERSIONS = 64  # entries kept (a few per version); all are dropped when full


def kept_for_version(version: ChecklistVersion, what: str, build: Callable[[], T]) -> T:
    """What build() reads of the version, built on the first call in this process and kept."""
    key = (version.id, version.content_hash, version.imported_at, what)
    if key in _KEPT:
        return _KEPT[key]
    built = build()
    if len(_KEPT) >= KEPT_VERSIONS:
        _KEPT.clear()
    _KEPT[key] = built
    return built


@dataclass(frozen=True)
class Layout:
    """The version's items in the checklist's order as (item id, section id), and what progress needs to
    know before reading more: whether any item or section has a condition, which sections repeat."""

    items: tuple[tuple[int, int], ...]
    conditional: bool
    repeating: frozenset[int]

    @cached_property
    def first_copy(self) -> tuple[tuple[int, int, int], ...]:
        """(item id, section id, copy) of each item in its first copy: the progress's items, no copy added."""
        return tuple((i, s, 1) for i, s in self.items)

    @cached_property
    def first_slots(self) -> frozenset[tuple[int, int]]:
        return frozenset((i, 1) for i, _s in self.items)


def layout(version: ChecklistVersion) -> Layout:
    """The version's layout (read once per process)."""

    def build() -> Layout:
        rows = db.session.execute(
            db.select(
                ChecklistItem.id,
                ChecklistItem.section_id,
                ChecklistItem.show_if.is_not(None),
                ChecklistSection.show_if.is_not(None),
                ChecklistSection.repeat.is_not(None),
            )
            .join(ChecklistSection, ChecklistSection.id == ChecklistItem.section_id)
            .where(ChecklistItem.version_id == version.id)
            .order_by(ChecklistItem.position)
        ).all()
        return Layout(
            items=tuple((r[0], r[1]) for r in rows),
            conditional=any(r[2] or r[3] for r in rows),
            repeating=frozenset(r[1] for r in rows if r[4]),
        )

    return kept_for_version(version, "layout", build)


def score_rules(version: ChecklistVersion) -> tuple[list[scoring.ItemRule], dict[int, float]]:
    """The scoring rules of a scored version's items (in the checklist's order) and its sections' weights
    (read once per process)."""

    def build() -> tuple[list[scoring.ItemRule], dict[int, float]]:
        default = (version.scoring or {}).get("points", {})
        rows = db.session.execute(
            db.select(
                ChecklistItem.id,
                ChecklistItem.section_id,
                ChecklistItem.weight,
                ChecklistItem.points,
                ChecklistItem.answer,
                ChecklistItem.results,
            )
            .where(ChecklistItem.version_id == version.id)
            .order_by(ChecklistItem.position)
        ).all()
        rules = [scoring.rule_from(r.id, r.section_id, r.weight, r.points, r.answer, r.results, default) for r in rows]
        weights = {
            s.id: s.weight if s.weight is not None else 1
            for s in db.session.execute(
                db.select(ChecklistSection.id, ChecklistSection.weight).where(ChecklistSection.version_id == version.id)
            )
        }
        return rules, weights

    return kept_for_version(version, "score rules", build)


def get_version(key: str, number: int) -> ChecklistVersion | None:
    return db.session.scalar(
        db.select(ChecklistVersion).join(Checklist).where(Checklist.key == key, ChecklistVersion.number == number)
    )


def load_clause_links(*versions: ChecklistVersion) -> None:
    """Load the clauses every item of these versions covers, in one query (not one per item)."""
    db.session.scalars(
        db.select(ChecklistItem)
        .where(ChecklistItem.version_id.in_([v.id for v in versions]))
        .options(selectinload(ChecklistItem.clause_links))
    ).all()


def version_clauses(version_id: int) -> list[str]:
    """Every clause (of any standard) the items of a version cover."""
    return list(
        db.session.scalars(
            db.select(ItemClause.clause)
            .join(ChecklistItem, ChecklistItem.id == ItemClause.item_id)
            .where(ChecklistItem.version_id == version_id)
            .distinct()
        )
    )


def all_checklists() -> list[Checklist]:
    return list(db.session.scalars(db.select(Checklist).order_by(Checklist.key)).all())


# --- comparing versions ------------------------------------------------------------------------

COMPARED_FIELDS = (
    "clause",
    "clauses",
    "question",
    "guidance",
    "evidence",
    "photo_rule",
    "results",
    "require",
    "procedures",
    "answer",
    "show_if",
    "weight",
    "points",
)


@dataclass
class VersionDiff:
    older: ChecklistVersion
    newer: ChecklistVersion
    added: list[ChecklistItem] = field(default_factory=list)
    removed: list[ChecklistItem] = field(default_factory=list)
    renamed: list[tuple[ChecklistItem, ChecklistItem]] = field(default_factory=list)
    # (old item, new item, names of the fields that differ)
    reworded: list[tuple[ChecklistItem, ChecklistItem, list[str]]] = field(default_factory=list)
    # Rules of the checklist and of its sections (issue 15): (what, old value, new value) of each that differs.
    settings: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def unchanged_count(self) -> int:
        changed = {new.key for _, new, _ in self.reworded} | {new.key for _, new in self.renamed}
        return len(self.newer.items) - len(self.added) - len(changed)


def compare_versions(older: ChecklistVersion, newer: ChecklistVersion) -> VersionDiff:
    """Items added, removed, renamed and reworded between two versions of one checklist."""
    load_clause_links(older, newer)
    # Each version's `renamed` says how ids changed since the one before it; chain them.
    # (The newer one may be a draft not yet published: it is not among the checklist's versions.)
    between = [v for v in older.checklist.versions if older.number < v.number < newer.number] + [newer]
    new_items = {i.key: i for i in newer.items}
    diff = VersionDiff(older, newer)
    matched = set()
    for old in older.items:
        key = old.key
        for v in between:
            key = (v.renamed or {}).get(key, key)
        new = new_items.get(key)
        if new is None:
            diff.removed.append(old)
            continue
        matched.add(key)
        if key != old.key:
            diff.renamed.append((old, new))
        changed = [f for f in COMPARED_FIELDS if getattr(old, f) != getattr(new, f)]
        if changed:
            diff.reworded.append((old, new, changed))
    diff.added = [i for i in newer.items if i.key not in matched]
    diff.settings = changed_settings(older, newer)
    return diff


# The checklist's own rules and its sections' (issue 15), as the comparison names them.
CHECKLIST_SETTINGS = (("finding_results", "Findings needed for"), ("scoring", "Scoring"))
SECTION_SETTINGS = (("weight", "weight"), ("show_if", "asked only when"), ("repeat", "repeats"))


def changed_settings(older: ChecklistVersion, newer: ChecklistVersion) -> list[tuple[str, Any, Any]]:
    """What differs in the rules that are not an item's: the checklist's finding rules and scoring, and each
    section's weight, condition and repetition (sections matched by title; a renamed section's items show
    as moved, not its rules)."""
    found = [(label, getattr(older, f), getattr(newer, f)) for f, label in CHECKLIST_SETTINGS]
    old_sections = {s.title: s for s in older.sections}
    for section in newer.sections:
        before = old_sections.get(section.title)
        if before is not None:
            found += [
                (f"Section “{section.title}”: {label}", getattr(before, f), getattr(section, f))
                for f, label in SECTION_SETTINGS
            ]
    return [(what, old, new) for what, old, new in found if old != new]


# --- the folder as the library page shows it ----------------------------------------------------


@dataclass
class FileStatus:
    """One file in the checklist folder, compared with what is imported."""

    loaded: LoadedChecklist
    state: str  # "imported" | "changed" | "new" | "invalid"
    latest: ChecklistVersion | None = None


_folder_cache: dict[tuple, LoadedChecklist] = {}


def folder_status(directory: Path) -> list[FileStatus]:
    """Each file's state: in step with the library, changed since import, new, or invalid."""
    paths = checklist_files(directory)
    loaded = []
    for path in paths:
        stat = path.stat()
        cache_key = (str(path), stat.st_mtime_ns, stat.st_size)
        if cache_key not in _folder_cache:
            if len(_folder_cache) > 256:  # edited files leave stale keys behind
                _folder_cache.clear()
            _folder_cache[cache_key] = load_checklist_file(path, shown_in_folder(path))
        loaded.append(_folder_cache[cache_key])
    statuses = []
    for item in loaded:
        if not item.ok:
            statuses.append(FileStatus(item, "invalid"))
            continue
        assert item.data is not None  # ok: the file validated
        checklist = get_checklist(item.data["id"])
        latest = checklist.latest if checklist else None
        if latest is None:
            statuses.append(FileStatus(item, "new"))
        elif latest.content_hash == item.content_hash:
            statuses.append(FileStatus(item, "imported", latest))
        else:
            statuses.append(FileStatus(item, "changed", latest))
    return statuses


def get_checklist(key: str) -> Checklist | None:
    return db.session.scalar(db.select(Checklist).filter_by(key=key))


# --- authoring in the browser (and any other source of YAML text: an XLSX import) -------------------


@dataclass
class Draft:
    """YAML text checked as the folder's files are: its problems, or what it would publish."""

    loaded: LoadedChecklist
    # The checklist it would add a version to (None for a new one), and that version as unsaved rows.
    checklist: Checklist | None = None
    version: ChecklistVersion | None = None
    # Why a valid text would still not publish (its version number, or no change), as publishing says it.
    refusals: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [*self.loaded.problems, *self.refusals]

    @property
    def latest(self) -> ChecklistVersion | None:
        return self.checklist.latest if self.checklist else None


def decode_upload(raw: bytes, source_name: str, size: int | None = None) -> tuple[str | None, list[Problem]]:
    """An uploaded file's text (UTF-8, newlines as "\\n"), or why it is not a checklist file. Never raises.

    `size` is the whole file's, when only its beginning was read."""
    size = max(size or 0, len(raw))
    if size > MAX_FILE_BYTES:
        return None, [Problem(source_name, None, "", f"is {size:,} bytes; checklist files are limited to 1 MB")]
    if b"\x00" in raw:
        return None, [Problem(source_name, None, "", "is not a text file; upload the checklist's .yaml file")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            Problem(source_name, line, "", f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8")
        ]
    return normalise_newlines(text), []


def normalise_newlines(text: str) -> str:
    """Browsers send a textarea's lines ended by "\\r\\n": the stored text uses "\\n", as the files do."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_text(text: str, source_name: str) -> LoadedChecklist:
    """Validate YAML text exactly as a checklist file is (the same problems on the same lines). Never raises."""
    loaded = LoadedChecklist(path=Path(source_name), display_path=source_name)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        loaded.problems.append(Problem(source_name, None, "", f"is {size:,} bytes; checklists are limited to 1 MB"))
        return loaded
    loaded.source_text = text
    validate_text(text, loaded)
    return loaded


def draft(text: str, source_name: str) -> Draft:
    """The text checked, and when valid the version it would publish, as unsaved rows for a preview and a
    comparison with the current version. Adds nothing to the session."""
    result = Draft(check_text(text, source_name))
    if result.loaded.ok:
        assert result.loaded.data is not None  # ok: the text validated
        result.checklist = get_checklist(result.loaded.data["id"])
        result.version = _build_version(None, result.loaded, None, add=lambda row: None)
        latest = result.latest
        if latest is not None and latest.content_hash == result.loaded.content_hash:
            result.refusals.append(_nothing_to_publish(result.loaded, latest))
        elif (refusal := version_problem(result.loaded, latest)) is not None:
            result.refusals.append(refusal)
    return result


def publish_text(text: str, actor: User | None, source_name: str) -> tuple[ChecklistVersion | None, list[Problem]]:
    """Publish YAML text as the next version of its checklist, through the folder's import path.

    Returns (the new version, []) or (None, the problems): the text's own problems, a version number not
    above the latest (with the number to use), or no change at all. The text is stored exactly as given
    (comments included) and downloaded as it was. The event log records who published it and from where.
    Does not commit; on a clash with a version published at the same moment it rolls the session back."""
    loaded = check_text(text, source_name)
    if not loaded.ok:
        return None, loaded.problems
    try:
        outcome, version, problems = import_checklist(loaded, actor)
    except IntegrityError:
        db.session.rollback()
        assert loaded.data is not None  # ok: the text validated
        message = (
            f"version {loaded.data['version']} of {loaded.data['id']} was published by someone else a moment ago;"
            " compare with it, then raise the version"
        )
        return None, [Problem(source_name, line_of(loaded, "version"), "version", message)]
    if problems:
        return None, problems
    assert version is not None  # not refused
    if outcome == "unchanged":
        return None, [_nothing_to_publish(loaded, version)]
    return version, []


def _nothing_to_publish(loaded: LoadedChecklist, latest: ChecklistVersion) -> Problem:
    message = f"nothing to publish: this is version {latest.number} as it is; change something and raise the version"
    return Problem(loaded.display_path, line_of(loaded, "version"), "version", message)


def next_version_text(version: ChecklistVersion) -> str:
    """A version's stored text with `version:` raised to the next number, the rest as the author wrote it."""
    text = version.source_text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("version:"):
            rest = line[len("version:") :]
            value, hash_, comment = rest.partition("#")
            if value.strip() == str(version.number):
                spaces = value[: len(value) - len(value.lstrip())] or " "
                after = value[len(value.rstrip()) :] if comment or hash_ else ""
                lines[i] = f"version:{spaces}{version.number + 1}{after}{hash_}{comment}"
                return "\n".join(lines)
    return text  # written some other way (a flow mapping): the author raises it, the problem says how


STARTER = """\
# A new checklist. Each change you publish becomes a new version; an audit keeps the version it
# started with. The problems beside the editor say what is missing, line by line.
id: {key}
title: {title}
version: 1
description: What this checklist is for, in one sentence.
# standard: ISO 9001:2015    # only for a checklist of a standard; each item then gives its clause
sections:
  - title: First section
    items:
      - id: first-question
        reference: "1.1"
        question: What does the auditor check here?
        guidance: How to check it, for an auditor new to the area.
        evidence: [a record to look at]
"""


def starter_text(key: str = "my-checklist", title: str = "My checklist") -> str:
    """The text a new checklist starts from: valid as it is, so the preview shows at once."""
    return STARTER.format(key=key, title=title)
