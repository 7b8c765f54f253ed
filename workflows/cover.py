"""Who covers an area, and when: an area's butler with dates, leave (请假) and substitutes (顶岗).

Changing an area's butler ends the running period and starts the next at once, and hands the
area's open tickets held by the outgoing butler to the incoming one (工作移交). Leave is asked for
by the butler (or by a supervisor for them) and approved by a supervisor, who names the
substitute; while it runs, `workflows.access.responsibility` answers with the substitute. Nothing
here edits history: a period is only ever ended, a leave that has begun is ended early rather
than cancelled, and every hand-over is a reassignment step on its ticket.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import joinedload

from models import Area, AreaButler, Building, Leave, LeaveStatus, Role, Ticket, Unit, User, db
from models.transaction import write
from workflows import audit, clock, engine, notices, rules
from workflows.access import butlers_in_estates_of, in_scope, supervised
from workflows.assessment import _require_supervisor, _text
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.fields import FIELDS, record_id, required_time
from workflows.words import local, term

OPEN = (LeaveStatus.REQUESTED, LeaveStatus.APPROVED)


# -- areas -----------------------------------------------------------------------------------------

def require_staff(actor: User) -> None:
    """Who covers which area is for butlers and supervisors to read."""
    if actor.role not in (Role.BUTLER, Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(_l("only butlers and supervisors see who covers the areas"))


def areas(actor: User) -> list[Area]:
    """Every area `actor` sees (a supervisor: of their estates) with its butler now, by name."""
    return list(db.session.scalars(select(Area).options(joinedload(Area.butler))
                                   .where(in_scope(actor, Area.estate_id))
                                   .order_by(Area.name)))


def butlers(actor: User, beside: int | None = None) -> list[User]:
    """The active butlers `actor` may name (a supervisor: those of their estates); `beside` a
    butler going on leave, those who may cover for them: of one of their estates, or relief
    butlers (no area)."""
    query = (select(User).where(User.role == Role.BUTLER, User.active.is_(True))
             .order_by(User.name))
    if supervised(actor):
        query = query.where(User.id.in_(butlers_in_estates_of(actor)))
    if beside is not None:
        query = query.where(User.id != beside)
        theirs = _estates_of_butler(beside)
        if theirs:
            with_area = select(Area.butler_id).where(Area.butler_id.is_not(None))
            query = query.where(or_(User.id.not_in(with_area), User.id.in_(
                select(Area.butler_id).where(Area.estate_id.in_(theirs)))))
    return list(db.session.scalars(query))


def periods(area_id: int | None = None) -> list[AreaButler]:
    """Who was each area's butler, and when: newest first."""
    query = (select(AreaButler).options(joinedload(AreaButler.butler), joinedload(AreaButler.area))
             .order_by(AreaButler.starts_at.desc(), AreaButler.id.desc()))
    if area_id is not None:
        query = query.where(AreaButler.area_id == area_id)
    return list(db.session.scalars(query))


def set_area_butler(actor: User, area_id: Any, butler_id: Any, note: Any = "") -> AreaButler:
    """Make `butler_id` the area's butler from now: the running period ends and a new one starts;
    the area's open tickets held by the outgoing butler are handed to the new one (each a
    reassignment step, its due misses recorded first against whoever held it)."""
    _require_supervisor(actor)
    with write():
        return give_area(actor, area_id, butler_id, note)


def give_area(actor: User, area_id: Any, butler_id: Any, note: Any = "") -> AreaButler:
    """`set_area_butler` in the caller's write transaction (workflows.places: an area made or
    renamed with its butler is one change)."""
    now = clock.now()
    area = db.session.execute(select(Area).where(Area.id == (record_id(area_id) or 0),
                                                 in_scope(actor, Area.estate_id))
                              .with_for_update()).scalar_one_or_none()
    if area is None:
        raise NotFound(_l("area %(id)s not found", id=area_id))
    errors: dict[str, Any] = {}
    butler = _butler(butler_id, "butler_id", errors, actor)
    note = _text(note, "note", errors, required=False)
    if errors:
        raise InvalidData(_l("the area's butler cannot be changed as given"), errors)
    if butler == area.butler_id:
        raise Conflict(_l("this butler is the area's butler already"),
                       {"butler_id": _l("is the area's butler already")})
    running = db.session.scalar(select(AreaButler).where(AreaButler.area_id == area.id,
                                                         AreaButler.ends_at.is_(None)))
    if running is not None:
        running.ends_at = now
    period = AreaButler(area_id=area.id, butler_id=butler, starts_at=now, set_by_id=actor.id)
    db.session.add(period)
    outgoing, area.butler_id = area.butler_id, butler
    audit.record(actor, "changed", area, {"butler_id": outgoing}, {"butler_id": butler},
                 estate_id=area.estate_id, note=note)
    if outgoing is not None:
        held = db.session.scalars(
            select(Ticket.id).join(Unit).join(Building)
            .where(Building.area_id == area.id, Ticket.assignee_id == outgoing,
                   open_tickets()))
        engine.hand_over(actor, list(held), butler, note, now)
    db.session.flush()
    return period


