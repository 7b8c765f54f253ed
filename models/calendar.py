"""An estate's working calendar: its office hours by weekday, whether the mainland's public
holidays (with their make-up working days, 调休) apply, and its own closed days. Deadlines counted
in office time (`calendar = "office"` in the rules) count only these hours (workflows.calendars).
An estate without a row here keeps the default calendar."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.people import User


class EstateCalendar(db.Model):
    __tablename__ = "estate_calendars"

    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), primary_key=True)
    public_holidays: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Both lists are replaced whole when the calendar is saved, so they belong to it.
    hours: Mapped[list[OfficeHours]] = relationship(
        order_by="(OfficeHours.weekday, OfficeHours.opens)", cascade="all, delete-orphan")
    closed_days: Mapped[list[ClosedDay]] = relationship(order_by="ClosedDay.day",
                                                        cascade="all, delete-orphan")
    updated_by: Mapped[User | None] = relationship()


class OfficeHours(db.Model):
    """One span of office hours on a weekday (0 Monday … 6 Sunday), local time; a weekday may
    have several (a lunch break between them)."""

    __tablename__ = "office_hours"
    __table_args__ = (UniqueConstraint("estate_id", "weekday", "opens"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate_calendars.estate_id"))
    weekday: Mapped[int]
    opens: Mapped[time]
    closes: Mapped[time]


class ClosedDay(db.Model):
    """A local date the estate's office is closed on, whatever the weekday or the holidays."""

    __tablename__ = "closed_days"
    __table_args__ = (UniqueConstraint("estate_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate_calendars.estate_id"))
    day: Mapped[date]
    note: Mapped[str] = mapped_column(String(200), default="")
