"""The minimal pages (issue 2, section 7): logging in and out, a resident's requests and the submit
form, registering a call, a butler's queue, the ticket page with a form per allowed trigger, and the
supervisor's overdue list.

The pages are driven as a browser would: CSRF stays on, every form's token is read from the page
that shows the form. Each person has their own test client; tickets that a test only needs to
exist are opened through the engine in an app context of their own (never shared with a client's
requests), and the database is checked the same way.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from models import Ticket, User, db
from tests.conftest import T0
from tests.pages import (
    csrf_token,
    field_html,
    fire_form,
    flashes,
    forms_on,
    log_in,
    open_ticket,
    stored,
    ticket_count,
)
from workflows import engine, sweeper

# -- helpers --------------------------------------------------------------------------------------


# -- logging in and out ---------------------------------------------------------------------------

def test_login_page_has_the_form(browser):
    page = browser().get("/login")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text


def test_wrong_password_shows_a_message_and_keeps_the_username(browser):
    client = browser()
    reply = log_in(client, "resident", "not-the-password")

    assert reply.status_code == 200
    assert "Wrong username or password." in reply.text
    assert 'value="resident"' in field_html(reply.text, "username")
    assert "not-the-password" not in reply.text
    assert client.get("/my/").status_code == 302  # still not logged in


def test_unknown_user_is_told_the_same(browser):
    reply = log_in(browser(), "nobody")
    assert reply.status_code == 200
    assert "Wrong username or password." in reply.text


@pytest.mark.parametrize("who, home", [
    ("resident", "/my/"),
    ("butler", "/queue/"),
    ("technician", "/queue/"),
    ("supervisor", "/supervisor/overdue"),
])
def test_login_leads_home_and_home_leads_to_ones_work(browser, who, home):
    client = browser()
    reply = log_in(client, who)
    assert reply.status_code == 302 and reply.location == "/"
    landing = client.get("/")
    assert landing.status_code == 302 and landing.location == home
    assert client.get(home).status_code == 200


def test_login_follows_a_local_next_only(browser):
    client = browser()
    token = csrf_token(client.get("/login").text)
    reply = client.post("/login?next=/queue/", data={"username": "butler", "password": "secret",
                                                    "csrf_token": token})
    assert reply.location == "/queue/"

    client = browser()
    token = csrf_token(client.get("/login").text)
    reply = client.post("/login?next=//evil.example/", data={
        "username": "butler", "password": "secret", "csrf_token": token})
    assert reply.location == "/"


@pytest.mark.parametrize("path", ["/", "/my/", "/queue/", "/supervisor/overdue", "/tickets/new",
                                  "/tickets/1"])
def test_pages_send_strangers_to_the_login(browser, path):
    reply = browser().get(path)
    assert reply.status_code == 302
    assert reply.location.startswith("/login")


def test_logout_is_a_post(browser):
    client = browser("resident")
    opened = client.get("/logout")  # a link cannot log anyone out: it goes to the home page
    assert opened.status_code == 303 and opened.location == "/"
    assert client.get("/my/").status_code == 200

    page = client.get("/my/").text
    reply = client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert reply.status_code == 302 and reply.location == "/login"
    assert client.get("/my/").status_code == 302


def test_logout_without_csrf_token_is_refused(browser):
    client = browser("resident")
    assert client.post("/logout").status_code == 400
    assert client.get("/my/").status_code == 200


# -- who may open what ----------------------------------------------------------------------------

@pytest.mark.parametrize("who, path", [
    ("resident", "/supervisor/overdue"),
    ("resident", "/queue/"),
    ("butler", "/supervisor/overdue"),
    ("technician", "/supervisor/overdue"),
    ("technician", "/tickets/new"),
    ("butler", "/my/"),
    ("supervisor", "/my/"),
])
def test_pages_of_other_roles_are_403(browser, who, path):
    assert browser(who).get(path).status_code == 403


def test_a_ticket_one_may_not_see_is_404(app, browser):
    ticket = open_ticket(app, "resident")
    for who in ("neighbour", "other_butler", "technician"):
        assert browser(who).get(f"/tickets/{ticket}").status_code == 404
    supervisor = browser("supervisor")
    for path in ("/tickets/9999", "/tickets/99999999999999999999999"):
        assert supervisor.get(path).status_code == 404


# -- a resident's requests ------------------------------------------------------------------------

def test_resident_submits_a_repair_and_finds_it_in_my_requests(app, estate, browser):
    client = browser("resident")
    form = client.get("/tickets/new").text
    assert 'name="reported_at"' not in form and 'name="unit_id"' not in form  # staff only

    reply = client.post("/tickets/new", data={
        "kind": "repair", "title": "Kitchen tap leaking", "description": "Drips all night.",
        "csrf_token": csrf_token(form)})

    assert reply.status_code == 302
    ticket_id = int(re.fullmatch(r"/tickets/(\d+)", reply.location).group(1))
    page = client.get(reply.location)
    assert flashes(page.text, "success") == [
        f"Thank you: request #{ticket_id} is sent to your butler."]
    assert "Kitchen tap leaking" in page.text

    mine = client.get("/my/").text
    assert "Kitchen tap leaking" in mine
    assert f'href="/tickets/{ticket_id}"' in mine

    t = stored(app, ticket_id)
    assert (t["unit_id"], t["resident_id"], t["assignee_id"]) == (
        estate.unit_a, estate.resident, estate.butler)
    assert t["reported_at"] == T0 and t["description"] == "Drips all night."


def test_a_resident_cannot_slip_in_a_unit_or_a_call_time(app, estate, browser):
    client = browser("resident")
    reply = client.post("/tickets/new", data={
        "kind": "repair", "title": "Tap", "unit_id": estate.unit_w,
        "reported_at": "2026-11-16T08:00",
        "csrf_token": csrf_token(client.get("/tickets/new").text)})
    assert reply.status_code == 302
    t = stored(app, int(reply.location.rsplit("/", 1)[1]))
    assert t["unit_id"] == estate.unit_a
    assert t["reported_at"] == T0


def test_my_requests_shows_only_mine(app, browser):
    open_ticket(app, "resident", title="Mine")
    open_ticket(app, "neighbour", title="Next door")
    page = browser("resident").get("/my/").text
    assert "Mine" in page and "Next door" not in page


@pytest.mark.parametrize("title", ["", "   "])
def test_empty_title_is_shown_next_to_the_field_and_the_rest_is_kept(app, browser, title):
    client = browser("resident")
    reply = client.post("/tickets/new", data={
        "kind": "repair", "title": title, "description": "Water under the sink since Monday",
        "csrf_token": csrf_token(client.get("/tickets/new").text)})

    assert reply.status_code == 422
    title_field = field_html(reply.text, "title")
    assert "has-error" in title_field
    assert 'class="error"' in title_field
    assert "required" in title_field.split('class="error"')[1]
    assert "Water under the sink since Monday" in field_html(reply.text, "description")
    assert "has-error" not in field_html(reply.text, "description")
    assert ticket_count(app) == 0


def test_a_form_posted_without_csrf_token_is_refused(app, browser):
    client = browser("resident")
    reply = client.post("/tickets/new", data={"kind": "repair", "title": "Tap"})
    assert reply.status_code == 400
    assert ticket_count(app) == 0


# -- staff registering a call ---------------------------------------------------------------------

def test_staff_register_a_call_taken_ten_minutes_ago(app, estate, browser):
    """The form's time is property time (Asia/Shanghai); it is stored in UTC."""
    client = browser("butler")
    ten_minutes_ago_local = (T0 - timedelta(minutes=10)).astimezone(app.config["TZ"])
    assert ten_minutes_ago_local.strftime("%Y-%m-%dT%H:%M") == "2026-11-16T08:50"

    reply = client.post("/tickets/new", data={
        "kind": "repair", "title": "Stairwell light out", "unit_id": estate.unit_b,
        "reported_at": "2026-11-16T08:50",
        "csrf_token": csrf_token(client.get("/tickets/new").text)})

    assert reply.status_code == 302, reply.text
    ticket_id = int(reply.location.rsplit("/", 1)[1])
    t = stored(app, ticket_id)
    assert t["reported_at"] == T0 - timedelta(minutes=10)
    assert t["created_at"] == T0
    assert (t["unit_id"], t["resident_id"], t["assignee_id"]) == (
        estate.unit_b, estate.neighbour, estate.butler)
    page = client.get(reply.location).text
    assert "2026-11-16 08:50" in page              # shown in property time
    assert "2026-11-16 09:10" in page              # on site due 20 minutes after the call
    assert "in 10 min" in page


