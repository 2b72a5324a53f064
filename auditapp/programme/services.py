"""Programme rules: auditor competence, suggested audit frequency, planning a year's audits.

Functions that change records do not commit: the view commits them with their events. Lists and
figures come from SQL aggregates, a fixed number of queries however many auditors or areas.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from ..accounts.models import Area, User
from ..auditors.models import AuditorQualification
from ..auditors.services import (
    can_lead,
    may_audit,
    qualifications_of,
    qualified_leads,
    unqualified_lead_message,
)
from ..audits import services as audits
from ..audits.models import Audit, AuditStatus, audit_team
from ..capa.models import NCStatus, Nonconformity
from ..checklists.models import Checklist, ChecklistVersion
from ..core.errors import RuleError
from ..events import services as events
from ..extensions import db
from .models import IMPORTANCE_LABELS, ProgrammeEntry, programme_audits

BASE_PER_YEAR = {1: 1, 2: 2, 3: 4}  # importance -> audits a year before history is looked at
MAX_PER_YEAR = 12
HISTORY_DAYS = 365  # "the last 12 months"
MANY_NCS = 3


# --- the auditor register (ISO 19011 7.2) ----------------------------------------------------------


@dataclass
class RegisterRow:
    user: User
    qualifications: list[AuditorQualification]
    can_lead: bool
    led: int
    joined: int


def register(on_date: date, only: User | None = None) -> list[RegisterRow]:
    """Everyone who can audit, with qualifications and audits led and joined, in four queries."""
    people = audits.auditors() if only is None else [only]
    ids = [u.id for u in people]
    quals = qualifications_of(ids)
    led = dict(
        db.session.execute(
            select(Audit.lead_auditor_id, func.count(Audit.id))
            .where(Audit.lead_auditor_id.in_(ids))
            .group_by(Audit.lead_auditor_id)
        ).all()
    )
    joined: dict[int, int] = dict(
        db.session.execute(
            select(audit_team.c.user_id, func.count(audit_team.c.audit_id))
            .where(audit_team.c.user_id.in_(ids))
            .group_by(audit_team.c.user_id)
        ).all()
    )
    return [
        RegisterRow(u, quals[u.id], can_lead(quals[u.id], on_date), led.get(u.id, 0), joined.get(u.id, 0))
        for u in people
    ]


# --- suggested frequency -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    per_year: int
    reasons: list[str]


@dataclass(frozen=True)
class AreaHistory:
    ncs: int = 0
    majors: int = 0
    last_audited: date | None = None


def suggest_frequency(importance: int, history: AreaHistory, today: date) -> Suggestion:
    """Audits a year for an area, from its importance and its recent history, with the reasons why."""
    base = BASE_PER_YEAR[importance]
    reasons = [f"{IMPORTANCE_LABELS[importance]} importance: {base} a year"]
    per_year = base
    if history.majors:
        per_year += 1
        noun = "nonconformity" if history.majors == 1 else "nonconformities"
        reasons.append(f"{history.majors} major {noun} in the last 12 months: +1")
    if history.ncs >= MANY_NCS:
        per_year += 1
        reasons.append(f"{history.ncs} nonconformities in the last 12 months: +1")
    if history.last_audited is None:
        per_year += 1
        reasons.append("Never audited: +1")
    elif history.last_audited < today - timedelta(days=HISTORY_DAYS):
        per_year += 1
        reasons.append(f"Last audited {history.last_audited:%d %b %Y}, more than 12 months ago: +1")
    if per_year > MAX_PER_YEAR:
        per_year = MAX_PER_YEAR
        reasons.append(f"Capped at {MAX_PER_YEAR} a year")
    return Suggestion(per_year, reasons)


def area_histories(today: date) -> dict[int, AreaHistory]:
    """Nonconformities of the last 12 months and the last completed audit of every area, in two queries."""
    since = today - timedelta(days=HISTORY_DAYS)
    ncs = {
        row.area_id: row
        for row in db.session.execute(
            select(
                Nonconformity.area_id,
                func.count(Nonconformity.id).label("ncs"),
                func.sum(case((Nonconformity.severity == "major", 1), else_=0)).label("majors"),
            )
            .where(
                Nonconformity.area_id.is_not(None),
                Nonconformity.raised_at >= since,
                Nonconformity.status != NCStatus.WITHDRAWN.value,
            )  # withdrawn: raised in error
            .group_by(Nonconformity.area_id)
        )
    }
    last = dict(
        db.session.execute(
            select(Audit.area_id, func.max(Audit.completed_at))
            .where(Audit.area_id.is_not(None), Audit.status == AuditStatus.COMPLETED.value)
            .group_by(Audit.area_id)
        ).all()
    )
    return {
        area_id: AreaHistory(
            ncs=ncs[area_id].ncs if area_id in ncs else 0,
            majors=int(ncs[area_id].majors or 0) if area_id in ncs else 0,
            last_audited=completed.date() if (completed := last.get(area_id)) else None,
        )
        for area_id in set(ncs) | set(last)
        if area_id is not None
    }  # both queries skip rows without an area


def suggestion_for(area_id: int, importance: int, today: date) -> Suggestion:
    return suggest_frequency(importance, area_histories(today).get(area_id, AreaHistory()), today)


# --- programme entries ---------------------------------------------------------------------------------


def save_entry(
    actor: User,
    entry: ProgrammeEntry | None,
    *,
    year: int,
    area_id: int,
    checklist_id: int,
    importance: int,
    planned_per_year: int | None,
    lead_auditor_id: int | None,
    notes: str,
    today: date,
) -> ProgrammeEntry:
    """Add an entry to a year's programme, or change one; an empty frequency takes the suggestion. Does not commit."""
    events.begin_change()
    if db.session.get(Area, area_id) is None:
        raise RuleError("area_id", "Choose an area from the list.")
    checklist = db.session.get(Checklist, checklist_id)
    if checklist is None or checklist.latest is None:
        raise RuleError("checklist_id", "Choose a checklist from the list.")
    if lead_auditor_id is not None:
        lead = db.session.get(User, lead_auditor_id)
        if lead is None or not may_audit(lead):
            raise RuleError("lead_auditor_id", "Choose an active auditor or quality lead.")
    if planned_per_year is None:
        planned_per_year = suggestion_for(area_id, importance, today).per_year
    clash = db.session.scalar(
        select(ProgrammeEntry.id).where(
            ProgrammeEntry.year == year, ProgrammeEntry.area_id == area_id, ProgrammeEntry.checklist_id == checklist_id
        )
    )
    if clash is not None and (entry is None or clash != entry.id):
        raise RuleError("checklist_id", f"This area is already in the {year} programme with this checklist.")
    values = {
        "year": year,
        "area_id": area_id,
        "checklist_id": checklist_id,
        "importance": importance,
        "planned_per_year": planned_per_year,
        "lead_auditor_id": lead_auditor_id,
        "notes": notes,
    }
    if entry is None:
        entry = ProgrammeEntry(**values, created_by_id=actor.id)
        db.session.add(entry)
        _flush_unique(year)
        events.record(actor, "programme_entry", entry.id, "created", values)
    else:
        changes = events.apply_changes(entry, **values)
        _flush_unique(year)
        if changes:
            events.record(actor, "programme_entry", entry.id, "updated", changes)
    return entry


