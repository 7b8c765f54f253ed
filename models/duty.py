"""Duty (值班): an estate's rota of shifts, each with who answers for the whole estate then, and
the signed hand-over (交接班记录, 工作移交表) at the end of each duty shift."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.estate import Estate
from models.people import User


class DutyShift(db.Model):
    """One shift of an estate's rota, from `starts_at` until `ends_at` (exclusive).

    `on_duty_id` None is a day shift: each area's own butler answers for it, as outside any
    rota. Otherwise that person answers for every unit of the estate: new tickets go to them
    (workflows.access.responsibility). A shift that has begun is never changed nor deleted:
    the hand-over and the charges of its hours rest on it.
    """

    __tablename__ = "duty_shifts"
    __table_args__ = (Index("ix_duty_shifts_estate_starts", "estate_id", "starts_at"),
                      # The sweeper's hand-over step: duty shifts ended and not handed over.
                      Index("ix_duty_shifts_ends_at", "ends_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    on_duty_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The supervisor who entered it: the hand-over at its end is a step taken in their name.
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime]
    # When the open work of the shift passed on (None: not yet, or a day shift): set by one
    # conditional UPDATE, so however many sweepers run, a shift is handed over once.
    handed_over_at: Mapped[datetime | None]

    estate: Mapped[Estate] = relationship()
    on_duty: Mapped[User | None] = relationship(foreign_keys=[on_duty_id])
    set_by: Mapped[User] = relationship(foreign_keys=[set_by_id])


class ShiftHandover(db.Model):
    """The hand-over at the end of a duty shift from the one leaving to one taking over: the
    open work that passed, as it was at that moment (`open_work`), signed first by the one
    leaving (with a note), then by the one taking over. Only the signatures are ever added."""

    __tablename__ = "shift_handovers"
    __table_args__ = (UniqueConstraint("shift_id", "taking_over_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("duty_shifts.id"))
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    leaving_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    taking_over_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    handed_at: Mapped[datetime]
    # [{ticket_id, kind, title, unit, state, next_deadline, next_due_at}], by ticket id.
    open_work: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    leaving_note: Mapped[str] = mapped_column(Text, default="")
    signed_by_leaving_at: Mapped[datetime | None]
    taking_over_note: Mapped[str] = mapped_column(Text, default="")
    # Unsigned ones are what the supervisor's "Waiting for you" lists after a while.
    signed_by_taking_over_at: Mapped[datetime | None] = mapped_column(index=True)

    shift: Mapped[DutyShift] = relationship()
    estate: Mapped[Estate] = relationship()
    leaving: Mapped[User] = relationship(foreign_keys=[leaving_id])
    taking_over: Mapped[User] = relationship(foreign_keys=[taking_over_id])
