"""Writing checklists in the browser (issue 15): who may, the live check, preview and comparison, publishing
as the next version through the folder's import path, downloads as typed, and nothing typed lost."""

import io
import re
from datetime import date
from html import unescape

import pytest

from auditapp.accounts.models import User
from auditapp.audits import services as audits
from auditapp.checklists import services
from auditapp.checklists.models import Checklist, ChecklistVersion
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.accounts import log_in
from .support.app import run_at_once
from .support.audits import WALK

HX = {"HX-Request": "true"}
EDITED = WALK.replace("version: 1", "version: 2  # raised for the new gauge question").replace(
    "Are gauges within calibration?", "Are gauges and torque wrenches within calibration?"
)
BROKEN = """\
id: walk
title: Floor walk
version: 2
sections:
  - title: Support
    items:
      - id: gauges
        reference: "7.1.5"
        question: Are gauges within calibration?
        photo: sometimes
      - id: training
        reference: "7.2"
"""


def textarea_of(response) -> str:
    """The editor's text as the browser would show it (the first newline after <textarea> is markup)."""
    found = re.search(r"<textarea[^>]*data-editor[^>]*>\n(.*?)</textarea>", response.get_data(as_text=True), re.S)
    assert found, "no editor on the page"
    return unescape(found.group(1))


def versions(key="walk"):
    return db.session.scalars(
        db.select(ChecklistVersion).join(Checklist).where(Checklist.key == key).order_by(ChecklistVersion.number)
    ).all()


def publish(client, text, **extra):
    return client.post("/checklists/editor/publish", data={"text": text, "key": "walk", "base": "1", **extra}, **{})


# --- who may ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "supervisor"])
def test_every_authoring_route_refuses_a_user_without_the_permission(client, login, walk, role):
    login(role)
    assert client.get("/checklists/new").status_code == 403
    assert client.get("/checklists/walk/edit").status_code == 403
    assert client.post("/checklists/editor/check", data={"text": EDITED}, headers=HX).status_code == 403
    assert client.post("/checklists/editor/publish", data={"text": EDITED}).status_code == 403
    upload = {"upload": (io.BytesIO(EDITED.encode()), "walk.yaml")}
    assert client.post("/checklists/editor/upload", data=upload).status_code == 403
    assert [v.number for v in versions()] == [1]
    page = client.get("/checklists/").get_data(as_text=True)
    assert "New checklist" not in page and "/checklists/walk/edit" not in page


def test_a_quality_lead_grants_and_takes_back_the_permission_on_the_users_page(app, client, make_user, walk):
    lead = log_in(client, make_user("quality_lead"))
    author = make_user("auditor", name="Ada Author")
    page = client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{author.id}/checklist-author" in page and "Allow checklist authoring" in page

    refused = client.post(f"/admin/users/{author.id}/checklist-author", data={"allowed": "1"}, csrf=False)
    assert refused.status_code == 400 and not db.session.get(User, author.id).checklist_author

    granted = client.post(f"/admin/users/{author.id}/checklist-author", data={"allowed": "1"})
    assert granted.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, author.id).checklist_author
    logged = db.session.scalars(db.select(Event).filter_by(entity_type="user", entity_id=str(author.id))).all()
    assert logged[-1].actor_id == lead.id and logged[-1].changes == {"checklist_author": [False, True]}

    other = app.test_client()
    log_in(other, author)
    assert other.get("/checklists/new").status_code == 200
    assert 'href="/checklists/walk/edit"' in other.get("/checklists/").get_data(as_text=True)

    client.post(f"/admin/users/{author.id}/checklist-author", data={"allowed": "0"})
    assert other.get("/checklists/new").status_code == 403


def test_an_auditor_cannot_grant_the_permission(client, login, make_user):
    login("auditor")
    colleague = make_user("auditor")
    assert client.post(f"/admin/users/{colleague.id}/checklist-author", data={"allowed": "1"}).status_code == 403
    assert not db.session.get(User, colleague.id).checklist_author


# --- as the author types ------------------------------------------------------------------------------------


def test_the_live_check_shows_the_clis_problems_with_their_lines(client, login, walk):
    login("quality_lead")
    response = client.post("/checklists/editor/check", data={"text": BROKEN, "key": "walk", "base": "1"}, headers=HX)
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    assert 'id="editor-problems"' in html and "<html" not in html  # the fragment only
    assert '<div id="editor-results" class="editor-results" hx-swap-oob="true">' in html
    expected = services.check_text(BROKEN, "edited in the browser").problems
    assert len(expected) >= 2
    for problem in expected:  # each problem of the CLI's check, with a link to its line
        assert problem.line and f'data-line="{problem.line}">Line {problem.line}</a>' in html
        assert problem.message in html
    assert 'data-line="10">Line 10</a> <code>sections[0].items[0].photo</code>' in html
    assert "The preview and the comparison come back once the problems are fixed." in html