def test_staff_call_without_a_time_starts_now(app, estate, browser):
    client = browser("supervisor")
    reply = client.post("/tickets/new", data={
        "kind": "complaint", "title": "Rubbish not collected", "unit_id": estate.unit_w,
        "csrf_token": csrf_token(client.get("/tickets/new").text)})
    assert reply.status_code == 302
    t = stored(app, int(reply.location.rsplit("/", 1)[1]))
    assert t["reported_at"] == T0 and t["assignee_id"] == estate.other_butler


@pytest.mark.parametrize("reported_at, message", [
    ("2026-11-16T09:30", "future"),        # 30 minutes ahead, property time
    ("2026-11-01T09:00", "7 days"),        # beyond the backdate limit
    ("yesterday", "valid"),                # not a time at all (WTForms' own message)
])
def test_a_bad_call_time_is_shown_next_to_the_field(app, estate, browser, reported_at, message):
    client = browser("butler")
    reply = client.post("/tickets/new", data={
        "kind": "repair", "title": "Tap", "unit_id": estate.unit_a, "reported_at": reported_at,
        "description": "kept", "csrf_token": csrf_token(client.get("/tickets/new").text)})
    assert reply.status_code == 422
    field = field_html(reply.text, "reported_at")
    assert "has-error" in field and message in field
    assert "kept" in field_html(reply.text, "description")
    assert ticket_count(app) == 0