# -- leave -----------------------------------------------------------------------------------------

def leaves(actor: User) -> list[Leave]:
    """The leave `actor` may see, latest start first: a butler their own and what they cover;
    a supervisor that of the butlers of their estates, the admin everyone's."""
    query = (select(Leave).options(*(joinedload(getattr(Leave, r)) for r in (
        "butler", "substitute", "requested_by", "decided_by", "cancelled_by")))
             .order_by(Leave.starts_at.desc(), Leave.id.desc()))
    if actor.role == Role.BUTLER:
        query = query.where(or_(Leave.butler_id == actor.id, Leave.substitute_id == actor.id))
    else:
        require_staff(actor)
        query = query.where(_of_theirs(actor))
    return list(db.session.scalars(query))


def _of_theirs(actor: User):
    """A WHERE clause on leave: of a butler `actor` answers for (a supervisor: of their
    estates; the admin: any)."""
    return Leave.butler_id.in_(butlers_in_estates_of(actor)) if supervised(actor) else true()


def to_decide(actor: User) -> list[Leave]:
    """Leave asked for and not yet decided, that has not ended: the supervisor's to approve
    (of the butlers of their estates), the soonest first."""
    return list(db.session.scalars(
        select(Leave).options(joinedload(Leave.butler), joinedload(Leave.requested_by))
        .where(Leave.status == LeaveStatus.REQUESTED, Leave.ends_at > clock.now(),
               _of_theirs(actor))
        .order_by(Leave.starts_at, Leave.id)))


def away_now() -> dict[int, Leave]:
    """The approved leave running now, by the butler away."""
    now = clock.now()
    return {leave.butler_id: leave for leave in db.session.scalars(
        select(Leave).options(joinedload(Leave.substitute))
        .where(Leave.status == LeaveStatus.APPROVED, Leave.starts_at <= now, Leave.ends_at > now))}


def request_leave(actor: User, butler_id: Any, starts_at: Any, ends_at: Any,
                  substitute_id: Any = None, reason: Any = "") -> Leave:
    """A butler asks for leave from `starts_at` until `ends_at` (a supervisor may for them, and
    may suggest the substitute already); it covers nothing until a supervisor approves it."""
    if actor.role == Role.BUTLER and butler_id in (None, "", actor.id):
        butler_id = actor.id
    elif actor.role == Role.BUTLER:
        raise Forbidden(_l("a butler asks for leave for themselves only"))
    elif actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(_l("only butlers and supervisors record leave"))
    now = clock.now()
    with write():
        errors: dict[str, Any] = {}
        butler = _butler(butler_id, "butler_id", errors, actor)
        starts = required_time(starts_at, "starts_at", errors)
        ends = required_time(ends_at, "ends_at", errors)
        if starts and ends and ends <= starts:
            errors["ends_at"] = _l("must be after the start")
        elif ends and ends <= now:
            errors["ends_at"] = _l("must be in the future")
        substitute = None
        if substitute_id not in (None, ""):
            substitute = _butler(substitute_id, "substitute_id", errors, actor)
            _check_substitute(butler, substitute, errors)
        reason = _text(reason, "reason", errors)
        if errors:
            raise InvalidData(_l("the leave cannot be recorded as given"), errors)
        _lock_people(butler, substitute)
        _refuse_clashes(butler, substitute, starts, ends)
        leave = Leave(butler_id=butler, substitute_id=substitute, starts_at=starts, ends_at=ends,
                      reason=reason, status=LeaveStatus.REQUESTED, requested_by_id=actor.id,
                      requested_at=now)
        db.session.add(leave)
        db.session.flush()
        notices.for_leave(leave, "requested", actor, now)
    return leave


