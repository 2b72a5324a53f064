"""Audit rules: planning with impartiality, who may see and record, answers, progress, completion.

Functions that change an audit's records do not commit: the view commits them together with the
change id (web/changes.py), so a replayed request can never apply twice.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, exists, func, insert, literal, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..accounts.models import Area, Role, User
from ..auditors.services import AUDITOR_ROLES
from ..checklists import scoring, standards
from ..checklists import services as checklists
from ..checklists.models import Checklist, ChecklistItem, ChecklistVersion, Result
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
from .models import NOT_AUDITED, Audit, AuditKind, AuditStatus, Response, audit_team

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


@dataclass
class Progress:
    total: int
    answered: int  # items with a result other than N/A
    not_applicable: int
    by_section: dict[int, tuple[int, int]]  # section id -> (answered, applicable)
    counts: Counter
    # What it was counted from: (item id, section id) of every item, and the results given.
    items: list[tuple[int, int]] = field(default_factory=list, repr=False)
    results: dict[int, str] = field(default_factory=dict, repr=False)
    # --- scoring (issue 15): a scored version's item rules, section weights and the answers' values.
    rules: list[scoring.ItemRule] | None = field(default=None, repr=False)
    weights: dict[int, float] = field(default_factory=dict, repr=False)
    values: dict[int, Any] = field(default_factory=dict, repr=False)

    def with_result(self, item_id: int, result: str, value: Any = None) -> Progress:
        """The same progress once one item has this result (an answer's own, without reading again)."""
        shown = _progress(self.items, {**self.results, item_id: result})
        if self.rules is not None:
            shown.rules, shown.weights = self.rules, self.weights
            shown.values = {**self.values, item_id: value}
        return shown

    @property
    def score(self) -> scoring.AuditScore | None:
        """Section and total scores of a scored checklist (checklists/scoring.py); None when not scored."""
        if self.rules is None:
            return None
        answers = {i: (r, self.values.get(i)) for i, r in self.results.items()}
        return scoring.score(self.rules, answers, self.weights)

    @property
    def applicable(self) -> int:
        return self.total - self.not_applicable

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.applicable) if self.applicable else 100

    @property
    def unanswered(self) -> int:
        return self.applicable - self.answered


def progress(audit: Audit) -> Progress:
    """Answered / applicable items, overall and per section, in one query (every answer's response runs it);
    a scored checklist's score comes with it (the same query reads the answers' values; the items' rules are
    read once per process, checklists.services.score_rules)."""
    version = audit.checklist_version
    if version.scoring is None:
        rows = db.session.execute(
            select(ChecklistItem.id, ChecklistItem.section_id, Response.result)
            .outerjoin(Response, and_(Response.item_id == ChecklistItem.id, Response.audit_id == audit.id))
            .where(ChecklistItem.version_id == audit.checklist_version_id)
        ).all()
        return _progress([(i, s) for i, s, _r in rows], {i: r for i, _s, r in rows if r is not None})
    answered = db.session.execute(
        select(ChecklistItem.id, ChecklistItem.section_id, Response.result, Response.value)
        .outerjoin(Response, and_(Response.item_id == ChecklistItem.id, Response.audit_id == audit.id))
        .where(ChecklistItem.version_id == audit.checklist_version_id)
    ).all()
    counted = _progress([(i, s) for i, s, _r, _v in answered], {i: r for i, _s, r, _v in answered if r is not None})
    counted.rules, counted.weights = checklists.score_rules(version)
    counted.values = {i: v for i, _s, _r, v in answered if v is not None}
    return counted


@dataclass(frozen=True)
class TrendPoint:
    """One audit of a score trend: its total score (None: its checklist version was not scored)."""

    audit: Audit
    score: scoring.Score | None
    current: bool = False


TREND_AUDITS = 12  # earlier audits a trend shows, the latest


def score_trend(user: User, audit: Audit, earlier: int = TREND_AUDITS) -> list[TrendPoint]:
    """The total score of the completed audits of the same checklist (any version) and area before this one,
    that the user may see (visible_to), oldest first, then this audit's own; empty when it is not scored."""
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
    found = list(db.session.scalars(query.order_by(Audit.completed_at.desc(), Audit.id.desc()).limit(earlier)))
    points = []
    for other in reversed(found):
        counted = progress(other).score
        points.append(TrendPoint(other, counted.total if counted else None))
    own = progress(audit).score
    points.append(TrendPoint(audit, own.total if own else None, current=True))
    return points


