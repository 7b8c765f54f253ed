"""Deadline extensions (延期): more time for a running deadline, asked for with a reason (waiting
for a part, the resident away) and approved or refused by a supervisor.

Who may ask: the butler holding the ticket, the butler who answers for its unit
(workflows.access.may_act_for) or a supervisor; who decides: a supervisor. How far a deadline
may move is rules data (`extend_up_to` on the deadline; none: it cannot be moved). Asking stops
no clock: the deadline runs on, and is missed at its time if nobody decides first. Approving
arms the step anew, due as much later as was asked (workflows.deadlines.extend); if it was missed
while the request waited, that miss's line is waived through the assessment (a closed month
refuses it) and the step is due at the approved time. Every request and decision is an event of
the ticket's timeline; the request's reason and a refusal are for staff.

Each call is one write transaction that locks the ticket first (as the engine and the sweeper
do), so two supervisors deciding at once, or a decision and a sweep, are taken one after the
other; at most one request waits per arming of a deadline (a unique index).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from models import (
    Deadline,
    DeadlineStatus,
    Event,
    Extension,
    ExtensionStatus,
    ReviewOutcome,
    Role,
    Ticket,
    User,
    db,
)
from models.transaction import write
from workflows import assessment, clock, deadlines, engine, notices, rules
from workflows.access import may_act_for, visible_to
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.fields import record_id, required_time
from workflows.rules import DeadlineRule, KindRules
from workflows.words import duration, listing, local, term

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
REQUESTED, APPROVED, REFUSED, CANCELLED = (
    "extension_requested", "extension_approved", "extension_refused", "extension_cancelled")
# The timeline's events a resident does not see: asking, refusing and withdrawing are between
# staff. The resident reads an approval (their "due by" moved) without its note.
STAFF_EVENTS = frozenset({REQUESTED, REFUSED, CANCELLED})
STATUSES = tuple(ExtensionStatus)


# -- reading ---------------------------------------------------------------------------------------

def _query():
    return (select(Extension)
            .options(*(joinedload(getattr(Extension, r)) for r in (
                "deadline", "requested_by", "decided_by")),
                     joinedload(Extension.ticket).joinedload(Ticket.unit))
            .order_by(Extension.requested_at.desc(), Extension.id.desc()))


def extensions(actor: User, status: Any = None, ticket_id: Any = None) -> list[Extension]:
    """The requests `actor` may see, newest first: a supervisor's all, a butler's those of the
    tickets they may see; `status` and `ticket_id` narrow them (422 naming a bad one)."""
    if actor.role not in (*SUPERVISORS, Role.BUTLER):
        raise Forbidden(_l("only butlers and supervisors see requests for more time"))
    errors: dict[str, Any] = {}
    if status not in (None, "") and status not in STATUSES:
        errors["status"] = _l("must be one of %(choices)s", choices=listing(STATUSES))
    wanted = None
    if ticket_id not in (None, ""):
        wanted = record_id(ticket_id)
        if wanted is None:
            errors["ticket_id"] = _l("must be the id of a ticket")
    if errors:
        raise InvalidData(_l("bad filter"), errors)
    query = _query().join(Extension.ticket).where(visible_to(actor))
    if status not in (None, ""):
        query = query.where(Extension.status == status)
    if wanted is not None:
        query = query.where(Extension.ticket_id == wanted)
    return list(db.session.scalars(query).unique())


def pending(actor: User) -> list[Extension]:
    """Every request waiting for a supervisor, oldest first (their "Waiting for you"): of the
    tickets `actor` may see."""
    return list(reversed(db.session.scalars(
        _query().join(Extension.ticket).where(Extension.status == ExtensionStatus.PENDING,
                                              visible_to(actor))).unique().all()))


def of_ticket(ticket_id: int) -> list[Extension]:
    """A ticket's requests, newest first (its page; the caller may see the ticket)."""
    return list(db.session.scalars(_query().where(Extension.ticket_id == ticket_id)).unique())


def ticket_of(extension_id: Any) -> int | None:
    """The ticket a request is about (None: no such request)."""
    return db.session.scalar(select(Extension.ticket_id)
                             .where(Extension.id == (record_id(extension_id) or 0)))


