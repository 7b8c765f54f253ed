"""The sweeper: every deadline that passed unmet becomes exactly one deduction.

It records each due deadline once, with the due time that passed (not the time of the sweep) and
against the butler who held the ticket at the miss; it leaves met, paused and not-yet-due
deadlines alone; after downtime one sweep catches up on every miss, each with its own due time;
and it finds due deadlines through the partial index, so its cost follows the deadlines due.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, inspect, select, update

from models import Deadline, DeadlineStatus, Deduction, Event, Ticket, db
from tests.conftest import T0
from workflows import deadlines, sweeper

MISSED, RUNNING = DeadlineStatus.MISSED, DeadlineStatus.RUNNING


def fresh():
    """End the test's read transaction so the next query sees what other sessions wrote."""
    db.session.commit()
    db.session.expire_all()


def all_deductions() -> list[Deduction]:
    fresh()
    return list(db.session.scalars(select(Deduction).order_by(Deduction.missed_at, Deduction.id)))


def deadline_rows(ticket_id: int, name: str | None = None) -> list[Deadline]:
    query = select(Deadline).where(Deadline.ticket_id == ticket_id)
    if name is not None:
        query = query.where(Deadline.name == name)
    return list(db.session.scalars(query.order_by(Deadline.name, Deadline.seq)))


def summary(deductions) -> list[tuple]:
    """(ticket, deadline name, seq, missed_at, butler, points, article) of each deduction."""
    return sorted(
        (d.ticket_id, d.deadline.name, d.deadline.seq, d.missed_at, d.butler_id, d.points,
         d.article)
        for d in deductions
    )


# -- one sweep ------------------------------------------------------------------------------------

def test_a_sweep_records_each_due_deadline_once_at_its_due_time(desk, estate, clock):
    east = desk.open("resident", "repair")
    west = desk.open("west_resident", "repair", title="Lift stuck")

    clock.shift(timedelta(minutes=25))
    assert sweeper.sweep() == 2

    deductions = all_deductions()
    assert summary(deductions) == [
        (east.id, "on_site", 1, T0 + timedelta(minutes=20), estate.butler, -2, 4),
        (west.id, "on_site", 1, T0 + timedelta(minutes=20), estate.other_butler, -2, 4),
    ]
    assert {d.recorded_at for d in deductions} == {T0 + timedelta(minutes=25)}
    for ticket in (east, west):
        [on_site] = deadline_rows(ticket.id, "on_site")
        [completion] = deadline_rows(ticket.id, "completion")
        assert on_site.status == MISSED
        assert completion.status == RUNNING  # due in 24 h: not touched
        assert completion.due_at == T0 + timedelta(hours=24)


def test_the_deduction_goes_to_the_assignee_at_the_miss(desk, estate, clock):
    ticket = desk.open("resident", "repair")
    desk.fire(ticket, "reassign", "supervisor", assignee_id=estate.relief_butler)

    clock.shift(timedelta(minutes=21))
    assert sweeper.sweep() == 1

    [deduction] = all_deductions()
    assert deduction.butler_id == estate.relief_butler
    assert deduction.missed_at == T0 + timedelta(minutes=20)


def test_an_unassigned_ticket_charges_the_butler_of_its_area(desk, estate, clock):
    ticket = desk.open("west_resident", "complaint", title="Noise at night")
    # The engine always assigns a new ticket; a ticket may still be unassigned (imported data).
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(assignee_id=None))
    db.session.commit()

    clock.shift(timedelta(hours=49))
    assert sweeper.sweep() == 1

    [deduction] = all_deductions()
    assert (deduction.butler_id, deduction.points, deduction.article) == (
        estate.other_butler, -5, 10)
    assert deduction.missed_at == T0 + timedelta(hours=48)


def test_nothing_due_records_nothing(desk, clock):
    assert sweeper.sweep() == 0  # not a ticket in the database

    ticket = desk.open("resident", "repair")
    clock.shift(timedelta(minutes=19, seconds=59))
    assert sweeper.sweep() == 0

    assert all_deductions() == []
    assert {d.status for d in deadline_rows(ticket.id)} == {RUNNING}


