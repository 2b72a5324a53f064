"""One checklist item on the audit screen: its answer, note, finding and photos, and its history.

Every route answers with the item's fragment (`render_item`), or the ad-hoc findings block, so
what the auditor typed stays on screen when a save is refused. The recording itself, and what
follows from it, is audits.recording's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from marshmallow import ValidationError

from ..checklists.models import ChecklistItem
from ..core.changes import RenderAfterCommit, applies_change
from ..core.errors import RuleError
from ..core.forms import first_errors
from ..events import services as events
from ..extensions import db
from ..findings import services as findings
from ..findings.schemas import AdhocFindingSchema
from ..photos import intake
from ..photos import services as photos
from ..photos.models import Photo
from ..photos.pipeline import PhotoRejected
from ..web.rendering import render, wants_fragment
from . import recording, services
from .models import Audit, Response
from .schemas import AnswerSchema, NoteSchema, answer_form
from .views import bp, get_audit, get_item


@dataclass
class Conflict:
    """Two saves of one item: the value this auditor sent and the one already stored."""

    mine: str
    theirs: Response | None
    field: str = "result"


def item_copy(audit: Audit, item_id: int, copy: int) -> tuple[ChecklistItem, int]:
    """The audit's item and the copy of its section asked (1 but in a repeating section), or 404."""
    item = get_item(audit, item_id)
    if copy != 1:
        try:
            services.copy_named(audit, item, copy)
        except LookupError:
            abort(404)
    return item, copy


def _back(audit: Audit, item: ChecklistItem, copy: int = 1):
    return redirect(url_for("audits.show", audit_id=audit.id, _anchor=services.item_anchor(item.id, copy)))


def render_item(
    audit: Audit, item: ChecklistItem, status: int = 200, trigger: str | None = None, copy: int = 1, **extra
):
    """The item's fragment for htmx, or a page around it; used by every item endpoint."""
    response = services.response_for(audit, item, copy)
    context = {
        "audit": audit,
        "item": item,
        "copy": copy,
        "response": response,
        # show-if (issue 15): whether this item is asked now (only a conditional item needs counting)
        "not_asked": services.progress(audit).hidden_keys if item.show_if or item.section.show_if else set(),
        "finding": findings.finding_for_response(response),
        "item_photos": photos.photos_of_item(audit, item, copy),
        "can_record": services.can_record(current_user, audit),
        "errors": {},
        "form": None,
        "conflict": None,
        "message": None,
        "edit_finding": False,
        **extra,
    }
    if not wants_fragment() and status < 400 and request.method == "POST":
        return _back(audit, item, copy)
    if not wants_fragment():  # the page names the copy of a repeating section ("Station 2 – press line")
        context["copy_label"] = services.copy_named(audit, item, copy).label
    result = render("audits/item_page.html", "audits/_item.html", status=status, **context)
    if trigger:
        result = htmx_response(result, trigger={trigger: {"item": item.id}})
    return result


# Each item route has a second rule for the copies of a repeating section (issue 15): ".../copies/2/answer";
# copy 1 keeps today's URLs. The outbox keeps and replays either by its URL (pwa/routes.py reads both rules).
ONE = {"copy": 1}
ANSWER_SCHEMA = AnswerSchema()  # stateless: made once, not on every tap


@bp.get("/<int:audit_id>/items/<int:item_id>", defaults=ONE)
@bp.get("/<int:audit_id>/items/<int:item_id>/copies/<int:copy>")
def item(audit_id: int, item_id: int, copy: int):
    """One item as it stands now (also: open its finding form with ?edit=finding)."""
    audit = get_audit(audit_id)
    found, copy = item_copy(audit, item_id, copy)
    return render_item(audit, found, copy=copy, edit_finding=request.args.get("edit") == "finding")


