"""The supervisor's desk: what is overdue now and what is at risk across all areas, with the
butler answerable for each; this month's scores; and each kind's workflow drawn from the rules."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, make_response, render_template, request

from models import NoticeStatus
from views.roles import role_required
from views.security import CSP_DIAGRAMS
from workflows import assessment, clock, diagrams, queries
from workflows.fields import record_id
from workflows.rules import current as current_rules
from workflows.words import span

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.get("/overdue")
@role_required("supervisor", "admin")
def overdue():
    """Every deadline past due whose step is still not done, with the butler answerable; then
    what is at risk: due within the next 30 minutes, and within 4 hours."""
    now = clock.now()
    month = assessment.current_month()
    cards, _closed = assessment.scorecards(month)
    return render_template(
        "supervisor/overdue.html", server_now=now,
        deadlines=queries.overdue_deadlines(now),
        soon=queries.deadlines_due(now, timedelta(0), queries.NEEDS_NOW),
        later=queries.deadlines_due(now, queries.NEEDS_NOW, queries.AT_RISK),
        needs_now=queries.NEEDS_NOW, at_risk=queries.AT_RISK,
        month=month, cards=cards)


@bp.get("/waiting")
@role_required("supervisor", "admin")
def waiting():
    """What waits for a supervisor's decision: lines appealed or held for review in any month,
    and tickets escalated to the supervisor."""
    return render_template("supervisor/waiting.html", lines=assessment.undecided(),
                           tickets=queries.waiting_for_supervisor(current_rules()))


@bp.get("/for-residents")
@role_required("supervisor", "admin")
def for_residents():
    """Steps staff took for a resident, newest first, each with its reason: a repair cancelled
    by its butler, a solution accepted for the resident. Nobody decides here; anyone may look."""
    return render_template("supervisor/for_residents.html",
                           steps=queries.steps_for_residents(current_rules()),
                           shown=queries.ON_BEHALF_SHOWN)


@bp.get("/deliveries")
@role_required("supervisor", "admin")
def deliveries():
    """The delivery log: notices sent by email or webhook, newest first; filter by what became
    of them (sent, waiting to be tried again, failed) and by person."""
    status = request.args.get("status") or None
    if status not in (None, *NoticeStatus):
        status = None
    person = record_id(request.args.get("person"))
    return render_template("supervisor/deliveries.html", status=status, person=person,
                           statuses=list(NoticeStatus), staff=queries.people_told(),
                           notices=queries.deliveries(status, person),
                           shown=queries.DELIVERY_LOG_SIZE)


@bp.get("/workflows")
@role_required("supervisor", "admin")
def workflows():
    """Each kind's workflow as loaded from the rules in force: a state diagram (Mermaid source
    drawn in the page by the vendored script), the steps that keep the state, and the deadlines."""
    kinds = [{"kind": kind, "source": diagrams.mermaid(kind),
              "in_place": diagrams.steps_in_place(kind)} for kind in current_rules().kinds.values()]
    response = make_response(render_template("supervisor/workflows.html", kinds=kinds,
                                             duration=span))
    response.headers["Content-Security-Policy"] = CSP_DIAGRAMS
    return response