def test_a_unit_that_is_not_offered_is_refused(app, browser):
    client = browser("butler")
    reply = client.post("/tickets/new", data={
        "kind": "repair", "title": "Tap", "unit_id": "9999",
        "csrf_token": csrf_token(client.get("/tickets/new").text)})
    assert reply.status_code == 422
    assert "has-error" in field_html(reply.text, "unit_id")
    assert ticket_count(app) == 0


# -- the butler's queue ---------------------------------------------------------------------------

def test_queue_lists_the_areas_tickets_nearest_deadline_first(app, estate, browser):
    later = open_ticket(app, "resident", title="Due in twenty minutes")
    sooner = open_ticket(app, "butler", title="Due in five minutes", unit_id=estate.unit_b,
                         reported_at=T0 - timedelta(minutes=15))
    slow = open_ticket(app, "neighbour", kind="complaint", title="Reply in two days")
    open_ticket(app, "west_resident", title="Somewhere in the West")

    page = browser("butler").get("/queue/")
    assert page.status_code == 200
    html = page.text
    positions = [html.index(f'href="/tickets/{t}"') for t in (sooner, later, slow)]
    assert positions == sorted(positions)
    assert "Somewhere in the West" not in html

    west = browser("other_butler").get("/queue/").text
    assert "Somewhere in the West" in west
    assert "Due in five minutes" not in west


def test_queue_leaves_out_finished_tickets_and_filters_by_kind(app, estate, browser):
    open_ticket(app, "resident", title="Open repair")
    done = open_ticket(app, "resident", title="Cancelled repair")
    open_ticket(app, "neighbour", kind="complaint", title="Open complaint")
    with app.app_context():
        engine.fire(done, "cancel", db.session.get(User, estate.resident), 1, reason="Duplicate")

    client = browser("butler")
    html = client.get("/queue/").text
    assert "Open repair" in html and "Open complaint" in html
    assert "Cancelled repair" not in html
    complaints = client.get("/queue/?kind=complaint").text
    assert "Open complaint" in complaints and "Open repair" not in complaints


def test_technician_queue_holds_only_what_was_dispatched_to_them(app, estate, browser):
    mine = open_ticket(app, "resident", title="Dispatched to me")
    open_ticket(app, "neighbour", title="Not dispatched")
    with app.app_context():
        engine.fire(mine, "dispatch", db.session.get(User, estate.butler), 1,
                    technician_id=estate.technician)
    html = browser("technician").get("/queue/").text
    assert "Dispatched to me" in html and "Not dispatched" not in html
    assert "Dispatched to me" not in browser("other_technician").get("/queue/").text


