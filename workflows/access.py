"""Who may see what: tickets, scorecards, and who answers for a unit. (Who may fire a trigger is
in the rules: each trigger names its roles.)

Residents see their own tickets, technicians the ones dispatched to them, butlers those assigned
to them, in the areas they are responsible for (their own, and those of a butler they cover for
on leave), or registered by them; supervisors those of the estates they supervise, and the
company's admin all. Who answered for a unit at an
instant is `responsibility`: one rule, in SQL, for the engine, the sweeper, notices and scores.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased

from models import (
    Area,
    AreaButler,
    Building,
    DutyShift,
    EstateSupervisor,
    Event,
    Leave,
    LeaveStatus,
    Role,
    Ticket,
    Unit,
    User,
    UTCDateTime,
    db,
)
from workflows import clock
from workflows.errors import Forbidden


def units_of_butler(butler_id: int):
    """The units of the areas the butler answers for now: their own, and those of a butler they
    cover for on leave (顶岗), whose queue they keep meanwhile."""
    covered = select(Leave.butler_id).where(Leave.substitute_id == butler_id,
                                            _leave_running(Leave, clock.now()))
    return (select(Unit.id).join(Building).join(Area)
            .where(or_(Area.butler_id == butler_id, Area.butler_id.in_(covered)))
            .scalar_subquery())


def estates_supervised(supervisor_id: int):
    """The ids of the estates a supervisor supervises, as a subquery."""
    return (select(EstateSupervisor.estate_id)
            .where(EstateSupervisor.supervisor_id == supervisor_id).scalar_subquery())


def estate_ids(actor: User) -> list[int] | None:
    """The estates a supervisor works in (none: no estate given them yet); None for the
    company's admin, who sees every estate."""
    if actor.role == Role.ADMIN:
        return None
    return list(db.session.scalars(select(EstateSupervisor.estate_id)
                                   .where(EstateSupervisor.supervisor_id == actor.id)
                                   .order_by(EstateSupervisor.estate_id)))


def in_estates_of(actor: User, estate_id) -> ColumnElement[bool]:
    """A WHERE clause keeping what is in the estates `actor` supervises (everything for the
    admin), given the column or expression of its estate's id."""
    if actor.role == Role.ADMIN:
        return true()
    return estate_id.in_(estates_supervised(actor.id))


def units_in_estates_of(actor: User):
    """The units of the estates `actor` supervises, as a subquery."""
    return (select(Unit.id).join(Building).join(Area)
            .where(in_estates_of(actor, Area.estate_id)).scalar_subquery())


def supervised(actor: User) -> bool:
    """Whether `actor` works within estates given them: a supervisor (the admin has all, and
    the others have their own rules: a butler their areas, a resident their unit)."""
    return actor.role == Role.SUPERVISOR


def without_estate(actor: User) -> bool:
    """A supervisor no estate has been given yet: every list of theirs is empty."""
    return supervised(actor) and not estate_ids(actor)


def in_scope(actor: User, estate_id) -> ColumnElement[bool]:
    """`in_estates_of` for a supervisor; true() for anyone else, whom other rules narrow."""
    return in_estates_of(actor, estate_id) if supervised(actor) else true()


def butlers_in_estates_of(actor: User):
    """The butlers of the estates `actor` supervises, as a subquery: those of their areas, and
    the relief butlers (no area), who may cover in any estate."""
    with_area = select(Area.butler_id).where(Area.butler_id.is_not(None))
    return (select(User.id).where(User.role == Role.BUTLER, or_(
        User.id.in_(with_area.where(in_estates_of(actor, Area.estate_id))),
        User.id.not_in(with_area))).scalar_subquery())


def people_in_estates_of(actor: User):
    """Who belongs to the estates `actor` supervises, as a subquery: their units' residents,
    their butlers, their supervisors, and the company's technicians and admin."""
    return select(User.id).where(or_(
        User.unit_id.in_(units_in_estates_of(actor)),
        User.id.in_(butlers_in_estates_of(actor)),
        User.id.in_(select(EstateSupervisor.supervisor_id)
                    .where(in_estates_of(actor, EstateSupervisor.estate_id))),
        User.role.in_((Role.TECHNICIAN, Role.ADMIN)))).scalar_subquery()


