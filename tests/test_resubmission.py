"""Resubmitting a rejected renovation application with changed details (装修申请重新提交).

The `resubmit` step takes the application's details (workflows.details): those given over the
ticket's, checked as when it was opened. The change and the step are one: a refused step changes
no detail. The ticket keeps the new values; the step's event keeps what changed, from and to, so
the history never loses an old value. Through the engine first, then the resident's ticket page.
"""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from models import Ticket, db
from tests.helpers import events, fresh, refused
from tests.pages import PDF, attachments, csrf_token, field_html, fire, open_ticket, section
from workflows.errors import Conflict, InvalidData, StaleVersion

DETAILS = {"works_start": "2026-11-20", "works_end": "2026-12-20",
           "contractor_name": "安居装饰 Anju Decoration", "contractor_phone": "021 5555 0101",
           "foreman_name": "刘工 Liu", "foreman_phone": "138 0013 8000", "workers": 3}
REASON = "A load-bearing wall may not be moved: send a new floor plan"


def details_of(ticket_id: int) -> dict:
    return dict(fresh(ticket_id).details)


# -- the engine -----------------------------------------------------------------------------------

@pytest.fixture
def rejected(desk, clock) -> int:
    """An application of the resident of unit_a, with its details, rejected by the butler."""
    permit = desk.open("resident", "renovation", "New kitchen", details=DETAILS).id
    clock.shift(timedelta(hours=3))
    desk.fire(permit, "reject", "butler", reason=REASON)
    clock.shift(timedelta(days=1))
    return permit


def test_resubmitting_changes_the_details_and_the_event_keeps_the_old_values(desk, estate,
                                                                           rejected):
    ticket = desk.fire(rejected, "resubmit", "resident", note="New contractor, more workers",
                       details={"contractor_name": "美家装修 Meijia", "workers": "5"})

    assert ticket.state == "applied"
    assert details_of(rejected) == {**DETAILS, "contractor_name": "美家装修 Meijia", "workers": 5}
    create, reject, resubmit = events(rejected)
    assert (create.trigger, reject.trigger, resubmit.trigger) == ("create", "reject", "resubmit")
    assert (resubmit.actor_id, resubmit.note) == (estate.resident, "New contractor, more workers")
    assert resubmit.data == {"details": {
        "contractor_name": {"from": "安居装饰 Anju Decoration", "to": "美家装修 Meijia"},
        "workers": {"from": 3, "to": 5}}}

    # A second round: each step keeps its own change, so every earlier value can be read back.
    desk.fire(rejected, "reject", "butler", reason="Still too many workers for the lift")
    desk.fire(rejected, "resubmit", "butler", details={"workers": 2})
    assert events(rejected)[-1].data == {"details": {"workers": {"from": 5, "to": 2}}}
    assert details_of(rejected)["workers"] == 2
    history = [e.data["details"]["workers"] for e in events(rejected) if "details" in e.data]
    assert [change["from"] for change in history] == [3, 5]


@pytest.mark.parametrize("details", [None, {}, DETAILS])
def test_resubmitting_without_a_change_records_none(desk, rejected, details):
    desk.fire(rejected, "resubmit", "resident", details=details)
    assert fresh(rejected).state == "applied"
    assert details_of(rejected) == DETAILS
    assert events(rejected)[-1].data == {}


@pytest.mark.parametrize("given, field, message", [
    ({"works_start": "2026-11-15"}, "works_start", "must not be in the past"),
    ({"works_end": "2026-11-19"}, "works_end", "must not be before the start"),
    ({"foreman_phone": "call him"}, "foreman_phone", "phone number"),
    ({"workers": 0}, "workers", "whole number from 1"),
    ({"contractor_name": ""}, "contractor_name", "is required"),
    ({"colour": "blue"}, "details", "takes no colour"),
    ("more workers", "details", "table of details"),
])
def test_a_bad_detail_refuses_the_whole_step_and_changes_nothing(desk, estate, rejected, given,
                                                                 field, message):
    error = refused(rejected, InvalidData, lambda: desk.fire(
        rejected, "resubmit", "resident", details=given))
    assert message in error.fields[field]
    assert (fresh(rejected).state, details_of(rejected)) == ("rejected", DETAILS)


