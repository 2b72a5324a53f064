"""The nonconformity log: filters from the URL, one query for the page, one for the counts.

The same filters serve the page, the htmx fragment and the CSV/XLSX exports, so a bookmarked or
shared view and its export always show the same records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import selectinload

from ..accounts.models import Area, Role, User
from ..core.forms import clean_text
from ..core.pages import Paged, paginate
from ..extensions import db
from .models import (
    ACTION_ORIGINS,
    NC_STATUS_LABELS,
    SEVERITIES,
    SOURCES,
    ActionStatus,
    CorrectiveAction,
    NCStatus,
    Nonconformity,
)
from .services import live_action, visible_to

SORTS = {
    "newest": Nonconformity.raised_at.desc(),
    "oldest": Nonconformity.raised_at.asc(),
    "number": Nonconformity.number.asc(),
    "severity": Nonconformity.severity.asc(),  # "major" sorts before "minor"
    "status": Nonconformity.status.asc(),
}
PAGE_SIZE = 25


class _LogFilterFields(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def clean(self, data, **kwargs):
        return {k: clean_text(v) for k, v in data.items()}

    q = fields.String(load_default="", validate=validate.Length(max=200))
    status = fields.String(load_default="", validate=validate.OneOf(["", "active", *NC_STATUS_LABELS]))
    severity = fields.String(load_default="", validate=validate.OneOf(["", *SEVERITIES]))
    source = fields.String(load_default="", validate=validate.OneOf(["", *SOURCES]))
    area = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1))
    owner = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1))
    clause = fields.String(load_default="", validate=validate.Length(max=20))
    overdue = fields.Boolean(load_default=False, truthy={"1", "on", "true", "yes"}, falsy={"", "0", "off", "false"})
    since = fields.Date(load_default=None, allow_none=True)
    until = fields.Date(load_default=None, allow_none=True)
    sort = fields.String(load_default="newest", validate=validate.OneOf(list(SORTS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))


class LogFilterSchema(_LogFilterFields):
    """What the URL may say; anything it does not understand is ignored, never an error page."""

    @pre_load
    def drop_blanks_and_bad_values(self, data, **kwargs):
        clean = {k: v.strip() for k, v in data.items() if isinstance(v, str) and v.strip() != ""}
        errors = _LogFilterFields().validate(clean)
        return {k: v for k, v in clean.items() if k not in errors}


@dataclass
class LogPage(Paged):
    counts: dict[str, int]
    filters: dict

    def page_url(self, number: int) -> str:
        return "?" + self.url_args(page=number)

    def url_args(self, **changes) -> str:
        """The current filters as a query string, with some values changed (for links and pagers)."""
        args = {k: v for k, v in {**self.filters, **changes}.items() if v not in (None, "", False)}
        args = {k: (v.isoformat() if isinstance(v, date) else 1 if v is True else v) for k, v in args.items()}
        if args.get("page") == 1:
            args.pop("page")
        if args.get("sort") == "newest":
            args.pop("sort")
        return urlencode(args)


def parse_filters(args) -> dict:
    return LogFilterSchema().load(args.to_dict() if hasattr(args, "to_dict") else dict(args))


def filtered(user: User, f: dict, today: date, with_status: bool = True):
    """SELECT of the nonconformities matching the filters (status left out for the per-status counts)."""
    query = select(Nonconformity)
    conditions = []
    conditions.append(visible_to(user))
    if f["q"]:
        like = f"%{f['q'].lower()}%"
        conditions.append(
            or_(
                func.lower(Nonconformity.number).like(like),
                func.lower(Nonconformity.title).like(like),
                func.lower(Nonconformity.description).like(like),
            )
        )
    if with_status and f["status"]:
        if f["status"] == "active":
            conditions.append(Nonconformity.status.not_in([NCStatus.CLOSED, NCStatus.WITHDRAWN]))
        else:
            conditions.append(Nonconformity.status == f["status"])
    for key, column in (
        ("severity", Nonconformity.severity),
        ("source", Nonconformity.source),
        ("area", Nonconformity.area_id),
    ):
        if f[key] not in ("", None):
            conditions.append(column == f[key])
    if f["clause"]:
        conditions.append(or_(Nonconformity.clause == f["clause"], Nonconformity.clause.like(f["clause"] + ".%")))
    if f["owner"]:
        conditions.append(
            exists().where(
                CorrectiveAction.nonconformity_id == Nonconformity.id, CorrectiveAction.owner_id == f["owner"]
            )
        )
    if f["overdue"]:
        conditions.append(
            exists().where(
                CorrectiveAction.nonconformity_id == Nonconformity.id,
                CorrectiveAction.status == ActionStatus.OPEN,
                CorrectiveAction.due_date < today,
            )
        )
    if f["since"]:
        conditions.append(Nonconformity.raised_at >= f["since"])
    if f["until"]:
        conditions.append(func.date(Nonconformity.raised_at) <= f["until"])
    return query.where(and_(*conditions)) if conditions else query


def log_page(user: User, f: dict, today: date) -> LogPage:
    """One page of the log, the total, and the count per status: three queries at any size."""
    query = (
        filtered(user, f, today)
        .options(
            selectinload(Nonconformity.area),
            selectinload(Nonconformity.actions).selectinload(CorrectiveAction.owner),
            selectinload(Nonconformity.finding),  # the requirement and the evidence of an audit's NC
        )
        .order_by(SORTS[f["sort"]], Nonconformity.id.desc())
    )
    pager = paginate(query, f["page"], PAGE_SIZE)
    by_status = filtered(user, f, today, with_status=False).order_by(None).subquery()
    counts: dict[str, int] = dict(
        db.session.execute(select(by_status.c.status, func.count()).group_by(by_status.c.status)).all()
    )
    return LogPage(pager, counts, {**f, "page": pager.page})


def areas_in_view(user: User) -> list[Area]:
    """The areas of the nonconformities this user may see, for the log's area filter (one query)."""
    seen = select(Nonconformity.area_id).where(visible_to(user), Nonconformity.area_id.is_not(None))
    return list(db.session.scalars(select(Area).where(Area.id.in_(seen)).order_by(Area.name)))