# -- the ticket page ------------------------------------------------------------------------------

def test_ticket_page_shows_deadlines_timeline_and_what_one_may_do(app, browser):
    ticket = open_ticket(app, "resident", title="Tap leaking", description="Drips all night.")
    page = browser("butler").get(f"/tickets/{ticket}")
    assert page.status_code == 200
    html = page.text

    assert "Tap leaking" in html and "Drips all night." in html
    deadlines = html[html.index("<h2>Deadlines</h2>"):html.index("</table>")]
    assert "Arrival on site" in deadlines and "2026-11-16 09:20" in deadlines
    assert "in 20 min" in deadlines
    assert "Completion" in deadlines and "2026-11-17 09:00" in deadlines
    assert deadlines.count("-2 (art. 4)") == 2

    timeline = html[html.index("<h2>Timeline</h2>"):]
    assert "2026-11-16 09:00" in timeline and "Resident" in timeline

    assert forms_on(html, ticket) == {"dispatch", "cancel"}
    dispatch = html[html.index(f'action="/tickets/{ticket}/fire/dispatch"'):]
    dispatch = dispatch[:dispatch.index("</form>")]
    assert 'name="dispatch-technician_id"' in dispatch
    assert 'name="dispatch-version" type="hidden" value="1"' in dispatch
    assert 'name="dispatch-csrf_token"' in dispatch


@pytest.mark.parametrize("who, forms", [
    ("resident", {"cancel", "nudge"}),
    ("butler", {"dispatch", "cancel"}),
    ("supervisor", {"dispatch", "reassign"}),
])
def test_each_person_gets_a_form_per_trigger_they_may_fire(app, browser, who, forms):
    ticket = open_ticket(app, "resident")
    assert forms_on(browser(who).get(f"/tickets/{ticket}").text, ticket) == forms


def test_a_repair_runs_its_course_through_the_page_forms(app, estate, browser):
    ticket = open_ticket(app, "resident", title="Door lock broken")
    butler, technician = browser("butler"), browser("technician")

    reply = fire_form(butler, ticket, "dispatch", technician_id=str(estate.technician),
                      note="Zhang has the spare lock")
    assert reply.status_code == 302 and reply.location == f"/tickets/{ticket}"
    assert "Technician dispatched." in flashes(butler.get(reply.location).text)
    assert stored(app, ticket)["state"] == "dispatched"
    assert stored(app, ticket)["technician_id"] == estate.technician

    assert forms_on(technician.get(f"/tickets/{ticket}").text, ticket) == {"arrive"}
    assert fire_form(technician, ticket, "arrive").status_code == 302
    assert fire_form(technician, ticket, "complete").status_code == 302
    assert stored(app, ticket)["state"] == "completed"

    assert fire_form(butler, ticket, "visit", rating="4", note="Happy with it").status_code == 302
    t = stored(app, ticket)
    assert (t["state"], t["rating"], t["version"]) == ("visited", 4, 5)

    html = butler.get(f"/tickets/{ticket}").text
    timeline = html[html.index("<h2>Timeline</h2>"):]
    assert re.search(r"<strong>Technician dispatched</strong>\s+by Butler", timeline)
    for text in ("<strong>Technician: </strong>Technician", "Arrival on site recorded",
                 "Completion recorded</strong>", "Follow-up visit recorded",
                 "Zhang has the spare lock", "Happy with it"):
        assert text in timeline
    assert "Dispatch a technician</strong>" not in timeline  # what happened, not the button
    deadlines = html[html.index("<h2>Deadlines</h2>"):html.index("</table>")]
    assert deadlines.count('class="deadline-met"') == 3


def test_a_missing_required_field_is_shown_next_to_it_and_the_note_is_kept(app, estate, browser):
    ticket = open_ticket(app, "resident")
    with app.app_context():
        butler = db.session.get(User, estate.butler)
        engine.fire(ticket, "dispatch", butler, 1, technician_id=estate.technician)
        engine.fire(ticket, "arrive", butler, 2)
        engine.fire(ticket, "complete", butler, 3)
    before = stored(app, ticket)
    client = browser("butler")

    reply = fire_form(client, ticket, "visit", note="Called at 10, she was out")

    assert reply.status_code == 422
    rating = field_html(reply.text, "visit-rating")
    assert "has-error" in rating and "is required" in rating
    assert "Called at 10, she was out" in field_html(reply.text, "visit-note")
    assert stored(app, ticket) == before
    assert forms_on(reply.text, ticket) >= {"visit"}


