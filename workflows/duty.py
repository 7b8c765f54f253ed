"""Duty (24小时值班) and signed shift hand-overs (交接班, 工作移交表).

An estate's rota is a sequence of shifts, entered by a supervisor for a period (a week, say)
that they must cover without a gap or an overlap. A shift is either the area butlers' (each
area's own butler answers for it, as outside any rota) or one person's on duty for the whole
estate: a duty butler. (ButlerDesk has no front-desk role; a supervisor cannot be on duty, as
a ticket is handed to butlers only and only butlers have scorecards.)
While a duty shift runs, `workflows.access.responsibility` answers with its person: new tickets
go to them, and what falls due while they hold a ticket is theirs.

At the end of a duty shift the sweeper hands its open work on (`hand_over_ended`): each ticket
the person on duty took during the shift and still holds passes to whoever answers for its unit
from then (the next person on duty, or the area's butler or their substitute), a reassignment
step on its ticket, and a `ShiftHandover` per person taking over keeps what passed as it was
then. The one leaving signs it first, with a note; the one taking over signs to accept it.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import joinedload

from models import (
    Area,
    Building,
    Deadline,
    DeadlineStatus,
    DutyShift,
    Estate,
    Event,
    Role,
    ShiftHandover,
    Ticket,
    Unit,
    User,
    db,
)
from models.transaction import write
from workflows import access, clock, engine, estates, rules
from workflows.access import in_scope, responsible
from workflows.assessment import _require_supervisor, _text
from workflows.cover import open_tickets, require_staff
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.fields import record_id, required_time
from workflows.words import local

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
WEEK = timedelta(days=7)


# -- the rota --------------------------------------------------------------------------------------

def shifts(estate_id: int, starts: datetime, ends: datetime) -> list[DutyShift]:
    """The estate's shifts that overlap [starts, ends), in order."""
    return list(db.session.scalars(
        select(DutyShift).options(joinedload(DutyShift.on_duty))
        .where(DutyShift.estate_id == estate_id, DutyShift.starts_at < ends,
               DutyShift.ends_at > starts).order_by(DutyShift.starts_at)))


def relief_butlers() -> set[int]:
    """The active butlers with no area of their own: the relief butlers (机动管家) who take the
    nights and weekends on duty."""
    return set(db.session.scalars(
        select(User.id).where(User.role == Role.BUTLER, User.active.is_(True),
                              User.id.not_in(select(Area.butler_id)
                                             .where(Area.butler_id.is_not(None))))))


def shift_at(estate_id: int, at: datetime) -> DutyShift | None:
    """The estate's shift holding `at` (None: no rota then: the area butlers)."""
    found = shifts(estate_id, at, at + timedelta(microseconds=1))
    return found[0] if found else None


def on_duty_now(actor: User, now: datetime) -> list[tuple[Estate, DutyShift]]:
    """The estates with a rota now (a supervisor's: theirs; a butler's: those of their areas),
    each with its running shift."""
    query = (select(DutyShift).options(joinedload(DutyShift.on_duty), joinedload(DutyShift.estate))
             .where(DutyShift.starts_at <= now, DutyShift.ends_at > now,
                    in_scope(actor, DutyShift.estate_id)))
    theirs = access.estates_of_butler(actor.id) if actor.role == Role.BUTLER else None
    if theirs is not None:
        query = query.where(DutyShift.estate_id.in_(theirs))
    running = db.session.scalars(query)
    return sorted(((s.estate, s) for s in running), key=lambda pair: pair[0].name)


