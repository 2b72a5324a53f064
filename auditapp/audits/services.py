"""Audit rules: planning with impartiality, who may see and record, answers, progress, completion.

Functions that change an audit's records do not commit: the view commits them together with the
change id (web/changes.py), so a replayed request can never apply twice.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..accounts.models import Area, Role, User
from ..auditors.services import AUDITOR_ROLES
from ..checklists import conditions, scoring, standards
from ..checklists import services as checklists
from ..checklists.models import (
    Checklist,
    ChecklistItem,
    ChecklistSection,
    ChecklistVersion,
    Result,
    copies_allowed,
    copy_label,
)
from ..checklists.schemas import CLAUSE
from ..core import observed as observation
from ..core.errors import Conflict, RecordClosed, RuleError
from ..core.numbering import next_number
from ..core.timeutil import utcnow
from ..events import services as events
from ..extensions import db
from ..findings.models import Finding
from ..findings.services import default_requirement
from ..photos.models import Photo
from ..photos.services import shown as shown_photos
from .models import NOT_AUDITED, Audit, AuditKind, AuditStatus, Response, SectionCopy, audit_team

CLOSED_MESSAGE = "This audit is completed and read-only. Its lead auditor or a quality lead can reopen it."


class NeedsOverride(RuleError):
    """The plan breaks the impartiality rule; a quality lead may record why it is acceptable."""


class StaleAnswer(Conflict):
    """The item changed since the client loaded it; carries the current response."""

    def __init__(self, current: Response | None):
        super().__init__("_form", "The item changed meanwhile.")
        self.current = current


# --- planning ----------------------------------------------------------------------------------


def default_criteria(version: ChecklistVersion) -> str:
    standard = f"; {version.standard}" if version.standard else ""
    return f"{version.title}, checklist version {version.number}{standard}"


def auditors() -> list[User]:
    """People who can be lead auditor or audit team member."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_([r.value for r in AUDITOR_ROLES]), User.active.is_(True))
            .order_by(User.name)
        ).all()
    )


def plan_audit(
    actor: User,
    *,
    checklist_id: int,
    title: str,
    planned_date: date,
    lead_auditor_id: int,
    area_id: int | None = None,
    criteria: str = "",
    team_ids: Iterable[int] = (),
    auditee: str = "",
    override_reason: str = "",
    kind: str = AuditKind.INTERNAL.value,
) -> Audit:
    """Create an audit pinned to the checklist's latest version. Does not commit."""
    checklist = db.session.get(Checklist, checklist_id)
    if checklist is None or checklist.latest is None:
        raise RuleError("checklist_id", "Choose a checklist from the list.")
    version = checklist.latest
    lead = _auditor(lead_auditor_id, "lead_auditor_id")
    team = [_auditor(i, "team_ids") for i in dict.fromkeys(team_ids) if i != lead.id]
    area = db.session.get(Area, area_id) if area_id is not None else None
    if area_id is not None and area is None:
        raise RuleError("area_id", "Choose an area from the list.")
    override_reason = override_reason.strip()
    own_work = [u for u in [lead, *team] if area is not None and area.owner_id == u.id]
    if own_work and area is not None:  # own_work is empty without an area
        _check_override(actor, own_work[0], area, override_reason, is_lead=own_work[0] is lead)
    else:
        override_reason = ""
    audit = Audit(
        number="",
        title=title,
        checklist_version_id=version.id,
        area=area,
        criteria=criteria.strip() or default_criteria(version),
        planned_date=planned_date,
        lead_auditor=lead,
        team=team,
        auditee=auditee,
        impartiality_override=override_reason,
        created_by_id=actor.id,
        kind=AuditKind(kind).value,
    )
    db.session.add(audit)
    year = utcnow().year
    audit.number = f"AUD-{year}-{next_number('AUD', year):03d}"
    db.session.flush()
    events.record(
        actor,
        "audit",
        audit.id,
        "planned",
        {
            "number": audit.number,
            "kind": audit.kind,
            "title": title,
            "checklist_version_id": version.id,
            "lead_auditor_id": lead.id,
            "team": [m.id for m in team],
            "area_id": area_id,
            "planned_date": planned_date.isoformat(),
            **({"impartiality_override": override_reason} if override_reason else {}),
        },
        audit_id=audit.id,
    )
    return audit


def _auditor(user_id: int, field_name: str) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.active or not user.has_role(*AUDITOR_ROLES):
        raise RuleError(field_name, "Choose active auditors or quality leads.")
    return user


def _check_override(actor: User, owner: User, area: Area, reason: str, is_lead: bool) -> None:
    """ISO 9001 9.2.2 c: auditors do not audit their own work, unless a quality lead says why."""
    if not reason:
        role, field = ("lead its audit", "lead_auditor_id") if is_lead else ("be on its audit team", "team_ids")
        raise NeedsOverride(
            field,
            f"{owner.name} owns {area.name}, so cannot {role} (auditors must not audit their "
            "own work, ISO 9001 9.2.2 c). Choose someone else, or a quality lead can record why it "
            "is acceptable.",
        )
    if not actor.has_role(Role.QUALITY_LEAD):
        raise RuleError("override_reason", "Only a quality lead can override the impartiality rule.")


# --- who may do what ---------------------------------------------------------------------------


