"""Who is told what, and when: notices as rows, made once, from the rules.

A step tells whom its trigger's `notify` names (never the one who took it); a new ticket tells
its butler; the sweeper warns before a deadline (`warn_before`), escalates a miss up the ladder
and reminds while it stays undone, each exactly once however often it sweeps.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Notice, User, db
from tests.helpers import deadline, refused, told
from workflows import notices, sweeper
from workflows.errors import Conflict
from workflows.rules import current as current_rules


def sweep_twice() -> None:
    sweeper.sweep()
    sweeper.sweep()  # a second sweeper, or the next pass: nothing is told twice


def test_a_new_repair_tells_its_butler_and_not_the_resident_who_sent_it(desk, estate, clock):
    ticket = desk.open("resident").id
    assert told(ticket) == [(f"new:{ticket}", estate.butler)]


def test_a_dispatch_tells_the_technician_and_the_resident(desk, estate, clock):
    ticket = desk.open("resident").id
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    steps = [(key.split(":")[0], person) for key, person in told(ticket)][1:]
    assert steps == [("step", estate.technician), ("step", estate.resident)]


def test_the_follow_up_visit_tells_the_resident_it_is_their_turn_to_rate(desk, estate, clock):
    ticket = desk.open("resident").id
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    desk.fire(ticket, "arrive", "technician")
    desk.fire(ticket, "complete", "technician")
    desk.fire(ticket, "visit", "butler", rating=4)
    last = told(ticket)[-1]
    assert last[1] == estate.resident and last[0].startswith("step:")


def test_the_butler_and_the_technician_are_warned_ten_minutes_before_the_on_site_limit(
        desk, estate, clock):
    ticket = desk.open("resident").id
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    on_site = deadline(ticket, "on_site").id
    clock.shift(timedelta(minutes=9, seconds=59))
    sweep_twice()
    assert not [t for t in told(ticket) if t[0].startswith("warn")]
    clock.shift(timedelta(seconds=1))
    sweep_twice()
    assert [t for t in told(ticket) if t[0].startswith("warn")] == [
        (f"warn:{on_site}:600", estate.butler), (f"warn:{on_site}:600", estate.technician)]


def test_a_late_sweep_warns_once_with_the_time_really_left(desk, estate, clock):
    ticket = desk.open("resident").id
    clock.shift(timedelta(minutes=16))
    sweep_twice()
    [warning] = [n for n in db.session.scalars(select(Notice).where(Notice.cause == "warning"))]
    assert warning.data["before"] == 4 * 60
    words = notices.words(warning, current_rules(), "en")
    assert words.subject == f"Due in 4 min: Arrival on site, Repair #{ticket} Tap leaking"


def test_a_step_done_in_time_warns_nobody(desk, estate, clock):
    ticket = desk.open("resident").id
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    desk.fire(ticket, "arrive", "technician")
    clock.shift(timedelta(minutes=15))
    sweep_twice()
    assert not [t for t in told(ticket) if t[0].startswith(("warn", "escalate"))]
    assert deadline(ticket, "on_site").notice_at is None


def test_a_miss_goes_up_the_ladder_each_level_once(desk, estate, clock):
    db.session.get(User, estate.supervisor).is_manager = True
    db.session.commit()
    ticket = desk.open("resident").id
    on_site = deadline(ticket, "on_site").id
    clock.shift(timedelta(minutes=20))
    sweep_twice()
    assert (f"escalate:{on_site}:0", estate.supervisor) in told(ticket)
    clock.shift(timedelta(hours=3, minutes=59))
    sweep_twice()
    assert f"escalate:{on_site}:1" not in {key for key, _ in told(ticket)}  # not yet
    clock.shift(timedelta(minutes=1))
    sweep_twice()
    escalations = [t for t in told(ticket) if t[0].startswith(f"escalate:{on_site}")]
    assert escalations == [(f"escalate:{on_site}:0", estate.supervisor),
                           (f"escalate:{on_site}:1", estate.supervisor)]


def test_a_miss_still_undone_is_told_again_each_day_until_it_is_done(desk, estate, clock):
    ticket = desk.open("resident").id
    on_site = deadline(ticket, "on_site").id
    clock.shift(timedelta(minutes=20))
    sweeper.sweep()
    for _day in range(2):
        clock.shift(timedelta(days=1))
        sweep_twice()
    reminders = [t for t in told(ticket) if t[0].startswith(f"remind:{on_site}")]
    assert reminders == [(f"remind:{on_site}:1", estate.butler),
                         (f"remind:{on_site}:1", estate.supervisor),
                         (f"remind:{on_site}:2", estate.butler),
                         (f"remind:{on_site}:2", estate.supervisor)]
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    desk.fire(ticket, "arrive", "technician")  # done at last
    clock.shift(timedelta(days=1))
    sweep_twice()
    assert not [t for t in told(ticket) if t[0] == f"remind:{on_site}:3"]


def test_a_paused_clock_warns_nobody_and_warns_again_once_it_runs(desk, estate, clock):
    ticket = desk.open("resident", "complaint", "Noise at night").id
    desk.fire(ticket, "accept", "butler", note="Recorded")
    desk.fire(ticket, "wait_resident", "butler", note="When is it loudest?")
    clock.shift(timedelta(hours=47))
    sweep_twice()
    assert not [t for t in told(ticket) if t[0].startswith("warn")]
    desk.fire(ticket, "resume", "resident", note="After 11 pm")
    clock.shift(timedelta(minutes=30))  # the clock had 48 h left: no warning yet
    sweep_twice()
    assert not [t for t in told(ticket) if t[0].startswith("warn")]
    assert deadline(ticket, "reply").notice_at == deadline(ticket, "reply").due_at - timedelta(
        hours=4)


def test_a_resident_nudges_at_most_once_in_half_an_hour(desk, estate, clock):
    ticket = desk.open("resident").id
    desk.fire(ticket, "nudge", "resident")
    assert told(ticket)[-1] == (told(ticket)[-1][0], estate.butler)
    clock.shift(timedelta(seconds=20))
    error = refused(ticket, Conflict, lambda: desk.fire(ticket, "nudge", "resident"))
    assert "was done just now; it can be done again in 29 min" in error.message
    clock.shift(timedelta(minutes=29) - timedelta(seconds=20))
    error = refused(ticket, Conflict, lambda: desk.fire(ticket, "nudge", "resident"))
    assert "done 29 min ago; it can be done again in 1 min" in error.message
    clock.shift(timedelta(minutes=1))
    desk.fire(ticket, "nudge", "resident")
    assert len([t for t in told(ticket) if t[1] == estate.butler and t[0].startswith("step")]) == 2


def test_a_note_for_staff_only_is_not_in_the_residents_notice(desk, estate, clock):
    ticket = desk.open("resident").id
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician,
              note="Bring the long ladder", staff_only=True)
    rules = current_rules()
    by_person = {n.user_id: notices.words(n, rules, "en") for n in db.session.scalars(
        select(Notice).where(Notice.cause == "step"))}
    assert "Bring the long ladder" in by_person[estate.technician].text
    assert "Bring the long ladder" not in by_person[estate.resident].text


@pytest.mark.parametrize("language, subject", [
    ("en", "Missed: Arrival on site, Repair #{id} Tap leaking"),
    ("zh_CN", "已超时：到场，报修 #{id} Tap leaking")])
def test_a_notice_is_written_in_its_readers_language(desk, estate, clock, language, subject):
    ticket = desk.open("resident").id
    clock.shift(timedelta(minutes=20))
    sweeper.sweep()
    [miss] = db.session.scalars(select(Notice).where(Notice.cause == "escalation"))
    db.session.get(User, estate.supervisor).language = language
    db.session.commit()
    words = notices.words(miss, current_rules())
    assert words.subject == subject.format(id=ticket)
    assert words.path == f"/tickets/{ticket}"


def test_a_deactivated_person_is_told_nothing(desk, estate, clock):
    db.session.get(User, estate.butler).active = False
    db.session.commit()
    ticket = desk.open("resident").id
    assert told(ticket) == []
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