def answered(target: services.AnswerTarget, progress: services.Progress | None = None):
    """The answered item and, out of band, the progress bar and section counters: one response per tap."""
    audit, item, response = target.audit, target.item, target.response
    if progress is None:
        progress = services.progress(audit)
    context: dict[str, Any] = {
        "audit": audit,
        "item": item,
        "copy": target.copy,
        "response": response,
        "finding": target.finding,
        "item_photos": target.photos,
        "can_record": True,
        "errors": {},
        "form": None,
        "conflict": None,
        "message": None,
        "edit_finding": False,
        "progress": progress,
        "not_asked": progress.hidden_keys,
    }
    if not wants_fragment():
        return _back(audit, item, target.copy)
    fragment = render("audits/item_page.html", "audits/_answered.html", **context)
    return htmx_response(fragment, trigger={"audit:answered": {"item": item.id}})


def _answered_again(audit_id: int, item_id: int, copy: int = 1):
    """A replayed answer: the item as it stands now, with the progress."""
    target = services.answer_target(current_user, audit_id, item_id, copy)
    if target is None:
        audit = get_audit(audit_id, record=True)
        return render_item(audit, get_item(audit, item_id), copy=copy)
    return answered(target)


@bp.post("/<int:audit_id>/items/<int:item_id>/answer", defaults=ONE)
@bp.post("/<int:audit_id>/items/<int:item_id>/copies/<int:copy>/answer")
@applies_change(rerender=_answered_again)
def answer(audit_id: int, item_id: int, copy: int):
    """Record a result with one tap; a stale save is refused with both values shown.

    What the answer shows is read before its write (one query) and rendered after its commit, so its
    rows are locked only while they are written (core.changes.RenderAfterCommit)."""
    target = services.answer_target(current_user, audit_id, item_id, copy)
    if target is None:  # not a member, or not the audit's item: say which, as every item route does
        audit = get_audit(audit_id, record=True)
        get_item(audit, item_id)
        abort(404)
    audit, item = target.audit, target.item
    if copy != 1:
        item_copy(audit, item_id, copy)  # 404 for a copy the audit does not have
    # Counted before the write, with this answer put in: no read after the commit (a teammate's answer
    # committed meanwhile shows with the next tap).
    progress = services.progress(audit)
    typed = request.form.getlist("value")  # answer types: what was typed stays on screen if refused
    try:
        data = ANSWER_SCHEMA.load(answer_form(request.form))
        target.response = recording.record_answer(
            current_user, audit, item, data["result"], data["base_revision"], data["response_id"], target, data["value"]
        )
    except ValidationError as err:
        return render_item(audit, item, 422, copy=copy, errors=first_errors(err))
    except services.StaleAnswer as stale:
        mine = request.form.get("result") or ", ".join(request.form.getlist("value"))
        return render_item(audit, item, 409, copy=copy, conflict=Conflict(mine, stale.current))
    except RuleError as err:  # not an answer, the audit or the item's nonconformity is closed, a result not allowed
        if item.answer is not None and err.field in ("value", "result") and err.status == 422:
            return render_item(audit, item, 422, copy=copy, answer_error=err.message, typed_answer=typed)
        return render_item(audit, item, err.status, copy=copy, message=err.message)
    # A finding that followed the answer (withdrawn, regraded) is the object loaded here: shown as it is now.
    response = target.response
    shown = progress.with_result(item.id, response.result, response.value, copy) if response.result else progress
    return RenderAfterCommit(lambda: answered(target, shown))


@bp.post("/<int:audit_id>/items/<int:item_id>/note", defaults=ONE)
@bp.post("/<int:audit_id>/items/<int:item_id>/copies/<int:copy>/note")
@applies_change
def note(audit_id: int, item_id: int, copy: int):
    """Save an item's note as the auditor types; answers with the small saved-state line."""
    audit = get_audit(audit_id, record=True)
    item, copy = item_copy(audit, item_id, copy)
    state = {"audit": audit, "item": item, "copy": copy}
    try:
        data = NoteSchema().load(request.form)
        response = services.save_note(
            current_user, audit, item, data["note"], data["base_revision"], data["response_id"], copy
        )
    except ValidationError as err:
        return render_template("audits/_note_state.html", error=first_errors(err).get("note"), **state), 422
    except services.StaleAnswer as stale:
        return render_template("audits/_note_state.html", conflict=stale.current, **state), 409
    except RuleError as err:
        return render_template("audits/_note_state.html", error=err.message, **state), err.status
    if not wants_fragment():
        return _back(audit, item, copy)
    return render_template("audits/_note_state.html", response=response, **state)


