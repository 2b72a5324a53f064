"""Writing to the event log. Nothing here updates or deletes an entry."""
from typing import Any

from ..extensions import db
from .models import Event


def record(actor, entity_type: str, entity_id, action: str, changes: dict[str, Any] | None = None,
           audit_id: int | None = None, item_id: int | None = None) -> Event:
    """Append one event to the session; it commits with the change it describes."""
    event = Event(
        actor_id=getattr(actor, "id", None),
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        changes=changes or {},
        audit_id=audit_id,
        item_id=item_id,
    )
    db.session.add(event)
    return event


def apply_changes(obj, **values) -> dict[str, list]:
    """Set the attributes that differ and return them as {"field": [old, new]} for the log."""
    changes = {}
    for field, new in values.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = [old, new]
            setattr(obj, field, new)
    return changes


def history(entity_type: str, entity_id) -> list[Event]:
    """Every event of one record, oldest first."""
    return db.session.scalars(
        db.select(Event)
        .where(Event.entity_type == entity_type, Event.entity_id == str(entity_id))
        .order_by(Event.id)
    ).all()


def item_history(audit_id: int, item_id: int) -> list[Event]:
    """Every event about one checklist item of one audit: answers, notes, findings, photos."""
    return db.session.scalars(
        db.select(Event).where(Event.audit_id == audit_id, Event.item_id == item_id).order_by(Event.id)
    ).all()
