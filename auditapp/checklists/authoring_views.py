"""Writing checklists in the browser: edit or upload YAML, see its problems and preview as you type, publish.

Every route here is for checklist authors only (User.can_author_checklists: the permission a quality lead
grants, or the quality lead's and administrator's role). Publishing goes through the folder's import path
(services.publish_text -> import_checklist), so a version made here is made exactly as `flask checklists
sync` makes one. Whatever was typed comes back in the editor after any refusal: problems, a version
published meanwhile, an expired security token, a file that is not a checklist.
"""

import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import db
from ..web.errors import handle_csrf
from . import services, standards
from .loader import MAX_FILE_BYTES, LoadedChecklist, Problem
from .models import RESULT_LABELS, Result

bp = Blueprint("authoring", __name__)

# The editor's text field may be up to twice the 1 MB a checklist may be, so an over-long text is answered
# in the editor with its size; a request may carry that and a file of 1 MB. Anything larger is refused by
# Werkzeug with 413 before it is read (handled below).
MAX_EDITOR_FORM_BYTES = 2 * MAX_FILE_BYTES + 64 * 1024
MAX_EDITOR_REQUEST_BYTES = MAX_EDITOR_FORM_BYTES + MAX_FILE_BYTES + 64 * 1024
EDITOR = "edited in the browser"

P = ParamSpec("P")
R = TypeVar("R")


def author_required(view: Callable[P, R]) -> Callable[P, R]:
    """403 unless the user may write checklists; checked on the server for every authoring route."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated:
            abort(401)
        if not current_user.can_author_checklists:
            abort(403, description="Writing checklists needs the checklist author permission; ask a quality lead.")
        return view(*args, **kwargs)

    return wrapped


@bp.url_value_preprocessor
def _room_for_a_checklist(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the app's before_request hooks, so before CSRFProtect reads the form.
    request.max_form_memory_size = MAX_EDITOR_FORM_BYTES
    request.max_content_length = MAX_EDITOR_REQUEST_BYTES


@bp.get("/new")
@author_required
def new():
    """The editor with a short starter checklist (or an uploaded file, from the same page)."""
    return _editor(services.starter_text())


@bp.get("/<key>/edit")
@author_required
def edit(key: str):
    """The editor on the current version's YAML, its version number already raised to the next."""
    checklist = services.get_checklist(key) or abort(404)
    latest = checklist.latest or abort(404)
    return _editor(services.next_version_text(latest), key=key, base=latest.number)


@bp.post("/editor/check")
@author_required
def check():
    """The live feedback (htmx, debounced): line-numbered problems, the preview, the comparison."""
    text, key, base = _typed()
    return render_template("checklists/_editor_feedback.html", **_feedback(text, key, base))


@bp.post("/editor/publish")
@author_required
def publish():
    """Publish the text as the next version; any refusal shows the editor again with the text."""
    text, key, base = _typed()
    version, problems = services.publish_text(text, current_user, EDITOR)
    if problems:
        db.session.rollback()
        return _editor(text, key=key, base=base, problems=problems, status=422)
    assert version is not None  # published
    db.session.commit()
    flash(
        f"Published {version.title}, version {version.number} ({len(version.items)} items). "
        "New audits use it; audits already started keep their version.",
        "success",
    )
    return redirect(url_for("checklists.show", key=version.checklist.key, number=version.number), 303)


@bp.post("/editor/upload")
@author_required
def upload():
    """Open an uploaded YAML file in the editor (nothing is published until the author presses Publish)."""
    typed, key, base = _typed()
    file = request.files.get("upload")
    if file is None or not file.filename:
        message = "choose a checklist file (.yaml) first, then press Open file"
        return _editor(typed, key=key, base=base, upload_problems=[Problem("upload", None, "", message)], status=422)
    filename = file.filename[:120]
    raw = file.stream.read(MAX_FILE_BYTES + 1)
    size = (
        file.stream.seek(0, os.SEEK_END) if len(raw) > MAX_FILE_BYTES else len(raw)
    )  # what it weighs, read no further
    text, problems = services.decode_upload(raw, f"uploaded file {filename}", size)
    if text is None:
        return _editor(typed, key=key, base=base, upload_problems=problems, status=422)
    flash(f"Opened {filename}. Nothing is published until you press Publish.", "info")
    loaded = services.check_text(text, EDITOR)
    opened: str = loaded.data["id"] if loaded.ok and loaded.data else ""
    checklist = services.get_checklist(opened) if opened else None
    latest = checklist.latest if checklist else None
    return _editor(text, key=opened if latest else "", base=latest.number if latest else None)


@bp.errorhandler(CSRFError)
def _token_refused(error: CSRFError) -> ResponseReturnValue:
    """An expired or missing security token: an author gets the editor back with the text, nothing saved."""
    if not (current_user.is_authenticated and current_user.can_author_checklists):
        return handle_csrf(error)
    text, key, base = _typed()
    message = (
        "the page's security check expired (you logged in again elsewhere?), so nothing was published;"
        " press Publish again"
    )
    problem = Problem(EDITOR, None, "", message)
    if request.endpoint == "authoring.check":
        return render_template("checklists/_editor_feedback.html", **_feedback(text, key, base, [problem])), 400
    return _editor(text, key=key, base=base, problems=[problem], status=400)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    message = (
        "This text is far larger than a checklist may be (1 MB), so it was not read or published."
        " Go back: your browser still has it. Split it into several checklists."
    )
    if request.endpoint == "authoring.check":  # the live feedback, in its own place (checklist-editor.js swaps it)
        problem = Problem(EDITOR, None, "", "is far larger than a checklist may be (1 MB); it was not read")
        empty = services.Draft(LoadedChecklist(path=Path(EDITOR), display_path=EDITOR))
        context = {"draft": empty, "problems": [problem], "diff": None, "key": "", "base": None}
        return render_template("checklists/_editor_feedback.html", **context), 413
    return render_template("errors/page.html", status=413, title="Too large", message=message), 413


# --- helpers -----------------------------------------------------------------------------------------------


def _typed() -> tuple[str, str, int | None]:
    """The editor's text (newlines as in the files), the checklist it was opened on, and its version then."""
    text = services.normalise_newlines(request.form.get("text", ""))
    key = request.form.get("key", "")[:64]
    base = request.form.get("base", "")
    return text, key, int(base) if base.isdigit() and len(base) < 10 else None


def _feedback(text: str, key: str, base: int | None, extra: list[Problem] | None = None) -> dict[str, Any]:
    draft = services.draft(text, EDITOR)
    diff = None
    if draft.version is not None and draft.latest is not None:
        diff = services.compare_versions(draft.latest, draft.version)
    return {
        "draft": draft,
        "problems": list(dict.fromkeys([*(extra or []), *draft.problems])),  # a refusal's own first, once
        "diff": diff,
        "key": key,
        "base": base,
        "result_labels": RESULT_LABELS,
        "all_results": [r.value for r in Result],
        "standard_names": {s.key: s.name for s in standards.all_standards()},
    }


def _editor(
    text: str,
    key: str = "",
    base: int | None = None,
    problems: list[Problem] | None = None,
    upload_problems: list[Problem] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    checklist = services.get_checklist(key) if key else None
    context = _feedback(text, key, base, problems)
    return render_template(
        "checklists/editor.html",
        text=text,
        checklist=checklist,
        upload_problems=upload_problems or [],
        max_bytes=MAX_FILE_BYTES,
        **context,
    ), status