def visible_to(user: User) -> ColumnElement[bool]:
    """The one rule of who may see an audit, as SQL: lists filter by it, single audits are checked with it.

    Quality leads and admins see every audit; auditors those they lead or are on the team of;
    supervisors (while they are supervisors) those of the areas they own."""
    if user.has_role(Role.QUALITY_LEAD, Role.ADMIN):
        return true()
    member = select(audit_team.c.audit_id).where(audit_team.c.user_id == user.id)
    rule = or_(Audit.lead_auditor_id == user.id, Audit.id.in_(member))
    if user.has_role(Role.SUPERVISOR):
        rule = or_(rule, Audit.area_id.in_(select(Area.id).where(Area.owner_id == user.id)))
    return rule


def can_view(user: User, audit: Audit) -> bool:
    """Whether the user may see this audit, by the same rule as every list of audits."""
    return bool(db.session.scalar(select(exists().where(Audit.id == audit.id, visible_to(user)))))


def may_see_photo(user: User, photo: Photo) -> bool:
    """Photos taken in an audit: for whoever may see the audit."""
    audit = db.session.get(Audit, photo.audit_id) if photo.audit_id else None
    return audit is not None and can_view(user, audit)


def can_record(user: User, audit: Audit) -> bool:
    """Only the lead auditor and the audit team record answers, findings and photos."""
    return audit.is_member(user)


def visible_audits(user: User) -> list[Audit]:
    query = (
        select(Audit)
        .where(visible_to(user))
        .options(selectinload(Audit.team), selectinload(Audit.area), selectinload(Audit.lead_auditor))
        .order_by(Audit.planned_date.desc().nulls_last(), Audit.id.desc())
    )
    return list(db.session.scalars(query).all())


@dataclass
class MyAudits:
    today: list[Audit] = field(default_factory=list)
    in_progress: list[Audit] = field(default_factory=list)
    upcoming: list[Audit] = field(default_factory=list)
    overdue: list[Audit] = field(default_factory=list)
    completed: list[Audit] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.today or self.in_progress or self.upcoming or self.overdue or self.completed)


def my_audits(user: User, today: date, recent: int = 5) -> MyAudits:
    """The auditor's home screen, grouped the way a working day is."""
    mine = MyAudits()
    for audit in visible_audits(user):
        if not audit.is_member(user):
            continue
        if audit.status == AuditStatus.COMPLETED:
            mine.completed.append(audit)
        elif audit.status == AuditStatus.IN_PROGRESS:
            mine.in_progress.append(audit)
        elif audit.planned_date == today:
            mine.today.append(audit)
        elif audit.planned_date and audit.planned_date < today:
            mine.overdue.append(audit)
        else:
            mine.upcoming.append(audit)
    mine.upcoming.sort(key=lambda a: a.planned_date or date.max)
    mine.completed.sort(key=lambda a: a.completed_at or datetime.min, reverse=True)  # completed: it has completed_at
    mine.completed = mine.completed[:recent]
    return mine


# --- progress ----------------------------------------------------------------------------------


# An item as it is asked in an audit: (item id, copy). Copy 1 everywhere, but in a repeating section whose
# copies the auditor added during the audit ("Station 2" is copy 2; issue 15).
Slot = tuple[int, int]


def section_key(section_id: int, copy: int = 1) -> int | str:
    """How the progress counters name a section's copy: its id for copy 1 (as before), "12-2" for copy 2."""
    return section_id if copy == 1 else f"{section_id}-{copy}"


def slot_key(item_id: int, copy: int = 1) -> str:
    """How the screen (and the phone's score) names an item's copy: "12" for copy 1, "12-c2" for copy 2."""
    return str(item_id) if copy == 1 else f"{item_id}-c{copy}"


@dataclass(frozen=True)
class ShownIf:
    """What the show-if rule reads of a section (checklists/conditions.py)."""

    show_if: dict[str, Any] | None


@dataclass(frozen=True)
class Conditional:
    """What the show-if rule reads of an item, without loading the item (progress runs on every tap)."""

    id: int
    key: str
    answer: dict[str, Any] | None
    show_if: dict[str, Any] | None
    section: ShownIf
    section_id: int = 0


def not_asked(
    rules: list[Conditional], results: dict[Slot, str], values: dict[Slot, Any], copies: Iterable[Slot] = ()
) -> frozenset[Slot]:
    """The slots of the items hidden by their conditions, given the answers (results and values by slot).
    `rules`: every item of the version in order, or empty when none has a condition (nothing is hidden).
    `copies`: (section id, copy) of each copy added to a repeating section: a condition inside one reads the
    answers of that copy for the section's items, and copy 1's for the items before it."""
    if not rules:
        return frozenset()

    def hidden_in(section_id: int | None, copy: int) -> set[Slot]:
        answer_copy = {r.id: copy if r.section_id == section_id else 1 for r in rules}
        given = {r.key: (results.get((r.id, answer_copy[r.id])), values.get((r.id, answer_copy[r.id]))) for r in rules}
        keys = conditions.hidden_keys(rules, given)
        return {(r.id, copy) for r in rules if r.key in keys and (section_id is None or r.section_id == section_id)}

    hidden = hidden_in(None, 1)
    for section_id, copy in copies:
        hidden |= hidden_in(section_id, copy)
    return frozenset(hidden)


def _rules(version_id: int) -> list[Conditional]:
    """The show-if rules of a version's items, in their order (asked only of a version that has conditions)."""
    rows = db.session.execute(
        select(
            ChecklistItem.id,
            ChecklistItem.key,
            ChecklistItem.answer,
            ChecklistItem.show_if,
            ChecklistSection.show_if,
            ChecklistItem.section_id,
        )
        .join(ChecklistSection, ChecklistSection.id == ChecklistItem.section_id)
        .where(ChecklistItem.version_id == version_id)
        .order_by(ChecklistItem.position)
    )
    return [Conditional(i, key, answer, show_if, ShownIf(section), s) for i, key, answer, show_if, section, s in rows]


