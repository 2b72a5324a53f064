"""Import an auditor's exported outbox (quality leads)."""

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from ..accounts.models import Role
from ..web.security import roles_required
from . import services

bp = Blueprint("outbox", __name__)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.QUALITY_LEAD)
def import_file():
    """Upload an outbox export; every change is applied once, in order, and the outcome listed."""
    if request.method == "GET":
        return render_template("outbox/import.html", outcomes=None, error=None)
    upload = request.files.get("export")
    if upload is None or not upload.filename:
        return render_template("outbox/import.html", outcomes=None, error="Choose the exported file."), 422
    try:
        data = services.read_export(upload.read())
    except services.ImportRefused as err:
        return render_template("outbox/import.html", outcomes=None, error=str(err)), 422
    outcomes = services.import_outbox(current_user, data, current_app.config["PHOTO_MAX_EDGE"])
    return render_template("outbox/import.html", outcomes=outcomes, error=None, source=data.get("user", ""))
