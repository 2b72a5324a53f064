"""Records against their history: each domain that keeps closed records registers a check that replays the
events of those records and compares the result with the rows (`flask events verify --records`).

The chain proves the log was not rewritten; this proves the rows were not rewritten behind the log's back
(a status flipped and flipped back, a photo moved in, triggers dropped by the database owner).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..extensions import db
from .models import Event


@dataclass
class RecordReport:
    checked: int = 0
    differences: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


RecordCheck = Callable[[RecordReport], None]
_checks: list[RecordCheck] = []


def register_record_check(check: RecordCheck) -> None:
    """A domain's replay of its closed records (wired in the app factory); registering twice is harmless."""
    if check not in _checks:
        _checks.append(check)


def verify_records() -> RecordReport:
    db.session.expire_all()  # compare what the database holds now, not rows cached in this session
    report = RecordReport()
    for check in _checks:
        check(report)
    return report


def as_logged(value: Any) -> Any:
    """A row's value as the log writes it (a JSON round trip, dates as text), so the two compare."""
    return json.loads(json.dumps(value, default=str))


def logged_values(history: Iterable[Event]) -> dict[str, Any]:
    """Each field's value after the last logged change of it ({"field": [old, new]} entries)."""
    values: dict[str, Any] = {}
    for event in history:
        for name, change in (event.changes or {}).items():
            if isinstance(change, list) and len(change) == 2:
                values[name] = change[1]
    return values


def compare_fields(report: RecordReport, label: str, row: Any, history: Iterable[Event], fields: Iterable[str]) -> None:
    """Report each field whose row value is not the last value its history logged (unlogged fields are skipped)."""
    logged = logged_values(history)
    for name in fields:
        if name in logged and as_logged(getattr(row, name)) != logged[name]:
            report.differences.append(
                f"{label} {name}: row says {as_logged(getattr(row, name))}, history says {logged[name]}"
            )
