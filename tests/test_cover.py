"""Who covers an area, and when (workflows.cover): an area's butler with dates, leave and
substitutes. A miss is charged to whoever answered for the ticket when it fell due."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from models import Area, AreaButler, Estate, Event, Leave, Notice, Ticket, db
from tests.api import API, assert_error, token_for
from tests.conftest import T0, Desk, database_of, make_app
from tests.helpers import deductions, fresh, told
from tests.pages import csrf_token, field_html, flashes
from workflows import assessment, cover, notices, sweeper
from workflows import clock as the_clock
from workflows.access import can_see, covering_butler_id
from workflows.errors import Conflict, Forbidden, InvalidData
from workflows.rules import current as current_rules

HOUR = timedelta(hours=1)


def away(estate, starts=T0 - HOUR, ends=T0 + 8 * HOUR, who="butler", substitute="relief_butler"):
    """`who` on leave from `starts` to `ends`, approved with `substitute`."""
    supervisor = estate.user("supervisor")
    leave = cover.request_leave(supervisor, getattr(estate, who), starts, ends,
                                reason="Family matters")
    return cover.approve_leave(supervisor, leave.id, getattr(estate, substitute))


def east(estate) -> int:
    return db.session.scalar(select(Area.id).where(Area.name == "East"))


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# -- leave: the done-when, on both databases ------------------------------------------------------

def test_on_leave_a_new_repair_goes_to_the_substitute_whose_card_gets_the_miss_as_cover(
        desk, estate, clock):
    away(estate)

    repair = desk.open("resident")
    assert repair.assignee_id == estate.relief_butler
    heard = {who for cause, who in told(repair.id) if cause.startswith("new")}
    assert heard == {estate.relief_butler}

    clock.shift(timedelta(minutes=25))
    sweeper.sweep()

    [miss] = deductions(repair.id)
    assert (miss.butler_id, miss.covering_for_id) == (estate.relief_butler, estate.butler)
    cards = {c["butler"]["id"]: c for c in assessment.scorecards("2026-11")[0]}
    [line] = cards[estate.relief_butler]["lines"]
    assert line["covering_for"] == {"id": estate.butler, "name": "Butler"}
    assert cards[estate.butler]["lines"] == []
    assert cards[estate.butler]["score"] == 100
    # The supervisor is told whom the miss is charged to, and that they were covering.
    [escalation] = db.session.scalars(select(Notice).where(
        Notice.cause == "escalation", Notice.user_id == estate.supervisor)).all()
    said = notices.words(escalation, current_rules(), "en").text
    assert "Butler: Relief_Butler, covering for Butler." in said


def test_the_scorecard_page_says_the_line_was_covering(app, estate, clock, browser):
    with app.app_context():
        away(estate)
        Desk(estate).open("resident")
        clock.shift(timedelta(minutes=25))
        sweeper.sweep()

    page = browser("supervisor").get(f"/assessment/butlers/{estate.relief_butler}?month=2026-11")
    assert "covering for Butler" in page.text
    assert "为 Butler 顶岗" in browser("supervisor", "zh").get(
        f"/assessment/butlers/{estate.relief_butler}?month=2026-11").text


def test_a_ticket_still_held_by_the_butler_away_is_charged_to_the_substitute_and_handed_over(
        desk, estate, clock):
    repair = desk.open("resident")  # before the leave: the butler's
    away(estate, starts=T0 + timedelta(minutes=5))
    clock.shift(timedelta(minutes=25))
    sweeper.sweep()

    [miss] = deductions(repair.id)
    assert (miss.butler_id, miss.covering_for_id) == (estate.relief_butler, estate.butler)
    leave = db.session.scalar(select(Leave))
    assert [t.id for t in cover.left_with(leave)] == [repair.id]

    assert cover.hand_over_leave(estate.user("supervisor"), leave.id) == [repair.id]
    assert fresh(repair.id).assignee_id == estate.relief_butler
    handed = db.session.scalars(select(Event).where(Event.ticket_id == repair.id,
                                                    Event.trigger == "reassign")).one()
    assert handed.data == {"assignee_id": estate.relief_butler}
    assert cover.left_with(leave) == []


def test_leave_not_yet_approved_or_over_covers_nothing(desk, estate, clock):
    cover.request_leave(estate.user("butler"), None, T0 - HOUR, T0 + HOUR, reason="Ill")
    assert desk.open("resident").assignee_id == estate.butler

    away(estate, who="other_butler", starts=T0 - HOUR, ends=T0 + HOUR)
    clock.shift(2 * HOUR)
    assert desk.open("west_resident").assignee_id == estate.other_butler


def test_the_substitute_sees_the_area_and_hears_its_warnings(desk, estate, clock):
    repair = desk.open("resident")
    away(estate)
    relief = estate.user("relief_butler")
    assert can_see(relief, fresh(repair.id))
    clock.shift(timedelta(minutes=11))  # the on-site warning, 10 minutes before
    sweeper.sweep()
    warned = {who for cause, who in told(repair.id) if cause.startswith("warn")}
    assert estate.relief_butler in warned and estate.butler not in warned


def test_the_substitutes_queue_shows_the_areas_work_while_the_leave_runs(app, browser, estate,
                                                                          clock):
    with app.app_context():
        Desk(estate).open("resident", title="Kitchen tap dripping")
        away(estate, ends=T0 + HOUR)
    assert "Kitchen tap dripping" in browser("relief_butler").get("/queue/").text
    clock.shift(2 * HOUR)
    assert "Kitchen tap dripping" not in browser("relief_butler").get("/queue/").text


def test_a_residents_nudge_on_a_ticket_the_butler_away_still_holds_reaches_the_substitute(
        desk, estate, clock):
    repair = desk.open("resident")
    away(estate)
    desk.fire(repair, "nudge", "resident")
    nudged = {who for cause, who in told(repair.id) if cause.startswith("step")}
    assert nudged == {estate.relief_butler}


def test_only_an_approved_leave_not_over_is_handed_over(desk, estate, clock):
    leave = cover.request_leave(estate.user("butler"), None, T0, T0 + HOUR, reason="Ill")
    with pytest.raises(Conflict):
        cover.hand_over_leave(estate.user("supervisor"), leave.id)
    with pytest.raises(Forbidden):
        cover.hand_over_leave(estate.user("butler"), leave.id)


def test_cancelling_a_leave_under_way_ends_it_now_and_keeps_what_it_covered(desk, estate, clock):
    leave = away(estate)
    clock.shift(HOUR)
    cover.cancel_leave(estate.user("butler"), leave.id)
    leave = db.session.get(Leave, leave.id)
    assert (leave.status, leave.ends_at) == ("approved", T0 + HOUR)
    assert covering_butler_id(estate.unit_a, T0) == estate.relief_butler
    assert covering_butler_id(estate.unit_a, T0 + HOUR) == estate.butler
    with pytest.raises(Conflict):
        cover.cancel_leave(estate.user("butler"), leave.id)


# -- bad input: 422 naming the field, 409 against what is recorded; nothing changed --------------

@pytest.mark.parametrize(("change", "error", "field"), [
    ({"ends_at": T0 - 2 * HOUR}, InvalidData, "ends_at"),            # ends before it starts
    ({"starts_at": None}, InvalidData, "starts_at"),
    ({"substitute": "technician"}, InvalidData, "substitute_id"),    # not a butler
    ({"substitute": "butler"}, InvalidData, "substitute_id"),        # themself
    ({"reason": ""}, InvalidData, "reason"),
    ({"starts_at": T0 + 2 * HOUR}, Conflict, "starts_at"),           # overlaps their leave
    ({"who": "relief_butler", "substitute": "other_butler"}, Conflict, "starts_at"),  # covering
    ({"who": "other_butler", "substitute": "butler"}, Conflict, "substitute_id"),  # away then
])
def test_bad_leave_is_refused_naming_the_field(desk, estate, clock, change, error, field):
    away(estate)
    given = {"who": "butler", "substitute": "other_butler", "starts_at": T0 + 4 * HOUR,
             "ends_at": T0 + 12 * HOUR, "reason": "Again", **change}
    before = count(Leave)
    with pytest.raises(error) as refused:
        cover.request_leave(estate.user("supervisor"), getattr(estate, given["who"]),
                            given["starts_at"], given["ends_at"],
                            getattr(estate, given["substitute"]), given["reason"])
    assert field in refused.value.fields
    assert count(Leave) == before


def test_approving_checks_the_substitute_against_their_own_leave(desk, estate, clock):
    away(estate, who="other_butler", substitute="relief_butler")
    leave = cover.request_leave(estate.user("butler"), None, T0, T0 + HOUR, reason="Dentist")
    supervisor = estate.user("supervisor")
    with pytest.raises(Conflict) as refused:
        cover.approve_leave(supervisor, leave.id, estate.other_butler)
    assert "substitute_id" in refused.value.fields
    with pytest.raises(InvalidData) as refused:
        cover.approve_leave(supervisor, leave.id)
    assert refused.value.fields == {"substitute_id": "is required"}
    with pytest.raises(Forbidden):
        cover.approve_leave(estate.user("butler"), leave.id, estate.relief_butler)
    assert db.session.get(Leave, leave.id).status == "requested"


def test_a_substitute_from_another_estate_is_refused_and_a_relief_butler_may_cover(desk, estate,
                                                                                  clock):
    hill = Estate(name="Hill")  # the West, other_butler's area, is in another estate
    db.session.add(hill)
    db.session.flush()
    db.session.execute(update(Area).where(Area.name == "West").values(estate_id=hill.id))
    db.session.commit()
    leave = cover.request_leave(estate.user("butler"), None, T0, T0 + HOUR, reason="Dentist")

    with pytest.raises(InvalidData) as refused:
        cover.approve_leave(estate.user("admin"), leave.id, estate.other_butler)
    assert refused.value.fields == {"substitute_id": "is a butler of another estate"}
    with pytest.raises(InvalidData) as refused:  # nor is Hill's butler one of Garden's
        cover.approve_leave(estate.user("supervisor"), leave.id, estate.other_butler)
    assert refused.value.fields == {"substitute_id": "is not a butler of your estates"}
    assert cover.approve_leave(estate.user("supervisor"), leave.id,
                               estate.relief_butler).status == "approved"


def test_the_api_asks_approves_lists_and_cancels_leave(client, estate, clock):
    butler, supervisor = token_for(client, "butler"), token_for(client, "supervisor")
    asked = client.post(f"{API}/leaves", headers=butler, json={
        "starts_at": "2026-11-17T09:00", "ends_at": "2026-11-17T18:00", "reason": "Wedding"})
    assert asked.status_code == 201, asked.json
    assert asked.json["butler"]["id"] == estate.butler and asked.json["status"] == "requested"
    assert asked.json["starts_at"] == "2026-11-17T01:00:00+00:00"  # Shanghai time, stored UTC

    reply = client.post(f"{API}/leaves", headers=butler, json={
        "starts_at": "2026-11-17T12:00", "ends_at": "2026-11-18T09:00", "reason": "Again"})
    assert_error(reply, 409, field="starts_at")
    reply = client.post(f"{API}/leaves", headers=butler, json={
        "starts_at": "2026-11-20T12:00", "ends_at": "2026-11-20T09:00", "reason": "Back"})
    assert_error(reply, 422, field="ends_at")
    reply = client.post(f"{API}/leaves", headers=supervisor, json={
        "butler_id": estate.other_butler, "starts_at": "2026-11-17T10:00",
        "ends_at": "2026-11-17T11:00", "substitute_id": estate.butler, "reason": "Clash"})
    # The butler's own leave is only asked for, so they may be named as a substitute.
    assert reply.status_code == 201, reply.json

    leave = asked.json["id"]
    assert_error(client.post(f"{API}/leaves/{leave}/approve", headers=butler,
                             json={"substitute_id": estate.relief_butler}), 403)
    assert_error(client.post(f"{API}/leaves/{leave}/approve", headers=supervisor,
                             json={"substitute_id": estate.technician}), 422,
                 field="substitute_id")
    approved = client.post(f"{API}/leaves/{leave}/approve", headers=supervisor,
                           json={"substitute_id": estate.relief_butler})
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"
    assert approved.json["substitute"]["id"] == estate.relief_butler
    # The butler sees their own leave, and the one they are named to cover.
    assert [item["id"] for item in client.get(f"{API}/leaves", headers=butler).json["leaves"]] \
        == [reply.json["id"], leave]
    assert len(client.get(f"{API}/leaves", headers=supervisor).json["leaves"]) == 2

    cancelled = client.post(f"{API}/leaves/{leave}/cancel", headers=butler, json={})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert_error(client.post(f"{API}/leaves/{leave}/cancel", headers=butler, json={}), 409)


# -- pages ------------------------------------------------------------------------------------

def test_a_butler_asks_for_leave_on_the_page_and_a_mistake_keeps_what_they_typed(
        browser, estate):
    page = browser("butler")
    form = page.get("/cover/leave")
    sent = page.post("/cover/leave", data={
        "csrf_token": csrf_token(form.text), "leave-starts_at": "2026-11-18T09:00",
        "leave-ends_at": "2026-11-17T09:00", "leave-reason": "My sister's wedding"})
    assert sent.status_code == 422
    assert "must be after the start" in field_html(sent.text, "leave-ends_at")
    assert 'class="error-summary"' in sent.text
    assert "My sister&#39;s wedding" in sent.text and 'value="2026-11-18T09:00"' in sent.text

    sent = page.post("/cover/leave", data={
        "csrf_token": csrf_token(form.text), "leave-starts_at": "2026-11-18T09:00",
        "leave-ends_at": "2026-11-19T09:00", "leave-reason": "My sister's wedding"})
    assert sent.status_code == 302
    assert flashes(page.get("/cover/leave").text, "success")


def test_a_supervisor_approves_with_a_substitute_and_hands_over_on_the_page(
        app, browser, estate):
    with app.app_context():
        repair = Desk(estate).open("resident").id
        leave = cover.request_leave(estate.user("butler"), None, T0, T0 + 8 * HOUR,
                                    reason="Ill").id
    page = browser("supervisor")
    listing = page.get("/cover/leave")
    offered = field_html(listing.text, f"approve-{leave}-substitute_id")
    assert f'value="{estate.relief_butler}"' in offered
    assert f'value="{estate.butler}"' not in offered  # nobody covers themself
    sent = page.post(f"/cover/leave/{leave}/approve", data={
        "csrf_token": csrf_token(listing.text), f"approve-{leave}-substitute_id": estate.butler})
    assert sent.status_code == 422
    assert "must be another butler" in field_html(sent.text, f"approve-{leave}-substitute_id")

    sent = page.post(f"/cover/leave/{leave}/approve", data={
        "csrf_token": csrf_token(listing.text),
        f"approve-{leave}-substitute_id": estate.relief_butler})
    assert sent.status_code == 302
    listing = page.get("/cover/leave")
    assert f"#{repair} Tap leaking" in listing.text
    sent = page.post(f"/cover/leave/{leave}/hand-over", data={
        "csrf_token": csrf_token(listing.text)})
    assert sent.status_code == 302
    assert flashes(page.get("/cover/leave").text, "success") == [
        "1 ticket handed over to Relief_Butler."]
    with app.app_context():
        assert fresh(repair).assignee_id == estate.relief_butler


# -- an area's butler with dates ------------------------------------------------------------------

def test_changing_an_areas_butler_keeps_the_history_and_hands_over_the_open_work(
        desk, estate, clock):
    repair = desk.open("resident")
    clock.shift(timedelta(days=3))
    cover.set_area_butler(estate.user("supervisor"), east(estate), estate.relief_butler,
                          "Li Ming moved to the West")

    periods = db.session.scalars(select(AreaButler).join(Area).where(Area.name == "East")
                                 .order_by(AreaButler.starts_at)).all()
    assert [(p.butler_id, p.ends_at) for p in periods] == [
        (estate.butler, T0 + timedelta(days=3)), (estate.relief_butler, None)]
    assert covering_butler_id(estate.unit_a, T0) == estate.butler
    assert covering_butler_id(estate.unit_a, the_clock.now()) == estate.relief_butler
    assert fresh(repair.id).assignee_id == estate.relief_butler
    assert [d.butler_id for d in deductions(repair.id)] == [estate.butler, estate.butler]
    with pytest.raises(Conflict):
        cover.set_area_butler(estate.user("supervisor"), east(estate), estate.relief_butler)
    with pytest.raises(InvalidData) as refused:
        cover.set_area_butler(estate.user("supervisor"), east(estate), estate.technician)
    assert "butler_id" in refused.value.fields
    with pytest.raises(Forbidden):
        cover.set_area_butler(estate.user("butler"), east(estate), estate.other_butler)


def test_the_api_and_the_page_change_an_areas_butler(client, browser, estate, clock, app):
    supervisor = token_for(client, "supervisor")
    areas = client.get(f"{API}/areas", headers=supervisor).json["areas"]
    area = next(a for a in areas if a["name"] == "East")
    assert area["butler"]["id"] == estate.butler and area["periods"][0]["ends_at"] is None
    assert_error(client.put(f"{API}/areas/{area['id']}/butler", headers=supervisor,
                            json={"butler_id": estate.butler}), 409, field="butler_id")
    assert_error(client.put(f"{API}/areas/{area['id']}/butler",
                            headers=token_for(client, "butler"),
                            json={"butler_id": estate.relief_butler}), 403)
    changed = client.put(f"{API}/areas/{area['id']}/butler", headers=supervisor,
                         json={"butler_id": estate.relief_butler})
    assert changed.status_code == 200, changed.json
    assert [p["butler"]["id"] for p in changed.json["periods"]] == [estate.relief_butler,
                                                                     estate.butler]

    page = browser("supervisor")
    form = page.get("/cover/areas")
    sent = page.post(f"/cover/areas/{area['id']}/butler", data={
        "csrf_token": csrf_token(form.text), f"area-{area['id']}-butler_id": estate.technician,
        f"area-{area['id']}-note": "Keep this note"})
    assert sent.status_code == 422
    assert "no active butler" in field_html(sent.text, f"area-{area['id']}-butler_id")
    assert "Keep this note" in sent.text


# -- misses before a change stay with the first butler, after it go to the second ----------------

@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(change_at=st.integers(1, 14 * 24 * 60),
       opened_at=st.lists(st.integers(0, 14 * 24 * 60), min_size=1, max_size=5),
       sweep_as_we_go=st.booleans())
def test_misses_before_a_change_of_butler_stay_with_the_first_and_after_it_go_to_the_second(
        databases, template_db, clock, change_at, opened_at, sweep_as_we_go):
    template, estate = template_db
    url = databases.copy_of(template)
    try:
        with database_of(make_app(url)):
            clock.move_to(T0, tick=False)
            desk = Desk(estate)
            # In time order; a change and an opening at the same minute: the change first.
            plan = sorted([(change_at, -1, "change")]
                          + [(at, n, "open") for n, at in enumerate(opened_at)])
            for minute, n, what in plan:
                clock.move_to(T0 + timedelta(minutes=minute), tick=False)
                if what == "change":
                    cover.set_area_butler(estate.user("supervisor"), east(estate),
                                          estate.relief_butler)
                else:
                    desk.open("resident", title=f"Tap leaking, call {n}")
                if sweep_as_we_go:
                    sweeper.sweep()
            clock.move_to(T0 + timedelta(minutes=max(opened_at) + 25 * 60), tick=False)
            sweeper.sweep()

            changed = T0 + timedelta(minutes=change_at)
            missed = deductions()
            assert len(missed) == 2 * len(opened_at)  # on site and completion, each ticket
            for miss in missed:
                expected = estate.butler if miss.missed_at <= changed else estate.relief_butler
                assert (miss.butler_id, miss.covering_for_id) == (expected, None), (
                    miss.missed_at, changed)
            assert {t.assignee_id for t in db.session.scalars(select(Ticket))} == {
                estate.relief_butler}
    finally:
        databases.drop(url)


# -- at once ---------------------------------------------------------------------------------------

def test_two_overlapping_leaves_asked_at_once_one_is_recorded_the_other_conflicts(app, estate,
                                                                                    clock):
    """Eight clients ask for leave of the same butler at the same moment, each a different but
    overlapping span: one is recorded, the others get 409 naming starts_at."""
    headers = token_for(app.test_client(), "supervisor")
    start = threading.Barrier(8)

    def ask(hour):
        client = app.test_client()
        start.wait()
        reply = client.post(f"{API}/leaves", headers=headers, json={
            "butler_id": estate.butler, "starts_at": f"2026-11-20T{hour:02d}:00",
            "ends_at": "2026-11-21T09:00", "reason": f"Try {hour}"})
        return reply.status_code, reply.json

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(ask, range(8, 16)))

    assert sorted(status for status, _body in replies) == [201] + [409] * 7
    assert all("starts_at" in body["error"]["fields"] for status, body in replies
               if status == 409)
    with app.app_context():
        assert count(Leave) == 1


def test_tickets_handed_over_before_the_leave_begins_are_the_substitutes_own_not_cover(
        desk, estate, clock):
    """Handed over the evening before: the substitute holds them from then, and a miss before
    the leave begins is hers, but not "covering" for a butler who was still at work."""
    repair = desk.open("resident")
    leave = away(estate, starts=T0 + 24 * HOUR, ends=T0 + 48 * HOUR)
    cover.hand_over_leave(estate.user("supervisor"), leave.id)
    clock.shift(timedelta(minutes=25))
    sweeper.sweep()
    [miss] = deductions(repair.id)
    assert (miss.butler_id, miss.covering_for_id) == (estate.relief_butler, None)


def test_cover_for_one_butler_is_not_taken_for_cover_of_another(desk, estate, clock):
    """The relief butler covers the West butler now, and holds the East butler's tickets handed
    over before his leave tomorrow: an East miss is hers, covering nobody. (West's period is the
    newest: a subquery that lost its ticket read West's butler, on leave, and called it cover.)"""
    supervisor = estate.user("supervisor")
    west = db.session.scalar(select(Area.id).where(Area.name == "West"))
    cover.set_area_butler(supervisor, west, estate.relief_butler, "")
    clock.shift(timedelta(minutes=1))
    cover.set_area_butler(supervisor, west, estate.other_butler, "")
    desk.open("west_resident")
    repair = desk.open("resident")
    leave = away(estate, starts=T0 + 24 * HOUR, ends=T0 + 48 * HOUR)
    away(estate, who="other_butler", starts=T0, ends=T0 + 8 * HOUR)
    cover.hand_over_leave(supervisor, leave.id)
    clock.shift(timedelta(minutes=25))
    sweeper.sweep()
    [miss] = deductions(repair.id)
    assert (miss.butler_id, miss.covering_for_id) == (estate.relief_butler, None)
