"""More time for a running deadline (延期, workflows.extensions): a butler asks with a reason, a
supervisor approves (the step is armed anew, due later) or refuses (nothing moves); both are on
the ticket's timeline, and the sweeper charges a miss at the time in force."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from models import Deduction, Extension, Notice, Ticket, db
from tests.api import API, assert_error, token_for
from tests.conftest import T0, Desk, database_copy, database_of, make_app
from tests.helpers import (
    all_deadlines,
    at_once,
    deadline,
    deductions,
    events,
    fresh,
    refused,
    told,
)
from tests.pages import csrf_token, field_html, flashes
from workflows import assessment, extensions, notices, sweeper
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.rules import current as current_rules

HOUR = timedelta(hours=1)
RULES_FILE = Path(__file__).resolve().parent.parent / "workflows" / "rules.toml"
PART = "Waiting for a part: the valve comes on Wednesday"


def on_site(desk: Desk, title: str = "Tap leaking") -> Ticket:
    """A repair of the resident's with the technician on site: its completion (due T0 + 24h)
    runs, its on-site clock is met."""
    repair = desk.open("resident", title=title)
    desk.fire(repair, "dispatch", "butler", technician_id=desk.estate.technician)
    desk.fire(repair, "arrive", "technician")
    return fresh(repair.id)


def ask(estate, ticket_id: int, due_at=T0 + 48 * HOUR, who="butler", name="completion",
        reason=PART) -> Extension:
    return extensions.request_extension(estate.user(who), ticket_id, name, due_at, reason)


def counting(ticket_id: int) -> list[Deduction]:
    return [d for d in deductions(ticket_id) if d.counts]


# -- the done-when ---------------------------------------------------------------------------------

def test_an_approved_extension_moves_the_deadline_and_the_sweeper_charges_at_the_new_time(
        desk, estate, clock):
    repair = on_site(desk)
    asked = ask(estate, repair.id)
    # Asking stops no clock, and the supervisors are told.
    assert deadline(repair.id, "completion").due_at == T0 + 24 * HOUR
    assert (f"extension:{events(repair.id)[-1].id}", estate.supervisor) in told(repair.id)

    extensions.approve(estate.user("supervisor"), asked.id)

    first, moved = all_deadlines(repair.id, "completion")
    assert (first.status, moved.status, moved.due_at) == ("extended", "running", T0 + 48 * HOUR)
    assert moved.notice_at == T0 + 46 * HOUR  # its warning, two hours before the new time
    clock.move_to(T0 + 25 * HOUR)
    sweeper.sweep()
    assert deductions(repair.id) == []
    clock.move_to(T0 + 48 * HOUR + timedelta(minutes=1))
    sweeper.sweep()
    [miss] = deductions(repair.id)
    assert (miss.missed_at, miss.butler_id) == (T0 + 48 * HOUR, estate.butler)
    # The butler hears of the decision; the timeline has both, old → new.
    approved = next(e for e in events(repair.id) if e.trigger == "extension_approved")
    assert (f"extension:{approved.id}", estate.butler) in told(repair.id)
    assert approved.data["due_before"] == (T0 + 24 * HOUR).isoformat()
    assert approved.data["due_at"] == (T0 + 48 * HOUR).isoformat()


def test_a_refused_extension_leaves_the_deadline_as_it_was(desk, estate, clock):
    repair = on_site(desk)
    asked = ask(estate, repair.id)
    extensions.refuse(estate.user("supervisor"), asked.id, "The part is in the store room")

    [only] = all_deadlines(repair.id, "completion")
    assert (only.status, only.due_at) == ("running", T0 + 24 * HOUR)
    refusal = events(repair.id)[-1]
    assert (refusal.trigger, refusal.note, refusal.staff_only) == (
        "extension_refused", "The part is in the store room", True)
    assert (f"extension:{refusal.id}", estate.butler) in told(repair.id)
    clock.move_to(T0 + 24 * HOUR + timedelta(minutes=1))
    sweeper.sweep()
    [miss] = deductions(repair.id)
    assert miss.missed_at == T0 + 24 * HOUR


def test_approved_after_a_miss_the_miss_is_waived_and_the_step_is_due_at_the_approved_time(
        desk, estate, clock):
    repair = on_site(desk)
    clock.move_to(T0 + 23 * HOUR)
    asked = ask(estate, repair.id, due_at=T0 + 30 * HOUR)
    clock.move_to(T0 + 24 * HOUR + timedelta(minutes=5))
    sweeper.sweep()  # the supervisor has not decided: the deadline was missed at its time
    [miss] = deductions(repair.id)
    assert miss.counts

    clock.move_to(T0 + 25 * HOUR)
    extensions.approve(estate.user("supervisor"), asked.id, "The part was on back order")

    [miss] = deductions(repair.id)
    assert (miss.status, miss.review.supervisor_id) == ("waived", estate.supervisor)
    assert "request #" in miss.review.reason and PART in miss.review.reason
    missed, armed = all_deadlines(repair.id, "completion")
    assert (missed.status, missed.closed_at, missed.notice_at) == ("missed", T0 + 25 * HOUR, None)
    assert (armed.status, armed.due_at) == ("running", T0 + 30 * HOUR)
    assert fresh_extension(asked.id).waived_id == miss.id
    # Charged again only if the step is still not done at the approved time; once.
    clock.move_to(T0 + 31 * HOUR)
    sweeper.sweep()
    sweeper.sweep()
    assert [(d.missed_at, d.counts) for d in deductions(repair.id)] == [
        (T0 + 24 * HOUR, False), (T0 + 30 * HOUR, True)]


def test_approved_late_after_the_time_it_gave_the_step_is_missed_at_that_time_once(
        desk, estate, clock):
    repair = on_site(desk)
    clock.move_to(T0 + 23 * HOUR)
    asked = ask(estate, repair.id, due_at=T0 + 30 * HOUR)
    clock.move_to(T0 + 40 * HOUR)  # nobody swept, nobody decided
    extensions.approve(estate.user("supervisor"), asked.id)
    assert [(d.missed_at, d.counts) for d in deductions(repair.id)] == [
        (T0 + 24 * HOUR, False), (T0 + 30 * HOUR, True)]
    sweeper.sweep()
    assert len(deductions(repair.id)) == 2


def test_a_step_done_late_but_by_the_time_asked_has_its_miss_waived_and_nothing_armed(
        desk, estate, clock):
    repair = on_site(desk)
    clock.move_to(T0 + 23 * HOUR)
    asked = ask(estate, repair.id, due_at=T0 + 30 * HOUR)
    clock.move_to(T0 + 26 * HOUR)
    desk.fire(repair, "complete", "technician")  # late: the engine records the miss first
    extensions.approve(estate.user("supervisor"), asked.id)
    [miss] = deductions(repair.id)
    assert miss.status == "waived"
    assert [d.status for d in all_deadlines(repair.id, "completion")] == ["missed"]


def test_a_step_done_after_the_time_asked_cannot_have_it_approved(desk, estate, clock):
    repair = on_site(desk)
    clock.move_to(T0 + 23 * HOUR)
    asked = ask(estate, repair.id, due_at=T0 + 30 * HOUR)
    clock.move_to(T0 + 31 * HOUR)
    desk.fire(repair, "complete", "technician")
    error = refused(repair.id, Conflict,
                    lambda: extensions.approve(estate.user("supervisor"), asked.id))
    assert "after the time asked for" in str(error.message)
    extensions.refuse(estate.user("supervisor"), asked.id, "Done too late")
    assert deductions(repair.id)[0].counts


def test_a_miss_in_a_closed_month_is_not_waived_by_an_approval(desk, estate, clock):
    repair = on_site(desk)
    clock.move_to(T0 + 23 * HOUR)
    asked = ask(estate, repair.id, due_at=T0 + 30 * HOUR)
    clock.move_to(T0 + 24 * HOUR + timedelta(minutes=5))
    sweeper.sweep()
    clock.move_to(T0 + timedelta(days=16))  # December: November is over
    assessment.close_month(estate.user("supervisor"), "2026-11")
    before = extension_row(asked.id)
    error = refused(repair.id, Conflict,
                    lambda: extensions.approve(estate.user("supervisor"), asked.id))
    assert "2026-11 is closed" in str(error.message)
    assert extension_row(asked.id) == before
    assert deductions(repair.id)[0].counts


def test_a_step_done_in_time_lapses_the_request(desk, estate, clock):
    repair = on_site(desk)
    asked = ask(estate, repair.id)
    clock.shift(HOUR)
    desk.fire(repair, "complete", "technician")
    assert fresh_extension(asked.id).status == "lapsed"
    refused(repair.id, Conflict, lambda: extensions.approve(estate.user("supervisor"), asked.id))
    assert extensions.pending(estate.user("supervisor")) == []


def test_whoever_asked_may_withdraw_a_request_still_waiting(desk, estate, clock):
    repair = on_site(desk)
    asked = ask(estate, repair.id)
    refused(repair.id, Forbidden,
            lambda: extensions.cancel(estate.user("supervisor"), asked.id))
    extensions.cancel(estate.user("butler"), asked.id)
    assert fresh_extension(asked.id).status == "cancelled"
    assert events(repair.id)[-1].trigger == "extension_cancelled"
    refused(repair.id, Conflict, lambda: extensions.cancel(estate.user("butler"), asked.id))
    # Withdrawn, the deadline may be asked about again.
    again = ask(estate, repair.id, due_at=T0 + 30 * HOUR)
    assert again.status == "pending"


def test_the_butler_of_the_area_and_a_supervisor_may_ask_and_only_a_supervisor_decides(
        desk, estate, clock):
    repair = on_site(desk)
    desk.fire(repair, "reassign", "supervisor", assignee_id=estate.relief_butler)
    # The area's butler no longer holds it but answers for the unit; the holder may too.
    by_area = ask(estate, repair.id, who="butler")
    extensions.cancel(estate.user("butler"), by_area.id)
    by_holder = ask(estate, repair.id, who="relief_butler")
    extensions.cancel(estate.user("relief_butler"), by_holder.id)
    by_supervisor = ask(estate, repair.id, who="supervisor")
    refused(repair.id, Forbidden,
            lambda: extensions.approve(estate.user("butler"), by_supervisor.id))
    refused(repair.id, Forbidden,
            lambda: extensions.refuse(estate.user("relief_butler"), by_supervisor.id, "No"))
    extensions.approve(estate.user("supervisor"), by_supervisor.id)  # their own: they decide


# -- bad input: 422 naming the field, 409 against what is recorded, 403, 404; nothing changed -----

@pytest.mark.parametrize(("given", "error", "field"), [
    ({"name": "arrival"}, InvalidData, "deadline"),                    # no such deadline
    ({"name": None}, InvalidData, "deadline"),
    ({"name": "on_site"}, InvalidData, "deadline"),                    # the rules forbid it
    ({"due_at": None}, InvalidData, "due_at"),
    ({"due_at": "next Wednesday"}, InvalidData, "due_at"),
    ({"due_at": T0 - HOUR}, InvalidData, "due_at"),                    # in the past
    ({"due_at": T0 + 20 * HOUR}, InvalidData, "due_at"),               # earlier than it is due
    ({"due_at": T0 + 24 * HOUR}, InvalidData, "due_at"),               # the same time
    ({"due_at": T0 + 96 * HOUR + timedelta(minutes=1)}, InvalidData, "due_at"),  # beyond 72h
    ({"reason": ""}, InvalidData, "reason"),
    ({"reason": "x" * 2001}, InvalidData, "reason"),
    ({"name": "follow_up"}, Conflict, "deadline"),                     # not armed yet
])
def test_bad_requests_are_refused_naming_the_field(desk, estate, clock, given, error, field):
    repair = on_site(desk)
    given = {"name": "completion", "due_at": T0 + 48 * HOUR, "reason": PART, **given}
    caught = refused(repair.id, error, lambda: extensions.request_extension(
        estate.user("butler"), repair.id, given["name"], given["due_at"], given["reason"]))
    assert field in caught.fields, caught.fields
    assert extensions.of_ticket(repair.id) == []


def test_the_limit_is_the_rules_own(desk, estate, clock):
    repair = on_site(desk)
    ask(estate, repair.id, due_at=T0 + 96 * HOUR)  # exactly 72 hours more: allowed
    error = refused(repair.id, Conflict, lambda: ask(estate, repair.id, due_at=T0 + 30 * HOUR))
    assert error.fields == {"deadline": "has a request waiting already"}


def test_a_deadline_met_missed_or_not_running_cannot_be_moved(desk, estate, clock):
    repair = on_site(desk)
    refused(repair.id, InvalidData, lambda: ask(estate, repair.id, name="on_site"))
    desk.fire(repair, "complete", "technician")
    caught = refused(repair.id, Conflict, lambda: ask(estate, repair.id))
    assert "met" in caught.fields["deadline"]
    clock.move_to(T0 + 80 * HOUR)  # the follow-up (48h from completion) is due
    caught = refused(repair.id, Conflict, lambda: ask(estate, repair.id, name="follow_up",
                                                      due_at=T0 + 90 * HOUR))
    assert "missed" in caught.fields["deadline"]  # found missed on asking, not moved


@pytest.mark.parametrize(("who", "error"), [
    ("resident", Forbidden), ("technician", Forbidden), ("other_butler", NotFound)])
def test_who_may_not_ask(desk, estate, clock, who, error):
    repair = on_site(desk)
    refused(repair.id, error, lambda: ask(estate, repair.id, who=who))


def test_a_butler_who_only_took_the_call_may_not_ask(desk, estate, clock):
    """首问负责制: the other area's butler who registered it sees it, but answers for nothing."""
    repair = desk.open("other_butler", unit_id=estate.unit_a)
    refused(repair.id, Forbidden, lambda: ask(estate, repair.id, who="other_butler"))


