"""The checklist library: what is imported, what is wrong on disk, previews and comparisons."""

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.models import Role
from ..core.errors import NotAllowed, RuleError
from ..core.sheets import MAX_FILE_BYTES
from ..core.tabular import MIMETYPES
from ..extensions import db
from ..web.security import roles_required
from . import answers, services, spreadsheet, standards
from .models import RESULT_LABELS

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
        result_labels={**RESULT_LABELS, answers.RECORDED: answers.RECORDED_LABEL},
        all_results=answers.ANSWER_RESULTS,
        answer_described=answers.described,  # answer types (issue 15)
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


# --- checklists from and to Excel (spreadsheet.py) ----------------------------------------------

# The checklist fields a CSV upload takes from the form beside it (an XLSX has its Checklist sheet).
SHEET_DETAILS = ("id", "title", "version", "standards", "description")


@bp.get("/excel")
def excel():
    """The template, the upload and the columns: a checklist from a spreadsheet."""
    return _excel_page()


@bp.get("/excel/template.xlsx")
def excel_template():
    """The empty workbook to fill in: Checklist, Items and Help sheets."""
    return _download(spreadsheet.checklist_workbook(None), "checklist-template.xlsx")


@bp.post("/excel")
def excel_upload():
    """Read an uploaded XLSX or CSV: show the YAML it becomes and every problem at its cell. Imports nothing."""
    _may_import_or_403()
    details = {key: request.form.get(key, "") for key in SHEET_DETAILS}
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _excel_page(error="Choose an .xlsx or .csv file to upload.", details=details), 422
    data = upload.stream.read(MAX_FILE_BYTES + 1)
    upload.close()  # a large upload is a temporary file
    try:
        result = spreadsheet.read_checklist_upload(data, upload.filename, details)
    except RuleError as err:
        return _excel_page(error=f"{upload.filename}: {err.message}", details=details), err.status
    refusal = spreadsheet.publish_problem(result)
    if refusal is not None:
        result.problems.append(refusal)
    checklist = services.get_checklist(result.data["id"]) if result.data else None
    latest = checklist.latest if checklist else None
    return _excel_page(result=result, details=details, latest=latest), 200 if not result.problems else 422


@bp.post("/excel/publish")
def excel_publish():
    """Publish the YAML an upload became, through the same import as every checklist file."""
    _may_import_or_403()
    try:
        text = spreadsheet.unpack_yaml(request.form["yaml_z"]) if "yaml_z" in request.form else request.form["yaml"]
    except KeyError:
        return _excel_page(error="Nothing to publish: upload the file again."), 422
    except RuleError as err:
        return _excel_page(error=err.message), err.status
    source = (request.form.get("source") or "spreadsheet")[:200]
    version, problems = services.publish_text(text, current_user, f"upload: {source}")
    if version is None:
        db.session.rollback()
        return _excel_page(error="Not published: " + "; ".join(p.message for p in problems)), 422
    db.session.commit()
    flash(f"Published {version.title}, version {version.number} ({len(version.items)} items).", "success")
    return redirect(url_for("checklists.show", key=version.checklist.key, number=version.number))


@bp.get("/<key>/v<int:number>.xlsx")
def export_xlsx(key: str, number: int):
    """A version as the same workbook the template is: edit it and upload it as the next version."""
    version = _version_or_404(key, number)
    return _download(spreadsheet.checklist_workbook(spreadsheet.version_data(version)), f"{key}-v{number}.xlsx")


@bp.get("/<key>/v<int:number>.csv")
def export_csv(key: str, number: int):
    """A version's items as CSV (same columns as the Items sheet)."""
    version = _version_or_404(key, number)
    text = spreadsheet.items_csv(spreadsheet.version_data(version))
    return Response(
        text,
        mimetype=MIMETYPES["csv"],
        headers={"Content-Disposition": f'attachment; filename="{key}-v{number}.csv"'},
    )


def _may_import_or_403() -> None:
    if not spreadsheet.may_import(current_user):
        raise NotAllowed("Only a quality lead or an administrator can import checklists.")


def _download(data: bytes, filename: str) -> Response:
    return Response(
        data, mimetype=MIMETYPES["xlsx"], headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _excel_page(result=None, error=None, details=None, latest=None):
    return render_template(
        "checklists/excel.html",
        result=result,
        error=error,
        form=details or {},
        latest=latest,
        can_import=spreadsheet.may_import(current_user),
        columns=spreadsheet.ITEM_COLUMNS,
        fields=spreadsheet.CHECKLIST_FIELDS,
        max_mb=MAX_FILE_BYTES // (1024 * 1024),
        pack_yaml=spreadsheet.pack_yaml,
    )