def approve_leave(actor: User, leave_id: Any, substitute_id: Any = None) -> Leave:
    """A supervisor approves a leave asked for, naming its substitute (or keeping the one
    suggested): from its start the substitute answers for what the butler would have."""
    _require_supervisor(actor)
    now = clock.now()
    with write():
        leave = _leave(leave_id, actor)
        if leave.status != LeaveStatus.REQUESTED:
            raise Conflict(_l("this leave is %(status)s already", status=_status(leave)))
        errors: dict[str, Any] = {}
        if substitute_id in (None, ""):
            substitute_id = leave.substitute_id
        if substitute_id in (None, ""):
            errors["substitute_id"] = _l("is required")
        substitute = (_butler(substitute_id, "substitute_id", errors, actor) if not errors
                      else None)
        _check_substitute(leave.butler_id, substitute, errors)
        if errors:
            raise InvalidData(_l("the leave cannot be approved as given"), errors)
        if leave.ends_at <= now:
            raise Conflict(_l("this leave is over already"))
        _lock_people(leave.butler_id, substitute)
        _refuse_clashes(leave.butler_id, substitute, leave.starts_at, leave.ends_at, leave.id)
        leave.substitute_id, leave.status = substitute, LeaveStatus.APPROVED
        leave.decided_by_id, leave.decided_at = actor.id, now
        notices.for_leave(leave, "approved", actor, now)
    return leave


def cancel_leave(actor: User, leave_id: Any) -> Leave:
    """Withdraw a leave (the butler their own, or a supervisor): one not yet begun is cancelled;
    one under way ends now, so what it covered stays covered."""
    now = clock.now()
    with write():
        leave = _leave(leave_id, actor)
        if actor.role not in (Role.SUPERVISOR, Role.ADMIN) and actor.id != leave.butler_id:
            raise Forbidden(_l("only the butler on leave or a supervisor may cancel it"))
        if leave.status == LeaveStatus.CANCELLED or leave.ends_at <= now:
            raise Conflict(_l("this leave is %(status)s already", status=_status(leave)))
        if leave.status == LeaveStatus.APPROVED and leave.starts_at <= now:
            leave.ends_at = now
        else:
            leave.status = LeaveStatus.CANCELLED
        leave.cancelled_by_id, leave.cancelled_at = actor.id, now
        notices.for_leave(leave, "cancelled", actor, now)
    return leave


def left_with(leave: Leave) -> list[Ticket]:
    """The open tickets still held by the butler on leave: what the supervisor hands over."""
    return list(db.session.scalars(
        select(Ticket).where(Ticket.assignee_id == leave.butler_id, open_tickets())
        .order_by(Ticket.id)))


def hand_over_leave(actor: User, leave_id: Any, note: Any = "") -> list[int]:
    """Hand every open ticket still held by the butler on an approved leave to its substitute,
    in one step (each a reassignment on its ticket). Returns the tickets' ids."""
    _require_supervisor(actor)
    now = clock.now()
    with write():
        leave = _leave(leave_id, actor)
        if leave.status != LeaveStatus.APPROVED or leave.ends_at <= now:
            raise Conflict(_l("only an approved leave not yet over is handed over (this one is "
                              "%(status)s)", status=_status(leave)))
        errors: dict[str, Any] = {}
        note = _text(note, "note", errors, required=False)
        if errors:
            raise InvalidData(_l("the tickets cannot be handed over as given"), errors)
        return engine.hand_over(actor, [t.id for t in left_with(leave)], leave.substitute_id,
                                note, now)


def status(leave: Leave, now: datetime) -> str:
    """requested, approved (not yet begun), running, over or cancelled."""
    if leave.status != LeaveStatus.APPROVED:
        return leave.status
    if leave.ends_at <= now:
        return "over"
    return "running" if leave.starts_at <= now else "approved"


# -- checks ----------------------------------------------------------------------------------------

def open_tickets():
    """A WHERE clause selecting the tickets in an open state of their kind."""
    return or_(*(and_(Ticket.kind == name, Ticket.state.in_(kind.open_states))
                 for name, kind in rules.current().kinds.items()))