def test_dispatch_without_a_technician_is_shown_next_to_the_field(app, browser):
    ticket = open_ticket(app, "resident")
    reply = fire_form(browser("butler"), ticket, "dispatch", note="urgent")
    assert reply.status_code == 422
    assert "is required" in field_html(reply.text, "dispatch-technician_id")
    assert "urgent" in field_html(reply.text, "dispatch-note")
    assert stored(app, ticket)["state"] == "reported"


def test_a_stale_form_is_refused_with_a_message_and_keeps_what_was_typed(app, estate, browser):
    ticket = open_ticket(app, "resident")
    butler = browser("butler")
    page = butler.get(f"/tickets/{ticket}").text  # the butler reads version 1 ...

    supervisor = browser("supervisor")           # ... the supervisor dispatches meanwhile
    assert fire_form(supervisor, ticket, "dispatch",
                     technician_id=str(estate.technician)).status_code == 302
    after_supervisor = stored(app, ticket)

    reply = butler.post(f"/tickets/{ticket}/fire/cancel", data={
        "cancel-version": "1", "cancel-reason": "The resident fixed it himself",
        "cancel-csrf_token": csrf_token(page)})

    assert reply.status_code == 409
    [message] = flashes(reply.text, "error")
    assert "changed while you were working on it" in message
    assert "The resident fixed it himself" in reply.text       # still in the cancel form
    assert 'name="cancel-version" type="hidden" value="2"' in reply.text  # ready to send again
    assert stored(app, ticket) == after_supervisor
    assert after_supervisor["technician_id"] == estate.technician


def test_a_stale_form_for_a_step_no_longer_possible_still_shows_the_text(app, estate, browser):
    ticket = open_ticket(app, "resident")
    butler = browser("butler")
    page = butler.get(f"/tickets/{ticket}").text
    assert fire_form(browser("supervisor"), ticket, "dispatch",
                     technician_id=str(estate.technician)).status_code == 302

    reply = butler.post(f"/tickets/{ticket}/fire/dispatch", data={
        "dispatch-version": "1", "dispatch-technician_id": str(estate.other_technician),
        "dispatch-note": "Bring the long ladder", "dispatch-csrf_token": csrf_token(page)})

    assert reply.status_code == 409
    assert "Not sent" in reply.text and "Bring the long ladder" in reply.text
    assert stored(app, ticket)["technician_id"] == estate.technician


def test_a_trigger_not_possible_now_is_a_message_on_the_page(app, estate, browser):
    ticket = open_ticket(app, "resident")
    client = browser("butler")
    page = client.get(f"/tickets/{ticket}").text
    reply = client.post(f"/tickets/{ticket}/fire/complete", data={
        "complete-version": "1", "complete-csrf_token": csrf_token(page)})
    assert reply.status_code == 409
    [message] = flashes(reply.text, "error")
    assert "Cannot 'Record completion' while the ticket is 'Reported'" in message
    assert stored(app, ticket)["state"] == "reported"


def test_a_trigger_form_without_csrf_token_is_refused(app, estate, browser):
    ticket = open_ticket(app, "resident")
    reply = browser("butler").post(f"/tickets/{ticket}/fire/dispatch", data={
        "dispatch-version": "1", "dispatch-technician_id": str(estate.technician)})
    assert reply.status_code == 400
    assert stored(app, ticket)["state"] == "reported"