def test_the_live_check_previews_the_items_and_compares_with_the_current_version(client, login, walk):
    login("quality_lead")
    response = client.post("/checklists/editor/check", data={"text": EDITED, "key": "walk", "base": "1"}, headers=HX)
    html = unescape(response.get_data(as_text=True))
    assert "No problems" in html and "Publishing makes <strong>version 2</strong> of <code>walk</code>" in html
    preview = html[html.index('id="editor-preview"') :]
    assert 'id="item-7.1.5-gauges"' in preview and "Are gauges and torque wrenches within calibration?" in preview
    assert "Check three gauge labels." in preview  # guidance, as the auditor's screen offers it
    compare = html[html.index('id="editor-compare"') : html.index('id="editor-preview"')]
    assert "Compared with version 1" in compare
    assert "0 added · 0 removed · 0 renamed · 1 reworded · 4 unchanged" in compare
    assert "<del>Are gauges within calibration?</del>" in compare
    assert versions()[-1].number == 1  # checking saves nothing


def test_the_live_check_says_when_the_version_number_would_be_refused(client, login, walk):
    login("quality_lead")
    same_number = EDITED.replace("version: 2  #", "version: 1  #")
    response = client.post("/checklists/editor/check", data={"text": same_number}, headers=HX)
    html = unescape(response.get_data(as_text=True))
    assert 'data-line="3">Line 3</a> <code>version</code>: the content changed since version 1' in html
    assert "raise version to 2" in html
    assert "Are gauges and torque wrenches within calibration?" in html  # the preview stays, to compare
    unchanged = client.post("/checklists/editor/check", data={"text": WALK}, headers=HX).get_data(as_text=True)
    assert "nothing to publish: this is version 1 as it is" in unchanged


# --- publishing ---------------------------------------------------------------------------------------------


def test_edit_starts_from_the_stored_text_with_the_next_version_number(client, login, app):
    login("quality_lead")
    services.publish_text(WALK.replace("title: Floor walk", "title: Floor walk  # shown on the audit list"), None, "x")
    db.session.commit()
    text = textarea_of(client.get("/checklists/walk/edit"))
    assert text == WALK.replace("version: 1", "version: 2").replace(
        "title: Floor walk", "title: Floor walk  # shown on the audit list"
    )


def test_publish_makes_the_next_version_through_the_import_path_and_records_who(client, login, walk):
    lead = login("quality_lead")
    response = publish(client, EDITED)
    assert response.status_code == 303 and response.headers["Location"].endswith("/checklists/walk/v2")
    v1, v2 = versions()
    assert v2.number == 2 and v2.imported_by_id == lead.id and v2.source_text == EDITED
    assert v2.content_hash == services.check_text(EDITED, "x").content_hash  # as the folder would hash it
    assert [i.question for i in v2.items][0] == "Are gauges and torque wrenches within calibration?"
    assert v1.items[0].question == "Are gauges within calibration?"
    event = db.session.scalars(db.select(Event).filter_by(entity_type="checklist_version", entity_id=str(v2.id))).one()
    assert event.actor_id == lead.id and event.action == "imported"
    assert event.changes["version"] == 2 and event.changes["source"] == "edited in the browser"
    assert f"UTC by {lead.name}" in client.get("/checklists/walk/v2").get_data(as_text=True)


def test_an_older_audit_keeps_its_version_and_a_new_audit_uses_the_published_one(client, make_user, plan, walk):
    old_audit = plan(title="Before the change")
    lead = log_in(client, make_user("quality_lead"))
    assert publish(client, EDITED).status_code == 303
    new_audit = audits.plan_audit(
        lead, checklist_id=walk.id, title="After", planned_date=date.today(), lead_auditor_id=lead.id
    )
    db.session.commit()
    db.session.expire_all()
    old_audit = db.session.get(type(old_audit), old_audit.id)
    assert old_audit.checklist_version.number == 1 and new_audit.checklist_version.number == 2
    assert client.get(f"/audits/{old_audit.id}").status_code == 200
    old_page = client.get(f"/audits/{old_audit.id}").get_data(as_text=True)
    new_page = client.get(f"/audits/{new_audit.id}").get_data(as_text=True)
    assert "Are gauges within calibration?" in old_page and "torque wrenches" not in old_page
    assert "Are gauges and torque wrenches within calibration?" in new_page


