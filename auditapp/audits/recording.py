"""What auditors record in an audit, each as one flow used by the audit screen and the outbox importer.

Every function checks that the audit is open (under the audit's lock), records, and lets what
follows follow: a changed answer moves its finding, a saved finding moves the nonconformity log
and the improvement register (findings.services.finding_changed). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from ..accounts.models import User
from ..checklists import answers
from ..checklists.models import ChecklistItem
from ..core.errors import Conflict, RuleError
from ..extensions import db
from ..findings import services as findings
from ..findings.models import FINDING_GRADES, Finding
from ..findings.schemas import FindingSchema
from ..photos import services as photos
from ..photos.models import Photo
from ..photos.pipeline import ProcessedPhoto
from .models import Audit, Response
from .services import AnswerTarget, answer_item, copy_named, ensure_open, finding_requirement, response_for

NOT_GRADED_AS_FINDING = "Answer the item with a finding grade first."
MARKUP_WITHOUT_ORIGINAL = "A marked-up photo came without the photo it was drawn on; nothing was saved."


CHOOSE_RESULT = "Choose a result."
RESULT_FOLLOWS = "This item's result follows from the answer; only a number's proposed result can be changed."


def judged(item: ChecklistItem, result: str | None, typed: list[str] | None) -> tuple[str, Any]:
    """(result, value) of an answer to the item: a tapped ISO grade as it is; for another answer type, the
    value parsed from what was typed and the result it leads to (a number's proposed result, or the one the
    auditor changed it to). RuleError on "value" for what is not an answer, with the reason."""
    if item.answer is None:
        if result is None:
            raise RuleError("result", CHOOSE_RESULT)
        return result, None
    try:
        value = answers.parse(item.answer, typed or [])
    except answers.InvalidAnswer as exc:
        raise RuleError("value", str(exc)) from exc
    derived = answers.result_of(item.answer, value)
    if result is None or result == derived:
        return derived, value
    if item.answer["type"] != "number":
        raise RuleError("result", RESULT_FOLLOWS)
    return result, value  # the auditor judged the number otherwise than proposed; answer_item checks it


def record_answer(
    actor: User,
    audit: Audit,
    item: ChecklistItem,
    result: str | None,
    base_revision: int,
    response_id: str | None = None,
    target: AnswerTarget | None = None,
    typed: list[str] | None = None,
    copy: int = 1,
) -> Response:
    """An answer changed: record it and let the item's finding follow.

    `result` is the tapped grade (or a number's changed result), `typed` the value(s) sent for an item of
    another answer type (judged). With the target the audit screen read (answer_target), nothing is read
    again. The finding is followed after the answer's event, under the log's head, so a nonconformity
    closed meanwhile is seen. `copy`: the copy of a repeating section answered (issue 15), 1 elsewhere."""
    if target is not None:
        copy = target.copy
    elif copy != 1:
        copy_named(audit, item, copy)  # LookupError: the audit has no such copy
    result, value = judged(item, result, typed)
    response, previous = answer_item(actor, audit, item, result, base_revision, response_id, target, value, copy)
    # A finding is written only for an item graded as one: an item that was not has none to follow.
    if target is None or target.finding is not None or previous in FINDING_GRADES:
        findings.follow_result(actor, response, previous)
    return response


def graded_response(audit: Audit, item: ChecklistItem, copy: int = 1) -> Response:
    """The item's answer when it is graded as a finding (its grade decides what the finding needs)."""
    response = response_for(audit, item, copy)
    if response is None or response.result not in FINDING_GRADES:
        raise Conflict("_form", NOT_GRADED_AS_FINDING)
    return response


def finding_schema(audit: Audit, item: ChecklistItem, photos_sent: int = 0, copy: int = 1) -> FindingSchema:
    """The schema an item's finding is checked with: its grade decides what it needs, and a photo of the
    item (kept already, or sent with the finding) is objective evidence."""
    grade = graded_response(audit, item, copy).result
    has_photo = (
        photos_sent > 0
        or db.session.scalar(
            select(Photo.id).where(Photo.audit_id == audit.id, Photo.item_id == item.id, Photo.copy == copy).limit(1)
        )
        is not None
    )
    return FindingSchema(grade=grade, gap=audit.is_gap_analysis, has_photo=has_photo)


def record_item_finding(
    actor: User,
    audit: Audit,
    item: ChecklistItem,
    data: dict[str, Any],
    processed: Sequence[ProcessedPhoto] = (),
    copy: int = 1,
) -> Finding:
    """Write the finding of an item answered with a finding grade, with the photos taken in its form
    (one request: the finding and its evidence are saved together or not at all).

    The files are written before the change lock is taken: the lock is held for the rows only."""
    if not data.get("requirement"):  # left out or emptied: the item's clause names it (never nothing)
        data = {**data, "requirement": finding_requirement(audit, item)}
    if processed:
        photos.store_files(processed)
    ensure_open(audit)
    finding = findings.save_item_finding(actor, audit, item, graded_response(audit, item, copy), data)
    photos.attach_to_finding(actor, audit, item, finding)  # taken on the item before the text was written
    for photo in processed:
        photos.add_photo(actor, audit, photo, item=item, finding=finding)
    return finding


def record_adhoc_finding(actor: User, audit: Audit, data: dict[str, Any], existing: Finding | None = None) -> Finding:
    """Write (or edit) a finding against a clause the auditor picks, outside the checklist."""
    ensure_open(audit)
    return findings.save_adhoc_finding(actor, audit, data, existing)


def add_item_photos(
    actor: User,
    audit: Audit,
    item: ChecklistItem,
    processed: Sequence[ProcessedPhoto],
    marked_up: Sequence[ProcessedPhoto] = (),
    copy: int = 1,
) -> list[Photo]:
    """Photos taken on an item become evidence of the item, and of its finding when it has one.

    marked_up: copies the auditor drew on, the n-th of the n-th photo; both are kept, linked.
    The files are written before the change lock is taken: the lock is held for the rows only."""
    if len(marked_up) > len(processed):
        raise RuleError("photo", MARKUP_WITHOUT_ORIGINAL)
    if copy != 1:
        copy_named(audit, item, copy)  # LookupError: the audit has no such copy
    photos.store_files([*processed, *marked_up])
    ensure_open(audit)
    finding = db.session.scalar(select(Finding).filter_by(audit_id=audit.id, item_id=item.id, copy=copy))
    return photos.add_marked_up_pairs(actor, audit, processed, marked_up, item=item, finding=finding, copy=copy)


def remove_photo(actor: User, audit: Audit, photo: Photo) -> None:
    """Take a photo off an audit that is still open."""
    ensure_open(audit)
    photos.remove_photo(actor, photo)