@pytest.mark.parametrize("data", [
    {"dispatch-version": "²", "dispatch-technician_id": "@technician"},
    {"dispatch-version": "abc", "dispatch-technician_id": "@technician"},
    {"dispatch-version": "", "dispatch-technician_id": "@technician"},
    {"dispatch-version": "1", "dispatch-technician_id": "99999999999999999999"},
    {"dispatch-version": "1", "dispatch-technician_id": "@butler"},
    {"dispatch-version": "1", "dispatch-technician_id": "@technician", "dispatch-note": "x" * 5000},
])
def test_garbage_in_a_trigger_form_is_never_a_500(app, estate, browser, data):
    ticket = open_ticket(app, "resident")
    client = browser("butler")
    data = {k: str(getattr(estate, v[1:])) if v.startswith("@") else v for k, v in data.items()}
    data["dispatch-csrf_token"] = csrf_token(client.get(f"/tickets/{ticket}").text)
    reply = client.post(f"/tickets/{ticket}/fire/dispatch", data=data)
    assert 300 <= reply.status_code < 500
    assert stored(app, ticket)["state"] == "reported"


def test_an_unknown_trigger_is_404(app, browser):
    ticket = open_ticket(app, "resident")
    client = browser("butler")
    token = csrf_token(client.get(f"/tickets/{ticket}").text)
    assert client.post(f"/tickets/{ticket}/fire/teleport",
                       data={"teleport-csrf_token": token}).status_code == 404


# -- the supervisor's overdue list ----------------------------------------------------------------

def test_overdue_lists_a_missed_deadline_with_the_responsible_butler(app, browser, clock):
    missed = open_ticket(app, "west_resident", title="Lift stuck between floors")
    open_ticket(app, "neighbour", kind="complaint", title="Noise at night")
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        assert sweeper.sweep() == 1

    page = browser("supervisor").get("/supervisor/overdue")
    assert page.status_code == 200
    html = page.text
    rows = re.findall(r'<tr class="overdue-row">.*?</tr>', html, re.S)
    assert len(rows) == 1
    [row] = rows
    assert f'href="/tickets/{missed}"' in row
    assert "Lift stuck between floors" in row
    assert "Other_Butler" in row
    assert "-2 (art. 4)" in row
    assert "2026-11-16 09:20" in row     # due time, property time
    assert "Noise at night" not in html

    month = html[html.index("Scores in"):]
    assert "2026-11" in month
    assert re.search(r"<td>Other_Butler</td><td>-2</td><td>0</td><td>98</td><td>[^<]+</td>", month)
    assert re.search(r"<td>Butler</td><td>0</td><td>0</td><td>100</td>", month)


def test_overdue_names_the_butler_charged_even_after_a_reassignment(app, browser, clock):
    missed = open_ticket(app, "resident", title="Nobody came")
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        assert sweeper.sweep() == 1
        supervisor = db.session.scalar(db.select(User).where(User.username == "supervisor"))
        relief = db.session.scalar(db.select(User).where(User.username == "relief_butler"))
        engine.fire(missed, "reassign", supervisor, db.session.get(Ticket, missed).version,
                    assignee_id=relief.id)
    [row] = re.findall(r'<tr class="overdue-row">.*?</tr>',
                       browser("supervisor").get("/supervisor/overdue").text, re.S)
    assert "<td>Butler</td>" in row and "Relief_Butler" not in row


def test_overdue_also_lists_a_passed_deadline_before_any_sweep(app, browser, clock):
    open_ticket(app, "resident", title="Nobody came")
    clock.shift(timedelta(minutes=21))
    html = browser("supervisor").get("/supervisor/overdue").text
    rows = re.findall(r'<tr class="overdue-row">.*?</tr>', html, re.S)
    assert len(rows) == 1 and "Nobody came" in rows[0] and "Butler" in rows[0]
    assert "1 min overdue" in rows[0]


def test_overdue_page_is_empty_when_all_is_on_time(app, browser):
    open_ticket(app, "resident")
    html = browser("supervisor").get("/supervisor/overdue").text
    assert 'class="overdue-row"' not in html
    assert "Nothing is overdue." in html


def test_pages_show_property_time_across_midnight(app, browser, clock):
    """A call at 2026-11-30 16:30 UTC is 2026-12-01 00:30 in Shanghai."""
    clock.move_to(datetime.fromisoformat("2026-11-30T16:30:00+00:00"), tick=False)
    ticket = open_ticket(app, "resident", title="Midnight leak")
    html = browser("resident").get(f"/tickets/{ticket}").text
    assert "2026-12-01 00:30" in html
    assert "2026-11-30 16:30" not in html
