"""The changes an auditor may make offline: queued on the phone, replayed later, each applied once.

This table is the one declaration of them: the endpoint (whose URL rule the service worker and the
page script get from the app's URL map), what kind of change it is, and how the outbox importer
applies it: with the same schema as the view and the same audits.recording flow.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from ..accounts.models import User
from ..audits import recording
from ..audits import services as audits
from ..audits.models import Audit
from ..audits.schemas import AnswerSchema, NoteSchema, answer_form
from ..checklists.models import ChecklistItem
from ..extensions import db
from ..findings.schemas import AdhocFindingSchema
from ..photos.pipeline import process_photo


@dataclass(frozen=True)
class Upload:
    """How large the importer keeps photos."""

    max_edge: int


# files: the entry's photos as (field name, bytes): "photo", or "marked_up" for a copy drawn on the n-th photo.
# The last argument: the copy of a repeating section the change is for (issue 15), from its URL (or, for
# photos, its "copy" field); 1 outside repeating sections.
Apply = Callable[[User, Audit, "ChecklistItem | None", MultiDict, list[tuple[str, bytes]], Upload, int], str]


@dataclass(frozen=True)
class Replayable:
    kind: str  # answer | note | finding | photo: what the page shows while the change waits
    needs_item: bool
    apply: Apply


def _answer(actor: User, audit, item, form, files, upload, copy) -> str:
    data = AnswerSchema().load(answer_form(form))
    response = recording.record_answer(
        actor, audit, item, data["result"], data["base_revision"], data["response_id"], typed=data["value"], copy=copy
    )
    return f"answer {response.result}"


def _note(actor: User, audit, item, form, files, upload, copy) -> str:
    data = NoteSchema().load(form)
    if copy != 1:
        audits.copy_named(audit, item, copy)  # LookupError: the audit has no such copy
    audits.save_note(actor, audit, item, data["note"], data["base_revision"], data["response_id"], copy)
    return "note"


def _item_finding(actor: User, audit, item, form, files, upload, copy) -> str:
    processed = [process_photo(io.BytesIO(blob), max_edge=upload.max_edge) for blob in files if blob]
    data = recording.finding_schema(audit, item, len(processed), copy).load(form)
    recording.record_item_finding(actor, audit, item, data, processed, copy)
    return "finding" + (f" with {len(processed)} photo(s)" if processed else "")


def _adhoc_finding(actor: User, audit, item, form, files, upload, copy) -> str:
    recording.record_adhoc_finding(actor, audit, AdhocFindingSchema(gap=audit.is_gap_analysis).load(form))
    return "finding"


def _photos(actor: User, audit, item, form, files, upload, copy) -> str:
    photos = [process_photo(io.BytesIO(blob), max_edge=upload.max_edge) for name, blob in files if name != "marked_up"]
    marked = [process_photo(io.BytesIO(blob), max_edge=upload.max_edge) for name, blob in files if name == "marked_up"]
    recording.add_item_photos(actor, audit, item, photos, marked, copy=copy)
    return f"{len(photos)} photo(s)" + (f", {len(marked)} marked up" if marked else "")


REPLAYABLE: dict[str, Replayable] = {
    "audits.answer": Replayable("answer", True, _answer),
    "audits.note": Replayable("note", True, _note),
    "audits.save_item_finding": Replayable("finding", True, _item_finding),
    "audits.save_adhoc_finding": Replayable("finding", False, _adhoc_finding),
    "audits.add_photos": Replayable("photo", True, _photos),
}
REPLAYABLE_ENDPOINTS = tuple(REPLAYABLE)


def item_of(audit: Audit, item_id: int) -> ChecklistItem:
    """The checklist item of this audit, or LookupError (an item of another checklist is not found)."""
    item = db.session.get(ChecklistItem, item_id) if 0 < item_id <= 2**31 - 1 else None
    if item is None or item.version_id != audit.checklist_version_id:
        raise LookupError("the checklist item is not in this audit")
    return item
