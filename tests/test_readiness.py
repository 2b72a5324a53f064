"""Certification readiness: clause coverage and the readiness checklist, checked against data
built in the test (not against themselves)."""

from datetime import date, timedelta

import flask_migrate
import pytest
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text

from auditapp.capa import services as capa
from auditapp.checklists.clauses import AUDITABLE_CLAUSES, auditable_clause_of
from auditapp.core.timeutil import utcnow
from auditapp.extensions import db
from auditapp.reports import coverage
from auditapp.reports.services import clause_coverage
from auditapp.scope.models import QmsScope

from .support.accounts import log_in
from .support.audits import answer, items_of
from .support.capa import raise_nc
from .support.coverage import old_clause_coverage
from .support.findings import NC_TEXT, post_finding

SUMMARY_REVISION = "0015"  # the migration that made and filled the coverage map's summary


def completed_walk(client, plan, make_user, results: dict[str, str], days_ago: int = 0):
    """A completed walk audit with the given results (key -> result); other items not audited."""
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    items = items_of(audit)
    for key, result in results.items():
        answer(client, audit, items[key], result)
        if result in ("minor_nc", "major_nc"):
            post_finding(client, audit, items[key], {**NC_TEXT, "why_major": "Systemic"})
    assert (
        client.post(
            f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"}
        ).status_code
        == 302
    )
    client.post("/logout")
    if days_ago:
        # Backdate through the one allowed path: reopen, set the date, complete again.
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audits SET status='in_progress', completed_at=NULL WHERE id=:i"), {"i": audit.id})
            conn.execute(
                text("UPDATE audits SET completed_at=:t, status='completed' WHERE id=:i"),
                {"i": audit.id, "t": utcnow() - timedelta(days=days_ago)},
            )
        coverage.rebuild_all()  # the map's summary follows the app's changes, not SQL behind its back
        db.session.commit()
    return audit


def coverage_of(client):
    html = client.get("/reports/coverage").get_data(as_text=True)
    rows = {}
    for code, _ in AUDITABLE_CLAUSES:
        block = html.split(f'id="clause-{code}"')[0].rsplit('<li class="cov cov-', 1)[1]
        rows[code] = block.split('"', 1)[0]
    return html, rows


def test_flask_coverage_rebuild_brings_the_map_back_after_sql_behind_the_apps_back(client, plan, make_user, runner):
    audit = completed_walk(client, plan, make_user, {"7.2-training": "conform"})
    log_in(client, make_user("quality_lead"))
    assert coverage_of(client)[1]["7.2"] == "conform"
    with db.engine.begin() as conn:  # moved out of the 12-month cycle by SQL: the kept summary does not see it
        conn.execute(text("UPDATE audits SET status='in_progress', completed_at=NULL WHERE id=:i"), {"i": audit.id})
        conn.execute(
            text("UPDATE audits SET completed_at=:t, status='completed' WHERE id=:i"),
            {"i": audit.id, "t": utcnow() - timedelta(days=400)},
        )
    assert coverage_of(client)[1]["7.2"] == "conform"  # stale, as the README says
    result = runner.invoke(args=["coverage", "rebuild"])
    assert result.exit_code == 0 and "rebuilt" in result.output
    assert coverage_of(client)[1]["7.2"] == "not_audited"


def test_clause_mapping():
    assert auditable_clause_of("8.5.2") == "8.5.2" and auditable_clause_of("9.2.2") == "9.2"
    assert auditable_clause_of("7.1.5.1") == "7.1.5" and auditable_clause_of("4.4.1") == "4.4"
    assert auditable_clause_of("11.1") is None and len(AUDITABLE_CLAUSES) == 54


def test_coverage_counts_completed_audits_of_the_last_12_months(client, plan, make_user):
    completed_walk(
        client, plan, make_user, {"7.1.5-gauges": "conform", "8.5.2-traceability": "minor_nc", "8.7-segregation": "na"}
    )
    completed_walk(client, plan, make_user, {"7.2-training": "conform"}, days_ago=400)  # outside the cycle
    open_audit = plan()  # in progress: does not count yet
    log_in(client, open_audit.lead_auditor)
    answer(client, open_audit, items_of(open_audit)["8.5.4-storage"], "conform")
    client.post("/logout")
    log_in(client, make_user("quality_lead"))
    html, rows = coverage_of(client)
    assert rows["7.1.5"] == "conform" and rows["8.5.2"] == "minor_nc"
    assert rows["8.7"] == "not_audited"  # N/A is not audited
    assert rows["7.2"] == "not_audited"  # 400 days ago
    assert rows["8.5.4"] == "not_audited"  # audit not completed
    assert 'id="coverage-count">2 of 54<' in html
    assert "AUD-" in html.split('id="clause-8.5.2"')[1].split("</li>")[0]


