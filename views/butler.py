"""A butler's (or technician's) queue and the hand-over for the next shift.

The queue holds the open work of the butler's areas (a technician's: the repairs waiting on them),
overdue first, then the nearest deadline, each with a live countdown (static/js/countdown.js);
filters by kind, state and building are GET parameters, so a filtered queue is a link.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from models import Role
from views.roles import role_required
from workflows import clock, duty, queries
from workflows.fields import record_id
from workflows.rules import current as current_rules
from workflows.words import label

bp = Blueprint("butler", __name__, url_prefix="/queue")

QUEUE_LIMIT = 200


def _state_choices(rules, kind: str | None) -> list[tuple[str, str]]:
    """The states one may filter by: those of the queue (of the kind chosen), with their labels.

    Kinds share some state names ("accepted", "visited"): one option per name, its labels joined.
    """
    if current_user.role == Role.TECHNICIAN:
        states = queries.actionable_states(rules, Role.TECHNICIAN)
    else:
        states = {name: k.open_states for name, k in rules.kinds.items()}
    labels: dict[str, list[str]] = {}
    for name, names in states.items():
        if kind and name != kind:
            continue
        for state in names:
            text = label(rules.kind(name).states[state].label)
            if text not in labels.setdefault(state, []):
                labels[state].append(text)
    return [(state, " / ".join(texts)) for state, texts in labels.items()]


@bp.get("/")
@role_required("butler", "technician", "supervisor", "admin")
def queue():
    """Open tickets I may act on: overdue first, then the nearest deadline; filter by kind, state
    and building. At the top, how many need me now (overdue, or due within 30 minutes)."""
    rules = current_rules()
    now = clock.now()
    kind = request.args.get("kind") if request.args.get("kind") in rules.kinds else None
    states = _state_choices(rules, kind)
    state = request.args.get("state")
    state = state if state in {name for name, _text in states} else None
    buildings = queries.queue_buildings(current_user, rules)
    building_id = record_id(request.args.get("building"))
    building_id = building_id if building_id in {b.id for b in buildings} else None
    items, total = queries.queue(current_user, now, rules, kind=kind, state=state,
                                 building_id=building_id, limit=QUEUE_LIMIT)
    return render_template(
        "butler/queue.html", items=items, total=total, server_now=now,
        counts=queries.queue_counts(current_user, now, rules), needs_now=queries.NEEDS_NOW,
        kind=kind, state=state, building_id=building_id, states=states, buildings=buildings,
        filtered=bool(kind or state or building_id), on_duty=duty.on_duty_now(current_user, now))


@bp.get("/handover")
@role_required("butler", "supervisor", "admin")
def handover():
    """The open work of my areas by building, with each next step and its due time, to hand to
    the next shift (工作移交); prints on paper."""
    rules = current_rules()
    now = clock.now()
    groups = queries.handover(current_user, now, rules)
    return render_template("butler/handover.html", groups=groups, server_now=now,
                           counts=queries.queue_counts(current_user, now, rules),
                           needs_now=queries.NEEDS_NOW,
                           total=sum(len(items) for _building, items in groups))
