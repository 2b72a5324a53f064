"""Management review: every figure of the pack checked against records built here, the meeting
record, decisions that become tracked actions, the next pack listing their status, and the PDF."""

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from auditapp.capa import services as capa
from auditapp.capa.models import CorrectiveAction
from auditapp.core.timeutil import utcnow
from auditapp.extensions import db
from auditapp.review import charts
from auditapp.review import services as review_services
from auditapp.review.models import ManagementReview
from auditapp.review.pack import build_pack, clause_group, months_between

from .support.accounts import log_in, make_area
from .support.audits import answer, items_of
from .support.capa import close_nc, raise_nc
from .support.findings import NC_TEXT, post_finding

TODAY = date.today()


def backdate_nc(nc, days: int) -> None:
    """Raised `days` ago (allowed while the nonconformity is open)."""
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE nonconformities SET raised_at=:t WHERE id=:i"),
            {"i": nc.id, "t": utcnow() - timedelta(days=days)},
        )
    db.session.expire_all()


def audited(client, plan, make_user, area, results: dict, planned: date):
    """An audit of the walk in `area`, answered with `results` (key -> result) and completed now."""
    lead = make_user("auditor")
    audit = plan(lead=lead, area=area, planned=planned)
    log_in(client, lead)
    items = items_of(audit)
    for key, result in results.items():
        assert answer(client, audit, items[key], result).status_code == 200
        if result != "conform":
            post_finding(client, audit, items[key], {**NC_TEXT, "why_major": "Systemic"})
    assert (
        client.post(
            f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"}
        ).status_code
        == 302
    )
    client.post("/logout")
    return audit


def figure(html: str, name: str) -> str:
    return re.search(rf'id="fig-{name}">([^<]*)<', html).group(1)


@pytest.fixture
def records(client, plan, make_user):
    """A quarter's worth of records with known figures (see the assertions)."""
    quality, verifier, supervisor = make_user("quality_lead"), make_user("quality_lead"), make_user("supervisor")
    assembly, paint = make_area("Assembly", supervisor), make_area("Paint shop")
    # Audits: three planned in the period (one completed, one overdue, one still to come), one completed
    # long before the period (its findings must not count).
    audited(
        client,
        plan,
        make_user,
        assembly,
        {
            "8.5.4-storage": "major_nc",
            "8.5.2-traceability": "minor_nc",
            "8.7-segregation": "observation",
            "7.2-training": "ofi",
            "7.1.5-gauges": "conform",
        },
        planned=TODAY - timedelta(days=20),
    )
    plan(area=paint, planned=TODAY - timedelta(days=5))  # overdue
    plan(area=paint, planned=TODAY + timedelta(days=5))  # upcoming, still inside the period
    old = audited(
        client, plan, make_user, paint, {"8.5.2-traceability": "minor_nc"}, planned=TODAY - timedelta(days=300)
    )
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audits SET status='in_progress', completed_at=NULL WHERE id=:i"), {"i": old.id})
        conn.execute(
            text("UPDATE audits SET completed_at=:t, status='completed' WHERE id=:i"),
            {"i": old.id, "t": utcnow() - timedelta(days=300)},
        )
        conn.execute(
            text("UPDATE nonconformities SET raised_at=:t WHERE audit_id=:i"),
            {"i": old.id, "t": utcnow() - timedelta(days=300)},
        )
    # Nonconformities raised by hand: three closed (10, 20 and 40 days to close; one needed a second
    # round), one open with an overdue action, one withdrawn (never counted).
    for days, first_time in ((10, True), (20, False), (40, True)):
        nc = raise_nc(quality, assembly, clause="8.5.1")
        backdate_nc(nc, days)
        close_nc(quality, verifier, nc, supervisor, first_time)
    late = raise_nc(quality, paint, severity="major", clause="9.1.2")
    capa.record_containment(quality, late, "Held the batch")
    capa.identify_cause(quality, late, ["No survey planned"], "method")
    capa.add_action(quality, late, "Plan the survey", supervisor.id, TODAY - timedelta(days=3))
    capa.add_action(quality, late, "Train the team", supervisor.id, TODAY - timedelta(days=45))
    withdrawn = raise_nc(quality, paint, clause="8.5.1")
    capa.withdraw(quality, withdrawn, "Raised twice")
    db.session.commit()
    return {"quality": quality, "verifier": verifier, "supervisor": supervisor, "assembly": assembly}


