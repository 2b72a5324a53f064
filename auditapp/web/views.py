"""The front door: send each role to its home screen."""
from flask import Blueprint, redirect, render_template
from flask_login import current_user

from ..accounts.services import home_url

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Redirect to the current user's home screen."""
    return redirect(home_url(current_user))


@bp.get("/health")
def health():
    """A trivial answer (behind login like every page): the baseline bench/answer.py compares with."""
    return "ok", 200, {"Content-Type": "text/plain"}


@bp.get("/menu")
def menu():
    """Everything the bottom bar has no room for on a phone."""
    return render_template("menu.html")