def _values(*conditions: ColumnElement[bool]) -> dict[int, dict[Slot, Any]]:
    """Answers' values (audit id -> slot -> value), which conditions on typed items and scores read."""
    found: dict[int, dict[Slot, Any]] = defaultdict(dict)
    for audit_id, item_id, copy, value in db.session.execute(
        select(Response.audit_id, Response.item_id, Response.copy, Response.value).where(
            Response.value.is_not(None), *conditions
        )
    ):
        found[audit_id][(item_id, copy)] = value
    return found


def hidden_items(audit: Audit) -> frozenset[Slot]:
    """The slots of the audit's items not asked (their condition is not met by the answers given)."""
    return progress(audit).hidden


@dataclass
class Progress:
    total: int  # items asked (an item hidden by its condition is not asked; a copy's items are asked again)
    answered: int  # items with a result other than N/A
    not_applicable: int
    by_section: dict[int | str, tuple[int, int]]  # section_key -> (answered, applicable)
    counts: Counter
    # What it was counted from: (item id, section id, copy) of every item asked, and the results given.
    items: list[tuple[int, int, int]] = field(default_factory=list, repr=False)
    results: dict[Slot, str] = field(default_factory=dict, repr=False)
    # Show-if (issue 15): the conditions, the answers' values they (and scores) read, and the slots they hide.
    conditions: list[Conditional] = field(default_factory=list, repr=False)
    values: dict[Slot, Any] = field(default_factory=dict, repr=False)
    hidden: frozenset[Slot] = frozenset()
    # Scoring (issue 15): a scored version's item rules and section weights; None when it is not scored.
    scoring_rules: list[scoring.ItemRule] | None = field(default=None, repr=False)
    weights: dict[int, float] = field(default_factory=dict, repr=False)

    def with_result(self, item_id: int, result: str, value: Any = None, copy: int = 1) -> Progress:
        """The same progress once one item has this result (an answer's own, without reading again)."""
        slot = (item_id, copy)
        shown = _progress(self.items, {**self.results, slot: result}, self.conditions, {**self.values, slot: value})
        shown.scoring_rules, shown.weights = self.scoring_rules, self.weights
        return shown

    def scored_slots(self) -> tuple[list[scoring.ItemRule], dict[int | str, float]]:
        """The scoring rules of the items as asked, and the sections' weights: each copy of a repeating
        section is scored as a section of its own (named by section_key, its items by slot_key), with the
        section's weight. Empty when the checklist is not scored."""
        by_id = {rule.id: rule for rule in self.scoring_rules or []}
        rules, weights = [], {}
        for item_id, section_id, copy in self.items:
            if item_id in by_id:
                section = section_key(section_id, copy)
                rules.append(replace(by_id[item_id], id=slot_key(item_id, copy), section=section))
                weights[section] = self.weights.get(section_id, 1)
        return rules, weights

    @property
    def score(self) -> scoring.AuditScore | None:
        """Section and total scores of a scored checklist (checklists/scoring.py) over the items asked (an
        item hidden by its condition is not scored; copies as in scored_slots). None when not scored."""
        if self.scoring_rules is None:
            return None
        rules, weights = self.scored_slots()
        answers = {
            slot_key(*slot): (result, self.values.get(slot))
            for slot, result in self.results.items()
            if slot not in self.hidden
        }
        return scoring.score(rules, answers, weights)

    @cached_property  # asked by each section and chip of the screen
    def hidden_sections(self) -> set[int]:
        """The ids of the sections with a condition none of whose items is asked (the screen hides them), from
        the conditions read (every item of a version that has one, with its section's condition)."""
        conditional = {r.section_id for r in self.conditions if r.section.show_if is not None}
        return {s for s in conditional if all((r.id, 1) in self.hidden for r in self.conditions if r.section_id == s)}

    @property
    def hidden_keys(self) -> set[str]:
        """The items not asked, as the screen names them (slot_key: "12", "12-c2")."""
        return {slot_key(*slot) for slot in self.hidden}

    @property
    def applicable(self) -> int:
        return self.total - self.not_applicable

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.applicable) if self.applicable else 100

    @property
    def unanswered(self) -> int:
        return self.applicable - self.answered


# Whether an item (or its section) has a condition, without reading the conditions (list pages).
_CONDITIONAL = or_(ChecklistItem.show_if.is_not(None), ChecklistSection.show_if.is_not(None))


def progress(audit: Audit) -> Progress:
    """Answered / applicable items, overall and per section and copy (every answer's response runs it).

    The version's items, their order and conditions are read once per process (checklists.layout); what
    is read per call is the audit's answers, in one query, and the copies added to its repeating sections
    when its checklist has any."""
    version = audit.checklist_version
    layout = checklists.layout(version)
    added: dict[int, list[int]] = defaultdict(list)
    if layout.repeating:
        for section_id, number in db.session.execute(
            select(SectionCopy.section_id, SectionCopy.number)
            .where(SectionCopy.audit_id == audit.id)
            .order_by(SectionCopy.number)
        ):
            added[section_id].append(number)
    asked: AbstractSet[Slot]
    if added:
        items = [(i, s, c) for i, s in layout.items for c in (1, *added.get(s, ()))]
        asked = {(i, c) for i, _s, c in items}
    else:  # no copies added (most audits): the version's own, built once
        items, asked = list(layout.first_copy), layout.first_slots
    results: dict[Slot, str] = {}
    values: dict[Slot, Any] = {}
    for item_id, copy, result, value in db.session.execute(
        select(Response.item_id, Response.copy, Response.result, Response.value).where(Response.audit_id == audit.id)
    ):
        if (item_id, copy) not in asked:
            continue
        if result is not None:
            results[(item_id, copy)] = result
        if value is not None:
            values[(item_id, copy)] = value
    scored = version.scoring is not None
    counted = _progress(
        items,
        results,
        checklists.kept_for_version(version, "conditions", lambda: _rules(version.id)) if layout.conditional else [],
        values if layout.conditional or scored else {},
    )
    if scored:
        counted.scoring_rules, counted.weights = checklists.score_rules(version)  # read once per process
    return counted


