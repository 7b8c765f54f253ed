"""What residents, butlers and supervisors tripped on in daily use, one class at a time.

- A request sent twice (the back button, a reload, a client's retry) makes one ticket: the same
  words from the same person within `repeat_within` are the first ticket; an API POST sent again
  with its Idempotency-Key gets the first answer back.
- A reopened repair starts a new round: no old rating, technician or "follow-up done"; the
  earlier deadlines (yesterday's daily inspections) are history, folded away.
- Staff may keep a note from the resident; the resident never reads it, on a page or the API.
- A rejected renovation is put right whole: its title and description too.
- A finding cites only a ticket the butler answered for.
- Staff who must call the resident see the phone to tap; residents never see another's.
- Files can be added after the request, from the pages.
- A violation found on an inspection has its own deadline to be put right.
- What a step says once done is said as a person would, per trigger, in each language.
- The month's lines are exported as CSV too; a closed month offers no new finding.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Deadline, Deduction, Event, IdempotentRequest, Ticket, User, db
from tests.api import API, token_for
from tests.helpers import deadline, deductions, fresh
from tests.pages import (
    JPEG,
    RENOVATION,
    csrf_token,
    field_html,
    fire,
    fire_form,
    flashes,
    forms_on,
    open_ticket,
    section,
    stored,
    submit,
    ticket_count,
    ticket_from,
    user_id,
)
from workflows import assessment, engine, sweeper
from workflows.clock import now
from workflows.errors import AlreadyRegistered, Conflict, InvalidData

PERMIT = {key: RENOVATION[key] for key in ("works_start", "works_end", "contractor_name",
                                           "contractor_phone", "foreman_name", "foreman_phone",
                                           "workers")}


def ticket_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Ticket))


# -- a request sent twice is one ticket ----------------------------------------------------------

def test_the_request_form_sent_again_is_the_ticket_made_the_first_time(app, estate, browser,
                                                                        clock):
    client = browser("resident")
    data = {"kind": "repair", "title": "Kitchen tap leaking", "description": "Drips all night."}
    first = ticket_from(submit(client, data))
    clock.shift(timedelta(minutes=3))
    again = submit(client, data)  # the back button, then Send once more
    assert ticket_from(again) == first
    assert flashes(client.get(again.location).text, "info") == [
        f"You sent this at 09:00: it is request #{first}."]
    assert ticket_count(app) == 1
    clock.shift(timedelta(minutes=20))
    with app.app_context():  # one ticket, so one set of clocks and one miss
        sweeper.sweep()
        assert db.session.scalar(select(func.count()).select_from(Deadline)) == 2
        assert db.session.scalar(select(func.count()).select_from(Deduction)) == 1


def test_a_request_that_differs_or_comes_later_is_a_new_ticket(app, estate, browser, clock):
    client = browser("resident")
    first = ticket_from(submit(client, {"kind": "repair", "title": "Tap leaking"}))
    other = ticket_from(submit(client, {"kind": "repair", "title": "Tap leaking",
                                        "description": "The bathroom one this time."}))
    clock.shift(timedelta(minutes=11))
    later = ticket_from(submit(client, {"kind": "repair", "title": "Tap leaking"}))
    assert len({first, other, later}) == 3


def test_a_repeat_of_a_cancelled_request_is_a_new_ticket(desk, estate, clock):
    first = desk.open("resident", "repair", "Tap leaking")
    desk.fire(first, "cancel", "resident", reason="It stopped")
    assert desk.open("resident", "repair", "Tap leaking").id != first.id


def test_the_engine_names_the_ticket_a_repeat_is(desk, estate, clock):
    first = desk.open("resident", "repair", "Tap leaking").id
    with pytest.raises(AlreadyRegistered) as refused:
        desk.open("resident", "repair", "Tap leaking")
    assert refused.value.ticket_id == first
    # Someone else saying the same is their own request.
    assert desk.open("neighbour", "repair", "Tap leaking").id != first


def test_the_api_answers_a_repeat_409_with_the_ticket_it_made(app, client, estate, clock):
    resident = token_for(client, "resident")
    body = {"kind": "repair", "title": "Tap leaking"}
    first = client.post(f"{API}/tickets", headers=resident, json=body)
    again = client.post(f"{API}/tickets", headers=resident, json=body)
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_registered"
    assert again.json["error"]["ticket_id"] == first.json["id"]
    assert ticket_rows(app) == 1


def test_a_post_sent_again_with_its_idempotency_key_gets_the_first_answer(app, client, estate,
                                                                          clock):
    butler = token_for(client, "butler")
    keyed = {**butler, "Idempotency-Key": "3f0c2a4e-retry-1"}
    body = {"kind": "repair", "title": "Lift stuck", "unit_id": estate.unit_a}
    first = client.post(f"{API}/tickets", headers=keyed, json=body)
    again = client.post(f"{API}/tickets", headers=keyed, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert ticket_rows(app) == 1

    # A step too: the retried dispatch is not refused as stale, it is the same answer.
    step = {"trigger": "dispatch", "version": first.json["version"],
            "technician_id": estate.technician}
    headers = {**butler, "Idempotency-Key": "dispatch-7"}
    fired = client.post(f"{API}/tickets/{first.json['id']}/fire", headers=headers, json=step)
    retried = client.post(f"{API}/tickets/{first.json['id']}/fire", headers=headers, json=step)
    assert fired.status_code == retried.status_code == 200
    assert retried.json["version"] == fired.json["version"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)
                                 .where(Event.trigger == "dispatch")) == 1


def test_an_idempotency_key_with_another_request_is_refused_naming_the_header(
        app, client, estate, clock):
    butler = {**token_for(client, "butler"), "Idempotency-Key": "one-key"}
    client.post(f"{API}/tickets", headers=butler,
                json={"kind": "repair", "title": "Lift stuck", "unit_id": estate.unit_a})
    other = client.post(f"{API}/tickets", headers=butler,
                        json={"kind": "repair", "title": "Door stuck", "unit_id": estate.unit_a})
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json["error"]["fields"]
    assert ticket_rows(app) == 1
    for bad in ("", "x" * 256, "ключ"):
        reply = client.post(f"{API}/tickets", json={"kind": "repair", "title": "Door"},
                            headers={**butler, "Idempotency-Key": bad})
        assert reply.status_code == 422 and "Idempotency-Key" in reply.json["error"]["fields"]
    assert ticket_rows(app) == 1


def test_an_idempotency_key_is_each_persons_own_and_kept_a_day(app, client, estate, clock):
    body = {"kind": "repair", "title": "Lift stuck", "unit_id": estate.unit_a}
    for who in ("butler", "supervisor"):
        reply = client.post(f"{API}/tickets", json=body,
                            headers={**token_for(client, who), "Idempotency-Key": "same"})
        assert reply.status_code == 201 and "Idempotent-Replayed" not in reply.headers
    clock.shift(timedelta(hours=24, minutes=1))
    reply = client.post(f"{API}/tickets", json={**body, "title": "Lift stuck again"},
                        headers={**token_for(client, "butler"), "Idempotency-Key": "same"})
    assert reply.status_code == 201 and "Idempotent-Replayed" not in reply.headers
    with app.app_context():  # the day-old answers are cleared away
        assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 1


def test_a_refusal_is_kept_for_its_key_too(app, client, estate, clock):
    headers = {**token_for(client, "resident"), "Idempotency-Key": "empty-title"}
    first = client.post(f"{API}/tickets", headers=headers, json={"kind": "repair", "title": ""})
    again = client.post(f"{API}/tickets", headers=headers, json={"kind": "repair", "title": ""})
    assert first.status_code == again.status_code == 422
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"


# -- a reopened repair starts a new round ----------------------------------------------------------

def reopened_repair(app, clock) -> int:
    ticket = open_ticket(app, "resident")
    fire(app, ticket, "dispatch", "butler", technician_id=_user(app, "technician"))
    fire(app, ticket, "arrive", "technician")
    fire(app, ticket, "complete", "technician")
    fire(app, ticket, "visit", "butler", rating=4)
    fire(app, ticket, "rate", "resident", rating=5)
    clock.shift(timedelta(hours=2))
    fire(app, ticket, "reopen", "resident", reason="Dripping again")
    return ticket


def _user(app, username: str) -> int:
    with app.app_context():
        return user_id(username)


def test_a_reopened_repair_forgets_its_rating_and_technician(app, estate, browser, clock):
    ticket = reopened_repair(app, clock)
    assert stored(app, ticket)["rating"] is None
    assert stored(app, ticket)["technician_id"] is None
    staff = browser("butler").get(f"/tickets/{ticket}").text
    facts = section(staff, '<dl class="facts">', "</dl>")
    assert "Rating" not in facts and "Technician" not in facts
    # ... which its timeline still tells.
    timeline = section(staff, "Timeline")
    assert "Follow-up visit recorded" in timeline and "★★★★" in timeline


def test_the_ticket_page_says_whose_rating_counts(app, estate, browser, clock):
    ticket = open_ticket(app, "resident")
    fire(app, ticket, "dispatch", "butler", technician_id=_user(app, "technician"))
    fire(app, ticket, "arrive", "technician")
    fire(app, ticket, "complete", "technician")
    fire(app, ticket, "visit", "butler", rating=4)
    facts = section(browser("butler").get(f"/tickets/{ticket}").text, '<dl class="facts">',
                    "</dl>")
    assert "★★★★☆" in facts
    assert "as Butler recorded it at the follow-up, 2026-11-16 09:00; a rating the resident " \
        "gives replaces it" in facts
    clock.shift(timedelta(hours=1))
    fire(app, ticket, "rate", "resident", rating=2)
    facts = section(browser("supervisor").get(f"/tickets/{ticket}").text, '<dl class="facts">',
                    "</dl>")
    assert "★★☆☆☆" in facts and "the resident's own, 2026-11-16 10:00" in facts


def test_a_reopened_repairs_resident_sees_this_rounds_promises_only(app, estate, browser,
                                                                     clock):
    ticket = reopened_repair(app, clock)
    page = browser("resident").get(f"/tickets/{ticket}").text
    promises = section(page, '<ul class="promises">', "</ul>")
    assert "Follow-up visit" not in promises  # done in the round before, not this one
    assert "Arrival on site" in promises and "by 2026-11-16 11:20" in promises
    assert "Your rating" not in page

    # After the second visit the resident is asked again, not thanked for the old rating.
    fire(app, ticket, "dispatch", "butler", technician_id=estate.technician)
    for trigger, who, data in (("arrive", "technician", {}), ("complete", "technician", {}),
                               ("visit", "butler", {"rating": 3})):
        fire(app, ticket, trigger, who, **data)
    page = browser("resident").get(f"/tickets/{ticket}").text
    assert "Your turn: how did it go? Rate it from 1 to 5." in page
    assert "rate" in forms_on(page, ticket)


def test_the_earlier_deadlines_are_folded_under_the_current_ones(app, estate, browser, clock):
    ticket = open_ticket(app, "resident", kind="renovation", title="New kitchen", details=PERMIT)
    fire(app, ticket, "approve", "butler")
    fire(app, ticket, "start_works", "resident")
    for _day in range(3):
        clock.shift(timedelta(hours=20))
        fire(app, ticket, "inspect", "butler", result="ok")
    page = browser("butler").get(f"/tickets/{ticket}").text
    current = section(page, "<h2>Deadlines</h2>", "<details")
    assert current.count("Daily site inspection") == 1
    earlier = section(page, '<details class="earlier-deadlines">', "</details>")
    assert "Earlier deadlines (3)" in earlier  # the days before today
    assert earlier.count("Daily site inspection") == 3


# -- notes for staff only ----------------------------------------------------------------------

def test_a_note_for_staff_only_is_never_shown_to_the_resident(app, client, estate, browser,
                                                               clock):
    ticket = open_ticket(app, "resident")
    reply = fire_form(browser("butler"), ticket, "dispatch", technician_id=estate.technician,
                      note="请带疏通工具", staff_only="y")
    assert reply.status_code == 302
    staff_page = browser("technician").get(f"/tickets/{ticket}").text
    assert "请带疏通工具" in staff_page and "Staff only" in staff_page
    assert "请带疏通工具" not in browser("resident").get(f"/tickets/{ticket}").text

    as_resident = client.get(f"{API}/tickets/{ticket}", headers=token_for(client, "resident"))
    [dispatch] = [e for e in as_resident.json["events"] if e["trigger"] == "dispatch"]
    assert dispatch["note"] == "" and dispatch["staff_only"] is True
    assert "请带疏通工具" not in as_resident.text
    as_butler = client.get(f"{API}/tickets/{ticket}", headers=token_for(client, "butler"))
    [dispatch] = [e for e in as_butler.json["events"] if e["trigger"] == "dispatch"]
    assert dispatch["note"] == "请带疏通工具"


def test_a_resident_cannot_hide_a_note_nor_a_reply_be_hidden(app, client, estate, clock):
    ticket = open_ticket(app, "resident")
    resident = token_for(client, "resident")
    reply = client.post(f"{API}/tickets/{ticket}/fire", headers=resident, json={
        "trigger": "cancel", "version": 1, "reason": "Fixed it", "note": "x",
        "staff_only": True})
    assert reply.status_code == 422 and "staff_only" in reply.json["error"]["fields"]
    [cancel] = [t for t in client.get(f"{API}/tickets/{ticket}", headers=resident)
                .json["allowed_triggers"] if t["name"] == "cancel"]
    assert "staff_only" not in cancel["accepts"]

    complaint = open_ticket(app, "resident", kind="complaint", title="Noise")
    butler = token_for(client, "butler")
    fire(app, complaint, "accept", "butler")
    reply = client.post(f"{API}/tickets/{complaint}/fire", headers=butler, json={
        "trigger": "reply", "version": stored(app, complaint)["version"],
        "note": "The gym closes at 21:00.", "staff_only": True})
    assert reply.status_code == 422  # a reply is the resident's to read
    assert stored(app, complaint)["state"] == "accepted"


# -- a rejected renovation is put right whole ------------------------------------------------------

def test_a_resubmission_may_change_the_title_and_description(app, estate, browser, clock):
    ticket = open_ticket(app, "resident", kind="renovation", title="New kitchen",
                         description="Tiles and a wall", details=PERMIT)
    fire(app, ticket, "reject", "butler", reason="No walls may be moved")
    client = browser("resident")
    page = client.get(f"/tickets/{ticket}").text
    form = section(page, f'action="/tickets/{ticket}/fire/resubmit"', "</form>")
    assert 'value="New kitchen"' in form and "Tiles and a wall</textarea>" in form

    reply = fire_form(client, ticket, "resubmit", title="New kitchen, no walls moved",
                      description="Tiles only", **PERMIT)
    assert reply.status_code == 302
    with app.app_context():
        ticket_now = db.session.get(Ticket, ticket)
        assert (ticket_now.title, ticket_now.description, ticket_now.state) == (
            "New kitchen, no walls moved", "Tiles only", "applied")
        event = db.session.scalar(select(Event).where(Event.ticket_id == ticket,
                                                      Event.trigger == "resubmit"))
        assert event.data["description"] == {"from": "Tiles and a wall", "to": "Tiles only"}
    timeline = section(client.get(f"/tickets/{ticket}").text, "What was done")
    assert "<del>Tiles and a wall</del> → <ins>Tiles only</ins>" in timeline


# -- a finding cites one of the butler's tickets -------------------------------------------------

def test_a_finding_citing_another_areas_ticket_is_refused_naming_the_ticket(desk, estate, clock):
    east = desk.open("resident", "repair", "Tap").id
    before = db.session.scalar(select(func.count()).select_from(Deduction))
    with pytest.raises(InvalidData) as refused:
        assessment.record_finding(estate.user("supervisor"), estate.other_butler, "4",
                                  "Not followed up", ticket_id=east)
    assert "ticket_id" in refused.value.fields
    assert db.session.scalar(select(func.count()).select_from(Deduction)) == before
    # The butler who answered for it may be charged with it.
    line = assessment.record_finding(estate.user("supervisor"), estate.butler, "4",
                                     "Not followed up", ticket_id=east)
    assert line.ticket_id == east


def test_the_finding_page_refuses_another_areas_ticket_next_to_the_field(app, estate, browser,
                                                                          clock):
    east = open_ticket(app, "resident")
    client = browser("supervisor")
    form = client.get("/assessment/findings/new").text
    reply = client.post("/assessment/findings/new", data={
        "butler_id": str(estate.other_butler), "code": "4", "note": "Not followed up",
        "ticket_id": str(east), "csrf_token": csrf_token(form)})
    assert reply.status_code == 422
    assert "is not one Other_Butler answered for" in section(reply.text, 'for="ticket_id"',
                                                             "</div>")


# -- the resident's phone, for staff who call ----------------------------------------------------

def test_staff_see_the_residents_phone_to_call_and_residents_do_not(app, client, estate, browser,
                                                                    clock):
    ticket = open_ticket(app, "resident")
    fire(app, ticket, "dispatch", "butler", technician_id=estate.technician)
    call = '<a class="tel" href="tel:13800000101">138 0000 0101</a>'
    for who in ("butler", "technician", "supervisor"):
        assert call in browser(who).get(f"/tickets/{ticket}").text, who
    assert call in browser("butler").get("/queue/").text
    assert "138 0000 0101" not in browser("resident").get(f"/tickets/{ticket}").text
    assert client.get(f"{API}/tickets/{ticket}", headers=token_for(client, "butler")
                      ).json["resident_phone"] == "138 0000 0101"
    assert client.get(f"{API}/tickets/{ticket}", headers=token_for(client, "resident")
                      ).json["resident_phone"] is None


def test_the_spot_check_list_gives_the_phone_to_call(app, estate, browser, clock):
    ticket = open_ticket(app, "resident")
    for trigger, who, data in (("dispatch", "butler", {"technician_id": estate.technician}),
                               ("arrive", "technician", {}), ("complete", "technician", {}),
                               ("visit", "butler", {"rating": 5}), ("close", "butler", {})):
        fire(app, ticket, trigger, who, **data)
    clock.move_to("2026-12-01T02:00:00+00:00")
    with app.app_context():
        assessment.draw_spot_check(db.session.get(User, user_id("supervisor")), "2026-11")
    page = browser("supervisor").get("/assessment/spot-checks?month=2026-11").text
    assert '<a class="tel" href="tel:13800000101">138 0000 0101</a>' in page


# -- files after the request ---------------------------------------------------------------------

def test_a_resident_sends_a_photo_after_the_request(app, estate, browser, clock):
    ticket = open_ticket(app, "resident")
    client = browser("resident")
    page = client.get(f"/tickets/{ticket}").text
    assert "Send photos or documents" in page
    reply = client.post(f"/tickets/{ticket}/files", content_type="multipart/form-data", data={
        "add-csrf_token": csrf_token(page), "add-kind": "photo", "add-note": "Under the sink",
        "add-files": [(io.BytesIO(JPEG), "leak.jpg")]})
    assert reply.status_code == 302
    after = client.get(reply.location).text
    assert flashes(after, "success") == ["Thank you: the files are added."]
    assert "Under the sink" in after and 'alt="Photo leak.jpg"' in after
    assert stored(app, ticket)["version"] == 1  # the ticket itself is as it was


def test_sending_no_file_is_refused_next_to_the_input_keeping_the_note(app, estate, browser,
                                                                       clock):
    ticket = open_ticket(app, "resident")
    client = browser("resident")
    page = client.get(f"/tickets/{ticket}").text
    reply = client.post(f"/tickets/{ticket}/files", data={
        "add-csrf_token": csrf_token(page), "add-kind": "photo", "add-note": "Under the sink"})
    assert reply.status_code == 422
    assert "is required" in section(reply.text, 'for="add-files"', "</div>")
    assert "Under the sink</textarea>" in reply.text
    assert '<details class="card add-files" open>' in reply.text
    assert 'href="#add-files"' in section(reply.text, 'class="error-summary', "</div>")
    assert "Choose the files again" not in reply.text  # none was chosen


# -- a violation is put right by a deadline --------------------------------------------------------

def test_a_violation_must_be_put_right_within_72_hours(desk, estate, clock):
    permit = desk.open("resident", "renovation", "New kitchen", details=PERMIT).id
    desk.fire(permit, "approve", "butler")
    desk.fire(permit, "start_works", "resident")
    desk.fire(permit, "inspect", "butler", result="violation", note="Debris in the stairwell")
    rectification = deadline(permit, "rectification")
    assert rectification.status == "running"
    assert rectification.due_at == now() + timedelta(hours=72)
    for _day in range(3):  # inspected every day; the violation still there
        clock.shift(timedelta(hours=23))
        desk.fire(permit, "inspect", "butler", result="violation", note="Still there")
    clock.shift(timedelta(hours=4))
    sweeper.sweep()
    [line] = [d for d in deductions(permit) if d.deadline.name == "rectification"]
    assert (line.points, line.article, line.butler_id) == (-2, 6, estate.butler)


def test_a_violation_put_right_in_time_costs_nothing(desk, estate, clock):
    permit = desk.open("resident", "renovation", "New kitchen", details=PERMIT).id
    desk.fire(permit, "approve", "butler")
    desk.fire(permit, "start_works", "resident")
    desk.fire(permit, "inspect", "butler", result="violation", note="Debris")
    clock.shift(timedelta(hours=20))
    desk.fire(permit, "inspect", "butler", result="ok", note="Cleared")
    assert deadline(permit, "rectification").status == "met"
    assert fresh(permit).state == "in_progress"


def test_a_resident_withdraws_an_application_and_its_review_clock_stops(desk, estate, clock):
    permit = desk.open("resident", "renovation", "New kitchen", details=PERMIT).id
    desk.fire(permit, "withdraw", "resident", reason="We are selling the flat")
    assert fresh(permit).state == "withdrawn"
    assert deadline(permit, "review").status == "cancelled"
    clock.shift(timedelta(days=3))
    sweeper.sweep()
    assert deductions(permit) == []


def test_works_once_started_cannot_be_withdrawn(desk, estate, clock):
    permit = desk.open("resident", "renovation", "New kitchen", details=PERMIT).id
    desk.fire(permit, "approve", "butler")
    desk.fire(permit, "start_works", "resident")
    allowed = engine.allowed_triggers(fresh(permit), estate.user("resident"))
    assert "withdraw" not in [t.name for t in allowed]


# -- what a step says once done ------------------------------------------------------------------

@pytest.mark.parametrize("language, expected", [
    ("en", "Technician dispatched."), ("zh-CN", "已派工。")])
def test_a_done_step_is_said_as_a_person_would(app, estate, browser, clock, language, expected):
    ticket = open_ticket(app, "resident")
    client = browser("butler", language)
    reply = fire_form(client, ticket, "dispatch", technician_id=estate.technician)
    assert flashes(client.get(reply.location).text, "success") == [expected]


def test_chinese_labels_take_a_full_width_colon(app, estate, browser, clock):
    ticket = open_ticket(app, "resident")
    fire(app, ticket, "cancel", "butler", reason="业主自行修好")
    page = browser("butler", "zh-CN").get(f"/tickets/{ticket}").text
    assert "<strong>原因：</strong>业主自行修好" in page
    assert "原因:" not in page


# -- exports and a closed month ------------------------------------------------------------------

def test_every_line_of_the_month_is_exported_as_csv(app, estate, browser, clock):
    open_ticket(app, "resident")
    clock.shift(timedelta(minutes=21))
    with app.app_context():
        sweeper.sweep()
    reply = browser("supervisor").get("/assessment/lines.csv?month=2026-11")
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"] == \
        'attachment; filename="butlerdesk-Garden-2026-11-lines.csv"'
    rows = list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["日期", "管家", "来源"] and "备注" in rows[0]
    assert len(rows) == 2 and rows[1][1] == "Butler" and rows[1][5] == "-2"
    assert re.fullmatch(r"2026-11-16 09:20", rows[1][0])


def test_a_closed_month_offers_no_new_finding(app, estate, browser, clock):
    clock.move_to("2026-12-02T02:00:00+00:00")
    client = browser("supervisor")
    page = client.get("/assessment/?month=2026-11").text
    assert "Record a finding or bonus" in page
    with app.app_context():
        assessment.close_month(db.session.get(User, user_id("supervisor")), "2026-11", "")
    page = client.get("/assessment/?month=2026-11").text
    assert "Record a finding or bonus" not in page


def test_a_month_with_closed_work_is_not_closed_before_its_spot_check_is_drawn(app, estate,
                                                                               browser, clock):
    ticket = open_ticket(app, "resident")
    for trigger, who, data in (("dispatch", "butler", {"technician_id": _user(app, "technician")}),
                               ("arrive", "technician", {}), ("complete", "technician", {}),
                               ("visit", "butler", {"rating": 5}), ("close", "butler", {})):
        fire(app, ticket, trigger, who, **data)
    clock.move_to("2026-12-02T02:00:00+00:00")
    client = browser("supervisor")
    page = client.get("/assessment/?month=2026-11").text
    pending = section(page, 'id="pending"', "</div>")
    assert "Draw the spot-check of 2026-11" in pending
    assert 'action="/assessment/close?month=2026-11"' not in page
    with app.app_context(), pytest.raises(Conflict) as refused:
        assessment.close_month(db.session.get(User, user_id("supervisor")), "2026-11")
    assert "and the spot-check to draw" in refused.value.message
    with app.app_context():
        assessment.draw_spot_check(db.session.get(User, user_id("supervisor")), "2026-11")
    assert "Draw the spot-check" not in client.get("/assessment/?month=2026-11").text


def test_the_month_page_says_when_it_can_be_closed(app, estate, browser, clock):
    client = browser("supervisor")
    state = section(client.get("/assessment/?month=2026-11").text, 'class="month-state', "</p>")
    assert "The month is not over yet; it can be closed once it ends." in state
    assert "Open" not in state
    clock.move_to("2026-12-02T02:00:00+00:00")
    state = section(browser("supervisor").get("/assessment/?month=2026-11").text,
                    'class="month-state', "</p>")
    assert "The month is over; it can be closed once nothing is pending." in state


def test_the_api_exports_the_lines_as_csv_too(app, client, estate, clock):
    reply = client.get(f"{API}/scorecards?month=2026-11&format=lines-csv",
                       headers=token_for(client, "supervisor"))
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_pasted_title_too_long_is_said_and_kept_not_cut_short(app, estate, browser, clock):
    client = browser("resident")
    form = client.get("/tickets/new").text
    assert "maxlength" not in section(form, 'id="title"', ">")
    title = "水" * 201
    reply = submit(client, {"kind": "repair", "title": title})
    assert reply.status_code == 422
    assert "at most 200 characters" in field_html(reply.text, "title")
    assert f'value="{title}"' in field_html(reply.text, "title")
    assert ticket_count(app) == 0


# -- switching language on a page shown again after a refusal -----------------------------------

def test_the_language_switch_on_a_refused_form_goes_back_to_its_page(app, estate, browser,
                                                                     clock):
    ticket = open_ticket(app, "resident")
    client = browser("butler")
    refused = fire_form(client, ticket, "cancel", reason="")
    assert refused.status_code == 422
    switch = section(refused.text, 'class="inline lang-switch"', "</form>")
    assert f'name="next" value="/tickets/{ticket}"' in switch
    for shown_at, page in ((f"/tickets/{ticket}/fire/cancel", f"/tickets/{ticket}"),
                           ("/account/password", "/account"),
                           ("/assessment/lines/8/waive", "/assessment/")):
        reply = client.post("/language", data={"lang": "zh_CN", "next": shown_at,
                                                "csrf_token": csrf_token(refused.text)})
        assert reply.status_code == 302 and reply.location == page, shown_at


def test_every_page_names_its_icon_and_the_icon_is_served(app, browser):
    client = browser("resident")
    page = client.get("/tickets/new").text
    [icon] = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    served = client.get(icon)
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"


def test_why_a_complaint_is_escalated_is_for_the_supervisor_not_the_resident(app, client, estate,
                                                                            browser, clock):
    ticket = open_ticket(app, "resident", kind="complaint")
    fire(app, ticket, "accept", "butler", note="Recorded")
    fire(app, ticket, "escalate", "butler", note="This resident complains every week")
    staff = browser("supervisor").get(f"/tickets/{ticket}").text
    assert "This resident complains every week" in staff
    resident = browser("resident").get(f"/tickets/{ticket}").text
    assert "This resident complains every week" not in resident
    assert "Escalated to the supervisor" in resident
    events = client.get(f"{API}/tickets/{ticket}",
                        headers=token_for(client, "resident")).json["events"]
    assert "This resident complains every week" not in str(events)


def test_the_supervisors_hand_over_says_it_holds_every_butlers_work(app, estate, browser, clock):
    page = browser("supervisor").get("/queue/handover").text
    assert "Every butler's open work at 2026-11-16 09:00" in page
    assert "Open work of Supervisor" not in page
