"""The one door for change. Views, the API, the CLI and the tests open and move tickets here.

Each call is one transaction: check who is asking and what they sent, record any deadline of the
ticket that has passed (before anything else, so it counts against whoever held the ticket when
it passed), fire the trigger through `transitions`, move the deadlines, append the event, commit.
A refusal raises a WorkflowError and leaves the database as it was.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from models import Event, Role, Ticket, Unit, User, db
from models.transaction import write
from workflows import attachments as ticket_files
from workflows import clock, deadlines
from workflows import details as ticket_details
from workflows.access import area_butler_id, may_act_for, visible_to
from workflows.attachments import UploadedFile
from workflows.errors import N_, Conflict, Forbidden, InvalidData, NotFound, StaleVersion, Term
from workflows.fields import FIELDS, MAX_TEXT, parse_time, record_id, whole_number
from workflows.rules import KindRules, Rules, TriggerRule

MAX_TITLE = 200
CREATE_TRIGGER = "create"
# Ticket attributes that record what someone said (not who holds the ticket): giving the same
# value again is not a step that "changes nothing".
RECORDED = {"rating"}


def current_rules() -> Rules:
    return current_app.extensions["butlerdesk.rules"]


class _Stand_in:
    """What the state machine sees of a ticket: just its state."""

    def __init__(self, state: str):
        self.state = state


def open_ticket(actor: User, kind: str, title: Any, description: Any = "",
                unit_id: Any = None, reported_at: Any = None, details: Any = None,
                attachments: Sequence[UploadedFile] = ()) -> Ticket:
    """Register a new ticket, assign it to the butler of its area and start its clocks.

    `details` are what the kind asks for beyond title and description (workflows.details);
    `attachments` the photos and documents sent with it, already stored by the caller.
    """
    rules = current_rules()
    now = clock.now()
    with write():
        errors: dict[str, str] = {}
        if not isinstance(kind, str) or kind not in rules.kinds:
            errors["kind"] = N_("must be one of %(choices)s",
                                choices=[Term(k, rules.kind(k).label) for k in rules.kinds])
        if title is not None and not isinstance(title, str):
            errors["title"] = N_("must be text")
        title = title.strip() if isinstance(title, str) else ""
        if not title and "title" not in errors:
            errors["title"] = N_("is required")
        elif len(title) > MAX_TITLE:
            errors["title"] = N_("must be at most %(count)d characters", count=MAX_TITLE)
        if description is None:
            description = ""
        if not isinstance(description, str):
            errors["description"] = N_("must be text")
        elif len(description.strip()) > MAX_TEXT:
            errors["description"] = N_("must be at most %(count)d characters", count=MAX_TEXT)
        if actor.role == Role.TECHNICIAN:
            raise Forbidden(N_("technicians do not register tickets"))
        unit_id = _unit_for(actor, unit_id, errors)
        reported_at = _reported_at(actor, unit_id, reported_at, now, rules, errors)
        if "kind" not in errors:
            details = ticket_details.clean(kind, details, now, errors)
        files = ticket_files.check(attachments, errors)
        if errors:
            raise InvalidData(N_("the ticket cannot be registered as given"), errors)

        kind_rules = rules.kind(kind)
        resident_id = actor.id if actor.role == Role.RESIDENT else _resident_of(unit_id)
        ticket = Ticket(kind=kind, state=kind_rules.initial, unit_id=unit_id,
                        resident_id=resident_id, assignee_id=area_butler_id(unit_id),
                        created_by_id=actor.id, title=title, description=description.strip(),
                        details=details, reported_at=reported_at, created_at=now, updated_at=now)
        db.session.add(ticket)
        db.session.flush()
        event = Event(ticket_id=ticket.id, actor_id=actor.id, trigger=CREATE_TRIGGER,
                      from_state=None, to_state=ticket.state, note="",
                      data=_jsonable({"reported_at": reported_at}), at=now)
        db.session.add(event)
        if files:
            db.session.flush()
            ticket_files.add(ticket, event, actor, files, now)
        deadlines.arm_initial(ticket, kind_rules)
        deadlines.settle(rules, now, ticket.id)
    return ticket


def fire(ticket_id: int, trigger: str, actor: User, version: Any, *,
         attachments: Sequence[UploadedFile] = (), **data: Any) -> Ticket:
    """Fire `trigger` on a ticket as `actor`, who read it at `version`; `attachments` are
    photos or documents that go with the step (an inspection's photos), already stored."""
    rules = current_rules()
    now = clock.now()
    try:
        with write():
            ticket = _lock_visible(ticket_id, actor)
            kind = rules.kind(ticket.kind)
            rule = _check_trigger(kind, ticket, trigger, actor, version)
            clean = _clean_data(kind, rule, data, now, ticket)
            file_errors: dict[str, str] = {}
            files = ticket_files.check(attachments, file_errors)
            if file_errors:
                raise InvalidData(N_("the files cannot be added as given"), file_errors)
            _check_window(ticket, rule, now)
            changes = {FIELDS[name].ticket_attribute: value for name, value in clean.items()
                       if FIELDS[name].ticket_attribute}
            staying = rule.dest is None and not rule.dest_by
            # Handing a ticket to whoever holds it already changes nothing; a rating given again
            # (the resident's own, equal to the one recorded at the follow-up) is still a statement.
            if (staying and changes and not changes.keys() & RECORDED
                    and all(getattr(ticket, a) == v for a, v in changes.items())):
                raise Conflict(N_("'%(trigger)s' would change nothing: the ticket has these values "
                                  "already", trigger=Term(trigger, rule.label)))

            deadlines.settle(rules, now, ticket.id)
            stand_in = _Stand_in(ticket.state)
            if not kind.machine.events[trigger].trigger(stand_in, **clean):
                raise Conflict(N_("'%(trigger)s' did not apply in state '%(state)s'",
                                  trigger=Term(trigger, rule.label),
                                  state=_state(kind, ticket.state)))
            from_state = ticket.state
            recorded = {k: v for k, v in clean.items() if k != "note"}
            if "details" in clean:
                # What changed, from and to: the ticket keeps the new values, the event the old ones.
                recorded["details"] = ticket_details.changes(ticket.details, clean["details"])
                if not recorded["details"]:
                    del recorded["details"]
            ticket.state = stand_in.state
            for name, value in clean.items():
                if FIELDS[name].ticket_attribute:
                    setattr(ticket, FIELDS[name].ticket_attribute, value)
            ticket.updated_at = now
            # Every step bumps the version, even one that changes no column (an inspection that
            # keeps the state, in the same instant as the last step): a caller who read the ticket
            # before it must be refused as stale.
            flag_modified(ticket, "updated_at")
            deadlines.apply_transition(ticket, kind, trigger, from_state, clean, now)
            event = Event(ticket_id=ticket.id, actor_id=actor.id, trigger=trigger,
                          from_state=from_state, to_state=ticket.state, note=clean.get("note", ""),
                          data=_jsonable(recorded), at=now)
            db.session.add(event)
            if files:
                db.session.flush()
                ticket_files.add(ticket, event, actor, files, now)
    except (StaleDataError, IntegrityError):
        raise StaleVersion(N_("the ticket changed while this was being saved; reload and try again")) from None
    return ticket


def attach(ticket_id: int, actor: User, attachments: Sequence[UploadedFile],
           kind: Any = None) -> Event:
    """Add photos or documents to a ticket outside any step (a floor plan sent afterwards).

    Whoever may see the ticket may add files until it is finished. They are recorded with an
    event of their own (`attach`: the state unchanged, the `kind` of the files in its data), so
    the timeline says who added what and when; the ticket, and its version, stay as they were.
    """
    now = clock.now()
    with write():
        ticket = _lock_visible(ticket_id, actor)
        kind_rules = current_rules().kind(ticket.kind)
        if ticket.state in kind_rules.states and kind_rules.states[ticket.state].final:
            raise Conflict(N_("the ticket is '%(state)s': no more files can be added",
                              state=_state(kind_rules, ticket.state)))
        errors: dict[str, str] = {}
        if kind in (None, ""):
            kind = None
        elif kind not in ticket_files.KINDS:
            errors["kind"] = N_("must be one of %(choices)s",
                                choices=[Term(k) for k in ticket_files.KINDS])
        files = ticket_files.check(attachments, errors)
        if not files and "attachments" not in errors:
            errors["attachments"] = N_("is required")
        if errors:
            raise InvalidData(N_("the files cannot be added as given"), errors)
        event = Event(ticket_id=ticket.id, actor_id=actor.id, trigger=ticket_files.ATTACH_TRIGGER,
                      from_state=ticket.state, to_state=ticket.state, note="",
                      data={"kind": kind} if kind else {}, at=now)
        db.session.add(event)
        db.session.flush()
        ticket_files.add(ticket, event, actor, files, now)
    return event


def allowed_triggers(ticket: Ticket, actor: User) -> list[TriggerRule]:
    """The triggers `actor` may fire on `ticket` now (the caller has checked they may see it)."""
    kind = current_rules().kind(ticket.kind)
    return [t for t in kind.triggers_from(ticket.state) if actor.role in t.roles]


def _state(kind: KindRules, name: str) -> Term:
    """A state named in a message, with its label (a page shows the label)."""
    state = kind.states.get(name)
    return Term(name, state.label if state else None)


# -- checks ---------------------------------------------------------------------------------------

def _lock_visible(ticket_id: Any, actor: User) -> Ticket:
    """The ticket, locked for this transaction; NotFound unless `actor` may see it."""
    if record_id(ticket_id) is None:
        raise NotFound(N_("ticket %(id)s not found", id=ticket_id))
    ticket = db.session.execute(
        select(Ticket).where(Ticket.id == ticket_id, visible_to(actor)).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if ticket is None:
        raise NotFound(N_("ticket %(id)s not found", id=ticket_id))
    return ticket


def _check_trigger(kind: KindRules, ticket: Ticket, trigger: Any, actor: User, version: Any):
    rule = kind.triggers.get(trigger) if isinstance(trigger, str) else None
    if rule is None:
        raise InvalidData(N_("unknown trigger for a %(kind)s", kind=Term(kind.name, kind.label)),
                          {"trigger": N_("must be one of %(choices)s", choices=[
                              Term(t.name, t.label) for t in kind.triggers.values()])})
    if actor.role not in rule.roles:
        raise Forbidden(N_("a %(role)s may not '%(trigger)s' (only: %(roles)s)", role=Term(actor.role),
                           trigger=Term(trigger, rule.label), roles=[Term(r) for r in sorted(rule.roles)]))
    version = whole_number(version)
    if version is None:
        raise InvalidData(N_("the version you read is required"),
                          {"version": N_("must be the ticket's version as you read it")})
    if version != ticket.version:
        raise StaleVersion(N_(
            "ticket %(id)s changed since you read it (version %(version)s, now %(now)s); reload and "
            "try again", id=ticket.id, version=version, now=ticket.version))
    if ticket.state not in rule.sources:
        possible = [Term(t.name, t.label) for t in allowed_triggers(ticket, actor)]
        raise Conflict(N_(
            "cannot '%(trigger)s' while the ticket is '%(state)s'; possible now: %(possible)s",
            trigger=Term(trigger, rule.label), state=_state(kind, ticket.state),
            possible=possible or N_("nothing for you")))
    return rule


def _clean_data(kind: KindRules, rule: TriggerRule, data: dict, now: datetime,
                ticket: Ticket) -> dict:
    errors, clean = {}, {}
    for name, value in data.items():
        if value is None or value == "":
            continue
        if name not in rule.fields:
            errors[name] = N_("'%(trigger)s' takes no %(field)s", trigger=Term(rule.name, rule.label),
                              field=Term(name))
            continue
        try:
            clean[name] = FIELDS[name].parse(value, {"choices": list(rule.dest_choices)})
        except ValueError as exc:
            errors[name] = exc.args[0]  # a Message (workflows.errors), translated where shown
    for name in rule.requires:
        if name not in clean and name not in errors:
            errors[name] = N_("is required")
    if "details" in clean:
        # The details given over the ticket's, each checked as when a ticket is opened.
        clean["details"] = ticket_details.revise(kind.name, ticket.details, clean["details"],
                                                 now, errors)
    if "promised_at" in clean:
        limit = max((d.within for d in kind.deadlines.values() if d.due_from == "promised_at"
                     and rule.name in d.rearmed_by), default=None)
        if clean["promised_at"] <= now:
            errors["promised_at"] = N_("must be in the future")
        elif limit is not None and clean["promised_at"] > now + limit:
            errors["promised_at"] = N_("must be at most %(duration)s from now", duration=limit)
    if errors:
        raise InvalidData(N_("'%(trigger)s' cannot be done with the data given",
                             trigger=Term(rule.name, rule.label)), errors)
    return clean


def _check_window(ticket: Ticket, rule: TriggerRule, now: datetime) -> None:
    if rule.window is None:
        return
    since = db.session.scalar(
        select(Event.at).where(Event.ticket_id == ticket.id, Event.to_state == rule.window_since,
                               or_(Event.from_state.is_(None), Event.from_state != rule.window_since))
        .order_by(Event.at.desc()).limit(1)
    )
    if since is None or now - since > rule.window:
        raise Conflict(N_("'%(trigger)s' is possible only within %(duration)s of '%(state)s'",
                          trigger=Term(rule.name, rule.label), duration=rule.window,
                          state=_state(current_rules().kind(ticket.kind), rule.window_since)))


def _unit_for(actor: User, unit_id: Any, errors: dict) -> int | None:
    if unit_id in (None, ""):
        if actor.unit_id is None:
            errors["unit_id"] = N_("is required")
        return actor.unit_id
    unit_id = record_id(unit_id)
    if unit_id is None or db.session.get(Unit, unit_id) is None:
        errors["unit_id"] = N_("must be the id of a unit")
        return None
    if actor.role == Role.RESIDENT and unit_id != actor.unit_id:
        raise Forbidden(N_("a resident registers tickets for their own unit only"))
    return unit_id


def _reported_at(actor: User, unit_id: int | None, value: Any, now: datetime, rules: Rules,
                 errors: dict) -> datetime:
    """When the call came in: now, or earlier for a call registered afterwards (事后补单) by
    someone who answers for the unit (workflows.access.may_act_for)."""
    if value in (None, ""):
        return now
    if actor.role == Role.RESIDENT:
        raise Forbidden(N_("only staff may give the time of a call (事后补单)"))
    try:
        reported_at = parse_time(value)
    except ValueError as exc:
        errors["reported_at"] = exc.args[0]
        return now
    if reported_at > now:
        errors["reported_at"] = N_("must not be in the future")
    elif now - reported_at > rules.backdate_limit:
        errors["reported_at"] = N_("must be within %(duration)s before now",
                                   duration=rules.backdate_limit)
    elif unit_id is not None and not may_act_for(actor, unit_id, reported_at):
        raise Forbidden(
            N_("only the butler of the unit's area or a supervisor may register a call afterwards"),
            {"reported_at": N_("leave it empty: a call for another butler's area is registered "
                               "as taken now")})
    return reported_at


def _resident_of(unit_id: int) -> int | None:
    return db.session.scalar(
        select(User.id).where(User.unit_id == unit_id, User.role == Role.RESIDENT,
                              User.active.is_(True)).order_by(User.id).limit(1)
    )


def _jsonable(data: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}

