"""Butlers, technicians and supervisors at work in a real browser (Debian's Chromium).

The server's clock is stopped at T0 by the `clock` fixture; the queue's countdown runs in the
page's own script, so it still ticks, counting from the server's time.
"""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlparse

from playwright.sync_api import expect

from models import Ticket, User, db
from tests.browser.conftest import screenshot
from tests.conftest import T0
from tests.helpers import no_horizontal_scroll
from tests.pages import open_ticket
from workflows import engine


def _user(username: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == username))


def fire(app, ticket_id: int, trigger: str, who: str, **data) -> None:
    with app.app_context():
        version = db.session.get(Ticket, ticket_id).version
        engine.fire(ticket_id, trigger, _user(who), version, **data)


def state_of(app, ticket_id: int) -> str:
    with app.app_context():
        return db.session.get(Ticket, ticket_id).state


def submit_step(page, trigger: str, **selects) -> None:
    """Fill the trigger's form on the ticket page (selects by field name) and send it."""
    form = page.locator(f'form[action$="/fire/{trigger}"]')
    for name, value in selects.items():
        form.locator(f'select[name="{trigger}-{name}"]').select_option(value)
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    expect(page.locator(".flash.success")).to_be_visible()


def test_a_residents_repair_leads_the_queue_and_runs_its_course(app, estate, clock, login):
    older = open_ticket(app, "neighbour", kind="complaint", title="Noise at night")

    # The resident reports a repair from their phone.
    resident = login("resident", phone=True)
    resident.goto("/tickets/new")
    kind = resident.locator('[name="kind"]')
    if kind.first.evaluate("el => el.tagName") == "SELECT":
        kind.select_option("repair")
    else:
        resident.locator('input[name="kind"][value="repair"]').check()
    resident.locator('[name="title"]').fill("Kitchen tap leaking")
    resident.locator('[name="description"]').fill("Drips all night.")
    with resident.expect_navigation():
        resident.locator("main form").last.locator('button[type="submit"]').click()
    ticket = int(re.search(r"/tickets/(\d+)$", resident.url).group(1))

    # The butler, walking the estate, finds it first in the queue with a live countdown.
    butler = login("butler", phone=True)
    butler.goto("/queue/")
    rows = butler.locator("tr.queue-row")
    expect(rows).to_have_count(2)
    assert rows.first.get_attribute("data-ticket") == str(ticket)
    assert rows.nth(1).get_attribute("data-ticket") == str(older)
    countdown = rows.first.locator("[data-countdown]").first
    assert countdown.get_attribute("data-due") == (T0 + timedelta(minutes=20)).isoformat()
    assert countdown.get_attribute("data-now") == T0.isoformat()
    before = countdown.inner_text()
    assert re.fullmatch(r"\d+ min \d{2} s left", before), before
    butler.wait_for_function("([el, before]) => el.textContent !== before",
                             arg=[countdown.element_handle(), before], timeout=3000)
    after = countdown.inner_text()
    assert re.fullmatch(r"1\d min [0-5]\d s left", after), after   # 19 min 59 s ... counting down
    expect(butler.locator(".needs-now")).to_contain_text("1 request needs you now")
    assert no_horizontal_scroll(butler)
    screenshot(butler, "butler-queue")

    # The butler dispatches a technician from the ticket page.
    with butler.expect_navigation():
        rows.first.get_by_role("link", name="Kitchen tap leaking").click()
    submit_step(butler, "dispatch", technician_id=str(estate.technician))
    assert state_of(app, ticket) == "dispatched"

    # The technician finds it in their queue, records arrival and completion.
    technician = login("technician", phone=True)
    technician.goto("/queue/")
    expect(technician.locator("tr.queue-row")).to_have_count(1)
    with technician.expect_navigation():
        technician.get_by_role("link", name="Kitchen tap leaking").click()
    submit_step(technician, "arrive")
    submit_step(technician, "complete")
    assert state_of(app, ticket) == "completed"
    technician.goto("/queue/")
    expect(technician.locator("tr.queue-row")).to_have_count(0)   # nothing left to do

    # The butler records the follow-up visit with the resident's rating.
    butler.goto(f"/tickets/{ticket}")
    submit_step(butler, "visit", rating="5")
    expect(butler.locator(".state")).to_have_text("Followed up")
    assert state_of(app, ticket) == "visited"


