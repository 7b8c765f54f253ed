"""A butler's (or technician's) queue: open work of their areas, nearest deadline first."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from views.roles import role_required
from workflows import clock, queries
from workflows.engine import current_rules

bp = Blueprint("butler", __name__, url_prefix="/queue")


@bp.get("/")
@role_required("butler", "technician", "supervisor")
def queue():
    """Open tickets I may act on, the nearest deadline first; filter by kind."""
    rules = current_rules()
    kind = request.args.get("kind") if request.args.get("kind") in rules.kinds else None
    open_states = sorted({s for k in rules.kinds.values() for s in k.open_states})
    found, total = queries.tickets(current_user, clock.now(), kind=kind,
                                   open_states=open_states, per_page=200)
    return render_template("butler/queue.html", tickets=found, total=total, kind=kind)