@dataclass(frozen=True)
class TrendPoint:
    """One audit of a score trend: its total score (None: its checklist version was not scored)."""

    audit: Audit
    score: scoring.Score | None
    current: bool = False


TREND_AUDITS = 12  # earlier audits a trend shows, the latest


def score_trend(user: User, audit: Audit, earlier: int = TREND_AUDITS, own: Progress | None = None) -> list[TrendPoint]:
    """The total score of the completed audits of the same checklist (any version) and area before this one,
    that the user may see (visible_to), oldest first, then this audit's own (from `own`, its progress, when
    the caller has it); empty when it is not scored. A bounded number of queries however many audits."""
    version = audit.checklist_version
    if version.scoring is None:
        return []
    versions = select(ChecklistVersion.id).where(ChecklistVersion.checklist_id == version.checklist_id)
    query = select(Audit).where(
        Audit.checklist_version_id.in_(versions),
        Audit.area_id.is_(None) if audit.area_id is None else Audit.area_id == audit.area_id,
        Audit.status == AuditStatus.COMPLETED.value,
        Audit.id != audit.id,
        visible_to(user),
    )
    if audit.completed_at is not None:
        query = query.where(Audit.completed_at < audit.completed_at)
    query = query.options(selectinload(Audit.checklist_version))  # each point names its version
    found = list(db.session.scalars(query.order_by(Audit.completed_at.desc(), Audit.id.desc()).limit(earlier)))
    counted = progress_of_many(found, scores=True)
    points = []
    for other in reversed(found):
        score = counted[other.id].score
        points.append(TrendPoint(other, score.total if score else None))
    score = (own or progress(audit)).score
    points.append(TrendPoint(audit, score.total if score else None, current=True))
    return points


def score_model(audit: Audit, shown: Progress) -> dict[str, Any] | None:
    """What the phone needs to score the audit offline (static/js/offline/logic.js `score`)."""
    if shown.scoring_rules is None or audit.checklist_version.scoring is None:
        return None
    return scoring.phone_model(*shown.scored_slots(), audit.checklist_version.scoring.get("points", {}))


def progress_of_many(audits: list[Audit], scores: bool = False) -> dict[int, Progress]:
    """Progress of each audit, in three queries however many audits (list pages; more for show-if checklists).
    `scores`: with the scores of scored versions too (the score trend): one query more for the answers' values
    and, once per process, the scoring rules of each version (checklists.score_rules)."""
    version_ids = {a.checklist_version_id for a in audits}
    items_by_version: dict[int, list[tuple[int, int]]] = defaultdict(list)
    conditional: set[int] = set()
    for version_id, item_id, section_id, has_condition in db.session.execute(
        select(ChecklistItem.version_id, ChecklistItem.id, ChecklistItem.section_id, _CONDITIONAL)
        .join(ChecklistSection, ChecklistSection.id == ChecklistItem.section_id)
        .where(ChecklistItem.version_id.in_(version_ids))
        .order_by(ChecklistItem.position)
    ):
        items_by_version[version_id].append((item_id, section_id))
        if has_condition:
            conditional.add(version_id)
    added: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))  # audit -> section -> copies
    for copy in db.session.execute(
        select(SectionCopy.audit_id, SectionCopy.section_id, SectionCopy.number)
        .where(SectionCopy.audit_id.in_([a.id for a in audits]))
        .order_by(SectionCopy.number)
    ):
        added[copy.audit_id][copy.section_id].append(copy.number)
    results: dict[int, dict[Slot, str]] = defaultdict(dict)
    for answer in db.session.execute(
        select(Response.audit_id, Response.item_id, Response.copy, Response.result).where(
            Response.audit_id.in_([a.id for a in audits]), Response.result.is_not(None)
        )
    ):
        results[answer.audit_id][(answer.item_id, answer.copy)] = answer.result
    rules = {v: _rules(v) for v in conditional}
    scored = {a.checklist_version_id: a.checklist_version for a in audits if scores and a.checklist_version.scoring}
    with_rules = [a.id for a in audits if a.checklist_version_id in conditional or a.checklist_version_id in scored]
    values = _values(Response.audit_id.in_(with_rules)) if with_rules else {}
    counted = {
        a.id: _progress(
            [(i, s, c) for i, s in items_by_version[a.checklist_version_id] for c in [1, *added[a.id].get(s, [])]],
            results[a.id],
            rules.get(a.checklist_version_id, []),
            values.get(a.id, {}),
        )
        for a in audits
    }
    for a in audits:
        if a.checklist_version_id in scored:
            counted[a.id].scoring_rules, counted[a.id].weights = checklists.score_rules(scored[a.checklist_version_id])
    return counted


