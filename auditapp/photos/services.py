"""Photo rules: what a photo is evidence for, storing it once, removing it, who may see it.

Photos are evidence for records of several domains (audits, nonconformities, actions). Those
domains sit above this one: they check that their record is open before adding or removing a
photo, and each says who may see its photos through `register_viewer` (wired in the app factory).
Nothing here commits; the view commits with the change id. Files are stored (`store_files`) before
the change lock is taken, so decoding and writing photos never holds up other users' saves; a crash
in between leaves unreferenced files, which `flask photos sweep` removes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import func, select

from ..checklists.models import ChecklistItem
from ..core.errors import ServerBusy
from ..events import services as events
from ..extensions import db, on_commit
from ..findings.models import Finding
from .models import Photo
from .pipeline import ProcessedPhoto
from .storage import PhotoStore, photo_store

if TYPE_CHECKING:  # annotations only: these domains sit above photos
    from ..accounts.models import User
    from ..audits.models import Audit
    from ..capa.models import CorrectiveAction, Nonconformity

STORE_UNAVAILABLE = "The photo store cannot be reached, so nothing was saved. The photos will be sent again shortly."
STORE_RETRY_AFTER = 30

#: Rules "may this user see this photo?", one per domain that keeps photos as evidence.
Viewer = Callable[["User", Photo], bool]
_viewers: list[Viewer] = []


def register_viewer(rule: Viewer) -> None:
    """Let a domain say who may see the photos of its records (called once, from the app factory)."""
    if rule not in _viewers:
        _viewers.append(rule)


def may_see(user: User, photo: Photo) -> bool:
    """True when any domain that keeps this photo as evidence lets the user see it."""
    return any(rule(user, photo) for rule in _viewers)


def store_files(processed: Sequence[ProcessedPhoto]) -> None:
    """Write the photos' files (once per content); call before taking the change lock, then add the rows.

    A store that cannot be written (a bucket out of reach, a full disk) refuses the whole upload with
    503 + Retry-After: no row is added, and the offline outbox sends the photos again later."""
    store = photo_store()
    for photo in processed:
        if hashlib.sha256(photo.data).hexdigest() != photo.sha256:
            # Whatever the store: the name promises the content, and identical names mean identical bytes.
            raise ValueError("photo.sha256 does not match photo.data")
    try:
        for photo in processed:
            store.save(photo)
    except OSError as err:
        current_app.logger.warning("photo upload refused, the photo store cannot be written: %s", err)
        raise ServerBusy(STORE_UNAVAILABLE, retry_after=STORE_RETRY_AFTER)


def add_photo(
    actor: User,
    audit: Audit,
    processed: ProcessedPhoto,
    *,
    item: ChecklistItem | None = None,
    finding: Finding | None = None,
    marked_up_from: Photo | None = None,
    copy: int = 1,
) -> Photo:
    """Record a processed photo as evidence; the caller stored its file and checked the audit is open.

    marked_up_from: the photo this one is a marked-up copy of (same audit, item and finding); the log
    names it, so the history shows both and which was drawn on which."""
    photo = _row(
        actor,
        processed,
        audit_id=audit.id,
        item_id=item.id if item else (finding.item_id if finding else None),
        finding_id=finding.id if finding else None,
        marked_up_from_id=marked_up_from.id if marked_up_from else None,
        copy=finding.copy if finding else copy,  # a repeating section's copy (issue 15); 1 otherwise
    )
    db.session.add(photo)
    db.session.flush()
    details: dict[str, str | None] = {
        "sha256": photo.sha256,
        "finding_id": photo.finding_id,
        "original_size": f"{photo.original_width}x{photo.original_height}",
    }
    if marked_up_from is not None:
        details["marked_up_from"] = marked_up_from.id
    if photo.copy != 1:
        details["copy"] = str(photo.copy)
    events.record(actor, "photo", photo.id, "added", details, audit_id=audit.id, item_id=photo.item_id)
    return photo


def add_marked_up_pairs(
    actor: User,
    audit: Audit,
    processed: Sequence[ProcessedPhoto],
    marked_up: Sequence[ProcessedPhoto],
    *,
    item: ChecklistItem | None = None,
    finding: Finding | None = None,
    copy: int = 1,
) -> list[Photo]:
    """Record photos and the marked-up copies of the first len(marked_up) of them (the n-th copy is of the
    n-th photo); returns the rows, originals first. The caller stored all files and checked the audit."""
    if len(marked_up) > len(processed):
        raise ValueError("a marked-up copy needs its original")
    originals = [add_photo(actor, audit, photo, item=item, finding=finding, copy=copy) for photo in processed]
    copies = [
        add_photo(actor, audit, drawn, item=item, finding=finding, marked_up_from=original, copy=copy)
        for original, drawn in zip(originals, marked_up, strict=False)
    ]
    return originals + copies


def shown(photos: Sequence[Photo]) -> list[Photo]:
    """The photos a screen or report shows: a photo that has a marked-up copy among them is shown through
    that copy (whose marked_up_from_id links to it), not twice."""
    drawn_on = {photo.marked_up_from_id for photo in photos if photo.marked_up_from_id}
    return [photo for photo in photos if photo.id not in drawn_on]


def attach_to_finding(actor: User, audit: Audit, item: ChecklistItem, finding: Finding) -> int:
    """Photos taken on the item before its finding was written become the finding's evidence too (photo
    first, then the text). Logged per photo; returns how many. Does not commit."""
    loose = db.session.scalars(
        select(Photo).where(
            Photo.audit_id == audit.id,
            Photo.item_id == item.id,
            Photo.copy == finding.copy,
            Photo.finding_id.is_(None),
        )
    ).all()
    for photo in loose:
        photo.finding_id = finding.id
        events.record(
            actor, "photo", photo.id, "linked", {"finding_id": [None, finding.id]}, audit_id=audit.id, item_id=item.id
        )
    return len(loose)


def add_action_photo(actor: User, action: CorrectiveAction, processed: ProcessedPhoto) -> Photo:
    """Photo evidence that a corrective action was done. Does not commit."""
    photo = _nc_photo(actor, processed, action.nonconformity_id, action_id=action.id)
    events.record(actor, "corrective_action", action.id, "photo_added", {"photo_id": photo.id, "sha256": photo.sha256})
    return photo


def add_nonconformity_photo(actor: User, nc: Nonconformity, processed: ProcessedPhoto) -> Photo:
    """Photo evidence of a nonconformity raised by hand. Does not commit."""
    photo = _nc_photo(actor, processed, nc.id)
    events.record(actor, "nonconformity", nc.id, "photo_added", {"photo_id": photo.id, "sha256": photo.sha256})
    return photo


def _row(actor: User, processed: ProcessedPhoto, **evidence_of: int | str | None) -> Photo:
    """A photo row for a processed photo; evidence_of says which records it is evidence for."""
    return Photo(
        id=str(uuid.uuid4()),
        sha256=processed.sha256,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        original_width=processed.original_width,
        original_height=processed.original_height,
        byte_size=len(processed.data),
        captured_at=processed.captured_at,
        uploaded_by_id=actor.id,
        **evidence_of,
    )


def _nc_photo(
    actor: User, processed: ProcessedPhoto, nonconformity_id: int | None, action_id: int | None = None
) -> Photo:
    photo = _row(actor, processed, action_id=action_id, nonconformity_id=nonconformity_id)
    db.session.add(photo)
    db.session.flush()
    return photo


def evidence_for_nonconformity(nc: Nonconformity) -> list[Photo]:
    """The photos behind a nonconformity: its finding's, or those attached when raised by hand."""
    condition = (
        (Photo.finding_id == nc.finding_id)
        if nc.finding_id
        else ((Photo.nonconformity_id == nc.id) & Photo.action_id.is_(None))
    )
    return shown(db.session.scalars(select(Photo).where(condition).order_by(Photo.created_at)).all())