def _flush_unique(year: int) -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:  # another quality lead added the same line meanwhile
        db.session.rollback()
        raise RuleError("checklist_id", f"This area is already in the {year} programme with this checklist.") from exc


def entries(year: int) -> list[ProgrammeEntry]:
    """A year's programme, by area name, with what each line needs loaded up front."""
    return list(
        db.session.scalars(
            select(ProgrammeEntry)
            .join(Area, Area.id == ProgrammeEntry.area_id)
            .where(ProgrammeEntry.year == year)
            .options(
                selectinload(ProgrammeEntry.area).selectinload(Area.owner),
                selectinload(ProgrammeEntry.checklist).selectinload(Checklist.versions),
                selectinload(ProgrammeEntry.lead_auditor),
                selectinload(ProgrammeEntry.audits),
            )
            .order_by(Area.name, ProgrammeEntry.id)
        ).all()
    )


# --- when audits are due, and their status in the programme ------------------------------------------------

STATUS_LABELS = {"planned": "Planned", "overdue": "Overdue", "in_progress": "In progress", "completed": "Completed"}


def schedule_status(audit: Audit, today: date) -> str:
    """planned, overdue (planned date passed, not started), in_progress or completed."""
    if audit.status == AuditStatus.COMPLETED:
        return "completed"
    if audit.status == AuditStatus.IN_PROGRESS:
        return "in_progress"
    if audit.planned_date is not None and audit.planned_date < today:
        return "overdue"
    return "planned"


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def spread_dates(year: int, count: int, start: date) -> list[date]:
    """count working days spread evenly over the months from start to the year's end."""
    return spread_over_months(year, count, start, list(range(max(start, date(year, 1, 1)).month, 13)))


