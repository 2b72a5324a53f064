"""My audits names what the phone keeps for offline use without a tap: today's audits and those in progress."""

import io
import json
import re
from datetime import date, timedelta

from PIL import Image

from auditapp.extensions import db
from auditapp.photos.models import Photo

from .support.accounts import log_in
from .support.audits import items_of


def auto_offline(client) -> list[str]:
    """Every visit's URLs, then those fetched once."""
    html = client.get("/audits/mine").get_data(as_text=True)
    found = re.search(r"data-auto-offline='([^']*)' data-auto-offline-once='([^']*)'", html)
    return json.loads(found.group(1)) + json.loads(found.group(2)) if found else []


def test_today_s_and_started_audits_are_kept_without_a_tap_and_later_ones_are_not(client, plan, make_user):
    lead = make_user("auditor")
    today = plan(lead=lead, title="Today")
    started = plan(lead=lead, planned=date.today() - timedelta(days=3), title="Started")
    later = plan(lead=lead, planned=date.today() + timedelta(days=9), title="Later")
    log_in(client, lead)
    item = items_of(started)["8.5.2-traceability"]
    client.post(
        f"/audits/{started.id}/items/{item.id}/answer",
        data={"result": "conform", "base_revision": 0},
        headers={"HX-Request": "true", "X-Change-Id": "chg-auto0001"},
    )
    jpeg = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 30, 200)).save(jpeg, "JPEG")
    client.post(
        f"/audits/{started.id}/photos",
        data={"item_id": str(item.id), "photo": (io.BytesIO(jpeg.getvalue()), "p.jpg", "image/jpeg")},
        content_type="multipart/form-data",
        headers={"HX-Request": "true", "X-Change-Id": "chg-auto0002"},
    )
    photo = db.session.scalars(db.select(Photo).filter_by(audit_id=started.id)).one()
    urls = auto_offline(client)
    assert f"/photos/{photo.id}?size=thumb" in urls
    for audit in (today, started):  # an audit with answers (in progress) stays on the list
        assert f"/audits/{audit.id}" in urls and f"/audits/{audit.id}/guidance" in urls
    assert f"/audits/{later.id}" not in urls
    assert len(urls) == len(set(urls))


def test_a_member_who_only_follows_gets_nothing_kept(client, plan, make_user):
    follower = make_user("quality_lead")
    plan()
    log_in(client, follower)
    assert auto_offline(client) == []