def set_rota(actor: User, estate_id: Any, starts_at: Any, ends_at: Any,
             given: Any) -> list[DutyShift]:
    """Make the estate's rota from `starts_at` until `ends_at` the shifts `given`: a list of
    {starts_at, ends_at, on_duty_id (None: the area butlers)} that covers the period exactly, or
    an empty list (no rota then: the area butlers). Shifts that have begun stay as they were,
    so they must be given again unchanged; the period may not cut through a shift outside it.
    A gap, an overlap or an end before a start is refused naming the shift's field."""
    _require_supervisor(actor)
    now = clock.now()
    with write():
        place = estates.get(estate_id, actor)
        db.session.execute(select(Estate.id).where(Estate.id == place.id).with_for_update())
        errors: dict[str, Any] = {}
        starts = required_time(starts_at, "starts_at", errors)
        ends = required_time(ends_at, "ends_at", errors)
        if starts and ends and ends <= starts:
            errors["ends_at"] = _l("must be after the start")
        elif starts and ends and ends - starts > 5 * WEEK:
            errors["ends_at"] = _l("must be at most 35 days after the start")
        wanted = _shifts(given, errors)
        if not errors:
            _covers(wanted, starts, ends, errors)
        if errors:
            raise InvalidData(_l("the rota cannot be saved as given"), errors)
        _refuse_cut(place.id, starts, ends)
        existing = shifts(place.id, starts, ends)
        begun = {(s.starts_at, s.ends_at, s.on_duty_id) for s in existing if s.starts_at < now}
        for index, *shift in wanted:
            if shift[0] < now and tuple(shift) not in begun:
                raise Conflict(_l("a shift that has begun cannot be changed"),
                               {f"shifts.{index}.starts_at": _l(
                                   "has begun: give it as it was, or start the period later")})
        if begun - {tuple(shift) for _index, *shift in wanted}:
            raise Conflict(_l("a shift that has begun cannot be changed"),
                           {"starts_at": _l("must not be before %(time)s: shifts have begun",
                                            time=local(now))})
        for shift in existing:
            if shift.starts_at >= now:
                db.session.delete(shift)
        db.session.add_all(DutyShift(estate_id=place.id, starts_at=s, ends_at=e, on_duty_id=who,
                                     set_by_id=actor.id, set_at=now)
                           for _index, s, e, who in wanted if s >= now)
        db.session.flush()
        return shifts(place.id, starts, ends)


def repeat_last_week(actor: User, estate_id: Any, week_starts: datetime) -> list[DutyShift]:
    """The rota of the week before `week_starts`, a week later: the same shifts, the same
    people, from and until the same hours."""
    _require_supervisor(actor)
    place = estates.get(estate_id, actor)
    before = shifts(place.id, week_starts - WEEK, week_starts)
    if not before or before[0].starts_at < week_starts - WEEK or before[-1].ends_at > week_starts:
        raise Conflict(_l("last week has no rota of its own to repeat"))
    return set_rota(actor, place.id, before[0].starts_at + WEEK, before[-1].ends_at + WEEK, [
        {"starts_at": s.starts_at + WEEK, "ends_at": s.ends_at + WEEK,
         "on_duty_id": s.on_duty_id} for s in before])


def _shifts(given: Any, errors: dict) -> list[tuple[int, datetime, datetime, int | None]]:
    """The shifts as given, each checked (errors under shifts.N.field, N its place in the
    list given), as (N, start, end, who) in the order of their starts."""
    if not isinstance(given, list):
        errors["shifts"] = _l("must be a list of shifts")
        return []
    wanted = []
    for index, shift in enumerate(given):
        key = f"shifts.{index}."
        if not isinstance(shift, dict):
            errors[f"shifts.{index}"] = _l("must be a shift: starts_at, ends_at, on_duty_id")
            continue
        starts = required_time(shift.get("starts_at"), key + "starts_at", errors)
        ends = required_time(shift.get("ends_at"), key + "ends_at", errors)
        if starts and ends and ends <= starts:
            errors[key + "ends_at"] = _l("must be after the start")
        who = _on_duty(shift.get("on_duty_id"), key + "on_duty_id", errors)
        if starts and ends:
            wanted.append((index, starts, ends, who))
    return sorted(wanted, key=lambda shift: shift[1])