def spread_over_months(year: int, count: int, start: date, months: list[int]) -> list[date]:
    """count working days from start on, spread evenly over the given months of the year: the first
    working day of evenly spaced months (start itself in start's month), or evenly spaced days of those
    months when there are fewer months than audits."""
    start = max(start, date(year, 1, 1))
    months = sorted(m for m in set(months) if start.year == year and m >= start.month)
    if count <= 0 or not months:
        return []
    if count <= len(months):
        wanted = [max(date(year, months[(i * len(months)) // count], 1), start) for i in range(count)]
    else:
        days = [
            day
            for m in months
            for day in (date(year, m, d) for d in range(1, calendar.monthrange(year, m)[1] + 1))
            if day >= start
        ]
        wanted = [days[(i * len(days)) // count] for i in range(count)]
    result: list[date] = []
    for day in wanted:
        day = next_working_day(max(day, result[-1] + timedelta(days=1)) if result else day)
        if day.year == year:
            result.append(day)
    return result


def area_audits(area_id: int, checklist_id: int, year: int) -> list[Audit]:
    """The year's audits of an area with a checklist (any version), planned from the programme or not:
    planned in the year, or done in it."""
    return list(
        db.session.scalars(
            select(Audit)
            .join(ChecklistVersion, ChecklistVersion.id == Audit.checklist_version_id)
            .where(
                Audit.area_id == area_id,
                ChecklistVersion.checklist_id == checklist_id,
                _in_year(year),
            )
            .order_by(Audit.planned_date, Audit.id)
        )
    )


def _in_year(year: int) -> ColumnElement[bool]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    return or_(
        Audit.planned_date.between(first, last),
        and_(Audit.completed_at >= datetime(year, 1, 1), Audit.completed_at < datetime(year + 1, 1, 1)),
    )


def _months_of(audit: Audit, year: int) -> set[int]:
    """The months of the year an audit takes up: planned for, and done in."""
    days = [audit.planned_date, audit.completed_at.date() if audit.completed_at else None]
    return {d.month for d in days if d is not None and d.year == year}


def dates_to_plan(entry: ProgrammeEntry, today: date, same_month: bool = False) -> list[date]:
    """The audits still missing to reach the entry's frequency this year, counting the audits of the
    same area and checklist planned outside the programme too, spread evenly over the months left.
    A month that already has (or had) an audit of the area with this checklist is skipped unless
    `same_month` is asked for; never a day that already has one."""
    existing = area_audits(entry.area_id, entry.checklist_id, entry.year)
    taken = {a.planned_date for a in existing if a.planned_date is not None}
    busy = set() if same_month else set().union(*(_months_of(a, entry.year) for a in existing))
    start = max(today, date(entry.year, 1, 1))
    months = [m for m in range(start.month, 13) if m not in busy]
    result: list[date] = []
    for day in spread_over_months(entry.year, entry.planned_per_year - len(existing), start, months):
        while day in taken or day in result:
            day = next_working_day(day + timedelta(days=1))
        if day.year == entry.year:
            result.append(day)
    return result


def audit_title(entry: ProgrammeEntry) -> str:
    latest = entry.checklist.latest
    assert latest is not None  # an entry is saved only for a checklist with a version
    return f"{entry.area.name}: {latest.title}"[:200]


def create_audits(
    actor: User,
    entry: ProgrammeEntry,
    today: date,
    lead_auditor_id: int | None,
    override_reason: str = "",
    same_month: bool = False,
) -> list[Audit]:
    """Plan the entry's missing audits for the year through audits.plan_audit (numbering, impartiality).
    Does not commit: all of them or none."""
    events.begin_change()  # two quality leads pressing at once: the second sees the first one's audits
    if entry.year < today.year:
        raise RuleError("_form", f"The {entry.year} programme is over; plan audits in this year's programme.")
    if lead_auditor_id is None:
        raise RuleError("lead_auditor_id", "Choose the lead auditor.")
    dates = dates_to_plan(entry, today, same_month)
    if not dates:
        raise RuleError(
            "_form",
            f"Nothing to create: the area already has its {entry.planned_per_year} "
            f"audits with this checklist for {entry.year}, or no month without one is left this year.",
        )
    planned = [
        audits.plan_audit(
            actor,
            checklist_id=entry.checklist_id,
            title=audit_title(entry),
            planned_date=day,
            lead_auditor_id=lead_auditor_id,
            area_id=entry.area_id,
            override_reason=override_reason,
        )
        for day in dates
    ]
    db.session.execute(insert(programme_audits), [{"audit_id": a.id, "entry_id": entry.id} for a in planned])
    events.record(
        actor,
        "programme_entry",
        entry.id,
        "audits_created",
        {
            "audits": [a.number for a in planned],
            "audit_ids": [a.id for a in planned],
            "planned_dates": [day.isoformat() for day in dates],
            "lead_auditor_id": lead_auditor_id,
            **({"impartiality_override": planned[0].impartiality_override} if planned[0].impartiality_override else {}),
        },
    )
    db.session.expire(entry, ["audits"])
    return planned


# --- the programme page -----------------------------------------------------------------------------


@dataclass
class EntryRow:
    entry: ProgrammeEntry
    suggestion: Suggestion
    counts: Counter
    warnings: list[str] = field(default_factory=list)
    owns_area: bool = False
    outside: int = 0  # of the counted audits, those not planned from this entry

    @property
    def missing(self) -> int:
        """Audits still to plan to reach the chosen frequency, whoever planned the others."""
        return max(0, self.entry.planned_per_year - sum(self.counts.values()))


@dataclass
class Programme:
    year: int
    rows: list[EntryRow]
    months: list[tuple[str, list[tuple[Audit, str]]]]  # month name, [(audit, status)] by date

    @property
    def audit_count(self) -> int:
        return sum(len(audits) for _, audits in self.months)


def judged_on(year: int, today: date) -> date:
    """The day a year's qualifications are judged on: today in the current year, else its first day."""
    return today if year == today.year else date(year, 1, 1)


def programme(year: int, today: date) -> Programme:
    """A year's programme with suggestions, counts and warnings, and its audits month by month."""
    rows = []
    lines = entries(year)
    histories = area_histories(today)
    on_date = judged_on(year, today)
    leads = qualified_leads({e.lead_auditor_id for e in lines if e.lead_auditor_id}, on_date)
    # Every audit of an entry's area and checklist this year counts, planned from the programme or not.
    of_line: dict[tuple[int | None, int], list[Audit]] = defaultdict(list)
    for audit, checklist_id in db.session.execute(
        select(Audit, ChecklistVersion.checklist_id)
        .join(ChecklistVersion, ChecklistVersion.id == Audit.checklist_version_id)
        .where(Audit.area_id.in_({e.area_id for e in lines}), _in_year(year))
    ):
        of_line[(audit.area_id, checklist_id)].append(audit)
    for entry in lines:
        counted = of_line[(entry.area_id, entry.checklist_id)]
        mine = {a.id for a in entry.audits}
        row = EntryRow(
            entry,
            suggest_frequency(entry.importance, histories.get(entry.area_id, AreaHistory()), today),
            Counter(schedule_status(a, today) for a in counted),
            outside=sum(1 for a in counted if a.id not in mine),
        )
        lead = entry.lead_auditor
        if lead is not None and entry.area.owner_id == lead.id:
            row.owns_area = True
            row.warnings.append(
                f"{lead.name} owns {entry.area.name}, so should not lead its audits (auditors must not "
                "audit their own work, ISO 9001 9.2.2 c). Creating them needs a quality lead's reason."
            )
        if lead is not None and lead.id not in leads:
            row.warnings.append(unqualified_lead_message(lead, on_date))
        rows.append(row)
    by_month: dict[int, list[tuple[Audit, str]]] = defaultdict(list)
    for audit in db.session.scalars(
        select(Audit)
        .options(selectinload(Audit.area))
        .where(Audit.planned_date >= date(year, 1, 1), Audit.planned_date <= date(year, 12, 31))
        .order_by(Audit.planned_date, Audit.id)
    ):
        assert audit.planned_date is not None  # selected by its date
        by_month[audit.planned_date.month].append((audit, schedule_status(audit, today)))
    return Programme(year, rows, [(calendar.month_name[m], by_month[m]) for m in range(1, 13)])
