"""A resident's own requests, each with where it stands and what happens next in plain words.

Residents see when something is due, never the points a butler would lose for missing it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import DeadlineStatus, Ticket
from views import label, local_time
from views.roles import role_required
from workflows import clock, queries
from workflows.engine import current_rules
from workflows.residents import attachments_of, rated_by

bp = Blueprint("resident", __name__, url_prefix="/my")


@dataclass(frozen=True)
class Step:
    """What happens next in one state: the text with the due time of `deadline` (while it runs),
    the text without one, and whether it waits on the resident."""

    with_due: object
    without_due: object
    deadline: str | None = None
    your_turn: bool = False


RATE = Step(_l("Your turn: how did it go? Rate it from 1 to 5."),
            _l("Your turn: how did it go? Rate it from 1 to 5."), your_turn=True)
CLOSED = Step(_l("Closed. You can still rate it."), _l("Closed. You can still rate it."))
STEPS: dict[tuple[str, str], Step] = {
    ("repair", "reported"): Step(_l("A technician is due by %(due)s."),
                                 _l("A technician will be sent."), "on_site"),
    ("repair", "dispatched"): Step(_l("%(technician)s is on the way, due by %(due)s."),
                                   _l("%(technician)s is on the way."), "on_site"),
    ("repair", "on_site"): Step(_l("The technician is at work; it should be fixed by %(due)s."),
                                _l("The technician is at work."), "completion"),
    ("repair", "completed"): Step(
        _l("Fixed. Your butler will check with you by %(due)s. Not fixed? Reopen it."),
        _l("Fixed. Your butler will check with you. Not fixed? Reopen it."), "follow_up"),
    ("repair", "visited"): RATE,
    ("repair", "closed"): CLOSED,
    ("repair", "cancelled"): Step(_l("Cancelled."), _l("Cancelled.")),
    ("complaint", "submitted"): Step(
        _l("Your butler will record it and give you a solution by %(due)s."),
        _l("Your butler will record it and give you a solution."), "reply"),
    ("complaint", "accepted"): Step(_l("Your butler is working on it; a solution is due by %(due)s."),
                                    _l("Your butler is working on it."), "reply"),
    ("complaint", "waiting_resident"): Step(
        _l("Your turn: your butler is waiting for you (see their note below)."),
        _l("Your turn: your butler is waiting for you (see their note below)."), your_turn=True),
    ("complaint", "escalated"): Step(
        _l("Passed to the supervisor; a solution is due by %(due)s."),
        _l("Passed to the supervisor."), "reply"),
    ("complaint", "replied"): Step(_l("Your turn: accept or reject the reply."),
                                   _l("Your turn: accept or reject the reply."), your_turn=True),
    ("complaint", "resolved"): Step(
        _l("You accepted the solution. Your butler will check with you by %(due)s."),
        _l("You accepted the solution. Your butler will check with you."), "follow_up"),
    ("complaint", "visited"): RATE,
    ("complaint", "closed"): CLOSED,
    ("renovation", "applied"): Step(_l("Your butler will review the application by %(due)s."),
                                    _l("Your butler will review the application."), "review"),
    ("renovation", "approved"): Step(_l("Your turn: approved. Tell us when the works start."),
                                     _l("Your turn: approved. Tell us when the works start."),
                                     your_turn=True),
    ("renovation", "rejected"): Step(
        _l("Your turn: not approved (see the reason below). Put it right and resubmit."),
        _l("Your turn: not approved (see the reason below). Put it right and resubmit."),
        your_turn=True),
    ("renovation", "in_progress"): Step(
        _l("Works in progress; your butler inspects the site every day. When the works are "
           "finished, request the acceptance inspection."),
        _l("Works in progress; your butler inspects the site every day. When the works are "
           "finished, request the acceptance inspection.")),
    ("renovation", "rectifying"): Step(
        _l("Your turn: a problem was found (see below). Put it right; your butler will inspect "
           "again."),
        _l("Your turn: a problem was found (see below). Put it right; your butler will inspect "
           "again."), your_turn=True),
    ("renovation", "completion_requested"): Step(
        _l("The acceptance inspection is due by %(due)s."),
        _l("The acceptance inspection will be arranged."), "acceptance"),
    ("renovation", "accepted"): Step(_l("Accepted. The deposit is refunded when it is closed."),
                                     _l("Accepted. The deposit is refunded when it is closed.")),
}


def when(due: datetime, now: datetime) -> str:
    """A due time as a resident reads it: 14:20 today, or 11-18 14:20."""
    same_day = local_time(due, "%Y-%m-%d") == local_time(now, "%Y-%m-%d")
    return local_time(due, "%H:%M" if same_day else "%m-%d %H:%M")


def next_step(ticket: Ticket, now: datetime, rated: int | None = None) -> dict:
    """{'text', 'your_turn', 'late'}: what happens next on `ticket`, for its resident."""
    kind = current_rules().kind(ticket.kind)
    state = kind.states.get(ticket.state)
    step = STEPS.get((ticket.kind, ticket.state))
    if step in (RATE, CLOSED) and rated:
        return {"text": _("Done. You rated it %(stars)s — thank you.", stars="★" * rated),
                "your_turn": False, "late": False}
    if step is None:  # a state of a rules file that these pages do not know
        return {"text": label(state.label) if state else ticket.state, "your_turn": False,
                "late": False}
    technician = ticket.technician.name if ticket.technician else _("A technician")
    # The step's deadline while it runs, or once missed while the step is still not done.
    open_ = [d for d in ticket.deadlines if d.name == step.deadline and d.due_at and (
        d.status == DeadlineStatus.RUNNING
        or d.status == DeadlineStatus.MISSED and d.closed_at is None)]
    if open_:
        due = min(d.due_at for d in open_)
        text = str(step.with_due) % {"due": when(due, now), "technician": technician}
        late = due <= now
        if late:
            text += " " + _("It is late: we are sorry.")
        return {"text": text, "your_turn": step.your_turn, "late": late}
    return {"text": str(step.without_due) % {"technician": technician},
            "your_turn": step.your_turn, "late": False}


@bp.get("/")
@role_required("resident")
def tickets():
    """My requests: those waiting on me first, then the open ones by urgency, then the finished
    ones newest first (or all newest first: ?order=newest)."""
    now = clock.now()
    found, _total = queries.tickets(current_user, now, per_page=200)
    ids = [t.id for t in found]
    photos, rated = attachments_of(ids), rated_by(ids, current_user.id)
    rules = current_rules()
    rows = [{"ticket": t, "next": next_step(t, now, rated.get(t.id)), "photos": photos.get(t.id, []),
             "final": rules.kind(t.kind).states[t.state].final} for t in found]
    order = "newest" if request.args.get("order") == "newest" else "urgent"
    if order == "newest":
        rows.sort(key=lambda r: (r["ticket"].reported_at, r["ticket"].id), reverse=True)
    else:
        # queries.tickets gives the urgent order; a stable sort keeps it within each group.
        finished = sorted((r for r in rows if r["final"] and not r["next"]["your_turn"]),
                          key=lambda r: (r["ticket"].reported_at, r["ticket"].id), reverse=True)
        waiting = [r for r in rows if r["next"]["your_turn"]]
        running = [r for r in rows if not r["final"] and not r["next"]["your_turn"]]
        rows = waiting + running + finished
    return render_template("resident/tickets.html", rows=rows, order=order)