def export_rows(user: User, f: dict, today: date, batch: int = 1000):
    """Every matching nonconformity (not only one page), in the chosen order, loaded in batches."""
    query = (
        filtered(user, f, today)
        .options(
            selectinload(Nonconformity.area),
            selectinload(Nonconformity.actions).selectinload(CorrectiveAction.owner),
            selectinload(Nonconformity.finding),  # the requirement and the evidence of an audit's NC
        )
        .order_by(SORTS[f["sort"]], Nonconformity.id.desc())
    )
    offset = 0
    while True:
        rows = db.session.scalars(query.limit(batch).offset(offset)).all()
        if not rows:
            return
        yield from rows
        offset += batch


# --- the action log: every tracked action, whatever it came from ------------------------------

ACTION_STATES = {"open": "Open", "overdue": "Overdue", "done": "Done", "cancelled": "Cancelled"}
ACTIONS_PER_PAGE = 50


@dataclass
class ActionLogPage(Paged):
    origin: str
    state: str

    @property
    def actions(self) -> list[CorrectiveAction]:
        return self.items

    def page_url(self, number: int) -> str:
        return "?" + urlencode({"origin": self.origin, "state": self.state or "all", "page": number})


def action_log(user: User, origin: str, state: str, page: int, today: date) -> ActionLogPage:
    """Actions the user may see: quality leads and admins all, others the ones they own; two queries."""
    conditions = [live_action()] if state in ("open", "overdue") else []
    if not user.has_role(Role.QUALITY_LEAD, Role.ADMIN):
        conditions.append(CorrectiveAction.owner_id == user.id)
    if origin in ACTION_ORIGINS:
        conditions.append(CorrectiveAction.origin == origin)
    if state == "open":
        conditions.append(CorrectiveAction.status == ActionStatus.OPEN)
    elif state == "overdue":
        conditions += [CorrectiveAction.status == ActionStatus.OPEN, CorrectiveAction.due_date < today]
    elif state in ("done", "cancelled"):
        conditions.append(CorrectiveAction.status == state)
    query = (
        select(CorrectiveAction)
        .outerjoin(Nonconformity)
        .where(*conditions)
        .order_by(CorrectiveAction.status.desc(), CorrectiveAction.due_date, CorrectiveAction.id)
        .options(
            selectinload(CorrectiveAction.owner),
            selectinload(CorrectiveAction.nonconformity),
            selectinload(CorrectiveAction.finding),
        )
    )
    pager = paginate(query, page, ACTIONS_PER_PAGE)
    return ActionLogPage(pager, origin if origin in ACTION_ORIGINS else "", state if state in ACTION_STATES else "")