def _butler(value: Any, key: str, errors: dict, actor: User) -> int | None:
    """An active butler's id (a supervisor's: of their estates), or None with errors[key]
    saying why not."""
    if value is None or (isinstance(value, str) and not value.strip()):
        errors[key] = _l("choose a butler")
        return None
    try:
        butler = FIELDS["assignee_id"].parse(value, {})
    except ValueError as exc:
        errors[key] = exc.args[0]
        return None
    if supervised(actor) and not db.session.scalar(
            select(User.id).where(User.id == butler, User.id.in_(butlers_in_estates_of(actor)))):
        errors[key] = _l("is not a butler of your estates")
        return None
    return butler


def _check_substitute(butler: int | None, substitute: int | None, errors: dict) -> None:
    """A substitute is another butler, of the same estate: when both answer for areas, some of
    them are in one estate (a relief butler without areas may cover anywhere)."""
    if substitute is None or butler is None:
        return
    if substitute == butler:
        errors["substitute_id"] = _l("must be another butler")
        return

    theirs, mine = _estates_of_butler(substitute), _estates_of_butler(butler)
    if theirs and mine and not theirs & mine:
        errors["substitute_id"] = _l("is a butler of another estate")


def _estates_of_butler(butler: int) -> set[int]:
    """The estates of the areas the butler answers for (none: a relief butler)."""
    return set(db.session.scalars(select(Area.estate_id).where(Area.butler_id == butler)))


def _leave(leave_id: Any, actor: User) -> Leave:
    """The leave, locked; NotFound for a supervisor when it is not of a butler of theirs."""
    leave = db.session.execute(select(Leave).where(Leave.id == (record_id(leave_id) or 0),
                                                   _of_theirs(actor))
                               .with_for_update()).scalar_one_or_none()
    if leave is None:
        raise NotFound(_l("leave %(id)s not found", id=leave_id))
    return leave


def _lock_people(*ids: int | None) -> None:
    """Lock the rows of the butlers a leave concerns, in id order: two leaves of the same butler
    (or a butler's leave and another naming them as substitute) are then checked one after the
    other, never both against what was there before either (PostgreSQL's READ COMMITTED)."""
    db.session.execute(select(User.id).where(User.id.in_([i for i in ids if i is not None]))
                       .order_by(User.id).with_for_update())


def _overlapping(starts: datetime, ends: datetime, *where):
    """The open leave (asked for or approved) that overlaps [starts, ends), oldest first."""
    return db.session.scalars(
        select(Leave).where(Leave.status.in_(OPEN), Leave.starts_at < ends, Leave.ends_at > starts,
                            *where).order_by(Leave.starts_at)).first()


def _refuse_clashes(butler: int, substitute: int | None, starts: datetime, ends: datetime,
                    leave_id: int | None = None) -> None:
    """A conflict with leave already recorded (409, naming the field): the butler away twice, a
    butler away while covering for another, a substitute away themselves."""
    others = (Leave.id != leave_id,) if leave_id is not None else ()
    own = _overlapping(starts, ends, Leave.butler_id == butler, *others)
    if own is not None:
        raise Conflict(_l("%(name)s has leave from %(start)s to %(end)s already",
                          name=own.butler.name, start=local(own.starts_at),
                          end=local(own.ends_at)),
                       {"starts_at": _l("overlaps their leave from %(start)s to %(end)s",
                                        start=local(own.starts_at), end=local(own.ends_at))})
    covering = _overlapping(starts, ends, Leave.substitute_id == butler,
                            Leave.status == LeaveStatus.APPROVED, *others)
    if covering is not None:
        raise Conflict(_l("%(name)s covers for %(other)s then", name=covering.substitute.name,
                          other=covering.butler.name),
                       {"starts_at": _l("they cover for %(other)s from %(start)s to %(end)s",
                                        other=covering.butler.name,
                                        start=local(covering.starts_at),
                                        end=local(covering.ends_at))})
    if substitute is None:
        return
    away = _overlapping(starts, ends, Leave.butler_id == substitute,
                        Leave.status == LeaveStatus.APPROVED)
    if away is not None:
        raise Conflict(_l("the substitute %(name)s is on leave then", name=away.butler.name),
                       {"substitute_id": _l("is on leave from %(start)s to %(end)s",
                                            start=local(away.starts_at),
                                            end=local(away.ends_at))})


def _status(leave: Leave):
    return term(status(leave, clock.now()))
