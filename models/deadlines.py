"""Deadlines: one row per arming of a rule's clock on a ticket. The sweeper reads them by index."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Optional

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.tickets import Ticket

if TYPE_CHECKING:
    from models.scoring import Deduction


class DeadlineStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"      # waiting on the resident: the clock is stopped
    MET = "met"
    MISSED = "missed"      # a deduction exists for it
    CANCELLED = "cancelled"  # the ticket left the steps the deadline watches (e.g. cancelled)


class Deadline(db.Model):
    __tablename__ = "deadlines"
    __table_args__ = (
        # A rule re-armed on a ticket gets the next seq; two writers cannot arm the same one.
        UniqueConstraint("ticket_id", "name", "seq"),
        # The sweeper's query: running deadlines in due order. Partial, so it holds only live rows.
        Index(
            "ix_deadlines_running_due", "due_at",
            sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'"),
        ),
        # Overdue views: missed deadlines whose step is still not done.
        Index(
            "ix_deadlines_outstanding", "ticket_id",
            sqlite_where=text("status = 'missed' AND closed_at IS NULL"),
            postgresql_where=text("status = 'missed' AND closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    name: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(12), default=DeadlineStatus.RUNNING)
    armed_at: Mapped[datetime]
    # None while paused; `remaining_seconds` then holds what was left on the clock.
    due_at: Mapped[Optional[datetime]]
    remaining_seconds: Mapped[Optional[int]]
    # Copied from the rules when armed, so a later change of rules does not rewrite history.
    points: Mapped[int]
    article: Mapped[int]
    # When the step was done or became moot. For a missed deadline, None means still outstanding.
    closed_at: Mapped[Optional[datetime]]

    ticket: Mapped[Ticket] = relationship(back_populates="deadlines")
    deduction: Mapped[Optional["Deduction"]] = relationship(back_populates="deadline")

    @property
    def is_open(self) -> bool:
        return self.status in (DeadlineStatus.RUNNING, DeadlineStatus.PAUSED)

    def __repr__(self) -> str:
        return f"<Deadline {self.ticket_id}:{self.name}#{self.seq} {self.status} due {self.due_at}>"


OUTSTANDING = and_(Deadline.status == DeadlineStatus.MISSED, Deadline.closed_at.is_(None))


class SweeperHeartbeat(db.Model):
    """When a sweeper last finished a sweep; `/healthz` reports how long ago that was."""

    __tablename__ = "sweeper_heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    swept_at: Mapped[datetime]