def may_ask(actor: User, ticket: Ticket, now: datetime) -> bool:
    """Whether `actor` may ask for more time on the ticket: a supervisor, the butler holding it,
    or the butler answering for its unit."""
    if actor.role in SUPERVISORS:
        return True
    return actor.role == Role.BUTLER and (ticket.assignee_id == actor.id
                                          or may_act_for(actor, ticket.unit_id, now))


def extendable(ticket: Ticket, actor: User) -> list[Deadline]:
    """The ticket's running deadlines `actor` may ask more time for now, with no request
    waiting (its page offers a form for each)."""
    now = clock.now()
    if not may_ask(actor, ticket, now):
        return []
    kind = rules.current().kind(ticket.kind)
    waiting = set(db.session.scalars(select(Extension.deadline_id).where(
        Extension.ticket_id == ticket.id, Extension.status == ExtensionStatus.PENDING)))
    return [d for d in ticket.deadlines
            if d.status == DeadlineStatus.RUNNING and d.due_at > now and d.id not in waiting
            and d.name in kind.deadlines and kind.deadlines[d.name].extend_up_to]


def latest_due(rule: DeadlineRule, deadline: Deadline) -> datetime | None:
    """The latest due time a request may ask for this arming (a form's hint)."""
    return deadline.due_at + rule.extend_up_to if deadline.due_at and rule.extend_up_to else None


# -- asking ----------------------------------------------------------------------------------------

@contextmanager
def _write():
    """One write transaction; a unique key taken by another writer meanwhile is a 409."""
    try:
        with write():
            yield
    except IntegrityError:
        raise Conflict(_l("someone else did this a moment ago; reload")) from None


def request_extension(actor: User, ticket_id: Any, deadline: Any, due_at: Any,
                      reason: Any) -> Extension:
    """Ask for the running deadline `deadline` (its name) of a ticket to be due at `due_at`
    instead, with a reason; it waits for a supervisor, and the clock runs on meanwhile."""
    known = rules.current()
    now = clock.now()
    with _write():
        ticket = engine._lock_visible(ticket_id, actor)
        if not may_ask(actor, ticket, now):
            raise Forbidden(_l("only the ticket's butler, the butler of its area or a supervisor "
                               "may ask for more time"))
        deadlines.settle(known, now, ticket.id)  # a deadline already due is missed, not moved
        kind = known.kind(ticket.kind)
        errors: dict[str, Any] = {}
        rule = _rule(kind, deadline, errors)
        reason = assessment._text(reason, "reason", errors)
        wanted = required_time(due_at, "due_at", errors)
        current = _running(ticket, kind, rule) if rule is not None else None
        if current is not None and wanted is not None:
            _check_due(rule, current, wanted, now, errors)
        if errors:
            raise InvalidData(_l("the request for more time cannot be made as given"), errors)
        made = Extension(ticket_id=ticket.id, deadline_id=current.id, due_before=current.due_at,
                         due_at=wanted, reason=reason, status=ExtensionStatus.PENDING,
                         requested_by_id=actor.id, requested_at=now)
        db.session.add(made)
        db.session.flush()
        event = _record(ticket, actor, REQUESTED, made, reason, now)
        notices.for_extension(ticket, event, ("supervisor",), (), actor, now)
    return made


def _rule(kind: KindRules, name: Any, errors: dict) -> DeadlineRule | None:
    extendable_names = [d for d in kind.deadlines.values() if d.extend_up_to]
    choices = listing(term(d.name, d.label) for d in extendable_names) if extendable_names \
        else _l("none: no deadline of a %(kind)s can be moved", kind=term(kind.name, kind.label))
    rule = kind.deadlines.get(name) if isinstance(name, str) else None
    if rule is None:
        errors["deadline"] = _l("must be one of %(choices)s", choices=choices)
    elif rule.extend_up_to is None:
        errors["deadline"] = _l("'%(deadline)s' cannot be moved (the rules allow it for: "
                                "%(choices)s)", deadline=term(rule.name, rule.label),
                                choices=choices)
        return None
    return rule