def test_the_countdown_turns_red_when_the_step_passes_its_due_time(app, estate, clock, login):
    ticket = open_ticket(app, "butler", title="Almost late", unit_id=estate.unit_a,
                         reported_at=T0 - timedelta(minutes=20) + timedelta(seconds=5))
    butler = login("butler")
    butler.goto("/queue/")
    row = butler.locator(f'tr[data-ticket="{ticket}"]')
    countdown = row.locator("[data-countdown]").first
    assert re.fullmatch(r"0 min 0[0-5] s left", countdown.inner_text())   # due 5 s after T0
    expect(row).not_to_have_class(re.compile(r"\bis-overdue\b"))
    expect(countdown).to_have_text(re.compile(r"^0 min 0\d s overdue$"), timeout=10_000)
    expect(countdown).to_have_class(re.compile(r"\boverdue\b"))
    expect(row).to_have_class(re.compile(r"\bis-overdue\b"))


def test_a_missed_deadline_appears_in_the_supervisors_overdue_list(app, estate, clock, login):
    missed = open_ticket(app, "west_resident", title="Lift stuck between floors")
    clock.shift(timedelta(minutes=25))
    soon = open_ticket(app, "resident", title="Tap leaking")          # due in 20 minutes
    complaint = open_ticket(app, "neighbour", kind="complaint", title="Noise at night")
    fire(app, complaint, "accept", "butler")
    fire(app, complaint, "progress_update", "butler", note="Talking to 103",
         promised_at=T0 + timedelta(minutes=25 + 120))                # due in 2 hours

    supervisor = login("supervisor")
    supervisor.goto("/supervisor/overdue")
    row = supervisor.locator("tr.overdue-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Lift stuck between floors")
    expect(row).to_contain_text("Other_Butler")
    expect(row).to_contain_text("-2 (art. 4)")
    expect(supervisor.locator(f'#due-soon tr[data-ticket="{soon}"]')).to_contain_text(
        "Arrival on site")
    expect(supervisor.locator(f'#due-later tr[data-ticket="{complaint}"]')).to_contain_text(
        "Reply with a solution")
    assert supervisor.locator(f'tr[data-ticket="{missed}"]').count() == 0  # overdue, not at risk
    screenshot(supervisor, "supervisor-overdue")

    supervisor.get_by_role("link", name=re.compile("Due within 30 min")).click()
    assert supervisor.url.endswith("#due-soon")


def test_the_workflows_page_draws_each_kind_with_mermaid(app, clock, login, live_server):
    supervisor = login("supervisor")
    requests, errors = [], []
    supervisor.on("request", lambda request: requests.append(request.url))
    supervisor.on("pageerror", lambda error: errors.append(str(error)))
    supervisor.goto("/supervisor/workflows")

    diagrams = supervisor.locator("pre.mermaid svg")
    expect(diagrams).to_have_count(3, timeout=15_000)
    expect(supervisor.locator('pre.mermaid[data-kind="repair"] svg')).to_contain_text(
        "Technician dispatched")
    expect(supervisor.locator('pre.mermaid[data-kind="renovation"] svg')).to_contain_text(
        "Violation, rectifying")
    assert errors == []
    assert requests and {urlparse(url).netloc for url in requests} == {urlparse(live_server).netloc}
    screenshot(supervisor, "supervisor-workflows")


def test_the_handover_fits_a_phone_and_prints_without_the_navigation(app, estate, clock, login):
    open_ticket(app, "resident", title="Tap leaking")
    open_ticket(app, "butler", title="West call", unit_id=estate.unit_w)
    butler = login("butler", phone=True)
    butler.goto("/queue/handover")
    expect(butler.locator(".handover-building h2")).to_have_count(2)
    expect(butler.get_by_role("button", name="Print")).to_be_visible()
    assert no_horizontal_scroll(butler)
    screenshot(butler, "butler-handover")
    butler.emulate_media(media="print")
    expect(butler.locator("header.top")).to_be_hidden()
    expect(butler.get_by_role("button", name="Print")).to_be_hidden()
    expect(butler.get_by_text("Taken over by")).to_be_visible()


def test_the_supervisors_pages_fit_a_phone(app, estate, clock, login):
    open_ticket(app, "resident", title="Tap leaking")
    open_ticket(app, "west_resident", title="Lift stuck between floors")
    clock.shift(timedelta(minutes=25))
    supervisor = login("supervisor", phone=True)
    supervisor.goto("/supervisor/overdue")
    expect(supervisor.locator("tr.overdue-row")).to_have_count(2)
    assert no_horizontal_scroll(supervisor)
    supervisor.goto("/supervisor/workflows")
    expect(supervisor.locator("pre.mermaid svg")).to_have_count(3, timeout=15_000)
    assert no_horizontal_scroll(supervisor)   # a wide diagram scrolls inside its own frame