def score_model(audit: Audit, shown: Progress) -> dict[str, Any] | None:
    """What the phone needs to score the audit offline (static/js/offline/logic.js `score`)."""
    if shown.rules is None or audit.checklist_version.scoring is None:
        return None
    return scoring.phone_model(shown.rules, shown.weights, audit.checklist_version.scoring.get("points", {}))


def progress_of_many(audits: list[Audit]) -> dict[int, Progress]:
    """Progress of each audit, in two queries however many audits (list pages)."""
    version_ids = {a.checklist_version_id for a in audits}
    items_by_version: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row in db.session.execute(
        select(ChecklistItem.version_id, ChecklistItem.id, ChecklistItem.section_id).where(
            ChecklistItem.version_id.in_(version_ids)
        )
    ):
        items_by_version[row.version_id].append((row.id, row.section_id))
    results: dict[int, dict[int, str]] = defaultdict(dict)
    for answer in db.session.execute(
        select(Response.audit_id, Response.item_id, Response.result).where(
            Response.audit_id.in_([a.id for a in audits]), Response.result.is_not(None)
        )
    ):
        results[answer.audit_id][answer.item_id] = answer.result
    return {a.id: _progress(items_by_version[a.checklist_version_id], results[a.id]) for a in audits}


def _progress(items: list[tuple[int, int]], results: dict[int, str]) -> Progress:
    sections: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    counts = Counter(results.values())
    answered = not_applicable = 0
    for item_id, section_id in items:
        result = results.get(item_id)
        counter = sections[section_id]  # every section has its counter, even one whose items are all N/A
        if result == Result.NA:
            not_applicable += 1
            continue
        counter[1] += 1
        if result is not None and result != NOT_AUDITED:
            answered += 1
            counter[0] += 1
    return Progress(
        total=len(items),
        answered=answered,
        not_applicable=not_applicable,
        by_section={k: (v[0], v[1]) for k, v in sections.items()},
        counts=counts,
        items=items,
        results=results,
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


def _audit_open(audit: Audit) -> ColumnElement[bool]:
    """SQL: the audit is not completed, read with a shared lock on its row (PostgreSQL) that keeps it so
    until the commit; on SQLite the statement that asks it holds the database's write lock."""
    return exists(
        select(Audit.id)
        .where(Audit.id == audit.id, Audit.status != AuditStatus.COMPLETED.value)
        .with_for_update(read=True)
    )


def responses_by_item(audit: Audit) -> dict[int, Response]:
    return {r.item_id: r for r in db.session.scalars(select(Response).where(Response.audit_id == audit.id))}


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


def response_for(audit: Audit, item: ChecklistItem) -> Response | None:
    return db.session.scalar(select(Response).where(Response.audit_id == audit.id, Response.item_id == item.id))


@dataclass
class AnswerTarget:
    """What an answer reads about one item of one audit: the audit, the item, its answer, finding and photos."""

    audit: Audit
    item: ChecklistItem
    response: Response | None
    finding: Finding | None
    photos: list[Photo]


def answer_target(user: User, audit_id: int, item_id: int) -> AnswerTarget | None:
    """The item to answer and everything its fragment shows, in one query; None unless the user records in
    the audit (its lead or team) and the item is on the audit's checklist (the caller then says which)."""
    member = or_(
        Audit.lead_auditor_id == user.id,
        Audit.id.in_(select(audit_team.c.audit_id).where(audit_team.c.user_id == user.id)),
    )
    rows = db.session.execute(
        select(Audit, ChecklistItem, Response, Finding, Photo, ChecklistVersion)
        .join(ChecklistItem, and_(ChecklistItem.id == item_id, ChecklistItem.version_id == Audit.checklist_version_id))
        # The version (its standard names a finding's requirement), without its source file: in the same query.
        .join(ChecklistVersion, ChecklistVersion.id == Audit.checklist_version_id)
        .outerjoin(Response, and_(Response.audit_id == Audit.id, Response.item_id == ChecklistItem.id))
        .outerjoin(Finding, Finding.response_id == Response.id)
        .outerjoin(Photo, and_(Photo.audit_id == Audit.id, Photo.item_id == ChecklistItem.id))
        .where(Audit.id == audit_id, member)
        .order_by(Photo.created_at)
        .options(defer(ChecklistVersion.source_text), defer(ChecklistVersion.description))
    ).all()
    if not rows:
        return None
    audit, item, response, finding, _photo, version = rows[0]
    set_committed_value(audit, "checklist_version", version)  # held by the audit: not read again
    return AnswerTarget(audit, item, response, finding, shown_photos([row[4] for row in rows if row[4] is not None]))


def answer_item(
    actor: User,
    audit: Audit,
    item: ChecklistItem,
    result: str,
    base_revision: int,
    response_id: str | None = None,
    known: AnswerTarget | None = None,
    value: Any = None,
) -> tuple[Response, str | None]:
    """Record a result for an item; returns (response, previous result). Does not commit.

    `known` is what the caller read already (answer_target): the item's answer is not read again. The write itself
    checks that the audit is open and that nobody changed the item since base_revision, so nothing is locked
    before it: an answer holds its rows (the audit's, shared; the answer's; the log's head) from its write
    to its commit, and reads nothing meanwhile."""
    if result not in item.results:
        raise RuleError("result", "This checklist does not allow that result for this item.")
    observation.not_before(audit.created_at, "the audit was planned")
    current = known.response if known is not None else response_for(audit, item)
    previous = current.result if current else None
    previous_value = current.value if current else None
    if current is not None and previous == result and previous_value == value and current.revision == base_revision:
        if audit.is_completed:
            raise RecordClosed(CLOSED_MESSAGE)
        return current, previous  # tapping the same button again changes nothing
    starting = audit.status == AuditStatus.PLANNED
    if starting:  # the audit's own row changes: lock it first, exclusively (see lock_audit)
        lock_audit(audit, exclusive=True)
    written = _write_answer(actor, audit, item, current, base_revision, response_id, result, value)
    changes: dict[str, Any] = {"result": [previous, result]}
    if item.answer is not None:  # answer types (issue 15): the value answered, beside the result it gave
        changes["value"] = [previous_value, value]
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
                    select(*(literal(v, columns[k].type) for k, v in values.items())).where(_audit_open(audit)),
                )
                .returning(Response.id)
            ).first()
        except IntegrityError as exc:  # unique (audit, item): another auditor answered first
            db.session.rollback()
            raise StaleAnswer(response_for(audit, item)) from exc
        if written is None:
            raise RecordClosed(CLOSED_MESSAGE)
        response = Response(**values)
    else:
        if response.revision != base_revision:
            raise StaleAnswer(response)
        changed = cast(
            CursorResult[Any],
            db.session.execute(
                update(Response)
                .where(Response.id == response.id, Response.revision == base_revision, _audit_open(audit))
                .values(
                    result=result, value=value, revision=Response.revision + 1, answered_by_id=actor.id, answered_at=now
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if changed != 1:
            db.session.rollback()  # let go of the write lock before reading why
            if lock_audit(audit) == AuditStatus.COMPLETED:
                raise RecordClosed(CLOSED_MESSAGE)
            raise StaleAnswer(response_for(audit, item))
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
    actor: User, audit: Audit, item: ChecklistItem, note: str, base_revision: int, response_id: str | None = None
) -> Response:
    """Save the auditor's note for an item. Does not commit."""
    ensure_open(audit)
    response = response_for(audit, item)
    previous = response.note if response else ""
    if response is not None and previous == note:
        return response
    response = _write_response(actor, audit, item, response, "note_revision", base_revision, response_id, note=note)
    events.record(
        actor, "response", response.id, "note_saved", {"note": [previous, note]}, audit_id=audit.id, item_id=item.id
    )
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
            revision=1 if "result" in values else 0,
            note_revision=1 if "note" in values else 0,
            answered_by_id=actor.id,
            answered_at=observation.observation_time(),
            **values,
        )
        db.session.add(response)
        try:
            db.session.flush()
        except IntegrityError as exc:  # unique (audit, item): another auditor answered first
            db.session.rollback()
            raise StaleAnswer(response_for(audit, item)) from exc
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