def _on_duty(value: Any, key: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    user = db.session.get(User, record_id(value) or 0) if isinstance(value, int | str) else None
    if user is None or user.role != Role.BUTLER or not user.active:
        errors[key] = _l("must be an active butler (none: each area's own butler)")
        return None
    return user.id


def _covers(wanted: list, starts: datetime, ends: datetime, errors: dict) -> None:
    """The shifts cover [starts, ends) one after the other."""
    reached = starts
    for index, shift_starts, shift_ends, _who in wanted:
        if shift_starts > reached:
            errors[f"shifts.{index}.starts_at"] = _l(
                "leaves a gap: must be %(time)s, when the shift before ends", time=local(reached))
            return
        if shift_starts < reached:
            errors[f"shifts.{index}.starts_at"] = _l(
                "overlaps: must be %(time)s, when the shift before ends", time=local(reached))
            return
        reached = shift_ends
    if wanted and reached != ends:
        errors[f"shifts.{wanted[-1][0]}.ends_at"] = _l(
            "must be %(time)s, the end of the period", time=local(ends))


def _refuse_cut(estate_id: int, starts: datetime, ends: datetime) -> None:
    """A shift across the period's start or end (entered for another period) stays whole."""
    for key, at in (("starts_at", starts), ("ends_at", ends)):
        across = db.session.scalar(select(DutyShift).where(
            DutyShift.estate_id == estate_id, DutyShift.starts_at < at, DutyShift.ends_at > at))
        if across is not None:
            raise Conflict(_l("the period cuts through a shift of the rota"),
                           {key: _l("falls within the shift from %(start)s to %(end)s",
                                    start=local(across.starts_at), end=local(across.ends_at))})


# -- the hand-over at the end of a duty shift ------------------------------------------------------

def hand_over_ended(now: datetime) -> int:
    """Hand on the open work of every duty shift ended by `now` and not yet handed over, each
    shift in a transaction of its own; returns how many shifts were handed over. A shift is
    claimed by one conditional UPDATE, so with any number of sweepers each is handed over once.
    The hand-over is dated the shift's end (not before a ticket's last step): what falls due
    after it is charged to whoever took the ticket over."""
    due = list(db.session.scalars(
        select(DutyShift.id).where(DutyShift.on_duty_id.is_not(None),
                                   DutyShift.handed_over_at.is_(None), DutyShift.ends_at <= now)
        .order_by(DutyShift.ends_at, DutyShift.id)))
    db.session.commit()
    done = 0
    for shift_id in due:
        with write():
            claimed = db.session.execute(
                update(DutyShift).where(DutyShift.id == shift_id,
                                        DutyShift.handed_over_at.is_(None))
                .values(handed_over_at=now)).rowcount
            if claimed:
                _hand_over(db.session.get(DutyShift, shift_id))
                done += 1
    return done


def _hand_over(shift: DutyShift) -> None:
    at, leaving = shift.ends_at, shift.on_duty_id
    actor = _acting_supervisor(shift)
    following = shift_at(shift.estate_id, at)
    passing: dict[int, list[Ticket]] = defaultdict(list)
    if following is not None and following.on_duty_id not in (None, leaving):
        passing[following.on_duty_id] = []  # the phone passes, with or without open work
    for ticket in _taken_during(shift):
        taker = responsible(ticket.unit_id, at)[0]
        if taker is not None and taker != leaving:
            passing[taker].append(ticket)
    note = gettext("Duty hand-over at the end of %(name)s's shift", name=shift.on_duty.name)
    for taker, tickets in passing.items():
        handed = []
        for ticket in tickets if actor else ():
            handed += engine.hand_over(actor, [ticket.id], taker, note,
                                       max(at, ticket.updated_at))
        db.session.add(ShiftHandover(shift_id=shift.id, estate_id=shift.estate_id,
                                     leaving_id=leaving, taking_over_id=taker, handed_at=at,
                                     open_work=_open_work(handed)))
    db.session.flush()


def _acting_supervisor(shift: DutyShift) -> User | None:
    """In whose name the tickets are handed on: the supervisor who entered the shift, or, if
    they are a supervisor no longer, the first active one."""
    if shift.set_by.role in SUPERVISORS and shift.set_by.active:
        return shift.set_by
    return db.session.scalars(select(User).where(User.role.in_(SUPERVISORS), User.active)
                              .order_by(User.id)).first()


def _taken_during(shift: DutyShift) -> list[Ticket]:
    """The open tickets of the estate the person on duty still holds and took during the shift:
    registered then, or handed to them then (a ticket of their own area from before stays)."""
    held = list(db.session.scalars(
        select(Ticket).join(Unit).join(Building).join(Area)
        .where(Area.estate_id == shift.estate_id, Ticket.assignee_id == shift.on_duty_id,
               open_tickets()).order_by(Ticket.id)))
    taken = []
    for ticket in held:
        given_at = db.session.scalar(
            select(Event.at).where(Event.ticket_id == ticket.id,
                                   Event.trigger.in_((engine.CREATE_TRIGGER, engine.REASSIGN)))
            .order_by(Event.at.desc(), Event.id.desc()).limit(1))
        if given_at is not None and shift.starts_at <= given_at < shift.ends_at:
            taken.append(ticket)
    return taken


def _open_work(ticket_ids: list[int]) -> list[dict[str, Any]]:
    """What passed, as it was: each ticket with its state and the next deadline due."""
    work = []
    for ticket in db.session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))
                                     .order_by(Ticket.id)):
        pending = db.session.scalars(
            select(Deadline).where(Deadline.ticket_id == ticket.id, Deadline.pending)
            .order_by(Deadline.status != DeadlineStatus.MISSED, Deadline.due_at)).first()
        work.append({"ticket_id": ticket.id, "kind": ticket.kind, "title": ticket.title,
                     "unit": ticket.unit.label, "state": ticket.state,
                     "next_deadline": pending.name if pending else None,
                     "next_due_at": pending.due_at.isoformat() if pending else None,
                     "overdue": bool(pending and pending.status == DeadlineStatus.MISSED)})
    return work


