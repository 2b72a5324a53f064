"""CSV and XLSX of the filtered log and of its corrective actions."""

from __future__ import annotations

from datetime import date

from ..core import tabular
from .models import CAUSE_CATEGORIES, NC_STATUS_LABELS, SEVERITIES, SOURCES, Nonconformity

NC_COLUMNS = [
    "Number",
    "Raised",
    "Source",
    "Clause",
    "Area",
    "Severity",
    "Status",
    "Title",
    "Containment",
    "Root cause",
    "Cause category",
    "Actions",
    "Open actions",
    "Overdue actions",
    "Verification",
    "Verified on",
    "Closed",
    "Description",
    "Requirement",
    "Objective evidence",
]
ACTION_COLUMNS = ["Nonconformity", "Action", "Owner", "Due", "Status", "Overdue", "Completed", "Completion note"]


def nc_row(nc: Nonconformity, today: date) -> list:
    return [
        nc.number,
        nc.raised_at.date(),
        SOURCES.get(nc.source, nc.source),
        nc.clause,
        nc.area.name if nc.area else "",
        SEVERITIES.get(nc.severity, nc.severity),  # the words the screen shows: Major, not major
        NC_STATUS_LABELS.get(nc.status, nc.status),
        nc.title,
        nc.containment,
        " → ".join(nc.why_steps or []),
        CAUSE_CATEGORIES.get(nc.cause_category, nc.cause_category),
        len(nc.actions),
        sum(1 for a in nc.actions if not a.is_done),
        sum(1 for a in nc.actions if a.is_overdue(today)),
        nc.verification_result,
        nc.verified_on,
        nc.closed_at.date() if nc.closed_at else None,
        nc.description,
        # The ISO content of an audit's finding: what was required and what was seen.
        nc.finding.requirement if nc.finding else "",
        nc.finding.evidence if nc.finding else "",
    ]


def action_rows(nc: Nonconformity, today: date):
    for a in nc.actions:
        yield [
            nc.number,
            a.description,
            a.owner.name,
            a.due_date,
            a.status,
            "yes" if a.is_overdue(today) else "",
            a.completed_at.date() if a.completed_at else None,
            a.completion_note,
        ]


def rows_for(kind: str, ncs, today: date):
    if kind == "actions":
        for nc in ncs:
            yield from action_rows(nc, today)
    else:
        for nc in ncs:
            yield nc_row(nc, today)


def to_csv(kind: str, ncs, today: date) -> str:
    return tabular.to_csv(ACTION_COLUMNS if kind == "actions" else NC_COLUMNS, rows_for(kind, ncs, today))


def to_xlsx(kind: str, ncs, today: date) -> bytes:
    sheet = "Corrective actions" if kind == "actions" else "Nonconformities"
    return tabular.to_xlsx(sheet, ACTION_COLUMNS if kind == "actions" else NC_COLUMNS, rows_for(kind, ncs, today))
