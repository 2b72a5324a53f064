"""The checklist library: what is imported, what is wrong on disk, previews and comparisons."""

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.models import Role
from ..web.security import roles_required
from . import services, standards
from .models import RESULT_LABELS, Result

bp = Blueprint("checklists", __name__)


@bp.get("/")
def index():
    """Every checklist with its versions, and the state of each file in the checklist folder."""
    files = services.folder_status(Path(current_app.config["CHECKLIST_DIR"]))
    return render_template(
        "checklists/index.html",
        checklists=services.all_checklists(),
        files=files,
        can_sync=current_user.has_role(Role.QUALITY_LEAD, Role.ADMIN),
        can_author=current_user.can_author_checklists,
    )


@bp.post("/sync")
@roles_required(Role.QUALITY_LEAD, Role.ADMIN)
def sync():
    """Import changed files as new versions; invalid files are reported and skipped."""
    report = services.sync_directory(Path(current_app.config["CHECKLIST_DIR"]), current_user)
    for version in report.imported:
        flash(f"Imported {version.title}, version {version.number} ({len(version.items)} items).", "success")
    if report.skipped_files:
        flash(f"Not imported, see the problems below: {', '.join(report.skipped_files)}.", "error")
    if not report.imported and not report.skipped_files:
        flash("Every checklist is up to date; nothing to import.", "info")
    return redirect(url_for("checklists.index"))


@bp.get("/<key>/v<int:number>")
def show(key: str, number: int):
    """A version as an auditor will see it on the audit screen."""
    version = _version_or_404(key, number)
    services.load_clause_links(version)
    return render_template(
        "checklists/show.html",
        version=version,
        result_labels=RESULT_LABELS,
        all_results=[r.value for r in Result],
        standard_names={s.key: s.name for s in standards.all_standards()},
    )


@bp.get("/<key>/v<int:number>/source")
def source(key: str, number: int):
    """The exact YAML a version was imported from or published with, comments included, as a file to save
    (named as the checklist folder wants it: `<id>.yaml`)."""
    version = _version_or_404(key, number)
    return (
        version.source_text.encode("utf-8"),
        200,
        {
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{key}.yaml"',
        },
    )


@bp.get("/<key>/compare")
def compare(key: str):
    """What changed between two versions: items added, removed, renamed, reworded."""
    checklist = services.get_checklist(key) or abort(404)
    numbers = [v.number for v in checklist.versions]
    if len(numbers) < 2:
        return render_template("checklists/compare.html", checklist=checklist, diff=None, numbers=numbers)
    older = request.args.get("from", type=int, default=numbers[-2])
    newer = request.args.get("to", type=int, default=numbers[-1])
    if older not in numbers or newer not in numbers:
        abort(404, description=f"{checklist.key} has versions {', '.join(map(str, numbers))} only.")
    if older >= newer:
        older, newer = min(older, newer), max(older, newer)
    diff = (
        services.compare_versions(
            services.get_version(key, older) or abort(404), services.get_version(key, newer) or abort(404)
        )
        if older != newer
        else None
    )
    return render_template(
        "checklists/compare.html", checklist=checklist, diff=diff, numbers=numbers, older=older, newer=newer
    )


def _version_or_404(key: str, number: int):
    return services.get_version(key, number) or abort(404)
