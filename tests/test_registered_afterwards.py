"""Calls registered afterwards (事后补单): only those who answer for the unit may give an earlier
time of the call, and a miss already due when the call is registered is held for a supervisor's
review instead of charged: nobody was told in time. Through the engine, the API and the pages."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Ticket, db
from tests.api import API, assert_error, token_for
from tests.conftest import T0, Desk
from tests.helpers import deductions
from tests.pages import csrf_token, field_html
from workflows import assessment, sweeper
from workflows.errors import Conflict, Forbidden

AN_HOUR_AGO = T0 - timedelta(hours=1)
NOVEMBER = "2026-11"


def score(butler_id: int) -> int:
    [card] = assessment.live_scorecards(NOVEMBER, butler_id)
    return card.score


def test_a_butler_may_not_backdate_a_call_for_another_butlers_area(desk, estate, clock):
    with pytest.raises(Forbidden) as refused:
        desk.open("other_butler", unit_id=estate.unit_a, reported_at=AN_HOUR_AGO)
    assert "reported_at" in refused.value.fields
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert deductions() == []


def test_a_butler_may_register_any_call_as_taken_now(desk, estate, clock):
    ticket = desk.open("other_butler", unit_id=estate.unit_a)
    assert ticket.reported_at == T0 and ticket.assignee_id == estate.butler


@pytest.mark.parametrize("who", ["butler", "supervisor"])
def test_the_areas_butler_and_a_supervisor_may_backdate(desk, estate, clock, who):
    ticket = desk.open(who, unit_id=estate.unit_a, reported_at=T0 - timedelta(minutes=10))
    assert ticket.reported_at == T0 - timedelta(minutes=10)


def test_a_miss_already_due_at_registration_is_held_not_charged(desk, estate, clock):
    desk.open("supervisor", unit_id=estate.unit_a, reported_at=AN_HOUR_AGO)
    [held] = deductions()
    assert (held.butler_id, held.points, held.held) == (estate.butler, -2, True)
    assert score(estate.butler) == 100
    [card] = assessment.live_scorecards(NOVEMBER, estate.butler)
    assert card.held == -2
    assert [line["status"] for line in card.lines] == ["held"]


def test_a_miss_that_falls_due_after_registration_counts_as_usual(desk, estate, clock):
    desk.open("butler", unit_id=estate.unit_a, reported_at=T0 - timedelta(minutes=10))
    clock.shift(timedelta(minutes=11))
    assert sweeper.sweep() == 1
    [missed] = deductions()
    assert not missed.held and score(estate.butler) == 98


def test_the_supervisor_charges_or_waives_a_held_line(desk, estate, clock):
    desk.open("supervisor", unit_id=estate.unit_a, reported_at=AN_HOUR_AGO)
    desk.open("supervisor", unit_id=estate.unit_b, reported_at=AN_HOUR_AGO)
    first, second = deductions()
    supervisor = estate.user("supervisor")

    with pytest.raises(Conflict):
        assessment.appeal(estate.user("butler"), first.id, "I was not told")
    assessment.uphold(supervisor, first.id, "The duty room told him at once")
    assert score(estate.butler) == 98
    assessment.waive(supervisor, second.id, "Registered a day late by the front desk")
    assert score(estate.butler) == 98
    statuses = [line["status"] for line in
                assessment.live_scorecards(NOVEMBER, estate.butler)[0].lines]
    assert statuses == ["upheld", "waived"]


def test_a_month_with_held_lines_cannot_be_closed(desk, estate, clock):
    desk.open("supervisor", unit_id=estate.unit_a, reported_at=AN_HOUR_AGO)
    clock.move_to(T0 + timedelta(days=20))
    supervisor = estate.user("supervisor")
    with pytest.raises(Conflict, match="1 line\\(s\\) held for review"):
        assessment.close_month(supervisor, NOVEMBER)
    [held] = deductions()
    assessment.waive(supervisor, held.id, "Front desk typed it in late")
    assessment.close_month(supervisor, NOVEMBER)
    assert assessment.is_closed(NOVEMBER)


def test_the_api_refuses_the_backdate_naming_the_field(client, estate, clock):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "other_butler"), json={
        "kind": "repair", "title": "Pipe burst", "unit_id": estate.unit_a,
        "reported_at": AN_HOUR_AGO.isoformat()})
    assert_error(reply, 403, "forbidden", "reported_at")


def test_the_api_shows_a_held_line_as_not_counting(client, estate, clock):
    client.post(f"{API}/tickets", headers=token_for(client, "supervisor"), json={
        "kind": "repair", "title": "Pipe burst", "unit_id": estate.unit_a,
        "reported_at": AN_HOUR_AGO.isoformat()})
    reply = client.get(f"{API}/deductions", headers=token_for(client, "butler"))
    [line] = reply.json["deductions"]
    assert (line["held"], line["counts"], reply.json["total_points"]) == (True, False, 0)


def test_the_form_shows_the_refusal_next_to_the_time_of_the_call(app, estate, browser):
    client = browser("other_butler")
    page = client.get("/tickets/new").text
    reply = client.post("/tickets/new", data={
        "csrf_token": csrf_token(page), "kind": "repair", "title": "Pipe burst",
        "unit_id": str(estate.unit_a), "reported_at": "2026-11-16T08:00"})
    assert reply.status_code == 403
    assert "another butler" in field_html(reply.text, "reported_at")
    assert 'value="Pipe burst"' in reply.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_the_card_and_the_month_show_what_is_held(app, estate, browser, clock):
    with app.app_context():
        Desk(estate).open("supervisor", unit_id=estate.unit_a, reported_at=AN_HOUR_AGO)
    clock.move_to(T0 + timedelta(days=20))  # December: November can be closed
    card = browser("butler").get(f"/assessment/butlers/{estate.butler}?month={NOVEMBER}").text
    assert "Held for review" in card and "/appeal" not in card
    supervisor = browser("supervisor")
    card = supervisor.get(f"/assessment/butlers/{estate.butler}?month={NOVEMBER}").text
    assert "/uphold" in card and ">Charge<" in card and "/waive" in card
    month = supervisor.get(f"/assessment/?month={NOVEMBER}").text
    assert "Decide these first" in month and 'action="/assessment/close' not in month