# -- the signed record -----------------------------------------------------------------------------

def handovers(actor: User, limit: int = 100) -> list[ShiftHandover]:
    """The latest hand-overs, newest first: a butler's own (leaving or taking over), a
    supervisor's all."""
    require_staff(actor)
    query = (select(ShiftHandover).options(*(joinedload(getattr(ShiftHandover, r)) for r in (
        "leaving", "taking_over", "shift", "estate")))
             .order_by(ShiftHandover.handed_at.desc(), ShiftHandover.id.desc()).limit(limit))
    if actor.role not in SUPERVISORS:
        query = query.where(or_(ShiftHandover.leaving_id == actor.id,
                                ShiftHandover.taking_over_id == actor.id))
    return list(db.session.scalars(query.where(in_scope(actor, ShiftHandover.estate_id))))


def handover(actor: User, handover_id: Any) -> ShiftHandover:
    """One hand-over, for its two people and supervisors (404 for anyone else)."""
    require_staff(actor)
    found = db.session.scalar(select(ShiftHandover).where(
        ShiftHandover.id == (record_id(handover_id) or 0),
        in_scope(actor, ShiftHandover.estate_id)))
    if found is None or not (actor.role in SUPERVISORS
                             or actor.id in (found.leaving_id, found.taking_over_id)):
        raise NotFound(_l("hand-over %(id)s not found", id=handover_id))
    return found


def sign(actor: User, handover_id: Any, note: Any = "") -> ShiftHandover:
    """Sign a hand-over: the one leaving first (with a note on what was left and why), then the
    one taking over, accepting it. Nobody else signs it."""
    require_staff(actor)
    now = clock.now()
    with write():
        record = db.session.execute(
            select(ShiftHandover).where(ShiftHandover.id == (record_id(handover_id) or 0),
                                        in_scope(actor, ShiftHandover.estate_id))
            .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
        if record is None:
            raise NotFound(_l("hand-over %(id)s not found", id=handover_id))
        if actor.id not in (record.leaving_id, record.taking_over_id):
            raise Forbidden(_l("only the one leaving and the one taking over sign a hand-over"))
        errors: dict[str, Any] = {}
        note = _text(note, "note", errors, required=False)
        if errors:
            raise InvalidData(_l("the hand-over cannot be signed as given"), errors)
        if actor.id == record.leaving_id:
            if record.signed_by_leaving_at is not None:
                raise Conflict(_l("you signed this hand-over already"))
            record.leaving_note, record.signed_by_leaving_at = note, now
        else:
            if record.signed_by_leaving_at is None:
                raise Conflict(_l("the one leaving signs first: %(name)s has not signed yet",
                                  name=record.leaving.name))
            if record.signed_by_taking_over_at is not None:
                raise Conflict(_l("you signed this hand-over already"))
            record.taking_over_note, record.signed_by_taking_over_at = note, now
    return record


def waiting_for_signature(actor: User, now: datetime) -> list[ShiftHandover]:
    """Hand-overs the one taking over has not signed within `handover_sign_within` of the
    shift's end, oldest first: for the supervisor to follow up (of their estates)."""
    late = now - rules.current().handover_sign_within
    return list(db.session.scalars(
        select(ShiftHandover).options(joinedload(ShiftHandover.leaving),
                                      joinedload(ShiftHandover.taking_over))
        .where(and_(ShiftHandover.signed_by_taking_over_at.is_(None),
                    ShiftHandover.handed_at <= late), in_scope(actor, ShiftHandover.estate_id))
        .order_by(ShiftHandover.handed_at, ShiftHandover.id)))


def week_of(at: datetime) -> datetime:
    """The start (Monday 00:00, property time) of the week holding `at`."""
    day = at.astimezone(current_app.config["TZ"]).date()
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday, time(), current_app.config["TZ"]).astimezone(UTC)


def period(starts_at: Any, ends_at: Any, now: datetime) -> tuple[datetime, datetime]:
    """A period asked for (a time each, or none: the week holding now), checked."""
    if starts_at in (None, "") and ends_at in (None, ""):
        return week_of(now), week_of(now) + WEEK
    errors: dict[str, Any] = {}
    starts = required_time(starts_at, "from", errors)
    ends = required_time(ends_at, "until", errors)
    if starts and ends and not starts < ends <= starts + 5 * WEEK:
        errors["until"] = _l("must be after the start, at most 35 days")
    if errors:
        raise InvalidData(_l("the period cannot be read as given"), errors)
    return starts, ends
