"""Importing an exported outbox: the last resort when a phone cannot sync (broken, or its browser
storage about to be cleared). A quality lead applies the file's changes, in order, each once.

The changes are applied as the quality lead who imports them (that is who vouches for them), and
the event log records whose phone they came from and when they were queued.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import re
from dataclasses import dataclass

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from ..audits import services as audits
from ..audits.models import Audit
from ..core.changes import AppliedChange
from ..checklists.models import ChecklistItem
from ..events import services as events
from ..core.errors import Refused
from ..extensions import db
from ..findings import services as findings
from ..findings.schemas import AdhocFindingSchema, FindingSchema
from ..photos import services as photos
from ..photos.pipeline import PhotoRejected, process_photo

IMPORT_ENDPOINT = "outbox.import"
PATH = re.compile(r"^/audits/(\d{1,9})/(?:items/(\d{1,9})/(answer|note|finding)|(photos)|(findings))$")


class ImportRefused(Exception):
    """The file is not an outbox export we can read; nothing was applied."""


@dataclass
class Outcome:
    change_id: str
    path: str
    status: str  # applied | already applied | refused
    detail: str = ""


def read_export(raw: bytes) -> dict:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRefused(f"This is not an outbox export (not JSON: {exc}).") from exc
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ImportRefused("This is not an outbox export: it has no list of entries.")
    for n, entry in enumerate(data["entries"], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or \
                not isinstance(entry.get("changeId"), str) or not isinstance(entry.get("fields"), list):
            raise ImportRefused(f"Entry {n} is damaged (path, changeId and fields are needed); nothing was applied.")
    return data


def import_outbox(actor, data: dict, photo_dir, max_edge: int) -> list[Outcome]:
    """Apply each entry in order; each commits alone, so one refusal never undoes the others."""
    source = {"exported_by": str(data.get("user", ""))[:254], "exported_at": str(data.get("exported", ""))[:40]}
    outcomes = []
    for entry in data["entries"]:
        change_id = entry["changeId"][:64]
        if db.session.get(AppliedChange, change_id) is not None:
            outcomes.append(Outcome(change_id, entry["path"], "already applied"))
            continue
        try:
            detail = _apply(actor, entry, photo_dir, max_edge)
            events.record(actor, "outbox", change_id, "imported",
                          {**source, "path": entry["path"], "queued_at": str(entry.get("queuedAt", ""))[:40]})
            db.session.add(AppliedChange(id=change_id, user_id=actor.id, endpoint=IMPORT_ENDPOINT, status_code=200,
                                         body="", headers={}))
            db.session.commit()
            outcomes.append(Outcome(change_id, entry["path"], "applied", detail))
        except (ValidationError, Refused, PhotoRejected, LookupError, ValueError) as exc:
            db.session.rollback()
            outcomes.append(Outcome(change_id, entry["path"], "refused", _reason(exc)))
    return outcomes


def _apply(actor, entry: dict, photo_dir, max_edge: int) -> str:
    match = PATH.match(entry["path"])
    if not match:
        raise LookupError("not a change auditapp knows")
    audit = db.session.get(Audit, int(match.group(1)))
    if audit is None:
        raise LookupError("the audit does not exist")
    form, files = _fields(entry["fields"])
    if match.group(5):  # an ad-hoc finding
        findings.save_adhoc_finding(actor, audit, AdhocFindingSchema(gap=audit.is_gap_analysis).load(form))
        return "finding"
    item_id = int(match.group(2) or form.get("item_id") or 0)
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.version_id != audit.checklist_version_id:
        raise LookupError("the checklist item is not in this audit")
    kind = match.group(3) or "photos"
    if kind == "answer":
        result, base = form.get("result", ""), int(form.get("base_revision") or 0)
        response, previous = audits.answer_item(actor, audit, item, result, base)
        findings.follow_result(actor, response, previous)
        return f"answer {result}"
    if kind == "note":
        audits.save_note(actor, audit, item, form.get("note", ""), int(form.get("base_revision") or 0))
        return "note"
    if kind == "finding":
        response = audits.response_for(audit, item)
        if response is None:
            raise LookupError("the item has no answer to write a finding on")
        findings.save_item_finding(actor, audit, item, response, FindingSchema(grade=response.result, gap=audit.is_gap_analysis).load(form))
        return "finding"
    for blob in files:
        photos.add_photo(actor, audit, process_photo(io.BytesIO(blob), max_edge=max_edge), photo_dir, item=item)
    return f"{len(files)} photo(s)"


def _fields(fields: list) -> tuple[MultiDict, list[bytes]]:
    """The entry's form fields, and its photos decoded from the export's data URLs."""
    form, files = MultiDict(), []
    for pair in fields:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("a damaged field")
        name, value = pair
        if isinstance(value, dict) and isinstance(value.get("dataUrl"), str):
            try:
                files.append(base64.b64decode(value["dataUrl"].split(",", 1)[-1], validate=True))
            except binascii.Error as exc:
                raise ValueError("a damaged photo") from exc
        elif isinstance(value, str):
            form.add(str(name), value)
    return form, files


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {' '.join(v) if isinstance(v, list) else v}" for k, v in exc.messages.items())
    if isinstance(exc, audits.StaleAnswer):
        return "the item changed after the change was queued (a conflict): answer it again on the audit screen"
    return getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
