"""The browser's URL patterns come from the app's URL map: the changes the page may keep offline,
the pages the service worker keeps, and the scripts it caches."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import url_for

from auditapp.outbox.replay import REPLAYABLE, REPLAYABLE_ENDPOINTS
from auditapp.pwa import routes
from auditapp.pwa.views import LAZY_SCRIPTS, OFFLINE_SCRIPTS, PAGE_BUNDLE, PAGE_SCRIPTS
from auditapp.web import assets

from .support.accounts import log_in


class Elements(HTMLParser):
    """Every start tag of a page, as (tag, attributes)."""

    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def sample_urls(app):
    """One URL for every rule of the app (each argument 12, or the first choice of an any()), with its endpoint."""

    def value(variable):
        if variable["converter"] == "any":
            return variable["arguments"].split(",")[0].strip(" '\"")
        return 12

    with app.test_request_context():
        return [
            (
                rule.endpoint,
                url_for(rule.endpoint, **{v["name"]: value(v) for v in routes.VARIABLE.finditer(rule.rule)}),
            )
            for rule in app.url_map.iter_rules()
        ]


def matches(pattern, path):
    # The patterns use only syntax JavaScript and Python read alike; Python checks them here.
    assert "(?P" not in pattern and pattern.startswith("^") and pattern.endswith("$")
    return re.match(pattern, path)


@pytest.mark.parametrize(
    "rule, pattern, args",
    [
        (
            "/audits/<int:audit_id>/items/<int:item_id>/answer",
            r"^/audits/(\d+)/items/(\d+)/answer$",
            ["audit_id", "item_id"],
        ),
        ("/photos/<photo_id>", r"^/photos/([^/]+)$", ["photo_id"]),
        ("/files/<string(length=2):code>.pdf", r"^/files/([^/]+)\.pdf$", ["code"]),
        ("/audits/mine", r"^/audits/mine$", []),
        ("/a+b/(c)/<int:n>", r"^/a\+b/\(c\)/(\d+)$", ["n"]),
    ],
)
def test_a_rule_becomes_an_anchored_pattern_with_a_group_per_argument(rule, pattern, args):
    assert routes.rule_pattern(rule) == (pattern, args)


def test_a_converter_the_browser_has_no_pattern_for_is_refused():
    with pytest.raises(ValueError, match="path"):
        routes.rule_pattern("/files/<path:rest>")


def test_an_endpoint_missing_from_the_url_map_is_refused_by_name(app):
    with pytest.raises(LookupError, match="audits.no_such_page"):
        routes.url_patterns(app.url_map, ["audits.no_such_page"])


@pytest.mark.parametrize("endpoints", [REPLAYABLE_ENDPOINTS, routes.KEPT_OFFLINE], ids=["queueable", "kept"])
def test_patterns_match_their_endpoints_urls_and_refuse_every_other(app, endpoints):
    patterns = routes.url_patterns(app.url_map, endpoints)
    # An item's routes have a second rule for the copies of a repeating section (.../copies/<copy>/...).
    assert list(dict.fromkeys(p["endpoint"] for p in patterns)) == list(endpoints)
    urls = sample_urls(app)
    for route in patterns:
        matched = {endpoint for endpoint, url in urls if matches(route["pattern"], url)}
        assert matched == {route["endpoint"]}
        own = next(url for endpoint, url in urls if endpoint == route["endpoint"] and matches(route["pattern"], url))
        assert list(matches(route["pattern"], own).groups()) == ["12"] * len(route["args"])
        near_misses = [own + "/", own + "/x", "/x" + own, own.rsplit("/", 1)[0]]
        if route["args"]:
            near_misses.append(own.replace("/12", "/1/2", 1))
        for near_miss in near_misses:
            assert not matches(route["pattern"], near_miss), near_miss


def test_the_changes_kept_offline_are_the_replayable_endpoints_with_real_urls(app, plan):
    audit = plan()
    item = audit.checklist_version.items[0]
    queueable = routes.queueable(app.url_map)
    with app.test_request_context():
        for endpoint in REPLAYABLE_ENDPOINTS:
            url = url_for(endpoint, audit_id=audit.id, item_id=item.id)  # extra arguments go to the query
            path = url.split("?")[0]
            found = [r for r in queueable if matches(r["pattern"], path)]
            assert [r["endpoint"] for r in found] == [endpoint]
            values = dict(zip(found[0]["args"], matches(found[0]["pattern"], path).groups(), strict=True))
            assert values == {k: str(v) for k, v in (("audit_id", audit.id), ("item_id", item.id)) if k in values}


def test_the_page_gives_its_script_the_queueable_patterns(app, client, make_user):
    assert "data-outbox-routes" not in client.get("/login").get_data(as_text=True)  # nobody to keep changes for
    log_in(client, make_user("auditor"))
    body = next(
        attrs for tag, attrs in Elements(client.get("/audits/mine").get_data(as_text=True)).found if tag == "body"
    )
    given = json.loads(body["data-outbox-routes"])
    assert given == routes.queueable(app.url_map)
    assert list(dict.fromkeys(r["endpoint"] for r in given)) == list(REPLAYABLE_ENDPOINTS)
    copies = [r for r in given if "copy" in r["args"]]
    assert [r["endpoint"] for r in copies] == ["audits.answer", "audits.note", "audits.save_item_finding"]


def test_the_audit_screen_marks_each_queueable_form_with_the_declared_kind(app, client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    elements = Elements(client.get(f"/audits/{audit.id}").get_data(as_text=True)).found
    forms = [attrs for tag, attrs in elements if tag == "form" and "data-change" in attrs]
    seen = set()
    for form in forms:
        url = form.get("hx-post") or form["action"]  # an item's forms name their URL in hx-post only
        if "{item}" in url:  # the finding form's <template>, opened offline into an item
            url = url.replace("{item}", str(audit.checklist_version.items[0].id))
        route = next(r for r in routes.queueable(app.url_map) if matches(r["pattern"], url))
        assert form["data-change"] == route["kind"] == REPLAYABLE[route["endpoint"]].kind
        seen.add(route["endpoint"])
    assert seen == set(REPLAYABLE_ENDPOINTS)
    # Each item's answer form names its item; the item's element (li#item-N) is what its forms swap
    # (the list's hx-target, closest .item), and its clause links to where the item is fetched.
    markers = [attrs for tag, attrs in elements if tag == "form" and "data-item" in attrs]
    assert [int(m["data-item"]) for m in markers] == [i.id for i in audit.checklist_version.items]
    item_ids = [attrs["id"] for tag, attrs in elements if tag == "li" and "item" in attrs.get("class", "").split()]
    assert item_ids == [f"item-{m['data-item']}" for m in markers]
    lists = [attrs for tag, attrs in elements if tag == "ol" and "items" in attrs.get("class", "").split()]
    assert lists and all((ol["hx-target"], ol["hx-swap"]) == ("closest .item", "outerHTML") for ol in lists)
    links = [attrs["href"] for tag, attrs in elements if tag == "a" and attrs.get("class") == "clause"]
    with app.test_request_context():
        assert links == [url_for("audits.item", audit_id=audit.id, item_id=m["data-item"]) for m in markers]


def test_the_service_worker_keeps_the_pages_named_once(app, client):
    sw = client.get("/sw.js").get_data(as_text=True)
    kept = re.search(r"^const KEPT = (.*)\.map\(", sw, re.M)
    assert json.loads(kept.group(1)) == routes.kept_offline(app.url_map)


def test_every_script_a_page_runs_is_in_the_app_shell(app, client, make_user):
    log_in(client, make_user("auditor"))
    elements = Elements(client.get("/audits/mine").get_data(as_text=True)).found
    scripts = [attrs["src"] for tag, attrs in elements if tag == "script" and "src" in attrs]
    worker = client.get("/sw.js").get_data(as_text=True)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", worker).group(1))
    with app.test_request_context():
        page = assets.bundle_url(PAGE_BUNDLE)
        assert scripts == [
            url_for("static", filename="js/app.js"),
            url_for("static", filename="vendor/htmx-2.0.11.min.js"),
            page,
        ]
        lazy = [url_for("static", filename=name) for name in LAZY_SCRIPTS]
    assert set(scripts) | set(lazy) <= set(shell)  # fetched later, offline too
    offline = sorted(
        p.relative_to(app.static_folder).as_posix() for p in Path(app.static_folder, "js", "offline").glob("*.js")
    )
    assert offline == sorted(OFFLINE_SCRIPTS) and set(OFFLINE_SCRIPTS) <= set(PAGE_SCRIPTS)


def test_the_page_scripts_come_as_one_file_in_their_order_cached_for_a_year(app, client):
    with app.test_request_context():
        url = assets.bundle_url(PAGE_BUNDLE)
    response = client.get(url)  # public, like the files it joins: the login page's worker needs it
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    body = response.get_data(as_text=True)
    files = [Path(app.static_folder, name).read_bytes() for name in PAGE_SCRIPTS]
    starts = [body.index(assets.minified(text).decode()) for text in files]  # each file whole, minified
    assert all(len(assets.minified(text)) < 0.8 * len(text) for text in files)  # their comments left out
    assert starts == sorted(starts) and len(set(starts)) == len(PAGE_SCRIPTS)
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    stale = client.get(url.split("?")[0] + "?v=00000000")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert client.get("/assets/nothing.js").status_code == 404
