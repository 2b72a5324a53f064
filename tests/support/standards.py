"""Checklists of several standards, or none, audited to completion; the coverage page as a quality lead reads it."""

from datetime import date
from pathlib import Path

from werkzeug.datastructures import MultiDict

from auditapp.audits import services as audits
from auditapp.checklists import services as checklists
from auditapp.extensions import db

from .accounts import log_in
from .audits import HX, answer, items_of
from .findings import NC_TEXT, post_finding

SHIPPED_CHECKLISTS = Path(__file__).resolve().parents[2] / "checklists"

ISMS = """\
id: isms
title: Information security controls
version: 1
description: Another scheme's controls; this checklist declares no standard the app knows.
sections:
  - title: Organisational controls
    items:
      - id: a5-1
        reference: "A.5.1"
        question: Are information security policies approved and communicated?
      - id: a5-9
        reference: "A.5.9"
        question: Is there an inventory of information and other assets?
  - title: Management system
    items:
      - id: c6-1-2
        clause: "6.1.2"
        question: Is the information security risk assessment process defined?
      - id: c9-2
        clause: "9.2"
        question: Are internal audits of the information security system held?
      - id: c10-2
        clause: "10.2"
        question: Are nonconformities of the information security system corrected?
"""


INTEGRATED = """\
id: integrated
title: Integrated management system audit
version: 1
standards: [ISO 9001:2015, ISO 14001:2015, ISO 45001:2018]
sections:
  - title: Documented information
    items:
      - id: doc-control
        reference: "DOC-1"
        question: Are documents approved before use and kept current?
        clauses:
          ISO 9001:2015: ["7.5.2", "7.5.3"]
          ISO 14001:2015: ["7.5.2", "7.5.3"]
          ISO 45001:2018: ["7.5.3"]
      - id: emergency
        reference: "EM-1"
        question: Are emergencies planned for and drilled?
        clauses:
          ISO 14001:2015: "8.2"
          ISO 45001:2018: ["8.2"]
"""

# An ISO 9001 checklist written on second-level clauses (7.1, 8.5, 9.1), as real ones often are.
SECOND_LEVEL = """\
id: second-level
title: ISO 9001 audit on second-level clauses
version: 1
standard: ISO 9001:2015
sections:
  - clause: "7"
    title: Support
    items:
      - id: resources
        clause: "7.1"
        question: Are the resources the system needs provided?
      - id: gauges
        clause: "7.1.5"
        question: Are gauges calibrated?
  - clause: "8"
    title: Operation
    items:
      - id: production
        clause: "8.5"
        question: Is production carried out under controlled conditions?
      - id: production-records
        clause: "8.5"
        question: Are production records complete?
      - id: traceability
        clause: "8.5.2"
        question: Are parts traceable?
  - clause: "9"
    title: Performance evaluation
    items:
      - id: monitoring
        clause: "9.1"
        question: Is what must be monitored decided and monitored?
"""


def audited_checklist(
    client, app, make_user, text: str, results: dict[str, str] | None = None, values: dict[str, list[str]] | None = None
):
    """Import a checklist, audit it (every item conform unless `results` says; an item of another answer type
    with what `values` gives it), complete the audit."""
    folder = Path(app.config["CHECKLIST_DIR"])
    key = text.split("id: ", 1)[1].split("\n", 1)[0]
    (folder / f"{key}.yaml").write_text(text, encoding="utf-8")
    report = checklists.sync_directory(folder)
    assert not report.problems, report.problems
    lead = make_user("auditor")
    audit = audits.plan_audit(
        make_user("quality_lead"),
        checklist_id=checklists.get_checklist(key).id,
        title=f"Audit of {key}",
        planned_date=date.today(),
        lead_auditor_id=lead.id,
    )
    db.session.commit()
    log_in(client, lead)
    for item_key, item in items_of(audit).items():
        if item_key in (values or {}):
            typed = [("base_revision", "0"), *(("value", v) for v in (values or {})[item_key])]
            url = f"/audits/{audit.id}/items/{item.id}/answer"
            assert client.post(url, data=MultiDict(typed), headers=HX).status_code == 200
            continue
        result = (results or {}).get(item_key, "conform")
        assert answer(client, audit, item, result).status_code == 200
        if result in ("minor_nc", "major_nc"):
            post_finding(client, audit, item, {**NC_TEXT, "why_major": "Systemic"})
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"})
    assert done.status_code == 302, done.get_data(as_text=True)
    client.post("/logout")
    return audit


def coverage_page(client, make_user, standard: str | None = None) -> str:
    log_in(client, make_user("quality_lead"))
    url = "/reports/coverage" + (f"?standard={standard}" if standard else "")
    response = client.get(url)
    assert response.status_code == 200
    client.post("/logout")
    return response.get_data(as_text=True)


def verdict(html: str, clause: str) -> str:
    return html.split(f'id="clause-{clause}"')[0].rsplit('<li class="cov cov-', 1)[1].split('"', 1)[0]
