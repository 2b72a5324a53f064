"""People and places for tests: the password every test user has, logging a test client in, an area."""

from auditapp.accounts import services as accounts
from auditapp.extensions import db

PASSWORD = "correct horse battery"


def log_in(client, user, password=PASSWORD):
    """Log `user` in on a Flask test client; returns the user."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data
    return user


def make_area(name="Machining", owner=None):
    area = accounts.create_area(None, name, "", owner.id if owner else None)
    db.session.commit()
    return area
