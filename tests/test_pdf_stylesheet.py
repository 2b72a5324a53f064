"""The PDFs (audit report, management review pack) link only the print stylesheet, never app.css:
WeasyPrint's cascade of the screen stylesheet was the largest cost of a report PDF that was not layout."""

import io
import re
from pathlib import Path

from pypdf import PdfReader

from auditapp.audits import views as audit_views
from auditapp.review import views as review_views

from .support.accounts import log_in
from .support.audits import answer, items_of

STATIC = Path(__file__).resolve().parent.parent / "static"


def stylesheets(html: str) -> list[str]:
    return re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html)


def test_report_and_pack_pdfs_link_only_the_print_stylesheet(client, plan, make_user, monkeypatch):
    rendered: list[str] = []

    def keep(html, images=None, keep=None):
        rendered.append(html)
        return b"%PDF-1.7"

    monkeypatch.setattr(audit_views, "render_pdf", keep)
    monkeypatch.setattr(review_views, "render_pdf", keep)
    quality = make_user("quality_lead")
    audit = plan(lead=quality)
    log_in(client, quality)
    assert client.get(f"/audits/{audit.id}/report.pdf").status_code == 200
    created = client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-03-31"})
    assert client.get(created.headers["Location"] + ".pdf").status_code == 200

    assert len(rendered) == 2
    for html in rendered:
        assert stylesheets(html) == ["/static/css/pdf.css"], stylesheets(html)
    # The screen page itself keeps the screen stylesheet (and the browser's print of it, its @media print).
    page = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert any("/static/css/app.css" in href for href in stylesheets(page))
    # The print stylesheet stands alone: it carries the rules the reports need (fixed Result/Clause
    # columns, photo size, chart size, the page counter) and imports nothing.
    css = (STATIC / "css" / "pdf.css").read_text()
    for rule in (
        ".results-table th:first-child",
        ".results-table th:last-child",
        ".report-photos img",
        ".chart",
        "@page",
    ):
        assert rule in css, rule
    assert "@import" not in css


def test_the_report_pdf_keeps_the_result_words_whole(client, plan, make_user):
    """D17: the PDF's Result column was too narrow ("Resul/t", "Confo/rm", "Not audite/d")."""
    quality = make_user("quality_lead")
    audit = plan(lead=quality)
    log_in(client, quality)
    first, second, third = list(items_of(audit).values())[:3]
    for item, result in ((first, "observation"), (second, "conform"), (third, "na")):
        assert answer(client, audit, item, result).status_code == 200
    pdf = client.get(f"/audits/{audit.id}/report.pdf")
    assert pdf.status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for word in ("Result", "Observation", "Conform", "N/A", "Unanswered"):
        assert re.search(rf"(^|\s){re.escape(word)}($|\s)", text, re.M), word
        broken = [word[:k] + "\n" + word[k:] for k in range(1, len(word))]
        assert not [b for b in broken if b in text], word  # no word broken over two lines of its cell