def test_the_map_from_its_summary_equals_the_map_from_every_record(client, plan, make_user):
    """Audits inside whole months, in the month the window cuts, outside it, reopened, not completed,
    and a gap analysis: the summary kept on completion gives the figures the old full count gave."""
    for days_ago, results in [
        (0, {"8.5.2-traceability": "minor_nc", "7.2-training": "conform"}),
        (3, {"7.1.5-gauges": "conform", "8.5.2-traceability": "conform"}),
        (40, {"8.7-segregation": "major_nc", "8.5.4-storage": "na"}),
        (200, {"8.5.4-storage": "conform"}),
        (350, {"8.5.2-traceability": "minor_nc"}),
        (362, {"7.2-training": "conform"}),
        (380, {"8.7-segregation": "conform"}),
    ]:
        completed_walk(client, plan, make_user, results, days_ago=days_ago)
    lead = make_user("auditor")
    still_open = plan(lead=lead)
    log_in(client, lead)
    answer(client, still_open, items_of(still_open)["8.5.4-storage"], "conform")
    client.post("/logout")
    now = utcnow()
    for moment in (now, now - timedelta(days=20), now - timedelta(days=55), now + timedelta(days=17)):
        assert clause_coverage(moment) == old_clause_coverage(moment)
    assert sum(c.answered for c in clause_coverage(now)) == 8  # not vacuous: six audits in the window


def test_the_summary_follows_completion_and_reopening(client, plan, make_user):
    """No rebuild: the receivers alone keep the map equal to the full count."""
    audit = completed_walk(client, plan, make_user, {"8.5.2-traceability": "minor_nc", "7.2-training": "conform"})
    counted = clause_coverage(utcnow())
    assert counted == old_clause_coverage(utcnow()) and sum(c.answered for c in counted) == 2
    quality = make_user("quality_lead")
    log_in(client, quality)
    assert client.post(f"/audits/{audit.id}/reopen", data={"reason": "Missed 8.7"}).status_code == 302
    reopened = clause_coverage(utcnow())
    assert reopened == old_clause_coverage(utcnow()) and sum(c.answered for c in reopened) == 0
    client.post("/logout")
    log_in(client, audit.lead_auditor)
    answer(client, audit, items_of(audit)["8.7-segregation"], "conform")
    client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"})
    again = clause_coverage(utcnow())
    assert again == old_clause_coverage(utcnow()) and sum(c.answered for c in again) == 3


def test_the_upgrade_fills_the_summary_from_audits_completed_before_it(client, plan, make_user):

    completed_walk(client, plan, make_user, {"8.5.2-traceability": "minor_nc", "7.2-training": "conform"})
    completed_walk(client, plan, make_user, {"8.7-segregation": "conform"}, days_ago=200)
    completed_walk(client, plan, make_user, {"7.2-training": "conform"}, days_ago=380)
    db.session.remove()
    config = current_app.extensions["migrate"].migrate.get_config()
    before = ScriptDirectory.from_config(config).get_revision(SUMMARY_REVISION).down_revision
    flask_migrate.downgrade(revision=before)  # as before the summary existed
    flask_migrate.upgrade()
    db.session.remove()
    mapped = clause_coverage(utcnow())
    assert mapped == old_clause_coverage(utcnow()) and sum(c.answered for c in mapped) == 3


