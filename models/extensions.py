"""Deadline extensions (延期): a butler asks for a running deadline to be moved, with a reason; a
supervisor approves or refuses. Never deleted or edited but for their decision."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.deadlines import Deadline
from models.people import User
from models.scoring import Deduction
from models.tickets import Ticket


class ExtensionStatus(StrEnum):
    PENDING = "pending"      # waits for a supervisor; the clock runs on meanwhile
    APPROVED = "approved"    # the deadline was moved
    REFUSED = "refused"      # the deadline stays as it was
    CANCELLED = "cancelled"  # withdrawn by whoever asked
    LAPSED = "lapsed"        # the step was done (or the ticket ended) before anyone decided


class Extension(db.Model):
    """A request to move one arming of a deadline (`deadline_id`) from `due_before`, its due time
    when asked, to `due_at`. Approving it grants the difference (`due_at - due_before`)."""

    __tablename__ = "extensions"
    __table_args__ = (
        # One request waiting per running deadline: two sent at once cannot both be pending.
        Index("uq_extensions_pending_deadline", "deadline_id", unique=True,
              sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), index=True)
    due_before: Mapped[datetime]
    due_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=ExtensionStatus.PENDING)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    # Who approved, refused or cancelled it, when and why (None for a lapsed one's person).
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # The miss waived by the approval: the deadline fell due while the request waited.
    waived_id: Mapped[int | None] = mapped_column(ForeignKey("deductions.id"))

    ticket: Mapped[Ticket] = relationship()
    # The arming asked about; an approval after a miss arms the step anew (a later seq).
    deadline: Mapped[Deadline] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    waived: Mapped[Deduction | None] = relationship()

    def __repr__(self) -> str:
        return f"<Extension {self.id} {self.deadline_id} {self.status} to {self.due_at}>"