def test_the_download_is_the_published_text_byte_for_byte_comments_included(client, login, walk):
    login("quality_lead")
    text = "# Floor walk, kept by the quality team.\n" + EDITED.replace("guidance:", "# ask first\n        guidance:")
    # A browser sends a textarea's lines ended by CRLF; the stored file has the files' "\n".
    assert publish(client, text.replace("\n", "\r\n")).status_code == 303
    download = client.get("/checklists/walk/v2/source")
    assert download.status_code == 200 and download.data == text.encode("utf-8")
    assert download.headers["Content-Disposition"] == 'attachment; filename="walk.yaml"'
    assert "# ask first" in download.get_data(as_text=True)


def test_a_new_checklist_starts_from_a_valid_starter_and_publishes_as_version_1(client, login):
    author = login("quality_lead")
    starter = textarea_of(client.get("/checklists/new"))
    assert "version: 1" in starter and "No problems" in client.get("/checklists/new").get_data(as_text=True)
    response = client.post("/checklists/editor/publish", data={"text": starter.replace("\n", "\r\n")})
    assert response.status_code == 303
    (version,) = versions("my-checklist")
    assert version.number == 1 and version.imported_by_id == author.id and version.source_text == starter


# --- nothing typed is lost ----------------------------------------------------------------------------------


def test_a_text_with_problems_comes_back_in_the_editor_unpublished(client, login, walk):
    login("quality_lead")
    response = publish(client, BROKEN)
    assert response.status_code == 422
    assert textarea_of(response) == BROKEN
    assert 'data-line="10">Line 10</a>' in response.get_data(as_text=True)
    assert [v.number for v in versions()] == [1]


def test_a_version_published_meanwhile_refuses_with_the_number_to_use_and_keeps_the_text(app, client, login, walk):
    login("quality_lead")
    colleague = app.test_client()
    log_in(colleague, db.session.scalar(db.select(User).filter_by(role="quality_lead")))
    assert publish(colleague, EDITED.replace("Check three", "Check five")).status_code == 303
    mine = EDITED.replace("Sample", "Look at")
    response = publish(client, mine)
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    assert textarea_of(response) == mine
    assert "raise version to 3" in html and 'data-line="3">Line 3</a>' in html
    assert "Version 2 was published" in html and "since you opened this editor" in html
    assert [v.number for v in versions()] == [1, 2]


def test_the_same_version_again_is_refused_as_nothing_to_publish(client, login, walk):
    login("quality_lead")
    response = publish(client, WALK)
    assert response.status_code == 422 and "nothing to publish" in response.get_data(as_text=True)
    assert textarea_of(response) == WALK


def test_an_expired_security_token_shows_the_editor_again_with_the_text(client, login, walk):
    login("quality_lead")
    response = publish(client, EDITED, csrf_token="stale", csrf=False)
    assert response.status_code == 400
    assert textarea_of(response) == EDITED
    assert "security check expired" in response.get_data(as_text=True)
    assert [v.number for v in versions()] == [1]
    check = client.post("/checklists/editor/check", data={"text": EDITED}, headers=HX, csrf=False)
    assert check.status_code == 400 and "security check expired" in check.get_data(as_text=True)


def test_an_anonymous_post_gets_no_editor(app, walk):
    response = app.test_client().post("/checklists/editor/publish", data={"text": EDITED}, csrf=False)
    assert response.status_code in (400, 401) and "data-editor" not in response.get_data(as_text=True)
    assert [v.number for v in versions()] == [1]


# --- input the editor must survive --------------------------------------------------------------------------


def test_a_text_over_1_mb_is_refused_with_its_size_and_kept(client, login, walk):
    login("quality_lead")
    big = EDITED + "# " + "x" * (1024 * 1024) + "\n"
    response = publish(client, big)
    assert response.status_code == 422
    assert "checklists are limited to 1 MB" in response.get_data(as_text=True)
    assert textarea_of(response) == big
    check = client.post("/checklists/editor/check", data={"text": big}, headers=HX)
    assert check.status_code == 200 and "limited to 1 MB" in check.get_data(as_text=True)