def test_deciding_twice_or_on_nothing_is_refused(desk, estate, clock):
    repair = on_site(desk)
    asked = ask(estate, repair.id)
    supervisor = estate.user("supervisor")
    refused(repair.id, InvalidData, lambda: extensions.refuse(supervisor, asked.id, " "))
    extensions.approve(supervisor, asked.id)
    for decide in (lambda: extensions.approve(supervisor, asked.id),
                   lambda: extensions.refuse(supervisor, asked.id, "No"),
                   lambda: extensions.cancel(estate.user("butler"), asked.id)):
        refused(repair.id, Conflict, decide)
    for missing in (asked.id + 1, "x", 2**40):
        refused(repair.id, NotFound, lambda m=missing: extensions.approve(supervisor, m))


def fresh_extension(extension_id: int) -> Extension:
    db.session.expire_all()
    return db.session.get(Extension, extension_id)


def extension_row(extension_id: int) -> tuple:
    made = fresh_extension(extension_id)
    return made.status, made.decided_by_id, made.decided_at, made.waived_id


# -- the API ---------------------------------------------------------------------------------------

def test_the_api_asks_lists_and_approves(app, client, estate, clock):
    with app.app_context():
        repair = on_site(Desk(estate)).id
    butler, supervisor = token_for(client, "butler"), token_for(client, "supervisor")
    resident = token_for(client, "resident")
    sent = client.post(f"{API}/tickets/{repair}/extensions", headers=butler, json={
        "deadline": "completion", "due_at": "2026-11-18T09:00", "reason": PART})
    assert sent.status_code == 201, sent.json
    made = sent.json
    assert (made["status"], made["due_before"], made["due_at"], made["deadline_seq"]) == (
        "pending", "2026-11-17T01:00:00+00:00", "2026-11-18T01:00:00+00:00", 1)
    waiting = client.get(f"{API}/extensions?status=pending", headers=supervisor).json
    assert [x["id"] for x in waiting["extensions"]] == [made["id"]]
    assert [x["id"] for x in client.get(f"{API}/extensions?ticket_id={repair}",
                                        headers=butler).json["extensions"]] == [made["id"]]

    approved = client.post(f"{API}/extensions/{made['id']}/approve", headers=supervisor,
                           json={"note": "Fine"})
    assert approved.status_code == 200, approved.json
    assert (approved.json["status"], approved.json["decided_by"]["id"],
            approved.json["decision_reason"]) == ("approved", estate.supervisor, "Fine")
    ticket = client.get(f"{API}/tickets/{repair}", headers=butler).json
    completion = [d for d in ticket["deadlines"] if d["name"] == "completion"]
    assert [(d["seq"], d["status"], d["due_at"]) for d in completion] == [
        (1, "extended", "2026-11-17T01:00:00+00:00"), (2, "running", "2026-11-18T01:00:00+00:00")]
    staff_sees = [e["trigger"] for e in ticket["events"] if e["trigger"].startswith("extension")]
    assert staff_sees == ["extension_requested", "extension_approved"]
    # The resident reads the new time and that it was moved, not the reasons or the asking.
    theirs = client.get(f"{API}/tickets/{repair}", headers=resident).json
    [moved] = [e for e in theirs["events"] if e["trigger"].startswith("extension")]
    assert (moved["trigger"], moved["note"], moved["data"]) == ("extension_approved", "", {
        "deadline": "completion", "due_before": "2026-11-17T01:00:00+00:00",
        "due_at": "2026-11-18T01:00:00+00:00"})
    assert PART not in str(theirs)


