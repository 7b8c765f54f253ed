"""The supervisor's desk: what is overdue now, and the month's deductions."""
from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, current_app, render_template

from views.roles import role_required
from workflows import clock, queries

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.get("/overdue")
@role_required("supervisor", "admin")
def overdue():
    """Every deadline past due whose step is still not done, with the butler answerable."""
    now = clock.now()
    month = now.astimezone(current_app.config["TZ"]).strftime("%Y-%m")
    start, end = queries.month_bounds(month, current_app.config["TZ"])
    per_butler = defaultdict(int)
    for deduction in queries.deductions(start=start, end=end):
        per_butler[deduction.butler.name if deduction.butler else "—"] += deduction.points
    return render_template("supervisor/overdue.html", deadlines=queries.overdue_deadlines(now),
                           month=month, per_butler=sorted(per_butler.items()))
