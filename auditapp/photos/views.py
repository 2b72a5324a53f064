"""Serving photo evidence to the people who may see the record it belongs to."""

from pathlib import Path

from flask import Blueprint, abort, current_app, request, send_file
from flask_login import current_user

from ..extensions import db
from . import services
from .models import Photo
from .storage import photo_file

bp = Blueprint("photos", __name__)


@bp.get("/photos/<photo_id>")
def show(photo_id: str):
    """The photo (or ?size=thumb its thumbnail), to users who may see its record; cacheable for good."""
    photo = db.get_or_404(Photo, photo_id)
    if not services.may_see(current_user, photo):
        abort(404)
    path = photo_file(
        Path(current_app.config["PHOTO_DIR"]), photo.sha256, thumbnail=request.args.get("size") == "thumb"
    )
    if not path.exists():
        abort(404, description="The photo file is missing from the photo folder.")
    response = send_file(path, mimetype="image/jpeg", conditional=True, etag=photo.sha256 + path.suffixes[0])
    # Content-addressed: the bytes behind this URL never change, so the phone may keep them.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
