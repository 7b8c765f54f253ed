"""Read-only queries behind a resident's pages (and the photos on any ticket page)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from models import Attachment, Event, Role, db
from workflows.queries import rounds_started
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
