"""Repairs (报修) through the engine: every transition, every refusal and every deadline.

A repair goes reported → dispatched → on_site → completed → visited → closed. The resident may
cancel before the technician is on site and reopen within 7 days of completion. Deadlines: on
site within 20 minutes of the call, completed within 24 hours of it (零修事不过夜), both -2 under
art. 4; the follow-up visit within 48 hours of completion, -2 under art. 2.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import Deadline, DeadlineStatus, Ticket, db
from tests.helpers import deadline, deductions, events, fresh, refused
from workflows import clock as the_clock
from workflows import engine, sweeper
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound, StaleVersion

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)  # where the `clock` fixture stops time

# The happy path, one step per state: (trigger, who, data as a function of the estate).
PATH = [
    ("dispatch", "butler", lambda e: {"technician_id": e.technician}),
    ("arrive", "technician", lambda e: {}),
    ("complete", "technician", lambda e: {}),
    ("visit", "butler", lambda e: {"rating": 5}),
    ("close", "butler", lambda e: {}),
]
STATES = ["reported", "dispatched", "on_site", "completed", "visited", "closed"]


# -- helpers --------------------------------------------------------------------------------------

def walk(desk, estate, ticket_id: int, state: str) -> None:
    """Move a repair along the happy path until it is in `state`."""
    for trigger, who, data in PATH[:STATES.index(state)]:
        desk.fire(ticket_id, trigger, who, **data(estate))


@pytest.fixture
def repair(desk, clock) -> int:
    """A repair the resident of unit_a reported at T0."""
    return desk.open("resident", "repair", "Kitchen tap leaking").id


@pytest.fixture
def repair_in(desk, estate, repair):
    """A repair walked along the happy path to the given state."""
    def make(state: str) -> int:
        walk(desk, estate, repair, state)
        return repair
    return make


# -- registration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who, unit, resident, butler", [
    ("resident", None, "resident", "butler"),
    ("west_resident", None, "west_resident", "other_butler"),
    ("butler", "unit_b", "neighbour", "butler"),
    ("butler", "unit_w", "west_resident", "other_butler"),
    ("supervisor", "unit_a", "resident", "butler"),
])
def test_a_new_repair_is_assigned_at_once_to_the_butler_of_the_units_area(
        desk, estate, clock, who, unit, resident, butler):
    kwargs = {"unit_id": getattr(estate, unit)} if unit else {}
    ticket = fresh(desk.open(who, "repair", "Door lock broken", **kwargs).id)
    assert ticket.assignee_id == getattr(estate, butler)
    assert ticket.resident_id == getattr(estate, resident)
    assert (ticket.state, ticket.version, ticket.created_by_id) == (
        "reported", 1, getattr(estate, who))
    assert [(e.trigger, e.from_state, e.to_state) for e in events(ticket.id)] == [
        ("create", None, "reported")]


def test_a_new_repair_arms_on_site_and_completion_from_the_time_of_the_call(repair):
    assert (deadline(repair, "on_site").status, deadline(repair, "on_site").due_at) == (
        DeadlineStatus.RUNNING, T0 + timedelta(minutes=20))
    assert deadline(repair, "completion").due_at == T0 + timedelta(hours=24)
    assert deadline(repair, "follow_up") is None


def test_a_technician_may_not_register_a_repair(desk, estate, clock):
    with pytest.raises(Forbidden):
        desk.open("technician", "repair", "Found a leak", unit_id=estate.unit_a)
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_resident_registers_for_their_own_unit_only(desk, estate, clock):
    with pytest.raises(Forbidden):
        desk.open("resident", "repair", "Neighbour's pipe", unit_id=estate.unit_b)
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


# -- transitions ----------------------------------------------------------------------------------

def test_the_happy_path_goes_from_reported_to_closed(desk, estate, repair, clock):
    for (trigger, who, data), expected in zip(PATH, STATES[1:], strict=False):
        clock.shift(timedelta(minutes=5))
        ticket = desk.fire(repair, trigger, who, **data(estate))
        assert ticket.state == expected

    ticket = fresh(repair)
    assert (ticket.state, ticket.version, ticket.technician_id, ticket.rating) == (
        "closed", 6, estate.technician, 5)
    assert [(e.trigger, e.from_state, e.to_state, e.actor_id) for e in events(repair)] == [
        ("create", None, "reported", estate.resident),
        ("dispatch", "reported", "dispatched", estate.butler),
        ("arrive", "dispatched", "on_site", estate.technician),
        ("complete", "on_site", "completed", estate.technician),
        ("visit", "completed", "visited", estate.butler),
        ("close", "visited", "closed", estate.butler),
    ]
    assert {d.name: d.status for d in db.session.scalars(select(Deadline))} == {
        "on_site": "met", "completion": "met", "follow_up": "met"}
    clock.shift(timedelta(days=30))
    assert sweeper.sweep() == 0
    assert deductions() == []


def test_the_butler_may_record_arrival_and_completion_for_the_technician(desk, estate, repair):
    desk.fire(repair, "dispatch", "butler", technician_id=estate.technician)
    assert desk.fire(repair, "arrive", "butler").state == "on_site"
    assert desk.fire(repair, "complete", "butler").state == "completed"


def test_the_supervisor_may_dispatch_and_close(desk, estate, repair):
    desk.fire(repair, "dispatch", "supervisor", technician_id=estate.other_technician)
    assert fresh(repair).technician_id == estate.other_technician
    desk.fire(repair, "arrive", "other_technician")
    desk.fire(repair, "complete", "other_technician")
    desk.fire(repair, "visit", "butler", rating="4")  # a form sends text
    assert fresh(repair).rating == 4
    assert desk.fire(repair, "close", "supervisor").state == "closed"


@pytest.mark.parametrize("state", ["reported", "dispatched"])
@pytest.mark.parametrize("who", ["resident", "butler"])
def test_a_repair_may_be_cancelled_before_anyone_is_on_site(desk, repair_in, clock, state, who):
    ticket_id = repair_in(state)
    clock.shift(timedelta(minutes=5))
    assert desk.fire(ticket_id, "cancel", who, reason="Fixed it myself").state == "cancelled"
    assert events(ticket_id)[-1].data == {"reason": "Fixed it myself"}
    assert {d.status for d in db.session.scalars(select(Deadline))} == {"cancelled"}
    clock.shift(timedelta(days=3))
    assert sweeper.sweep() == 0
    assert deductions() == []


def test_cancel_needs_a_reason_because_it_stops_the_clocks(desk, repair):
    error = refused(repair, InvalidData, lambda: desk.fire(repair, "cancel", "butler"))
    assert error.fields == {"reason": "is required"}
    assert desk.fire(repair, "cancel", "resident", reason="Fixed it myself").state == "cancelled"


@pytest.mark.parametrize("state", ["completed", "visited", "closed"])
@pytest.mark.parametrize("who", ["resident", "butler"])
def test_a_repair_may_be_reopened_within_seven_days_of_completion_with_a_reason(
        desk, repair_in, clock, state, who):
    ticket_id = repair_in(state)
    clock.shift(timedelta(days=6))
    now = T0 + timedelta(days=6)
    assert desk.fire(ticket_id, "reopen", who, reason="Still dripping").state == "reported"
    assert events(ticket_id)[-1].data == {"reason": "Still dripping"}
    # The repair starts over: fresh clocks from the reopening, and no follow-up is left running.
    assert (deadline(ticket_id, "on_site").seq, deadline(ticket_id, "on_site").due_at) == (
        2, now + timedelta(minutes=20))
    assert deadline(ticket_id, "completion").due_at == now + timedelta(hours=24)
    assert deadline(ticket_id, "follow_up").status not in ("running", "paused")


def test_reopening_from_completed_voids_the_running_follow_up(desk, repair_in, clock):
    ticket_id = repair_in("completed")
    desk.fire(ticket_id, "reopen", "resident", reason="Still dripping")
    assert deadline(ticket_id, "follow_up").status == "cancelled"
    clock.shift(timedelta(hours=49))
    sweeper.sweep()
    assert [d.deadline.name for d in deductions(ticket_id)] == ["on_site", "completion"]


def test_reopening_is_possible_on_the_seventh_day_itself(desk, repair_in, clock):
    ticket_id = repair_in("closed")
    clock.shift(timedelta(days=7))
    assert desk.fire(ticket_id, "reopen", "resident", reason="Leaks again").state == "reported"


@pytest.mark.parametrize("state", ["completed", "visited", "closed"])
def test_reopening_after_seven_days_is_refused_with_409(desk, repair_in, clock, state):
    ticket_id = repair_in(state)
    clock.shift(timedelta(days=7, minutes=1))
    error = refused(ticket_id, Conflict,
                    lambda: desk.fire(ticket_id, "reopen", "resident", reason="Leaks again"))
    assert error.status == 409
    assert "7 days" in error.message and "completed" in error.message


def test_the_reopen_window_runs_from_the_latest_completion(desk, estate, repair_in, clock):
    ticket_id = repair_in("closed")
    clock.shift(timedelta(days=5))
    desk.fire(ticket_id, "reopen", "resident", reason="Leaks again")
    walk(desk, estate, ticket_id, "completed")
    clock.shift(timedelta(days=6))  # 11 days after the first completion, 6 after the second
    assert desk.fire(ticket_id, "reopen", "resident", reason="And again").state == "reported"


def test_the_supervisor_reassigns_the_repair_without_changing_its_state(
        desk, estate, repair_in):
    ticket_id = repair_in("dispatched")
    desk.fire(ticket_id, "reassign", "supervisor", assignee_id=estate.relief_butler)
    ticket = fresh(ticket_id)
    assert (ticket.state, ticket.assignee_id, ticket.version) == (
        "dispatched", estate.relief_butler, 3)
    last = events(ticket_id)[-1]
    assert (last.trigger, last.from_state, last.to_state, last.data) == (
        "reassign", "dispatched", "dispatched", {"assignee_id": estate.relief_butler})
    # The new assignee sees the ticket (they have no area of their own) and may act on it.
    assert desk.fire(ticket_id, "arrive", "relief_butler").state == "on_site"


def test_a_redispatched_repair_is_hidden_from_the_first_technician(desk, estate, repair_in):
    ticket_id = repair_in("completed")
    desk.fire(ticket_id, "reopen", "resident", reason="Still dripping")
    desk.fire(ticket_id, "dispatch", "butler", technician_id=estate.other_technician)
    refused(ticket_id, NotFound, lambda: desk.fire(ticket_id, "arrive", "technician"))
    assert desk.fire(ticket_id, "arrive", "other_technician").state == "on_site"


def test_allowed_triggers_follow_state_and_role(desk, estate, repair_in):
    ticket_id = repair_in("dispatched")

    def names(who):
        return [t.name for t in engine.allowed_triggers(fresh(ticket_id), estate.user(who))]

    assert names("resident") == ["cancel", "nudge"]
    assert names("technician") == ["arrive"]
    assert sorted(names("butler")) == ["arrive", "cancel"]
    assert names("supervisor") == ["reassign"]


# -- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, who, trigger, data", [
    ("reported", "resident", "dispatch", lambda e: {"technician_id": e.technician}),
    ("reported", "supervisor", "cancel", lambda e: {}),
    ("reported", "butler", "reassign", lambda e: {"assignee_id": e.relief_butler}),
    ("dispatched", "technician", "cancel", lambda e: {}),
    ("dispatched", "supervisor", "arrive", lambda e: {}),
    ("dispatched", "resident", "arrive", lambda e: {}),
    ("on_site", "resident", "complete", lambda e: {}),
    ("completed", "technician", "visit", lambda e: {"rating": 5}),
    ("completed", "resident", "visit", lambda e: {"rating": 5}),
    ("visited", "resident", "close", lambda e: {}),
    ("visited", "technician", "reopen", lambda e: {"reason": "Not done"}),
])
def test_a_trigger_fired_by_the_wrong_role_is_forbidden(
        desk, estate, repair_in, state, who, trigger, data):
    ticket_id = repair_in(state)
    error = refused(ticket_id, Forbidden,
                    lambda: desk.fire(ticket_id, trigger, who, **data(estate)))
    assert error.status == 403
    assert trigger in error.message


@pytest.mark.parametrize("state, who, trigger", [
    ("reported", "neighbour", "cancel"),
    ("reported", "west_resident", "cancel"),
    ("reported", "other_butler", "cancel"),
    ("reported", "relief_butler", "cancel"),
    ("reported", "technician", "arrive"),          # not dispatched yet
    ("dispatched", "other_technician", "arrive"),  # dispatched to someone else
])
def test_a_ticket_outside_the_actors_reach_is_not_found(desk, repair_in, state, who, trigger):
    ticket_id = repair_in(state)
    error = refused(ticket_id, NotFound, lambda: desk.fire(ticket_id, trigger, who))
    assert error.status == 404


def test_the_butler_who_took_the_call_follows_it_in_another_area(desk, estate, clock):
    """首问负责制: the ticket goes to the West butler, and the East butler who registered it
    still sees it and may act on it."""
    ticket = desk.open("butler", "repair", "Lift stuck", unit_id=estate.unit_w)
    assert ticket.assignee_id == estate.other_butler
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    assert fresh(ticket.id).state == "dispatched"


def test_an_unknown_ticket_is_not_found(desk, estate, repair):
    with pytest.raises(NotFound):
        engine.fire(repair + 1000, "cancel", estate.user("resident"), 1)


@pytest.mark.parametrize("version", [0, 2, "0"])
def test_a_stale_version_is_refused_with_409(desk, estate, repair, version):
    error = refused(repair, StaleVersion, lambda: engine.fire(
        repair, "dispatch", estate.user("butler"), version, technician_id=estate.technician))
    assert error.status == 409 and error.code == "stale_version"


def test_the_version_read_after_a_step_is_stale_after_the_next(desk, estate, repair):
    read = fresh(repair).version
    desk.fire(repair, "dispatch", "butler", technician_id=estate.technician)
    refused(repair, StaleVersion,
            lambda: engine.fire(repair, "cancel", estate.user("resident"), read))


def test_a_reassignment_to_the_butler_who_has_it_is_refused_as_changing_nothing(
        desk, estate, repair):
    error = refused(repair, Conflict, lambda: desk.fire(
        repair, "reassign", "supervisor", assignee_id=estate.butler))
    assert "would change nothing" in error.message


def test_a_missing_version_is_invalid(desk, estate, repair):
    error = refused(repair, InvalidData,
                    lambda: engine.fire(repair, "cancel", estate.user("resident"), None))
    assert "version" in error.fields


@pytest.mark.parametrize("state, who, trigger, data, possible", [
    ("reported", "butler", "close", {}, ["dispatch", "cancel"]),
    ("reported", "resident", "reopen", {"reason": "x"}, ["cancel"]),
    ("dispatched", "technician", "complete", {}, ["arrive"]),
    ("on_site", "resident", "cancel", {}, ["nudge"]),
    ("completed", "butler", "complete", {}, ["visit", "reopen"]),
    ("closed", "butler", "visit", {"rating": 5}, ["reopen"]),
    ("closed", "supervisor", "reassign", {}, []),
])
def test_a_trigger_not_possible_in_the_state_is_a_conflict_naming_state_and_options(
        desk, repair_in, state, who, trigger, data, possible):
    ticket_id = repair_in(state)
    error = refused(ticket_id, Conflict, lambda: desk.fire(ticket_id, trigger, who, **data))
    assert not isinstance(error, StaleVersion)
    assert error.status == 409
    assert f"'{state}'" in error.message
    offered = error.message.split("possible now:")[1]
    for name in possible:
        assert name in offered
    if not possible:
        assert "nothing" in offered


@pytest.mark.parametrize("state, who, trigger, data, field", [
    ("reported", "butler", "dispatch", lambda e: {}, "technician_id"),
    ("reported", "butler", "dispatch", lambda e: {"technician_id": 999_999}, "technician_id"),
    ("reported", "butler", "dispatch", lambda e: {"technician_id": e.butler}, "technician_id"),
    ("reported", "butler", "dispatch", lambda e: {"technician_id": "abc"}, "technician_id"),
    ("reported", "butler", "dispatch",
     lambda e: {"technician_id": e.technician, "rating": 5}, "rating"),
    ("reported", "butler", "teleport", lambda e: {}, "trigger"),
    ("completed", "butler", "visit", lambda e: {}, "rating"),
    ("completed", "butler", "visit", lambda e: {"rating": 0}, "rating"),
    ("completed", "butler", "visit", lambda e: {"rating": 6}, "rating"),
    ("completed", "butler", "visit", lambda e: {"rating": "x"}, "rating"),
    ("completed", "butler", "visit", lambda e: {"rating": 2.5}, "rating"),
    ("completed", "resident", "reopen", lambda e: {}, "reason"),
    ("completed", "resident", "reopen", lambda e: {"reason": ""}, "reason"),
    ("completed", "resident", "reopen", lambda e: {"reason": "   "}, "reason"),
    ("completed", "resident", "reopen", lambda e: {"reason": "x" * 2001}, "reason"),
    ("reported", "supervisor", "reassign", lambda e: {}, "assignee_id"),
    ("reported", "supervisor", "reassign", lambda e: {"assignee_id": 999_999}, "assignee_id"),
    ("reported", "supervisor", "reassign", lambda e: {"assignee_id": e.resident}, "assignee_id"),
])
def test_missing_or_invalid_data_is_refused_naming_the_field(
        desk, estate, repair_in, state, who, trigger, data, field):
    ticket_id = repair_in(state)
    error = refused(ticket_id, InvalidData,
                    lambda: desk.fire(ticket_id, trigger, who, **data(estate)))
    assert error.status == 422
    assert field in error.fields


def test_a_refusal_after_a_due_time_leaves_the_miss_to_be_recorded_once(desk, repair, clock):
    clock.shift(timedelta(minutes=25))
    refused(repair, Conflict, lambda: desk.fire(repair, "close", "butler"))
    assert deadline(repair, "on_site").status == "running"
    assert sweeper.sweep() == 1
    assert [d.missed_at for d in deductions()] == [T0 + timedelta(minutes=20)]


# -- deadlines ------------------------------------------------------------------------------------

def test_arriving_in_time_meets_the_on_site_deadline(desk, estate, repair, clock):
    desk.fire(repair, "dispatch", "butler", technician_id=estate.technician)
    clock.shift(timedelta(minutes=19, seconds=59))
    desk.fire(repair, "arrive", "technician")
    on_site = deadline(repair, "on_site")
    assert (on_site.status, on_site.closed_at) == ("met", T0 + timedelta(minutes=19, seconds=59))
    clock.shift(timedelta(hours=1))
    assert sweeper.sweep() == 0
    assert deductions() == []


def test_the_sweeper_records_the_miss_at_the_due_time_not_a_second_before(repair, clock):
    clock.shift(timedelta(minutes=19, seconds=59))
    assert sweeper.sweep() == 0
    clock.shift(timedelta(seconds=1))
    assert sweeper.sweep() == 1
    assert deadline(repair, "on_site").status == "missed"


def go_to_completion_miss(desk, estate, ticket_id, clock):
    desk.fire(ticket_id, "dispatch", "butler", technician_id=estate.technician)
    clock.shift(timedelta(minutes=10))
    desk.fire(ticket_id, "arrive", "technician")
    clock.move_to(T0 + timedelta(hours=25))
    return T0 + timedelta(hours=24)


def go_to_follow_up_miss(desk, estate, ticket_id, clock):
    desk.fire(ticket_id, "dispatch", "butler", technician_id=estate.technician)
    clock.shift(timedelta(minutes=10))
    desk.fire(ticket_id, "arrive", "technician")
    clock.shift(timedelta(hours=2))
    desk.fire(ticket_id, "complete", "technician")
    clock.shift(timedelta(hours=48, minutes=5))
    return T0 + timedelta(hours=2, minutes=10) + timedelta(hours=48)


def go_to_on_site_miss(desk, estate, ticket_id, clock):
    clock.shift(timedelta(minutes=21))
    return T0 + timedelta(minutes=20)


@pytest.mark.parametrize("name, setup, points, article", [
    ("on_site", go_to_on_site_miss, -2, 4),
    ("completion", go_to_completion_miss, -2, 4),
    ("follow_up", go_to_follow_up_miss, -2, 2),
])
def test_a_missed_deadline_is_one_deduction_for_the_assignee_at_its_due_time(
        desk, estate, repair, clock, name, setup, points, article):
    due = setup(desk, estate, repair, clock)
    assert sweeper.sweep() == 1
    assert sweeper.sweep() == 0
    [deduction] = deductions()
    assert (deduction.deadline.name, deduction.points, deduction.article) == (name, points, article)
    assert (deduction.missed_at, deduction.butler_id, deduction.ticket_id) == (
        due, estate.butler, repair)
    assert deadline(repair, name).status == "missed"
    miss = events(repair)[-1]
    assert (miss.trigger, miss.actor_id, miss.at, miss.note) == ("deadline_missed", None, due, "")
    assert miss.from_state == miss.to_state == fresh(repair).state
    assert miss.data == {"deadline": name, "seq": 1, "points": points, "article": article,
                         "butler_id": estate.butler, "covering_for_id": None,
                         "recorded_at": the_clock.now().isoformat()}


def test_a_late_arrival_records_the_miss_at_once_and_a_later_sweep_adds_nothing(
        desk, estate, repair, clock):
    desk.fire(repair, "dispatch", "butler", technician_id=estate.technician)
    clock.shift(timedelta(minutes=25))
    assert desk.fire(repair, "arrive", "technician").state == "on_site"

    [deduction] = deductions()
    assert (deduction.deadline.name, deduction.points, deduction.article) == ("on_site", -2, 4)
    assert (deduction.missed_at, deduction.recorded_at, deduction.butler_id) == (
        T0 + timedelta(minutes=20), T0 + timedelta(minutes=25), estate.butler)
    on_site = deadline(repair, "on_site")
    assert (on_site.status, on_site.closed_at) == ("missed", T0 + timedelta(minutes=25))
    assert [e.trigger for e in events(repair)] == [
        "create", "dispatch", "deadline_missed", "arrive"]
    assert sweeper.sweep() == 0
    assert len(deductions()) == 1


def test_a_late_completion_is_recorded_at_once(desk, estate, repair, clock):
    desk.fire(repair, "dispatch", "butler", technician_id=estate.technician)
    clock.shift(timedelta(minutes=5))
    desk.fire(repair, "arrive", "technician")
    clock.move_to(T0 + timedelta(hours=30))
    desk.fire(repair, "complete", "technician")
    assert [(d.deadline.name, d.missed_at) for d in deductions()] == [
        ("completion", T0 + timedelta(hours=24))]
    assert deadline(repair, "follow_up").due_at == T0 + timedelta(hours=30 + 48)
    assert sweeper.sweep() == 0


def test_cancelling_after_the_due_time_still_counts_the_miss(desk, repair, clock):
    clock.shift(timedelta(minutes=30))
    desk.fire(repair, "cancel", "resident", reason="Fixed it myself")
    assert [d.deadline.name for d in deductions()] == ["on_site"]
    assert deadline(repair, "completion").status == "cancelled"


# -- backdated registration (事后补单) -------------------------------------------------------------

def test_a_call_registered_ten_minutes_late_is_due_on_site_ten_minutes_from_now(
        desk, estate, clock):
    ticket = desk.open("butler", "repair", "Burst pipe", unit_id=estate.unit_a,
                       reported_at=T0 - timedelta(minutes=10))
    ticket = fresh(ticket.id)
    assert (ticket.reported_at, ticket.created_at) == (T0 - timedelta(minutes=10), T0)
    assert deadline(ticket.id, "on_site").due_at == T0 + timedelta(minutes=10)
    assert deadline(ticket.id, "completion").due_at == (
        T0 - timedelta(minutes=10) + timedelta(hours=24))
    clock.shift(timedelta(minutes=9, seconds=59))
    assert sweeper.sweep() == 0
    clock.shift(timedelta(seconds=1))
    assert sweeper.sweep() == 1


def test_a_call_registered_thirty_minutes_late_records_the_miss_at_registration(
        desk, estate, clock):
    ticket = desk.open("butler", "repair", "Burst pipe", unit_id=estate.unit_a,
                       reported_at=T0 - timedelta(minutes=30))
    [deduction] = deductions()
    assert (deduction.ticket_id, deduction.deadline.name, deduction.butler_id) == (
        ticket.id, "on_site", estate.butler)
    assert (deduction.missed_at, deduction.recorded_at) == (T0 - timedelta(minutes=10), T0)
    assert deadline(ticket.id, "completion").status == "running"
    assert sweeper.sweep() == 0


def test_reported_at_may_be_given_as_iso_text_in_the_property_zone(desk, estate, clock):
    ticket = desk.open("supervisor", "repair", "Burst pipe", unit_id=estate.unit_a,
                       reported_at="2026-11-16T08:55:00+08:00")
    assert fresh(ticket.id).reported_at == T0 - timedelta(minutes=5)


def test_staff_may_backdate_by_exactly_the_limit(desk, estate, clock):
    ticket = desk.open("butler", "repair", "Burst pipe", unit_id=estate.unit_a,
                       reported_at=T0 - timedelta(days=7))
    assert fresh(ticket.id).reported_at == T0 - timedelta(days=7)


def test_a_resident_may_not_give_the_time_of_the_call(desk, clock):
    with pytest.raises(Forbidden):
        desk.open("resident", "repair", "Tap", reported_at=T0 - timedelta(minutes=10))
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


@pytest.mark.parametrize("reported_at", [
    T0 + timedelta(minutes=1),
    T0 - timedelta(days=7, minutes=1),
    "yesterday",
])
def test_a_call_time_in_the_future_or_beyond_the_limit_is_invalid(
        desk, estate, clock, reported_at):
    with pytest.raises(InvalidData) as caught:
        desk.open("butler", "repair", "Burst pipe", unit_id=estate.unit_a, reported_at=reported_at)
    assert "reported_at" in caught.value.fields
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert db.session.scalar(select(func.count()).select_from(Deadline)) == 0


# -- the responsible butler -----------------------------------------------------------------------

def test_a_miss_after_a_reassignment_is_charged_to_the_new_assignee(desk, estate, repair, clock):
    clock.shift(timedelta(minutes=5))
    desk.fire(repair, "reassign", "supervisor", assignee_id=estate.relief_butler)
    clock.shift(timedelta(minutes=20))
    assert sweeper.sweep() == 1
    assert [(d.deadline.name, d.butler_id) for d in deductions()] == [
        ("on_site", estate.relief_butler)]


def test_a_miss_before_an_unswept_reassignment_stays_with_the_original_butler(
        desk, estate, repair, clock):
    clock.shift(timedelta(minutes=25))  # on_site passed at minute 20; nobody swept
    desk.fire(repair, "reassign", "supervisor", assignee_id=estate.relief_butler)
    assert [(d.deadline.name, d.butler_id) for d in deductions()] == [("on_site", estate.butler)]
    assert fresh(repair).assignee_id == estate.relief_butler

    clock.move_to(T0 + timedelta(hours=24, minutes=1))
    assert sweeper.sweep() == 1
    assert [(d.deadline.name, d.butler_id) for d in deductions()] == [
        ("on_site", estate.butler), ("completion", estate.relief_butler)]