@pytest.mark.parametrize(("who", "json", "status", "field"), [
    ("butler", {"deadline": "completion", "due_at": "2026-11-21T09:00", "reason": PART},
     422, "due_at"),                                                       # beyond 72 hours
    ("butler", {"deadline": "on_site", "due_at": "2026-11-17T09:00", "reason": PART},
     422, "deadline"),
    ("butler", {"deadline": "completion", "due_at": 20261118, "reason": PART}, 422, "due_at"),
    ("butler", {"deadline": "completion", "due_at": "2026-11-18T09:00"}, 422, "reason"),
    ("butler", {"deadline": ["completion"], "due_at": "2026-11-18T09:00", "reason": PART},
     422, "deadline"),
    ("butler", {"deadline": "follow_up", "due_at": "2026-11-18T09:00", "reason": PART},
     409, "deadline"),
    ("resident", {"deadline": "completion", "due_at": "2026-11-18T09:00", "reason": PART},
     403, None),
    ("other_butler", {"deadline": "completion", "due_at": "2026-11-18T09:00", "reason": PART},
     404, None),
])
def test_the_api_refuses_bad_requests_naming_the_field(app, client, estate, clock, who, json,
                                                       status, field):
    with app.app_context():
        repair = on_site(Desk(estate)).id
    headers = token_for(client, who)
    assert_error(client.post(f"{API}/tickets/{repair}/extensions", headers=headers, json=json),
                 status, field=field)
    with app.app_context():
        assert extensions.of_ticket(repair) == []