def test_a_deadline_due_exactly_now_is_missed(desk, clock):
    desk.open("resident", "repair")
    clock.shift(timedelta(minutes=20))
    assert sweeper.sweep() == 1


def test_a_second_sweep_adds_nothing(desk, clock):
    desk.open("resident", "repair")
    desk.open("neighbour", "complaint", title="Dog barking")
    clock.shift(timedelta(hours=50))

    assert sweeper.sweep() == 3  # repair: on_site, completion; complaint: reply
    first = summary(all_deductions())
    assert sweeper.sweep() == 0
    clock.shift(timedelta(minutes=1))
    assert sweeper.sweep() == 0
    assert summary(all_deductions()) == first


def test_met_and_paused_deadlines_are_left_alone(desk, clock):
    repair = desk.open("resident", "repair")
    desk.fire(repair, "dispatch", "butler", technician_id=desk.estate.technician)
    clock.shift(timedelta(minutes=15))
    desk.fire(repair, "arrive", "technician")
    desk.fire(repair, "complete", "technician")

    complaint = desk.open("resident", "complaint", title="Smell in the stairwell")
    desk.fire(complaint, "accept", "butler")
    desk.fire(complaint, "wait_resident", "butler", note="Resident abroad until next month")

    clock.shift(timedelta(days=1, hours=1))  # follow-up of the repair (48 h) still running
    assert sweeper.sweep() == 0
    assert all_deductions() == []
    statuses = {(d.name, d.status) for d in deadline_rows(repair.id) + deadline_rows(complaint.id)}
    assert statuses == {("on_site", "met"), ("completion", "met"), ("follow_up", "running"),
                        ("reply", "paused")}


def test_a_miss_already_recorded_by_the_engine_is_not_recorded_again(desk, estate, clock):
    ticket = desk.open("resident", "repair")
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    clock.shift(timedelta(minutes=25))
    desk.fire(ticket, "arrive", "technician")  # late: the engine records the miss itself

    assert len(all_deductions()) == 1
    assert sweeper.sweep() == 0
    assert len(all_deductions()) == 1


def test_a_sweep_writes_a_timeline_event_at_the_due_time(desk, clock):
    ticket = desk.open("resident", "repair")
    clock.shift(timedelta(hours=2))
    sweeper.sweep()

    fresh()
    [missed] = db.session.scalars(select(Event).where(Event.ticket_id == ticket.id,
                                                      Event.trigger == deadlines.MISS_TRIGGER))
    assert missed.at == T0 + timedelta(minutes=20)
    assert missed.actor_id is None
    assert (missed.from_state, missed.to_state) == ("reported", "reported")
    assert missed.data["deadline"] == "on_site"
    assert missed.data["points"] == -2


# -- downtime -------------------------------------------------------------------------------------

def _renovation_in_progress(desk):
    permit = desk.open("resident", "renovation", title="Kitchen renovation")
    desk.fire(permit, "approve", "butler")
    desk.fire(permit, "start_works", "resident")
    return permit


def test_one_sweep_after_three_days_of_downtime_records_every_miss_with_its_own_due_time(
        desk, estate, clock):
    permit = _renovation_in_progress(desk)
    repair = desk.open("resident", "repair")
    complaint = desk.open("neighbour", "complaint", title="Water from upstairs")

    clock.shift(timedelta(days=3))  # the server was down: no sweep ran
    assert sweeper.sweep() == 6

    deductions = all_deductions()
    day = timedelta(hours=24)
    assert summary(deductions) == sorted([
        (permit.id, "inspection", 1, T0 + day, estate.butler, -2, 6),
        (permit.id, "inspection", 2, T0 + 2 * day, estate.butler, -2, 6),
        (permit.id, "inspection", 3, T0 + 3 * day, estate.butler, -2, 6),
        (repair.id, "on_site", 1, T0 + timedelta(minutes=20), estate.butler, -2, 4),
        (repair.id, "completion", 1, T0 + day, estate.butler, -2, 4),
        (complaint.id, "reply", 1, T0 + 2 * day, estate.butler, -5, 10),
    ])
    assert {d.recorded_at for d in deductions} == {T0 + timedelta(days=3)}

    # The daily inspection: each missed day its own row, each period armed when the last fell due.
    inspections = deadline_rows(permit.id, "inspection")
    assert [(d.seq, d.status, d.armed_at, d.due_at) for d in inspections] == [
        (1, MISSED, T0, T0 + day),
        (2, MISSED, T0 + day, T0 + 2 * day),
        (3, MISSED, T0 + 2 * day, T0 + 3 * day),
        (4, RUNNING, T0 + 3 * day, T0 + 4 * day),
    ]
    assert sweeper.sweep() == 0