def _running(ticket: Ticket, kind: KindRules, rule: DeadlineRule) -> Deadline:
    """The running arming of the deadline, locked (after its ticket); a 409 saying why not."""
    latest = db.session.scalar(
        select(Deadline).where(Deadline.ticket_id == ticket.id, Deadline.name == rule.name)
        .order_by(Deadline.seq.desc()).limit(1).with_for_update())
    named = term(rule.name, rule.label)
    if latest is None:
        raise Conflict(_l("'%(deadline)s' is not running on this ticket", deadline=named),
                       {"deadline": _l("is not running")})
    if latest.status != DeadlineStatus.RUNNING:
        raise Conflict(_l("'%(deadline)s' is %(status)s: only a running deadline can be moved",
                          deadline=named, status=term(latest.status)),
                       {"deadline": _l("is %(status)s", status=term(latest.status))})
    waiting = db.session.scalar(select(Extension).where(
        Extension.deadline_id == latest.id, Extension.status == ExtensionStatus.PENDING))
    if waiting is not None:
        raise Conflict(_l("more time for '%(deadline)s' was asked already (until %(due)s) and "
                          "waits for a supervisor", deadline=named, due=local(waiting.due_at)),
                       {"deadline": _l("has a request waiting already")})
    return latest


def _check_due(rule: DeadlineRule, current: Deadline, wanted: datetime, now: datetime,
               errors: dict) -> None:
    """In the future, later than the deadline is due now, and no later than the rules allow."""
    if wanted <= now:
        errors["due_at"] = _l("must be in the future")
    elif wanted <= current.due_at:
        errors["due_at"] = _l("must be later than it is due now (%(due)s)",
                              due=local(current.due_at))
    elif wanted > current.due_at + rule.extend_up_to:
        errors["due_at"] = _l("must be at most %(duration)s after it is due now, so by %(latest)s",
                              duration=duration(rule.extend_up_to),
                              latest=local(current.due_at + rule.extend_up_to))


# -- deciding --------------------------------------------------------------------------------------

def approve(actor: User, extension_id: Any, note: Any = "") -> Extension:
    """A supervisor gives the time asked for: the step is armed anew, due as much later as asked
    (workflows.deadlines.extend). Missed while the request waited: the miss's line is waived
    (409 if its month is closed) and the step is due at the approved time; a step done late
    meanwhile, but by the approved time, has its miss waived and nothing armed."""
    _require_supervisor(actor)
    known = rules.current()
    now = clock.now()
    with _write():
        made, ticket = _locked(extension_id, actor)
        errors: dict[str, Any] = {}
        note = assessment._text(note, "note", errors, required=False)
        if errors:
            raise InvalidData(_l("the request cannot be approved as given"), errors)
        deadlines.settle(known, now, ticket.id)  # the miss, if it fell due while it waited
        _refuse_decided(made)
        current = db.session.get(Deadline, made.deadline_id, populate_existing=True)
        rule = known.kind(ticket.kind).deadlines.get(current.name)
        if rule is None:
            raise Conflict(_l("the rules in force no longer have this deadline"))
        missed = current.status == DeadlineStatus.MISSED
        done = current.closed_at if missed else None  # the step done late, or moot, meanwhile
        if done is not None and done > made.due_at:
            raise Conflict(_l("the step was done at %(done)s, after the time asked for "
                              "(%(due)s): refuse the request, and the miss stays",
                              done=local(done), due=local(made.due_at)))
        if missed:
            made.waived_id = _waive(actor, current, made)
        paused = current.status == DeadlineStatus.PAUSED
        if done is None:
            deadlines.extend(rule, current, made.due_at - made.due_before, now)
            deadlines.settle(known, now, ticket.id)  # approved after the time it gave
        made.status, made.decided_by_id, made.decided_at = ExtensionStatus.APPROVED, actor.id, now
        made.decision_reason = note
        event = _record(ticket, actor, APPROVED, made, note, now,
                        waived=made.waived_id is not None, paused=paused)
        _tell_decision(ticket, event, made, actor, now)
    return made


