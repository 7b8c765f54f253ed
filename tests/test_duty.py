"""Duty (值班) and signed shift hand-overs (workflows.duty): who answers for an estate's units in
each shift of its rota, the hand-over of a duty shift's open work, and its signed record."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import DutyShift, Estate, Event, ShiftHandover, db
from tests.api import API, assert_error, token_for
from tests.conftest import Desk, database_of, make_app
from tests.helpers import deductions, fresh
from tests.pages import csrf_token, field_html, flashes
from workflows import duty, sweeper
from workflows.access import covering_butler_id
from workflows.errors import Conflict, Forbidden, InvalidData

HOUR = timedelta(hours=1)
# Monday 16 November 2026, in Shanghai (UTC+8): the day shift 09:00–18:00 is 01:00–10:00 UTC.
MONDAY = datetime(2026, 11, 15, 16, 0, tzinfo=UTC)  # 00:00 local
DAY = MONDAY + 9 * HOUR  # T0, the tests' start
NIGHT_STARTS, NIGHT_ENDS = MONDAY + 18 * HOUR, MONDAY + 33 * HOUR  # 18:00 – Tuesday 09:00
AT_23 = MONDAY + 23 * HOUR


def estate_id() -> int:
    return db.session.scalar(select(Estate.id))


def night_rota(estate, who="relief_butler", then=None):
    """Monday 09:00 until Tuesday 18:00: the area butlers, then `who` on duty 18:00–09:00,
    then the area butlers again (or `then` on duty)."""
    return duty.set_rota(estate.user("supervisor"), estate_id(), DAY, MONDAY + 42 * HOUR, [
        {"starts_at": DAY, "ends_at": NIGHT_STARTS, "on_duty_id": None},
        {"starts_at": NIGHT_STARTS, "ends_at": NIGHT_ENDS, "on_duty_id": getattr(estate, who)},
        {"starts_at": NIGHT_ENDS, "ends_at": MONDAY + 42 * HOUR,
         "on_duty_id": getattr(estate, then) if then else None}])


def shift_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(DutyShift))


def reassignments(ticket_id: int) -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(select(Event).where(Event.ticket_id == ticket_id,
                                                       Event.trigger == "reassign")))


# -- who answers, through the engine and the sweeper ------------------------------------------------

def test_a_repair_at_23_goes_to_the_duty_butler_who_is_charged_its_miss_then_handed_to_the_area(
        desk, estate, clock):
    night_rota(estate)
    clock.move_to(AT_23)
    repair = desk.open("resident")
    assert repair.assignee_id == estate.relief_butler

    clock.shift(timedelta(minutes=25))  # nobody on site within 20 minutes
    sweeper.sweep()
    [miss] = deductions(repair.id)
    assert (miss.butler_id, miss.covering_for_id) == (estate.relief_butler, None)

    clock.move_to(NIGHT_ENDS + timedelta(seconds=5))  # the day shift begins
    sweeper.sweep()
    assert fresh(repair.id).assignee_id == estate.butler
    [handed] = reassignments(repair.id)
    assert handed.data == {"assignee_id": estate.butler}
    assert handed.at == NIGHT_ENDS
    assert "Relief_Butler" in handed.note
    [record] = db.session.scalars(select(ShiftHandover)).all()
    assert (record.leaving_id, record.taking_over_id) == (estate.relief_butler, estate.butler)
    assert [w["ticket_id"] for w in record.open_work] == [repair.id]

    sweeper.sweep()  # again: nothing more
    assert len(reassignments(repair.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(ShiftHandover)) == 1


def test_outside_duty_shifts_and_outside_any_rota_the_area_butler_answers(desk, estate, clock):
    night_rota(estate)
    at = {"day": MONDAY + 10 * HOUR, "night": AT_23, "no rota": MONDAY + 50 * HOUR}
    assert {when: covering_butler_id(estate.unit_w, t) for when, t in at.items()} == {
        "day": estate.other_butler, "night": estate.relief_butler,
        "no rota": estate.other_butler}
