"""The audit programme (ISO 9001 9.2.2) and the auditor register (ISO 19011 7): figures checked
against data built in the test."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from auditapp.auditors import services as auditors
from auditapp.auditors.models import AuditorQualification
from auditapp.audits.models import Audit
from auditapp.core.errors import RuleError
from auditapp.core.timeutil import utcnow
from auditapp.events import services as events
from auditapp.extensions import db
from auditapp.programme import services
from auditapp.programme.models import ProgrammeEntry
from auditapp.programme.services import AreaHistory, suggest_frequency

from .support.accounts import log_in, make_area
from .support.app import count_queries
from .support.audits import answer, items_of
from .support.capa import raise_nc

HX = {"HX-Request": "true"}
TODAY = date(2030, 6, 15)
NEXT_YEAR = date.today().year + 1


def qualify(user, kind="lead_auditor_course", completed=date(2020, 1, 10), expires=None, title="Lead auditor"):
    q = auditors.add_qualification(None, user, kind=kind, title=title, completed_on=completed, expires_on=expires)
    db.session.commit()
    return q


def audit_count():
    return len(db.session.scalars(db.select(Audit.id)).all())


def first_working_day(year, month):
    return next(date(year, month, d) for d in range(1, 8) if date(year, month, d).weekday() < 5)


def owned_area(make_user, name="Paint", owner_name="Owen Owner"):
    """An area whose owner later became an auditor: the impartiality rule's case."""
    owner = make_user("supervisor", name=owner_name)
    area = make_area(name, owner)
    owner.role = "auditor"
    db.session.commit()
    return area, owner


def add_entry(client, **form):
    data = {"year": NEXT_YEAR, "importance": 2, "planned_per_year": "", "lead_auditor_id": "", "notes": "", **form}
    return client.post("/programme/entries/new", data=data)


def complete(client, audit):
    log_in(client, audit.lead_auditor)
    response = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"})
    assert response.status_code == 302
    client.post("/logout")


# --- suggested frequency ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "importance, history, per_year, reasons",
    [
        (1, AreaHistory(last_audited=date(2030, 1, 5)), 1, ["Low importance: 1 a year"]),
        (2, AreaHistory(), 3, ["Medium importance: 2 a year", "Never audited: +1"]),
        (
            3,
            AreaHistory(ncs=2, majors=2, last_audited=date(2029, 3, 1)),
            6,
            [
                "High importance: 4 a year",
                "2 major nonconformities in the last 12 months: +1",
                "Last audited 01 Mar 2029, more than 12 months ago: +1",
            ],
        ),
        (
            3,
            AreaHistory(ncs=4, majors=1),
            7,
            [
                "High importance: 4 a year",
                "1 major nonconformity in the last 12 months: +1",
                "4 nonconformities in the last 12 months: +1",
                "Never audited: +1",
            ],
        ),
        (1, AreaHistory(ncs=2, last_audited=date(2029, 6, 16)), 1, ["Low importance: 1 a year"]),  # 364 days ago
    ],
)
def test_suggested_frequency_and_its_reasons(importance, history, per_year, reasons):
    suggestion = suggest_frequency(importance, history, TODAY)
    assert suggestion.per_year == per_year and suggestion.reasons == reasons


def test_suggested_frequency_is_capped_at_12(monkeypatch):
    monkeypatch.setitem(services.BASE_PER_YEAR, 3, 11)
    suggestion = suggest_frequency(3, AreaHistory(ncs=5, majors=1), TODAY)
    assert suggestion.per_year == 12 and suggestion.reasons[-1] == "Capped at 12 a year"