def test_pack_figures_match_the_records_built(client, records):
    log_in(client, records["quality"])
    start = TODAY - timedelta(days=90)
    response = client.post(
        "/reviews/", data={"period_start": start.isoformat(), "period_end": (TODAY + timedelta(days=10)).isoformat()}
    )
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    # Audit results (9.3.2 c 6)
    assert figure(html, "audits-planned") == "3"
    assert figure(html, "audits-planned-completed") == "1"
    assert figure(html, "audits-overdue") == "1"
    assert figure(html, "audits-completed") == "1"
    assert [figure(html, f"result-{g}") for g in ("minor_nc", "major_nc", "observation", "ofi")] == ["1", "1", "1", "1"]
    # Nonconformities: 2 from the audit + 3 closed + 1 late (the withdrawn one and the old audit's do not count)
    assert figure(html, "nc-opened") == "6"
    assert figure(html, "nc-closed") == "3"
    assert figure(html, "nc-open") == "4"  # 2 from the audit, the late one, and the old audit's
    assert figure(html, "nc-overdue") == "1"
    assert figure(html, "nc-mean") == "23.3"  # (10 + 20 + 40) / 3
    assert figure(html, "nc-p90") == "40.0"  # nearest rank: the 3rd of 3
    assert figure(html, "nc-first") == "67%"  # 2 of 3 effective at the first check
    assert "Clause 8.5: 5 nonconformities" in html  # 8.5.4 and 8.5.2 from the audit + three 8.5.1
    assert "Assembly: 5 nonconformities" in html
    # Opportunities for improvement (9.3.2 f) from the register
    assert figure(html, "ofi") == "1" and figure(html, "observation") == "1"
    # Charts are server-side SVG with the numbers written on them: the three of the pack
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert 'aria-label="Findings by month"' in html


def test_pack_service_figures_in_detail(app, records):
    pack = build_pack(TODAY - timedelta(days=90), TODAY, TODAY)
    assert pack.audits.by_clause == {
        "7.2": {"ofi": 1},
        "8.5": {"major_nc": 1, "minor_nc": 1},
        "8.7": {"observation": 1},
    }
    assert pack.audits.by_area == {"Assembly": {"major_nc": 1, "minor_nc": 1, "observation": 1, "ofi": 1}}
    assert pack.audits.by_month == {TODAY.strftime("%Y-%m"): {"major_nc": 1, "minor_nc": 1, "observation": 1, "ofi": 1}}
    assert pack.ncs.opened_by_severity == {"major": 2, "minor": 4}
    assert pack.ncs.by_clause == {"8.5": 5, "9.1": 1}
    assert pack.ncs.recurring_areas == {"Assembly": 5}
    # Open actions: the late NC's two (3 and 45 days late); the audit NCs have none yet.
    assert pack.ncs.action_ageing == {
        "Not yet due": 0,
        "1–30 days late": 1,
        "31–90 days late": 1,
        "Over 90 days late": 0,
    }
    assert pack.months[-1] == TODAY.strftime("%Y-%m") and len(pack.months) in (4, 5)


def test_empty_period_shows_dashes_not_errors(client, make_user):
    log_in(client, make_user("quality_lead"))
    response = client.post("/reviews/", data={"period_start": "2020-01-01", "period_end": "2020-03-31"})
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert figure(html, "nc-mean") == "—" and figure(html, "nc-first") == "—" and figure(html, "audits-planned") == "0"
    assert "No earlier management review is recorded" in html and "Nothing to show for this period." in html


