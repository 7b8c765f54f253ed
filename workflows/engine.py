"""The one door for change. Views, the API, the CLI and the tests open and move tickets here.

Each call is one write transaction in plain steps: validate (who is asking, the version they
read, the data they sent, the window the rule gives), apply (record any deadline of the ticket
that has passed first, so it counts against whoever held the ticket when it passed; then the
new state and the ticket's fields; then the deadlines), record (the event, its files). A
refusal raises a WorkflowError and leaves the database as it was.

A trigger's roles, sources, window and destination come from its rule (workflows.rules); what
may be fired now is `allowed_triggers`, which the pages and the API both show.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from models import Event, Role, Ticket, Unit, User, db
from models.transaction import write
from workflows import attachments as ticket_files
from workflows import clock, deadlines, notices, overrides, rules
from workflows import details as ticket_details
from workflows.access import covering_butler_id, may_act_for, visible_to
from workflows.attachments import UploadedFile
from workflows.errors import (
    AlreadyRegistered,
    Conflict,
    Forbidden,
    InvalidData,
    NotFound,
    StaleVersion,
)
from workflows.fields import (
    FIELDS,
    MAX_TEXT,
    MAX_TITLE,
    REVISED,
    STAFF_ONLY,
    past_time,
    record_id,
    whole_number,
)
from workflows.rules import KindRules, Rules, TriggerRule
from workflows.words import duration, listing, span, term

CREATE_TRIGGER = "create"
REASSIGN = "reassign"  # the trigger that hands a ticket to another butler
# Ticket attributes that record what someone said (not who holds the ticket): giving the same
# value again is not a step that "changes nothing".
RECORDED = {"rating"}


def open_ticket(actor: User, kind: str, title: Any, description: Any = "",
                unit_id: Any = None, reported_at: Any = None, details: Any = None,
                attachments: Sequence[UploadedFile] = ()) -> Ticket:
    """Register a new ticket, assign it to whoever covers its area now (the area's butler, or
    their substitute while they are on leave) and start its clocks.

    `details` are what the kind asks for beyond title and description (workflows.details);
    `attachments` the photos and documents sent with it, already stored by the caller.
    """
    known = rules.current()
    now = clock.now()
    with write():
        new = _validate_ticket(known, actor, kind, title, description, unit_id, reported_at,
                               details, attachments, now)
        _refuse_repeat(known, actor, new, now)
        kind_rules = known.kind(new.kind)
        resident_id = actor.id if actor.role == Role.RESIDENT else _resident_of(new.unit_id)
        ticket = Ticket(kind=new.kind, state=kind_rules.initial, unit_id=new.unit_id,
                        resident_id=resident_id,
                        assignee_id=covering_butler_id(new.unit_id, now),
                        created_by_id=actor.id, title=new.title, description=new.description,
                        details=new.details, reported_at=new.reported_at, created_at=now,
                        updated_at=now)
        db.session.add(ticket)
        db.session.flush()
        _record(ticket, actor, CREATE_TRIGGER, None, {"reported_at": new.reported_at},
                new.files, now)
        deadlines.arm_initial(ticket, kind_rules)
        deadlines.settle(known, now, ticket.id)
        notices.for_new(ticket, known, actor, now)  # after the clocks: what runs out is urgent
    return ticket


def ticket_problems(actor: User, kind: Any, title: Any, description: Any = "",
                    unit_id: Any = None, reported_at: Any = None,
                    details: Any = None) -> dict[str, Any]:
    """What is wrong with a ticket as given, by field, without registering it: a page that
    refuses some files itself still says everything else that needs putting right at once.
    Raises what `open_ticket` would refuse outright (a technician, another's unit)."""
    try:
        _validate_ticket(rules.current(), actor, kind, title, description, unit_id,
                         reported_at, details, (), clock.now())
    except InvalidData as exc:
        return exc.fields
    return {}


def fire(ticket_id: int, trigger: str, actor: User, version: Any, *,
         attachments: Sequence[UploadedFile] = (), **data: Any) -> Ticket:
    """Fire `trigger` on a ticket as `actor`, who read it at `version`; `attachments` are
    photos or documents that go with the step (an inspection's photos), already stored."""
    known = rules.current()
    now = clock.now()
    try:
        with write():
            ticket = _lock_visible(ticket_id, actor)
            _step(known, ticket, trigger, actor, version, data, attachments, now)
    except (StaleDataError, IntegrityError):
        raise StaleVersion(_l("the ticket changed while this was being saved; reload and try "
                              "again")) from None
    return ticket


def hand_over(actor: User, ticket_ids: Sequence[int], butler_id: int, note: str,
              now: datetime) -> list[int]:
    """Reassign each of the tickets to `butler_id`, as `actor`, each step as `fire` would take
    it (its due misses recorded first, against whoever held it), inside the caller's write():
    open work passing to the next butler (an area's new butler, a substitute). Tickets whose
    state allows no reassignment, or held by `butler_id` already, are left as they are.
    Returns the ids handed over."""
    known = rules.current()
    handed = []
    for ticket_id in sorted(ticket_ids):
        ticket = _lock_visible(ticket_id, actor)
        kind = known.kind(ticket.kind)
        if ticket.assignee_id == butler_id or REASSIGN not in {
                t.name for t in kind.triggers_from(ticket.state)}:
            continue
        # The caller authorized the hand-over (an area's new butler, a leave's substitute),
        # the company's admin included, who fires no step of a ticket otherwise.
        _step(known, ticket, REASSIGN, actor, ticket.version,
              {"assignee_id": butler_id, "note": note}, (), now, handed_over=True)
        handed.append(ticket.id)
    return handed


def _step(known: Rules, ticket: Ticket, trigger: Any, actor: User, version: Any, data: dict,
          attachments: Sequence[UploadedFile], now: datetime, handed_over: bool = False) -> Event:
    """Validate, apply and record one trigger on a locked ticket, in the caller's write()."""
    step = _validate(known.kind(ticket.kind), ticket, trigger, actor, version, data, handed_over,
                     attachments, now)
    from_state = ticket.state
    _apply(known, ticket, step, now)
    event = _record(ticket, actor, trigger, from_state, step.recorded, step.files, now,
                    note=step.clean.get("note", ""),
                    staff_only=step.rule.note_for_staff or step.clean.get(STAFF_ONLY, False))
    notices.for_step(ticket, step.rule, event, actor, now)
    return event


def attach(ticket_id: int, actor: User, attachments: Sequence[UploadedFile],
           kind: Any = None, note: Any = "") -> Event:
    """Add photos or documents to a ticket outside any step (a floor plan sent afterwards, the
    photo the butler asked for), with a `note` on them if the sender wrote one.

    Whoever may see the ticket may add files until it is finished. They are recorded with an
    event of their own (`attach`: the state unchanged, the `kind` of the files in its data), so
    the timeline says who added what and when; the ticket, and its version, stay as they were.
    """
    now = clock.now()
    with write():
        ticket = _lock_visible(ticket_id, actor)
        kind_rules = rules.current().kind(ticket.kind)
        state = kind_rules.states.get(ticket.state)
        if state is not None and state.final:
            raise Conflict(_l("the ticket is '%(state)s': no more files can be added",
                              state=_state(kind_rules, ticket.state)))
        errors: dict[str, Any] = {}
        if kind in (None, ""):
            kind = None
        elif kind not in ticket_files.FILE_KINDS:
            errors["kind"] = _l("must be one of %(choices)s",
                                choices=listing(term(k) for k in ticket_files.FILE_KINDS))
        note = _checked_text(note, "note", MAX_TEXT, errors)
        files = ticket_files.listed(attachments, errors)
        if not files and "attachments" not in errors:
            errors["attachments"] = _l("is required")
        if errors:
            raise InvalidData(_l("the files cannot be added as given"), errors)
        return _record(ticket, actor, ticket_files.ATTACH_TRIGGER, ticket.state,
                       {"kind": kind} if kind else {}, files, now, note=note)


def allowed_triggers(ticket: Ticket, actor: User) -> list[TriggerRule]:
    """The triggers `actor` may fire on `ticket` now: their role may, the ticket is in one of
    the rule's states and, for a rule with a window, it is still open (the caller has checked
    they may see the ticket). What the engine would accept, and so what pages and API offer."""
    kind = rules.current().kind(ticket.kind)
    now = clock.now()
    return [t for t in kind.triggers_from(ticket.state) if actor.role in t.roles
            and (t.window is None or window_ends(ticket, t) > now) and _answerable(ticket, t)]


def _answerable(ticket: Ticket, rule: TriggerRule) -> bool:
    """Whether an objection (`objects_to`) has its step to answer: the one that brought the
    ticket into its state was that step, taken by staff for the resident. Any other trigger:
    True."""
    if rule.objects_to is None:
        return True
    last = db.session.scalar(
        select(Event).where(Event.ticket_id == ticket.id, Event.to_state == ticket.state,
                            or_(Event.from_state.is_(None), Event.from_state != ticket.state))
        .order_by(Event.at.desc(), Event.id.desc()).limit(1))
    return (last is not None and last.trigger == rule.objects_to
            and last.actor_id not in (None, ticket.resident_id))


def window_ends(ticket: Ticket, rule: TriggerRule) -> datetime | None:
    """When a trigger with a window (reopen within 7 days of completion) stops being possible:
    `window` after the ticket last entered the window's state; None for a rule without one.
    A ticket that never entered that state has a window that ended before it began."""
    if rule.window is None:
        return None
    since = db.session.scalar(
        select(Event.at).where(Event.ticket_id == ticket.id, Event.to_state == rule.window_since,
                               or_(Event.from_state.is_(None),
                                   Event.from_state != rule.window_since))
        .order_by(Event.at.desc()).limit(1))
    return (since or ticket.created_at) + (rule.window if since else -rule.window)


def _state(kind: KindRules, name: str):
    """A state named in a message, with its label (a page shows the label)."""
    state = kind.states.get(name)
    return term(name, state.label if state else None)


# -- validate -------------------------------------------------------------------------------------

@dataclass
class _NewTicket:
    """A ticket as given, checked and ready to register."""

    kind: str
    title: str
    description: str
    unit_id: int
    reported_at: datetime
    details: dict[str, Any]
    files: list[UploadedFile]


def _validate_ticket(known: Rules, actor: User, kind: Any, title: Any, description: Any,
                     unit_id: Any, reported_at: Any, details: Any,
                     attachments: Sequence[UploadedFile], now: datetime) -> _NewTicket:
    errors: dict[str, Any] = {}
    if not isinstance(kind, str) or kind not in known.kinds:
        errors["kind"] = _l("must be one of %(choices)s", choices=listing(
            term(k.name, k.label) for k in known.kinds.values()))
    title = _checked_text(title, "title", MAX_TITLE, errors, required=True)
    description = _checked_text(description, "description", MAX_TEXT, errors)
    if actor.role == Role.TECHNICIAN:
        raise Forbidden(_l("technicians do not register tickets"))
    unit_id = _unit_for(actor, unit_id, errors)
    reported_at = _reported_at(actor, unit_id, reported_at, now, known, errors)
    if "kind" not in errors:
        details = ticket_details.clean(known.kind(kind), details, now, errors)
    files = ticket_files.listed(attachments, errors)
    if errors:
        raise InvalidData(_l("the ticket cannot be registered as given"), errors)
    return _NewTicket(kind, title, description, unit_id, reported_at, details, files)


def _refuse_repeat(known: Rules, actor: User, new: _NewTicket, now: datetime) -> None:
    """The same request sent again (the back button, a reload, a client's retry) is the ticket
    made the first time: same person, kind, unit and words, within `repeat_within`, still open.
    The person's row is locked first, so that two copies sent at once are taken one by one."""
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    kind = known.kind(new.kind)
    earlier = db.session.scalars(
        select(Ticket).where(Ticket.created_by_id == actor.id, Ticket.kind == new.kind,
                             Ticket.unit_id == new.unit_id, Ticket.title == new.title,
                             Ticket.state.in_(kind.open_states),
                             Ticket.created_at >= now - known.repeat_within)
        .order_by(Ticket.id.desc()))
    for ticket in earlier:
        if ticket.description == new.description and (ticket.details or {}) == new.details:
            raise AlreadyRegistered(
                _l("you sent this request already: it is ticket %(id)s", id=ticket.id),
                ticket.id, ticket.created_at)


def _lock_visible(ticket_id: Any, actor: User) -> Ticket:
    """The ticket, locked for this transaction; NotFound unless `actor` may see it."""
    if record_id(ticket_id) is None:
        raise NotFound(_l("ticket %(id)s not found", id=ticket_id))
    ticket = db.session.execute(
        select(Ticket).where(Ticket.id == ticket_id, visible_to(actor)).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if ticket is None:
        raise NotFound(_l("ticket %(id)s not found", id=ticket_id))
    return ticket


@dataclass
class _Step:
    """A trigger checked and ready to apply: its rule, its clean data, the state it leads to."""

    rule: TriggerRule
    clean: dict[str, Any]
    to_state: str
    files: list[UploadedFile]
    recorded: dict[str, Any]  # what the event keeps of it


def _validate(kind: KindRules, ticket: Ticket, trigger: Any, actor: User, version: Any,
              data: dict, handed_over: bool, attachments: Sequence[UploadedFile],
              now: datetime) -> _Step:
    rule = _check_trigger(kind, ticket, trigger, actor, version, handed_over)
    clean = _clean_data(kind, rule, data, now, ticket, actor)
    file_errors: dict[str, Any] = {}
    files = ticket_files.listed(attachments, file_errors)
    if file_errors:
        raise InvalidData(_l("the files cannot be added as given"), file_errors)
    ends = window_ends(ticket, rule)
    if ends is not None and now > ends:
        raise Conflict(_l("'%(trigger)s' is possible only within %(duration)s of '%(state)s'",
                          trigger=term(rule.name, rule.label), duration=duration(rule.window),
                          state=_state(kind, rule.window_since)))
    _refuse_too_soon(ticket, rule, now)
    if not _answerable(ticket, rule):
        raise Conflict(_l("'%(trigger)s' answers '%(step)s' when staff did it for the resident; "
                          "they did not", trigger=term(rule.name, rule.label),
                          step=term(rule.objects_to, kind.triggers[rule.objects_to].label)))
    changes = {FIELDS[name].ticket_attribute: value for name, value in clean.items()
               if FIELDS[name].ticket_attribute}
    staying = rule.dest is None and not rule.dest_by
    # Handing a ticket to whoever holds it already changes nothing; a rating given again
    # (the resident's own, equal to the one recorded at the follow-up) is still a statement.
    if (staying and changes and not changes.keys() & RECORDED
            and all(getattr(ticket, a) == v for a, v in changes.items())):
        raise Conflict(_l("'%(trigger)s' would change nothing: the ticket has these values "
                          "already", trigger=term(trigger, rule.label)))
    to_state = (rule.dest_choices[clean[rule.dest_by]] if rule.dest_by
                else rule.dest or ticket.state)
    recorded = {k: v for k, v in clean.items() if k not in ("note", STAFF_ONLY)}
    for name in REVISED:
        if name in clean:
            old = getattr(ticket, name)
            recorded[name] = {"from": old, "to": clean[name]}
            if old == clean[name]:
                del recorded[name]
    if "details" in clean:
        # What changed, from and to: the ticket keeps the new values, the event the old ones.
        recorded["details"] = ticket_details.changes(ticket.details, clean["details"])
        if not recorded["details"]:
            del recorded["details"]
    return _Step(rule, clean, to_state, files, recorded)


def _refuse_too_soon(ticket: Ticket, rule: TriggerRule, now: datetime) -> None:
    """A trigger fired at most `once_per` on a ticket (a nudge) waits until that has passed."""
    if rule.once_per is None:
        return
    last = db.session.scalar(select(func.max(Event.at)).where(Event.ticket_id == ticket.id,
                                                              Event.trigger == rule.name))
    if last is not None and now - last < rule.once_per:
        named, left = term(rule.name, rule.label), span(rule.once_per - (now - last))
        if now - last < timedelta(minutes=1):
            raise Conflict(_l("'%(trigger)s' was done just now; it can be done again in "
                              "%(left)s", trigger=named, left=left))
        raise Conflict(_l("'%(trigger)s' was done %(ago)s ago; it can be done again in "
                          "%(left)s", trigger=named, ago=span(now - last), left=left))


def _check_trigger(kind: KindRules, ticket: Ticket, trigger: Any, actor: User, version: Any,
                   handed_over: bool = False):
    rule = kind.triggers.get(trigger) if isinstance(trigger, str) else None
    if rule is None:
        raise InvalidData(_l("unknown trigger for a %(kind)s", kind=term(kind.name, kind.label)),
                          {"trigger": _l("must be one of %(choices)s", choices=listing(
                              term(t.name, t.label) for t in kind.triggers.values()))})
    if actor.role not in rule.roles and not handed_over:
        raise Forbidden(_l("a %(role)s may not '%(trigger)s' (only: %(roles)s)",
                           role=term(actor.role), trigger=term(trigger, rule.label),
                           roles=listing(term(r) for r in sorted(rule.roles))))
    version = whole_number(version)
    if version is None:
        raise InvalidData(_l("the version you read is required"),
                          {"version": _l("must be the ticket's version as you read it")})
    if version != ticket.version:
        raise StaleVersion(_l(
            "ticket %(id)s changed since you read it (version %(version)s, now %(now)s); "
            "reload and try again", id=ticket.id, version=version, now=ticket.version))
    if ticket.state not in rule.sources:
        possible = [term(t.name, t.label) for t in allowed_triggers(ticket, actor)]
        raise Conflict(_l(
            "cannot '%(trigger)s' while the ticket is '%(state)s'; possible now: %(possible)s",
            trigger=term(trigger, rule.label), state=_state(kind, ticket.state),
            possible=listing(possible) if possible else _l("nothing for you")))
    return rule


def _clean_data(kind: KindRules, rule: TriggerRule, data: dict, now: datetime,
                ticket: Ticket, actor: User) -> dict:
    errors: dict[str, Any] = {}
    clean: dict[str, Any] = {}
    for name, value in data.items():
        if value is None or value == "":
            continue
        if name not in rule.fields:
            errors[name] = _l("'%(trigger)s' takes no %(field)s",
                              trigger=term(rule.name, rule.label), field=term(name))
            continue
        try:
            clean[name] = FIELDS[name].parse(value, {"choices": list(rule.dest_choices)})
        except ValueError as exc:
            errors[name] = exc.args[0]
    for name in rule.requires:
        if name not in clean and name not in errors:
            errors[name] = _l("is required")
    _check_by_whom(rule, clean, actor, errors)
    if "details" in clean:
        # The details given over the ticket's, each checked as when a ticket is opened.
        clean["details"] = ticket_details.revise(kind, ticket.details, clean["details"],
                                                 now, errors)
    if "promised_at" in clean:  # as far ahead as the estate's deadline allows
        _check_promise(overrides.kind_for(kind, ticket.unit_id), rule, clean["promised_at"], now,
                       errors)
    if errors:
        raise InvalidData(_l("'%(trigger)s' cannot be done with the data given",
                             trigger=term(rule.name, rule.label)), errors)
    return clean


def _check_by_whom(rule: TriggerRule, clean: dict, actor: User, errors: dict) -> None:
    """What depends on who fires it: staff taking a step for the resident give a reason; a note
    for staff only is staff's, and goes with a note."""
    if rule.on_behalf and actor.role != Role.RESIDENT and "reason" not in clean \
            and "reason" not in errors:
        errors["reason"] = _l("is required: the step is taken for the resident")
    if clean.get(STAFF_ONLY) and actor.role == Role.RESIDENT:
        errors[STAFF_ONLY] = _l("a resident's note is read by their butler")
    elif clean.get(STAFF_ONLY) and not clean.get("note"):
        errors[STAFF_ONLY] = _l("goes with a note")


def _check_promise(kind: KindRules, rule: TriggerRule, promised_at: datetime, now: datetime,
                   errors: dict) -> None:
    """A promised next reply is in the future, and no later than its deadline allows."""
    limit = max((d.within for d in kind.deadlines.values() if d.due_from == "promised_at"
                 and rule.name in d.rearmed_by), default=None)
    if promised_at <= now:
        errors["promised_at"] = _l("must be in the future")
    elif limit is not None and promised_at > now + limit:
        errors["promised_at"] = _l("must be at most %(duration)s from now",
                                   duration=duration(limit))


def _checked_text(value: Any, name: str, longest: int, errors: dict,
                  required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = _l("must be text")
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = _l("is required")
    elif len(value) > longest:
        errors[name] = _l("must be at most %(count)d characters", count=longest)
    return value


def _unit_for(actor: User, unit_id: Any, errors: dict) -> int | None:
    if unit_id in (None, ""):
        if actor.unit_id is None:
            errors["unit_id"] = _l("is required")
        return actor.unit_id
    unit_id = record_id(unit_id)
    if unit_id is None or db.session.get(Unit, unit_id) is None:
        errors["unit_id"] = _l("must be the id of a unit")
        return None
    if actor.role == Role.RESIDENT and unit_id != actor.unit_id:
        raise Forbidden(_l("a resident registers tickets for their own unit only"))
    if actor.role == Role.SUPERVISOR and not may_act_for(actor, unit_id, clock.now()):
        errors["unit_id"] = _l("is not a unit of your estates")
        return None
    return unit_id


def _reported_at(actor: User, unit_id: int | None, value: Any, now: datetime, known: Rules,
                 errors: dict) -> datetime:
    """When the call came in: now, or earlier for a call registered afterwards (事后补单) by
    someone who answers for the unit (workflows.access.may_act_for)."""
    if value in (None, ""):
        return now
    if actor.role == Role.RESIDENT:
        raise Forbidden(_l("only staff may give the time of a call"))
    reported_at = past_time(value, now, known.backdate_limit, _l(
        "must be within %(duration)s before now", duration=duration(known.backdate_limit)),
        "reported_at", errors)
    if reported_at is None:
        return now
    if "reported_at" not in errors and unit_id is not None \
            and not may_act_for(actor, unit_id, reported_at):
        raise Forbidden(
            _l("only the butler of the unit's area or a supervisor may register a call afterwards"),
            {"reported_at": _l("leave it empty: a call for another butler's area is registered "
                               "as taken now")})
    return reported_at


def _resident_of(unit_id: int) -> int | None:
    return db.session.scalar(
        select(User.id).where(User.unit_id == unit_id, User.role == Role.RESIDENT,
                              User.active.is_(True)).order_by(User.id).limit(1)
    )


# -- apply and record -----------------------------------------------------------------------------

def _apply(known: Rules, ticket: Ticket, step: _Step, now: datetime) -> None:
    """Record the misses already due, then move the ticket and its deadlines."""
    deadlines.settle(known, now, ticket.id)
    from_state = ticket.state
    ticket.state = step.to_state
    for name in step.rule.clears:
        setattr(ticket, FIELDS[name].ticket_attribute, None)
    for name, value in step.clean.items():
        if FIELDS[name].ticket_attribute:
            setattr(ticket, FIELDS[name].ticket_attribute, value)
    ticket.updated_at = now
    # Every step bumps the version, even one that changes no column (an inspection that keeps
    # the state, in the same instant as the last step): a caller who read the ticket before it
    # must be refused as stale.
    flag_modified(ticket, "updated_at")
    deadlines.apply_transition(ticket, known.kind(ticket.kind), step.rule.name, from_state,
                               step.clean, now)


def _record(ticket: Ticket, actor: User, trigger: str, from_state: str | None, data: dict,
            files: Sequence[UploadedFile], now: datetime, note: str = "",
            staff_only: bool = False) -> Event:
    """The event of a step (and the files that came with it)."""
    event = Event(ticket_id=ticket.id, actor_id=actor.id, trigger=trigger, from_state=from_state,
                  to_state=ticket.state, note=note, staff_only=staff_only,
                  data={k: v.isoformat() if isinstance(v, datetime) else v
                        for k, v in data.items()}, at=now)
    db.session.add(event)
    db.session.flush()
    if files:
        ticket_files.add(ticket, event, actor, files, now)
    return event