def visible_to(actor: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the tickets `actor` may see."""
    match actor.role:
        case Role.ADMIN:
            return true()
        case Role.SUPERVISOR:
            return Ticket.unit_id.in_(units_in_estates_of(actor))
        case Role.RESIDENT:
            return Ticket.resident_id == actor.id
        case Role.TECHNICIAN:
            return Ticket.technician_id == actor.id
        case Role.BUTLER:
            # 首问负责制: whoever took the call follows it, even in another butler's area.
            return or_(Ticket.assignee_id == actor.id, Ticket.created_by_id == actor.id,
                       Ticket.unit_id.in_(units_of_butler(actor.id)))
    return false()


def can_see(actor: User, ticket: Ticket) -> bool:
    return db.session.scalar(
        select(Ticket.id).where(Ticket.id == ticket.id, visible_to(actor))
    ) is not None


# -- who answered for a unit, and when -------------------------------------------------------------

def _leave_running(leave, at) -> ColumnElement[bool]:
    """An approved leave that runs at `at` (from its start, until its end)."""
    return and_(leave.status == LeaveStatus.APPROVED, leave.starts_at <= at, leave.ends_at > at)


def _area_butler_then(unit_id, at):
    """SQL: the butler of the unit's area in the period holding `at` (None: nobody's)."""
    period, building, unit = aliased(AreaButler), aliased(Building), aliased(Unit)
    return (select(period.butler_id)
            .join(building, building.area_id == period.area_id)
            .join(unit, unit.building_id == building.id)
            .where(unit.id == unit_id, period.starts_at <= at,
                   or_(period.ends_at.is_(None), period.ends_at > at))
            .order_by(period.starts_at.desc()).limit(1)
            # Nested in another subquery (a leave's), the ticket's and deadline's columns still
            # name the outer query's rows, not tables of its own to join every row of.
            .correlate_except(period, building, unit).scalar_subquery())


def _on_duty_then(unit_id, at):
    """SQL: who was on duty for the unit's whole estate at `at` (None: nobody, or a day shift of
    the area butlers, or no rota then)."""
    shift, area, building, unit = (aliased(DutyShift), aliased(Area), aliased(Building),
                                   aliased(Unit))
    return (select(shift.on_duty_id)
            .join(area, area.estate_id == shift.estate_id)
            .join(building, building.area_id == area.id)
            .join(unit, unit.building_id == building.id)
            .where(unit.id == unit_id, shift.starts_at <= at, shift.ends_at > at)
            .limit(1).correlate_except(shift, area, building, unit).scalar_subquery())


def _on_leave(butler_id, at, column: str):
    """SQL: a column (`substitute_id`, `butler_id`) of the approved leave of `butler_id`
    running at `at`."""
    leave = aliased(Leave)
    return (select(getattr(leave, column))
            .where(leave.butler_id == butler_id, _leave_running(leave, at))
            .limit(1).correlate_except(leave).scalar_subquery())


def responsibility(unit_id, at, holder_id=None):
    """Who answered for a ticket of the unit at `at`, as SQL: (charged, covering_for).

    The one rule of "who was responsible here then", asked by the engine (a new ticket's
    assignee), the sweeper (whom a miss is charged to: with the ticket's assignee as
    `holder_id` and the due time as `at`), the notices and the assessment:
      - the holder: the ticket's assignee, or, if it has none, the person on duty for the
        estate at `at` (a shift of its rota naming one: workflows.duty), else the butler of the
        unit's area in the period holding `at` (workflows.cover changes them, history kept);
      - if the holder was on approved leave at `at`, their substitute, covering for them.
    `covering_for` is the butler on leave the one charged was covering for: the holder on
    leave, or the area's butler on leave when the holder is their substitute (a ticket given to
    the substitute while they cover). All arguments may be SQL columns or plain values.
    """
    area_butler = _area_butler_then(unit_id, at)
    answering = func.coalesce(_on_duty_then(unit_id, at), area_butler)
    holder = answering if holder_id is None else func.coalesce(holder_id, answering)
    substitute = _on_leave(holder, at, "substitute_id")
    charged = func.coalesce(substitute, holder)
    if holder_id is None:
        covering_for = case((substitute.is_not(None), holder))
    else:
        area_substitute = _on_leave(area_butler, at, "substitute_id")
        covering_for = case((substitute.is_not(None), holder),
                            (area_substitute == holder_id, area_butler))
    return charged, covering_for


def covering_butler_id(unit_id: int, at: datetime, holder_id: int | None = None) -> int | None:
    """Who covered the unit's area at `at` (or, given a ticket's `holder_id`, who answered for
    the ticket then): the one answer to "who was responsible here then" (`responsibility`)."""
    return responsible(unit_id, at, holder_id)[0]


def responsible(unit_id: int, at: datetime,
                holder_id: int | None = None) -> tuple[int | None, int | None]:
    """`responsibility` for plain values: (who answered, the butler on leave they covered)."""
    charged, covering_for = responsibility(
        literal(unit_id, Integer()), literal(at, UTCDateTime()),
        None if holder_id is None else literal(holder_id, Integer()))
    return tuple(db.session.execute(select(charged, covering_for)).one())


def substitutes(at: datetime) -> dict[int, int]:
    """Who covers whom at `at`: {butler on approved leave: their substitute}."""
    return dict(db.session.execute(select(Leave.butler_id, Leave.substitute_id)
                                   .where(_leave_running(Leave, at))).all())


def supervisors_of(unit_ids: Iterable[int], managers: bool = False) -> dict[int, list[int]]:
    """Who supervises each unit's butler: the active supervisors of the unit's estate (only those
    marked as managers, with `managers`), by unit, for many units in one query."""
    wanted = set(unit_ids)
    found: dict[int, list[int]] = {unit: [] for unit in wanted}
    if not wanted:
        return found
    query = (select(Unit.id, User.id).join(Building).join(Area)
             .join(EstateSupervisor, EstateSupervisor.estate_id == Area.estate_id)
             .join(User, User.id == EstateSupervisor.supervisor_id)
             .where(Unit.id.in_(wanted), User.role == Role.SUPERVISOR, User.active)
             .order_by(Unit.id, User.id))
    if managers:
        query = query.where(User.is_manager)
    for unit, supervisor in db.session.execute(query):
        found[unit].append(supervisor)
    return found


def estates_of_butler(butler_id: int) -> list[int] | None:
    """The estates whose areas the butler answers for; None for a relief butler, who has no
    area and may cover in any estate."""
    theirs = list(db.session.scalars(select(Area.estate_id).where(Area.butler_id == butler_id)
                                     .distinct()))
    return theirs or None


def supervisors_of_butler(butler_id: int) -> list[int]:
    """The active supervisors of the estates whose areas the butler answers for; every active
    supervisor for a relief butler."""
    theirs = estates_of_butler(butler_id)
    query = select(User.id).where(User.role == Role.SUPERVISOR, User.active).order_by(User.id)
    if theirs is not None:
        query = query.where(User.id.in_(select(EstateSupervisor.supervisor_id)
                                        .where(EstateSupervisor.estate_id.in_(theirs))))
    return list(db.session.scalars(query))


def may_act_for(actor: User, unit_id: int, at: datetime) -> bool:
    """Whether `actor` answers for the unit at `at`: a supervisor, or the butler covering its area
    (then or now). Only they may register a call afterwards (事后补单) with an earlier time: a
    time in the past starts clocks that ran before anyone was told, against that butler."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.SUPERVISOR:
        return db.session.scalar(select(Unit.id).where(
            Unit.id == unit_id, Unit.id.in_(units_in_estates_of(actor)))) is not None
    return actor.role == Role.BUTLER and actor.id in (covering_butler_id(unit_id, at),
                                                      covering_butler_id(unit_id, clock.now()))


