"""Estates (项目/小区) and what is in them: responsibility areas (片区) with their butler (and
who it was when), buildings and units. Every unit, so every ticket, is in one estate."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.people import User


class Estate(db.Model):
    __tablename__ = "estates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)

    areas: Mapped[list[Area]] = relationship(back_populates="estate", order_by="Area.name")
    # The supervisors who audit, review and assess this estate (a supervisor sees only their
    # estates; the company's admin sees every one).
    supervisors: Mapped[list[User]] = relationship(secondary="estate_supervisors",
                                                   order_by="User.name")


class EstateSupervisor(db.Model):
    """A supervisor's estate: one row for each estate a supervisor supervises."""

    __tablename__ = "estate_supervisors"

    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), primary_key=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True,
                                               index=True)


class Area(db.Model):
    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The butler responsible for the area (首问负责制: new tickets go to them).
    # use_alter: areas, units and users refer to each other in a cycle (an area's butler, a
    # resident's unit), so this key is added once both tables exist.
    butler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True),
                                                     index=True)

    # The area's own group robot (its butlers' WeCom or DingTalk group), told besides the
    # installation's WEBHOOK_URL of what its staff are told.
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_format: Mapped[str | None] = mapped_column(String(10))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))

    estate: Mapped[Estate] = relationship(back_populates="areas")
    butler: Mapped[User | None] = relationship()
    buildings: Mapped[list[Building]] = relationship(back_populates="area",
                                                     order_by="Building.name")


class Building(db.Model):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    area: Mapped[Area] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building", order_by="Unit.number")


class SquareMetres(TypeDecorator):
    """A floor area to the hundredth of a square metre, kept as whole hundredths: SQLite has no
    decimals (SQLAlchemy would go through floats and warn), and 89.50 must read back as 89.50 so
    that importing an exported sheet again changes nothing."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else int(Decimal(value).scaleb(2).to_integral_value())

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value).scaleb(-2)


class Unit(db.Model):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    # As the office's owner sheet gives them (workflows.estate_import): the entrance (单元), the
    # floor, the floor area in square metres (面积) and a note.
    entrance: Mapped[str | None] = mapped_column(String(20))
    floor: Mapped[int | None]
    size: Mapped[Decimal | None] = mapped_column(SquareMetres)
    note: Mapped[str | None] = mapped_column(String(500))

    building: Mapped[Building] = relationship(back_populates="units")

    @property
    def area(self) -> Area:
        return self.building.area

    @property
    def estate(self) -> Estate:
        return self.building.area.estate

    @property
    def label(self) -> str:
        """How people say it: "3栋 1201"."""
        return f"{self.building.name} {self.number}"


# Where the periods of butlers kept before dated periods begin: the butler of record at the
# migration (or of an area set up with its butler) has answered for it since before the records.
SINCE_RECORDS = datetime(2000, 1, 1, tzinfo=UTC)


class AreaButler(db.Model):
    """Who was an area's butler, and when: one row per period, `ends_at` None while it runs.

    Changing an area's butler ends the running period and starts the next (workflows.cover);
    a period is never edited otherwise nor deleted, so "who answered here then" keeps its answer.
    `Area.butler_id` is the butler of the running period, kept in step with it.
    """

    __tablename__ = "area_butlers"
    __table_args__ = (Index("ix_area_butlers_area_starts", "area_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    butler_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: set up so

    area: Mapped[Area] = relationship()
    butler: Mapped[User] = relationship(foreign_keys=[butler_id])
