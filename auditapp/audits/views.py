"""Audit screens: plan, My audits, the audit screen, complete, reopen, report. One item's routes: item_views."""

from datetime import date

from flask import Blueprint, abort, flash, has_request_context, redirect, render_template, request, url_for
from flask import Response as HttpResponse
from flask_login import current_user
from marshmallow import ValidationError

from ..accounts import services as accounts
from ..accounts.models import Role
from ..auditors.services import lead_qualification_warning, lead_warning_for_form
from ..checklists import answers
from ..checklists import rules as checklist_rules
from ..checklists import services as checklists
from ..checklists.models import RESULT_LABELS, ChecklistItem, ChecklistSection
from ..core.forms import first_errors
from ..events import services as events
from ..extensions import db, on_commit
from ..findings import services as findings
from ..findings.models import FINDING_GRADES, GAP_CATEGORIES, MAJOR_REASONS, Finding
from ..findings.schemas import split_why_major
from ..photos import services as photos
from ..scope.services import current_scope
from ..web.forms import submit
from ..web.pdf import Keep, Prepared, prepare_pdf, render_pdf
from ..web.rendering import render, wants_fragment
from ..web.security import roles_required
from . import completion, services
from .models import NOT_AUDITED, Audit, AuditKind, Response, result_labels
from .schemas import AuditPlanSchema, CompleteSchema, CopySchema, ReopenSchema, form_with_lists

bp = Blueprint("audits", __name__)

PLANNERS = (Role.QUALITY_LEAD, Role.ADMIN)
CLOSED_MESSAGE = services.CLOSED_MESSAGE
LABELS = {**RESULT_LABELS, NOT_AUDITED: "Not audited"}


def audit_vocabulary():
    return {
        "result_labels": LABELS,
        "finding_grades": [g.value for g in FINDING_GRADES],
        "labels_of": lambda audit: result_labels(audit.kind),
        "gap_categories": GAP_CATEGORIES,
        "audit_kinds": {k.value: k.label for k in AuditKind},
        # The finding card (audits/_finding_form.html, _item_finding.html).
        "major_reasons": MAJOR_REASONS,
        "why_major_parts": split_why_major,
        "requirement_of": services.finding_requirement,
        "raised_of": lambda finding: findings.raised_by([finding]).get(finding.id),
        # Evidence and finding rules of the audit's checklist (issue 15, "rules"; checklists/rules.py).
        "evidence_hints": checklist_rules.evidence_hints,
        "finding_results_of": lambda audit: checklist_rules.finding_results(audit.checklist_version),
        # Answer types (issue 15): audits/_answer.html, the report and its PDF.
        "yes_no_labels": answers.YES_NO_LABELS,
        "answer_logic": answer_logic,
        "answer_result": answers.result_of,
        "answer_text": answers.number_text,
        "answer_text_of": answers.shown,
        "limits_of": answers.limits_text,
        # Show-if (issue 15, "showif"): an item's or section's condition for the phone (offline/logic.js).
        "show_if_of": show_if_of,
        # Repeating sections (issue 15): a section's copy, and an item's, as the screen, counters and scores name them.
        "section_key": services.section_key,
        "slot_key": services.slot_key,
    }


def show_if_of(owner: ChecklistItem | ChecklistSection, copy: int = 1) -> dict | None:
    """An item's or a section's condition as the screen carries it (data-show-if): the trigger named by
    its item's id on the screen, the answers that show it. None without a condition. Inside a copy of a
    repeating section, a trigger in the same section is that copy's ("12-c2"); one before it, copy 1's."""
    if owner.show_if is None:
        return None
    trigger = next(i for i in owner.version.items if i.key == owner.show_if["item"])
    same_copy = isinstance(owner, ChecklistItem) and trigger.section_id == owner.section_id
    return {"item": services.slot_key(trigger.id, copy if same_copy else 1), "answer": owner.show_if["answer"]}


def answer_logic(spec: dict) -> dict:
    """What the phone needs of an item's answer spec to derive its result offline (offline/logic.js)."""
    logic = {k: spec[k] for k in ("type", "min", "max", "outside", "no") if spec.get(k) is not None}
    if "options" in spec:
        logic["results"] = {o["value"]: o["result"] for o in spec["options"]}
    return logic


# --- lookups that enforce who may see and change what -------------------------------------------


def get_audit(audit_id: int, record: bool = False) -> Audit:
    """The audit, or 404 for people who may not see it and 403 for those who may not record in it."""
    audit = db.get_or_404(Audit, audit_id)
    if not services.can_view(current_user, audit):
        abort(404)  # do not reveal that the audit exists
    if record and not services.can_record(current_user, audit):
        abort(403, description="Only the lead auditor and the audit team record in this audit.")
    return audit


