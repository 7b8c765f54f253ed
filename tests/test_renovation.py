"""Renovation permits (装修申请) through the engine: every transition, refusal and deadline.

A permit goes applied → approved → in_progress → completion_requested → accepted → closed; a
rejected application may be resubmitted. While the works run the butler inspects the site; a
violation moves the permit to rectifying until an inspection finds it fixed, and a failed
acceptance sends it back there too. Deadlines (all -2 under art. 6): review within 18 hours of
office time (two working days: T0 is a Monday 09:00, so Wednesday 09:00, T0 + 48h); an
inspection at least every 24 hours while works run, re-armed by each inspection, every missed
day its own deduction; acceptance within 18 hours of office time of the request
(tests/test_calendars.py counts office time).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models import Deadline, db
from tests.helpers import all_deadlines, deadline, deductions, events, fresh, refused
from workflows import engine, sweeper
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound, StaleVersion

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)  # where the `clock` fixture stops time

# The happy path, one step per state: (trigger, who, data).
PATH = [
    ("approve", "butler", {}),
    ("start_works", "resident", {}),
    ("request_acceptance", "resident", {}),
    ("accept_works", "butler", {}),
    ("close", "butler", {}),
]
STATES = ["applied", "approved", "in_progress", "completion_requested", "accepted", "closed"]
BRANCHES = {  # how to reach the states off the happy path
    "rejected": ["applied", ("reject", "butler", {"reason": "Load-bearing wall"})],
    "rectifying": ["in_progress", ("inspect", "butler", {"result": "violation",
                                                         "note": "Debris in the stairwell"})],
}


# -- helpers --------------------------------------------------------------------------------------

def inspect(desk, ticket_id: int, result: str = "ok", note: str = "Site tidy"):
    return desk.fire(ticket_id, "inspect", "butler", result=result, note=note)


@pytest.fixture
def permit(desk, clock) -> int:
    """A renovation permit the resident of unit_a applied for at T0."""
    return desk.open("resident", "renovation", "New kitchen").id


@pytest.fixture
def permit_in(desk, permit):
    """A permit moved (without the clock moving) to the given state."""
    def make(state: str) -> int:
        base, *extra = BRANCHES.get(state, [state])
        for trigger, who, data in PATH[:STATES.index(base)] + extra:
            desk.fire(permit, trigger, who, **data)
        return permit
    return make


# -- registration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who, unit, butler", [
    ("resident", None, "butler"),
    ("west_resident", None, "other_butler"),
    ("butler", "unit_b", "butler"),
])
def test_a_new_permit_is_assigned_at_once_to_the_butler_of_the_units_area(
        desk, estate, clock, who, unit, butler):
    kwargs = {"unit_id": getattr(estate, unit)} if unit else {}
    ticket = fresh(desk.open(who, "renovation", "Bathroom tiles", **kwargs).id)
    assert (ticket.kind, ticket.state, ticket.assignee_id) == (
        "renovation", "applied", getattr(estate, butler))
    review = deadline(ticket.id, "review")
    assert (review.status, review.due_at, review.points, review.article) == (
        "running", T0 + timedelta(hours=48), -2, 6)


# -- transitions ----------------------------------------------------------------------------------

def test_the_happy_path_goes_from_applied_to_closed(desk, estate, permit, clock):
    for (trigger, who, data), expected in zip(PATH, STATES[1:], strict=False):
        clock.shift(timedelta(hours=2))
        assert desk.fire(permit, trigger, who, **data).state == expected

    assert (fresh(permit).state, fresh(permit).version) == ("closed", 6)
    assert [(e.trigger, e.from_state, e.to_state, e.actor_id) for e in events(permit)] == [
        ("create", None, "applied", estate.resident),
        ("approve", "applied", "approved", estate.butler),
        ("start_works", "approved", "in_progress", estate.resident),
        ("request_acceptance", "in_progress", "completion_requested", estate.resident),
        ("accept_works", "completion_requested", "accepted", estate.butler),
        ("close", "accepted", "closed", estate.butler),
    ]
    assert {(d.name, d.status) for d in db.session.scalars(select(Deadline))} == {
        ("review", "met"), ("inspection", "cancelled"), ("acceptance", "met")}
    clock.shift(timedelta(days=30))
    assert sweeper.sweep() == 0
    assert deductions() == []


def test_the_butler_may_start_the_works_and_request_acceptance_and_the_supervisor_decide(
        desk, permit):
    assert desk.fire(permit, "approve", "supervisor").state == "approved"
    assert desk.fire(permit, "start_works", "butler").state == "in_progress"
    assert desk.fire(permit, "request_acceptance", "butler").state == "completion_requested"
    assert desk.fire(permit, "accept_works", "supervisor").state == "accepted"
    assert desk.fire(permit, "close", "supervisor").state == "closed"


@pytest.mark.parametrize("rejecter", ["butler", "supervisor"])
@pytest.mark.parametrize("resubmitter", ["resident", "butler"])
def test_a_rejected_application_may_be_resubmitted_and_is_reviewed_again(
        desk, permit, clock, rejecter, resubmitter):
    clock.shift(timedelta(hours=5))
    assert desk.fire(permit, "reject", rejecter, reason="Load-bearing wall").state == "rejected"
    assert events(permit)[-1].data == {"reason": "Load-bearing wall"}
    assert deadline(permit, "review").status == "met"
    clock.shift(timedelta(days=10))
    assert desk.fire(permit, "resubmit", resubmitter).state == "applied"
    second = deadline(permit, "review")
    # Resubmitted on Thursday at 14:00: two working days on, past the weekend, is Monday 14:00.
    assert (second.seq, second.status, second.due_at) == (
        2, "running", T0 + timedelta(days=14, hours=5))
    assert desk.fire(permit, "approve", "butler").state == "approved"
    assert sweeper.sweep() == 0


def test_an_ok_inspection_keeps_the_works_in_progress(desk, estate, permit_in):
    permit = permit_in("in_progress")
    assert inspect(desk, permit, "ok", "All in order").state == "in_progress"
    last = events(permit)[-1]
    assert (last.trigger, last.from_state, last.to_state, last.note, last.data, last.actor_id) == (
        "inspect", "in_progress", "in_progress", "All in order", {"result": "ok"}, estate.butler)


def test_a_violation_moves_to_rectifying_and_an_ok_inspection_back(desk, permit_in):
    permit = permit_in("in_progress")
    assert inspect(desk, permit, "violation", "Debris in the stairwell").state == "rectifying"
    assert inspect(desk, permit, "violation", "Still there").state == "rectifying"
    assert inspect(desk, permit, "ok", "Cleared").state == "in_progress"
    assert [(e.from_state, e.to_state) for e in events(permit)][-3:] == [
        ("in_progress", "rectifying"), ("rectifying", "rectifying"), ("rectifying", "in_progress")]


def test_a_failed_acceptance_goes_to_rectifying_with_the_reason(desk, permit_in, clock):
    permit = permit_in("completion_requested")
    clock.shift(timedelta(hours=3))
    assert desk.fire(permit, "fail_acceptance", "butler", reason="Cracked tiles").state == (
        "rectifying")
    assert events(permit)[-1].data == {"reason": "Cracked tiles"}
    assert deadline(permit, "acceptance").status == "met"
    # Works are running again, so the daily inspection is armed afresh.
    inspection = deadline(permit, "inspection")
    assert (inspection.status, inspection.due_at) == ("running", T0 + timedelta(hours=27))
    inspect(desk, permit, "ok", "Tiles replaced")
    desk.fire(permit, "request_acceptance", "resident")
    assert desk.fire(permit, "accept_works", "butler").state == "accepted"


@pytest.mark.parametrize("state", [
    "applied", "approved", "rejected", "in_progress", "rectifying", "completion_requested",
    "accepted"])
def test_the_supervisor_reassigns_the_permit_without_changing_its_state(
        desk, estate, permit_in, state):
    permit = permit_in(state)
    desk.fire(permit, "reassign", "supervisor", assignee_id=estate.relief_butler)
    assert (fresh(permit).state, fresh(permit).assignee_id) == (state, estate.relief_butler)


def test_allowed_triggers_follow_state_and_role(desk, estate, permit_in):
    permit = permit_in("in_progress")

    def names(who):
        return sorted(t.name for t in engine.allowed_triggers(fresh(permit), estate.user(who)))

    assert names("resident") == ["request_acceptance"]
    assert names("butler") == ["inspect", "request_acceptance"]
    assert names("supervisor") == ["reassign"]


# -- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, who, trigger, data", [
    ("applied", "resident", "approve", {}),
    ("applied", "resident", "reject", {"reason": "x"}),
    ("rejected", "supervisor", "resubmit", {}),
    ("approved", "supervisor", "start_works", {}),
    ("in_progress", "resident", "inspect", {"result": "ok"}),
    ("in_progress", "supervisor", "inspect", {"result": "ok"}),
    ("in_progress", "supervisor", "request_acceptance", {}),
    ("completion_requested", "resident", "accept_works", {}),
    ("completion_requested", "resident", "fail_acceptance", {"reason": "x"}),
    ("accepted", "resident", "close", {}),
    ("accepted", "butler", "reassign", {}),
])
def test_a_trigger_fired_by_the_wrong_role_is_forbidden(desk, permit_in, state, who, trigger, data):
    permit = permit_in(state)
    error = refused(permit, Forbidden, lambda: desk.fire(permit, trigger, who, **data))
    assert error.status == 403


@pytest.mark.parametrize("who", [
    "neighbour", "west_resident", "other_butler", "relief_butler", "technician"])
def test_a_permit_outside_the_actors_reach_is_not_found(desk, permit_in, who):
    permit = permit_in("in_progress")
    error = refused(permit, NotFound, lambda: desk.fire(permit, "request_acceptance", who))
    assert error.status == 404


def test_a_stale_version_is_refused_with_409(desk, estate, permit_in):
    permit = permit_in("in_progress")
    read = fresh(permit).version
    inspect(desk, permit)
    error = refused(permit, StaleVersion, lambda: engine.fire(
        permit, "inspect", estate.user("butler"), read, result="ok"))
    assert (error.status, error.code) == (409, "stale_version")


def test_an_inspection_that_keeps_the_state_still_makes_an_earlier_read_stale(
        desk, estate, permit_in):
    permit = permit_in("in_progress")
    read = fresh(permit).version
    inspect(desk, permit)  # same state, same instant: no column but the version changes
    assert fresh(permit).version == read + 1
    refused(permit, StaleVersion, lambda: engine.fire(
        permit, "inspect", estate.user("butler"), read, result="ok"))


@pytest.mark.parametrize("state, who, trigger, data, possible", [
    ("applied", "resident", "start_works", {}, ["withdraw"]),
    ("applied", "butler", "inspect", {"result": "ok"}, ["approve", "reject"]),
    ("rejected", "butler", "approve", {}, ["resubmit"]),
    ("approved", "butler", "request_acceptance", {}, ["start_works"]),
    ("rectifying", "resident", "request_acceptance", {}, []),
    ("rectifying", "butler", "request_acceptance", {}, ["inspect"]),
    ("completion_requested", "butler", "inspect", {"result": "ok"},
     ["accept_works", "fail_acceptance"]),
    ("closed", "butler", "inspect", {"result": "ok"}, []),
])
def test_a_trigger_not_possible_in_the_state_is_a_conflict_naming_state_and_options(
        desk, permit_in, state, who, trigger, data, possible):
    permit = permit_in(state)
    error = refused(permit, Conflict, lambda: desk.fire(permit, trigger, who, **data))
    assert not isinstance(error, StaleVersion)
    assert f"'{state}'" in error.message
    offered = error.message.split("possible now:")[1]
    assert all(name in offered for name in possible)
    if not possible:
        assert "nothing" in offered


@pytest.mark.parametrize("state, who, trigger, data, field", [
    ("applied", "butler", "reject", {}, "reason"),
    ("applied", "butler", "reject", {"reason": " "}, "reason"),
    ("in_progress", "butler", "inspect", {}, "result"),
    ("in_progress", "butler", "inspect", {"result": "fine"}, "result"),
    ("in_progress", "butler", "inspect", {"result": "ok", "note": 7}, "note"),
    ("rectifying", "butler", "inspect", {"result": "OK"}, "result"),
    ("completion_requested", "butler", "fail_acceptance", {}, "reason"),
    ("applied", "butler", "approve", {"rating": 5}, "rating"),
    ("approved", "supervisor", "reassign", {"assignee_id": "nobody"}, "assignee_id"),
])
def test_missing_or_invalid_data_is_refused_naming_the_field(
        desk, permit_in, state, who, trigger, data, field):
    permit = permit_in(state)
    error = refused(permit, InvalidData, lambda: desk.fire(permit, trigger, who, **data))
    assert error.status == 422
    assert field in error.fields


# -- deadlines ------------------------------------------------------------------------------------

def test_a_review_in_time_meets_the_deadline(desk, permit, clock):
    clock.shift(timedelta(hours=47))
    desk.fire(permit, "approve", "butler")
    clock.shift(timedelta(days=3))
    assert deadline(permit, "review").status == "met"
    assert sweeper.sweep() == 0


def test_a_missed_review_is_one_minus_two_under_article_6(desk, estate, permit, clock):
    clock.shift(timedelta(hours=49))
    assert sweeper.sweep() == 1
    assert sweeper.sweep() == 0
    [deduction] = deductions()
    assert (deduction.deadline.name, deduction.points, deduction.article, deduction.missed_at,
            deduction.butler_id, deduction.ticket_id) == (
        "review", -2, 6, T0 + timedelta(hours=48), estate.butler, permit)


def test_a_late_approval_records_the_miss_at_once(desk, estate, permit, clock):
    clock.shift(timedelta(hours=60))
    desk.fire(permit, "approve", "butler")
    assert [(d.deadline.name, d.missed_at, d.recorded_at) for d in deductions()] == [
        ("review", T0 + timedelta(hours=48), T0 + timedelta(hours=60))]
    assert sweeper.sweep() == 0


def test_starting_the_works_arms_a_daily_inspection(desk, permit_in, clock):
    permit = permit_in("approved")
    clock.shift(timedelta(hours=5))
    desk.fire(permit, "start_works", "resident")
    inspection = deadline(permit, "inspection")
    assert (inspection.seq, inspection.status, inspection.due_at, inspection.points,
            inspection.article) == (1, "running", T0 + timedelta(hours=29), -2, 6)


def test_each_inspection_meets_the_day_and_rearms_the_next(desk, permit_in, clock):
    permit = permit_in("in_progress")
    for day, result in enumerate(["ok", "violation", "violation", "ok", "ok"], start=1):
        clock.move_to(T0 + timedelta(hours=23 * day))
        inspect(desk, permit, result)
    rows = all_deadlines(permit, "inspection")
    assert [(d.seq, d.status) for d in rows] == [
        (1, "met"), (2, "met"), (3, "met"), (4, "met"), (5, "met"), (6, "running")]
    assert rows[-1].due_at == T0 + timedelta(hours=23 * 5 + 24)
    assert [d.closed_at for d in rows[:-1]] == [T0 + timedelta(hours=23 * d) for d in range(1, 6)]
    clock.move_to(T0 + timedelta(hours=23 * 5 + 23))
    assert sweeper.sweep() == 0
    assert deductions() == []


def test_every_missed_inspection_day_is_its_own_deduction(desk, estate, permit_in, clock):
    permit = permit_in("in_progress")
    clock.move_to(T0 + timedelta(days=3, hours=1))
    assert sweeper.sweep() == 3
    assert [(d.deadline.name, d.deadline.seq, d.points, d.article, d.missed_at, d.butler_id)
            for d in deductions()] == [
        ("inspection", seq, -2, 6, T0 + timedelta(days=seq), estate.butler) for seq in (1, 2, 3)]
    nxt = deadline(permit, "inspection")
    assert (nxt.seq, nxt.status, nxt.due_at) == (4, "running", T0 + timedelta(days=4))
    assert sweeper.sweep() == 0


def test_an_inspection_after_missed_days_records_them_and_rearms_from_now(
        desk, estate, permit_in, clock):
    permit = permit_in("in_progress")
    clock.move_to(T0 + timedelta(days=2, hours=12))  # no sweep ran
    inspect(desk, permit)
    assert [d.missed_at for d in deductions()] == [T0 + timedelta(days=1), T0 + timedelta(days=2)]
    rows = all_deadlines(permit, "inspection")
    assert [(d.seq, d.status) for d in rows] == [
        (1, "missed"), (2, "missed"), (3, "met"), (4, "running")]
    assert rows[-1].due_at == T0 + timedelta(days=3, hours=12)
    assert sweeper.sweep() == 0


def test_the_inspection_clock_runs_while_rectifying(desk, permit_in, clock):
    permit = permit_in("rectifying")
    clock.shift(timedelta(hours=25))
    assert sweeper.sweep() == 1
    assert [(d.deadline.name, d.ticket_id) for d in deductions()] == [("inspection", permit)]


def test_requesting_acceptance_stops_the_inspections_and_starts_acceptance(
        desk, permit_in, clock):
    permit = permit_in("in_progress")
    clock.shift(timedelta(hours=10))
    desk.fire(permit, "request_acceptance", "resident")
    assert deadline(permit, "inspection").status == "cancelled"
    acceptance = deadline(permit, "acceptance")
    # Asked for on Monday at 19:00, after office hours: counted from Tuesday 08:30, so due on
    # Wednesday at 17:30.
    assert (acceptance.status, acceptance.due_at) == ("running", T0 + timedelta(hours=56.5))
    clock.shift(timedelta(hours=46))
    desk.fire(permit, "accept_works", "butler")
    clock.shift(timedelta(days=10))
    assert sweeper.sweep() == 0
    assert deductions() == []


def test_a_missed_acceptance_is_one_minus_two_under_article_6(desk, estate, permit_in, clock):
    permit = permit_in("completion_requested")
    clock.shift(timedelta(hours=48))
    assert sweeper.sweep() == 1
    [deduction] = deductions()
    assert (deduction.deadline.name, deduction.points, deduction.article, deduction.missed_at,
            deduction.butler_id, deduction.ticket_id) == (
        "acceptance", -2, 6, T0 + timedelta(hours=48), estate.butler, permit)


def test_a_late_acceptance_records_the_miss_at_once(desk, permit_in, clock):
    permit = permit_in("completion_requested")
    clock.shift(timedelta(hours=50))
    desk.fire(permit, "accept_works", "supervisor")
    assert [(d.deadline.name, d.recorded_at) for d in deductions()] == [
        ("acceptance", T0 + timedelta(hours=50))]
    assert sweeper.sweep() == 0


# -- the responsible butler -----------------------------------------------------------------------

def test_missed_inspections_are_charged_to_whoever_held_the_permit_each_day(
        desk, estate, permit_in, clock):
    permit = permit_in("in_progress")
    clock.move_to(T0 + timedelta(days=1, hours=12))  # day 1 missed, nobody swept
    desk.fire(permit, "reassign", "supervisor", assignee_id=estate.relief_butler)
    clock.move_to(T0 + timedelta(days=2, hours=12))
    assert sweeper.sweep() == 1
    assert [(d.missed_at, d.butler_id) for d in deductions()] == [
        (T0 + timedelta(days=1), estate.butler), (T0 + timedelta(days=2), estate.relief_butler)]