def first_evidence(ncs: Sequence[Nonconformity]) -> dict[int, Photo]:
    """Each nonconformity's first evidence photo (as evidence_for_nonconformity orders them), in one query:
    the thumbnail on a My actions card."""
    by_finding = {nc.finding_id: nc.id for nc in ncs if nc.finding_id}
    by_hand = [nc.id for nc in ncs if not nc.finding_id]
    if not ncs:
        return {}
    first: dict[int, Photo] = {}
    query = select(Photo).where(
        Photo.finding_id.in_(list(by_finding)) | (Photo.nonconformity_id.in_(by_hand) & Photo.action_id.is_(None))
    )
    for photo in db.session.scalars(query.order_by(Photo.created_at, Photo.id)):
        nc_id = by_finding.get(photo.finding_id) if photo.finding_id in by_finding else photo.nonconformity_id
        if nc_id is not None:
            first.setdefault(nc_id, photo)
    return first


def photos_of_actions(action_ids: list[int]) -> dict[int, list[Photo]]:
    grouped: dict[int, list[Photo]] = {}
    for photo in db.session.scalars(select(Photo).where(Photo.action_id.in_(action_ids)).order_by(Photo.created_at)):
        assert photo.action_id is not None  # selected by its action
        grouped.setdefault(photo.action_id, []).append(photo)
    return grouped


