"""Read-only queries behind a resident's pages (and the photos on any ticket page)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from models import Attachment, Event, Role, Ticket, User, db
from workflows import engine
from workflows.queries import rounds_started
from workflows.rules import TriggerRule
from workflows.rules import current as current_rules


def attachments_of(ticket_ids: list[int]) -> dict[int, list[Attachment]]:
    """Each ticket's attachments, oldest first."""
    found: dict[int, list[Attachment]] = defaultdict(list)
    if ticket_ids:
        for a in db.session.scalars(select(Attachment).where(Attachment.ticket_id.in_(ticket_ids))
                                    .order_by(Attachment.created_at, Attachment.id)):
            found[a.ticket_id].append(a)
    return found


def rated_by(ticket_ids: list[int], resident_id: int) -> dict[int, int]:
    """The rating the resident gave each ticket themselves in its current round (the latest),
    by ticket id: by a trigger of its kind through which a resident rates. A rating given
    before the ticket was sent back (a repair reopened) was for the work done then."""
    if not ticket_ids:
        return {}
    rating = {t for kind in current_rules().kinds.values() for t in kind.rating_triggers(
        Role.RESIDENT)}
    started = rounds_started(ticket_ids)
    rows = db.session.execute(
        select(Event.ticket_id, Event.at, Event.data)
        .where(Event.ticket_id.in_(ticket_ids), Event.trigger.in_(rating),
               Event.actor_id == resident_id)
        .order_by(Event.id))
    return {ticket_id: (data or {}).get("rating") for ticket_id, at, data in rows
            if ticket_id not in started or at >= started[ticket_id]}


def objections_open(tickets: list[Ticket], resident: User) -> dict[int, tuple[TriggerRule,
                                                                               datetime]]:
    """The objection the resident may still make to a step their butler took for them (a
    cancel, an acceptance), and until when, by ticket: where the ticket page offers it now
    (engine.allowed_triggers, engine.window_ends)."""
    rules = current_rules()
    found = {}
    for ticket in tickets:
        kind = rules.kind(ticket.kind)
        if not any(t.objects_to for t in kind.triggers_from(ticket.state)):
            continue  # most tickets: no question asked of the database
        for rule in engine.allowed_triggers(ticket, resident):
            if rule.objects_to:
                found[ticket.id] = (rule, engine.window_ends(ticket, rule))
    return found
