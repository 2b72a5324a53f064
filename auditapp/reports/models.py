"""The clause coverage map's summary, kept as completed internal audits come and go.

Completed audits are read-only (the database refuses changes under them), so what an audit adds to
the map is fixed from its completion until it is reopened. `reports.coverage` keeps two tables in step
on those two moments; the map then reads a few thousand rows however many years of audits exist.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model


class ClauseTally(Model):
    """Per calendar month of completion, per standard and clause its checklist items cover: how many answers
    had each result (kind "answer") and how many open findings had each grade (kind "finding"), over completed
    internal audits. Rebuilt for the whole month whenever an audit of that month completes or reopens."""

    __tablename__ = "clause_tallies"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-03", of Audit.completed_at
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # "answer" or "finding"
    standard: Mapped[str] = mapped_column(String(40), primary_key=True)  # the standard's key, "iso9001-2015"
    clause: Mapped[str] = mapped_column(String(20), primary_key=True)  # a clause of it an item covers
    code: Mapped[str] = mapped_column(String(20), primary_key=True)  # the result, or the finding's grade
    count: Mapped[int] = mapped_column(Integer)
    last_completed: Mapped[datetime | None] = mapped_column(DateTime)  # answers: the latest completion


class ClauseAudit(Model):
    """Which clauses of which standards a completed internal audit answered (for the map's "latest audits" links)."""

    __tablename__ = "clause_audits"
    __table_args__ = (Index("ix_clause_audits_standard_clause_completed", "standard", "clause", "completed_at"),)

    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"), primary_key=True)
    standard: Mapped[str] = mapped_column(String(40), primary_key=True)
    clause: Mapped[str] = mapped_column(String(20), primary_key=True)
    completed_at: Mapped[datetime] = mapped_column(DateTime)
    number: Mapped[str] = mapped_column(String(20))