@bp.get("/<int:audit_id>/items/<int:item_id>/statements", defaults=ONE)
@bp.get("/<int:audit_id>/items/<int:item_id>/copies/<int:copy>/statements")
def statements(audit_id: int, item_id: int, copy: int):
    """Statements already written on the item's clause, to pick from (fetched when the finding form appears)."""
    audit = get_audit(audit_id, record=True)
    item = get_item(audit, item_id)
    found = [] if audit.is_gap_analysis else services.recurring_statements(current_user, audit, item.clause)
    return render_template("audits/_statements.html", item=item, statements=found)


@bp.get("/<int:audit_id>/items/<int:item_id>/history", defaults=ONE)
@bp.get("/<int:audit_id>/items/<int:item_id>/copies/<int:copy>/history")
def history(audit_id: int, item_id: int, copy: int):
    """Every earlier value of an item: results, notes, findings and photos, who and when."""
    audit = get_audit(audit_id)
    item = get_item(audit, item_id)
    return render_template(
        "audits/history.html", audit=audit, item=item, history=events.item_history(audit.id, item.id)
    )


# --- findings ----------------------------------------------------------------------------------


def _chosen(upload) -> bool:
    """A photo was chosen: a form's empty file field (also as kept offline) sends an empty part."""
    if not upload or not upload.filename:
        return False
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    return size > 0


@bp.post("/<int:audit_id>/items/<int:item_id>/finding", defaults=ONE)
@bp.post("/<int:audit_id>/items/<int:item_id>/copies/<int:copy>/finding")
@applies_change
def save_item_finding(audit_id: int, item_id: int, copy: int):
    """Save the finding of an item answered as a finding, with the photos taken in its form (one request);
    an invalid one comes back with what was typed."""
    audit = get_audit(audit_id, record=True)
    item, copy = item_copy(audit, item_id, copy)
    typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
    files = [f for f in request.files.getlist("photo") if _chosen(f)]
    try:
        processed = intake.process_uploads(files) if files else []
    except PhotoRejected as err:
        message = f"{err.message} Nothing was saved; what you typed is still here."
        return render_item(audit, item, err.status, copy=copy, errors={"photo": message}, form=typed, edit_finding=True)
    try:
        data = recording.finding_schema(audit, item, len(processed), copy).load(request.form)
        recording.record_item_finding(current_user, audit, item, data, processed, copy)
    except ValidationError as err:  # the page puts the chosen photos back in the form (static/js/drafts.js)
        return render_item(audit, item, 422, copy=copy, errors=first_errors(err), form=typed, edit_finding=True)
    except RuleError as err:  # not graded as a finding, the audit or the finding's nonconformity is closed
        return render_item(audit, item, err.status, copy=copy, message=err.message)
    return render_item(audit, item, trigger="audit:finding-saved", copy=copy)


def _adhoc(audit: Audit, status: int = 200, form=None, errors=None, finding=None):
    context = {
        "audit": audit,
        "adhoc_findings": [f for f in findings.audit_findings(audit) if f.item_id is None],
        "can_record": services.can_record(current_user, audit),
        "clauses": services.clause_options(audit),
        "adhoc_form": form or {},
        "adhoc_errors": errors or {},
        "editing": finding,
    }
    return render("audits/adhoc_page.html", "audits/_adhoc.html", status=status, **context)


