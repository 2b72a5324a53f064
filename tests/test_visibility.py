"""Who may see an audit or a nonconformity is one SQL rule per domain, used by lists and details alike."""

from datetime import date

from auditapp.audits import recording
from auditapp.audits import services as audits
from auditapp.capa import services as capa
from auditapp.extensions import db

from .support.accounts import log_in, make_area
from .support.audits import items_of
from .support.capa import raise_nc
from .support.crawl import crawl


def test_a_former_supervisor_sees_the_same_audits_listed_as_opened(client, plan, make_user):
    """Owning an area shows its audits only while one is a supervisor, in the list and the detail alike."""
    owner = make_user("supervisor", name="Former Supervisor")
    audit = plan(area=make_area("Paint", owner))
    owner.role = "auditor"  # moved to the audit team, still recorded as the area's owner
    db.session.commit()
    log_in(client, owner)
    listed = audit.number in client.get("/audits/").get_data(as_text=True)
    opened = client.get(f"/audits/{audit.id}").status_code == 200
    assert (listed, opened) == (False, False)
    owner.role = "supervisor"
    db.session.commit()
    listed = audit.number in client.get("/audits/").get_data(as_text=True)
    assert (listed, client.get(f"/audits/{audit.id}").status_code) == (True, 200)


def test_the_audit_rule_answers_lists_and_single_audits_the_same(plan, make_user):
    supervisor, auditor, other = make_user("supervisor"), make_user("auditor"), make_user("auditor")
    mine = plan(lead=auditor, area=make_area("Assembly", supervisor))
    theirs = plan(lead=other)
    for user in (supervisor, auditor, other, make_user("quality_lead")):
        listed = {a.id for a in audits.visible_audits(user)}
        assert listed == {a.id for a in (mine, theirs) if audits.can_view(user, a)}


def test_similar_nonconformities_never_show_another_areas(client, make_user):
    """The "similar in the last 12 months" box used to list NCs the viewer could not open."""
    lead = make_user("quality_lead")
    paint, assembly = make_user("supervisor"), make_user("supervisor")
    own = raise_nc(lead, make_area("Paint", paint), clause="8.5.2", description="Own area's labels missing")
    raise_nc(lead, make_area("Assembly", assembly), clause="8.5.2", description="Secret assembly problem")
    log_in(client, paint)
    page = client.get(f"/nc/{own.id}").get_data(as_text=True)
    assert "Secret assembly problem" not in page
    assert [nc.description for nc in capa.similar(lead, own, own.raised_at.date())] == ["Secret assembly problem"]
    assert capa.similar(paint, own, own.raised_at.date()) == []


def test_a_user_of_one_area_finds_nothing_of_another_area_on_any_page(client, plan, make_user):
    """Crawl every page the paint supervisor and the paint auditor can reach: no trace of assembly."""
    lead = make_user("quality_lead")
    paint_owner, assembly_owner = make_user("supervisor"), make_user("supervisor")
    paint_auditor, assembly_auditor = make_user("auditor"), make_user("auditor")
    paint, assembly = make_area("Paint shop", paint_owner), make_area("Assembly hall", assembly_owner)
    secrets = []
    for area, auditor, owner, word in (
        (paint, paint_auditor, paint_owner, "Vermilion"),
        (assembly, assembly_auditor, assembly_owner, "Zanzibar"),
    ):
        audit = plan(lead=auditor, area=area, title=f"{word} walk")
        item = items_of(audit)["7.1.5-gauges"]
        recording.record_answer(auditor, audit, item, "minor_nc", 0)
        recording.record_item_finding(auditor, audit, item, {"statement": f"{word} gauge overdue", "evidence": "Tag"})
        nc = raise_nc(lead, area, clause="7.1.5", description=f"{word} labels missing")
        capa.record_containment(lead, nc, f"{word} rack quarantined")
        capa.identify_cause(lead, nc, ["No printer"], "machine")
        capa.add_action(lead, nc, f"{word} printer installed", owner.id, date.today())
        db.session.commit()
        secrets.append(word)
    for user in (paint_owner, paint_auditor):
        log_in(client, user)
        pages, _forms = crawl(client)
        seen_own = [p for p, html in pages.items() if "Vermilion" in html]
        leaks = [p for p, html in pages.items() if "Zanzibar" in html or "Assembly hall" in html]
        assert seen_own, "the crawl should reach the user's own area"
        assert leaks == [], f"{user.email} sees another area on {leaks}"
        client.post("/logout")