def test_the_api_refuses_bad_decisions_and_filters(app, client, estate, clock):
    with app.app_context():
        repair = on_site(Desk(estate)).id
        asked = ask(estate, repair).id
    butler, supervisor = token_for(client, "butler"), token_for(client, "supervisor")
    assert_error(client.post(f"{API}/extensions/{asked}/approve", headers=butler, json={}), 403)
    assert_error(client.post(f"{API}/extensions/{asked}/refuse", headers=supervisor,
                             json={"reason": ""}), 422, field="reason")
    assert_error(client.post(f"{API}/extensions/{asked}/approve", headers=supervisor,
                             json={"note": 5}), 422, field="note")
    assert_error(client.post(f"{API}/extensions/{asked + 1}/approve", headers=supervisor,
                             json={}), 404)
    assert_error(client.post(f"{API}/extensions/{asked}/cancel", headers=supervisor), 403)
    assert_error(client.post(f"{API}/extensions/{asked}/cancel",
                             headers=token_for(client, "other_butler")), 404)
    assert_error(client.get(f"{API}/extensions?status=maybe", headers=supervisor), 422,
                 field="status")
    assert_error(client.get(f"{API}/extensions?ticket_id=abc", headers=supervisor), 422,
                 field="ticket_id")
    assert_error(client.get(f"{API}/extensions", headers=token_for(client, "resident")), 403)
    with app.app_context():
        assert extension_row(asked)[0] == "pending"
    assert client.post(f"{API}/extensions/{asked}/refuse", headers=supervisor,
                       json={"reason": "Ask the store"}).json["status"] == "refused"
    assert_error(client.post(f"{API}/extensions/{asked}/approve", headers=supervisor,
                             json={}), 409)


