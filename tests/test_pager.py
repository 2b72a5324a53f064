"""The one pager: Flask-SQLAlchemy's paginate, clamped to the last page, and its links."""

from datetime import date

from auditapp.accounts.models import User
from auditapp.capa import services as capa
from auditapp.core.pages import paginate
from auditapp.extensions import db

from .support.capa import raise_nc


def test_a_page_past_the_end_shows_the_last_page(app, make_user):
    for n in range(5):
        make_user("auditor", email=f"pager{n}@example.com")
    query = db.select(User).order_by(User.id)
    assert [p.page for p in (paginate(query, 1, 2), paginate(query, 99, 2), paginate(query, -3, 2))] == [1, 3, 1]
    last = paginate(query, 99, 2)
    assert (last.total, last.pages, len(last.items), last.has_next) == (5, 3, 1, False)


def test_the_action_log_pages_with_the_shared_pager(client, login, make_user):
    lead = login("quality_lead")
    owner = make_user("supervisor")
    nc = raise_nc(lead)
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["Why"], "people")
    for n in range(51):
        capa.add_action(lead, nc, f"Action {n}", owner.id, date.today())
    db.session.commit()
    first = client.get("/nc/actions").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'href="?origin=&amp;state=open&amp;page=2"' in first
    assert "Page 2 of 2" in client.get("/nc/actions?page=7").get_data(as_text=True)
