"""Who may see what: tickets, scorecards, and who answers for a unit. (Who may fire a trigger is
in the rules: each trigger names its roles.)

Residents see their own tickets, technicians the ones dispatched to them, butlers those assigned
to them, in the areas they are responsible for, or registered by them; supervisors and admins all.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, false, or_, select, true

from models import Area, Building, Event, Role, Ticket, Unit, User, db
from workflows.errors import Forbidden


def units_of_butler(butler_id: int):
    return (select(Unit.id).join(Building).join(Area).where(Area.butler_id == butler_id)
            .scalar_subquery())


def visible_to(actor: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the tickets `actor` may see."""
    match actor.role:
        case Role.SUPERVISOR | Role.ADMIN:
            return true()
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


def area_butler_id(unit_id: int) -> int | None:
    return db.session.scalar(
        select(Area.butler_id).join(Building).join(Unit).where(Unit.id == unit_id)
    )


def covering_butler_id(unit_id: int, at: datetime) -> int | None:
    """Who covered the unit's area at `at`: the one answer to "who was responsible here then".

    Areas have one butler each, kept without dates, so today that is the area's butler at any
    instant; dated assignments, leave cover and duty rotas answer here when they exist.
    """
    return area_butler_id(unit_id)


def supervisors_of(unit_ids: Iterable[int], managers: bool = False) -> dict[int, list[int]]:
    """Who supervises each unit's butler (only those marked as managers, with `managers`), by
    unit, for many units in one query.

    One company, one estate today: every active supervisor, for every unit; an estate's own
    supervisors answer here once estates have them."""
    query = select(User.id).where(User.role == Role.SUPERVISOR, User.active).order_by(User.id)
    if managers:
        query = query.where(User.is_manager)
    everyone = list(db.session.scalars(query))
    return dict.fromkeys(unit_ids, everyone)


def may_act_for(actor: User, unit_id: int, at: datetime) -> bool:
    """Whether `actor` answers for the unit at `at`: a supervisor, or the butler covering its area
    (then or now). Only they may register a call afterwards (事后补单) with an earlier time: a
    time in the past starts clocks that ran before anyone was told, against that butler."""
    if actor.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    return actor.role == Role.BUTLER and actor.id in (covering_butler_id(unit_id, at),
                                                      area_butler_id(unit_id))


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