def get_item(audit: Audit, item_id: int) -> ChecklistItem:
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.version_id != audit.checklist_version_id:
        abort(404)
    return item


# --- planning and lists ------------------------------------------------------------------------


@bp.get("/")
def index():
    """Every audit the user may see, newest plan first."""
    audits = services.visible_audits(current_user)
    return render_template(
        "audits/index.html",
        audits=audits,
        progress=services.progress_of_many(audits),
        can_plan=current_user.has_role(*PLANNERS),
    )


@bp.get("/mine")
def mine():
    """My audits: today's, in progress, upcoming and recently completed."""
    groups = services.my_audits(current_user, date.today())
    shown = groups.today + groups.in_progress + groups.overdue + groups.upcoming + groups.completed
    # Today's audits and those in progress are kept on the device without a tap (start.js, once the
    # service worker controls the page): each audit screen at every visit (it changes), its guidance and
    # photo thumbnails once (they never change for an audit), this list when it was not kept yet.
    kept = [a for a in groups.today + groups.in_progress if services.can_record(current_user, a)]
    kept_photos = photos.photos_of_audits([a.id for a in kept])  # one query however many audits
    auto_offline = [url_for("audits.show", audit_id=a.id) for a in kept]
    auto_offline_once = [url_for("audits.guidance", audit_id=a.id) for a in kept] + [
        url_for("photos.show", photo_id=p.id, size="thumb") for a in kept for p in kept_photos.get(a.id, [])
    ]
    return render_template(
        "audits/mine.html",
        groups=groups,
        progress=services.progress_of_many(shown),
        auto_offline=auto_offline,
        auto_offline_once=auto_offline_once,
    )


def _plan_context(form=None, errors=None, needs_override=False):
    lists = checklists.all_checklists()
    auditors = services.auditors()
    return {
        "checklists": [c for c in lists if c.latest],
        "auditors": auditors,
        "checklist_options": [(c.id, f"{c.latest.title} (v{c.latest.number})") for c in lists if c.latest],
        "area_options": [(a.id, f"{a.name} · owner {a.owner.name}" if a.owner else a.name) for a in accounts.areas()],
        "auditor_options": [(u.id, f"{u.name} ({u.role_enum.label})") for u in auditors],
        "kind_options": [(k.value, k.label) for k in AuditKind],
        "form": form or {"planned_date": date.today().isoformat(), "team_ids": [], "kind": AuditKind.INTERNAL.value},
        "errors": errors or {},
        "criteria_defaults": {c.id: services.default_criteria(c.latest) for c in lists if c.latest},
        "needs_override": needs_override,
        "lead_warning": lead_warning_for_form((form or {}).get("lead_auditor_id"), (form or {}).get("planned_date")),
    }


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def plan():
    """Plan an audit: checklist, scope, criteria, date, lead auditor, team, auditee."""
    if request.method == "GET":
        return render_template("audits/plan.html", **_plan_context())
    typed = form_with_lists(request.form)
    done = submit(AuditPlanSchema(), lambda data: services.plan_audit(current_user, **data), form=typed)
    if not done.ok:
        context = _plan_context(typed, done.errors, isinstance(done.refusal, services.NeedsOverride))
        return render_template("audits/plan.html", **context), done.status
    audit = done.result
    kind = " (gap analysis)" if audit.is_gap_analysis else ""
    flash(
        f"{audit.number}{kind} planned for {audit.planned_date:%d %b %Y}, led by {audit.lead_auditor.name}.", "success"
    )
    if warning := lead_qualification_warning(audit.lead_auditor, audit.planned_date or date.today()):
        flash(warning, "warning")
    return redirect(url_for("audits.show", audit_id=audit.id))


# --- the audit screen --------------------------------------------------------------------------


@bp.get("/<int:audit_id>")
def show(audit_id: int):
    """The audit screen: sections by clause, items with one-tap results, findings, photos."""
    audit = get_audit(audit_id)
    responses = services.responses_by_slot(audit)
    all_findings = findings.audit_findings(audit)
    counted = services.progress(audit)
    return render_template(
        "audits/show.html",
        audit=audit,
        progress=counted,
        not_asked=counted.hidden_keys,
        score_model=services.score_model(audit, counted),
        **_copies_context(audit, responses, all_findings),
        raised=findings.raised_by(all_findings),
        adhoc_findings=[f for f in all_findings if f.item_id is None],
        can_record=services.can_record(current_user, audit),
        clauses=services.clause_options(audit),
        adhoc_form={},
        adhoc_errors={},
        offline_urls=_offline_urls(audit),
    )


