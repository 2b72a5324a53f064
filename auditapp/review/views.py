"""Management review screens: the list, the pack of a review with its meeting record, and its PDF."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..accounts.models import Role
from ..capa.models import ACTION_ORIGINS
from ..capa.services import assignable_owners
from ..checklists.models import RESULT_LABELS
from ..core.changes import applies_change
from ..core.errors import RuleError
from ..core.forms import first_errors
from ..core.timeutil import utcnow
from ..events.checkpoints import write_checkpoint
from ..extensions import db, on_commit
from ..findings.models import FINDING_GRADES
from ..improvements.models import ImprovementStatus
from ..scope.services import current_scope
from ..web.pdf import render_pdf
from ..web.rendering import render, wants_fragment
from ..web.security import roles_required
from . import charts, services
from .models import OUTPUTS, TYPED_INPUTS, ManagementReview
from .pack import AGEING_BUCKETS, build_pack
from .schemas import DecisionSchema, InputsSchema, MeetingSchema, PeriodSchema

bp = Blueprint("review", __name__)

VIEWERS = (Role.QUALITY_LEAD, Role.ADMIN)
# Column heads of the figures tables, short enough for a phone.
SHORT_GRADES = {"minor_nc": "Minor", "major_nc": "Major", "observation": "Obs.", "ofi": "OFI"}


def get_review(review_id: int) -> ManagementReview:
    return db.get_or_404(ManagementReview, review_id)


@bp.get("/")
@roles_required(*VIEWERS)
def index():
    """Management reviews, newest first, and the form to prepare the next one."""
    start, end = services.default_period(date.today())
    return render_template(
        "review/index.html",
        reviews=services.reviews(),
        errors={},
        form={"period_start": start.isoformat(), "period_end": end.isoformat()},
        can_prepare=services.can_prepare(current_user),
    )


@bp.post("/")
@roles_required(Role.QUALITY_LEAD)
@applies_change
def prepare():
    """Open a review for a period; its pack is built from the records."""
    try:
        data = PeriodSchema().load(request.form)
        review = services.prepare(current_user, data["period_start"], data["period_end"])
    except (ValidationError, RuleError) as err:
        errors = first_errors(err) if isinstance(err, ValidationError) else {err.field: err.message}
        return render_template(
            "review/index.html", reviews=services.reviews(), errors=errors, form=dict(request.form), can_prepare=True
        ), 422
    flash(f"{review.number} prepared. Type in the inputs auditapp cannot know, then record the meeting.", "success")
    return redirect(url_for("review.show", review_id=review.id))


def _context(review: ManagementReview, **overrides) -> dict:
    """Everything the pack page and its PDF show: the figures, charts, the meeting record and forms."""
    # Open items of a held review are judged as of its meeting; the other figures are recomputed from
    # today's records. The record of the meeting itself is the archived PDF.
    as_of = review.meeting_date if review.is_held and review.meeting_date is not None else date.today()
    pack = build_pack(review.period_start, review.period_end, as_of, review)
    grade_labels = {g.value: RESULT_LABELS[g] for g in FINDING_GRADES}
    context = {
        "review": review,
        "pack": pack,
        "as_of": as_of,
        "typed_inputs": TYPED_INPUTS,
        "outputs": OUTPUTS,
        "grade_labels": grade_labels,
        "short_grades": SHORT_GRADES,
        "origins": ACTION_ORIGINS,
        "improvement_status": ImprovementStatus,
        "qms_scope": current_scope(),
        "charts": {
            "findings_by_month": charts.stacked_columns(
                "Findings by month",
                [(_month_label(m, first=i == 0), pack.audits.by_month.get(m, {})) for i, m in enumerate(pack.months)],
                grade_labels,
            ),
            "ncs_by_clause": charts.horizontal_bars(
                "Nonconformities opened by clause", [(f"Clause {c}", n) for c, n in pack.ncs.by_clause.items()]
            ),
            "action_ageing": charts.horizontal_bars(
                "Open actions by lateness", [(b, pack.ncs.action_ageing.get(b, 0)) for b in AGEING_BUCKETS]
            ),
        },
        "can_edit": services.can_prepare(current_user) and not review.is_held,
        "archive": services.archive_of(review) if review.is_held else None,
        "owners": assignable_owners(),
        "errors": {},
        "form": {},
        "decision_form": {},
        "meeting_form": {},
    }
    context.update(overrides)
    return context


def _month_label(month: str, first: bool) -> str:
    """ "2026-01" -> "Jan" with the year under it on January and on the first column."""
    year, number = month.split("-")
    name = date(int(year), int(number), 1).strftime("%b")
    return f"{name}\n{year}" if first or number == "01" else name


@bp.get("/<int:review_id>")
@roles_required(*VIEWERS)
def show(review_id: int):
    """The review pack: each 9.3.2 input from the records or typed in, then the meeting record."""
    return render_template("review/show.html", **_context(get_review(review_id)))


@bp.get("/<int:review_id>.pdf")
@roles_required(*VIEWERS)
def pdf(review_id: int):
    """The same pack as a PDF, rendered on the server."""
    review = get_review(review_id)
    return Response(
        _pack_pdf(review),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{review.number}.pdf"'},
    )


def _pack_pdf(review: ManagementReview) -> bytes:
    return render_pdf(render_template("review/pack_pdf.html", **_context(review, can_edit=False)))


def _refused(review, status: int, **overrides):
    return render_template("review/show.html", **_context(review, **overrides)), status


@bp.post("/<int:review_id>/inputs")
@roles_required(Role.QUALITY_LEAD)
@applies_change
def save_inputs(review_id: int):
    """Save the typed-in inputs: all of them from the form's button, or as they are typed (htmx, each
    input a moment after the typing stops), answered with the input's "Saved hh:mm" in place."""
    review = get_review(review_id)
    autosave = wants_fragment()
    try:
        services.save_inputs(current_user, review, InputsSchema().load(request.form))
    except RuleError as err:
        if autosave:
            return render_template("review/_save_state.html", error=err.message), err.status
        return _refused(review, err.status, errors={"inputs": err.message})
    except ValidationError as err:
        if autosave:
            message = "; ".join(first_errors(err).values())
            return render_template("review/_save_state.html", error=message), 422
        _keep_typed_inputs(review)
        return _refused(review, 422, errors={"inputs": "; ".join(first_errors(err).values())})
    if autosave:
        return render_template("review/_save_state.html", saved_at=utcnow())
    flash("Inputs saved.", "success")
    return redirect(url_for("review.show", review_id=review.id, _anchor="inputs"))