def _progress(
    items: list[tuple[int, int, int]],
    results: dict[Slot, str],
    rules: list[Conditional] | None = None,
    values: dict[Slot, Any] | None = None,
) -> Progress:
    rules, values = rules or [], values or {}
    hidden = not_asked(rules, results, values, sorted({(s, c) for _i, s, c in items if c != 1}))
    sections: dict[int | str, list[int]] = defaultdict(lambda: [0, 0])
    counts = Counter(r for slot, r in results.items() if slot not in hidden)
    answered = not_applicable = total = 0
    for item_id, section_id, copy in items:
        counter = sections[section_key(section_id, copy)]  # every section has its counter, even one all N/A
        if (item_id, copy) in hidden:
            continue  # not asked: an answer kept on it does not count
        total += 1
        result = results.get((item_id, copy))
        if result == Result.NA:
            not_applicable += 1
            continue
        counter[1] += 1
        if result is not None and result != NOT_AUDITED:
            answered += 1
            counter[0] += 1
    return Progress(
        total=total,
        answered=answered,
        not_applicable=not_applicable,
        by_section={k: (v[0], v[1]) for k, v in sections.items()},
        counts=counts,
        items=items,
        results=results,
        conditions=rules,
        values=values,
        hidden=hidden,
    )


# --- answering ---------------------------------------------------------------------------------


def lock_audit(audit: Audit, exclusive: bool = False) -> str | None:
    """Lock the audit's row until the commit and return its committed status (None if it is gone).

    Shared for what is recorded in the audit, so a team's answers go side by side; exclusive to change the
    audit itself (start, complete, reopen), which then waits for the changes in flight, and they for it.
    Every change locks the audit before the event log's head (taken when it records its events), so the two
    locks are always taken in one order. SQLite has no row locks: its one writer holds the whole database
    from its first write, and the checks that matter are made under it (ensure_open, the answer's write)."""
    return db.session.scalar(select(Audit.status).where(Audit.id == audit.id).with_for_update(read=not exclusive))


def ensure_open(audit: Audit, exclusive: bool = False) -> None:
    """Refuse changes to a completed audit, judged on its committed state under the change lock.

    Notes, findings, photos and completing pass here first (an answer checks it in its own write,
    _audit_open). `exclusive` for changes of the audit itself (completing); a planned audit is locked
    exclusively too, as its first record starts it."""
    lock_audit(audit, exclusive=exclusive or audit.status == AuditStatus.PLANNED)
    events.begin_change()
    db.session.refresh(audit)
    if audit.is_completed:
        raise RecordClosed(CLOSED_MESSAGE)
    observation.not_before(audit.created_at, "the audit was planned")


def _audit_open(audit_id: Any) -> ColumnElement[bool]:
    """SQL: the audit is not completed, read with a shared lock on its row (PostgreSQL) that keeps it so
    until the commit; on SQLite the statement that asks it holds the database's write lock."""
    return exists(
        select(Audit.id)
        .where(Audit.id == audit_id, Audit.status != AuditStatus.COMPLETED.value)
        .with_for_update(read=True)
    )


# The answer's compare-and-set, built once (every tap changing an answer runs it): the names of its values
# are not the columns' (SQLAlchemy keeps those for itself).
_CHANGE_ANSWER = (
    update(Response)
    .where(
        Response.id == bindparam("answer_id"),
        Response.revision == bindparam("base_revision"),
        _audit_open(bindparam("open_audit_id", type_=Integer)),
    )
    .values(
        result=bindparam("new_result"),
        value=bindparam("new_value", type_=Response.__table__.c.value.type),
        revision=Response.revision + 1,
        answered_by_id=bindparam("actor_id"),
        answered_at=bindparam("observed_at", type_=Response.__table__.c.answered_at.type),
    )
    .execution_options(synchronize_session=False)
)


def responses_by_slot(audit: Audit) -> dict[Slot, Response]:
    """Every answer of the audit by (item id, copy)."""
    return {(r.item_id, r.copy): r for r in db.session.scalars(select(Response).where(Response.audit_id == audit.id))}


# --- copies of repeating sections (issue 15) ---------------------------------------------------

COPY_NOT_FOUND = "That copy of the section is not in this audit."


@dataclass(frozen=True)
class Copy:
    """One copy of a section as the audit asks it: copy 1 of every section, then the copies added."""

    section: ChecklistSection
    number: int = 1
    name: str = ""  # what the auditor typed when adding it
    last: bool = True  # the last copy of its section so far (the screen offers the next after it)

    @property
    def allowed(self) -> int:
        """How many copies of its section the checklist allows."""
        return copies_allowed(self.section)

    @property
    def label(self) -> str:
        """ "Station 2 – press line", "Station 1"; "" for a section that does not repeat."""
        label = copy_label(self.section)
        if not label:
            return ""
        return f"{label} {self.number}" + (f" – {self.name}" if self.name else "")


def added_copies(audit: Audit) -> dict[int, list[SectionCopy]]:
    """The copies added to the audit's repeating sections (2 and up), by section id, in order."""
    grouped: dict[int, list[SectionCopy]] = defaultdict(list)
    for copy in db.session.scalars(
        select(SectionCopy).where(SectionCopy.audit_id == audit.id).order_by(SectionCopy.number)
    ):
        grouped[copy.section_id].append(copy)
    return grouped


def section_copies(audit: Audit) -> list[Copy]:
    """Every section of the audit's checklist as asked, in order: a repeating one once per copy."""
    added = added_copies(audit)
    copies = []
    for section in audit.checklist_version.sections:
        more = added.get(section.id, [])
        copies.append(Copy(section, last=not more))
        copies += [Copy(section, c.number, c.name, last=n == len(more) - 1) for n, c in enumerate(more)]
    return copies


