"""Deadline mechanics: arming, meeting, pausing, and recording misses exactly once.

A miss is recorded by a conditional UPDATE (`status = 'running'` → `'missed'`) whose RETURNING rows
are the only ones that get a deduction, and `deductions.deadline_id` is unique besides. Whoever
runs it first — a sweeper, or the engine noticing a late step — records the miss; any other
writer updates nothing and so records nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    String,
    cast,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    true,
    update,
)

from models import (
    Deadline,
    DeadlineStatus,
    Deduction,
    Event,
    Extension,
    ExtensionStatus,
    Ticket,
    UTCDateTime,
    db,
)
from workflows import calendars, notices, overrides
from workflows.access import responsibility
from workflows.rules import DeadlineRule, KindRules, Rules

RUNNING, PAUSED, MET, MISSED, CANCELLED, EXTENDED = (
    DeadlineStatus.RUNNING, DeadlineStatus.PAUSED, DeadlineStatus.MET,
    DeadlineStatus.MISSED, DeadlineStatus.CANCELLED, DeadlineStatus.EXTENDED,
)
MISS_TRIGGER = "deadline_missed"


def arm_initial(ticket: Ticket, kind: KindRules) -> None:
    """Arm the deadlines of a new ticket. It entered its first state when it was reported."""
    for rule in overrides.kind_for(kind, ticket.unit_id).deadlines.values():
        if kind.initial in rule.starts_in:
            _arm(ticket.id, rule, 1, ticket.reported_at,
                 calendars.due_at(rule, ticket.unit_id, ticket.reported_at, rule.within))


def apply_transition(ticket: Ticket, kind: KindRules, trigger: str, from_state: str,
                     data: dict, now: datetime) -> None:
    """Meet, cancel, pause, resume, re-arm and arm deadlines for a trigger just fired.

    The ticket's due deadlines have been settled already, so an open deadline is not yet due.
    A deadline armed is due after the estate's `within`, with its points (workflows.overrides).
    """
    kind = overrides.kind_for(kind, ticket.unit_id)
    to_state = ticket.state
    entered = to_state != from_state
    final = kind.states[to_state].final
    open_rows = {
        d.name: d for d in db.session.scalars(
            select(Deadline).where(Deadline.ticket_id == ticket.id,
                                   Deadline.status.in_((RUNNING, PAUSED)))
        )
    }
    for rule in kind.deadlines.values():
        current = open_rows.get(rule.name)
        if trigger in rule.rearmed_by:
            _close(ticket.id, rule.name, current, MET, now)
            due = data[rule.due_from] if rule.due_from else calendars.due_at(
                rule, ticket.unit_id, now, rule.within)
            _arm(ticket.id, rule, _next_seq(ticket.id, rule.name), now, due)
            continue
        if not entered:
            continue
        if to_state in rule.met_in:
            current = _close(ticket.id, rule.name, current, MET, now)
        elif to_state in rule.cancelled_in or final:
            current = _close(ticket.id, rule.name, current, CANCELLED, now)
        elif current is not None and to_state in rule.paused_in and current.status == RUNNING:
            current.remaining_seconds = int(calendars.left(rule, ticket.unit_id, now,
                                                           current.due_at).total_seconds())
            current.due_at, current.status, current.notice_at = None, PAUSED, None
        elif current is not None and current.status == PAUSED and to_state not in rule.paused_in:
            current.due_at = calendars.due_at(rule, ticket.unit_id, now,
                                              timedelta(seconds=current.remaining_seconds))
            current.remaining_seconds, current.status = None, RUNNING
            current.notice_at = rule.first_notice_at(current.due_at)
        # While an earlier miss of this step is outstanding, the step is already overdue and
        # counted: a new clock for it would charge the same lateness twice.
        if (to_state in rule.starts_in and current is None
                and not _outstanding(ticket.id, rule.name)):
            _arm(ticket.id, rule, _next_seq(ticket.id, rule.name), now,
                 calendars.due_at(rule, ticket.unit_id, now, rule.within))


def record_misses(rules: Rules, now: datetime, *, ticket_id: int | None = None,
                  batch_size: int = 500, wait: bool = False) -> tuple[int, bool]:
    """Record one batch of running deadlines due by `now` as missed, each with one deduction.

    Returns how many were recorded and whether nothing due is left for this caller.
    The cost follows the number of deadlines due (an index on running deadlines by due time),
    not the number of tickets. Tickets are locked before their deadlines, in the engine's order
    and by id, so lockers never deadlock. On PostgreSQL a sweeper skips tickets another writer
    holds, unless told to `wait`: that writer may be another sweeper that read its batch before
    this one's deadlines were armed, so skipped tickets mean "not done yet", and a caller that
    got nothing but skipped tickets waits for them the next time; one whose candidates another
    writer recorded meanwhile looks again before it says none is left.
    A deadline that repeats arms its next period from the missed due time, so a long outage
    yields one miss per period, each with its own due time.
    """
    query = (select(Deadline.id, Deadline.ticket_id)
             .where(Deadline.status == RUNNING, Deadline.due_at <= now)
             .order_by(Deadline.due_at).limit(batch_size))
    if ticket_id is not None:
        query = query.where(Deadline.ticket_id == ticket_id)
    candidates = db.session.execute(query).all()
    if not candidates:
        return 0, True
    wanted = {c.ticket_id for c in candidates}
    tickets = {t.id: t for t in db.session.execute(  # of the tickets locked
        select(*notices.TICKET_COLUMNS).where(Ticket.id.in_(wanted)).order_by(Ticket.id)
        .with_for_update(skip_locked=ticket_id is None and not wait))}
    locked = [c.id for c in candidates if c.ticket_id in tickets]
    missed = db.session.execute(
        update(Deadline)
        .where(Deadline.id.in_(locked), Deadline.status == RUNNING)
        # From its due time a miss has something to tell: the escalation (workflows.notices).
        .values(status=MISSED, notice_at=Deadline.due_at)
        # Missed just now, so outstanding (a literal: the bound comparison read false here).
        .returning(*notices.DEADLINE_COLUMNS, true().label("outstanding"), Deadline.seq)
    ).all()
    # A repeating deadline armed its next period, which may be due too: the caller goes again.
    armed = _write_misses(rules, missed, tickets, now) if missed else 0
    if missed and ticket_id is None:
        # A sweep tells of its misses now. A step that records its ticket's misses goes on to
        # do the step, which may end them: the sweeper's notice pass tells what is left undone.
        notices.tell(rules, missed, tickets, now)
    skipped = len(tickets) < len(wanted)
    # Candidates another writer recorded while this one waited for their tickets: it may have
    # armed their next periods, due too, after the candidates were read. Go again to see.
    taken = len(missed) < len(locked)
    return len(missed), len(candidates) < batch_size and not (armed or skipped or taken)


def settle(rules: Rules, now: datetime, ticket_id: int) -> int:
    """Record every miss of one ticket due by now (the engine does this before each step)."""
    total, done = 0, False
    while not done:
        count, done = record_misses(rules, now, ticket_id=ticket_id)
        total += count
    return total


def _write_misses(rules: Rules, missed, tickets: dict, now: datetime) -> int:
    """Insert the deductions and events of the misses, and the next period of repeating ones.

    The deductions and events are made by the database from the deadline and ticket rows
    (INSERT ... SELECT): a catch-up writes thousands, and building each row in Python cost more
    than the database spends writing it.
    """
    # Whoever answered for the ticket when the deadline fell due: its assignee (the engine
    # settles due misses before any reassignment, so the assignee now is the one then), or the
    # butler of the area's period then, or the substitute of either on leave then.
    butler_id, covering_for_id = responsibility(Ticket.unit_id, Deadline.due_at,
                                                Ticket.assignee_id)
    # Due before the ticket was even registered (a call registered afterwards): nobody could
    # have acted in time, so the line waits for a supervisor to charge or waive it.
    held = Deadline.due_at <= Ticket.created_at
    rows = (select().select_from(Deadline)
            .join(Ticket, Deadline.ticket_id == Ticket.id)
            .where(Deadline.id.in_([row.id for row in missed]))
            .order_by(Deadline.due_at, Deadline.id))
    db.session.execute(insert(Deduction.__table__).from_select(
        ["deadline_id", "ticket_id", "butler_id", "covering_for_id", "points", "article",
         "missed_at", "recorded_at", "held"],
        rows.add_columns(Deadline.id, Deadline.ticket_id, butler_id, covering_for_id,
                         Deadline.points, Deadline.article, Deadline.due_at,
                         literal(now, UTCDateTime()), held)))
    data = _json_object(deadline=Deadline.name, seq=Deadline.seq, points=Deadline.points,
                        article=Deadline.article, butler_id=butler_id,
                        covering_for_id=covering_for_id,
                        recorded_at=cast(literal(now.isoformat()), String))
    db.session.execute(insert(Event.__table__).from_select(
        ["ticket_id", "actor_id", "trigger", "from_state", "to_state", "note", "at", "data"],
        rows.add_columns(Deadline.ticket_id, null(), cast(literal(MISS_TRIGGER), String),
                         Ticket.state, Ticket.state, cast(literal(""), String), Deadline.due_at,
                         data)))
    def repeats(row) -> bool:
        rule = rules.kind(tickets[row.ticket_id].kind).deadlines.get(row.name)
        return rule is not None and rule.repeats

    repeating = [row for row in missed if repeats(row)]
    # Their next periods run for the estate's time (workflows.overrides): one query for all.
    in_force = overrides.kinds_for(rules, {(tickets[row.ticket_id].unit_id,
                                            tickets[row.ticket_id].kind) for row in repeating})
    next_periods = []
    for row in repeating:
        ticket = tickets[row.ticket_id]
        rule = in_force[(ticket.unit_id, ticket.kind)].deadlines[row.name]
        due = calendars.due_at(rule, ticket.unit_id, row.due_at, rule.within)
        next_periods.append(dict(ticket_id=row.ticket_id, name=row.name, seq=row.seq + 1,
                                 status=RUNNING, armed_at=row.due_at, due_at=due,
                                 notice_at=rule.first_notice_at(due),
                                 points=rule.points, article=rule.article))
    if next_periods:
        db.session.execute(insert(Deadline.__table__), next_periods)
    return len(next_periods)


def extend(rule: DeadlineRule, current: Deadline, granted: timedelta,
           now: datetime) -> Deadline:
    """Give a step `granted` more time (an approved extension, workflows.extensions), its
    ticket's due misses recorded already: the arming `current` ends (`extended`; a miss of it is
    closed instead, its line waived by the caller) and the next one is armed, due `granted`
    after `current` was, or, paused, with that much more left on its clock. A new arming rather
    than a moved one, so its warnings are made afresh (their keys name the arming)."""
    paused = current.status == PAUSED
    if current.status != MISSED:
        current.status = EXTENDED
    current.closed_at, current.notice_at = now, None
    due = None if paused else current.due_at + granted
    moved = Deadline(ticket_id=current.ticket_id, name=current.name,
                     seq=_next_seq(current.ticket_id, current.name),
                     status=PAUSED if paused else RUNNING, armed_at=now, due_at=due,
                     remaining_seconds=current.remaining_seconds + int(granted.total_seconds())
                     if paused else None,
                     notice_at=None if paused else rule.first_notice_at(due),
                     # The points of the arming it moves, not of rules changed since.
                     points=current.points, article=current.article)
    db.session.add(moved)
    db.session.flush()
    return moved


def _json_object(**fields):
    """A JSON object built by the database, its keys in this order."""
    build = func.json_build_object if db.engine.dialect.name == "postgresql" else func.json_object
    return build(*(part for name, value in fields.items()
                   for part in (literal_column(f"'{name}'"), value)))


def _arm(ticket_id: int, rule: DeadlineRule, seq: int, armed_at: datetime,
         due_at: datetime) -> None:
    db.session.add(Deadline(ticket_id=ticket_id, name=rule.name, seq=seq, status=RUNNING,
                            armed_at=armed_at, due_at=due_at,
                            notice_at=rule.first_notice_at(due_at),
                            points=rule.points, article=rule.article))
    db.session.flush()


def _close(ticket_id: int, name: str, current: Deadline | None, status: str, now: datetime):
    """End the open deadline of `name` (if any) and any earlier miss of it still outstanding."""
    if current is not None:
        current.status, current.closed_at, current.notice_at = status, now, None
        # More time asked for a step now done (or moot) is no longer anyone's to decide.
        db.session.execute(
            update(Extension).where(Extension.deadline_id == current.id,
                                    Extension.status == ExtensionStatus.PENDING)
            .values(status=ExtensionStatus.LAPSED, decided_at=now))
    db.session.execute(
        update(Deadline).where(Deadline.ticket_id == ticket_id, Deadline.name == name,
                                  Deadline.outstanding)
        .values(closed_at=now, notice_at=None)
    )
    return None


def _outstanding(ticket_id: int, name: str) -> bool:
    return db.session.scalar(
        select(Deadline.id).where(Deadline.ticket_id == ticket_id, Deadline.name == name,
                                  Deadline.outstanding).limit(1)
    ) is not None


def _next_seq(ticket_id: int, name: str) -> int:
    latest = db.session.scalar(
        select(func.max(Deadline.seq)).where(Deadline.ticket_id == ticket_id, Deadline.name == name)
    )
    return (latest or 0) + 1
