"""The resident's side of the pages (issue 3): submitting a repair, a complaint or a renovation
application with photos and documents, "My requests" with what happens next, the resident's
ticket page (accept or reject a reply, rate, reopen, cancel, request acceptance), photos served
only to those who may see the ticket, and staff adding photos to a step.

Driven as a browser would (CSRF on, tokens read from the page), one test client per person;
tickets a test only needs are opened through the engine in app contexts of their own.
"""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Event, Ticket, User, db
from tests.api import token_for
from tests.conftest import T0
from tests.pages import (
    JPEG,
    PDF,
    PNG,
    RENOVATION,
    attachments,
    csrf_token,
    field_html,
    fire,
    flashes,
    forms_on,
    open_ticket,
    section,
    stored,
    submit,
    ticket_count,
    ticket_from,
)
from workflows import engine, sweeper
from workflows.attachments import UploadedFile
from workflows.errors import InvalidData


def repair_at(app, estate, state: str, who: str = "resident") -> int:
    """A repair moved along its happy path to `state` (reported ... visited, closed)."""
    ticket = open_ticket(app, who, title="Door lock broken")
    path = [("dispatch", "butler", {"technician_id": estate.technician}),
            ("arrive", "technician", {}), ("complete", "technician", {}),
            ("visit", "butler", {"rating": 3, "note": "Called her"}), ("close", "butler", {})]
    states = ["reported", "dispatched", "on_site", "completed", "visited", "closed"]
    for trigger, by, data in path[:states.index(state)]:
        fire(app, ticket, trigger, by, **data)
    return ticket