def copy_named(audit: Audit, item: ChecklistItem, copy: int) -> Copy:
    """The copy of the item's section, or LookupError when the audit has no such copy."""
    if copy == 1:
        return Copy(item.section)
    if copy < 1 or copy > copies_allowed(item.section):
        raise LookupError(COPY_NOT_FOUND)
    added = db.session.scalar(
        select(SectionCopy).where(
            SectionCopy.audit_id == audit.id, SectionCopy.section_id == item.section_id, SectionCopy.number == copy
        )
    )
    if added is None:
        raise LookupError(COPY_NOT_FOUND)
    return Copy(item.section, added.number, added.name)


def finding_place(finding: Finding) -> str:
    """ "Station 2 – press line: " for a finding on an item of an added copy of a repeating section (its NC and
    the report name the station), "Station 1: " in copy 1 of one; "" elsewhere."""
    if finding.item is None or not finding.item.section.repeat:
        return ""
    try:
        return slot_label(copy_named(finding.audit, finding.item, finding.copy))
    except LookupError:
        return ""


def item_anchor(item_id: int, copy: int = 1) -> str:
    """The id of an item's element on the audit screen: "item-12" (as before), "item-12-c2" in copy 2."""
    return f"item-{slot_key(item_id, copy)}"


def slot_label(copy: Copy) -> str:
    """How a blocker, the report or a nonconformity names an item's copy: "Station 2: ", or nothing."""
    return f"{copy.label}: " if copy.label else ""


def add_section_copy(
    actor: User, audit: Audit, section_id: int, name: str = "", number: int | None = None
) -> SectionCopy:
    """Add the next copy of a repeating section ("Station 3") to an open audit. Does not commit.

    Only the audit's members (the view asks can_record); up to the section's max; the name is optional.
    `number` is the copy the screen asked for ("add Station 3"): when that copy is there already and this
    person added it, the request is a retry (its answer was lost, the button tapped again) and that copy
    is the answer, not one more. A copy a teammate added under that number does not count: the next is added."""
    section = db.session.get(ChecklistSection, section_id)
    if section is None or section.version_id != audit.checklist_version_id:
        raise LookupError(COPY_NOT_FOUND)
    if not section.repeat:
        raise RuleError("section_id", f"“{section.title}” is asked once; it does not repeat.")
    ensure_open(audit)
    name = " ".join(name.split())
    if len(name) > 100:
        raise RuleError("name", "A name of at most 100 characters.")
    last = db.session.scalar(
        select(func.max(SectionCopy.number)).where(
            SectionCopy.audit_id == audit.id, SectionCopy.section_id == section.id
        )
    )
    asked = _asked_copy(actor, audit, section, number) if number is not None and number <= (last or 1) else None
    if asked is not None:
        return asked
    adding = (last or 1) + 1
    if adding > copies_allowed(section):
        raise RuleError("name", f"This checklist allows at most {copies_allowed(section)} of “{copy_label(section)}”.")
    copy = SectionCopy(
        audit_id=audit.id,
        section_id=section.id,
        number=adding,
        name=name,
        created_by_id=actor.id,
        created_at=observation.observation_time(),
    )
    db.session.add(copy)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a teammate added the same number meanwhile
        db.session.rollback()
        raise Conflict("name", "Someone added a copy of this section meanwhile; reload and add again.") from exc
    events.record(
        actor,
        "audit",
        audit.id,
        "copy_added",
        {"section": section.title, "copy": adding, "name": name},
        audit_id=audit.id,
    )
    _mark_started(actor, audit)
    return copy


def _asked_copy(actor: User, audit: Audit, section: ChecklistSection, number: int) -> SectionCopy | None:
    """Copy `number` of the section when `actor` added it (add_section_copy's retry), else None."""
    return db.session.scalar(
        select(SectionCopy).where(
            SectionCopy.audit_id == audit.id,
            SectionCopy.section_id == section.id,
            SectionCopy.number == number,
            SectionCopy.created_by_id == actor.id,
        )
    )


def clause_options(audit: Audit) -> list[str]:
    """The clause numbers of the audit's checklist (items' numeric references and the clauses they cover) in
    numeric order, for the ad-hoc finding picker; a reference in another scheme ("A.5.1") is not offered, as
    the picker takes clause numbers only."""
    references = {i.clause for i in audit.checklist_version.items}
    options = references | set(checklists.version_clauses(audit.checklist_version_id))
    return sorted((o for o in options if CLAUSE.match(o)), key=_natural)


def _natural(reference: str) -> list[tuple[int, int | str]]:
    """Sort key: numbers by value, the rest as text ("7.2" < "7.10" < "A.5")."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-]", reference)]


def response_for(audit: Audit, item: ChecklistItem, copy: int = 1) -> Response | None:
    return db.session.scalar(
        select(Response).where(Response.audit_id == audit.id, Response.item_id == item.id, Response.copy == copy)
    )


@dataclass
class AnswerTarget:
    """What an answer reads about one item of one audit: the audit, the item, its answer, finding and photos."""

    audit: Audit
    item: ChecklistItem
    response: Response | None
    finding: Finding | None
    photos: list[Photo]
    copy: int = 1  # the copy of a repeating section it is answered in (issue 15)


def _answer_target_query() -> Select:
    """answer_target's query, with its values as bound parameters: built once (every tap runs it)."""
    member = or_(
        Audit.lead_auditor_id == bindparam("user_id"),
        Audit.id.in_(select(audit_team.c.audit_id).where(audit_team.c.user_id == bindparam("user_id"))),
    )
    item_id, copy = bindparam("item_id", type_=Integer), bindparam("copy", type_=Integer)
    return (
        select(Audit, ChecklistItem, Response, Finding, Photo, ChecklistVersion)
        .join(ChecklistItem, and_(ChecklistItem.id == item_id, ChecklistItem.version_id == Audit.checklist_version_id))
        # The version (its standard names a finding's requirement), without its source file: in the same query.
        .join(ChecklistVersion, ChecklistVersion.id == Audit.checklist_version_id)
        .outerjoin(
            Response, and_(Response.audit_id == Audit.id, Response.item_id == ChecklistItem.id, Response.copy == copy)
        )
        .outerjoin(Finding, Finding.response_id == Response.id)
        .outerjoin(Photo, and_(Photo.audit_id == Audit.id, Photo.item_id == ChecklistItem.id, Photo.copy == copy))
        .where(Audit.id == bindparam("audit_id"), member)
        .order_by(Photo.created_at)
        .options(defer(ChecklistVersion.source_text), defer(ChecklistVersion.description))
    )