def remove_photo(actor: User, photo: Photo) -> None:
    """Take a photo off its audit (the caller checked it is open), with its marked-up copy or its original:
    the two are one piece of evidence. A file goes when no row uses it any more."""
    pair = [photo.id, photo.marked_up_from_id]
    # Copies first: a row is removed only once no copy names it.
    copies = select(Photo).where(Photo.marked_up_from_id.in_([p for p in pair if p]), Photo.id != photo.id)
    for row in db.session.scalars(copies).all():
        _remove_one(actor, row)
    db.session.flush()
    original = db.session.get(Photo, photo.marked_up_from_id) if photo.marked_up_from_id else None
    _remove_one(actor, photo)
    if original is not None:
        db.session.flush()
        _remove_one(actor, original)


def _remove_one(actor: User, photo: Photo) -> None:
    events.record(
        actor,
        "photo",
        photo.id,
        "removed",
        {"sha256": photo.sha256, "finding_id": photo.finding_id},
        audit_id=photo.audit_id,
        item_id=photo.item_id,
    )
    sha256 = photo.sha256
    db.session.delete(photo)
    # Only once the removal is committed, and only if no other photo row shares the file.
    store = photo_store()
    on_commit(lambda: _delete_if_unused(store, sha256))


def _delete_if_unused(store: PhotoStore, sha256: str) -> None:
    with db.engine.connect() as conn:  # the session cannot run SQL inside after_commit
        if not conn.scalar(select(func.count(Photo.id)).where(Photo.sha256 == sha256)):
            try:
                store.delete(sha256)
            except OSError as err:
                # The removal is committed; the files no row refers to are left to `flask photos sweep`.
                current_app.logger.warning("photo %s removed, its files stay until the next sweep: %s", sha256, err)


def photos_by_slot(audit: Audit) -> dict[tuple[int | None, int], list[Photo]]:
    """The photos of an audit as shown, in one query, keyed by (item id, copy) as the audit asks its items
    (copy 1 but in an added copy of a repeating section, issue 15; item id None for ad-hoc findings), oldest first."""
    grouped: dict[tuple[int | None, int], list[Photo]] = {}
    for photo in db.session.scalars(select(Photo).where(Photo.audit_id == audit.id).order_by(Photo.created_at)):
        grouped.setdefault((photo.item_id, photo.copy), []).append(photo)
    return {slot: shown(photos) for slot, photos in grouped.items()}


def photos_of_audits(audit_ids: list[int]) -> dict[int, list[Photo]]:
    """The photos of several audits in one query, keyed by audit id, oldest first (My audits keeps them offline)."""
    grouped: dict[int, list[Photo]] = {}
    if not audit_ids:
        return grouped
    for photo in db.session.scalars(select(Photo).where(Photo.audit_id.in_(audit_ids)).order_by(Photo.created_at)):
        grouped.setdefault(photo.audit_id or 0, []).append(photo)
    return grouped


def photos_of_item(audit: Audit, item: ChecklistItem, copy: int = 1) -> list[Photo]:
    """The item's photos (in that copy of a repeating section) as shown (a marked-up copy stands for its
    original), oldest first."""
    return shown(
        db.session.scalars(
            select(Photo)
            .where(Photo.audit_id == audit.id, Photo.item_id == item.id, Photo.copy == copy)
            .order_by(Photo.created_at)
        ).all()
    )


def stored_files(allowed: list[Photo]) -> dict[str, bytes]:
    """For a PDF: the stored file of each photo the caller already allowed, by photo id (missing files left out)."""
    store = photo_store()
    files = {}
    for photo in allowed:
        data = store.read(photo.sha256)
        if data is not None:
            files[photo.id] = data
    return files
