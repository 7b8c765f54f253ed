"""Read-only queries behind the pages and the API. Visibility comes from workflows.access."""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from models import (
    Area,
    Building,
    Deadline,
    DeadlineStatus,
    Deduction,
    Event,
    Ticket,
    Unit,
    User,
    db,
)
from models.deadlines import OUTSTANDING
from workflows.access import visible_to
from workflows.fields import record_id


def _overdue(now: datetime):
    """Tickets with a deadline past due whose step is still not done."""
    return exists().where(
        Deadline.ticket_id == Ticket.id,
        or_(OUTSTANDING, and_(Deadline.status == DeadlineStatus.RUNNING, Deadline.due_at <= now)),
    )


def next_due():
    """The nearest running deadline of each ticket, for ordering by urgency."""
    return (select(func.min(Deadline.due_at))
            .where(Deadline.ticket_id == Ticket.id, Deadline.status == DeadlineStatus.RUNNING)
            .correlate(Ticket).scalar_subquery())


def _with_people(query):
    return query.options(
        joinedload(Ticket.unit).joinedload(Unit.building).joinedload(Building.area),
        joinedload(Ticket.resident), joinedload(Ticket.assignee), joinedload(Ticket.technician),
        selectinload(Ticket.deadlines),
    )


def tickets(actor: User, now: datetime, *, kind: str | None = None, state: str | None = None,
            assignee_id: int | None = None, overdue: bool | None = None,
            open_states: list[str] | None = None, page: int = 1, per_page: int = 50):
    """The tickets `actor` may see, filtered; overdue first, then by the nearest deadline.
    Returns (tickets, total)."""
    where = [visible_to(actor)]
    if kind:
        where.append(Ticket.kind == kind)
    if state:
        where.append(Ticket.state == state)
    if open_states is not None:
        where.append(Ticket.state.in_(open_states))
    if assignee_id is not None:
        where.append(Ticket.assignee_id == assignee_id)
    if overdue is not None:
        where.append(_overdue(now) if overdue else ~_overdue(now))
    total = db.session.scalar(select(func.count()).select_from(Ticket).where(*where))
    query = (_with_people(select(Ticket)).where(*where)
             .order_by(case((_overdue(now), 0), else_=1), next_due().asc().nulls_last(),
                       Ticket.reported_at.desc(), Ticket.id.desc())
             .limit(per_page).offset((page - 1) * per_page))
    return db.session.scalars(query).unique().all(), total


def overdue_deadlines(now: datetime):
    """Every deadline past due whose step is not done, oldest first, with ticket and butler."""
    query = (select(Deadline).join(Deadline.ticket)
             .where(or_(OUTSTANDING, and_(Deadline.status == DeadlineStatus.RUNNING,
                                          Deadline.due_at <= now)))
             .options(joinedload(Deadline.ticket).joinedload(Ticket.assignee),
                      joinedload(Deadline.deduction).joinedload(Deduction.butler),
                      joinedload(Deadline.ticket).joinedload(Ticket.unit)
                      .joinedload(Unit.building).joinedload(Building.area).joinedload(Area.butler))
             .order_by(Deadline.due_at))
    return db.session.scalars(query).all()


def ticket_detail(ticket_id: int, actor: User) -> Ticket | None:
    """One ticket with its deadlines and timeline, if `actor` may see it."""
    if record_id(ticket_id) is None:
        return None
    query = (_with_people(select(Ticket))
             .options(selectinload(Ticket.events).joinedload(Event.actor))
             .where(Ticket.id == ticket_id, visible_to(actor)))
    return db.session.scalars(query).unique().one_or_none()


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where a local calendar month (YYYY-MM) starts and ends."""
    year, mon = (int(part) for part in month.split("-"))
    if not (1 <= mon <= 12 and 2000 <= year <= 2999) or len(month) != 7:
        raise ValueError("must be a month like 2026-11")
    start = datetime.combine(datetime(year, mon, 1).date(), time(), tz)
    end = datetime.combine(datetime(year + mon // 12, mon % 12 + 1, 1).date(), time(), tz)
    return start, end


def deductions(*, butler_id: int | None = None, start: datetime | None = None,
               end: datetime | None = None):
    query = (select(Deduction)
             .options(joinedload(Deduction.butler), joinedload(Deduction.deadline),
                      joinedload(Deduction.ticket), selectinload(Deduction.review),
                      selectinload(Deduction.appeal))
             .order_by(Deduction.missed_at, Deduction.id))
    if butler_id is not None:
        query = query.where(Deduction.butler_id == butler_id)
    if start is not None:
        query = query.where(Deduction.missed_at >= start, Deduction.missed_at < end)
    return db.session.scalars(query).all()


def staff(role: str):
    return db.session.scalars(
        select(User).where(User.role == role, User.active.is_(True)).order_by(User.name)
    ).all()


def all_units():
    """Every unit, with building and area, in the order staff look them up."""
    return db.session.scalars(
        select(Unit).join(Building).join(Area)
        .options(joinedload(Unit.building).joinedload(Building.area))
        .order_by(Area.name, Building.name, Unit.number)
    ).all()
