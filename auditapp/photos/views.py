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
    etag = photo.sha256 + (".thumb" if thumbnail else "")
    if request.if_none_match.contains(etag):  # the phone has it: no need to fetch it from the store
        return _cacheable(Response(status=304), etag)
    try:
        data = photo_store().read(photo.sha256, thumbnail=thumbnail)
    except OSError:  # the bucket is out of reach: say "later", not "broken"
        raise ServerBusy("The photo store cannot be reached right now. Try again shortly.", retry_after=30)
    if data is None:
        abort(404, description="The photo file is missing from the photo store.")
    return _cacheable(Response(data, mimetype="image/jpeg"), etag).make_conditional(request)


def _cacheable(response: Response, etag: str) -> Response:
    """Content-addressed: the bytes behind this URL never change, so the phone may keep them."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
