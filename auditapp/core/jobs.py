"""Scheduled work that runs on one host at a time, whatever the number of hosts whose timers fire.

Every app host has the same systemd timers (reminders, event-log checkpoints, clean-ups). Reminders and
clean-ups must run once (the checkpoint runs on every host: each host's file should hold them all). A job takes
its row of ``scheduled_runs`` with one conditional UPDATE (free, or its lease ran out); the database
lets exactly one of the racing hosts change the row, and the others skip. The lease bounds how long a
crashed holder keeps the others out, so it must be longer than the job ever takes.

The lock lives on connections of its own, committed at once: the other hosts must see it while the
job's own session work is still going on, and the job's commits (one per reminder) never release it.
Every job behind it is idempotent (reminders are recorded as sent, pruning and sweeping find nothing
left), so a host whose timer fires just after another's run finished repeats nothing.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

import click
from sqlalchemy import DateTime, String, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db
from .timeutil import utcnow


class ScheduledRun(Model):
    """One scheduled job: who holds it until when, and how its last run went."""

    __tablename__ = "scheduled_runs"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120), default="")
    # NULL when nobody runs it; a holder that died is overtaken once this has passed.
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_outcome: Mapped[str] = mapped_column(String(20), default="")


def this_holder() -> str:
    """Host, process and a random part (two runs in one process are two holders): who runs a job."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[-120:]


@contextmanager
def run_once(job: str, lease: timedelta, holder: str | None = None) -> Iterator[bool]:
    """``with run_once("reminders", lease=...) as held:`` held is False when another host runs the job."""
    holder = holder or this_holder()
    if not acquire(job, holder, lease):
        yield False
        return
    outcome = "failed"
    try:
        yield True
        outcome = "done"
    except BaseException:
        # On SQLite the job's unfinished write transaction would keep the release waiting for it.
        db.session.rollback()
        raise
    finally:
        release(job, holder, outcome)


def acquire(job: str, holder: str, lease: timedelta) -> bool:
    """Take the job if it is free or its lease has run out; True if this holder got it."""
    if _take(job, holder, lease):
        return True
    with db.engine.connect() as conn:
        exists = conn.scalar(select(ScheduledRun.job).where(ScheduledRun.job == job)) is not None
    if exists:
        return False
    try:
        with db.engine.begin() as conn:
            now = utcnow()
            conn.execute(
                insert(ScheduledRun).values(
                    job=job, holder=holder, locked_until=now + lease, last_started_at=now, last_outcome="running"
                )
            )
        return True
    except IntegrityError:
        # Another host's first run inserted the row meanwhile: the conditional update decides.
        return _take(job, holder, lease)


def _take(job: str, holder: str, lease: timedelta) -> bool:
    now = utcnow()
    free = (ScheduledRun.locked_until.is_(None)) | (ScheduledRun.locked_until < now)
    with db.engine.begin() as conn:
        result = conn.execute(
            update(ScheduledRun)
            .where(ScheduledRun.job == job, free)
            .values(holder=holder, locked_until=now + lease, last_started_at=now, last_outcome="running")
        )
    return result.rowcount == 1


def release(job: str, holder: str, outcome: str) -> None:
    """Free the job and note the outcome; only while this holder still has it (a lease may have passed)."""
    with db.engine.begin() as conn:
        conn.execute(
            update(ScheduledRun)
            .where(ScheduledRun.job == job, ScheduledRun.holder == holder)
            .values(locked_until=None, last_finished_at=utcnow(), last_outcome=outcome)
        )


def last_run(job: str) -> ScheduledRun | None:
    """The job's row as committed (for operators and tests)."""
    return db.session.get(ScheduledRun, job, populate_existing=True)


def skipped(job: str) -> str:
    return f"another host is running {job}; skipped"


def scheduled(job: str, lease: timedelta) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A CLI command run under ``run_once``: when another host holds the job it says so and exits 0."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(command)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with run_once(job, lease) as held:
                if not held:
                    click.echo(skipped(job))
                    return None
                return command(*args, **kwargs)

        return wrapped

    return decorate
