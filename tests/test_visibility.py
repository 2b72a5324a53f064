"""Who may see an audit or a nonconformity is one SQL rule per domain, used by lists and details alike."""
from auditapp.audits import services as audits
from auditapp.capa import services as capa
from auditapp.extensions import db

from .support.accounts import log_in, make_area
from .support.capa import raise_nc


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
