"""Pages that belong to no domain: the phone's More menu."""

from flask import Blueprint, render_template

bp = Blueprint("home", __name__)


@bp.get("/menu")
def menu() -> str:
    """Everything the bottom bar has no room for on a phone."""
    return render_template("menu.html")