def test_programme_suggests_from_nonconformities_and_last_audits_in_the_records(client, plan, make_user, walk):
    quality = make_user("quality_lead")
    press, paint, store = make_area("Press"), make_area("Paint"), make_area("Store")
    for severity in ("major", "major", "minor"):
        raise_nc(quality, area=press, severity=severity)
    old = raise_nc(quality, area=press, severity="major")  # 13 months ago: outside the window
    withdrawn = raise_nc(quality, area=paint, severity="major")
    for _ in range(3):
        raise_nc(quality, area=paint)
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE nonconformities SET raised_at=:t WHERE id=:i"),
            {"t": utcnow() - timedelta(days=400), "i": old.id},
        )
        conn.execute(text("UPDATE nonconformities SET status='withdrawn' WHERE id=:i"), {"i": withdrawn.id})
    recent = plan(area=paint)
    complete(client, recent)
    long_ago = plan(area=store)
    complete(client, long_ago)
    with db.engine.begin() as conn:  # backdate through the one allowed path: reopen, then complete earlier
        conn.execute(text("UPDATE audits SET status='in_progress', completed_at=NULL WHERE id=:i"), {"i": long_ago.id})
        conn.execute(
            text("UPDATE audits SET completed_at=:t, status='completed' WHERE id=:i"),
            {"t": utcnow() - timedelta(days=400), "i": long_ago.id},
        )

    histories = services.area_histories(date.today())
    assert histories[press.id] == AreaHistory(ncs=3, majors=2, last_audited=None)
    assert histories[paint.id] == AreaHistory(ncs=3, majors=0, last_audited=date.today())
    assert histories[store.id].ncs == 0 and histories[store.id].last_audited == (utcnow() - timedelta(days=400)).date()

    log_in(client, quality)
    for area, importance in ((press, 3), (paint, 2), (store, 1)):
        assert add_entry(client, area_id=area.id, checklist_id=walk.id, importance=importance).status_code == 302
    html = client.get(f"/programme/?year={NEXT_YEAR}").get_data(as_text=True)
    press_html = html.split(f'id="entry-{_entry(press).id}"')[1].split('class="card programme-entry"')[0]
    assert "2 major nonconformities in the last 12 months: +1" in press_html
    assert "3 nonconformities in the last 12 months: +1" in press_html and "Never audited: +1" in press_html
    # an empty frequency takes the suggestion: high 4 + majors 1 + three NCs 1 + never audited 1
    assert {e.area_id: e.planned_per_year for e in db.session.scalars(db.select(ProgrammeEntry))} == {
        press.id: 7,
        paint.id: 3,
        store.id: 2,
    }
    assert "Medium importance: 2 a year" in html and "3 nonconformities in the last 12 months: +1" in html
    assert "more than 12 months ago: +1" in html


def _entry(area):
    return db.session.scalar(db.select(ProgrammeEntry).filter_by(area_id=area.id))


