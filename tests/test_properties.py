"""Property-based: random histories of the three ticket kinds keep the invariants.

Hypothesis draws sequences of steps: trigger attempts by people of every role (with plausible,
sometimes wrong, data, sometimes with a stale version), clock jumps of minutes to days, and
sweeps. After every step:

- every missed deadline has exactly one deduction, at its due time, with its points and article;
  a met, cancelled, running or paused one has none;
- each deduction is charged to the butler who held the ticket when the deadline passed;
- deductions and timeline events are only ever added, never changed or removed;
- each ticket is in one of its kind's states; a ticket in a final state has no open deadline;
- at most one deadline per (ticket, name) is open (running or paused); a paused one has its
  remaining time and no due time;
- a refused trigger (WorkflowError) changes nothing at all; an accepted one moves the version by
  one, leads where the rules say, and leaves no deadline of the ticket due and unrecorded;
- after a sweep, no running deadline is due.

Each example runs on its own copy of the estate database, from T0.
"""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import Deadline, DeadlineStatus, Deduction, Event, Ticket, User, db
from tests.conftest import T0, database_of, make_app
from workflows import clock as the_clock
from workflows import engine, sweeper
from workflows.errors import WorkflowError
from workflows.rules import current as current_rules

KINDS = ("repair", "complaint", "renovation")
PEOPLE = ("resident", "neighbour", "butler", "other_butler", "relief_butler", "technician",
          "other_technician", "supervisor")
OPEN = (DeadlineStatus.RUNNING, DeadlineStatus.PAUSED)


