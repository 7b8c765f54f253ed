"""Steps staff take for a resident (the rules' `on_behalf` triggers): a butler who cancels a
resident's repair or accepts a solution for them gives a reason, the resident is told, and the
supervisor sees the step on a review list."""
from __future__ import annotations

import re

import pytest

from tests.conftest import Desk
from tests.helpers import refused, told
from tests.test_rules import edited, start
from workflows import queries
from workflows.errors import InvalidData
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
        in start(tmp_path, broken)