def test_a_refused_step_changes_no_detail(desk, estate, rejected):
    """The details change only with the step: a stale read or a wrong state changes neither."""
    from workflows import engine

    version = fresh(rejected).version
    desk.fire(rejected, "resubmit", "butler")                 # meanwhile the butler resubmits
    refused(rejected, StaleVersion, lambda: engine.fire(
        rejected, "resubmit", estate.user("resident"), version, details={"workers": 9}))
    refused(rejected, Conflict, lambda: desk.fire(
        rejected, "resubmit", "resident", details={"workers": 9}))
    assert details_of(rejected) == DETAILS


def test_only_a_step_that_takes_details_changes_them(desk, rejected):
    desk.fire(rejected, "resubmit", "resident")
    error = refused(rejected, InvalidData, lambda: desk.fire(
        rejected, "approve", "butler", details={"workers": 9}))
    assert "takes no details" in error.fields["details"]
    assert details_of(rejected) == DETAILS


# -- the resident's ticket page -------------------------------------------------------------------

def resubmit_form(page: str) -> str:
    return section(page, 'class="card change-details"', "</form>")


def post_resubmit(client, ticket_id: int, files=(), **fields):
    page = client.get(f"/tickets/{ticket_id}").text
    version = re.search(r'name="resubmit-version" type="hidden" value="(\d+)"', page).group(1)
    data = {"resubmit-csrf_token": csrf_token(page), "resubmit-version": version}
    data.update({f"resubmit-{name}": value for name, value in fields.items()})
    data["resubmit-photos"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post(f"/tickets/{ticket_id}/fire/resubmit", data=data,
                       content_type="multipart/form-data")


def test_a_resident_puts_a_rejected_application_right_and_resubmits_it(app, estate, browser):
    ticket = open_ticket(app, "resident", kind="renovation", title="New kitchen", details=DETAILS)
    fire(app, ticket, "reject", "butler", reason=REASON)
    client = browser("resident")

    page = client.get(f"/tickets/{ticket}").text
    assert "Your turn: not approved (see the reason below)" in page
    assert REASON in section(page, '<blockquote class="message">', "</blockquote>")
    form = resubmit_form(page)
    for value in ('value="2026-11-20"', 'value="2026-12-20"', 'value="安居装饰 Anju Decoration"',
                  'value="021 5555 0101"', 'value="刘工 Liu"', 'value="138 0013 8000"',
                  'value="3"'):
        assert value in form, value
    assert 'name="resubmit-photos"' in form

    typed = {**DETAILS, "contractor_name": "美家装修 Meijia", "works_end": "2026-11-10",
             "workers": "5", "note": "New floor plan, no wall moved"}
    reply = post_resubmit(client, ticket, **typed)
    assert reply.status_code == 422
    assert "must not be before Works start" in field_html(reply.text, "resubmit-works_end")
    form = resubmit_form(reply.text)
    for value in ('value="美家装修 Meijia"', 'value="2026-11-10"', 'value="5"',
                  "New floor plan, no wall moved"):
        assert value in form, value
    with app.app_context():
        t = db.session.get(Ticket, ticket)
        assert (t.state, t.details) == ("rejected", DETAILS)

    reply = post_resubmit(client, ticket, files=[(PDF, "floor-plan-v2.pdf")],
                          **{**typed, "works_end": "2026-12-31"})
    assert reply.status_code == 302
    [plan] = attachments(app, ticket)
    assert (plan["event"], plan["by"], plan["name"]) == ("resubmit", "resident",
                                                         "floor-plan-v2.pdf")
    with app.app_context():
        t = db.session.get(Ticket, ticket)
        assert t.state == "applied"
        assert t.details == {**DETAILS, "contractor_name": "美家装修 Meijia",
                             "works_end": "2026-12-31", "workers": 5}

    page = client.get(f"/tickets/{ticket}").text
    assert "Your butler will review the application by" in page
    assert 'class="card change-details"' not in page
    assert "美家装修 Meijia" in section(page, "Renovation permit details", "</section>")
    timeline = section(page, "What was done")
    changed = section(timeline, "Details changed", "</ul>")
    assert ("Contractor (company or person): <del>安居装饰 Anju Decoration</del> → "
            "<ins>美家装修 Meijia</ins>") in changed
    assert "Works end: <del>2026-12-20</del> → <ins>2026-12-31</ins>" in changed
    assert "Number of workers: <del>3</del> → <ins>5</ins>" in changed
    assert "Foreman" not in changed
    assert "floor-plan-v2.pdf" in timeline
    # The butler sees the same change on their page.
    assert "Number of workers: <del>3</del> → <ins>5</ins>" in browser("butler").get(
        f"/tickets/{ticket}").text
