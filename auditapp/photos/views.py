"""Photo evidence: upload from an item or finding, remove before completion, serve to allowed users."""
from pathlib import Path

from flask import Blueprint, abort, current_app, request, send_file
from flask_login import current_user

from ..audits import services as audits
from ..audits.models import Audit
from ..audits.views import CLOSED_MESSAGE, get_audit, get_item, render_item
from ..core.errors import RecordClosed
from ..extensions import db
from ..findings.models import Finding
from ..core.changes import applies_change
from . import services
from .models import Photo
from .pipeline import PhotoRejected, process_photo
from .storage import photo_file

bp = Blueprint("photos", __name__)


def _photo_dir() -> Path:
    return Path(current_app.config["PHOTO_DIR"])


@bp.post("/audits/<int:audit_id>/photos")
@applies_change
def upload(audit_id: int):
    """Add photos to an item (and its finding): all files are processed before any is stored."""
    audit = get_audit(audit_id, record=True)
    item_id = request.form.get("item_id", type=int) or 0
    item = get_item(audit, item_id if 0 < item_id < 2**31 else 0)
    files = [f for f in request.files.getlist("photo") if f and f.filename is not None]
    if not files:
        return render_item(audit, item, 422, message="Choose or take a photo first.")
    if audit.is_completed:
        return render_item(audit, item, 409, message=CLOSED_MESSAGE)
    processed = []
    for number, upload_file in enumerate(files, start=1):
        try:
            processed.append(process_photo(upload_file.stream, max_edge=current_app.config["PHOTO_MAX_EDGE"]))
        except PhotoRejected as err:
            which = f"Photo {number} of {len(files)}: " if len(files) > 1 else ""
            return render_item(audit, item, err.status, message=f"{which}{err.message} Nothing was saved.")
    finding = db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id, item_id=item.id))
    for photo in processed:
        services.add_photo(current_user, audit, photo, _photo_dir(), item=item, finding=finding)
    return render_item(audit, item, trigger="audit:photo-added")


@bp.post("/photos/<photo_id>/delete")
@applies_change
def delete(photo_id: str):
    """Remove a photo from an open audit (the page asks for confirmation first)."""
    photo = db.get_or_404(Photo, photo_id)
    audit = get_audit(photo.audit_id, record=True)
    item = get_item(audit, photo.item_id) if photo.item_id else abort(404)
    try:
        services.remove_photo(current_user, photo, _photo_dir())
    except RecordClosed as err:
        return render_item(audit, item, err.status, message=err.message)
    return render_item(audit, item, trigger="audit:photo-removed")


def _may_see(photo: Photo) -> bool:
    """People who may see the photo's audit, or a nonconformity it is evidence for."""
    from ..capa import services as capa
    from ..capa.models import CorrectiveAction, Nonconformity
    audit = db.session.get(Audit, photo.audit_id) if photo.audit_id else None
    if audit is not None and audits.can_view(current_user, audit):
        return True
    action = db.session.get(CorrectiveAction, photo.action_id) if photo.action_id else None
    if action is not None and capa.can_view_action(current_user, action):
        return True
    nc_ids = {photo.nonconformity_id} if photo.nonconformity_id else set()
    if photo.finding_id:
        nc_ids |= set(db.session.scalars(db.select(Nonconformity.id).filter_by(finding_id=photo.finding_id)))
    return any(capa.can_view(current_user, db.session.get(Nonconformity, i)) for i in nc_ids)


@bp.get("/photos/<photo_id>")
def show(photo_id: str):
    """The photo (or ?size=thumb its thumbnail), to users who may see its audit; cacheable for good."""
    photo = db.get_or_404(Photo, photo_id)
    if not _may_see(photo):
        abort(404)
    path = photo_file(_photo_dir(), photo.sha256, thumbnail=request.args.get("size") == "thumb")
    if not path.exists():
        abort(404, description="The photo file is missing from the photo folder.")
    response = send_file(path, mimetype="image/jpeg", conditional=True, etag=photo.sha256 + path.suffixes[0])
    # Content-addressed: the bytes behind this URL never change, so the phone may keep them.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
