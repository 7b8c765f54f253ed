"""Steps staff take for a resident (the rules' `on_behalf` triggers): a butler who cancels a
resident's repair or accepts a solution for them gives a reason, the resident is told and may
object (the rules' `objects_to` triggers), and the supervisor sees the step on a review list,
with the clocks it stopped and the objection."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import Desk
from tests.helpers import deadline, edited, fresh, refused, start_refused, told
from tests.pages import csrf_token
from workflows import engine, queries
from workflows.errors import Conflict, InvalidData
from workflows.rules import current as current_rules


def replied(desk: Desk) -> int:
    complaint = desk.open("neighbour", "complaint", "Lift noise").id
    desk.fire(complaint, "accept", "butler")
    desk.fire(complaint, "reply", "butler", note="The lift was serviced")
    return complaint


def test_a_butler_accepting_a_solution_for_the_resident_must_give_a_reason(desk, estate):
    complaint = replied(desk)
    error = refused(complaint, InvalidData, lambda: desk.fire(complaint, "confirm", "butler"))
    assert error.fields == {"reason": "is required: the step is taken for the resident"}

    desk.fire(complaint, "confirm", "butler", reason="She accepted on the phone at 10:05")
    assert ("step", estate.neighbour) in [(cause.split(":")[0], who)
                                          for cause, who in told(complaint)]


def test_the_resident_accepts_without_a_reason(desk):
    complaint = replied(desk)
    assert desk.fire(complaint, "confirm", "neighbour").state == "resolved"
    assert queries.steps_for_residents(current_rules()) == []


def test_the_review_list_shows_a_butlers_cancel_with_its_reason_and_not_the_residents_own(
        desk, estate):
    mine = desk.open("resident", title="Tap leaking").id
    desk.fire(mine, "cancel", "resident", reason="Fixed it myself")
    theirs = desk.open("resident", title="Door lock broken").id
    desk.fire(theirs, "cancel", "butler", reason="Resident says it works again")

    [step] = queries.steps_for_residents(current_rules())
    assert (step.ticket_id, step.trigger, step.actor_id, step.data["reason"]) == (
        theirs, "cancel", estate.butler, "Resident says it works again")
    assert ("step", estate.resident) in [(cause.split(":")[0], who)
                                         for cause, who in told(theirs)]


def test_the_supervisor_reads_the_review_list(app, browser, estate):
    with app.app_context():
        desk = Desk(estate)
        repair = desk.open("resident").id
        desk.fire(repair, "cancel", "butler", reason="Resident says it works again")
    page = browser("supervisor").get("/supervisor/for-residents")
    assert page.status_code == 200
    row = re.search(rf'<tr data-event="\d+">\s*<td[^>]*><a href="/tickets/{repair}">.*?</tr>',
                    page.text, re.S).group(0)
    assert "Resident says it works again" in row and "Butler" in row and "Cancel" in row
    assert browser("butler").get("/supervisor/for-residents").status_code == 403


def test_the_residents_form_asks_no_reason_to_accept(app, browser, estate):
    with app.app_context():
        complaint = replied(Desk(estate))
    page = browser("neighbour").get(f"/tickets/{complaint}")
    assert 'name="confirm-version"' in page.text
    assert 'name="confirm-reason"' not in page.text
    assert 'name="confirm-reason"' in browser("butler").get(f"/tickets/{complaint}").text


@pytest.mark.parametrize("table", ["repair.triggers.dispatch"])
def test_on_behalf_is_only_for_a_step_a_resident_fires_too(tmp_path, table):
    broken, line = edited(tmp_path, table, 'roles = ["butler", "supervisor"]',
                          'roles = ["butler", "supervisor"]\non_behalf = true')
    assert f"[{table}] on_behalf: is for a step a resident fires that staff may fire too" \
        in start_refused(tmp_path, broken)


# -- the resident objects ----------------------------------------------------------------------

def offered(ticket_id: int, who) -> list[str]:
    return [t.name for t in engine.allowed_triggers(fresh(ticket_id), who)]


def test_a_resident_objecting_to_a_cancel_made_for_them_reopens_it_with_new_clocks(
        desk, estate, clock):
    repair = desk.open("resident").id
    clock.shift(timedelta(minutes=19))
    desk.fire(repair, "cancel", "butler", reason="Resident says it works again")
    assert "object" in offered(repair, estate.user("resident"))

    clock.shift(timedelta(minutes=30))
    reopened = desk.fire(repair, "object", "resident", reason="I never said that; still leaking")

    assert reopened.state == "reported"
    on_site = deadline(repair, "on_site")
    assert (on_site.status, on_site.seq) == ("running", 2)
    assert on_site.due_at == on_site.armed_at + timedelta(minutes=20)
    heard = {who for cause, who in told(repair) if cause.startswith("step")}
    assert {estate.butler, estate.supervisor} <= heard


def test_nothing_to_object_to_when_the_resident_cancelled_it_themselves(desk, estate):
    repair = desk.open("resident").id
    desk.fire(repair, "cancel", "resident", reason="Fixed it myself")

    assert "object" not in offered(repair, estate.user("resident"))
    error = refused(repair, Conflict, lambda: desk.fire(repair, "object", "resident",
                                                        reason="Changed my mind"))
    assert "when staff did it for the resident" in str(error)


def test_an_objection_needs_a_reason_and_only_the_resident_makes_it(desk, estate):
    repair = desk.open("resident").id
    desk.fire(repair, "cancel", "butler", reason="Duplicate")
    error = refused(repair, InvalidData, lambda: desk.fire(repair, "object", "resident"))
    assert error.fields == {"reason": "is required"}
    assert "object" not in offered(repair, estate.user("butler"))


def test_objecting_to_an_acceptance_made_for_the_resident_wants_a_new_solution(desk, estate):
    complaint = replied(desk)
    desk.fire(complaint, "confirm", "butler", reason="She accepted on the phone")
    assert deadline(complaint, "follow_up").status == "running"

    desk.fire(complaint, "object", "neighbour", reason="I did not accept it")

    assert (deadline(complaint, "follow_up").status, deadline(complaint, "reply").status) == (
        "cancelled", "running")


def test_the_review_list_shows_the_clock_a_cancel_stopped_and_the_objection(app, browser, estate,
                                                                            clock):
    with app.app_context():
        desk = Desk(estate)
        repair = desk.open("resident").id
        clock.shift(timedelta(minutes=19))
        desk.fire(repair, "cancel", "butler", reason="Resident says it works again")
        desk.fire(repair, "object", "resident", reason="It still leaks")
    page = browser("supervisor").get("/supervisor/for-residents").text
    row = re.search(r'<tr data-event="\d+">.*?</tr>', page, re.S).group(0)
    assert ('class="stopped close-call">Arrival on site: due 2026-11-16 09:20, 1 min left'
            in row)
    assert "It still leaks" in row and 'class="objected"' in row


def test_the_resident_objects_on_their_page_and_a_missing_reason_keeps_the_page(app, browser,
                                                                                 estate):
    with app.app_context():
        desk = Desk(estate)
        repair = desk.open("resident").id
        desk.fire(repair, "cancel", "butler", reason="Duplicate")
    resident = browser("resident")
    page = resident.get(f"/tickets/{repair}").text
    assert "You did not cancel it?" in page
    version = re.search(r'name="object-version"[^>]*value="(\d+)"', page).group(1)
    sent = resident.post(f"/tickets/{repair}/fire/object", data={
        "object-csrf_token": csrf_token(page), "object-version": version, "object-reason": ""})
    assert sent.status_code == 422 and "is required" in sent.text
    sent = resident.post(f"/tickets/{repair}/fire/object", data={
        "object-csrf_token": csrf_token(page), "object-version": version,
        "object-reason": "It still leaks"}, follow_redirects=True)
    assert "Your request is open again" in sent.text


def test_an_objection_must_answer_a_step_taken_for_the_resident(tmp_path):
    broken, _ = edited(tmp_path, "repair.triggers.object", 'objects_to = "cancel"',
                       'objects_to = "dispatch"')
    assert ("[repair.triggers.object] objects_to: 'dispatch' is not a step taken for the "
            "resident") in start_refused(tmp_path, broken)
    broken, _ = edited(tmp_path, "repair.triggers.object", 'from = ["cancelled"]',
                       'from = ["reported"]')
    assert "from: an objection to 'cancel' is made from where it leads" in start_refused(
        tmp_path, broken)