# -- the pages -------------------------------------------------------------------------------------

def test_a_butler_asks_on_the_ticket_page_and_a_mistake_keeps_what_they_typed(
        app, browser, estate, clock):
    with app.app_context():
        repair = on_site(Desk(estate)).id
    page = browser("butler")
    shown = page.get(f"/tickets/{repair}").text
    assert "Ask for more time: Completion" in shown
    assert "Ask for more time: Arrival on site" not in shown  # met, and not extendable anyway
    assert "At most 3 days more, so by 2026-11-20 09:00." in shown
    sent = page.post(f"/tickets/{repair}/extensions/completion", data={
        "csrf_token": csrf_token(shown), "ask-completion-due_at": "2026-11-21T09:00",
        "ask-completion-reason": "The plumber's valve is on back order"})
    assert sent.status_code == 422
    assert "must be at most 3 days after it is due now, so by 2026-11-20 09:00" in field_html(
        sent.text, "ask-completion-due_at")
    assert 'class="error-summary"' in sent.text and "details class=\"confirm ask-more-time\" open" \
        in sent.text
    assert "The plumber&#39;s valve is on back order" in sent.text
    assert 'value="2026-11-21T09:00"' in sent.text

    sent = page.post(f"/tickets/{repair}/extensions/completion", data={
        "csrf_token": csrf_token(shown), "ask-completion-due_at": "2026-11-18T09:00",
        "ask-completion-reason": "The plumber's valve is on back order"})
    assert sent.status_code == 302
    shown = page.get(f"/tickets/{repair}").text
    assert flashes(shown, "success")
    assert '<a href="#more-time">more time asked</a>' in shown
    assert "Ask for more time: Completion" not in shown  # one request waits at a time
    assert "Due 2026-11-17 09:00 → asked for 2026-11-18 09:00" in shown
    assert "More time asked for Completion: 2026-11-17 09:00 → 2026-11-18 09:00" in shown
    assert "Withdraw the request" in shown

    sent = page.post(f"/tickets/{repair}/extensions/completion", data={
        "csrf_token": csrf_token(shown), "ask-completion-due_at": "2026-11-18T10:00",
        "ask-completion-reason": "Again"})
    assert sent.status_code == 409  # asked already: said at the top, the text kept
    assert any("asked already" in f for f in flashes(sent.text, "error"))
    assert "Not sent" in sent.text and "Again" in sent.text


