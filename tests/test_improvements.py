"""The improvement register: observations and OFIs sync in; a quality lead acts, raises an NC, or declines."""

from datetime import date, timedelta

from auditapp.capa.models import Nonconformity
from auditapp.extensions import db
from auditapp.improvements.models import Improvement

from .support.accounts import log_in
from .support.audits import answer, items_of
from .support.findings import post_finding


def entries():
    db.session.expire_all()
    return db.session.scalars(db.select(Improvement).order_by(Improvement.id)).all()


def ofi_on(client, plan, make_user, grade="ofi"):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.4-storage"]
    answer(client, audit, item, grade)
    post_finding(client, audit, item, {"statement": "Racks could be labelled by lane."})
    client.post("/logout")
    return audit, item, lead


def test_observations_and_ofis_enter_the_register_when_saved(client, plan, make_user):
    audit, item, lead = ofi_on(client, plan, make_user)
    [entry] = entries()
    assert (entry.kind, entry.clause, entry.status, entry.audit_id) == ("ofi", "8.5.4", "new", audit.id)
    assert entry.description == "Racks could be labelled by lane."
    log_in(client, lead)
    answer(client, audit, item, "conform")
    assert entries()[0].status == "withdrawn"
    answer(client, audit, item, "observation")
    [entry] = entries()
    assert entry.status == "new" and entry.kind == "observation"
    assert db.session.scalar(db.select(db.func.count(Nonconformity.id))) == 0


def test_quality_lead_raises_an_action_and_its_owner_completes_it(client, plan, make_user):
    ofi_on(client, plan, make_user)
    owner = make_user("supervisor")
    [entry] = entries()
    log_in(client, make_user("quality_lead"))
    page = client.get("/improvements/").get_data(as_text=True)
    assert "Racks could be labelled by lane." in page and "Raise an action" in page
    due = (date.today() + timedelta(days=14)).isoformat()
    assert (
        client.post(
            f"/improvements/{entry.id}/action",
            data={"description": "Lane labels", "owner_id": owner.id, "due_date": due},
        ).status_code
        == 302
    )
    assert entries()[0].status == "action_raised"
    client.post("/logout")
    log_in(client, owner)
    assert client.post(f"/improvements/{entry.id}/done", data={"note": "Labels on all 12 lanes"}).status_code == 302
    assert entries()[0].status == "action_done" and entries()[0].action_note == "Labels on all 12 lanes"


def test_an_entry_can_become_a_nonconformity_or_be_declined(client, plan, make_user):
    ofi_on(client, plan, make_user)
    ofi_on(client, plan, make_user, grade="observation")
    first, second = entries()
    log_in(client, make_user("quality_lead"))
    client.post(f"/improvements/{first.id}/nc", data={"severity": "minor"})
    nc = db.session.scalar(db.select(Nonconformity))
    assert nc.source == "improvement_register" and entries()[0].nonconformity_id == nc.id
    refused = client.post(f"/improvements/{first.id}/decline", data={"reason": "changed my mind"})
    assert refused.status_code == 422 and b"A decision was already taken" in refused.data
    empty = client.post(f"/improvements/{second.id}/action", data={"description": "Lane labels", "owner_id": ""})
    assert empty.status_code == 422 and b"Choose who owns the action." in empty.data
    assert b">Lane labels</textarea>" in empty.data  # what was typed comes back
    assert entries()[1].status == "new"
    client.post(f"/improvements/{second.id}/decline", data={"reason": "Already covered by the 5S plan"})
    assert entries()[1].status == "declined"
    again = client.post(f"/improvements/{second.id}/decline", data={"reason": "twice"})
    assert again.status_code == 422 and b"A decision was already taken" in again.data


def test_only_quality_leads_decide(client, plan, make_user):
    audit, _, lead = ofi_on(client, plan, make_user)
    [entry] = entries()
    log_in(client, lead)  # the auditor sees the entries of their audit, but does not decide
    assert b"Racks could be labelled" in client.get("/improvements/").data
    assert client.post(f"/improvements/{entry.id}/decline", data={"reason": "no"}).status_code == 403
    client.post("/logout")
    log_in(client, make_user("supervisor"))
    assert b"Racks could be labelled" not in client.get("/improvements/").data
    assert client.post(f"/improvements/{entry.id}/decline", data={"reason": "no"}).status_code == 404


def test_empty_register(client, login):
    login("quality_lead")
    assert b"Nothing registered yet" in client.get("/improvements/").data