def test_readiness_lines_follow_the_records(client, plan, make_user):
    quality = make_user("quality_lead")
    log_in(client, quality)
    html = client.get("/reports/readiness").get_data(as_text=True)
    assert "54 not audited" in html
    assert html.count("ready-ok") == 2  # no NCs yet: both NC lines are green
    major = raise_nc(quality, severity="major")
    minor = raise_nc(quality, severity="minor")
    html = client.get("/reports/readiness").get_data(as_text=True)
    assert "1 open" in html and "1 without planned actions" in html and html.count("ready-ok") == 0
    capa.record_containment(quality, minor, "Held")
    capa.identify_cause(quality, minor, ["Why"], "method")
    capa.add_action(quality, minor, "Fix", quality.id, date.today())
    capa.withdraw(quality, major, "Raised in error")
    db.session.commit()
    html = client.get("/reports/readiness").get_data(as_text=True)
    assert "none open" in html and "all planned" in html and html.count("ready-ok") == 2


@pytest.mark.parametrize("role", ["auditor", "supervisor"])
def test_readiness_pages_are_for_quality_leads(client, make_user, role):
    log_in(client, make_user(role))
    assert client.get("/reports/coverage").status_code == 403
    assert client.get("/reports/readiness").status_code == 403


SCOPE = {
    "activities": "Machining and assembly of centrifugal pumps",
    "sites": "Plant 1, Industrieweg 4",
    "products_services": "Pumps up to 90 kW; repair service",
    "exclusions": "8.3 design: pumps are built to customer drawings",
    "change_note": "",
}


def test_scope_is_kept_with_every_revision_and_shown_on_reports(client, plan, make_user):
    quality = make_user("quality_lead")
    log_in(client, quality)
    assert b"No scope stated yet." in client.get("/reports/scope").data
    bad = client.post("/reports/scope", data={**SCOPE, "sites": ""})
    assert bad.status_code == 422 and b"Fill this in" in bad.data and b"Machining and assembly" in bad.data
    assert client.post("/reports/scope", data=SCOPE).status_code == 302
    assert (
        client.post(
            "/reports/scope", data={**SCOPE, "sites": "Plants 1 and 2", "change_note": "Plant 2 joins"}
        ).status_code
        == 302
    )
    page = client.get("/reports/scope").get_data(as_text=True)
    assert "Revision 2" in page and "Plants 1 and 2" in page and "Revision 1 · " in page
    first = db.session.scalar(db.select(QmsScope).filter_by(revision=1))
    assert first.sites == "Plant 1, Industrieweg 4"  # the earlier revision stays as it was
    assert "revision 2" in client.get("/reports/readiness").get_data(as_text=True)
    audit = plan()
    assert "Revision 2: Machining and assembly" in client.get(f"/audits/{audit.id}/report").get_data(as_text=True)


def test_only_quality_leads_revise_the_scope(client, make_user):
    log_in(client, make_user("admin"))
    assert client.get("/reports/scope").status_code == 200
    assert client.post("/reports/scope", data=SCOPE).status_code == 403


def test_audit_results_and_findings_export_for_a_period(client, plan, make_user):
    import csv
    import io

    from openpyxl import load_workbook

    audit = completed_walk(client, plan, make_user, {"7.1.5-gauges": "conform", "8.5.2-traceability": "minor_nc"})
    completed_walk(client, plan, make_user, {"7.2-training": "conform"}, days_ago=400)
    log_in(client, make_user("quality_lead"))
    rows = list(csv.reader(io.StringIO(client.get("/reports/audit-results.csv").get_data(as_text=True))))
    assert rows[0][:3] == ["Audit", "Title", "Area"]
    answered = {(r[0], r[7], r[9]) for r in rows[1:]}
    assert (audit.number, "7.1.5-gauges", "Conform") in answered
    assert (audit.number, "8.5.2-traceability", "Minor NC") in answered
    assert (audit.number, "7.2-training", "Not audited") in answered
    assert len({r[0] for r in rows[1:]}) == 1  # the audit from 400 days ago is outside the default period
    old = list(
        csv.reader(
            io.StringIO(
                client.get(
                    f"/reports/audit-results.csv?since={(date.today() - timedelta(days=800)).isoformat()}"
                ).get_data(as_text=True)
            )
        )
    )
    assert len({r[0] for r in old[1:]}) == 2
    book = load_workbook(io.BytesIO(client.get("/reports/audit-results.xlsx?kind=findings").data), read_only=True)
    findings = list(book.active.iter_rows(values_only=True))
    assert findings[0][0] == "Audit" and [(f[3], f[4], f[6]) for f in findings[1:]] == [
        ("8.5.2", "Minor NC", NC_TEXT["statement"])
    ]
    book.close()