def refuse(actor: User, extension_id: Any, reason: Any) -> Extension:
    """A supervisor refuses the time asked for, with a reason: the deadline stays as it is."""
    _require_supervisor(actor)
    now = clock.now()
    with _write():
        made, ticket = _locked(extension_id, actor)
        errors: dict[str, Any] = {}
        reason = assessment._text(reason, "reason", errors)
        if errors:
            raise InvalidData(_l("a request is refused with a reason"), errors)
        _refuse_decided(made)
        made.status, made.decided_by_id, made.decided_at = ExtensionStatus.REFUSED, actor.id, now
        made.decision_reason = reason
        event = _record(ticket, actor, REFUSED, made, reason, now)
        _tell_decision(ticket, event, made, actor, now)
    return made


def cancel(actor: User, extension_id: Any) -> Extension:
    """Whoever asked withdraws a request still waiting; the deadline stays as it is."""
    now = clock.now()
    with _write():
        made, ticket = _locked(extension_id, actor)
        if made.requested_by_id != actor.id:
            raise Forbidden(_l("only whoever asked may withdraw a request for more time"))
        _refuse_decided(made)
        made.status, made.decided_by_id, made.decided_at = ExtensionStatus.CANCELLED, actor.id, now
        _record(ticket, actor, CANCELLED, made, "", now)
    return made


def _require_supervisor(actor: User) -> None:
    if actor.role not in SUPERVISORS:
        raise Forbidden(_l("only a supervisor decides on more time"))


def _locked(extension_id: Any, actor: User) -> tuple[Extension, Ticket]:
    """The request and its ticket, the ticket locked first (the engine's order), then the
    request read again under the lock: a decision taken meanwhile is seen. NotFound unless
    `actor` may see the ticket (a supervisor of another estate's is told nothing of it)."""
    found = ticket_of(extension_id)
    if found is None:
        raise NotFound(_l("request for more time %(id)s not found", id=extension_id))
    try:
        ticket = engine._lock_visible(found, actor)
    except NotFound:
        raise NotFound(_l("request for more time %(id)s not found", id=extension_id)) from None
    made = db.session.execute(select(Extension).where(Extension.id == record_id(extension_id))
                              .with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()
    return made, ticket


def _refuse_decided(made: Extension) -> None:
    if made.status != ExtensionStatus.PENDING:
        raise Conflict(_l("this request for more time is %(status)s already",
                          status=term(made.status)))


def _waive(actor: User, missed: Deadline, made: Extension) -> int:
    """Waive the line of a miss the approval makes moot, through the assessment's own review
    (its checks: a closed month, or a line upheld already, is a 409); one waived already stays
    as it is."""
    line = missed.deduction
    if line.review is not None and line.review.outcome == ReviewOutcome.WAIVED:
        return line.id
    assessment.record_review(actor, line.id, ReviewOutcome.WAIVED, _(
        "More time was given until %(due)s (request #%(id)d): %(reason)s",
        due=local(made.due_at), id=made.id, reason=made.reason))
    return line.id


# -- recording -------------------------------------------------------------------------------------

def _record(ticket: Ticket, actor: User, trigger: str, made: Extension, note: str,
            now: datetime, **data: Any) -> Event:
    """The timeline's event: which step, from when to when asked; the reason (or the
    supervisor's note) is its note, for staff only."""
    event = Event(ticket_id=ticket.id, actor_id=actor.id, trigger=trigger,
                  from_state=ticket.state, to_state=ticket.state, note=note,
                  staff_only=bool(note),
                  data={"extension_id": made.id, "deadline": made.deadline.name,
                        "due_before": made.due_before.isoformat(),
                        "due_at": made.due_at.isoformat(), **data},
                  at=now)
    db.session.add(event)
    db.session.flush()
    return event


def _tell_decision(ticket: Ticket, event: Event, made: Extension, actor: User,
                   now: datetime) -> None:
    """Whoever asked hears of the decision, and the ticket's butler (never the one deciding)."""
    notices.for_extension(ticket, event, ("assignee",), (made.requested_by_id,), actor, now)

