"""Tickets (repairs, complaints, renovation permits) and their append-only event log."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.estate import Unit
from models.people import User

if TYPE_CHECKING:
    from models.deadlines import Deadline


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_assignee_state", "assignee_id", "state"),
        Index("ix_tickets_unit_state", "unit_id", "state"),
        # Queues select "kind = ? AND state IN (its open states)" for each kind: with both columns
        # in one index that reads only the open tickets, however long the history (bench/).
        Index("ix_tickets_kind_state", "kind", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(30), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The butler answerable for the ticket; deductions go to whoever holds it at the miss.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # When the resident called or submitted: the clocks run from here. Staff may set it in
    # the past when registering a call afterwards (事后补单).
    reported_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    rating: Mapped[int | None]
    # What the kind asks for beyond a title and a description (a renovation's works period,
    # contractor, foreman and workers); checked by workflows.details when the ticket is opened.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit] = relationship()
    resident: Mapped[User | None] = relationship(foreign_keys=[resident_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list[Event]] = relationship(
        back_populates="ticket", order_by="(Event.at, Event.id)", lazy="raise_on_sql"
    )
    deadlines: Mapped[list[Deadline]] = relationship(
        back_populates="ticket", order_by="(Deadline.armed_at, Deadline.id)", lazy="raise_on_sql"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="ticket", order_by="(Attachment.created_at, Attachment.id)"
    )

    # Every write bumps the version; an UPDATE that finds another version changes nothing.
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Ticket {self.id} {self.kind}:{self.state}>"


class Event(db.Model):
    """One thing that happened to a ticket. Rows are only ever added."""

    __tablename__ = "events"
    # The month's work finished (a spot-check's population, the month page's "anything to
    # draw?"): the entries into a closing state, by time, not every event of every ticket.
    __table_args__ = (Index("ix_events_to_state_at", "to_state", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    # The note is for staff only (what to bring, whom to ask): never shown to the resident.
    staff_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Attachment(db.Model):
    """A photo or document added to a ticket: when it was opened, or with a step (an event).

    The file itself is stored outside static/ under `stored_name` (a generated name) and served
    only to people who may see the ticket. Rows are only ever added.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")
    event: Mapped[Event | None] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
