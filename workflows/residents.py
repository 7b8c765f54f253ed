"""Read-only queries behind a resident's pages (and the photos on any ticket page)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select

from models import Attachment, Event, db

RATE_TRIGGER = "rate"


def attachments_of(ticket_ids: list[int]) -> dict[int, list[Attachment]]:
    """Each ticket's attachments, oldest first."""
    found: dict[int, list[Attachment]] = defaultdict(list)
    if ticket_ids:
        for a in db.session.scalars(select(Attachment).where(Attachment.ticket_id.in_(ticket_ids))
                                    .order_by(Attachment.created_at, Attachment.id)):
            found[a.ticket_id].append(a)
    return found


def rated_by(ticket_ids: list[int], resident_id: int) -> dict[int, int]:
    """The rating the resident gave each ticket themselves (the latest), by ticket id."""
    if not ticket_ids:
        return {}
    latest = (select(Event.ticket_id, func.max(Event.id).label("id"))
              .where(Event.ticket_id.in_(ticket_ids), Event.trigger == RATE_TRIGGER,
                     Event.actor_id == resident_id)
              .group_by(Event.ticket_id).subquery())
    rows = db.session.execute(select(Event.ticket_id, Event.data)
                              .join(latest, Event.id == latest.c.id))
    return {ticket_id: (data or {}).get("rating") for ticket_id, data in rows}


def entered(events: list[Event], state: str) -> datetime | None:
    """When the ticket last entered `state`, from its (loaded) timeline."""
    times = [e.at for e in events if e.to_state == state and e.from_state != state]
    return max(times) if times else None