def mostly(*good, bad=()):
    """Sensible values, drawn about six times as often as the wrong ones (None: left out)."""
    return st.sampled_from(list(good) * -(-6 * len(bad) // len(good)) + list(bad))


# The data a person might type; mostly sensible, sometimes not.
recipes = st.fixed_dictionaries({
    "note": mostly("Called the resident", "Checked on site", bad=[None, ""]),
    "reason": mostly("Still leaking", "Not what was agreed", bad=[None]),
    "rating": mostly(5, 4, 1, bad=[None, 0, 6]),
    "promised_in_hours": mostly(12, 47, 1, bad=[None, -1, 49]),
    "result": mostly("ok", "violation", bad=[None, "bogus"]),
    "technician": mostly("technician", bad=["other_technician", None, "butler"]),
    "assignee": mostly("relief_butler", "other_butler", bad=[None, "technician"]),
    "extra_field": mostly(False, bad=[True]),  # also send a field the trigger does not take
})
# A trigger attempt. Aimed: a trigger possible in the ticket's state, by someone of a role that
# may fire it; not aimed: any trigger of the kind, by anyone.
fires = st.fixed_dictionaries({
    "ticket": st.integers(0, len(KINDS) - 1),
    "aimed": mostly(True, bad=[False]),
    "trigger": st.one_of(st.just(0), st.integers(0, 11)),  # 0: the next step of the happy path
    "who": st.integers(0, 7),
    "recipe": recipes,
    "stale": mostly(False, bad=[True]),  # the caller read an older version
}).map(lambda fire: ("fire", fire))
jumps = st.one_of(st.integers(1, 59), st.integers(60, 24 * 60),
                  st.integers(24 * 60, 3 * 24 * 60)).map(lambda minutes: ("jump", minutes))
sweeps = st.just(("sweep", None))
steps = st.lists(st.one_of(fires, fires, fires, fires, jumps, sweeps), min_size=15, max_size=50)
# A repair is sometimes registered afterwards by the butler (事后补单), minutes to hours late.
backdates = st.sampled_from([None, None, 5, 30, 23 * 60])

# Each ticket first goes some way along its happy path (at T0, all in order), so that the random
# steps start from every state, not only from the first.
HAPPY_PATHS = {
    "repair": [("dispatch", "butler", {"technician_id": "technician"}),
               ("arrive", "technician", {}), ("complete", "technician", {}),
               ("visit", "butler", {"rating": 4}), ("close", "butler", {})],
    "complaint": [("accept", "butler", {}), ("reply", "butler", {"note": "New seal fitted"}),
                  ("confirm", "resident", {}), ("visit", "butler", {"rating": 5}),
                  ("close", "butler", {})],
    "renovation": [("approve", "butler", {}), ("start_works", "resident", {}),
                   ("inspect", "butler", {"result": "ok"}),
                   ("request_acceptance", "resident", {}), ("accept_works", "butler", {}),
                   ("close", "butler", {})],
}
head_starts = st.tuples(*(st.one_of(st.just(0), st.integers(0, len(HAPPY_PATHS[kind]) - 1))
                          for kind in KINDS))


def data_for(rule, recipe: dict, estate, now) -> dict:
    user_id = lambda name: getattr(estate, name) if name else None  # noqa: E731
    offered = {
        "note": recipe["note"],
        "reason": recipe["reason"],
        "rating": recipe["rating"],
        "promised_at": (now + timedelta(hours=recipe["promised_in_hours"])).isoformat()
        if recipe["promised_in_hours"] is not None else None,
        "result": recipe["result"],
        "technician_id": user_id(recipe["technician"]),
        "assignee_id": user_id(recipe["assignee"]),
    }
    wanted = set(rule.fields)
    if recipe["extra_field"]:
        wanted.add(next(f for f in ("rating", "reason", "result") if f not in rule.fields))
    return {name: value for name, value in offered.items() if name in wanted and value is not None}


def snapshot(ticket_ids) -> dict:
    """Everything a refused trigger must leave as it was."""
    db.session.commit()
    db.session.expire_all()
    return {
        "tickets": db.session.execute(
            select(Ticket.id, Ticket.state, Ticket.version, Ticket.assignee_id,
                   Ticket.technician_id, Ticket.rating, Ticket.updated_at)
            .where(Ticket.id.in_(ticket_ids)).order_by(Ticket.id)).all(),
        "deadlines": db.session.execute(
            select(Deadline.id, Deadline.status, Deadline.due_at, Deadline.remaining_seconds,
                   Deadline.closed_at).order_by(Deadline.id)).all(),
        "deductions": db.session.scalar(select(func.count()).select_from(Deduction)),
        "events": db.session.scalar(select(func.count()).select_from(Event)),
    }


class History:
    """What has been written so far: it may only grow."""

    def __init__(self):
        self.deductions, self.events = [], []

    def check_append_only(self):
        deductions = db.session.execute(
            select(Deduction.id, Deduction.deadline_id, Deduction.butler_id, Deduction.points,
                   Deduction.article, Deduction.missed_at).order_by(Deduction.id)).all()
        events = db.session.execute(
            select(Event.id, Event.ticket_id, Event.trigger, Event.from_state, Event.to_state,
                   Event.at).order_by(Event.id)).all()
        assert deductions[:len(self.deductions)] == self.deductions
        assert events[:len(self.events)] == self.events
        self.deductions, self.events = deductions, events


def check_invariants(rules, history: History, area_butler: int, *, swept: bool) -> None:
    db.session.commit()
    db.session.expire_all()
    now = the_clock.now()

    rows = db.session.execute(
        select(Deadline, func.count(Deduction.id))
        .outerjoin(Deduction, Deduction.deadline_id == Deadline.id).group_by(Deadline.id)
    ).all()
    for deadline, deductions in rows:
        expected = 1 if deadline.status == DeadlineStatus.MISSED else 0
        assert deductions == expected, (deadline, deductions)
        if deadline.status == DeadlineStatus.PAUSED:
            assert deadline.due_at is None and deadline.remaining_seconds is not None, deadline
        else:
            assert deadline.due_at is not None, deadline
        if swept and deadline.status == DeadlineStatus.RUNNING:
            assert deadline.due_at > now, deadline

    mismatched = db.session.execute(
        select(Deduction.id).join(Deadline, Deduction.deadline_id == Deadline.id).where(
            (Deduction.missed_at != Deadline.due_at) | (Deduction.points != Deadline.points)
            | (Deduction.article != Deadline.article) | (Deduction.ticket_id != Deadline.ticket_id)
            | Deduction.butler_id.is_(None))
    ).all()
    assert mismatched == []

    # The butler charged is the one who held the ticket when the deadline passed: the area's
    # butler, unless a reassignment came before the due time (one at the very moment comes after).
    reassignments = db.session.execute(
        select(Event.ticket_id, Event.at, Event.data).where(Event.trigger == "reassign")
        .order_by(Event.at, Event.id)).all()
    for deduction in db.session.scalars(select(Deduction)):
        holder = area_butler
        for ticket_id, at, data in reassignments:
            if ticket_id == deduction.ticket_id and at < deduction.missed_at:
                holder = data["assignee_id"]
        assert deduction.butler_id == holder, deduction

    open_twice = db.session.execute(
        select(Deadline.ticket_id, Deadline.name).where(Deadline.status.in_(OPEN))
        .group_by(Deadline.ticket_id, Deadline.name).having(func.count() > 1)
    ).all()
    assert open_twice == []

    for ticket in db.session.scalars(select(Ticket)):
        kind = rules.kind(ticket.kind)
        assert ticket.state in kind.states, ticket
        if kind.states[ticket.state].final:
            still_open = db.session.scalar(select(func.count()).select_from(Deadline).where(
                Deadline.ticket_id == ticket.id, Deadline.status.in_(OPEN)))
            assert still_open == 0, ticket

    history.check_append_only()


def choose(kind, ticket, fire, estate):
    """The trigger and the person of a trigger attempt."""
    triggers = list(kind.triggers.values())  # in the rules' order: the happy path first
    if fire["aimed"]:
        triggers = [t for t in triggers if ticket.state in t.sources] or triggers
    rule = triggers[fire["trigger"] % len(triggers)]
    if not fire["aimed"]:
        return rule, PEOPLE[fire["who"] % len(PEOPLE)]
    people = []
    for role in sorted(rule.roles):
        people += {
            "resident": ["resident"],
            "butler": ["butler", "relief_butler"] if ticket.assignee_id == estate.relief_butler
            else ["butler"],
            "technician": ["technician", "other_technician"],
            "supervisor": ["supervisor"],
        }[role]
    return rule, people[fire["who"] % len(people)]


def run_example(estate, clock, backdate, head_start, plan) -> None:
    clock.move_to(T0)
    rules = current_rules()
    user = lambda name: db.session.get(User, getattr(estate, name))  # noqa: E731

    tickets = [
        engine.open_ticket(user("resident"), "repair", "Tap leaking") if backdate is None else
        engine.open_ticket(user("butler"), "repair", "Tap leaking", unit_id=estate.unit_a,
                           reported_at=T0 - timedelta(minutes=backdate)),
        engine.open_ticket(user("resident"), "complaint", "Noise from the gym"),
        engine.open_ticket(user("resident"), "renovation", "Bathroom renovation"),
    ]
    ids = [t.id for t in tickets]
    for ticket_id, kind, steps_ahead in zip(ids, KINDS, head_start, strict=False):
        for trigger, who, data in HAPPY_PATHS[kind][:steps_ahead]:
            data = {k: getattr(estate, v) if k == "technician_id" else v for k, v in data.items()}
            ticket = db.session.get(Ticket, ticket_id)
            engine.fire(ticket_id, trigger, user(who), ticket.version, **data)
    history = History()
    check_invariants(rules, history, estate.butler, swept=False)

    for step in plan:
        if step[0] == "jump":
            clock.shift(timedelta(minutes=step[1]))
            check_invariants(rules, history, estate.butler, swept=False)
            continue
        if step[0] == "sweep":
            sweeper.sweep()
            check_invariants(rules, history, estate.butler, swept=True)
            continue

        fire = step[1]
        ticket = db.session.get(Ticket, ids[fire["ticket"]])
        kind = rules.kind(ticket.kind)
        rule, who = choose(kind, ticket, fire, estate)
        actor = user(who)
        stale, recipe = fire["stale"], fire["recipe"]
        data = data_for(rule, recipe, estate, the_clock.now())
        before = snapshot(ids)
        version, state = ticket.version, ticket.state
        try:
            fired = engine.fire(ticket.id, rule.name, actor, version - 1 if stale else version,
                                **data)
        except WorkflowError:
            assert snapshot(ids) == before, (rule.name, who, data)
        else:
            assert not stale
            assert actor.role in rule.roles
            assert state in rule.sources
            assert fired.version == version + 1
            if rule.dest_by:
                assert fired.state == rule.dest_choices[data[rule.dest_by]]
            else:
                assert fired.state == (rule.dest or state)
            db.session.commit()
            due_unrecorded = db.session.scalar(select(func.count()).select_from(Deadline).where(
                Deadline.ticket_id == ticket.id, Deadline.status == DeadlineStatus.RUNNING,
                Deadline.due_at <= the_clock.now()))
            assert due_unrecorded == 0
        check_invariants(rules, history, estate.butler, swept=False)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(backdate=backdates, head_start=head_starts, plan=steps)
def test_random_histories_keep_the_invariants(databases, template_db, clock, backdate, head_start,
                                              plan):
    template, estate = template_db
    url = databases.copy_of(template)
    try:
        with database_of(make_app(url)):
            run_example(estate, clock, backdate, head_start, plan)
    finally:
        databases.drop(url)
