"""Deadlines: one row per arming of a rule's clock on a ticket. The sweeper reads them by index."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, and_, or_, text
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
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
    EXTENDED = "extended"  # moved by an approved extension: the next arming has the new due time


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
        # The sweeper's notice pass: deadlines with a warning or an escalation to make.
        Index(
            "ix_deadlines_notice_at", "notice_at",
            sqlite_where=text("notice_at IS NOT NULL"),
            postgresql_where=text("notice_at IS NOT NULL"),
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
    due_at: Mapped[datetime | None]
    remaining_seconds: Mapped[int | None]
    # Copied from the rules when armed, so a later change of rules does not rewrite history.
    points: Mapped[int]
    article: Mapped[int]
    # When the step was done or became moot. For a missed deadline, None means still outstanding.
    closed_at: Mapped[datetime | None]
    # When the sweeper next has something to tell about it: a warning before it is due, an
    # escalation or a reminder after a miss (workflows.notices); None: nothing more.
    notice_at: Mapped[datetime | None]

    ticket: Mapped[Ticket] = relationship(back_populates="deadlines")
    deduction: Mapped[Deduction | None] = relationship(back_populates="deadline")

    # What "overdue" and "pending" mean, once, for Python (a loaded deadline) and SQL alike.
    @hybrid_property
    def outstanding(self) -> bool:
        """Missed, and its step still not done."""
        return self.status == DeadlineStatus.MISSED and self.closed_at is None

    @outstanding.inplace.expression
    @classmethod
    def _outstanding(cls):
        return and_(cls.status == DeadlineStatus.MISSED, cls.closed_at.is_(None))

    @hybrid_method
    def due_by(self, now: datetime) -> bool:
        """Running, and due by `now` (no sweep has recorded the miss yet)."""
        return self.status == DeadlineStatus.RUNNING and self.due_at <= now

    @due_by.inplace.expression
    @classmethod
    def _due_by(cls, now: datetime):
        return and_(cls.status == DeadlineStatus.RUNNING, cls.due_at <= now)

    @hybrid_method
    def overdue(self, now: datetime) -> bool:
        """Past its due time with its step not done: outstanding, or due by now."""
        return self.outstanding or self.due_by(now)

    @overdue.inplace.expression
    @classmethod
    def _overdue(cls, now: datetime):
        return or_(cls.outstanding, cls.due_by(now))

    @hybrid_property
    def pending(self) -> bool:
        """Its step still to do: running (whenever due), or missed and not done."""
        return self.status == DeadlineStatus.RUNNING or self.outstanding

    @pending.inplace.expression
    @classmethod
    def _pending(cls):
        return or_(cls.status == DeadlineStatus.RUNNING, cls.outstanding)

    def __repr__(self) -> str:
        return f"<Deadline {self.ticket_id}:{self.name}#{self.seq} {self.status} due {self.due_at}>"


class SweeperHeartbeat(db.Model):
    """When a sweeper last finished a sweep; `/healthz` reports how long ago that was."""

    __tablename__ = "sweeper_heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    swept_at: Mapped[datetime]
