"""Complaints (投诉) through the engine: every transition, every refusal and every deadline.

A complaint goes submitted → accepted → replied → resolved → visited → closed. The resident may
reject a reply (back to accepted, with a reason); the butler may escalate to the supervisor, wait
on the resident (the reply clock stops) and tell the resident the progress, promising the next
reply time at most 48 hours ahead (the reply clock is re-armed at that time). Deadlines: a reply
within 48 hours and by every promised time, -5 under art. 10; the follow-up visit within 48 hours
of resolution, -2 under art. 2.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models import Deadline, DeadlineStatus, db
from tests.helpers import all_deadlines, deadline, deductions, events, fresh, refused
from workflows import engine, sweeper
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound, StaleVersion

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)  # where the `clock` fixture stops time

# The happy path, one step per state: (trigger, who, data).
PATH = [
    ("accept", "butler", {}),
    ("reply", "butler", {"note": "The lift will be serviced on Tuesday"}),
    ("confirm", "resident", {}),
    ("visit", "butler", {"rating": 4}),
    ("close", "butler", {}),
]
STATES = ["submitted", "accepted", "replied", "resolved", "visited", "closed"]


# -- helpers --------------------------------------------------------------------------------------

@pytest.fixture
def complaint(desk, clock) -> int:
    """A complaint the resident of unit_a submitted at T0."""
    return desk.open("resident", "complaint", "Lift out of order for days").id


@pytest.fixture
def complaint_in(desk, complaint):
    """A complaint walked along the happy path to the given state (or to a branch state)."""
    def make(state: str) -> int:
        if state in ("waiting_resident", "escalated"):
            desk.fire(complaint, "accept", "butler")
            trigger = "wait_resident" if state == "waiting_resident" else "escalate"
            desk.fire(complaint, trigger, "butler", note="Need to check with the lift company")
            return complaint
        for trigger, who, data in PATH[:STATES.index(state)]:
            desk.fire(complaint, trigger, who, **data)
        return complaint
    return make


# -- registration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who, unit, butler", [
    ("resident", None, "butler"),
    ("west_resident", None, "other_butler"),
    ("butler", "unit_w", "other_butler"),
    ("supervisor", "unit_b", "butler"),
])
def test_a_new_complaint_is_assigned_at_once_to_the_butler_of_the_units_area(
        desk, estate, clock, who, unit, butler):
    kwargs = {"unit_id": getattr(estate, unit)} if unit else {}
    ticket = fresh(desk.open(who, "complaint", "Noise at night", **kwargs).id)
    assert (ticket.kind, ticket.state, ticket.assignee_id) == (
        "complaint", "submitted", getattr(estate, butler))


def test_a_new_complaint_must_be_answered_within_48_hours(complaint):
    reply = deadline(complaint, "reply")
    assert (reply.status, reply.due_at, reply.points, reply.article) == (
        DeadlineStatus.RUNNING, T0 + timedelta(hours=48), -5, 10)
    assert deadline(complaint, "follow_up") is None


# -- transitions ----------------------------------------------------------------------------------

def test_the_happy_path_goes_from_submitted_to_closed(desk, estate, complaint, clock):
    for (trigger, who, data), expected in zip(PATH, STATES[1:], strict=False):
        clock.shift(timedelta(hours=1))
        assert desk.fire(complaint, trigger, who, **data).state == expected

    ticket = fresh(complaint)
    assert (ticket.state, ticket.version, ticket.rating) == ("closed", 6, 4)
    assert [(e.trigger, e.from_state, e.to_state, e.actor_id) for e in events(complaint)] == [
        ("create", None, "submitted", estate.resident),
        ("accept", "submitted", "accepted", estate.butler),
        ("reply", "accepted", "replied", estate.butler),
        ("confirm", "replied", "resolved", estate.resident),
        ("visit", "resolved", "visited", estate.butler),
        ("close", "visited", "closed", estate.butler),
    ]
    assert events(complaint)[2].note == "The lift will be serviced on Tuesday"
    assert [(d.name, d.seq, d.status) for d in db.session.scalars(select(Deadline))] == [
        ("reply", 1, "met"), ("follow_up", 1, "met")]
    clock.shift(timedelta(days=30))
    assert sweeper.sweep() == 0
    assert deductions() == []


def test_the_butler_may_confirm_for_the_resident_and_the_supervisor_may_visit_and_close(
        desk, complaint_in):
    ticket_id = complaint_in("replied")
    assert desk.fire(ticket_id, "confirm", "butler",
                     reason="The resident said so on the phone").state == "resolved"
    assert desk.fire(ticket_id, "visit", "supervisor", rating=5).state == "visited"
    assert desk.fire(ticket_id, "close", "supervisor").state == "closed"


def test_the_supervisor_may_accept_a_complaint(desk, complaint):
    assert desk.fire(complaint, "accept", "supervisor").state == "accepted"


@pytest.mark.parametrize("who", ["resident", "butler"])
def test_a_rejected_reply_goes_back_to_accepted_with_the_reason_and_a_new_reply_clock(
        desk, complaint_in, clock, who):
    ticket_id = complaint_in("replied")
    clock.shift(timedelta(hours=10))
    assert desk.fire(ticket_id, "reject", who, reason="Tuesday is too late").state == "accepted"
    assert events(ticket_id)[-1].data == {"reason": "Tuesday is too late"}
    first, second = all_deadlines(ticket_id, "reply")
    assert first.status == "met"
    assert (second.seq, second.status, second.due_at) == (
        2, "running", T0 + timedelta(hours=10 + 48))
    assert desk.fire(ticket_id, "reply", "butler", note="Monday, then").state == "replied"


def test_an_escalated_complaint_is_answered_by_the_supervisor(desk, estate, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=2))
    ticket = desk.fire(ticket_id, "escalate", "butler", note="Needs the developer")
    assert ticket.state == "escalated"
    assert events(ticket_id)[-1].note == "Needs the developer"
    assert deadline(ticket_id, "reply").status == "running"  # escalating does not stop the clock
    clock.shift(timedelta(hours=2))
    assert desk.fire(ticket_id, "reply", "supervisor", note="The developer pays").state == "replied"
    assert events(ticket_id)[-1].actor_id == estate.supervisor
    assert deadline(ticket_id, "reply").status == "met"


@pytest.mark.parametrize("state, who", [
    ("accepted", "butler"), ("accepted", "supervisor"), ("escalated", "supervisor"),
])
def test_a_progress_update_keeps_the_state_and_rearms_the_reply_at_the_promised_time(
        desk, estate, complaint_in, clock, state, who):
    ticket_id = complaint_in(state)
    clock.shift(timedelta(hours=40))
    promised = T0 + timedelta(hours=40 + 30)
    ticket = desk.fire(ticket_id, "progress_update", who, note="Parts ordered, sorry",
                       promised_at=promised)
    assert ticket.state == state
    last = events(ticket_id)[-1]
    assert (last.trigger, last.note, last.data) == (
        "progress_update", "Parts ordered, sorry", {"promised_at": promised.isoformat()})
    first, second = all_deadlines(ticket_id, "reply")
    assert (first.status, first.closed_at) == ("met", T0 + timedelta(hours=40))
    assert (second.seq, second.status, second.due_at, second.points, second.article) == (
        2, "running", promised, -5, 10)
    clock.move_to(T0 + timedelta(hours=60))  # past the original 48 h: nothing is due
    assert sweeper.sweep() == 0


def test_the_promised_time_may_be_exactly_48_hours_ahead(desk, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    desk.fire(ticket_id, "progress_update", "butler", note="Waiting for parts",
              promised_at=T0 + timedelta(hours=48))
    assert deadline(ticket_id, "reply").due_at == T0 + timedelta(hours=48)


def test_the_promised_time_may_be_given_as_iso_text(desk, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    desk.fire(ticket_id, "progress_update", "butler", note="Waiting for parts",
              promised_at="2026-11-17T09:00:00+08:00")
    assert deadline(ticket_id, "reply").due_at == T0 + timedelta(hours=24)


@pytest.mark.parametrize("who", ["butler", "resident"])
def test_waiting_on_the_resident_and_resuming(desk, estate, complaint_in, who):
    ticket_id = complaint_in("accepted")
    assert desk.fire(ticket_id, "wait_resident", "butler", note="Resident abroad").state == (
        "waiting_resident")
    assert deadline(ticket_id, "reply").status == "paused"
    assert desk.fire(ticket_id, "resume", who).state == "accepted"
    assert deadline(ticket_id, "reply").status == "running"
    assert [e.trigger for e in events(ticket_id)][-2:] == ["wait_resident", "resume"]


@pytest.mark.parametrize("state", [
    "submitted", "accepted", "waiting_resident", "escalated", "replied", "resolved", "visited"])
def test_the_supervisor_reassigns_the_complaint_without_changing_its_state(
        desk, estate, complaint_in, state):
    ticket_id = complaint_in(state)
    desk.fire(ticket_id, "reassign", "supervisor", assignee_id=estate.relief_butler)
    assert (fresh(ticket_id).state, fresh(ticket_id).assignee_id) == (state, estate.relief_butler)
    assert events(ticket_id)[-1].data == {"assignee_id": estate.relief_butler}


def test_allowed_triggers_follow_state_and_role(desk, estate, complaint_in):
    ticket_id = complaint_in("accepted")

    def names(who):
        return sorted(t.name for t in engine.allowed_triggers(fresh(ticket_id), estate.user(who)))

    assert names("resident") == ["nudge"]
    assert names("butler") == ["escalate", "progress_update", "reply", "wait_resident"]
    assert names("supervisor") == ["progress_update", "reassign", "reply"]


# -- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, who, trigger, data", [
    ("submitted", "resident", "accept", {}),
    ("accepted", "resident", "reply", {"note": "Solved"}),
    ("accepted", "resident", "escalate", {"note": "Hurry"}),
    ("accepted", "supervisor", "escalate", {"note": "Hurry"}),
    ("accepted", "supervisor", "wait_resident", {"note": "Abroad"}),
    ("accepted", "resident", "progress_update",
     {"note": "x", "promised_at": T0 + timedelta(hours=1)}),
    ("waiting_resident", "supervisor", "resume", {}),
    ("replied", "supervisor", "confirm", {}),
    ("replied", "supervisor", "reject", {"reason": "No"}),
    ("resolved", "resident", "visit", {"rating": 5}),
    ("visited", "resident", "close", {}),
    ("visited", "butler", "reassign", {}),
])
def test_a_trigger_fired_by_the_wrong_role_is_forbidden(
        desk, complaint_in, clock, state, who, trigger, data):
    ticket_id = complaint_in(state)
    error = refused(ticket_id, Forbidden, lambda: desk.fire(ticket_id, trigger, who, **data))
    assert error.status == 403


@pytest.mark.parametrize("who, trigger", [
    ("neighbour", "resume"),
    ("west_resident", "resume"),
    ("other_butler", "resume"),
    ("relief_butler", "resume"),
    ("technician", "resume"),  # complaints are never dispatched to a technician
])
def test_a_complaint_outside_the_actors_reach_is_not_found(desk, complaint_in, who, trigger):
    ticket_id = complaint_in("waiting_resident")
    error = refused(ticket_id, NotFound, lambda: desk.fire(ticket_id, trigger, who))
    assert error.status == 404


def test_a_stale_version_is_refused_with_409(desk, estate, complaint):
    read = fresh(complaint).version
    desk.fire(complaint, "accept", "butler")
    error = refused(complaint, StaleVersion, lambda: engine.fire(
        complaint, "reply", estate.user("butler"), read, note="Solved"))
    assert (error.status, error.code) == (409, "stale_version")


def test_a_progress_update_in_the_same_instant_still_makes_an_earlier_read_stale(
        desk, estate, complaint_in):
    ticket_id = complaint_in("accepted")
    read = fresh(ticket_id).version
    desk.fire(ticket_id, "progress_update", "butler", note="On it",
              promised_at=T0 + timedelta(hours=5))
    assert fresh(ticket_id).version == read + 1
    refused(ticket_id, StaleVersion, lambda: engine.fire(
        ticket_id, "progress_update", estate.user("supervisor"), read, note="Me too",
        promised_at=T0 + timedelta(hours=6)))


@pytest.mark.parametrize("state, who, trigger, data, possible", [
    ("submitted", "butler", "reply", {"note": "x"}, ["accept"]),
    ("accepted", "resident", "confirm", {}, ["nudge"]),
    ("accepted", "butler", "resume", {}, ["reply", "progress_update", "wait_resident", "escalate"]),
    ("waiting_resident", "butler", "reply", {"note": "x"}, ["resume"]),
    ("escalated", "butler", "wait_resident", {"note": "x"}, ["reply", "progress_update"]),
    ("replied", "butler", "progress_update",
     {"note": "x", "promised_at": T0 + timedelta(hours=1)}, ["confirm", "reject"]),
    ("resolved", "butler", "close", {}, ["visit"]),
    ("closed", "supervisor", "reassign", {}, []),
])
def test_a_trigger_not_possible_in_the_state_is_a_conflict_naming_state_and_options(
        desk, complaint_in, clock, state, who, trigger, data, possible):
    ticket_id = complaint_in(state)
    error = refused(ticket_id, Conflict, lambda: desk.fire(ticket_id, trigger, who, **data))
    assert not isinstance(error, StaleVersion)
    assert f"'{state}'" in error.message
    offered = error.message.split("possible now:")[1]
    assert all(name in offered for name in possible)
    if not possible:
        assert "nothing" in offered


@pytest.mark.parametrize("state, who, trigger, data, field", [
    ("accepted", "butler", "reply", {}, "note"),
    ("accepted", "butler", "reply", {"note": "  "}, "note"),
    ("accepted", "butler", "escalate", {}, "note"),
    ("accepted", "butler", "wait_resident", {}, "note"),
    ("accepted", "butler", "progress_update", {"promised_at": T0 + timedelta(hours=1)}, "note"),
    ("accepted", "butler", "progress_update", {"note": "Soon"}, "promised_at"),
    ("accepted", "butler", "progress_update",
     {"note": "Soon", "promised_at": T0 - timedelta(minutes=1)}, "promised_at"),
    ("accepted", "butler", "progress_update", {"note": "Soon", "promised_at": T0}, "promised_at"),
    ("accepted", "butler", "progress_update",
     {"note": "Soon", "promised_at": T0 + timedelta(hours=48, seconds=1)}, "promised_at"),
    ("accepted", "butler", "progress_update",
     {"note": "Soon", "promised_at": "next week"}, "promised_at"),
    ("accepted", "butler", "reply", {"note": "Done", "rating": 5}, "rating"),
    ("replied", "resident", "reject", {}, "reason"),
    ("replied", "resident", "reject", {"reason": ""}, "reason"),
    ("resolved", "butler", "visit", {}, "rating"),
    ("resolved", "butler", "visit", {"rating": 0}, "rating"),
    ("resolved", "butler", "visit", {"rating": 6}, "rating"),
    ("resolved", "butler", "visit", {"rating": "x"}, "rating"),
    ("resolved", "supervisor", "reassign", {"assignee_id": 999_999}, "assignee_id"),
])
def test_missing_or_invalid_data_is_refused_naming_the_field(
        desk, complaint_in, clock, state, who, trigger, data, field):
    ticket_id = complaint_in(state)
    error = refused(ticket_id, InvalidData, lambda: desk.fire(ticket_id, trigger, who, **data))
    assert error.status == 422
    assert field in error.fields


def test_a_reassignment_to_a_technician_is_invalid(desk, estate, complaint):
    error = refused(complaint, InvalidData, lambda: desk.fire(
        complaint, "reassign", "supervisor", assignee_id=estate.technician))
    assert "assignee_id" in error.fields


# -- deadlines ------------------------------------------------------------------------------------

def test_a_reply_in_time_meets_the_deadline(desk, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=47, minutes=59))
    desk.fire(ticket_id, "reply", "butler", note="Fixed")
    assert deadline(ticket_id, "reply").status == "met"
    clock.shift(timedelta(hours=1))
    assert sweeper.sweep() == 0


def test_a_missed_reply_is_one_minus_five_under_article_10(desk, estate, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=48))
    assert sweeper.sweep() == 1
    assert sweeper.sweep() == 0
    [deduction] = deductions()
    assert (deduction.deadline.name, deduction.points, deduction.article) == ("reply", -5, 10)
    assert (deduction.missed_at, deduction.butler_id, deduction.ticket_id) == (
        T0 + timedelta(hours=48), estate.butler, ticket_id)


def test_a_late_reply_records_the_miss_at_once(desk, estate, complaint_in, clock):
    ticket_id = complaint_in("escalated")
    clock.shift(timedelta(hours=50))
    desk.fire(ticket_id, "reply", "supervisor", note="Sorry for the wait")
    [deduction] = deductions()
    assert (deduction.deadline.name, deduction.missed_at, deduction.recorded_at,
            deduction.butler_id) == (
        "reply", T0 + timedelta(hours=48), T0 + timedelta(hours=50), estate.butler)
    assert deadline(ticket_id, "reply").closed_at == T0 + timedelta(hours=50)
    assert sweeper.sweep() == 0


def test_accepting_after_the_reply_was_missed_charges_the_lateness_once(
        desk, estate, complaint, clock):
    clock.shift(timedelta(hours=49))
    assert sweeper.sweep() == 1
    desk.fire(complaint, "accept", "butler")
    assert [d.status for d in all_deadlines(complaint, "reply")] == ["missed"]  # no second clock
    clock.shift(timedelta(days=5))
    assert sweeper.sweep() == 0
    desk.fire(complaint, "reply", "butler", note="Sorry, the lift is fixed")
    assert deadline(complaint, "reply").closed_at == T0 + timedelta(hours=49 + 120)
    assert [(d.points, d.butler_id) for d in deductions()] == [(-5, estate.butler)]


def test_a_follow_up_in_time_meets_the_deadline(desk, complaint_in, clock):
    ticket_id = complaint_in("resolved")
    follow_up = deadline(ticket_id, "follow_up")
    assert (follow_up.status, follow_up.due_at) == ("running", T0 + timedelta(hours=48))
    clock.shift(timedelta(hours=47))
    desk.fire(ticket_id, "visit", "butler", rating=3)
    clock.shift(timedelta(days=5))
    assert sweeper.sweep() == 0
    assert deadline(ticket_id, "follow_up").status == "met"


def test_a_missed_follow_up_is_one_minus_two_under_article_2(desk, estate, complaint_in, clock):
    ticket_id = complaint_in("replied")
    clock.shift(timedelta(hours=3))
    desk.fire(ticket_id, "confirm", "resident")
    clock.shift(timedelta(hours=60))
    assert sweeper.sweep() == 1
    [deduction] = deductions()
    assert (deduction.deadline.name, deduction.points, deduction.article, deduction.missed_at,
            deduction.butler_id) == ("follow_up", -2, 2, T0 + timedelta(hours=51), estate.butler)


def test_the_reply_clock_stops_while_waiting_on_the_resident(desk, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=10))
    desk.fire(ticket_id, "wait_resident", "butler", note="Resident abroad")
    paused = deadline(ticket_id, "reply")
    assert (paused.status, paused.due_at, paused.remaining_seconds) == (
        "paused", None, 38 * 3600)

    clock.shift(timedelta(hours=100))  # far past the original due time
    assert sweeper.sweep() == 0
    desk.fire(ticket_id, "resume", "resident")
    resumed = deadline(ticket_id, "reply")
    assert (resumed.seq, resumed.status, resumed.due_at, resumed.remaining_seconds) == (
        1, "running", T0 + timedelta(hours=110 + 38), None)

    clock.shift(timedelta(hours=37, minutes=59))
    assert sweeper.sweep() == 0
    clock.shift(timedelta(minutes=1))
    assert sweeper.sweep() == 1
    assert [(d.deadline.name, d.missed_at) for d in deductions()] == [
        ("reply", T0 + timedelta(hours=148))]


def test_each_wait_keeps_only_what_was_left(desk, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    for _ in range(3):  # 10 h running, then 5 h waiting, three times over
        clock.shift(timedelta(hours=10))
        desk.fire(ticket_id, "wait_resident", "butler", note="Waiting")
        clock.shift(timedelta(hours=5))
        desk.fire(ticket_id, "resume", "butler")
    assert deadline(ticket_id, "reply").due_at == T0 + timedelta(hours=45 + 18)


def test_a_reply_due_before_the_wait_is_recorded_when_the_butler_starts_waiting(
        desk, estate, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=49))
    desk.fire(ticket_id, "wait_resident", "butler", note="Resident abroad")
    assert [(d.deadline.name, d.missed_at) for d in deductions()] == [
        ("reply", T0 + timedelta(hours=48))]


def test_a_missed_promise_is_its_own_minus_five_at_the_promised_time(
        desk, estate, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=20))
    promised = T0 + timedelta(hours=30)
    desk.fire(ticket_id, "progress_update", "butler", note="Parts ordered", promised_at=promised)
    clock.move_to(promised + timedelta(minutes=1))
    assert sweeper.sweep() == 1
    [deduction] = deductions()
    assert (deduction.deadline.name, deduction.deadline.seq, deduction.points, deduction.article,
            deduction.missed_at, deduction.butler_id) == (
        "reply", 2, -5, 10, promised, estate.butler)


def test_a_kept_promise_meets_the_rearmed_deadline(desk, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=40))
    desk.fire(ticket_id, "progress_update", "butler", note="Parts ordered",
              promised_at=T0 + timedelta(hours=80))
    clock.shift(timedelta(hours=39))  # hour 79: past the first 48 h, before the promise
    desk.fire(ticket_id, "reply", "butler", note="Repaired")
    assert [d.status for d in all_deadlines(ticket_id, "reply")] == ["met", "met"]
    clock.shift(timedelta(days=10))
    assert sweeper.sweep() == 0


def test_every_progress_update_rearms_the_reply_again(desk, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    for hour in (10, 40, 70):
        clock.move_to(T0 + timedelta(hours=hour))
        desk.fire(ticket_id, "progress_update", "butler", note="Still on it",
                  promised_at=T0 + timedelta(hours=hour + 40))
    assert [(d.seq, d.status, d.due_at) for d in all_deadlines(ticket_id, "reply")] == [
        (1, "met", T0 + timedelta(hours=48)),
        (2, "met", T0 + timedelta(hours=50)),
        (3, "met", T0 + timedelta(hours=80)),
        (4, "running", T0 + timedelta(hours=110)),
    ]
    assert deductions() == []


def test_a_progress_update_after_the_due_time_records_the_miss_first(
        desk, estate, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=50))
    desk.fire(ticket_id, "progress_update", "butler", note="Sorry, parts delayed",
              promised_at=T0 + timedelta(hours=60))
    assert [(d.deadline.seq, d.missed_at) for d in deductions()] == [
        (1, T0 + timedelta(hours=48))]
    assert [(d.seq, d.status) for d in all_deadlines(ticket_id, "reply")] == [
        (1, "missed"), (2, "running")]


# -- the responsible butler -----------------------------------------------------------------------

def test_a_miss_after_a_reassignment_is_charged_to_the_new_assignee(
        desk, estate, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=1))
    desk.fire(ticket_id, "reassign", "supervisor", assignee_id=estate.relief_butler)
    clock.shift(timedelta(hours=48))
    assert sweeper.sweep() == 1
    assert [d.butler_id for d in deductions()] == [estate.relief_butler]


def test_a_miss_before_an_unswept_reassignment_stays_with_the_original_butler(
        desk, estate, complaint_in, clock):
    ticket_id = complaint_in("accepted")
    clock.shift(timedelta(hours=49))
    desk.fire(ticket_id, "reassign", "supervisor", assignee_id=estate.relief_butler)
    assert [d.butler_id for d in deductions()] == [estate.butler]
    assert sweeper.sweep() == 0

