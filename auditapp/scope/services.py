"""The QMS scope statement (ISO 9001 4.3): the current revision, the history, a new revision."""

from __future__ import annotations

from sqlalchemy import select

from ..accounts.models import User
from ..events import services as events
from ..extensions import db
from .models import QmsScope


def current_scope() -> QmsScope | None:
    return db.session.scalar(select(QmsScope).order_by(QmsScope.revision.desc()).limit(1))


def scope_revisions() -> list[QmsScope]:
    return list(db.session.scalars(select(QmsScope).order_by(QmsScope.revision.desc())).all())


def revise_scope(
    actor: User, activities: str, sites: str, products_services: str, exclusions: str, change_note: str
) -> QmsScope:
    """Add a revision of the scope; the earlier revisions stay as they were. Does not commit."""
    events.begin_change()
    current = current_scope()
    scope = QmsScope(
        revision=(current.revision + 1) if current else 1,
        activities=activities,
        sites=sites,
        products_services=products_services,
        exclusions=exclusions,
        change_note=change_note,
        created_by_id=actor.id,
    )
    db.session.add(scope)
    db.session.flush()
    events.record(actor, "qms_scope", scope.id, "revised", {"revision": scope.revision, "change_note": change_note})
    return scope
