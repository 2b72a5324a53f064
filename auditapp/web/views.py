"""Pages that belong to no domain: the phone's More menu and a trivial health answer."""

from flask import Blueprint, render_template

bp = Blueprint("home", __name__)


@bp.get("/health")
def health() -> tuple[str, int, dict[str, str]]:
    """A trivial answer (behind login like every page): the baseline bench/answer.py compares with."""
    return "ok", 200, {"Content-Type": "text/plain"}


@bp.get("/menu")
def menu() -> str:
    """Everything the bottom bar has no room for on a phone."""
    return render_template("menu.html")
