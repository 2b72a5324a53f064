"""Checklist rules: import YAML files as versions, and compare versions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..events import services as events
from ..extensions import db
from . import answers
from .loader import (
    LoadedChecklist,
    Problem,
    declared_standards,
    item_clauses,
    item_reference,
    line_of,
    load_checklist_file,
    problem_at,
)
from .models import Checklist, ChecklistItem, ChecklistSection, ChecklistVersion, ItemClause


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
    if latest and data["version"] <= latest.number:
        hint = (
            f"the content changed since version {latest.number} was imported; raise version to {latest.number + 1}"
            if data["version"] == latest.number
            else f"version {data['version']} is older than the imported version {latest.number}"
        )
        return (
            "refused",
            None,
            [problem_at(loaded.display_path, line_of(loaded, "version"), loaded.doc, ("version",), hint)],
        )
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


def _build_version(checklist: Checklist, loaded: LoadedChecklist, actor: User | None) -> ChecklistVersion:
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
        source_path=loaded.display_path,
        source_text=loaded.source_text,
        imported_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    position = 0
    for s, sec in enumerate(data["sections"]):
        section = ChecklistSection(version=version, position=s, clause=sec["clause"], title=sec["title"])
        db.session.add(section)  # SQLAlchemy 2 does not cascade along backrefs
        for item in sec["items"]:
            db.session.add(
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
                )
            )
            position += 1
    return version


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

    @property
    def unchanged_count(self) -> int:
        changed = {new.key for _, new, _ in self.reworded} | {new.key for _, new in self.renamed}
        return len(self.newer.items) - len(self.added) - len(changed)


def compare_versions(older: ChecklistVersion, newer: ChecklistVersion) -> VersionDiff:
    """Items added, removed, renamed and reworded between two versions of one checklist."""
    load_clause_links(older, newer)
    # Each version's `renamed` says how ids changed since the one before it; chain them.
    between = [v for v in older.checklist.versions if older.number < v.number <= newer.number]
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
    return diff


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