def _copies_context(audit: Audit, responses: dict[services.Slot, Response], all_findings: list[Finding]) -> dict:
    """What the screen shows of each section's copies (issue 15): answers, findings and photos by slot,
    (item id, copy), copy 1 included."""
    return {
        "copies": services.section_copies(audit),
        "responses": responses,
        "item_findings": {(f.item_id, f.copy): f for f in all_findings if f.item_id},
        "photos": photos.photos_by_slot(audit),
    }


@bp.post("/<int:audit_id>/sections/<int:section_id>/copies")
def add_copy(audit_id: int, section_id: int):
    """Add the next copy of a repeating section ("Station 3"), with the name typed; answers with the new copy
    (and the form for the next), and the progress out of band."""
    audit = get_audit(audit_id, record=True)
    try:
        done = submit(
            CopySchema(),
            lambda data: services.add_section_copy(current_user, audit, section_id, data["name"], data["number"]),
        )
    except LookupError:
        abort(404)
    if not wants_fragment():
        if not done.ok:
            flash(next(iter(done.errors.values())), "error")
        return redirect(url_for("audits.show", audit_id=audit.id, _anchor=f"section-{section_id}"))
    copies = services.section_copies(audit)
    if not done.ok:
        last = next(c for c in copies if c.section.id == section_id and c.last)
        error = next(iter(done.errors.values()))
        return render_template("audits/_add_copy.html", audit=audit, c=last, section=last.section, add_error=error), (
            done.status
        )
    added = next(c for c in copies if c.section.id == section_id and c.number == done.result.number)
    counted = services.progress(audit)
    return render_template(
        "audits/_copy_added.html",
        audit=audit,
        c=added,
        progress=counted,
        score=counted.score,
        score_model=services.score_model(audit, counted),
        can_record=True,
        is_fragment=True,
        **_copies_context(audit, {}, []),
    )


def _offline_urls(audit: Audit) -> list[str]:
    """What the service worker must hold to open this audit with no network."""
    urls = [url_for("audits.show", audit_id=audit.id), url_for("audits.guidance", audit_id=audit.id)]
    urls.append(url_for("audits.mine"))
    for item_photos in photos.photos_by_slot(audit).values():
        urls += [url_for("photos.show", photo_id=p.id, size="thumb") for p in item_photos]
    return urls


@bp.get("/<int:audit_id>/guidance")
def guidance(audit_id: int):
    """Every item's guidance, fetched once when the screen first opens one (the screen does not carry it)."""
    return render_template("audits/guidance.html", audit=get_audit(audit_id))


@bp.get("/<int:audit_id>/progress")
def progress(audit_id: int):
    """Overall and per-section progress; refreshed when the page hears audit:answered."""
    audit = get_audit(audit_id)
    return render("audits/progress_page.html", "audits/_progress.html", audit=audit, progress=services.progress(audit))


# --- completing and reopening ------------------------------------------------------------------


@bp.route("/<int:audit_id>/complete", methods=["GET", "POST"])
def complete(audit_id: int):
    """A summary first; then the lead auditor's conclusion closes the audit for good."""
    audit = get_audit(audit_id, record=True)
    form, errors, status = {"conclusion": audit.conclusion}, {}, 200
    if audit.is_completed:
        abort(409, description=CLOSED_MESSAGE)
    if request.method == "POST":
        form = request.form.to_dict()
        done = submit(
            CompleteSchema(),
            lambda data: completion.complete_audit(current_user, audit, data["conclusion"], data["confirm_unanswered"]),
        )
        errors, status = done.errors, done.status
        if done.ok:
            flash(f"{audit.number} is completed. The report is ready.", "success")
            return redirect(url_for("audits.report", audit_id=audit.id))
    return render_template(
        "audits/complete.html",
        audit=audit,
        check=completion.completion_check(audit),
        form=form,
        errors=errors,
        is_lead=current_user.id == audit.lead_auditor_id,
    ), status


@bp.post("/<int:audit_id>/reopen")
def reopen(audit_id: int):
    """Reopen a completed audit, with a recorded reason."""
    audit = get_audit(audit_id)
    try:
        data = ReopenSchema().load(request.form)
        completion.reopen_audit(current_user, audit, data["reason"])
        db.session.commit()
    except ValidationError as err:
        flash(first_errors(err)["reason"], "error")
        return redirect(url_for("audits.report", audit_id=audit.id))
    flash(f"{audit.number} is open again for changes.", "success")
    return redirect(url_for("audits.show", audit_id=audit.id))


@bp.get("/<int:audit_id>/report")
def report(audit_id: int):
    """The audit report: scope, criteria, team, results per clause, findings with photos, conclusion."""
    audit = get_audit(audit_id)
    return render_template("audits/report.html", **_report_context(audit))