def test_the_supervisor_decides_on_waiting_for_you(app, browser, estate, clock):
    with app.app_context():
        repair = on_site(Desk(estate)).id
        asked = ask(estate, repair).id
    page = browser("supervisor")
    waiting = page.get("/supervisor/waiting").text
    assert f'id="extension-{asked}"' in waiting and PART in waiting
    assert f"#{repair} Tap leaking" in waiting
    sent = page.post(f"/supervisor/extensions/{asked}/refuse", data={
        "csrf_token": csrf_token(waiting), f"refuse-{asked}-reason": ""})
    assert sent.status_code == 422
    assert "is required" in field_html(sent.text, f"refuse-{asked}-reason")
    assert 'class="error-summary"' in sent.text
    sent = page.post(f"/supervisor/extensions/{asked}/approve", data={
        "csrf_token": csrf_token(waiting), f"approve-{asked}-note": "Back order confirmed"})
    assert sent.status_code == 302
    waiting = page.get("/supervisor/waiting").text
    assert flashes(waiting, "success") == ["More time given: the step is due at the new time."]
    assert "Nobody is waiting for more time." in waiting
    assert page.post(f"/supervisor/extensions/{asked}/maybe", data={
        "csrf_token": csrf_token(waiting)}).status_code == 404

    staff = browser("butler").get(f"/tickets/{repair}").text
    assert "More time given for Completion: 2026-11-17 09:00 → 2026-11-18 09:00" in staff
    assert "Back order confirmed" in staff
    # The resident reads the new time, and that it moved; not the reasons.
    theirs = browser("resident").get(f"/tickets/{repair}").text
    assert "it should be fixed by 11-18 09:00" in theirs
    assert "Completion: now due by 2026-11-18 09:00 (was 2026-11-17 09:00)" in theirs
    assert PART not in theirs and "Back order confirmed" not in theirs
    assert "More time asked" not in theirs