def test_areas_histories_take_two_queries_however_many_areas(app, make_user):
    from sqlalchemy import event

    quality = make_user("quality_lead")
    for n in range(5):
        raise_nc(quality, area=make_area(f"Area {n}"), severity="major")
    seen = []

    def listener(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert len(services.area_histories(date.today())) == 5
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(seen) == 2


def test_entry_form_shows_the_suggestion_as_page_and_fragment(client, make_user):
    log_in(client, make_user("quality_lead"))
    area = make_area("Press")
    fragment = client.get(f"/programme/suggestion?area_id={area.id}&importance=3", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "data-suggested>5<" in fragment.get_data(as_text=True) and "Never audited: +1" in fragment.get_data(
        as_text=True
    )
    assert "HX-Request" in fragment.headers["Vary"]
    page = client.get(f"/programme/suggestion?area_id={area.id}&importance=1").get_data(as_text=True)
    assert "<html" in page and "data-suggested>2<" in page
    assert "Choose an area" in client.get("/programme/suggestion?area_id=x", headers=HX).get_data(as_text=True)
    huge = "99999999999999999999"
    assert "Choose an area" in client.get(f"/programme/suggestion?area_id={huge}&importance=2").get_data(as_text=True)
    assert client.get(f"/programme/lead-warning?lead_auditor_id={huge}&planned_date=2026-01-01").status_code == 200


def test_one_entry_per_year_area_and_checklist_and_edits_are_logged(client, make_user, walk):
    log_in(client, make_user("quality_lead"))
    area = make_area("Press")
    assert add_entry(client, area_id=area.id, checklist_id=walk.id, planned_per_year=2).status_code == 302
    again = add_entry(client, area_id=area.id, checklist_id=walk.id, planned_per_year=5)
    assert again.status_code == 422 and f"already in the {NEXT_YEAR} programme" in again.get_data(as_text=True)
    assert 'value="5"' in again.get_data(as_text=True)  # what was typed stays
    bad = add_entry(client, area_id=area.id, checklist_id=walk.id, planned_per_year=13, year=NEXT_YEAR + 1)
    assert bad.status_code == 422 and "Choose 0 to 12 audits a year." in bad.get_data(as_text=True)
    entry = _entry(area)
    response = client.post(
        f"/programme/entries/{entry.id}/edit",
        data={"year": NEXT_YEAR, "area_id": area.id, "checklist_id": walk.id, "importance": 3, "planned_per_year": 6},
    )
    assert response.status_code == 302
    db.session.refresh(entry)
    assert (entry.importance, entry.planned_per_year) == (3, 6)
    assert [e.action for e in events.history("programme_entry", entry.id)] == ["created", "updated"]
    assert events.history("programme_entry", entry.id)[1].changes == {"importance": [2, 3], "planned_per_year": [2, 6]}


# --- the auditor register ------------------------------------------------------------------------------


def test_qualified_to_lead_needs_a_lead_course_valid_on_the_day(app, make_user):
    valid, expired, internal, none = (make_user("auditor") for _ in range(4))
    qualify(valid, completed=date(2024, 3, 1), expires=date(2030, 3, 1))
    qualify(expired, completed=date(2020, 3, 1), expires=date(2023, 3, 1))
    qualify(internal, kind="internal_auditor_course", title="Internal auditor")
    ids = [u.id for u in (valid, expired, internal, none)]
    assert auditors.qualified_leads(ids, date(2026, 1, 1)) == {valid.id}
    assert auditors.qualified_leads(ids, date(2022, 1, 1)) == {expired.id}  # before it expired
    assert auditors.qualified_leads(ids, date(2030, 3, 1)) == {valid.id}  # the expiry day still counts
    assert auditors.qualified_leads(ids, date(2030, 3, 2)) == set()
    assert auditors.qualified_leads(ids, date(2024, 2, 29)) == set()  # neither yet
    assert auditors.lead_qualification_warning(valid, date(2026, 1, 1)) is None
    assert "has no valid lead auditor qualification" in auditors.lead_qualification_warning(expired, date(2026, 1, 1))


def test_register_shows_who_may_lead_and_audits_led_and_joined(client, plan, make_user):
    quality = make_user("quality_lead", name="Quinn Quality")
    ann, bob, cat = (make_user("auditor", name=n) for n in ("Ann Valid", "Bob Expired", "Cat Internal"))
    make_user("supervisor", name="Sue Supervisor")
    qualify(ann, expires=date.today() + timedelta(days=30))
    qualify(bob, expires=date.today() - timedelta(days=1))
    qualify(cat, kind="internal_auditor_course", title="Internal auditor")
    plan(lead=ann, team=[bob, cat])
    plan(lead=ann, team=[cat])
    plan(lead=bob, team=[ann])
    completed = plan(lead=cat)
    complete(client, completed)
    log_in(client, quality)
    html = client.get("/programme/auditors").get_data(as_text=True)
    rows = {u.name: html.split(f'id="auditor-{u.id}"')[1].split("</tr>")[0] for u in (ann, bob, cat, quality)}
    assert "Sue Supervisor" not in html  # supervisors do not audit
    assert 'data-can-lead="yes"' in rows["Ann Valid"]
    assert 'data-can-lead="no"' in rows["Bob Expired"] and "expired" in rows["Bob Expired"]
    assert 'data-can-lead="no"' in rows["Cat Internal"] and "Internal auditor course" in rows["Cat Internal"]
    counts = {
        name: (row.split("data-led>")[1].split("<")[0], row.split("data-joined>")[1].split("<")[0])
        for name, row in rows.items()
    }
    assert counts == {
        "Ann Valid": ("2", "1"),
        "Bob Expired": ("1", "1"),
        "Cat Internal": ("1", "2"),
        "Quinn Quality": ("0", "0"),
    }


def test_register_takes_the_same_queries_for_3_or_20_auditors(client, plan, make_user):
    log_in(client, make_user("quality_lead"))

    def add_auditors(n):
        for _ in range(n):
            auditor = make_user("auditor")
            qualify(auditor)
            plan(lead=auditor, team=[make_user("auditor")])

    add_auditors(3)
    few = count_queries(client, "/programme/auditors")
    add_auditors(17)
    assert count_queries(client, "/programme/auditors") == few


def test_recording_a_qualification_as_page_and_as_fragment(client, make_user):
    quality = log_in(client, make_user("quality_lead"))
    auditor = make_user("auditor", name="Ann Auditor")
    form = {
        "kind": "lead_auditor_course",
        "title": "ISO 9001 lead auditor",
        "provider": "IRCA",
        "completed_on": "2025-05-02",
        "expires_on": "",
        "notes": "",
    }
    fragment = client.post(f"/programme/auditors/{auditor.id}/qualifications", data=form, headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'id="qualifications"' in body
    assert "ISO 9001 lead auditor" in body and 'data-can-lead="yes"' in body
    assert "programme:qualified" in fragment.headers["HX-Trigger"]
    invalid = client.post(
        f"/programme/auditors/{auditor.id}/qualifications",
        headers=HX,
        data={**form, "title": "Internal course", "expires_on": "2024-01-01"},
    )
    assert invalid.status_code == 422 and "<html" not in invalid.get_data(as_text=True)
    assert "cannot be before the completion date" in invalid.get_data(as_text=True)
    assert 'value="Internal course"' in invalid.get_data(as_text=True)
    page = client.post(
        f"/programme/auditors/{auditor.id}/qualifications",
        data={**form, "kind": "internal_auditor_course", "title": "Internal auditor 2-day"},
    )
    assert page.status_code == 302 and page.location.endswith(f"/programme/auditors/{auditor.id}")
    saved = db.session.scalars(db.select(AuditorQualification).order_by(AuditorQualification.id)).all()
    assert [(q.user_id, q.kind, q.title, q.completed_on, q.created_by_id) for q in saved] == [
        (auditor.id, "lead_auditor_course", "ISO 9001 lead auditor", date(2025, 5, 2), quality.id),
        (auditor.id, "internal_auditor_course", "Internal auditor 2-day", date(2025, 5, 2), quality.id),
    ]
    assert events.history("auditor_qualification", saved[0].id)[0].changes["title"] == "ISO 9001 lead auditor"
    assert "<html" in client.get(f"/programme/auditors/{auditor.id}").get_data(as_text=True)


def test_removing_a_qualification_is_confirmed_with_a_reason_and_logged(client, make_user):
    log_in(client, make_user("quality_lead"))
    q = qualify(make_user("auditor"), title="Lead auditor course 2019")
    q_id = q.id
    confirm = client.get(f"/programme/qualifications/{q.id}/remove")
    assert confirm.status_code == 200 and "Remove this qualification?" in confirm.get_data(as_text=True)
    refused = client.post(f"/programme/qualifications/{q.id}/remove", data={"reason": ""})
    assert refused.status_code == 422 and db.session.get(AuditorQualification, q.id) is not None
    assert (
        client.post(
            f"/programme/qualifications/{q.id}/remove", data={"reason": "Certificate belongs to another person"}
        ).status_code
        == 302
    )
    assert db.session.get(AuditorQualification, q_id) is None
    removed = events.history("auditor_qualification", q_id)[-1]
    assert removed.action == "removed" and removed.changes["reason"] == "Certificate belongs to another person"
    assert removed.changes["title"] == "Lead auditor course 2019"


def test_auditors_see_only_their_own_register_entry(client, make_user):
    me, other = make_user("auditor", name="Me Myself"), make_user("auditor", name="Olga Other")
    qualify(me, title="My lead course")
    log_in(client, me)
    html = client.get("/programme/auditors").get_data(as_text=True)
    assert "Me Myself" in html and "Olga Other" not in html
    mine = client.get(f"/programme/auditors/{me.id}").get_data(as_text=True)
    assert "My lead course" in mine and "Record a qualification" not in mine and "Remove…" not in mine
    assert client.get(f"/programme/auditors/{other.id}").status_code == 404


# --- creating a year's audits from an entry ------------------------------------------------------------


def test_audit_dates_spread_over_the_rest_of_the_year():
    assert services.spread_dates(2030, 4, date(2029, 6, 1)) == [
        date(2030, 1, 1),
        date(2030, 4, 1),
        date(2030, 7, 1),
        date(2030, 10, 1),
    ]
    # from a Sunday in September: the next working day, then November's first
    assert services.spread_dates(2030, 2, date(2030, 9, 15)) == [date(2030, 9, 16), date(2030, 11, 1)]
    # more audits than months left: evenly spaced working days
    assert services.spread_dates(2030, 6, date(2030, 11, 20)) == [
        date(2030, 11, 20),
        date(2030, 11, 27),
        date(2030, 12, 4),
        date(2030, 12, 11),
        date(2030, 12, 18),
        date(2030, 12, 25),
    ]
    assert services.spread_dates(2030, 12, date(2030, 1, 1))[5] == date(2030, 6, 3)  # 1 June is a Saturday
    assert services.spread_dates(2030, 1, date(2031, 1, 1)) == []


def test_creating_the_audits_of_an_entry(client, make_user, walk):
    quality = log_in(client, make_user("quality_lead"))
    lead = make_user("auditor", name="Lena Lead")
    qualify(lead)
    area = make_area("Press")
    add_entry(client, area_id=area.id, checklist_id=walk.id, planned_per_year=4, lead_auditor_id=lead.id)
    entry = _entry(area)
    expected = [first_working_day(NEXT_YEAR, m) for m in (1, 4, 7, 10)]
    confirm = client.get(f"/programme/entries/{entry.id}/audits").get_data(as_text=True)
    assert [f'datetime="{d.isoformat()}"' in confirm for d in expected] == [True] * 4
    assert "Create 4 audits" in confirm and f'value="{lead.id}" selected' in confirm
    assert audit_count() == 0  # the confirmation page creates nothing

    response = client.post(f"/programme/entries/{entry.id}/audits", data={"lead_auditor_id": lead.id})
    assert response.status_code == 302
    created = db.session.scalars(db.select(Audit).order_by(Audit.id)).all()
    year = utcnow().year
    assert [a.planned_date for a in created] == expected
    assert [a.number for a in created] == [f"AUD-{year}-{n:03d}" for n in range(1, 5)]
    assert {(a.area_id, a.lead_auditor_id, a.checklist_version_id, a.created_by_id) for a in created} == {
        (area.id, lead.id, walk.latest.id, quality.id)
    }
    db.session.refresh(entry)
    assert [a.id for a in entry.audits] == [a.id for a in created]
    logged = events.history("programme_entry", entry.id)[-1]
    assert logged.action == "audits_created" and logged.changes["audits"] == [a.number for a in created]

    again = client.post(f"/programme/entries/{entry.id}/audits", data={"lead_auditor_id": lead.id})
    assert again.status_code == 422 and "Nothing to create" in again.get_data(as_text=True)
    assert audit_count() == 4

    # a higher frequency later: only the missing audits, never on a day already taken
    entry.planned_per_year = 6
    db.session.commit()
    assert client.post(f"/programme/entries/{entry.id}/audits", data={"lead_auditor_id": lead.id}).status_code == 302
    dates = sorted(a.planned_date for a in db.session.scalars(db.select(Audit)))
    assert len(dates) == 6 == len(set(dates)) and all(d.year == NEXT_YEAR and d.weekday() < 5 for d in dates)


def test_creating_audits_led_by_the_area_owner_needs_a_recorded_reason(client, make_user, walk):
    log_in(client, make_user("quality_lead"))
    area, owner = owned_area(make_user)
    qualify(owner)
    add_entry(client, area_id=area.id, checklist_id=walk.id, planned_per_year=2, lead_auditor_id=owner.id)
    entry = _entry(area)
    page = client.get(f"/programme/?year={NEXT_YEAR}").get_data(as_text=True)
    assert "Owen Owner owns Paint, so should not lead its audits" in page

    refused = client.post(f"/programme/entries/{entry.id}/audits", data={"lead_auditor_id": owner.id})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Owen Owner owns Paint, so cannot lead its audit" in html
    assert 'name="override_reason"' in html and audit_count() == 0

    reason = "Only trained auditor on site; an outside auditor reviews the report"
    assert (
        client.post(
            f"/programme/entries/{entry.id}/audits", data={"lead_auditor_id": owner.id, "override_reason": reason}
        ).status_code
        == 302
    )
    created = db.session.scalars(db.select(Audit)).all()
    assert len(created) == 2 and {a.impartiality_override for a in created} == {reason}
    assert events.history("programme_entry", entry.id)[-1].changes["impartiality_override"] == reason
    assert {e.changes["impartiality_override"] for a in created for e in events.history("audit", a.id)} == {reason}


def test_only_a_quality_lead_overrides_impartiality_for_the_programme(client, make_user, walk):
    log_in(client, make_user("admin"))
    area, owner = owned_area(make_user)
    add_entry(client, area_id=area.id, checklist_id=walk.id, planned_per_year=1, lead_auditor_id=owner.id)
    response = client.post(
        f"/programme/entries/{_entry(area).id}/audits", data={"lead_auditor_id": owner.id, "override_reason": "Because"}
    )
    assert response.status_code == 422 and "Only a quality lead can override" in response.get_data(as_text=True)
    assert audit_count() == 0


# --- the overview: counts and calendar -------------------------------------------------------------------


def test_programme_counts_and_calendar_by_status(client, make_user, walk):
    quality = make_user("quality_lead")
    lead = make_user("auditor")
    qualify(lead)
    area = make_area("Press")
    entry = services.save_entry(
        quality,
        None,
        year=NEXT_YEAR,
        area_id=area.id,
        checklist_id=walk.id,
        importance=3,
        planned_per_year=4,
        lead_auditor_id=lead.id,
        notes="",
        today=date.today(),
    )
    db.session.commit()
    jan, apr, jul, oct_ = services.create_audits(quality, entry, date(NEXT_YEAR, 1, 1), lead.id)
    db.session.commit()
    complete(client, jan)
    log_in(client, lead)
    answer(client, apr, items_of(apr)["7.2-training"], "conform")  # starts it
    client.post("/logout")

    overview = services.programme(NEXT_YEAR, date(NEXT_YEAR, 8, 1))
    [row] = overview.rows
    assert dict(row.counts) == {"completed": 1, "in_progress": 1, "overdue": 1, "planned": 1}
    statuses = {month: [(a.id, s) for a, s in audits] for month, audits in overview.months if audits}
    assert statuses == {
        "January": [(jan.id, "completed")],
        "April": [(apr.id, "in_progress")],
        "July": [(jul.id, "overdue")],
        "October": [(oct_.id, "planned")],
    }

    log_in(client, quality)
    html = client.get(f"/programme/?year={NEXT_YEAR}").get_data(as_text=True)  # seen from this year: none overdue yet
    shown = {a.id: html.split(f'data-audit="{a.id}" data-status="')[1].split('"')[0] for a in (jan, apr, jul, oct_)}
    assert shown == {jan.id: "completed", apr.id: "in_progress", jul.id: "planned", oct_.id: "planned"}
    assert f'href="/audits/{jul.id}"' in html.split('id="month-7"')[1].split('id="month-8"')[0]
    entry_html = html.split(f'id="entry-{entry.id}"')[1]
    assert 'data-count="completed">1 completed' in entry_html and 'data-count="planned">2 planned' in entry_html


def test_programme_page_takes_the_same_queries_for_2_or_8_entries(client, make_user, walk):
    quality = log_in(client, make_user("quality_lead"))
    lead = make_user("auditor")

    def add_entries(names):
        for name in names:
            owner = make_user("supervisor")
            entry = services.save_entry(
                quality,
                None,
                year=NEXT_YEAR,
                area_id=make_area(name, owner).id,
                checklist_id=walk.id,
                importance=2,
                planned_per_year=1,
                lead_auditor_id=lead.id,
                notes="",
                today=date.today(),
            )
            services.create_audits(quality, entry, date.today(), lead.id)
            raise_nc(quality, area=entry.area)
            db.session.commit()

    add_entries(["A1", "A2"])
    few = count_queries(client, f"/programme/?year={NEXT_YEAR}")
    add_entries(["B1", "B2", "B3", "B4", "B5", "B6"])
    assert count_queries(client, f"/programme/?year={NEXT_YEAR}") == few


def test_an_audit_whose_date_passed_shows_as_overdue(client, plan, make_user):
    yesterday = date.today() - timedelta(days=1)
    late = plan(planned=yesterday)
    log_in(client, make_user("quality_lead"))
    html = client.get(f"/programme/?year={yesterday.year}").get_data(as_text=True)
    assert f'data-audit="{late.id}" data-status="overdue"' in html


def test_empty_programme_explains_how_to_start(client, make_user):
    log_in(client, make_user("quality_lead"))
    html = client.get("/programme/?year=2031").get_data(as_text=True)
    assert 'id="programme-empty"' in html and "Add to the programme" in html
    assert "No audits planned in 2031" in html
    assert client.get("/programme/?year=banana").status_code == 200


# --- warnings about unqualified leads ------------------------------------------------------------------


def test_plan_form_warns_when_the_lead_has_no_lead_auditor_course(client, make_user, walk):
    log_in(client, make_user("quality_lead"))
    unqualified, qualified = make_user("auditor", name="Una Unqualified"), make_user("auditor", name="Quincy Qualified")
    qualify(qualified)
    url = f"/programme/lead-warning?lead_auditor_id={unqualified.id}&planned_date={NEXT_YEAR}-03-02"
    fragment = client.get(url, headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "Una Unqualified has no valid lead auditor qualification" in fragment.get_data(as_text=True)
    assert "<html" in client.get(url).get_data(as_text=True)
    ok = client.get(
        f"/programme/lead-warning?lead_auditor_id={qualified.id}&planned_date={NEXT_YEAR}-03-02", headers=HX
    ).get_data(as_text=True)
    assert "no valid lead auditor" not in ok
    assert 'hx-get="/programme/lead-warning"' in client.get("/audits/new").get_data(as_text=True)

    form = {
        "checklist_id": walk.id,
        "title": "",
        "planned_date": f"{NEXT_YEAR}-03-02",
        "lead_auditor_id": unqualified.id,
    }
    invalid = client.post("/audits/new", data=form)
    assert invalid.status_code == 422 and "Una Unqualified has no valid lead auditor" in invalid.get_data(as_text=True)
    planned = client.post("/audits/new", data={**form, "title": "Press walk"}, follow_redirects=True)
    assert planned.status_code == 200  # warned, not blocked
    assert "Una Unqualified has no valid lead auditor" in planned.get_data(as_text=True)
    assert db.session.scalar(db.select(Audit)).lead_auditor_id == unqualified.id


def test_programme_warns_about_an_unqualified_proposed_lead(client, make_user, walk):
    log_in(client, make_user("quality_lead"))
    unqualified, qualified = make_user("auditor", name="Una Unqualified"), make_user("auditor", name="Quincy Qualified")
    qualify(qualified)
    press, paint = make_area("Press"), make_area("Paint")
    add_entry(client, area_id=press.id, checklist_id=walk.id, lead_auditor_id=unqualified.id)
    add_entry(client, area_id=paint.id, checklist_id=walk.id, lead_auditor_id=qualified.id)
    html = client.get(f"/programme/?year={NEXT_YEAR}").get_data(as_text=True)
    press_html = html.split(f'id="entry-{_entry(press).id}"')[1].split('class="card programme-entry"')[0]
    paint_html = html.split(f'id="entry-{_entry(paint).id}"')[1].split('class="card programme-entry"')[0]
    assert "Una Unqualified has no valid lead auditor qualification" in press_html
    assert "no valid lead auditor" not in paint_html
    confirm = client.get(f"/programme/entries/{_entry(press).id}/audits").get_data(as_text=True)
    assert "Una Unqualified has no valid lead auditor qualification" in confirm


# --- who may do what -------------------------------------------------------------------------------------

EDITING = [
    ("GET", "/programme/"),
    ("GET", "/programme/entries/new"),
    ("POST", "/programme/entries/new"),
    ("GET", "/programme/entries/{entry}/edit"),
    ("POST", "/programme/entries/{entry}/edit"),
    ("GET", "/programme/entries/{entry}/audits"),
    ("POST", "/programme/entries/{entry}/audits"),
    ("POST", "/programme/auditors/{user}/qualifications"),
    ("GET", "/programme/qualifications/{q}/remove"),
    ("POST", "/programme/qualifications/{q}/remove"),
    ("GET", "/programme/lead-warning"),
]


@pytest.mark.parametrize("role", ["auditor", "supervisor"])
@pytest.mark.parametrize("method, url", EDITING)
def test_auditors_and_supervisors_cannot_edit_the_programme(client, make_user, walk, role, method, url):
    quality = make_user("quality_lead")
    auditor = make_user("auditor")
    q = qualify(auditor)
    area = make_area("Press")
    entry = services.save_entry(
        quality,
        None,
        year=NEXT_YEAR,
        area_id=area.id,
        checklist_id=walk.id,
        importance=2,
        planned_per_year=1,
        lead_auditor_id=auditor.id,
        notes="",
        today=date.today(),
    )
    db.session.commit()
    log_in(client, auditor if role == "auditor" else make_user(role))
    response = client.open(
        url.format(entry=entry.id, user=auditor.id, q=q.id),
        method=method,
        data={"lead_auditor_id": auditor.id, "reason": "Because I can", "title": "x"},
    )
    assert response.status_code == 403
    assert audit_count() == 0 and db.session.get(AuditorQualification, q.id) is not None


def test_supervisors_do_not_see_the_register_and_anonymous_users_log_in(client, make_user):
    log_in(client, make_user("supervisor"))
    assert client.get("/programme/auditors").status_code == 403
    client.post("/logout")
    for url in ("/programme/", "/programme/auditors"):
        response = client.get(url)
        assert response.status_code == 302 and response.location.startswith("/login")


def test_programme_is_in_the_navigation_of_quality_leads(client, make_user):
    log_in(client, make_user("quality_lead"))
    assert 'href="/programme/"' in client.get("/menu").get_data(as_text=True)
    nav = client.get("/audits/").get_data(as_text=True).split('class="mainnav"')[1].split("</nav>")[0]
    assert 'class="secondary" href="/programme/"' in nav
    client.post("/logout")
    log_in(client, make_user("auditor"))
    menu = client.get("/menu").get_data(as_text=True)
    assert 'href="/programme/"' not in menu and 'href="/programme/auditors"' in menu


# --- in a phone-sized Chromium ----------------------------------------------------------------------------


@pytest.mark.browser
def test_programme_pages_fit_a_phone_and_swap_in_place(app, live_server, phone, make_user, walk):
    from .support.accounts import PASSWORD
    from .support.browser import fits_screen, log_in_page, screenshot

    quality = make_user("quality_lead", name="Quinn Quality")
    una = make_user("auditor", name="Una Unqualified")
    lead = make_user("auditor", name="Lena Lead")
    qualify(lead)
    area, _ = owned_area(make_user)
    entry = services.save_entry(
        quality,
        None,
        year=NEXT_YEAR,
        area_id=area.id,
        checklist_id=walk.id,
        importance=3,
        planned_per_year=4,
        lead_auditor_id=una.id,
        notes="",
        today=date.today(),
    )
    services.create_audits(quality, entry, date.today(), lead.id)
    db.session.commit()
    log_in_page(phone, live_server.url, quality.email, PASSWORD)
    for path in (
        f"/programme/?year={NEXT_YEAR}",
        "/programme/auditors",
        f"/programme/auditors/{una.id}",
        "/programme/entries/new",
        f"/programme/entries/{entry.id}/audits",
    ):
        phone.goto(live_server.url + path)
        assert fits_screen(phone), path
        for control in phone.locator("main button:visible, .cal-audit a:visible").all():
            assert control.bounding_box()["height"] >= 44, path
        screenshot(phone, "programme" + path.split("?")[0].replace("/", "_") + "-360")

    phone.goto(f"{live_server.url}/audits/new")
    phone.evaluate("window.__notReloaded = true")
    phone.select_option("#f-lead_auditor_id", str(una.id))
    phone.wait_for_selector(".lead-warning")
    assert "Una Unqualified has no valid lead auditor qualification" in phone.inner_text("#lead-warning")
    phone.select_option("#f-lead_auditor_id", str(lead.id))
    phone.wait_for_selector(".lead-warning", state="detached")
    assert phone.evaluate("window.__notReloaded") is True

    phone.goto(f"{live_server.url}/programme/auditors/{una.id}")
    phone.evaluate("window.__notReloaded = true")
    phone.select_option("#f-kind", "lead_auditor_course")
    phone.fill("#f-title", "ISO 9001 lead auditor")
    phone.tap("#qualifications button[type=submit]")
    phone.wait_for_selector("#e-completed_on")  # the date is missing: answered in place
    assert phone.input_value("#f-title") == "ISO 9001 lead auditor"
    phone.fill("#f-completed_on", "2025-05-02")
    phone.tap("#qualifications button[type=submit]")
    phone.wait_for_selector('[data-can-lead="yes"]')
    assert phone.evaluate("window.__notReloaded") is True


def test_a_qualification_sent_twice_is_recorded_once(client, make_user):
    log_in(client, make_user("quality_lead"))
    auditor = make_user("auditor")
    form = {
        "kind": "lead_auditor_course",
        "title": "ISO 9001 lead auditor",
        "provider": "IRCA",
        "completed_on": "2025-05-02",
        "expires_on": "",
        "notes": "",
        "change_id": "qual-0001-double-tap",
    }
    first = client.post(f"/programme/auditors/{auditor.id}/qualifications", data=form, headers=HX)
    again = client.post(f"/programme/auditors/{auditor.id}/qualifications", data=form, headers=HX)
    assert first.status_code == again.status_code == 200 and again.headers.get("X-Change-Replayed") == "true"
    assert db.session.scalar(db.select(db.func.count(AuditorQualification.id))) == 1


# --- audits planned outside the programme count; the rest of the year is shared out evenly (D16) ----------


def _entry_for(quality, area, walk, per_year, year=NEXT_YEAR):
    entry = services.save_entry(
        quality,
        None,
        year=year,
        area_id=area.id,
        checklist_id=walk.id,
        importance=3,
        planned_per_year=per_year,
        lead_auditor_id=None,
        notes="",
        today=date.today(),
    )
    db.session.commit()
    return entry


def test_audits_of_the_area_planned_outside_the_programme_count_and_their_month_is_skipped(
    client, make_user, walk, plan
):
    quality = make_user("quality_lead")
    area, other_area = make_area("Press"), make_area("Paint")
    entry = _entry_for(quality, area, walk, per_year=3)
    # Planned by hand, not from the programme: one in March for the area, one elsewhere (not counted).
    outside = plan(area=area, planned=date(NEXT_YEAR, 3, 12))
    plan(area=other_area, planned=date(NEXT_YEAR, 4, 2))

    [row] = services.programme(NEXT_YEAR, date(NEXT_YEAR, 3, 1)).rows
    assert dict(row.counts) == {"planned": 1} and row.outside == 1 and row.missing == 2
    # From 1 March: 2 missing, over the months left but March (April to December: 9 months).
    assert services.dates_to_plan(entry, date(NEXT_YEAR, 3, 1)) == [
        first_working_day(NEXT_YEAR, 4),
        first_working_day(NEXT_YEAR, 8),
    ]
    # Asked for: March may have another one, never on the day already taken.
    asked = services.dates_to_plan(entry, date(NEXT_YEAR, 3, 12), same_month=True)
    assert (
        asked[0] == services.next_working_day(date(NEXT_YEAR, 3, 13))
        and outside.planned_date not in asked
        and len(asked) == 2
    )

    log_in(client, quality)
    html = client.get(f"/programme/?year={NEXT_YEAR}").get_data(as_text=True)
    assert "including 1 of this area and checklist planned outside the programme" in html
    assert "Create the 2 missing audits" in html
    page = client.get(f"/programme/entries/{entry.id}/audits").get_data(as_text=True)
    assert outside.number in page and 'name="same_month"' in page


def test_an_area_audited_this_month_gets_no_audit_in_the_same_month_unless_asked(client, make_user, walk, plan):
    """The walkthrough's case: 6 a year added in December, the area audited that day. Before, all six
    were proposed for December, the first on the day of the audit."""
    quality = make_user("quality_lead")
    lead = make_user("auditor")
    area = make_area("Machining cell 3")
    entry = _entry_for(quality, area, walk, per_year=6)
    today = date(NEXT_YEAR, 12, 7)
    done = plan(area=area, planned=today, lead=lead)
    complete(client, done)

    assert services.dates_to_plan(entry, today) == []
    with pytest.raises(RuleError, match="no month without one"):
        services.create_audits(quality, entry, today, lead.id)
    # Ticked: December after all, five of them (the completed one counts), never on its day.
    asked = services.dates_to_plan(entry, today, same_month=True)
    assert len(asked) == 5 and all(d.month == 12 and d.weekday() < 5 for d in asked) and today not in asked


def test_missing_audits_are_spread_evenly_over_the_months_left(make_user, walk, plan):
    quality = make_user("quality_lead")
    area = make_area("Press")
    entry = _entry_for(quality, area, walk, per_year=4)
    plan(area=area, planned=date(NEXT_YEAR, 1, 20))  # January taken, by hand
    # 3 missing over February to December (11 months): February, June, September.
    assert [d.month for d in services.dates_to_plan(entry, date(NEXT_YEAR, 1, 25))] == [2, 5, 9]
    assert services.spread_over_months(NEXT_YEAR, 3, date(NEXT_YEAR, 1, 1), [2, 3, 5, 7, 11, 12]) == [
        first_working_day(NEXT_YEAR, 2),
        first_working_day(NEXT_YEAR, 5),
        first_working_day(NEXT_YEAR, 11),
    ]
