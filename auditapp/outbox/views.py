"""The outbox on the server: a phone's batch of queued changes (auditors), and importing an export (quality leads)."""

import time

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user

from ..accounts.models import Role
from ..web.security import roles_required
from . import batch, services

bp = Blueprint("outbox", __name__)


@bp.post("/batch")
def send_batch():
    """Apply a phone's queued changes in order, each once by its change id, and answer each one.

    Who may make each change is its own endpoint's business (see outbox/batch.py); a batch that is
    too large or not a batch is refused whole (413, 422) with nothing applied. Server-Timing says how
    long the server took over the batch (bench/sync.py reads it: the server's part of a drain)."""
    started = time.perf_counter()
    try:
        if (request.content_length or 0) > current_app.config["OUTBOX_BATCH_MAX_BYTES"]:
            raise batch.BatchRefused(
                f"The batch is larger than {current_app.config['OUTBOX_BATCH_MAX_BYTES'] // (1024 * 1024)} MB; "
                "nothing was saved. Send it in smaller batches.",
                413,
            )
        entries = batch.read_batch(request.form, request.files)
    except batch.BatchRefused as err:
        return jsonify(error=err.message), err.status
    answers = batch.apply_batch(entries)
    response = jsonify(results=[answer.as_json() for answer in answers])
    response.headers["Server-Timing"] = f"outbox;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


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
