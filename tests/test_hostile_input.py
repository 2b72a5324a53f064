"""No input yields a 500: every form a user can reach, posted with NUL bytes, over-long text and wrong types.

The demo data gives every screen something to show; each role crawls the pages it can reach from
its home screen, reads every POST form on them, and posts three hostile variants of each. Runs on
SQLite and on PostgreSQL (which refuses NUL bytes in text and over-long values outright).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from auditapp.accounts import services as accounts
from auditapp.capa import services as capa
from auditapp.extensions import db

from .support.accounts import PASSWORD, log_in
from .support.audits import answer, items_of
from .support.capa import raise_nc
from .support.crawl import crawl
from .support.findings import finding_of, post_finding

ROLES = ["auditor@example.com", "supervisor@example.com", "quality@example.com", "admin@example.com"]
MAX_PAGES = 120
SAME_SHAPE = 2  # forms posted per shape (action with numbers folded, and its field names)
VARIANTS = {
    "nul": lambda name, value: "a\x00b",
    "long": lambda name, value: "x" * 20_000,
    "wrong type": lambda name, value: ["abc", "-1", "99999999999999999999"][len(name) % 3],
}


@pytest.fixture
def demo(app, shipped_checklists):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for email in ROLES:
        user = accounts.find_user(email)
        accounts.update_user(None, user, user.name, user.role, True, PASSWORD)
    db.session.commit()


def _shape(action, fields):
    return re.sub(r"\d+|[0-9a-f-]{36}", "N", action), tuple(sorted(n for n, _t, _v in fields))


@pytest.mark.parametrize("email", ROLES)
def test_no_form_answers_hostile_input_with_a_500(client, demo, email):
    log_in(client, accounts.find_user(email))
    pages, forms = crawl(client, MAX_PAGES)
    assert len(pages) > 5 and forms, "the crawl found nothing to post to"
    shapes, failures, posted = {}, [], 0
    for action, fields in forms:
        shape = _shape(action, fields)
        shapes[shape] = shapes.get(shape, 0) + 1
        if shapes[shape] > SAME_SHAPE or urlsplit(action).path == "/logout":
            continue
        for variant, hostile in VARIANTS.items():
            data = {}
            for name, kind, value in fields:
                keep = name in ("csrf_token", "change_id") or (kind == "hidden" and variant != "wrong type")
                data.setdefault(name, []).append(value if keep else hostile(name, value))
            response = client.post(action, data=data)
            posted += 1
            if response.status_code >= 500:
                failures.append(f"{variant} -> {action} ({', '.join(sorted(data))}): {response.status_code}")
    assert posted > 20
    assert failures == []


def test_an_unexpected_error_page_carries_the_security_headers(app, client, login):
    """A 500 (here: a view that fails) still answers with CSP, nosniff and frame DENY, and rolls back."""

    @app.get("/boom")
    def boom():
        db.session.execute(db.text("SELECT no_such_column FROM users"))

    app.config["PROPAGATE_EXCEPTIONS"] = False
    login("auditor")
    response = client.get("/boom")
    assert response.status_code == 500
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Something went wrong on the server, and nothing was saved." in response.get_data(as_text=True)


def test_a_finding_id_already_used_is_refused_not_a_500(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    gauges, trace = items_of(audit)["7.1.5-gauges"], items_of(audit)["8.5.2-traceability"]
    log_in(client, lead)
    for item in (gauges, trace):
        answer(client, audit, item, "minor_nc")
    first = post_finding(client, audit, gauges, {"statement": "Gauge overdue", "evidence": "Label"})
    taken = finding_of(audit, gauges).id
    assert first.status_code == 200
    reused = post_finding(client, audit, trace, {"statement": "Other", "evidence": "Label", "finding_id": taken})
    assert reused.status_code == 409 and b"already saved elsewhere" in reused.data
    adhoc = client.post(
        f"/audits/{audit.id}/findings",
        data={"clause": "7.5", "grade": "observation", "statement": "Reused id", "finding_id": taken},
    )
    assert adhoc.status_code == 409
    assert finding_of(audit, trace) is None


def test_a_cause_category_that_is_not_on_the_list_is_refused(client, make_user):
    lead = make_user("quality_lead")
    nc = raise_nc(lead)
    capa.record_containment(lead, nc, "Held")
    db.session.commit()
    log_in(client, lead)
    for op in ("add", "save", "remove:0"):
        response = client.post(f"/nc/{nc.id}/cause", data={"op": op, "why": ["Because"], "category": "x" * 25})
        assert response.status_code == 422 and b"Choose the cause category from the list." in response.data
    assert client.post(f"/nc/{nc.id}/cause", data={"op": "drop table", "why": ["x"]}).status_code == 422


@pytest.mark.parametrize(
    "query",
    [
        "/nc/?clause=a%00b&q=%00&owner=abc&since=yesterday",
        "/nc/actions?origin=%00&state=%00&page=x",
        "/nc/export.csv?clause=%00",
        "/reports/audit-results.csv?since=%00&until=99999-1-1",
        "/programme/?year=%00",
        "/audits/?page=%00",
    ],
)
def test_hostile_query_strings_are_not_a_500(client, login, query):
    login("quality_lead")
    assert client.get(query).status_code < 500


@pytest.mark.parametrize("url", ["/nc/export.csv", "/reports/audit-results.csv"])
def test_csv_downloads_name_their_charset_once(client, login, url):
    login("quality_lead")
    assert client.get(url).headers["Content-Type"] == "text/csv; charset=utf-8"