def answered_for(butler_id: int, ticket: Ticket, at: datetime) -> bool:
    """Whether the butler answered for `ticket` around `at`: they covered its area then or when
    it was reported, or held it (now, or handed it by a reassignment). A finding that cites a
    ticket must cite one of theirs."""
    if butler_id in (ticket.assignee_id, covering_butler_id(ticket.unit_id, at),
                     covering_butler_id(ticket.unit_id, ticket.reported_at)):
        return True
    handed = db.session.scalars(select(Event.data).where(Event.ticket_id == ticket.id,
                                                         Event.from_state.is_not(None)))
    return any((data or {}).get("assignee_id") == butler_id for data in handed)


def scorecard_of(actor: User, butler_id: int | None) -> int | None:
    """Whose scorecard lines `actor` asks for: a butler sees only their own (asking for none
    means theirs), a supervisor anyone's (none: everyone's). Forbidden for anyone else."""
    if actor.role in (Role.SUPERVISOR, Role.ADMIN):
        return butler_id
    if actor.role == Role.BUTLER and butler_id in (None, actor.id):
        return actor.id
    if actor.role == Role.BUTLER:
        raise Forbidden(_l("a butler sees only their own scorecard"))
    raise Forbidden(_l("only butlers and supervisors see scorecards"))


def may_see_card(actor: User, butler_id: int | None) -> bool:
    """Whether `actor` may see the scorecard (and act on the lines) of `butler_id`."""
    try:
        return butler_id is not None and scorecard_of(actor, butler_id) == butler_id
    except Forbidden:
        return False