@bp.post("/<int:audit_id>/findings")
@applies_change
def save_adhoc_finding(audit_id: int):
    """Add (or, with edit_id of an existing one, edit) a finding not tied to a checklist item."""
    audit = get_audit(audit_id, record=True)
    typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
    existing = None
    if typed.get("edit_id"):
        existing = findings.adhoc_finding(audit, typed["edit_id"]) or abort(404)
    try:
        data = AdhocFindingSchema(gap=audit.is_gap_analysis).load({k: v for k, v in typed.items() if k != "edit_id"})
        recording.record_adhoc_finding(current_user, audit, data, existing)
    except ValidationError as err:
        return _adhoc(audit, 422, typed, first_errors(err), existing)
    except RuleError as err:
        # Re-rendered in place, so what was typed stays on the screen.
        return _adhoc(audit, err.status, typed, {"_form": err.message}, existing)
    if not wants_fragment():
        return redirect(url_for("audits.show", audit_id=audit.id, _anchor="adhoc"))
    return _adhoc(audit)


@bp.get("/<int:audit_id>/findings/<finding_id>/edit")
def edit_adhoc_finding(audit_id: int, finding_id: str):
    """The ad-hoc findings block with one finding's form filled in for editing."""
    audit = get_audit(audit_id, record=True)
    finding = findings.adhoc_finding(audit, finding_id) or abort(404)
    form = {k: getattr(finding, k) or "" for k in ("clause", "grade", "gap_category", *findings.FIELDS)}
    return _adhoc(audit, form=form, finding=finding)


# --- photos ------------------------------------------------------------------------------------


@bp.post("/<int:audit_id>/photos")
@applies_change
def add_photos(audit_id: int):
    """Add photos to an item (and its finding), each maybe with a marked-up copy: all files are processed
    before any is stored."""
    audit = get_audit(audit_id, record=True)
    item_id = request.form.get("item_id", type=int) or 0
    copy = request.form.get("copy", type=int) or 1  # a repeating section's copy (issue 15); 1 when not sent
    item, copy = item_copy(audit, item_id if 0 < item_id < 2**31 else 0, copy if 0 < copy <= 50 else 0)
    files = [f for f in request.files.getlist("photo") if f and f.filename is not None]
    # Copies the auditor marked up on the phone (static/js/markup.js): the n-th is of the n-th photo.
    marked_up = [f for f in request.files.getlist("marked_up") if f and f.filename is not None]
    if not files:
        return render_item(audit, item, 422, copy=copy, message="Choose or take a photo first.")
    if len(marked_up) > len(files):
        return render_item(audit, item, 422, copy=copy, message=recording.MARKUP_WITHOUT_ORIGINAL)
    if audit.is_completed:
        return render_item(audit, item, 409, copy=copy, message=services.CLOSED_MESSAGE)
    try:
        # Every file counts against the limits, a marked-up copy as much as a photo.
        processed = intake.process_uploads([*files, *marked_up])
    except PhotoRejected as err:
        return render_item(audit, item, err.status, copy=copy, message=f"{err.message} Nothing was saved.")
    try:
        recording.add_item_photos(
            current_user, audit, item, processed[: len(files)], processed[len(files) :], copy=copy
        )
    except RuleError as err:
        return render_item(audit, item, err.status, copy=copy, message=err.message)
    return render_item(audit, item, trigger="audit:photo-added", copy=copy)


@bp.post("/<int:audit_id>/photos/<photo_id>/delete")
@applies_change
def remove_photo(audit_id: int, photo_id: str):
    """Remove a photo from an open audit (the page asks for confirmation first)."""
    audit = get_audit(audit_id, record=True)
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.audit_id != audit.id or not photo.item_id:
        abort(404)
    item = get_item(audit, photo.item_id)
    try:
        recording.remove_photo(current_user, audit, photo)
    except RuleError as err:
        return render_item(audit, item, err.status, copy=photo.copy, message=err.message)
    return render_item(audit, item, trigger="audit:photo-removed", copy=photo.copy)
