"""Read-only queries behind the pages and the API. Visibility comes from workflows.access."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, false, func, or_, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from models import (
    Area,
    Building,
    Channel,
    Deadline,
    DeadlineStatus,
    Deduction,
    Event,
    Notice,
    Role,
    Ticket,
    Unit,
    User,
    db,
)
from workflows.access import (
    in_estates_of,
    people_in_estates_of,
    supervised,
    units_in_estates_of,
    visible_to,
)
from workflows.fields import record_id
from workflows.rules import current as current_rules


def _overdue(now: datetime):
    """Tickets with a deadline past due whose step is still not done."""
    return exists().where(Deadline.ticket_id == Ticket.id, Deadline.overdue(now))


def _with_people(query):
    return query.options(
        joinedload(Ticket.unit).joinedload(Unit.building).joinedload(Building.area),
        joinedload(Ticket.resident), joinedload(Ticket.assignee), joinedload(Ticket.technician),
        selectinload(Ticket.deadlines),
    )


def tickets(actor: User, now: datetime, *, kind: str | None = None, state: str | None = None,
            assignee_id: int | None = None, overdue: bool | None = None,
            page: int = 1, per_page: int = 50):
    """The tickets `actor` may see, filtered; overdue first (the longest overdue first), then by
    the nearest deadline. Returns (tickets, total)."""
    where = [visible_to(actor)]
    if kind:
        where.append(Ticket.kind == kind)
    if state:
        where.append(Ticket.state == state)
    if assignee_id is not None:
        where.append(Ticket.assignee_id == assignee_id)
    if overdue is not None:
        where.append(_overdue(now) if overdue else ~_overdue(now))
    total = db.session.scalar(select(func.count()).select_from(Ticket).where(*where))
    query = (_with_people(select(Ticket)).where(*where)
             .order_by(case((_overdue(now), 0), else_=1), _urgency().asc().nulls_last(),
                       Ticket.reported_at.desc(), Ticket.id.desc())
             .limit(per_page).offset((page - 1) * per_page))
    return db.session.scalars(query).unique().all(), total


def _of_tickets_seen(query, actor: User | None, few_found: bool = False):
    """`query` (on Ticket, or joined to it) kept to the tickets `actor` may see (None: all).

    `few_found`: the query's own terms find few rows (deadlines past or near due, through their
    partial indexes), which must drive the plan. A supervisor's estates would otherwise: SQLite
    reads every ticket of the estates' units by `unit_id` (4 s at 1 M tickets, bench figure 4),
    so their test is made on `unit_id + 0`, which no index answers."""
    if actor is None:
        return query
    if few_found and supervised(actor):
        return query.where((Ticket.unit_id + 0).in_(units_in_estates_of(actor)))
    return query.where(visible_to(actor))


def overdue_deadlines(now: datetime, actor: User | None = None):
    """Every deadline past due whose step is not done, oldest first, with ticket and butler; of
    the tickets `actor` may see (a supervisor: their estates')."""
    # Each half through its own partial index (one OR of the two would read every deadline),
    # and the few rows they find drive the joins (PostgreSQL hashed every deadline and ticket
    # for `id IN (...)`).
    overdue = union_all(select(Deadline.id).where(Deadline.outstanding),
                        select(Deadline.id).where(Deadline.due_by(now))).subquery()
    query = (select(Deadline).join(overdue, Deadline.id == overdue.c.id).join(Deadline.ticket)
             .options(joinedload(Deadline.ticket).joinedload(Ticket.assignee),
                      joinedload(Deadline.deduction).joinedload(Deduction.butler),
                      joinedload(Deadline.ticket).joinedload(Ticket.unit)
                      .joinedload(Unit.building).joinedload(Building.area).joinedload(Area.butler))
             .order_by(Deadline.due_at))
    return db.session.scalars(_of_tickets_seen(query, actor, few_found=True)).all()


def ticket_detail(ticket_id: int, actor: User) -> Ticket | None:
    """One ticket with its deadlines and timeline, if `actor` may see it."""
    if record_id(ticket_id) is None:
        return None
    query = (_with_people(select(Ticket))
             .options(selectinload(Ticket.events).joinedload(Event.actor))
             .where(Ticket.id == ticket_id, visible_to(actor)))
    return db.session.scalars(query).unique().one_or_none()


def rounds_started(ticket_ids: list[int]) -> dict[int, datetime]:
    """When each ticket began its current round: the last time a step took it back to its
    kind's first state (a repair reopened, a renovation resubmitted). What came before (the
    old rating, the follow-up done the first time) is history; a ticket never sent back is
    absent."""
    if not ticket_ids:
        return {}
    back_to_start = or_(*(and_(Ticket.kind == kind.name, Event.to_state == kind.initial)
                          for kind in current_rules().kinds.values()))
    rows = db.session.execute(
        select(Event.ticket_id, func.max(Event.at)).join(Ticket, Ticket.id == Event.ticket_id)
        .where(Event.ticket_id.in_(ticket_ids), Event.from_state.is_not(None),
               Event.from_state != Event.to_state, back_to_start)
        .group_by(Event.ticket_id))
    return dict(rows.all())


DELIVERY_LOG_SIZE = 200


def deliveries(actor: User, status: str | None = None,
               user_id: int | None = None) -> list[Notice]:
    """The latest notices sent by email or webhook (the bell's need no sending), newest first:
    what went, what is waiting to be tried again, what failed for good. A supervisor's are those
    of their estates: of their tickets, or, of no ticket, to their estates' people."""
    query = (select(Notice).where(Notice.channel != Channel.IN_APP)
             .options(joinedload(Notice.user), joinedload(Notice.ticket))
             .order_by(Notice.id.desc()).limit(DELIVERY_LOG_SIZE))
    if status:
        query = query.where(Notice.status == status)
    if user_id:
        query = query.where(Notice.user_id == user_id)
    if supervised(actor):
        theirs = select(Ticket.id).where(visible_to(actor))
        query = query.where(or_(Notice.ticket_id.in_(theirs),
                                and_(Notice.ticket_id.is_(None),
                                     Notice.user_id.in_(people_in_estates_of(actor)))))
    return list(db.session.scalars(query))


def people_told(actor: User) -> list[User]:
    """Everyone a notice may be sent to beyond the bell: people with an email address or a
    mobile (a supervisor's: of their estates)."""
    query = select(User).where((User.email.is_not(None)) | (User.phone.is_not(None)))
    if supervised(actor):
        query = query.where(User.id.in_(people_in_estates_of(actor)))
    return list(db.session.scalars(query.order_by(User.name)))


def waiting_for_supervisor(rules, actor: User) -> list[Ticket]:
    """Open tickets `actor` may see in a state that waits on the supervisor (an escalated
    complaint), the longest waiting first."""
    waiting = [and_(Ticket.kind == kind.name, Ticket.state.in_(
        [s.name for s in kind.states.values() if s.supervisor]))
        for kind in rules.kinds.values() if any(s.supervisor for s in kind.states.values())]
    if not waiting:
        return []
    return list(db.session.scalars(
        select(Ticket).where(or_(*waiting), visible_to(actor))
        .options(joinedload(Ticket.assignee), joinedload(Ticket.resident),
                 joinedload(Ticket.unit).joinedload(Unit.building).joinedload(Building.area))
        .order_by(Ticket.updated_at)))


def rating_given(ticket: Ticket) -> Event | None:
    """The step that gave the ticket the rating it holds: the latest that gave one, so the
    resident's own rating replaces the one the butler recorded at the follow-up visit."""
    if ticket.rating is None:
        return None
    return next((e for e in reversed(ticket.events) if (e.data or {}).get("rating")), None)


def deadline_rounds(ticket: Ticket) -> tuple[list[Deadline], list[Deadline]]:
    """A ticket's deadlines as (current, earlier): the current round's latest of each step, and
    any still to do; the rest (yesterday's daily inspections, the round before a reopening)
    newest first."""
    started = rounds_started([ticket.id]).get(ticket.id)
    latest = {d.name: d for d in ticket.deadlines if started is None or d.armed_at >= started}
    current = [d for d in ticket.deadlines if d.pending or latest.get(d.name) is d]
    earlier = [d for d in reversed(ticket.deadlines) if d not in current]
    return current, earlier


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


def all_units(actor: User | None = None):
    """Every unit (a supervisor's: of their estates), with building and area, in the order
    staff look them up."""
    query = select(Unit).join(Building).join(Area)
    if actor is not None and supervised(actor):
        query = query.where(Unit.id.in_(units_in_estates_of(actor)))
    return db.session.scalars(
        query.options(joinedload(Unit.building).joinedload(Building.area))
        .order_by(Area.name, Building.name, Unit.number)
    ).all()


# -- the butler's queue, the hand-over and the supervisor's at-risk list ---------------------------

# "Needs you now": overdue, or due within this long.
NEEDS_NOW = timedelta(minutes=30)
# The supervisor's look-ahead: due within NEEDS_NOW, then within AT_RISK.
AT_RISK = timedelta(hours=4)


def actionable_states(rules, role: str) -> dict[str, list[str]]:
    """For each kind, the states in which someone of `role` has a trigger to fire."""
    return {name: sorted({s for t in kind.triggers.values() if role in t.roles for s in t.sources})
            for name, kind in rules.kinds.items()}


def _queue_scope(actor: User, rules) -> list:
    """What belongs in `actor`'s queue: the open tickets they may see; for a technician, only
    those where they have something to do (a dispatched repair to reach, one on site to finish)."""
    if actor.role == Role.TECHNICIAN:
        states = actionable_states(rules, Role.TECHNICIAN)
    else:
        states = {name: kind.open_states for name, kind in rules.kinds.items()}
    by_kind = [and_(Ticket.kind == name, Ticket.state.in_(names))
               for name, names in states.items() if names]
    return [visible_to(actor), or_(*by_kind) if by_kind else false()]


def _urgency():
    """The earliest due time of a ticket's running or missed-and-outstanding deadlines: ordering by
    it puts the longest overdue first, then the nearest deadline."""
    return (select(func.min(Deadline.due_at))
            .where(Deadline.ticket_id == Ticket.id,
                   Deadline.pending)
            .correlate(Ticket).scalar_subquery())


@dataclass
class QueueItem:
    """A ticket as the queue shows it: the step to watch and whether steps are overdue."""

    ticket: Ticket
    overdue: list[Deadline]       # missed and still not done, or running past their due time
    next: Deadline | None         # the nearest running deadline still ahead
    paused: Deadline | None       # a clock stopped while the ticket waits on the resident
    soon: bool = False            # the next deadline is due within NEEDS_NOW

    @property
    def focus(self) -> Deadline | None:
        return self.overdue[0] if self.overdue else self.next

    @classmethod
    def of(cls, ticket: Ticket, now: datetime) -> QueueItem:
        outstanding = [d for d in ticket.deadlines if d.overdue(now)]
        ahead = [d for d in ticket.deadlines
                 if d.status == DeadlineStatus.RUNNING and d.due_at > now]
        paused = [d for d in ticket.deadlines if d.status == DeadlineStatus.PAUSED]
        upcoming = min(ahead, key=lambda d: d.due_at, default=None)
        return cls(ticket, sorted(outstanding, key=lambda d: d.due_at), upcoming,
                   paused[0] if paused else None,
                   soon=upcoming is not None and upcoming.due_at <= now + NEEDS_NOW)


def queue(actor: User, now: datetime, rules, *, kind: str | None = None, state: str | None = None,
          building_id: int | None = None, limit: int = 200) -> tuple[list[QueueItem], int]:
    """`actor`'s queue, filtered: overdue first (the longest overdue first), then the nearest
    deadline, then the tickets without a running clock, newest first. Returns (items, total)."""
    where = _queue_scope(actor, rules)
    if kind:
        where.append(Ticket.kind == kind)
    if state:
        where.append(Ticket.state == state)
    if building_id is not None:
        where.append(Ticket.unit_id.in_(select(Unit.id).where(Unit.building_id == building_id)))
    total = db.session.scalar(select(func.count()).select_from(Ticket).where(*where))
    query = (_with_people(select(Ticket)).where(*where)
             .order_by(case((_overdue(now), 0), else_=1), _urgency().asc().nulls_last(),
                       Ticket.reported_at.desc(), Ticket.id.desc())
             .limit(limit))
    return [QueueItem.of(t, now) for t in db.session.scalars(query).unique()], total


def queue_counts(actor: User, now: datetime, rules) -> dict[str, int]:
    """How much of `actor`'s whole queue needs them now: overdue, and due within NEEDS_NOW."""
    where = _queue_scope(actor, rules)
    due_soon = exists().where(Deadline.ticket_id == Ticket.id,
                              Deadline.status == DeadlineStatus.RUNNING,
                              Deadline.due_at > now, Deadline.due_at <= now + NEEDS_NOW)
    count = select(func.count()).select_from(Ticket)
    overdue = db.session.scalar(count.where(*where, _overdue(now)))
    soon = db.session.scalar(count.where(*where, ~_overdue(now), due_soon))
    return {"overdue": overdue, "soon": soon, "now": overdue + soon}


def queue_buildings(actor: User, rules) -> list[Building]:
    """The buildings to filter `actor`'s queue by: those of their areas and of their tickets."""
    query = (select(Building).join(Area).options(joinedload(Building.area))
             .order_by(Area.name, Building.name))
    if supervised(actor):
        query = query.where(in_estates_of(actor, Area.estate_id))
    elif actor.role != Role.ADMIN:
        in_queue = (select(Unit.building_id).join(Ticket, Ticket.unit_id == Unit.id)
                    .where(*_queue_scope(actor, rules)))
        query = query.where(or_(Area.butler_id == actor.id, Building.id.in_(in_queue)))
    return db.session.scalars(query).all()


def handover(actor: User, now: datetime, rules) -> list[tuple[Building, list[QueueItem]]]:
    """The open work of `actor`'s queue for the next shift, by building (area, then building
    name), each building's tickets most urgent first, with their timeline for the last step."""
    where = _queue_scope(actor, rules)
    query = (_with_people(select(Ticket)).where(*where)
             .options(selectinload(Ticket.events).joinedload(Event.actor))
             .order_by(case((_overdue(now), 0), else_=1), _urgency().asc().nulls_last(),
                       Ticket.reported_at.desc(), Ticket.id.desc()))
    groups: dict[int, tuple[Building, list[QueueItem]]] = {}
    for ticket in db.session.scalars(query).unique():
        building = ticket.unit.building
        groups.setdefault(building.id, (building, []))[1].append(QueueItem.of(ticket, now))
    return sorted(groups.values(), key=lambda group: (group[0].area.name, group[0].name))


def deadlines_due(now: datetime, after: timedelta, until: timedelta, actor: User | None = None):
    """Running deadlines due in (now + after, now + until], soonest first, across the areas
    `actor` sees (None: all), with the ticket, its assignee and the butler of its area (who
    answers if nobody is assigned)."""
    query = (select(Deadline).join(Deadline.ticket)
             .where(Deadline.status == DeadlineStatus.RUNNING,
                    Deadline.due_at > now + after, Deadline.due_at <= now + until)
             .options(joinedload(Deadline.ticket).joinedload(Ticket.assignee),
                      joinedload(Deadline.ticket).joinedload(Ticket.unit)
                      .joinedload(Unit.building).joinedload(Building.area).joinedload(Area.butler))
             .order_by(Deadline.due_at, Deadline.id))
    return db.session.scalars(_of_tickets_seen(query, actor, few_found=True)).all()


ON_BEHALF_SHOWN = 200  # the newest steps taken for residents on the supervisor's review list


def steps_for_residents(rules, actor: User | None = None,
                        limit: int = ON_BEHALF_SHOWN) -> list[Event]:
    """Steps staff took for a resident (a butler cancelling a repair, accepting a solution for
    the resident: the rules' `on_behalf` triggers fired by anyone but a resident), newest
    first, with their ticket and who took them: the supervisor's review list (of the tickets
    `actor` may see; None: all)."""
    taken = [and_(Ticket.kind == name, Event.trigger.in_(
        [t.name for t in kind.triggers.values() if t.on_behalf]))
        for name, kind in rules.kinds.items() if any(t.on_behalf for t in kind.triggers.values())]
    if not taken:
        return []
    return list(db.session.scalars(_of_tickets_seen(
        select(Event).join(Ticket).join(User, Event.actor_id == User.id)
        .where(or_(*taken), User.role != Role.RESIDENT), actor)
        .options(joinedload(Event.actor), joinedload(Event.ticket).joinedload(Ticket.resident),
                 joinedload(Event.ticket).joinedload(Ticket.unit).joinedload(Unit.building)
                 .joinedload(Building.area))
        .order_by(Event.at.desc(), Event.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Stopped:
    """A clock a step stopped: when it was due, and how long was left on it then (negative:
    it was late already); `close` when that was under a tenth of its length."""

    name: str
    due_at: datetime
    left: timedelta
    close: bool


@dataclass(frozen=True)
class Answered:
    """What became of a step taken for a resident: the clocks it stopped and the resident's
    objection, if they made one."""

    stopped: list[Stopped]
    objection: Event | None


def answered(rules, steps: list[Event]) -> dict[int, Answered]:
    """For each step of the review list (by event id), what it stopped and how the resident
    answered it, in two queries for the whole list."""
    tickets = {step.ticket_id for step in steps}
    stopped: dict[tuple[int, datetime], list[Stopped]] = {}
    for deadline, kind in db.session.execute(
            select(Deadline, Ticket.kind).join(Ticket)
            .where(Deadline.ticket_id.in_(tickets), Deadline.status == DeadlineStatus.CANCELLED,
                   Deadline.due_at.is_not(None))
            .order_by(Deadline.due_at)).tuples():
        rule = rules.kind(kind).deadlines.get(deadline.name)
        left = deadline.due_at - deadline.closed_at
        stopped.setdefault((deadline.ticket_id, deadline.closed_at), []).append(Stopped(
            deadline.name, deadline.due_at, left, bool(rule) and left < rule.within / 10))
    objections = {name: [t.name for t in kind.triggers.values() if t.objects_to]
                  for name, kind in rules.kinds.items()}
    later: dict[int, list[Event]] = {}
    for event in db.session.scalars(
            select(Event).where(Event.ticket_id.in_(tickets),
                                Event.trigger.in_({t for ts in objections.values() for t in ts}))
            .order_by(Event.at, Event.id)):
        later.setdefault(event.ticket_id, []).append(event)
    return {step.id: Answered(
        stopped=stopped.get((step.ticket_id, step.at), []),
        objection=next((e for e in later.get(step.ticket_id, []) if e.at >= step.at
                        and rules.kind(step.ticket.kind).triggers[e.trigger].objects_to
                        == step.trigger), None))
        for step in steps}
