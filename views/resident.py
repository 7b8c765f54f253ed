"""A resident's own requests, each with where it stands and what happens next in plain words.

Residents see when something is due, never the points a butler would lose for missing it.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from models import Role, Ticket
from views import local_time
from views.roles import role_required
from workflows import clock, queries
from workflows.residents import attachments_of, objections_open, rated_by
from workflows.rules import current as current_rules
from workflows.words import label

bp = Blueprint("resident", __name__, url_prefix="/my")


def when(due: datetime, now: datetime) -> str:
    """A due time as a resident reads it: 14:20 today, or 11-18 14:20."""
    same_day = local_time(due, "%Y-%m-%d") == local_time(now, "%Y-%m-%d")
    return local_time(due, "%H:%M" if same_day else "%m-%d %H:%M")


def next_step(ticket: Ticket, now: datetime, rated: int | None = None) -> dict:
    """{'text', 'your_turn', 'late'}: what happens next on `ticket`, for its resident, as the
    rules word it for the ticket's state (workflows/rules.toml, [kind.resident.STATE])."""
    kind = current_rules().kind(ticket.kind)
    step = kind.next_steps.get(ticket.state)
    if rated and any(ticket.state in kind.triggers[t].sources
                     for t in kind.rating_triggers(Role.RESIDENT)):
        return {"text": _("Done. You rated it %(stars)s — thank you.", stars="★" * rated),
                "your_turn": False, "late": False}
    if step is None:  # a state the rules no longer have
        return {"text": ticket.state, "your_turn": False, "late": False}
    technician = ticket.technician.name if ticket.technician else _("A technician")
    # The step's deadline while it runs, or once missed while the step is still not done.
    due = min((d.due_at for d in ticket.deadlines
               if d.name == step.deadline and d.due_at and d.pending), default=None)
    if due is None:
        return {"text": label(step.text).format(technician=technician),
                "your_turn": step.your_turn, "late": False}
    late = due <= now
    text = label(step.late if late else step.due).format(due=when(due, now), technician=technician)
    return {"text": text, "your_turn": step.your_turn, "late": late}


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
    objecting = objections_open(found, current_user)
    rows = [{"ticket": t, "next": next_step(t, now, rated.get(t.id)),
             "photos": photos.get(t.id, []), "objection": objecting.get(t.id),
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