_ANSWER_TARGET = _answer_target_query()


def answer_target(user: User, audit_id: int, item_id: int, copy: int = 1) -> AnswerTarget | None:
    """The item to answer and everything its fragment shows, in one query; None unless the user records in
    the audit (its lead or team) and the item is on the audit's checklist (the caller then says which)."""
    rows = db.session.execute(
        _ANSWER_TARGET, {"user_id": user.id, "audit_id": audit_id, "item_id": item_id, "copy": copy}
    ).all()
    if not rows:
        return None
    audit, item, response, finding, _photo, version = rows[0]
    set_committed_value(audit, "checklist_version", version)  # held by the audit: not read again
    photos = shown_photos([row[4] for row in rows if row[4] is not None])
    return AnswerTarget(audit, item, response, finding, photos, copy)


def answer_item(
    actor: User,
    audit: Audit,
    item: ChecklistItem,
    result: str,
    base_revision: int,
    response_id: str | None = None,
    known: AnswerTarget | None = None,
    value: Any = None,
    copy: int = 1,
) -> tuple[Response, str | None]:
    """Record a result for an item; returns (response, previous result). Does not commit.

    `known` is what the caller read already (answer_target): the item's answer is not read again. The write itself
    checks that the audit is open and that nobody changed the item since base_revision, so nothing is locked
    before it: an answer holds its rows (the audit's, shared; the answer's; the log's head) from its write
    to its commit, and reads nothing meanwhile."""
    if result not in item.results:
        raise RuleError("result", "This checklist does not allow that result for this item.")
    observation.not_before(audit.created_at, "the audit was planned")
    current = known.response if known is not None else response_for(audit, item, copy)
    previous = current.result if current else None
    previous_value = current.value if current else None
    if current is not None and previous == result and previous_value == value and current.revision == base_revision:
        if audit.is_completed:
            raise RecordClosed(CLOSED_MESSAGE)
        return current, previous  # tapping the same button again changes nothing
    starting = audit.status == AuditStatus.PLANNED
    if starting:  # the audit's own row changes: lock it first, exclusively (see lock_audit)
        lock_audit(audit, exclusive=True)
    written = _write_answer(actor, audit, item, current, base_revision, response_id, result, value, copy)
    changes: dict[str, Any] = {"result": [previous, result]}
    if item.answer is not None:  # answer types (issue 15): the value answered, beside the result it gave
        changes["value"] = [previous_value, value]
    if copy != 1:  # repeating sections (issue 15): which copy
        changes["copy"] = copy
    events.record(actor, "response", written.id, "answered", changes, audit_id=audit.id, item_id=item.id)
    if starting:
        _mark_started(actor, audit)
    return written, previous


def _write_answer(
    actor: User,
    audit: Audit,
    item: ChecklistItem,
    response: Response | None,
    base_revision: int,
    response_id: str | None,
    result: str,
    value: Any = None,
    copy: int = 1,
) -> Response:
    """One statement: insert the answer, or compare-and-set its revision, if the audit is still open.

    Refuses a completed audit (RecordClosed) and a change nobody saw (StaleAnswer). The Response returned
    holds what was written, without reading it back. answered_at is when it was observed (core/observed.py)."""
    now = observation.observation_time()
    if response is None:
        if base_revision:
            raise StaleAnswer(None)
        values: dict[str, Any] = {
            "id": str(response_id or uuid.uuid4()),
            "audit_id": audit.id,
            "item_id": item.id,
            "copy": copy,
            "result": result,
            "value": value,
            "note": "",
            "revision": 1,
            "note_revision": 0,
            "answered_by_id": actor.id,
            "answered_at": now,
        }
        columns = Response.__table__.c
        try:
            written = db.session.execute(
                insert(Response)
                .from_select(
                    list(values),
                    select(*(literal(v, columns[k].type) for k, v in values.items())).where(_audit_open(audit.id)),
                )
                .returning(Response.id)
            ).first()
        except IntegrityError as exc:  # unique (audit, item, copy): another auditor answered first
            db.session.rollback()
            raise StaleAnswer(response_for(audit, item, copy)) from exc
        if written is None:
            raise RecordClosed(CLOSED_MESSAGE)
        response = Response(**values)
    else:
        if response.revision != base_revision:
            raise StaleAnswer(response)
        changed = cast(
            CursorResult[Any],
            db.session.execute(
                _CHANGE_ANSWER,
                {
                    "answer_id": response.id,
                    "base_revision": base_revision,
                    "open_audit_id": audit.id,
                    "new_result": result,
                    "new_value": value,
                    "actor_id": actor.id,
                    "observed_at": now,
                },
            ),
        ).rowcount
        if changed != 1:
            db.session.rollback()  # let go of the write lock before reading why
            if lock_audit(audit) == AuditStatus.COMPLETED:
                raise RecordClosed(CLOSED_MESSAGE)
            raise StaleAnswer(response_for(audit, item, copy))
        for name, written_value in {
            "result": result,
            "value": value,
            "revision": base_revision + 1,
            "answered_by_id": actor.id,
            "answered_at": now,
        }.items():
            set_committed_value(response, name, written_value)
    set_committed_value(response, "answered_by", actor)
    return response


