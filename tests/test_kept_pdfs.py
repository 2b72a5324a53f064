"""A completed audit's report PDF is rendered once and kept; anything the report shows that changes makes
a new one; an audit still open is rendered on every download (it changes with every answer)."""

from io import BytesIO

import pytest
from pypdf import PdfReader

from auditapp.audits import views as audit_views
from auditapp.extensions import db
from auditapp.web import pdf

from .support.accounts import log_in
from .support.audits import answer, items_of


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def kept_names() -> list[str]:
    return list(db.session.scalars(db.select(pdf.KeptPdf.name)))


@pytest.fixture
def no_renderer(monkeypatch):
    """After this, rendering a PDF or reading its photos fails the request."""

    def refuse(*args, **kwargs):
        raise AssertionError("rendered again")

    def switch_off():
        monkeypatch.setattr(pdf, "_rendered", refuse)
        monkeypatch.setattr(audit_views.photos, "stored_files", refuse)

    return switch_off


def complete(client, audit, conclusion="Done."):
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": conclusion, "confirm_unanswered": "on"})
    assert done.status_code == 302, done.data


def test_a_completed_report_is_rendered_once_then_served_as_kept(client, plan, make_user, no_renderer):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    answer(client, audit, items_of(audit)["8.5.2-traceability"], "conform")
    complete(client, audit, "Traceability is sound.")

    first = client.get(f"/audits/{audit.id}/report.pdf")
    assert first.status_code == 200 and "Traceability is sound." in text_of(first.data)
    assert kept_names() == [f"audit-report-{audit.id}"]

    no_renderer()
    again = client.get(f"/audits/{audit.id}/report.pdf")
    assert again.status_code == 200 and again.data == first.data


def test_a_reopened_and_recompleted_audit_gets_a_new_pdf(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    answer(client, audit, item, "conform")
    complete(client, audit, "First conclusion.")
    assert "First conclusion." in text_of(client.get(f"/audits/{audit.id}/report.pdf").data)

    assert (
        client.post(f"/audits/{audit.id}/reopen", data={"reason": "Evidence for 8.5.2 was missed"}).status_code == 302
    )
    answer(client, audit, item, "na")
    complete(client, audit, "Second conclusion.")
    text = text_of(client.get(f"/audits/{audit.id}/report.pdf").data)
    assert "Second conclusion." in text and "First conclusion." not in text
    assert kept_names() == [f"audit-report-{audit.id}"]  # one PDF per report, replaced


def test_an_open_audit_is_rendered_on_every_download_and_never_kept(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    answer(client, audit, item, "conform")
    assert "Conform" in text_of(client.get(f"/audits/{audit.id}/report.pdf").data)
    answer(client, audit, item, "observation")
    assert "Observation" in text_of(client.get(f"/audits/{audit.id}/report.pdf").data)
    assert kept_names() == []


def test_only_the_newest_pdfs_are_kept(app, monkeypatch):
    monkeypatch.setattr(pdf, "KEPT_PDFS", 3)
    with app.test_request_context():
        for n in range(5):
            pdf._keep(f"audit-report-{n}", "k" * 64, b"%PDF " + bytes([n]))
        assert sorted(kept_names()) == ["audit-report-2", "audit-report-3", "audit-report-4"]


def test_the_key_changes_with_what_the_pdf_is_made_of(app):
    with app.test_request_context():
        base = pdf.content_key("<p>x</p>", {"/photos/1": "a1"})
        assert pdf.content_key("<p>x</p>", {"/photos/1": "a1"}) == base
        assert pdf.content_key("<p>y</p>", {"/photos/1": "a1"}) != base
        assert pdf.content_key("<p>x</p>", {"/photos/1": "b2"}) != base
        assert pdf.content_key("<p>x</p>", {"/photos/2": "a1"}) != base
        assert pdf.content_key("<p>x</p>", {}) != base