def test_meeting_record_decisions_become_tracked_actions_listed_by_the_next_pack(client, make_user):
    quality, owner = make_user("quality_lead"), make_user("supervisor", name="Sam Supervisor")
    log_in(client, quality)
    first = client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-06-30"})
    review_id = int(first.headers["Location"].rsplit("/", 1)[1])
    url = f"/reviews/{review_id}"
    assert client.post(f"{url}/inputs", data={"customer": "Complaints down 30 %", "hack": "x"}).status_code == 302
    # An action needs both owner and due date; what was typed comes back
    refused = client.post(
        f"{url}/decisions",
        data={"output": "resource_need", "text": "Buy a second gauge", "action_owner_id": owner.id},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and "needs both an owner and a due date" in refused.get_data(as_text=True)
    assert "Buy a second gauge" in refused.get_data(as_text=True)
    due = TODAY + timedelta(days=30)
    added = client.post(
        f"{url}/decisions",
        data={
            "output": "resource_need",
            "text": "Buy a second gauge",
            "action_owner_id": owner.id,
            "action_due_date": due.isoformat(),
        },
        headers={"HX-Request": "true"},
    )
    assert added.status_code == 200 and added.get_data(as_text=True).strip().startswith(
        '<section class="review-section" id="decisions">'
    )
    client.post(f"{url}/decisions", data={"output": "qms_change", "text": "Merge the two inspection procedures"})
    action = db.session.scalar(db.select(CorrectiveAction).where(CorrectiveAction.origin == "management_review"))
    assert action.owner_id == owner.id and action.due_date == due and action.nonconformity_id is None
    # It appears in the action log and on its owner's My actions
    assert "Buy a second gauge" in client.get("/nc/actions?origin=management_review").get_data(as_text=True)
    # Recording the meeting needs the confirmation, and makes the review read-only
    held = {"meeting_date": "2026-07-10", "attendees": "CEO, quality lead", "conclusions": "QMS effective."}
    assert client.post(f"{url}/held", data=held).status_code == 422
    assert "CEO, quality lead" in client.post(f"{url}/held", data=held).get_data(as_text=True)  # typed text kept
    assert client.post(f"{url}/held", data={**held, "confirm": "1"}).status_code == 302
    review = db.session.get(ManagementReview, review_id)
    db.session.refresh(review)
    assert (
        review.is_held
        and review.meeting_date == date(2026, 7, 10)
        and review.inputs == {"customer": "Complaints down 30 %"}
    )
    assert client.post(f"{url}/decisions", data={"output": "improvement", "text": "late"}).status_code == 409
    assert client.post(f"{url}/inputs", data={"customer": "rewritten"}).status_code == 409
    client.post("/logout")
    log_in(client, owner)
    assert "Buy a second gauge" in client.get("/nc/actions/mine").get_data(as_text=True)
    assert client.post(f"/nc/actions/{action.id}/complete", data={"note": "Gauge bought"}).status_code == 200
    client.post("/logout")
    # The next review lists the previous review's decisions with the status of their actions
    log_in(client, quality)
    second = client.post("/reviews/", data={"period_start": "2026-07-01", "period_end": "2026-12-31"})
    html = client.get(second.headers["Location"]).get_data(as_text=True)
    previous = html.split('id="previous"')[1].split("</section>")[0]
    assert review.number in previous and "Buy a second gauge" in previous and "Done" in previous
    assert "Merge the two inspection procedures" in previous and "No tracked action" in previous


def test_readiness_turns_green_once_a_review_is_held(client, make_user):
    quality = make_user("quality_lead")
    log_in(client, quality)

    def line():
        page = client.get("/reports/readiness").get_data(as_text=True)
        return page.split("Management review held")[0].rsplit("<li", 1)[1]

    assert "ready-todo" in line()
    created = client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-06-30"})
    assert "ready-todo" in line()  # prepared is not held
    client.post(
        created.headers["Location"] + "/held",
        data={"meeting_date": TODAY.isoformat(), "attendees": "CEO", "conclusions": "Fine", "confirm": "1"},
    )
    assert "ready-ok" in line()


def test_only_quality_leads_prepare_and_only_they_and_admins_see_reviews(client, make_user):
    quality = make_user("quality_lead")
    review = review_services.prepare(quality, date(2026, 1, 1), date(2026, 3, 31))
    db.session.commit()
    for role, read, write in (("admin", 200, 403), ("supervisor", 403, 403), ("auditor", 403, 403)):
        log_in(client, make_user(role))
        assert client.get(f"/reviews/{review.id}").status_code == read
        assert client.get(f"/reviews/{review.id}.pdf").status_code == read
        assert (
            client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-02-01"}).status_code
            == write
        )
        assert (
            client.post(f"/reviews/{review.id}/decisions", data={"output": "improvement", "text": "x"}).status_code
            == write
        )
        client.post("/logout")
    assert db.session.scalar(db.select(db.func.count(ManagementReview.id))) == 1


def test_period_must_be_ordered(client, make_user):
    log_in(client, make_user("quality_lead"))
    refused = client.post("/reviews/", data={"period_start": "2026-05-01", "period_end": "2026-04-01"})
    assert refused.status_code == 422 and "must end on or after its start" in refused.get_data(as_text=True)


def test_pdf_of_the_pack_reads_back_with_its_figures(client, records):
    log_in(client, records["quality"])
    created = client.post(
        "/reviews/", data={"period_start": (TODAY - timedelta(days=90)).isoformat(), "period_end": TODAY.isoformat()}
    )
    url = created.headers["Location"]
    client.post(f"{url}/inputs", data={"providers": "Supplier on-time delivery 96 %"})
    response = client.get(f"{url}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    content = "\n".join(page.extract_text() for page in reader.pages)
    assert "Management review MR-" in content
    assert "Supplier on-time delivery 96 %" in content
    assert re.search(r"Opened in the period\s*6", content)
    assert re.search(r"Days to close, mean\s*23\.3", content)
    assert "Findings by month" in content and "Clause 8.5" in content  # chart labels are text in the PDF
    assert len(reader.pages) >= 2


def test_charts_escape_labels_and_scale():
    svg = charts.horizontal_bars("t", [("<script>x</script>", 3), ("b", 7)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and ">7<" in svg
    columns = charts.stacked_columns(
        "t", [("01", {"minor_nc": 2, "major_nc": 1})], {"major_nc": "Major", "minor_nc": "Minor"}
    )
    assert ">3<" in columns  # the total is written above the column


def test_helpers():
    assert clause_group("8.5.2.1") == "8.5" and clause_group("") == "—" and clause_group("7") == "7"
    assert months_between(date(2025, 11, 15), date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_pdf_rendering_never_fetches_other_urls(app):
    """A link typed into a record cannot make the server fetch anything: only our static files load."""
    import http.server
    import threading

    from auditapp.web.pdf import render_pdf

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        with app.test_request_context():
            pdf = render_pdf(
                f'<p>x</p><img src="{url}/a.png"><link rel="stylesheet" href="{url}/b.css">'
                f'<img src="file:///etc/passwd"><img src="/static/../../etc/passwd">'
            )
    finally:
        server.shutdown()
        server.server_close()
    assert pdf.startswith(b"%PDF") and hits == []


def _decided_action(quality, owner, due):
    review = review_services.prepare(quality, date(2026, 1, 1), date(2026, 6, 30))
    review_services.add_decision(
        quality,
        review,
        "resource_need",
        "Buy a second gauge",
        {"description": "", "owner_id": owner.id, "due_date": due},
    )
    db.session.commit()
    return db.session.scalar(db.select(CorrectiveAction).filter_by(origin="management_review"))


def test_action_log_lists_every_origin_and_each_user_sees_their_own(client, make_user):
    quality, owner, other = make_user("quality_lead"), make_user("supervisor"), make_user("supervisor")
    decided = _decided_action(quality, owner, TODAY - timedelta(days=2))
    assert decided.description == "Buy a second gauge"  # an empty description defaults to the decision
    nc = raise_nc(quality)
    capa.record_containment(quality, nc, "Held")
    capa.identify_cause(quality, nc, ["Why"], "method")
    capa.add_action(quality, nc, "Relabel rack B", other.id, TODAY + timedelta(days=5))
    db.session.commit()
    log_in(client, quality)
    everything = client.get("/nc/actions").get_data(as_text=True)
    assert "Buy a second gauge" in everything and "Relabel rack B" in everything and "MR-2026-01" in everything
    only_reviews = client.get("/nc/actions?origin=management_review").get_data(as_text=True)
    assert "Relabel rack B" not in only_reviews and "Buy a second gauge" in only_reviews
    overdue = client.get("/nc/actions?state=overdue").get_data(as_text=True)
    assert "Buy a second gauge" in overdue and "Relabel rack B" not in overdue
    fragment = client.get("/nc/actions?origin=nonconformity", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.strip().startswith('<div id="action-results">') and "Relabel rack B" in fragment
    client.post("/logout")
    log_in(client, other)
    mine = client.get("/nc/actions").get_data(as_text=True)
    assert "Relabel rack B" in mine and "Buy a second gauge" not in mine
    # Someone else's review action is not theirs to see or complete
    assert client.post(f"/nc/actions/{decided.id}/complete", data={"note": "x"}).status_code == 404


def test_review_actions_get_reminders_and_complete_once(app, client, make_user):
    from auditapp.capa.reminders import due_reminders

    quality, owner = make_user("quality_lead"), make_user("supervisor")
    action = _decided_action(quality, owner, TODAY - timedelta(days=1))
    reminders = [r for r in due_reminders(TODAY, 3) if r.action.id == action.id]
    assert sorted(r.kind for r in reminders) == ["assigned", "overdue"]
    message = reminders[0].message("auditapp@example.com", "http://audit.local").get_content()
    assert "From: Management review" in message and "Buy a second gauge" in message
    log_in(client, owner)
    assert client.post(f"/nc/actions/{action.id}/complete", data={"note": "Bought"}).status_code == 200
    assert client.post(f"/nc/actions/{action.id}/complete", data={"note": "Again"}).status_code == 409
    db.session.refresh(action)
    assert action.is_done and action.completion_note == "Bought"


def test_a_held_review_is_archived_as_a_pdf_and_read_only_in_the_database(client, make_user):
    from sqlalchemy.exc import DBAPIError

    from auditapp.events.models import Event

    quality = make_user("quality_lead")
    log_in(client, quality)
    created = client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-06-30"})
    url = created.headers["Location"]
    client.post(f"{url}/decisions", data={"output": "qms_change", "text": "Merge the inspection procedures"})
    assert client.get(f"{url}/archived.pdf").status_code == 404  # not held yet
    client.post(
        f"{url}/held",
        data={
            "meeting_date": "2026-07-10",
            "attendees": "CEO, quality lead",
            "conclusions": "The QMS is effective.",
            "confirm": "1",
        },
    )
    archived = client.get(f"{url}/archived.pdf")
    assert archived.status_code == 200 and archived.mimetype == "application/pdf"
    text_of_pdf = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(archived.data)).pages)
    assert "Held on 10 Jul 2026" in text_of_pdf and "Merge the inspection procedures" in text_of_pdf
    assert "Record the meeting as held" not in text_of_pdf  # no forms in the record
    import hashlib

    logged = db.session.scalar(db.select(Event).filter_by(entity_type="management_review", action="pack_archived"))
    assert logged.changes["sha256"] == hashlib.sha256(archived.data).hexdigest()
    assert "PDF as presented at the meeting" in client.get(url).get_data(as_text=True)
    review_id = int(url.rsplit("/", 1)[1])
    for statement in (
        f"UPDATE management_reviews SET conclusions = 'rewritten' WHERE id = {review_id}",
        f"DELETE FROM management_reviews WHERE id = {review_id}",
        f"UPDATE review_decisions SET text = 'rewritten' WHERE review_id = {review_id}",
        f"INSERT INTO review_decisions (review_id, output, text, created_at) "
        f"VALUES ({review_id}, 'improvement', 'late', '2026-07-11')",
        f"UPDATE review_archives SET sha256 = 'x' WHERE review_id = {review_id}",
    ):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        db.session.rollback()


def test_recording_the_meeting_saves_the_typed_inputs_and_a_refusal_keeps_them(client, make_user):
    log_in(client, make_user("quality_lead"))
    url = client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-06-30"}).headers["Location"]
    typed = {"customer": "Complaints down 30 %", "resources": "One more inspector needed"}
    refused = client.post(
        f"{url}/held",
        data={**typed, "meeting_date": "2026-07-10", "attendees": "", "conclusions": "Effective", "confirm": "1"},
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "List who attended" in html
    assert "Complaints down 30 %" in html and "One more inspector needed" in html and "Effective" in html
    review = db.session.scalar(db.select(ManagementReview))
    assert review.inputs == {} and not review.is_held  # nothing half-saved
    assert (
        client.post(
            f"{url}/held",
            data={
                **typed,
                "meeting_date": "2026-07-10",
                "attendees": "CEO",
                "conclusions": "Effective",
                "confirm": "1",
            },
        ).status_code
        == 302
    )
    db.session.expire_all()
    review = db.session.get(ManagementReview, review.id)
    assert review.is_held and review.inputs == typed
    archived = client.get(f"{url}/archived.pdf").data
    assert "One more inspector needed" in "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(archived)).pages)
    assert "the pack as presented" in client.get(url).get_data(as_text=True)


def test_an_action_described_without_an_owner_is_refused_not_dropped(client, make_user):
    log_in(client, make_user("quality_lead"))
    url = client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-06-30"}).headers["Location"]
    refused = client.post(
        f"{url}/decisions",
        data={
            "output": "improvement",
            "text": "Shorten the audit cycle",
            "action_description": "Draft the new programme",
        },
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and "Choose who owns this action" in refused.get_data(as_text=True)
    assert "Draft the new programme" in refused.get_data(as_text=True)
    assert (
        db.session.scalar(db.select(db.func.count()).select_from(ManagementReview).join(ManagementReview.decisions))
        == 0
    )


def test_a_cancelled_action_cannot_be_completed(app, client, make_user):
    from auditapp.events import services as events

    quality, owner = make_user("quality_lead"), make_user("supervisor")
    action = _decided_action(quality, owner, TODAY)
    events.record(
        quality, "corrective_action", action.id, "cancelled", events.apply_changes(action, status="cancelled")
    )
    db.session.commit()
    log_in(client, owner)
    refused = client.post(f"/nc/actions/{action.id}/complete", data={"note": "Done anyway"})
    assert refused.status_code == 409 and "cancelled" in refused.get_data(as_text=True)
    db.session.refresh(action)
    assert action.status == "cancelled"


def test_a_typed_input_saved_as_it_is_typed_answers_with_its_saved_time_in_place(client, make_user):
    log_in(client, make_user("quality_lead"))
    url = client.post("/reviews/", data={"period_start": "2026-01-01", "period_end": "2026-06-30"}).headers["Location"]
    client.post(f"{url}/inputs", data={"resources": "One more inspector needed"})
    saved = client.post(f"{url}/inputs", data={"customer": "Complaints down 30 %"}, headers={"HX-Request": "true"})
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and html.strip().startswith('<span class="saved">Saved <time')
    assert "<main" not in html  # the fragment only, swapped into the input's save state
    review = db.session.scalar(db.select(ManagementReview))
    # One input sent: the other stays as it was.
    assert review.inputs == {"resources": "One more inspector needed", "customer": "Complaints down 30 %"}
    refused = client.post(f"{url}/inputs", data={"customer": "x" * 20_001}, headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "Not saved:" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ManagementReview, review.id).inputs["customer"] == "Complaints down 30 %"
