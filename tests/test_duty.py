"""Duty (值班) and signed shift hand-overs (workflows.duty): who answers for an estate's units in
each shift of its rota, the hand-over of a duty shift's open work, and its signed record."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from models import DutyShift, Estate, Event, ShiftHandover, db
from tests.api import API, assert_error, token_for
from tests.conftest import Desk
from tests.helpers import deductions, fresh
from tests.pages import csrf_token, field_html, flashes
from workflows import duty, sweeper
from workflows.access import covering_butler_id
from workflows.clock import now as clock_now
from workflows.errors import Conflict

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


# -- who answers, through the engine and the sweeper ----------------------------------------------

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


def test_a_ticket_of_the_duty_butlers_own_area_from_before_stays_theirs(desk, estate, clock):
    night_rota(estate, who="butler")
    own = desk.open("resident")  # the day shift: East's butler
    clock.move_to(AT_23)
    west = desk.open("west_resident")
    assert west.assignee_id == estate.butler  # on duty for the whole estate

    clock.move_to(NIGHT_ENDS)
    sweeper.sweep()
    assert (fresh(own.id).assignee_id, fresh(west.id).assignee_id) == (estate.butler,
                                                                     estate.other_butler)
    assert reassignments(own.id) == []
    [record] = db.session.scalars(select(ShiftHandover)).all()
    assert record.taking_over_id == estate.other_butler
    assert [w["ticket_id"] for w in record.open_work] == [west.id]


def test_between_two_duty_shifts_the_work_passes_to_the_next_person_on_duty(desk, estate, clock):
    night_rota(estate, who="relief_butler", then="other_butler")  # weekend duty
    clock.move_to(AT_23)
    repair = desk.open("resident")
    clock.move_to(NIGHT_ENDS + HOUR)
    sweeper.sweep()
    assert fresh(repair.id).assignee_id == estate.other_butler
    [record] = db.session.scalars(select(ShiftHandover)).all()
    assert (record.leaving_id, record.taking_over_id) == (estate.relief_butler,
                                                          estate.other_butler)


def test_at_the_start_of_the_day_the_area_butler_on_leave_has_their_substitute_take_over(
        desk, estate, clock):
    from workflows import cover

    night_rota(estate)
    supervisor = estate.user("supervisor")
    leave = cover.request_leave(supervisor, estate.butler, NIGHT_ENDS - HOUR,
                                NIGHT_ENDS + 8 * HOUR, reason="Ill")
    cover.approve_leave(supervisor, leave.id, estate.other_butler)
    clock.move_to(AT_23)
    repair = desk.open("resident")
    clock.move_to(NIGHT_ENDS)
    sweeper.sweep()
    assert fresh(repair.id).assignee_id == estate.other_butler


def test_the_snapshot_lists_exactly_what_was_open_when_the_shift_ended(desk, estate, clock):
    night_rota(estate)
    clock.move_to(AT_23)
    first = desk.open("resident", title="Tap leaking")
    second = desk.open("neighbour", title="Door lock broken")
    third = desk.open("west_resident", title="Lift stuck")
    desk.fire(second, "cancel", "neighbour", reason="Fixed it myself")
    desk.fire(first, "dispatch", "relief_butler", technician_id=estate.technician)
    clock.move_to(NIGHT_ENDS)
    sweeper.sweep()
    records = {r.taking_over_id: r for r in db.session.scalars(select(ShiftHandover))}
    assert set(records) == {estate.butler, estate.other_butler}
    [east] = records[estate.butler].open_work
    assert (east["ticket_id"], east["state"], east["title"]) == (first.id, "dispatched",
                                                                 "Tap leaking")
    assert east["next_deadline"] == "on_site" and east["overdue"] is True
    [west] = records[estate.other_butler].open_work
    assert (west["ticket_id"], west["state"]) == (third.id, "reported")


def test_two_sweepers_at_once_hand_each_ticket_over_once(app, estate, clock):
    with app.app_context():
        night_rota(estate)
        clock.move_to(AT_23)
        ids = [Desk(estate).open(who).id for who in ("resident", "neighbour", "west_resident")]
        db.session.remove()
    clock.move_to(NIGHT_ENDS)
    barrier = threading.Barrier(2)

    def sweep_once():
        with app.app_context():
            barrier.wait()
            try:
                return duty.hand_over_ended(clock_now())
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        done = sorted(pool.map(lambda _: sweep_once(), range(2)))
    assert done == [0, 1]
    with app.app_context():
        assert [len(reassignments(i)) for i in ids] == [1, 1, 1]
        assert db.session.scalar(select(func.count()).select_from(ShiftHandover)) == 2


# -- the rota: refusals change nothing ---------------------------------------------------------

@pytest.mark.parametrize(("shifts", "field"), [
    ([(0, 9, None), (10, 24, "relief_butler")], "shifts.1.starts_at"),       # a gap
    ([(0, 10, None), (9, 24, "relief_butler")], "shifts.1.starts_at"),       # an overlap
    ([(0, 9, None), (9, 8, "relief_butler")], "shifts.1.ends_at"),           # ends before it starts
    ([(0, 9, None), (9, 20, "relief_butler")], "shifts.1.ends_at"),          # short of the end
    ([(0, 24, "supervisor")], "shifts.0.on_duty_id"),                        # not a butler
])
def test_a_rota_with_a_gap_or_an_overlap_is_refused_naming_the_shift(client, estate, clock,
                                                                      shifts, field):
    supervisor = token_for(client, "supervisor")
    with client.application.app_context():
        place = estate_id()
        people = {None: None, "relief_butler": estate.relief_butler,
                  "supervisor": estate.supervisor}
    day = MONDAY + 24 * HOUR  # Tuesday
    reply = client.put(f"{API}/estates/{place}/rota", headers=supervisor, json={
        "starts_at": day.isoformat(), "ends_at": (day + 24 * HOUR).isoformat(),
        "shifts": [{"starts_at": (day + a * HOUR).isoformat(),
                    "ends_at": (day + b * HOUR).isoformat(), "on_duty_id": people[who]}
                   for a, b, who in shifts]})
    assert_error(reply, 422, "invalid", field)
    with client.application.app_context():
        assert shift_count() == 0


def test_a_butler_may_read_the_rota_but_not_set_it(client, estate, clock):
    butler = token_for(client, "butler")
    with client.application.app_context():
        place = estate_id()
    assert client.get(f"{API}/estates/{place}/rota", headers=butler).status_code == 200
    reply = client.put(f"{API}/estates/{place}/rota", headers=butler, json={
        "starts_at": NIGHT_STARTS.isoformat(), "ends_at": NIGHT_ENDS.isoformat(), "shifts": []})
    assert_error(reply, 403)


def test_shifts_that_have_begun_stay_as_they_were(desk, estate, clock):
    night_rota(estate)
    clock.move_to(AT_23)
    supervisor = estate.user("supervisor")
    with pytest.raises(Conflict) as refused:
        duty.set_rota(supervisor, estate_id(), NIGHT_STARTS, NIGHT_ENDS, [
            {"starts_at": NIGHT_STARTS, "ends_at": NIGHT_ENDS, "on_duty_id": estate.butler}])
    assert "shifts.0.starts_at" in refused.value.fields
    # The rest of the night may change: the period from now.
    with pytest.raises(Conflict):  # ... but not cutting the running shift
        duty.set_rota(supervisor, estate_id(), AT_23, NIGHT_ENDS, [])
    assert shift_count() == 3


def test_repeat_last_week(desk, estate, clock):
    night_rota(estate)
    with pytest.raises(Conflict):  # last week has no rota
        duty.repeat_last_week(estate.user("supervisor"), estate_id(), MONDAY)
    week = duty.set_rota(estate.user("supervisor"), estate_id(), DAY, MONDAY + duty.WEEK, [
        {"starts_at": DAY, "ends_at": MONDAY + duty.WEEK, "on_duty_id": estate.relief_butler}])
    repeated = duty.repeat_last_week(estate.user("supervisor"), estate_id(), MONDAY + duty.WEEK)
    assert [(s.starts_at - duty.WEEK, s.on_duty_id) for s in repeated] == [
        (s.starts_at, s.on_duty_id) for s in week]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hours=st.lists(st.integers(1, 30), min_size=1, max_size=8),
       people=st.lists(st.sampled_from([None, "relief_butler", "butler"]), min_size=8,
                       max_size=8),
       probes=st.lists(st.integers(0, 9_999), min_size=1, max_size=10))
def test_for_a_rota_without_gaps_exactly_one_shift_answers_at_every_instant(
        app, estate, clock, hours, people, probes):
    with app.app_context():
        db.session.execute(delete(DutyShift))
        db.session.commit()
        starts, given_shifts = DAY, []
        for length, who in zip(hours, people, strict=False):
            given_shifts.append({"starts_at": starts, "ends_at": starts + length * HOUR,
                                 "on_duty_id": getattr(estate, who) if who else None})
            starts += length * HOUR
        duty.set_rota(estate.user("supervisor"), estate_id(), DAY, starts, given_shifts)
        for probe in probes:
            at = DAY + (starts - DAY) * (probe / 10_000) - timedelta(microseconds=probe % 2)
            holding = [s for s in given_shifts if s["starts_at"] <= at < s["ends_at"]]
            found = duty.shift_at(estate_id(), at)
            if at < DAY:
                assert found is None and holding == []
                continue
            [expected] = holding
            assert (found.starts_at, found.on_duty_id) == (expected["starts_at"],
                                                           expected["on_duty_id"])
            assert covering_butler_id(estate.unit_w, at) == (expected["on_duty_id"]
                                                             or estate.other_butler)
        db.session.remove()


# -- signing ---------------------------------------------------------------------------------------

def _night_handed_over(app, estate, clock) -> int:
    with app.app_context():
        night_rota(estate)
        clock.move_to(AT_23)
        Desk(estate).open("resident")
        clock.move_to(NIGHT_ENDS)
        sweeper.sweep()
        handover_id = db.session.scalar(select(ShiftHandover.id))
        db.session.remove()
    return handover_id


def test_the_one_leaving_signs_first_then_the_one_taking_over_and_nobody_else(client, estate,
                                                                               clock):
    leaving, taking, other, supervisor = (token_for(client, name) for name in (
        "relief_butler", "butler", "other_butler", "supervisor"))
    handover_id = _night_handed_over(client.application, estate, clock)
    sign = f"{API}/handovers/{handover_id}/sign"

    assert_error(client.post(sign, headers=taking, json={}), 409)
    assert_error(client.post(sign, headers=other, json={}), 403)
    assert_error(client.post(sign, headers=supervisor, json={}), 403)
    assert_error(client.post(sign, headers=leaving, json={"note": 5}), 422, field="note")
    reply = client.post(sign, headers=leaving, json={"note": "Lift 4 noisy, watch it"})
    assert reply.status_code == 200, reply.json
    assert reply.json["leaving_note"] == "Lift 4 noisy, watch it"
    assert reply.json["signed_by_taking_over_at"] is None
    assert_error(client.post(sign, headers=leaving, json={}), 409)
    reply = client.post(sign, headers=taking, json={"note": "Taken over"})
    assert reply.status_code == 200 and reply.json["signed_by_taking_over_at"]
    assert_error(client.get(f"{API}/handovers/{handover_id}", headers=other), 404)
    listed = client.get(f"{API}/handovers", headers=supervisor).json["handovers"]
    assert [h["id"] for h in listed] == [handover_id]


def test_on_duty_through_the_api(client, estate, clock):
    butler = token_for(client, "butler")
    with client.application.app_context():
        night_rota(estate)
        place = estate_id()
    reply = client.get(f"{API}/estates/{place}/on-duty", headers=butler,
                       query_string={"at": AT_23.isoformat()})
    assert reply.json["on_duty"]["id"] == estate.relief_butler
    reply = client.get(f"{API}/estates/{place}/on-duty", headers=butler)
    assert reply.json["on_duty"] is None and reply.json["shift"]["on_duty"] is None
    assert_error(client.get(f"{API}/estates/{place}/on-duty", headers=butler,
                            query_string={"at": "tonight"}), 422, field="at")


# -- the pages -------------------------------------------------------------------------------------

def test_the_rota_page_saves_a_week_and_keeps_what_was_typed_when_refused(app, browser, estate):
    with app.app_context():
        place = estate_id()
    supervisor = browser("supervisor")
    url = f"/duty/{place}/rota?week=2026-11-23"
    page = supervisor.get(url)
    assert page.status_code == 200
    rows = {"csrf_token": csrf_token(page.text),
            "shifts-0-starts_at": "2026-11-23T00:00", "shifts-0-ends_at": "2026-11-23T09:00",
            "shifts-0-on_duty": str(estate.relief_butler),
            "shifts-1-starts_at": "2026-11-23T10:00", "shifts-1-ends_at": "2026-11-30T00:00",
            "shifts-1-on_duty": "area", "shifts-2-starts_at": "", "shifts-2-ends_at": "",
            "shifts-2-on_duty": ""}
    refused = supervisor.post(url, data=rows)
    assert refused.status_code == 422
    assert "leaves a gap" in field_html(refused.text, "shifts-1-starts_at")
    assert 'value="2026-11-23T10:00"' in refused.text
    assert "There is a problem" in refused.text
    with app.app_context():
        assert shift_count() == 0

    saved = supervisor.post(url, data={**rows, "shifts-1-starts_at": "2026-11-23T09:00"})
    assert saved.status_code == 302
    assert flashes(supervisor.get(saved.location).text, "success")
    with app.app_context():
        assert shift_count() == 2
    chinese = browser("supervisor", "zh").get(url)
    assert "值班表" in chinese.text


def test_the_queue_says_who_is_on_duty_and_the_record_is_signed_on_its_page(app, browser,
                                                                             estate, clock):
    handover_id = _night_handed_over(app, estate, clock)
    clock.move_to(NIGHT_ENDS - HOUR)  # still the night
    assert "Relief_Butler is on duty until 11-17 09:00." in browser("butler").get("/queue/").text

    clock.move_to(NIGHT_ENDS + 2 * HOUR)
    waiting = browser("supervisor").get("/supervisor/waiting")
    assert f'data-handover="{handover_id}"' in waiting.text

    taking = browser("butler")
    page = taking.get(f"/duty/handovers/{handover_id}")
    assert "Tap leaking" in page.text and "not signed yet" in page.text
    early = taking.post(f"/duty/handovers/{handover_id}/sign",
                        data={"csrf_token": csrf_token(page.text), "note": "ok"})
    assert early.status_code == 409 and "signs first" in early.text
    leaving = browser("relief_butler")
    page = leaving.get(f"/duty/handovers/{handover_id}")
    signed = leaving.post(f"/duty/handovers/{handover_id}/sign",
                          data={"csrf_token": csrf_token(page.text), "note": "Keys at desk"})
    assert signed.status_code == 302
    page = taking.get(f"/duty/handovers/{handover_id}")
    assert "Keys at desk" in page.text
    taking.post(f"/duty/handovers/{handover_id}/sign",
                data={"csrf_token": csrf_token(page.text), "note": ""})
    assert f'data-handover="{handover_id}"' not in browser("supervisor").get(
        "/supervisor/waiting").text
    assert "交接" in browser("butler", "zh").get(f"/duty/handovers/{handover_id}").text