def fire_form(client, ticket_id: int, trigger: str, files=None, **fields):
    """Fill in a trigger's form on the ticket page and send it (fields without the prefix)."""
    page = client.get(f"/tickets/{ticket_id}").text
    shown = re.search(rf'name="{trigger}-version" type="hidden" value="(\d+)"', page)
    assert shown, f"no form for {trigger} on the page"
    data = {f"{trigger}-{name}": value for name, value in fields.items()}
    data[f"{trigger}-csrf_token"] = csrf_token(page)
    data[f"{trigger}-version"] = shown.group(1)
    if files:
        data[f"{trigger}-photos"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post(f"/tickets/{ticket_id}/fire/{trigger}", data=data,
                       content_type="multipart/form-data")


SCORING = re.compile(r"art\.|\(-\d|-2\b|-5\b|points|deduct|扣分", re.I)


# -- submitting ---------------------------------------------------------------------------------

def test_the_form_offers_the_three_kinds_and_the_residents_own_unit(browser):
    page = browser("resident").get("/tickets/new").text
    for kind in ("repair", "complaint", "renovation"):
        assert f'type="radio" value="{kind}"' in page or f'value="{kind}"' in page
    assert re.search(r'<input[^>]*checked[^>]*value="repair"|<input[^>]*value="repair"[^>]*checked',
                     page)  # the usual case is chosen already
    assert "East · 1栋 101" in page                    # their unit, shown, not picked
    assert 'name="unit_id"' not in page and 'name="reported_at"' not in page
    assert 'name="photos"' in page and 'multiple' in page
    assert 'enctype="multipart/form-data"' in page
    for name in ("works_start", "works_end", "contractor_name", "contractor_phone",
                 "foreman_name", "foreman_phone", "workers", "documents"):
        assert f'<label for="{name}">' in page       # every input has its label


def test_a_resident_submits_a_repair_with_photos(app, estate, browser, tmp_path):
    client = browser("resident")
    reply = submit(client, {"kind": "repair", "title": "Kitchen tap leaking",
                            "description": "Drips all night."},
                   {"photos": [(PNG, "tap.png"), (JPEG, "IMG_0042.JPG"), (PDF, "receipt.pdf")]})
    ticket = ticket_from(reply)
    assert flashes(client.get(reply.location).text, "success") == [
        f"Thank you: request #{ticket} is sent to your butler."]

    files = attachments(app, ticket)
    assert [(f["event"], f["by"], f["name"], f["type"]) for f in files] == [
        ("create", "resident", "tap.png", "image/png"),
        ("create", "resident", "IMG_0042.JPG", "image/jpeg"),
        ("create", "resident", "receipt.pdf", "application/pdf")]
    assert [f["size"] for f in files] == [len(PNG), len(JPEG), len(PDF)]
    on_disk = sorted(p.name for p in (tmp_path / "uploads").iterdir())
    assert on_disk == sorted(f["stored"] for f in files)
    assert all(re.fullmatch(r"[0-9a-f]{32}\.(png|jpg|pdf)", name) for name in on_disk)
    t = stored(app, ticket)
    assert (t["unit_id"], t["resident_id"], t["state"]) == (estate.unit_a, estate.resident,
                                                            "reported")

    page = client.get(f"/tickets/{ticket}").text
    for f in files[:2]:
        assert f'<img src="/tickets/{ticket}/files/{f["id"]}"' in page
    assert f'href="/tickets/{ticket}/files/{files[2]["id"]}"' in page and "receipt.pdf" in page

    mine = client.get("/my/").text
    assert "Kitchen tap leaking" in mine
    # 20 minutes after the report, local time
    assert "We are sending a technician; they are due by 09:20." in mine
    assert mine.count(f'src="/tickets/{ticket}/files/') == 2  # the photos, as thumbnails


def test_a_bad_upload_is_shown_next_to_the_field_and_the_text_is_kept(app, browser, tmp_path):
    client = browser("resident")
    reply = submit(client, {"kind": "repair", "title": "Balcony door sticks",
                            "description": "Since the rain on Sunday"},
                   {"photos": [(PNG, "good.png"), (b"just some text, not a picture", "fake.png")]})

    assert reply.status_code == 422
    photos = field_html(reply.text, "photos")
    assert "has-error" in photos
    assert "fake.png" in photos and "JPEG, PNG, WebP or PDF" in photos
    assert "good.png" not in photos
    assert 'value="Balcony door sticks"' in field_html(reply.text, "title")
    assert "Since the rain on Sunday" in field_html(reply.text, "description")
    assert "Choose the files again" in reply.text
    assert ticket_count(app) == 0
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_a_file_over_10_mb_is_refused(app, browser):
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    reply = submit(browser("resident"), {"kind": "repair", "title": "Crack in the wall"},
                   {"photos": [(big, "wall.png")]})
    assert reply.status_code == 422
    assert "larger than 10 MB" in field_html(reply.text, "photos")
    assert 'value="Crack in the wall"' in reply.text
    assert ticket_count(app) == 0


def test_an_empty_title_and_a_bad_file_are_both_shown(app, browser):
    reply = submit(browser("resident"), {"kind": "complaint", "title": " ",
                                         "description": "Dog barking at night"},
                   {"photos": [(b"GIF89a....", "dog.gif")]})
    assert reply.status_code == 422
    assert "required" in field_html(reply.text, "title")
    assert "JPEG, PNG, WebP or PDF" in field_html(reply.text, "photos")
    assert "Dog barking at night" in field_html(reply.text, "description")
    assert re.search(r'<input[^>]*checked[^>]*value="complaint"|<input[^>]*value="complaint"'
                     r'[^>]*checked', reply.text)
    assert ticket_count(app) == 0


def test_a_renovation_application_with_its_details_and_documents(app, estate, browser):
    client = browser("resident")
    reply = submit(client, RENOVATION, {"documents": [(PDF, "floor-plan.pdf")],
                                        "photos": [(PNG, "kitchen-now.png")]})
    ticket = ticket_from(reply)
    with app.app_context():
        t = db.session.get(Ticket, ticket)
        assert (t.kind, t.state) == ("renovation", "applied")
        assert t.details == {"works_start": "2026-11-20", "works_end": "2026-12-20",
                             "contractor_name": "安居装饰 Anju Decoration",
                             "contractor_phone": "021 5555 0101", "foreman_name": "刘工 Liu",
                             "foreman_phone": "138 0013 8000", "workers": 4}
    assert [f["name"] for f in attachments(app, ticket)] == ["kitchen-now.png", "floor-plan.pdf"]

    # The butler reviews it with everything on the ticket page.
    page = browser("butler").get(f"/tickets/{ticket}").text
    details = section(page, "Renovation permit details", "</section>")
    for text in ("2026-11-20 – 2026-12-20", "安居装饰 Anju Decoration",
                 'href="tel:02155550101"', "刘工 Liu", "138 0013 8000", "Number of workers",
                 "<dd>4</dd>"):
        assert text in details
    assert "floor-plan.pdf" in page

    mine = client.get("/my/").text
    assert "Your butler will review the application by 11-18 09:00." in mine


def test_a_renovation_without_its_details_says_what_is_missing_and_keeps_the_rest(app, browser):
    data = {**RENOVATION, "works_start": "2026-11-20", "works_end": "2026-11-10",
            "foreman_phone": "call him", "workers": "", "foreman_name": ""}
    reply = submit(browser("resident"), data)
    assert reply.status_code == 422
    assert "must not be before Works start" in field_html(reply.text, "works_end")
    assert "phone number" in field_html(reply.text, "foreman_phone")
    assert "required" in field_html(reply.text, "foreman_name")
    assert "required" in field_html(reply.text, "workers")
    assert 'value="安居装饰 Anju Decoration"' in field_html(reply.text, "contractor_name")
    assert 'value="call him"' in field_html(reply.text, "foreman_phone")
    assert ticket_count(app) == 0

    # An empty title too: every message at once.
    reply = submit(browser("resident"), {**data, "title": ""})
    assert "required" in field_html(reply.text, "title")
    assert "phone number" in field_html(reply.text, "foreman_phone")


def test_a_renovation_cannot_start_in_the_past(app, browser):
    reply = submit(browser("resident"), {**RENOVATION, "works_start": "2026-11-15"})
    assert reply.status_code == 422
    assert "must not be in the past" in field_html(reply.text, "works_start")


def test_staff_register_a_renovation_from_a_call_with_the_same_form(app, estate, browser):
    client = browser("butler")
    reply = submit(client, {**RENOVATION, "unit_id": str(estate.unit_b),
                            "reported_at": "2026-11-16T08:30"},
                   {"documents": [(PDF, "plan.pdf")]})
    ticket = ticket_from(reply)
    t = stored(app, ticket)
    assert (t["unit_id"], t["resident_id"]) == (estate.unit_b, estate.neighbour)
    assert t["reported_at"] == T0 - timedelta(minutes=30)
    assert attachments(app, ticket)[0]["by"] == "butler"
    # The neighbour sees the application, and the plan, as theirs.
    neighbour = browser("neighbour")
    assert "Kitchen and bathroom renovation" in neighbour.get("/my/").text
    [plan] = attachments(app, ticket)
    assert neighbour.get(f"/tickets/{ticket}/files/{plan['id']}").status_code == 200


def test_files_sent_as_data_are_never_taken_as_uploads(app, estate, browser):
    """Only the pages store files; the API (JSON) cannot name a stored file for a ticket."""
    ticket = open_ticket(app, "resident")
    with app.app_context():
        resident = db.session.get(User, estate.resident)
        with pytest.raises(InvalidData) as error:
            engine.fire(ticket, "cancel", resident, 1, reason="x",
                        attachments=[{"stored_name": "0" * 32 + ".png"}])
        assert "attachments" in error.value.fields
        with pytest.raises(InvalidData):
            engine.open_ticket(resident, "repair", "Tap", attachments=["a.png"])
        with pytest.raises(InvalidData) as error:
            engine.open_ticket(resident, "repair", "Tap", attachments=[
                UploadedFile(f"{i:032x}.png", "a.png", "image/png", 1) for i in range(11)])
        assert "at most 10" in error.value.fields["attachments"]
    assert stored(app, ticket)["state"] == "reported"

    client = browser("resident")
    token = client.post("/api/v1/tokens", json={"username": "resident", "password": "secret"})
    reply = client.post(f"/api/v1/tickets/{ticket}/fire", json={
        "trigger": "cancel", "version": 1, "reason": "x", "attachments": ["whatever.png"]},
        headers={"Authorization": f"Bearer {token.json['token']}"})
    assert reply.status_code == 422
    assert stored(app, ticket)["state"] == "reported"


# -- My requests ------------------------------------------------------------------------------

def test_my_requests_say_what_happens_next_with_the_turn_first(app, estate, browser, clock):
    reported = open_ticket(app, "resident", title="Light out in the hall")
    clock.shift(timedelta(minutes=1))
    dispatched = open_ticket(app, "resident", title="Toilet blocked")
    fire(app, dispatched, "dispatch", "butler", technician_id=estate.technician)
    clock.shift(timedelta(minutes=1))
    replied = open_ticket(app, "resident", kind="complaint", title="Rubbish left in the hall")
    fire(app, replied, "accept", "butler")
    fire(app, replied, "reply", "butler", note="The cleaners come at 8 from tomorrow.")
    clock.shift(timedelta(minutes=1))
    cancelled = open_ticket(app, "resident", title="Doorbell")
    fire(app, cancelled, "cancel", "resident", reason="Fixed it myself")

    html = browser("resident").get("/my/").text
    cards = re.findall(r'<li class="card request[^"]*">.*?</li>\s*(?=<li class="card|</ul>)',
                       html, re.S)
    order = [int(re.search(r'href="/tickets/(\d+)"', c).group(1)) for c in cards]
    assert order == [replied, reported, dispatched, cancelled]  # then due 09:20, 09:21
    text = dict(zip(order, cards, strict=False))
    assert "Your turn: accept or reject the reply." in text[replied]
    assert "your-turn" in text[replied]
    assert "Technician is on the way, due by 09:21." in text[dispatched]
    assert "We are sending a technician; they are due by 09:20." in text[reported]
    assert "Cancelled." in text[cancelled] and "finished" in text[cancelled]
    assert not SCORING.search(html)

    newest = browser("resident").get("/my/?order=newest").text
    positions = [newest.index(f'href="/tickets/{t}"') for t in (cancelled, replied, dispatched,
                                                                 reported)]
    assert positions == sorted(positions)


def test_a_late_step_is_said_to_be_late_without_any_scoring(app, estate, browser, clock):
    ticket = open_ticket(app, "resident", title="Water coming through the ceiling")
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        assert sweeper.sweep() == 1
    client = browser("resident")
    for page in (client.get("/my/").text, client.get(f"/tickets/{ticket}").text):
        assert ("We are late: a technician should have been with you by 09:20. We are sorry, "
                "and on it.") in page
        assert not SCORING.search(page), SCORING.search(page)
        assert "Deadline missed" not in page
    # The butler does see what the miss costs.
    butler = browser("butler").get(f"/tickets/{ticket}").text
    assert "-2 (art. 4)" in butler and "Deadline missed" in butler


def test_the_resident_ticket_page_has_no_scoring_at_any_step(app, estate, browser, clock):
    ticket = repair_at(app, estate, "completed")
    clock.shift(timedelta(hours=50))      # the follow-up visit is late too
    with app.app_context():
        sweeper.sweep()
    page = browser("resident").get(f"/tickets/{ticket}").text
    assert not SCORING.search(page), SCORING.search(page)
    assert "Promised times" in page
    assert "If missed" not in page


# -- the resident's turn ----------------------------------------------------------------------

def test_resident_accepts_or_rejects_a_reply(app, estate, browser):
    ticket = open_ticket(app, "resident", kind="complaint", title="Noise from the gym")
    fire(app, ticket, "accept", "butler")
    fire(app, ticket, "reply", "butler", note="The gym closes at 21:00 from Monday.")
    client = browser("resident")

    page = client.get(f"/tickets/{ticket}").text
    assert "Your turn: accept or reject the reply." in page
    assert "The gym closes at 21:00 from Monday." in section(page, "status-card", "</section>")
    assert forms_on(page, ticket) == {"confirm", "reject"}

    reply = fire_form(client, ticket, "reject", reason="")
    assert reply.status_code == 422
    assert "is required" in field_html(reply.text, "reject-reason")
    assert "<details class=\"card confirm\" open>" in reply.text
    assert stored(app, ticket)["state"] == "replied"

    reply = fire_form(client, ticket, "reject", reason="Still loud until 23:00 on Fridays")
    assert reply.status_code == 302
    assert stored(app, ticket)["state"] == "accepted"
    # Said to the resident as a person would, not "Reject the solution: done."
    assert flashes(client.get(reply.location).text, "success") == [
        "We have told your butler that you do not accept the reply."]
    timeline = section(client.get(f"/tickets/{ticket}").text, "What was done")
    assert "The resident&#39;s rejection is recorded" in timeline
    assert "Still loud until 23:00 on Fridays" in timeline

    fire(app, ticket, "reply", "butler", note="Music off at 21:00 every day, signs put up.")
    assert fire_form(client, ticket, "confirm").status_code == 302
    assert stored(app, ticket)["state"] == "resolved"
    assert "You accepted the solution. Your butler will check with you by 11-18 09:00." in \
        client.get(f"/tickets/{ticket}").text


def test_resident_rates_after_the_follow_up(app, estate, browser):
    ticket = repair_at(app, estate, "visited")
    client = browser("resident")
    page = client.get(f"/tickets/{ticket}").text
    assert "Your turn: how did it go? Rate it from 1 to 5." in page
    assert forms_on(page, ticket) == {"rate", "reopen"}
    rate = section(page, f'action="/tickets/{ticket}/fire/rate"', "</form>")
    assert rate.count('type="radio"') == 5 and "<legend>How did it go?</legend>" in rate
    assert 'for="rate-rating-0"' in rate
    assert "rate" not in forms_on(browser("butler").get(f"/tickets/{ticket}").text, ticket)

    reply = fire_form(client, ticket, "rate", note="Quick, but left dust")
    assert reply.status_code == 422
    assert "is required" in section(reply.text, 'class="field choices', "</fieldset>")
    assert "Quick, but left dust" in field_html(reply.text, "rate-note")

    reply = fire_form(client, ticket, "rate", rating="4", note="Quick, but left dust")
    assert reply.status_code == 302
    assert (stored(app, ticket)["rating"], stored(app, ticket)["state"]) == (4, "visited")
    page = client.get(f"/tickets/{ticket}").text
    assert "You rated it ★★★★" in page
    assert "Quick, but left dust" in section(page, "What was done")
    assert "Change your rating" in page

    # The same rating again is still the resident's word, not "nothing changed"; so after closing.
    assert fire_form(client, ticket, "rate", rating="4", note="Dust cleaned up").status_code == 302
    fire(app, ticket, "close", "butler")
    assert fire_form(client, ticket, "rate", rating="5").status_code == 302
    assert stored(app, ticket)["rating"] == 5
    assert "You rated it ★★★★★" in client.get("/my/").text


def test_resident_reopens_a_repair_within_seven_days(app, estate, browser, clock):
    ticket = repair_at(app, estate, "completed")
    client = browser("resident")
    page = client.get(f"/tickets/{ticket}").text
    assert "Not fixed? Reopen it" in page
    assert "Possible until 2026-11-23 09:00." in page

    reply = fire_form(client, ticket, "reopen", reason=" ")
    assert reply.status_code == 422
    assert "must not be empty" in field_html(reply.text, "reopen-reason")

    clock.shift(timedelta(days=2))
    reply = fire_form(client, ticket, "reopen", reason="Still dripping under the sink")
    assert reply.status_code == 302
    t = stored(app, ticket)
    assert t["state"] == "reported"
    page = client.get(f"/tickets/{ticket}").text
    assert "Still dripping under the sink" in page
    assert "We are sending a technician; they are due by" in page


def test_no_reopen_after_seven_days(app, estate, browser, clock):
    ticket = repair_at(app, estate, "visited")
    client = browser("resident")
    page = client.get(f"/tickets/{ticket}").text
    clock.shift(timedelta(days=7, minutes=1))
    assert "reopen" not in forms_on(client.get(f"/tickets/{ticket}").text, ticket)
    reply = client.post(f"/tickets/{ticket}/fire/reopen", data={
        "reopen-version": str(stored(app, ticket)["version"]), "reopen-reason": "Leaking again",
        "reopen-csrf_token": csrf_token(page)})
    assert reply.status_code == 409
    assert "only within 7 days" in " ".join(flashes(reply.text, "error"))
    assert "Leaking again" in reply.text          # what was typed is still on the page
    assert stored(app, ticket)["state"] == "visited"


def test_eight_days_after_completion_reopen_is_offered_neither_on_the_page_nor_by_the_api(
        app, estate, browser, client, clock):
    ticket = repair_at(app, estate, "completed")
    clock.shift(timedelta(days=8))
    for who in ("resident", "butler"):
        assert "reopen" not in forms_on(browser(who).get(f"/tickets/{ticket}").text, ticket)
        shown = client.get(f"/api/v1/tickets/{ticket}", headers=token_for(client, who)).json
        assert "reopen" not in {t["name"] for t in shown["allowed_triggers"]}
    clock.shift(timedelta(days=-2))  # on the sixth day it is offered by both
    shown = client.get(f"/api/v1/tickets/{ticket}", headers=token_for(client, "resident")).json
    assert "reopen" in {t["name"] for t in shown["allowed_triggers"]}


def test_resident_cancels_before_anyone_is_on_site_after_confirming(app, estate, browser):
    ticket = repair_at(app, estate, "dispatched")
    client = browser("resident")
    page = client.get(f"/tickets/{ticket}").text
    confirm = section(page, '<details class="card confirm"', "</details>")
    assert "<summary>Cancel this request…</summary>" in confirm
    assert "Yes, cancel the request" in confirm and 'name="cancel-reason"' in confirm

    reply = fire_form(client, ticket, "cancel")
    assert reply.status_code == 422
    assert '<details class="card confirm" open>' in reply.text
    assert "is required" in field_html(reply.text, "cancel-reason")
    assert stored(app, ticket)["state"] == "dispatched"

    assert fire_form(client, ticket, "cancel", reason="A neighbour fixed it").status_code == 302
    assert stored(app, ticket)["state"] == "cancelled"
    assert "Cancelled." in client.get(f"/tickets/{ticket}").text


def test_no_cancelling_once_someone_is_on_site(app, estate, browser):
    ticket = repair_at(app, estate, "on_site")
    page = browser("resident").get(f"/tickets/{ticket}").text
    assert forms_on(page, ticket) == {"nudge"}
    assert "Cancel this request" not in page
    assert "The technician is at work; it should be fixed by 11-17 09:00." in page


def test_resident_requests_acceptance_of_finished_works(app, estate, browser):
    ticket = open_ticket(app, "resident", kind="renovation", title="New floor",
                         details={**{k: v for k, v in RENOVATION.items() if k in (
                             "works_start", "works_end", "contractor_name", "contractor_phone",
                             "foreman_name", "foreman_phone")}, "workers": 2})
    fire(app, ticket, "approve", "butler")
    client = browser("resident")
    page = client.get(f"/tickets/{ticket}").text
    assert "Your turn: approved. Tell us when the works start." in page
    assert fire_form(client, ticket, "start_works").status_code == 302

    page = client.get(f"/tickets/{ticket}").text
    assert "request the acceptance inspection" in page
    assert "request_acceptance" in forms_on(page, ticket)
    reply = fire_form(client, ticket, "request_acceptance", note="Finished, keys with the guard")
    assert reply.status_code == 302
    assert stored(app, ticket)["state"] == "completion_requested"
    page = client.get(f"/tickets/{ticket}").text
    assert "The acceptance inspection is due by 11-18 09:00." in page
    assert not SCORING.search(page)


# -- photos: who sees them, and staff adding them to a step -------------------------------------

def test_a_photo_is_served_to_the_resident_and_the_butler_and_to_nobody_else(app, estate,
                                                                             browser):
    client = browser("resident")
    ticket = ticket_from(submit(client, {"kind": "repair", "title": "Window handle"},
                                {"photos": [(PNG, "handle.png"), (PDF, "manual.pdf")]}))
    photo, manual = attachments(app, ticket)
    url = f"/tickets/{ticket}/files/{photo['id']}"

    for who in ("resident", "butler", "supervisor"):
        reply = browser(who).get(url) if who != "resident" else client.get(url)
        assert reply.status_code == 200, who
        assert reply.data == PNG and reply.mimetype == "image/png"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
    pdf = client.get(f"/tickets/{ticket}/files/{manual['id']}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")

    for who in ("neighbour", "west_resident", "other_butler", "technician"):
        assert browser(who).get(url).status_code == 404, who
    other = open_ticket(app, "resident", title="Another")
    assert client.get(f"/tickets/{other}/files/{photo['id']}").status_code == 404
    assert client.get(f"/tickets/{ticket}/files/9999").status_code == 404
    assert client.get(f"/tickets/{ticket}/files/99999999999999999999").status_code == 404
    stranger = browser().get(url)
    assert stranger.status_code == 302 and stranger.location.startswith("/login")


def test_staff_add_photos_to_a_step_and_the_resident_sees_them(app, estate, browser):
    ticket = open_ticket(app, "resident", kind="renovation", title="Wall removed?",
                         details=None)
    fire(app, ticket, "approve", "butler")
    fire(app, ticket, "start_works", "resident")
    butler = browser("butler")
    page = butler.get(f"/tickets/{ticket}").text
    inspect = section(page, f'action="/tickets/{ticket}/fire/inspect"', "</form>")
    assert 'name="inspect-photos"' in inspect and 'enctype="multipart/form-data"' in page

    reply = fire_form(butler, ticket, "inspect", result="violation",
                      note="Load-bearing wall being cut", files=[(PNG, "wall.png")])
    assert reply.status_code == 302
    assert stored(app, ticket)["state"] == "rectifying"
    [photo] = attachments(app, ticket)
    assert (photo["event"], photo["by"], photo["name"]) == ("inspect", "butler", "wall.png")

    resident = browser("resident")
    page = resident.get(f"/tickets/{ticket}").text
    assert "Your turn: a problem was found" in page
    assert "Load-bearing wall being cut" in page
    timeline = section(page, "What was done")
    assert f'src="/tickets/{ticket}/files/{photo["id"]}"' in timeline
    assert resident.get(f"/tickets/{ticket}/files/{photo['id']}").status_code == 200


def test_a_bad_photo_on_a_step_is_refused_and_the_note_kept(app, estate, browser, tmp_path):
    ticket = repair_at(app, estate, "on_site")
    technician = browser("technician")
    reply = fire_form(technician, ticket, "complete", note="New washer fitted",
                      files=[(b"<html>not a photo</html>", "done.jpg")])
    assert reply.status_code == 422
    photos = field_html(reply.text, "complete-photos")
    assert "has-error" in photos and "JPEG, PNG, WebP or PDF" in photos
    assert "New washer fitted" in field_html(reply.text, "complete-note")
    assert stored(app, ticket)["state"] == "on_site"
    assert attachments(app, ticket) == []

    assert fire_form(technician, ticket, "complete", note="New washer fitted",
                     files=[(JPEG, "done.jpg")]).status_code == 302
    [photo] = attachments(app, ticket)
    assert (photo["event"], photo["by"]) == ("complete", "technician")


def test_a_refused_step_keeps_no_photo(app, estate, browser, tmp_path):
    ticket = repair_at(app, estate, "on_site")
    technician = browser("technician")
    page = technician.get(f"/tickets/{ticket}").text
    fire(app, ticket, "complete", "butler")          # meanwhile the butler records completion
    reply = technician.post(f"/tickets/{ticket}/fire/complete", data={
        "complete-version": "3", "complete-csrf_token": csrf_token(page),
        "complete-photos": [(io.BytesIO(PNG), "done.png")]}, content_type="multipart/form-data")
    assert reply.status_code == 409
    assert attachments(app, ticket) == []
    assert not any((tmp_path / "uploads").iterdir())
    with app.app_context():
        assert db.session.scalar(select(Event).where(Event.ticket_id == ticket,
                                                     Event.trigger == "complete")).actor_id \
            == estate.butler


def test_a_document_added_later_is_listed_with_the_request(app, browser):
    """A floor plan sent after the application is one of the request's documents, not a step."""
    client = browser("resident")
    with app.app_context():
        resident = db.session.scalar(select(User).where(User.username == "resident"))
        ticket = engine.open_ticket(resident, "renovation", "Kitchen refit")
        ticket_id = ticket.id
    reply = client.post(f"/api/v1/tickets/{ticket_id}/attachments",
                        headers=token_for(client, "resident"),
                        data={"kind": "floor_plan", "file": (io.BytesIO(PNG), "plan.png")})
    assert reply.status_code == 201
    attachment_id = reply.json["attachments"][0]["id"]

    page = client.get(f"/tickets/{ticket_id}").text

    section = page.split("<h2>Photos and documents</h2>", 1)[1].split("</section>", 1)[0]
    assert f"/files/{attachment_id}" in section
