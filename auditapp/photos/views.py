"""Serving photo evidence to the people who may see the record it belongs to."""

from flask import Blueprint, Response, abort, request
from flask_login import current_user

from ..core.errors import ServerBusy
from ..extensions import db
from . import services
from .models import Photo
from .storage import photo_store

bp = Blueprint("photos", __name__)


@bp.get("/photos/<photo_id>")
def show(photo_id: str):
    """The photo (or ?size=thumb its thumbnail), to users who may see its record; cacheable for good.

    Streamed through the app whatever the store (a folder or S3), so the visibility rule is the only door."""
    photo = db.get_or_404(Photo, photo_id)
    if not services.may_see(current_user, photo):
        abort(404)
    thumbnail = request.args.get("size") == "thumb"
    try:
        data = photo_store().read(photo.sha256, thumbnail=thumbnail)
    except OSError:  # the bucket is out of reach: say "later", not "broken"
        raise ServerBusy("The photo store cannot be reached right now. Try again shortly.", retry_after=30)
    if data is None:
        abort(404, description="The photo file is missing from the photo store.")
    response = Response(data, mimetype="image/jpeg")
    response.set_etag(photo.sha256 + (".thumb" if thumbnail else ""))
    # Content-addressed: the bytes behind this URL never change, so the phone may keep them.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response.make_conditional(request)