def save_note(
    actor: User,
    audit: Audit,
    item: ChecklistItem,
    note: str,
    base_revision: int,
    response_id: str | None = None,
    copy: int = 1,
) -> Response:
    """Save the auditor's note for an item (in that copy of a repeating section). Does not commit."""
    ensure_open(audit)
    response = response_for(audit, item, copy)
    previous = response.note if response else ""
    if response is not None and previous == note:
        return response
    response = _write_response(
        actor, audit, item, response, "note_revision", base_revision, response_id, copy=copy, note=note
    )
    changes: dict[str, Any] = {"note": [previous, note]}
    if copy != 1:
        changes["copy"] = copy
    events.record(actor, "response", response.id, "note_saved", changes, audit_id=audit.id, item_id=item.id)
    _mark_started(actor, audit)
    return response


def _write_response(
    actor: User,
    audit: Audit,
    item: ChecklistItem,
    response: Response | None,
    counter: str,
    base_revision: int,
    response_id: str | None,
    copy: int = 1,
    **values: Any,
) -> Response:
    """Insert or compare-and-set update of one field's counter, so nobody overwrites another unseen."""
    if response is None:
        if base_revision:
            raise StaleAnswer(None)
        response = Response(
            id=str(response_id or uuid.uuid4()),
            audit_id=audit.id,
            item_id=item.id,
            copy=copy,
            revision=1 if "result" in values else 0,
            note_revision=1 if "note" in values else 0,
            answered_by_id=actor.id,
            answered_at=observation.observation_time(),
            **values,
        )
        db.session.add(response)
        try:
            db.session.flush()
        except IntegrityError as exc:  # unique (audit, item, copy): another auditor answered first
            db.session.rollback()
            raise StaleAnswer(response_for(audit, item, copy)) from exc
        return response
    column, observed_at = getattr(Response, counter), observation.observation_time()
    if getattr(response, counter) != base_revision:
        raise StaleAnswer(response)
    changed = cast(
        CursorResult[Any],
        db.session.execute(  # an UPDATE without RETURNING: a CursorResult
            update(Response)
            .where(Response.id == response.id, column == base_revision)
            .values({counter: column + 1, "answered_by_id": actor.id, "answered_at": observed_at, **values})
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(response)
    if changed != 1:
        raise StaleAnswer(response)
    return response


def _mark_started(actor: User, audit: Audit) -> None:
    """The first record starts a planned audit, once: a conditional UPDATE, made after the record's own write
    (SQLite's write lock) under the audit's exclusive lock (PostgreSQL), so two first answers start it once."""
    if audit.status != AuditStatus.PLANNED:
        return
    started_at = observation.observation_time()  # an audit started offline started when its first record was made
    changed = cast(
        CursorResult[Any],
        db.session.execute(
            update(Audit)
            .where(Audit.id == audit.id, Audit.status == AuditStatus.PLANNED.value)
            .values(status=AuditStatus.IN_PROGRESS.value, started_at=started_at)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    set_committed_value(audit, "status", AuditStatus.IN_PROGRESS.value)
    if changed == 1:
        set_committed_value(audit, "started_at", started_at)
        events.record(actor, "audit", audit.id, "started", {"status": ["planned", "in_progress"]}, audit_id=audit.id)


# --- what a finding is written with ------------------------------------------------------------

RECURRING_STATEMENTS = 3  # a few at most: a choice, not a list to read


def recurring_statements(user: User, audit: Audit, clause: str, limit: int = RECURRING_STATEMENTS) -> list[str]:
    """Statements already written on this clause in audits of this kind the user may see: the most used
    first, then the most recent. What an auditor picks from instead of typing a recurring finding again."""
    count = func.count(Finding.id)
    latest = func.max(Finding.created_at)
    rows = db.session.execute(
        select(Finding.statement)
        .join(Audit, Audit.id == Finding.audit_id)
        .where(Finding.clause == clause, Finding.statement != "", Audit.kind == audit.kind, visible_to(user))
        .group_by(Finding.statement)
        .order_by(count.desc(), latest.desc(), Finding.statement)
        .limit(limit)
    )
    return [statement for (statement,) in rows]


def finding_requirement(audit: Audit, item: ChecklistItem) -> str:
    """The requirement a new finding on this item is pre-filled with (findings.default_requirement):
    the item's clause in each standard its checklist declares that has it, with the clause's title."""
    named: list[tuple[str, str | None]] = []
    for name in filter(None, (n.strip() for n in (audit.checklist_version.standard or "").split(","))):
        standard = standards.by_name(name)
        if standard is None:  # a name from before standards were data: named, without a title
            named.append((name, None))
        elif (unit := standard.unit_of(item.clause)) is not None or standard.kind(item.clause):
            title = standard.title_of(item.clause)
            if unit and unit != item.clause:
                title = f"within {unit} {standard.title_of(unit)}"
            named.append((standard.name, title or None))
    return default_requirement(item, named)
