"""Supervisors (issue 14): new nonconformities to contain on My actions, in the menu and by e-mail once;
the action card says what the problem was; the NC page's steps answer htmx with its part, in place."""

import csv
import io
import threading
from datetime import date, timedelta

from auditapp.capa import services as capa
from auditapp.capa.models import ContainmentNotice, Nonconformity
from auditapp.core.jobs import last_run
from auditapp.extensions import db

from .support.accounts import log_in, make_area
from .support.audits import answer, items_of
from .support.capa import raise_nc
from .support.findings import NC_TEXT, post_finding
from .support.hosts import finish, host_env, start_flask, wait_for_one_to_exit
from .support.mail import smtp_server
from .support.photos import jpeg

SUBJECT = "[auditapp] New nonconformity needs containment: {}"


def _area_nc(make_user, **kwargs):
    lead = make_user("quality_lead")
    supervisor = make_user("supervisor", name="Sam Supervisor", email="sam@example.com")
    area = make_area("Machining", supervisor)
    return lead, supervisor, area, raise_nc(lead, area, **kwargs)


def test_a_new_nc_in_my_area_is_on_my_home_page_and_in_the_menu_until_contained(client, make_user):
    lead, supervisor, area, nc = _area_nc(make_user, severity="major", description="Spindle guard missing")
    elsewhere = raise_nc(lead, make_area("Stores"), description="Not mine")
    log_in(client, supervisor)
    page = client.get("/nc/actions/mine").get_data(as_text=True)
    assert "To contain today" in page and nc.number in page and "Spindle guard missing" in page
    assert elsewhere.number not in page
    assert f'href="/nc/{nc.id}#containment"' in page
    badge = 'data-testid="contain-badge"><span class="visually-hidden">, to contain: </span>{}</span>'
    assert badge.format(1) in page
    # The badge is in the menu of every page, not only on My actions.
    assert badge.format(1) in client.get("/nc/").get_data(as_text=True)
    # Contained in place: the fragment brings the menu's new count along (out of band), hidden at zero.
    response = client.post(f"/nc/{nc.id}/contain", data={"containment": "Locked out"}, headers={"HX-Request": "true"})
    assert (
        '<span id="contain-badge" class="nav-badge" data-testid="contain-badge" hx-swap-oob="true" hidden>'
        in response.get_data(as_text=True)
    )
    page = client.get("/nc/actions/mine").get_data(as_text=True)
    assert "To contain today" not in page and 'data-testid="contain-badge" hidden>' in page
    assert "Nothing to do" in page


def test_the_area_owner_is_mailed_once_per_new_nc(app, runner, make_user):
    lead, supervisor, area, nc = _area_nc(make_user, severity="major", description="Spindle guard missing")
    contained = raise_nc(lead, area, description="Already handled")
    capa.record_containment(lead, contained, "Done at once")
    no_owner = raise_nc(lead, make_area("Stores"), description="Nobody to tell")
    left = make_user("supervisor", email="left@example.com")
    gone = raise_nc(lead, make_area("Paint", left), description="Owner left")
    left.active = False
    db.session.commit()
    with smtp_server() as (inbox, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, BASE_URL="https://audit.example.com")
        first = runner.invoke(args=["actions", "remind"])
        assert first.exit_code == 0 and "1 reminder sent (smtp)" in first.output, first.output
        [(to, subject, body)] = inbox.deliveries()
        assert to == "sam@example.com" and subject == SUBJECT.format(nc.number)
        assert "Spindle guard missing" in body and f"https://audit.example.com/nc/{nc.id}#containment" in body
        assert "major" in body and "Machining" in body
        again = runner.invoke(args=["actions", "remind"])
        assert "0 reminders sent" in again.output and len(inbox.deliveries()) == 1
    sent = db.session.scalars(db.select(ContainmentNotice)).all()
    assert [(n.nonconformity_id, n.sent_to) for n in sent] == [(nc.id, "sam@example.com")]
    assert {contained.id, no_owner.id, gone.id}.isdisjoint({n.nonconformity_id for n in sent})


def test_two_hosts_reminding_at_once_mail_each_new_nc_once(app, make_user, tmp_path):
    """Two `flask actions remind` processes on one database and one SMTP server that holds every delivery
    until the first process has exited: the job's lock lets one send, the other skips."""
    lead, supervisor, area, nc = _area_nc(make_user)
    other = raise_nc(lead, area, description="Second one")
    gate = threading.Event()
    with smtp_server(gate) as (inbox, port):
        env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
        uri = app.config["SQLALCHEMY_DATABASE_URI"]
        hosts = [start_flask(["actions", "remind"], host_env(tmp_path / f"host{n}", uri, **env)) for n in (1, 2)]
        wait_for_one_to_exit(hosts, timeout=60)
        gate.set()
        outputs = [finish(h) for h in hosts]
    assert sorted(o.strip().splitlines()[-1] for o in outputs) == sorted(
        ["2 reminders sent (smtp)", "another host is running reminders; skipped"]
    ), outputs
    subjects = sorted(subject for _, subject, _ in inbox.deliveries())
    assert subjects == sorted([SUBJECT.format(nc.number), SUBJECT.format(other.number)])
    assert db.session.scalar(db.select(db.func.count(ContainmentNotice.id))) == 2
    assert last_run("reminders").last_outcome == "done"