def test_a_text_far_over_the_limit_gets_a_clear_413(client, login, walk):
    login("quality_lead")
    huge = "# " + "x" * (4 * 1024 * 1024)
    response = client.post("/checklists/editor/publish", data={"text": huge})
    assert response.status_code == 413 and "larger than a checklist may be" in response.get_data(as_text=True)
    check = client.post("/checklists/editor/check", data={"text": huge}, headers=HX)
    assert check.status_code == 413 and "larger than a checklist may be" in check.get_data(as_text=True)
    assert 'id="editor-problems"' in check.get_data(as_text=True)  # in the feedback's place, not an error page
    assert [v.number for v in versions()] == [1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a text file"),
        ("id: walk\ntitle: Gauge w\xe4lk\n".encode("latin-1"), "byte 0xe4 is not UTF-8; save the file as UTF-8"),
    ],
)
def test_an_upload_that_is_not_a_checklist_file_is_refused_and_the_typed_text_kept(client, login, content, message):
    login("quality_lead")
    response = client.post(
        "/checklists/editor/upload", data={"text": "id: typed\n", "upload": (io.BytesIO(content), "walk.yaml")}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert textarea_of(response) == "id: typed\n"


def test_an_upload_over_1_mb_is_refused_with_its_size_and_the_typed_text_kept(client, login):
    login("quality_lead")
    # The body built here: from a dict the test client spools it to a file it never closes.
    boundary = "----editor"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nid: typed\n\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; filename="walk.yaml"\r\n'
            "Content-Type: application/yaml\r\n\r\n"
        ).encode()
        + b"#" * (1536 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        "/checklists/editor/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 422
    assert "uploaded file walk.yaml: is 1,572,864 bytes; checklist files are limited to 1 MB" in unescape(
        response.get_data(as_text=True)
    )
    assert textarea_of(response) == "id: typed\n"


def test_an_uploaded_file_opens_in_the_editor_and_publishes_only_on_publish(client, login, walk):
    login("quality_lead")
    raw = ("\ufeff" + EDITED).replace("\n", "\r\n").encode("utf-8")  # a BOM and Windows line ends
    response = client.post("/checklists/editor/upload", data={"text": "", "upload": (io.BytesIO(raw), "walk.yaml")})
    assert response.status_code == 200
    assert textarea_of(response) == EDITED
    assert 'name="key" value="walk"' in response.get_data(as_text=True)
    assert [v.number for v in versions()] == [1]
    none_chosen = client.post("/checklists/editor/upload", data={"text": EDITED})
    assert none_chosen.status_code == 422 and textarea_of(none_chosen) == EDITED


@pytest.mark.parametrize(
    "text",
    [
        "",
        "version: 99999999999999999999\nid: walk\ntitle: t\nsections: [{title: s, items: [{id: a, reference: r, question: Why?}]}]\n",
        "id: walk\n\x00\n",
        "[" * 5000,  # the YAML parser takes 30 s over this: refused before it parses
        "- " * 800,  # past Python's recursion limit in the parser
        "a: &x [1]\nb: *x\n",
    ],
)
def test_odd_input_is_a_problem_not_a_server_error(client, login, walk, text):
    login("quality_lead")
    check = client.post("/checklists/editor/check", data={"text": text}, headers=HX)
    assert check.status_code == 200 and "problem" in check.get_data(as_text=True)
    response = client.post("/checklists/editor/publish", data={"text": text})
    assert response.status_code == 422
    assert [v.number for v in versions()] == [1]


# --- the hook for other sources (an XLSX import) ------------------------------------------------------------


def test_publish_text_returns_the_version_or_the_problems(app, make_user, walk):
    author = make_user("auditor")
    version, problems = services.publish_text(EDITED, author, "uploaded file walk.xlsx")
    db.session.commit()
    assert problems == [] and version.number == 2 and version.imported_by_id == author.id
    again, problems = services.publish_text(EDITED.replace("Check three", "Check four"), author, "walk.xlsx")
    assert again is None and [(p.line, p.field) for p in problems] == [(3, "version")]
    assert "raise version to 3" in problems[0].message


def test_two_authors_publishing_the_same_version_at_once_make_one_version(app, make_user, walk):
    authors = [make_user("quality_lead").id for _ in range(2)]
    outcomes = []

    def publish_one(n):
        author = db.session.get(User, authors[n])
        version, problems = services.publish_text(EDITED.replace("Check three", f"Check {n + 3}"), author, "editor")
        db.session.commit()
        outcomes.append((version is not None, [p.field for p in problems]))

    assert run_at_once(app, 2, publish_one) == []
    assert sorted(outcomes) == [(False, ["version"]), (True, [])]
    assert [v.number for v in versions()] == [1, 2]


def test_the_editor_is_under_checklists_in_the_menu(client, login, walk):
    login("quality_lead")
    page = client.get("/checklists/walk/edit").get_data(as_text=True)
    assert re.search(r'<a class="secondary" href="/checklists/" aria-current="page">', page)