@bp.get("/<int:audit_id>/report.pdf")
def report_pdf(audit_id: int):
    """The same report as a PDF rendered on the server, with its photos."""
    audit = get_audit(audit_id)
    html, images, keep = _report_pdf(audit)
    return HttpResponse(
        # A completed audit's report only changes if something it shows does: rendered once, then kept.
        render_pdf(html, images, keep if audit.is_completed else None),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{audit.number}.pdf"'},
    )


def _report_pdf(audit: Audit) -> Prepared:
    """The report's HTML for paper, its photos (read only when it is rendered) and the name it is kept under.
    The same for every reader who may see the audit (`can_reopen` is not asked of the reader, and the score
    trend, which lists the earlier audits the reader may see, is left to the report on screen)."""
    by_slot = photos.photos_by_slot(audit)
    html = render_template(
        "audits/report.html",
        layout="pdf_base.html",
        **_report_context(audit, by_slot, can_reopen=False, trend=[]),
    )
    shown = [p for ph in by_slot.values() for p in ph]
    urls = {p.id: url_for("photos.show", photo_id=p.id) for p in shown}

    def images() -> dict[str, bytes]:
        return {urls[photo_id]: data for photo_id, data in photos.stored_files(shown).items()}

    return html, images, Keep(f"audit-report-{audit.id}", {urls[p.id]: p.sha256 for p in shown})


def prepare_report_pdf(sender: object, audit: Audit, **_: object) -> None:
    """`audit_completed`: once the completion is committed, its report PDF is rendered in the background
    and kept, so the first download is served at once (web.pdf.prepare_pdf). Only for a completion made
    in a request (a script's process may end before it is done, and downloads render it anyway)."""
    if not has_request_context():
        return
    audit_id = audit.id

    def build() -> Prepared | None:
        completed = db.session.get(Audit, audit_id)
        return _report_pdf(completed) if completed is not None and completed.is_completed else None

    on_commit(lambda: prepare_pdf(build))


def _report_context(audit: Audit, photos_by_slot: dict | None = None, **overrides) -> dict:
    """What the report shows; answers and photos by slot, (item id, copy). `photos_by_slot` when the caller has
    read them already (the PDF embeds them), and `overrides` replace what they name."""
    audit_findings = findings.audit_findings(audit)
    slots = services.responses_by_slot(audit)
    copies = services.section_copies(audit)
    shown = services.progress(audit)
    asked = {slot: r for slot, r in slots.items() if slot not in shown.hidden}  # show-if: hidden items count nowhere
    context = {
        "audit": audit,
        "progress": shown,
        "responses": slots,
        # Repeating sections (issue 15): each copy listed under its name, its answers by (item, copy).
        "copies": copies,
        "places": {f.id: services.finding_place(f) for f in audit_findings if f.item_id},
        "deviations": recorded_deviations(audit, asked, audit_findings, copies),
        "findings": audit_findings,
        "raised": findings.raised_by(audit_findings),
        "observed": events.first_events(audit.id, "finding"),  # when each finding was made (offline: the device's time)
        "photos": photos.photos_by_slot(audit) if photos_by_slot is None else photos_by_slot,
        "qms_scope": current_scope(),
    }
    if "trend" not in overrides:  # scoring (issue 15): earlier audits this reader may see
        context["trend"] = services.score_trend(current_user, audit, own=shown)
    if "can_reopen" not in overrides:  # a PDF's report is the same for every reader, prepared without one
        context["can_reopen"] = audit.is_completed and (
            current_user.id == audit.lead_auditor_id or current_user.has_role(Role.QUALITY_LEAD)
        )
    return context | overrides


def recorded_deviations(
    audit: Audit,
    responses: dict[services.Slot, Response],
    audit_findings: list[Finding],
    copies: list[services.Copy],
) -> list[tuple[ChecklistItem, Response, str]]:
    """(item, answer, place) of each result the checklist records without a written finding, none written
    (issue 15, finding rules): the report lists them apart from findings; they raise no NC. `place` names
    the copy of a repeating section ("Station 2: "), or is empty."""
    version, written = audit.checklist_version, {(f.item_id, f.copy) for f in audit_findings}
    return [
        (item, r, services.slot_label(c))
        for c in copies
        for item in c.section.items
        if (r := responses.get((item.id, c.number)))
        and checklist_rules.recorded_deviation(version, r.result)
        and (item.id, c.number) not in written
    ]


# One item's routes (answer, note, finding, photos, history) live beside this module, on this blueprint.
from . import item_views  # noqa: E402, F401