def test_the_action_card_says_what_the_problem_was_with_its_photo(app, client, make_user):
    lead = make_user("quality_lead")
    supervisor = make_user("supervisor")
    log_in(client, lead)
    response = client.post(
        "/nc/new",
        data={
            "source": "customer_complaint",
            "clause": "8.5.1",
            "severity": "minor",
            "area_id": "",
            "description": "Burr on housing edge, lot 4411",
            "photo": (io.BytesIO(jpeg()), "burr.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    nc = db.session.scalars(db.select(Nonconformity)).one()
    capa.record_containment(lead, nc, "Lot held")
    capa.identify_cause(lead, nc, ["Worn deburring tool"], "machine")
    action = capa.add_action(lead, nc, "Replace the deburring tool", supervisor.id, date.today() + timedelta(days=7))
    db.session.commit()
    client = app.test_client()
    log_in(client, supervisor)
    page = client.get("/nc/actions/mine").get_data(as_text=True)
    assert "The problem:</span> Burr on housing edge, lot 4411" in page
    assert 'alt="Evidence photo of ' + nc.number + '"' in page and "size=thumb" in page
    assert "data-photo-preview" in page and 'class="photo-chosen"' in page
    # Completed in place: the card alone comes back, still saying what the problem was.
    done = client.post(
        f"/nc/actions/{action.id}/complete", data={"note": "Tool replaced"}, headers={"HX-Request": "true"}
    )
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "<html" not in body and f'id="action-{action.id}"' in body
    assert "Burr on housing edge" in body and "Tool replaced" in body


def test_nc_steps_answer_htmx_with_the_page_part_in_place(client, make_user, htmx_headers):
    lead, supervisor, area, nc = _area_nc(make_user)
    log_in(client, supervisor)
    page = client.get(f"/nc/{nc.id}").get_data(as_text=True)
    assert 'data-next-step="containment"' in page and 'hx-target="#nc-detail"' in page
    response = client.post(f"/nc/{nc.id}/contain", data={"containment": "Locked out"}, headers=htmx_headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and body.lstrip().startswith('<div id="nc-detail"')
    assert f"Containment recorded for {nc.number}." in body and 'data-next-step="cause"' in body
    # 5 Whys: "Add a why" keeps what was typed, adds an empty one and gives it the focus.
    response = client.post(
        f"/nc/{nc.id}/cause", data={"why": ["Guard removed for cleaning"], "op": "add"}, headers=htmx_headers
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Guard removed for cleaning" in body
    assert '<textarea id="why-1" name="why" rows="2" placeholder="Why 2?" autofocus>' in body
    # Refused: 422, in place, everything typed kept, the reason beside the field.
    response = client.post(
        f"/nc/{nc.id}/cause",
        data={"why": ["Guard removed for cleaning", "No interlock"], "category": "", "op": "save"},
        headers=htmx_headers,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert "No interlock" in body and 'class="error"' in body
    response = client.post(
        f"/nc/{nc.id}/cause",
        data={"why": ["Guard removed for cleaning", "No interlock"], "category": "machine", "op": "save"},
        headers=htmx_headers,
    )
    assert response.status_code == 200 and 'data-next-step="actions"' in response.get_data(as_text=True)
    response = client.post(
        f"/nc/{nc.id}/actions",
        data={"description": "Fit an interlock", "owner_id": str(supervisor.id), "due_date": "not a date"},
        headers=htmx_headers,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Fit an interlock" in body and "<details open>" in body
    # Without htmx the page still works: redirected to the step, the message flashed.
    response = client.post(f"/nc/{nc.id}/contain", data={"containment": "Locked out, tagged"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/nc/{nc.id}#containment")


def test_someone_with_nothing_to_do_gets_no_step_to_open_at(client, make_user):
    lead, supervisor, area, nc = _area_nc(make_user)
    auditor = make_user("auditor")
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["No check"], "method")
    capa.add_action(lead, nc, "Check the other lines", auditor.id, date.today())
    db.session.commit()
    log_in(client, auditor)
    page = client.get(f"/nc/{nc.id}").get_data(as_text=True)
    assert 'id="nc-detail"' in page and "data-next-step" not in page


def test_the_csv_says_major_as_the_screen_does(client, make_user):
    lead, supervisor, area, nc = _area_nc(make_user, severity="major")
    log_in(client, lead)
    response = client.get("/nc/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][5] == "Severity" and rows[1][5] == "Major"


def test_an_audit_finding_reaches_the_supervisor_the_same_day_and_the_csv_keeps_its_iso_content(
    app, client, runner, plan, make_user
):
    supervisor = make_user("supervisor", email="sam@example.com")
    area = make_area("Machining", supervisor)
    auditor = make_user("auditor")
    audit = plan(lead=auditor, area=area)
    log_in(client, auditor)
    item = items_of(audit)["8.5.2-traceability"]
    answer(client, audit, item, "major_nc")
    post_finding(client, audit, item, {**NC_TEXT, "why_major": "Systemic"})
    nc = db.session.scalars(db.select(Nonconformity)).one()
    with smtp_server() as (inbox, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
        assert "1 reminder sent (smtp)" in runner.invoke(args=["actions", "remind"]).output
        assert [(to, subject) for to, subject, _ in inbox.deliveries()] == [
            ("sam@example.com", SUBJECT.format(nc.number))
        ]
    home = app.test_client()
    log_in(home, supervisor)
    page = home.get("/nc/actions/mine").get_data(as_text=True)
    assert nc.number in page and NC_TEXT["statement"] in page
    lead = make_user("quality_lead")
    exports = app.test_client()
    log_in(exports, lead)
    rows = list(csv.reader(io.StringIO(exports.get("/nc/export.csv").get_data(as_text=True))))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Severity"] == "Major" and record["Description"] == NC_TEXT["statement"]
    assert record["Requirement"] == NC_TEXT["requirement"] and record["Objective evidence"] == NC_TEXT["evidence"]
