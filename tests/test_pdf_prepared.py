"""A completed audit's report PDF is rendered in the background once the completion is committed, through
the niced renderer process, so its first download is served as kept; a preparation that fails leaves the
download rendering on demand."""

import logging
import os
import signal
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from io import BytesIO

import pytest
from pypdf import PdfReader

from auditapp.audits import views as audit_views
from auditapp.extensions import db
from auditapp.web import pdf

from .support.accounts import log_in
from .support.audits import HX, answer, items_of
from .support.photos import jpeg, upload

WAIT = 180  # seconds: a bound on the background render (a renderer is spawned, WeasyPrint imported)


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def kept(audit) -> bytes | None:
    with db.engine.connect() as conn:  # what the background thread committed, not this session's snapshot
        return conn.scalar(db.select(pdf.KeptPdf.pdf).where(pdf.KeptPdf.name == f"audit-report-{audit.id}"))


def refuse(*args, **kwargs):
    raise AssertionError("rendered at the download")


@pytest.fixture
def preparing(app):
    app.config["PDF_PREPARE"] = True
    yield app
    assert pdf.wait_for_preparations(WAIT)  # nothing outlives the test


def audit_with_a_photo(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["7.1.5-gauges"]
    answer(client, audit, item, "minor_nc")
    finding = {"statement": "Gauge overdue", "evidence": "Label due 2026-10"}
    assert client.post(f"/audits/{audit.id}/items/{item.id}/finding", headers=HX, data=finding).status_code == 200
    assert upload(client, audit, item, ("gauge.jpg", jpeg(1200, 900))).status_code == 200
    return audit


def complete(client, audit, conclusion):
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": conclusion, "confirm_unanswered": "on"})
    assert done.status_code == 302, done.data


def test_completing_an_audit_prepares_its_report_pdf_for_the_first_download(
    preparing, client, plan, make_user, monkeypatch
):
    audit = audit_with_a_photo(client, plan, make_user)
    assert kept(audit) is None
    complete(client, audit, "Gauges need a recall list.")
    assert pdf.wait_for_preparations(WAIT)
    prepared = kept(audit)
    assert prepared is not None and "Gauges need a recall list." in text_of(prepared)

    monkeypatch.setattr(pdf, "_rendered", refuse)
    monkeypatch.setattr(audit_views.photos, "stored_files", refuse)
    first = client.get(f"/audits/{audit.id}/report.pdf")
    assert first.status_code == 200 and first.data == prepared
    images = [image for page in PdfReader(BytesIO(first.data)).pages for image in page.images]
    assert len({i.name for i in images}) == 1 and images[0].image.size == (900, 1200)  # read in the background

    # The report on paper is the same for every reader: the quality lead's first download is the kept one too.
    log_in(client, make_user("quality_lead"))
    assert client.get(f"/audits/{audit.id}/report.pdf").data == prepared


def test_beyond_the_preparations_a_process_runs_at_once_the_first_download_renders(preparing, client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    answer(client, audit, items_of(audit)["8.5.2-traceability"], "conform")
    taken = [pdf._preparing.acquire(blocking=False) for _ in range(pdf.PREPARING)]  # others under way
    try:
        assert all(taken)
        complete(client, audit, "Left to the download.")
        assert pdf.wait_for_preparations(WAIT) and kept(audit) is None
    finally:
        for _ in taken:
            pdf._preparing.release()
    response = client.get(f"/audits/{audit.id}/report.pdf")
    assert response.status_code == 200 and "Left to the download." in text_of(response.data)
    assert kept(audit) == response.data


def test_the_renderer_runs_at_a_lower_priority_than_the_worker(app):
    with app.test_request_context():
        child = pdf._renderer().submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=WAIT)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert child == min(mine + pdf.CHILD_NICE, 19)
    assert child > mine or mine == 19


def test_a_killed_renderer_fails_its_pdf_and_is_replaced_for_the_next(app):
    with app.test_request_context():
        child = pdf._renderer().submit(os.getpid).result(timeout=WAIT)
        os.kill(child, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            pdf.render_pdf("<p>lost</p>")
        assert pdf.render_pdf("<p>made</p>").startswith(b"%PDF")
        assert pdf._renderer().submit(os.getpid).result(timeout=WAIT) != child


def broken_store(monkeypatch):
    def down(*args, **kwargs):
        raise OSError("photo store unreachable")

    monkeypatch.setattr(audit_views.photos, "stored_files", down)


def dead_renderer(monkeypatch):
    class Dead:
        def submit(self, *args, **kwargs):
            future: Future[bytes] = Future()
            future.set_exception(BrokenProcessPool("the renderer was killed"))
            return future

    monkeypatch.setattr(pdf, "_renderer", Dead)


@pytest.mark.parametrize("failure", [broken_store, dead_renderer])
def test_a_failed_preparation_leaves_the_download_rendering_on_demand(
    preparing, client, plan, make_user, monkeypatch, caplog, failure
):
    audit = audit_with_a_photo(client, plan, make_user)
    with monkeypatch.context() as broken, caplog.at_level(logging.ERROR):
        failure(broken)
        complete(client, audit, "Rendered at the download.")
        assert pdf.wait_for_preparations(WAIT)
    assert "PDF not prepared in the background" in caplog.text
    assert kept(audit) is None

    response = client.get(f"/audits/{audit.id}/report.pdf")
    assert response.status_code == 200 and "Rendered at the download." in text_of(response.data)
    assert kept(audit) == response.data