@bp.post("/<int:review_id>/decisions")
@roles_required(Role.QUALITY_LEAD)
@applies_change
def add_decision(review_id: int):
    """Record a decision; with an owner and due date it becomes a tracked action in the action log."""
    review = get_review(review_id)
    form = dict(request.form)
    try:
        data = DecisionSchema().load(request.form)
        action = None
        if data["action_owner_id"]:
            action = {
                "description": data["action_description"],
                "owner_id": data["action_owner_id"],
                "due_date": data["action_due_date"],
            }
        services.add_decision(current_user, review, data["output"], data["text"], action)
    except ValidationError as err:
        return _decisions(review, 422, errors=first_errors(err), decision_form=form)
    except RuleError as err:
        db.session.rollback()
        return _decisions(review, err.status, errors={err.field: err.message}, decision_form=form)
    return _decisions(review, 200)


def _decisions(review, status: int, **overrides):
    db.session.flush()
    db.session.expire(review, ["decisions"])
    return render("review/show.html", "review/_decisions.html", status, **_context(review, **overrides))


@bp.post("/<int:review_id>/held")
@roles_required(Role.QUALITY_LEAD)
@applies_change
def record_meeting(review_id: int):
    """Record that the meeting was held, with the typed-in inputs; the review becomes read-only and its
    pack is archived as a PDF."""
    review = get_review(review_id)
    form = dict(request.form)
    try:
        inputs = InputsSchema().load(request.form)
        data = MeetingSchema().load(request.form)
        services.check_meeting(data["meeting_date"], data["attendees"], data["conclusions"], date.today())
        at = utcnow()
        # Rendered before the change lock is taken: a PDF takes a second, the lock stops every writer.
        pdf = _pdf_as_held(review, inputs, data, at)
        services.save_inputs(current_user, review, inputs)
        services.record_meeting(
            current_user, review, data["meeting_date"], data["attendees"], data["conclusions"], date.today(), at
        )
        if pdf is not None:
            services.archive_pack(current_user, review, pdf)
        on_commit(_checkpoint_the_log)
    except ValidationError as err:
        _keep_typed_inputs(review)
        return _refused(review, 422, errors=first_errors(err), meeting_form=form)
    except RuleError as err:
        _keep_typed_inputs(review)
        return _refused(review, err.status, errors={err.field: err.message}, meeting_form=form)
    flash(f"{review.number} recorded as held on {data['meeting_date']:%d %b %Y}.", "success")
    if pdf is None:
        flash("The pack could not be archived as a PDF: this server has no PDF library (see the README).", "warning")
    return redirect(url_for("review.show", review_id=review.id))


def _checkpoint_the_log() -> None:
    """Once the held review (and its pack's hash) is committed, a checkpoint of the log outside the database."""
    try:
        write_checkpoint()
    except OSError:  # the meeting is recorded; a missed checkpoint is logged, the next one covers it
        current_app.logger.exception("event log checkpoint after a held review could not be written")


def _pdf_as_held(review: ManagementReview, inputs: dict, data: dict, at) -> bytes | None:
    """The pack as it will stand once held, without writing anything; None when PDFs are unavailable."""
    with db.session.no_autoflush:
        review.status, review.meeting_date, review.attendees = "held", data["meeting_date"], data["attendees"]
        review.conclusions, review.recorded_at = data["conclusions"], at
        review.inputs = services.merged_inputs(review, inputs)
        review.recorded_by = current_user._get_current_object()
        try:
            return _pack_pdf(review)
        except HTTPException:
            return None
        finally:
            db.session.expire(review)  # back to what the database holds; the services write it properly


def _keep_typed_inputs(review: ManagementReview) -> None:
    """A refused form shows the inputs as typed (not saved), so nothing typed is lost."""
    db.session.rollback()
    if not review.is_held:
        review.inputs = {**(review.inputs or {}), **{k: v for k, v in request.form.items() if k in TYPED_INPUTS}}


@bp.get("/<int:review_id>/archived.pdf")
@roles_required(*VIEWERS)
def archived_pdf(review_id: int):
    """The pack as it stood when the meeting was recorded."""
    review = get_review(review_id)
    archive = services.archive_of(review) or abort(404)
    return Response(
        archive.pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{review.number}-as-held.pdf"',
            "ETag": f'"{archive.sha256}"',
        },
    )
