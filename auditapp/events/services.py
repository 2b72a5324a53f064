"""Writing to the event log. Nothing here updates or deletes an entry."""
from typing import Any

from ..extensions import db
from .models import Event


def record(actor, entity_type: str, entity_id, action: str, changes: dict[str, Any] | None = None) -> Event:
    """Append one event to the session; it commits with the change it describes."""
    event = Event(
        actor_id=getattr(actor, "id", None),
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        changes=changes or {},
    )
    db.session.add(event)
    return event


def history(entity_type: str, entity_id) -> list[Event]:
    """Every event of one record, oldest first."""
    return db.session.scalars(
        db.select(Event)
        .where(Event.entity_type == entity_type, Event.entity_id == str(entity_id))
        .order_by(Event.id)
    ).all()
