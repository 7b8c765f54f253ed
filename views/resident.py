"""A resident's own requests."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from views.roles import role_required
from workflows import clock, queries

bp = Blueprint("resident", __name__, url_prefix="/my")


@bp.get("/")
@role_required("resident")
def tickets():
    """My requests, the most urgent first."""
    found, _total = queries.tickets(current_user, clock.now(), per_page=200)
    return render_template("resident/tickets.html", tickets=found)
