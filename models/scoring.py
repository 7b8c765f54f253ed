"""The monthly assessment: deductions recorded against butlers."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.deadlines import Deadline
from models.people import User
from models.tickets import Ticket


class Deduction(db.Model):
    """Points lost for a missed deadline. One per deadline, enforced by the unique key."""

    __tablename__ = "deductions"
    __table_args__ = (Index("ix_deductions_butler_missed", "butler_id", "missed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    # The butler the ticket was assigned to when the deadline passed (None: nobody was).
    butler_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    points: Mapped[int]  # negative
    article: Mapped[int]
    missed_at: Mapped[datetime]    # the due time that passed; decides the month
    recorded_at: Mapped[datetime]  # when the system wrote it down

    deadline: Mapped[Deadline] = relationship(back_populates="deduction")
    ticket: Mapped[Ticket] = relationship()
    butler: Mapped[Optional[User]] = relationship()