def test_the_pages_in_chinese(app, browser, estate, clock):
    with app.app_context():
        repair = on_site(Desk(estate)).id
        ask(estate, repair)
    waiting = browser("supervisor", "zh").get("/supervisor/waiting").text
    assert "申请延期" in waiting
    ticket = browser("butler", "zh").get(f"/tickets/{repair}").text
    assert "延期" in ticket and "完工" in ticket


def test_a_butler_withdraws_on_the_page(app, browser, estate, clock):
    with app.app_context():
        repair = on_site(Desk(estate)).id
        asked = ask(estate, repair).id
    page = browser("butler")
    shown = page.get(f"/tickets/{repair}").text
    sent = page.post(f"/extensions/{asked}/cancel", data={"csrf_token": csrf_token(shown)})
    assert sent.status_code == 302
    assert "Request withdrawn" in flashes(page.get(f"/tickets/{repair}").text, "success")[0]
    again = page.post(f"/extensions/{asked}/cancel", data={"csrf_token": csrf_token(shown)})
    assert again.status_code == 409
    assert browser("other_butler").post(f"/extensions/{asked}/cancel", data={
        "csrf_token": csrf_token(shown)}).status_code in (400, 404)


# -- at once ---------------------------------------------------------------------------------------

def test_two_supervisors_approving_at_once_move_the_deadline_once(app, estate, clock):
    with app.app_context():
        repair = on_site(Desk(estate)).id
        asked = ask(estate, repair).id
        db.session.remove()
    headers = token_for(app.test_client(), "supervisor")

    def approve():
        return app.test_client().post(f"{API}/extensions/{asked}/approve", headers=headers,
                                      json={}).status_code

    assert sorted(at_once([approve] * 6)) == [200] + [409] * 5
    with app.app_context():
        assert [(d.status, d.due_at) for d in all_deadlines(repair, "completion")] == [
            ("extended", T0 + 24 * HOUR), ("running", T0 + 48 * HOUR)]
        assert len([e for e in events(repair) if e.trigger == "extension_approved"]) == 1


def test_an_approval_racing_the_sweepers_miss_waives_once_and_arms_once(app, estate, clock):
    with app.app_context():
        desk = Desk(estate)
        repairs = [on_site(desk, f"Tap leaking, flat {n}").id for n in range(4)]
        clock.move_to(T0 + 23 * HOUR)
        asked = [ask(estate, repair, due_at=T0 + 30 * HOUR).id for repair in repairs]
        db.session.remove()
    clock.move_to(T0 + 24 * HOUR + timedelta(minutes=1))
    headers = token_for(app.test_client(), "supervisor")

    def sweep():
        with app.app_context():
            return sweeper.sweep()

    def approve(extension_id):
        return lambda: app.test_client().post(f"{API}/extensions/{extension_id}/approve",
                                              headers=headers, json={}).status_code

    answers = at_once([sweep] * len(asked) + [approve(x) for x in asked])
    assert answers[len(asked):] == [200] * len(asked)
    with app.app_context():
        for repair in repairs:
            [miss] = deductions(repair)
            assert (miss.missed_at, miss.status) == (T0 + 24 * HOUR, "waived")
            assert [(d.status, d.due_at) for d in all_deadlines(repair, "completion")] == [
                ("missed", T0 + 24 * HOUR), ("running", T0 + 30 * HOUR)]


