"""The supervisor's desk: what is overdue now, with this month's scores beside it."""
from __future__ import annotations

from flask import Blueprint, render_template

from views.roles import role_required
from workflows import assessment, clock, queries

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.get("/overdue")
@role_required("supervisor", "admin")
def overdue():
    """Every deadline past due whose step is still not done, with the butler answerable."""
    month = assessment.current_month()
    cards, _closed = assessment.scorecards(month)
    return render_template("supervisor/overdue.html",
                           deadlines=queries.overdue_deadlines(clock.now()),
                           month=month, cards=cards)