def test_catch_up_in_small_batches_records_the_same_misses(desk, clock):
    permit = _renovation_in_progress(desk)
    desk.open("resident", "repair")
    desk.open("neighbour", "complaint", title="Water from upstairs")

    clock.shift(timedelta(days=3))
    assert sweeper.sweep(batch_size=2) == 6
    assert [d.status for d in deadline_rows(permit.id, "inspection")] == [
        MISSED, MISSED, MISSED, RUNNING]
    assert sweeper.sweep(batch_size=2) == 0


def test_the_fourth_day_of_a_renovation_is_missed_by_the_next_sweep_only(desk, clock):
    permit = _renovation_in_progress(desk)
    clock.shift(timedelta(days=3))
    assert sweeper.sweep() == 3

    clock.shift(timedelta(hours=23, minutes=59))
    assert sweeper.sweep() == 0
    clock.shift(timedelta(minutes=1))
    assert sweeper.sweep() == 1
    latest = [d.missed_at for d in all_deductions() if d.ticket_id == permit.id][-1]
    assert latest == T0 + timedelta(days=4)


# -- the command line -----------------------------------------------------------------------------

def test_the_sweep_command_prints_how_many_it_recorded(desk, runner, clock):
    _renovation_in_progress(desk)
    desk.open("resident", "repair")
    db.session.commit()  # no read transaction of ours stays open while the command writes

    clock.shift(timedelta(days=3))
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert result.output == "Recorded 5 missed deadline(s).\n"

    again = runner.invoke(args=["sweep"])
    assert again.output == "Recorded 0 missed deadline(s).\n"
    assert len(all_deductions()) == 5


# -- cost -----------------------------------------------------------------------------------------

def test_the_sweeper_finds_due_deadlines_through_the_partial_index(desk, clock):
    """The candidate query is served by ix_deadlines_running_due, not by scanning every row.

    The statement is captured as the sweeper really sends it (with its bound parameters), then
    SQLite is asked how it would run it.
    """
    for n in range(3):
        desk.open("resident", "repair", f"Tap {n}")
    clock.shift(timedelta(minutes=30))

    captured = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().startswith("SELECT") and "FROM deadlines" in statement:
            captured.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert sweeper.sweep() == 3
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    candidates = [(s, p) for s, p in captured if "due_at <=" in s]
    assert candidates, captured
    statement, parameters = candidates[0]
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        details = " ".join(row[-1] for row in plan)
        assert "USING INDEX ix_deadlines_running_due" in details, details
        assert "SCAN deadlines" not in details, details
        assert "TEMP B-TREE" not in details, details  # the index gives due order, no sort
    else:
        # A handful of rows: PostgreSQL would rightly scan them, so ask whether it *can* use it.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
        details = " ".join(plan)
        assert "ix_deadlines_running_due" in details, details
        assert "Sort" not in details, details


def test_the_sweep_index_holds_only_running_deadlines(ctx):
    index = next(i for i in inspect(db.engine).get_indexes("deadlines")
                 if i["name"] == "ix_deadlines_running_due")
    assert index["column_names"] == ["due_at"]
    where = index["dialect_options"].get(f"{db.engine.dialect.name}_where")
    assert "status" in str(where) and "running" in str(where)