# -- whatever is asked, decided and swept, and when ------------------------------------------------

ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("ask"), st.integers(-2, 80)),      # hours after the time due now
    st.tuples(st.sampled_from(["approve", "refuse", "cancel", "sweep", "complete"]),
              st.just(0)),
    st.tuples(st.just("wait"), st.integers(1, 40 * 60)),  # minutes
), max_size=12)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_a_step_is_charged_at_most_once_and_its_due_time_never_moves_back(
        databases, template_db, clock, actions):
    estate = template_db[1]
    with database_copy(databases, template_db):
        clock.move_to(T0, tick=False)
        desk = Desk(estate)
        repair = on_site(desk).id
        supervisor, due_in_force = estate.user("supervisor"), T0 + 24 * HOUR
        for action, amount in actions:
            waiting = [x for x in extensions.of_ticket(repair) if x.status == "pending"]
            try:
                if action == "ask":
                    ask(estate, repair, due_at=due_in_force + timedelta(hours=amount))
                elif action == "complete":
                    desk.fire(repair, "complete", "technician")
                elif action == "sweep":
                    sweeper.sweep()
                elif action == "wait":
                    clock.shift(timedelta(minutes=amount))
                elif waiting and action == "cancel":
                    extensions.cancel(estate.user("butler"), waiting[0].id)
                elif waiting:
                    decide = getattr(extensions, action)
                    decide(supervisor, waiting[0].id, *(["No"] if action == "refuse" else []))
            except (Conflict, InvalidData):
                pass
            rows = all_deadlines(repair, "completion")
            assert sum(d.status in ("running", "paused") for d in rows) <= 1
            assert sum(x.status == "pending" for x in extensions.of_ticket(repair)) <= 1
            assert rows[-1].due_at >= due_in_force  # never earlier than before
            due_in_force = rows[-1].due_at
        clock.shift(timedelta(days=10))
        sweeper.sweep()
        # (a completed repair's follow-up may be missed too: it is another step)
        assert len([d for d in counting(repair) if d.deadline.name == "completion"]) <= 1
        # Every waived miss was waived by an approval of this step, once.
        waived = [d for d in deductions(repair) if d.status == "waived"]
        approved = [x for x in extensions.of_ticket(repair) if x.waived_id]
        assert sorted(d.id for d in waived) == sorted(x.waived_id for x in approved)


# -- a deadline paused while its request waits ----------------------------------------------------

def test_an_approval_while_the_clock_is_paused_gives_that_much_more_when_it_runs_again(
        database_url, estate, clock, tmp_path):
    """A company that lets a complaint's reply be moved: approved while the complaint waits on
    the resident, the reply has the time asked for on top of what was left on its clock."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES_FILE.read_text(encoding="utf-8").replace(
        'due_from = "promised_at"\n', 'due_from = "promised_at"\nextend_up_to = "24h"\n', 1),
        encoding="utf-8")
    with database_of(make_app(database_url, RULES_FILE=str(rules))):
        desk = Desk(estate)
        complaint = desk.open("resident", "complaint", "Noise at night").id
        desk.fire(complaint, "accept", "butler")
        asked = ask(estate, complaint, due_at=T0 + 60 * HOUR, name="reply",
                    reason="The resident is away until Thursday")
        clock.shift(HOUR)
        desk.fire(complaint, "wait_resident", "butler", note="When is it loudest?")
        extensions.approve(estate.user("supervisor"), asked.id)
        paused, moved = all_deadlines(complaint, "reply")
        assert (paused.status, moved.status, moved.due_at) == ("extended", "paused", None)
        assert moved.remaining_seconds == int((47 * HOUR + 12 * HOUR).total_seconds())
        clock.shift(HOUR)
        desk.fire(complaint, "resume", "resident")
        assert deadline(complaint, "reply").due_at == T0 + 2 * HOUR + 59 * HOUR
        approved = events(complaint)[-2]
        assert (approved.trigger, approved.data["paused"]) == ("extension_approved", True)


def test_the_notices_say_who_asked_for_which_step_from_when_to_when(desk, estate, clock):
    repair = on_site(desk)
    asked = ask(estate, repair.id)
    extensions.refuse(estate.user("supervisor"), asked.id, "Use the spare valve")
    said = {n.user_id: notices.words(n, current_rules(), "en") for n in db.session.scalars(
        select(Notice).where(Notice.cause == "extension", Notice.channel == "inapp"))}
    to_supervisor, to_butler = said[estate.supervisor], said[estate.butler]
    assert to_supervisor.subject == f"More time asked: Completion, Repair #{repair.id} Tap leaking"
    assert "Butler asks to move Completion" in to_supervisor.text
    assert "from 2026-11-17 09:00 to 2026-11-18 09:00" in to_supervisor.text
    assert f"Reason: {PART}" in to_supervisor.text and to_supervisor.path == "/supervisor/waiting"
    assert "it stays due at 2026-11-17 09:00" in to_butler.text
    assert "Reason: Use the spare valve" in to_butler.text
    assert to_butler.path == f"/tickets/{repair.id}"
    first = db.session.scalars(select(Notice).where(Notice.cause == "extension")).first()
    assert notices.words(first, current_rules(), "zh").subject.startswith("申请延期：完工")
