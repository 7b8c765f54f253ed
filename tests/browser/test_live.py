"""The bell and the butler's queue keep up without a reload (static/js/live.js polls
GET /notices/unread with its ETag); the notices page and the bell on a phone and a desk, in
both languages."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.helpers import no_horizontal_scroll
from tests.pages import open_ticket


def report_a_repair(resident, title: str) -> int:
    """The resident reports a repair through the request form, as on their phone."""
    resident.goto("/tickets/new")
    kind = resident.locator('[name="kind"]')
    if kind.first.evaluate("el => el.tagName") == "SELECT":
        kind.select_option("repair")
    else:
        resident.locator('input[name="kind"][value="repair"]').check()
    resident.locator('[name="title"]').fill(title)
    with resident.expect_navigation():
        resident.locator("main form").last.locator('button[type="submit"]').click()
    return int(re.search(r"/tickets/(\d+)$", resident.url).group(1))


def test_a_new_repair_reaches_the_butlers_open_queue_without_a_reload(app, estate, clock, login):
    butler = login("butler")
    butler.goto("/queue/")
    bell = butler.locator("[data-bell] [data-unread]")
    expect(bell).to_be_hidden()
    expect(butler.locator("tr.queue-row")).to_have_count(0)
    butler.evaluate("window.stillThisPage = true")  # gone if the page were loaded again

    ticket = report_a_repair(login("resident", phone=True), "Kitchen tap leaking")

    expect(bell).to_have_text("1", timeout=5000)
    rows = butler.locator("tr.queue-row")
    expect(rows).to_have_count(1, timeout=5000)
    assert rows.first.get_attribute("data-ticket") == str(ticket)
    expect(rows.first).to_contain_text("Kitchen tap leaking")
    expect(butler.locator(".needs-now")).to_contain_text("1 request needs you now")
    expect(rows.first.locator("[data-countdown]").first).to_have_text(
        re.compile(r"^1\d min [0-5]\d s left$"))  # the new list's countdown runs too
    assert butler.evaluate("window.stillThisPage") is True

    # A second one, on a filtered queue: the filter stays, and so does the page.
    butler.goto("/queue/?kind=repair")
    butler.evaluate("window.stillThisPage = true")
    open_ticket(app, "neighbour", title="Door lock broken")
    expect(bell).to_have_text("2", timeout=5000)
    expect(butler.locator("tr.queue-row")).to_have_count(2, timeout=5000)
    assert butler.locator("#filter-kind").input_value() == "repair"
    assert butler.evaluate("window.stillThisPage") is True


def test_the_notices_page_shows_a_new_notice_without_a_reload(app, estate, clock, login):
    butler = login("butler")
    butler.goto("/notices/")
    expect(butler.locator("li.notice")).to_have_count(0)
    butler.evaluate("window.stillThisPage = true")
    ticket = open_ticket(app, "resident", title="Kitchen tap leaking")
    expect(butler.locator("li.notice.is-unread")).to_have_count(1, timeout=6000)
    expect(butler.locator("li.notice")).to_contain_text(f"#{ticket} Kitchen tap leaking")
    assert butler.evaluate("window.stillThisPage") is True


def test_a_tab_whose_login_ended_says_it_no_longer_updates(app, estate, clock, login):
    butler = login("butler")
    butler.goto("/queue/")
    other_tab = butler.context.new_page()
    other_tab.goto("/account")
    with other_tab.expect_navigation():
        other_tab.get_by_role("button", name="Log out").click()

    alert = butler.get_by_role("alert")
    expect(alert).to_have_text(
        "Your login has ended: this page no longer updates. Log in again.", timeout=6000)
    with butler.expect_navigation():
        alert.get_by_role("link").click()
    assert "/login?next=/queue/" in butler.url


def test_opening_a_notice_from_the_bell_marks_it_read(app, estate, clock, login):
    ticket = open_ticket(app, "resident", title="Tap leaking")
    butler = login("butler")
    butler.goto("/queue/")
    with butler.expect_navigation():
        butler.locator("[data-bell]").click()
    expect(butler.locator("li.notice.is-unread")).to_have_count(1)
    with butler.expect_navigation():
        butler.get_by_role("button", name=re.compile(f"New: Repair #{ticket}")).click()
    assert butler.url.endswith(f"/tickets/{ticket}")
    expect(butler.locator("[data-bell] [data-unread]")).to_be_hidden()


def test_the_notices_page_and_the_bell_on_a_phone_and_a_desk_in_both_languages(
        app, estate, clock, login):
    first = open_ticket(app, "resident", title="Kitchen tap leaking")
    open_ticket(app, "neighbour", title="Water pressure low, the shower barely runs at all")
    open_ticket(app, "resident", kind="complaint", title="Noise at night")
    for phone in (True, False):
        butler = login("butler", phone=phone)
        butler.goto("/notices/")
        with butler.expect_navigation():  # one read: the page shows both kinds
            butler.get_by_role("button", name=re.compile(f"#{first} ")).click()
        for language, switch in (("en", "English"), ("zh", "中文")):
            butler.goto("/notices/")
            with butler.expect_navigation():
                butler.get_by_role("button", name=switch).click()
            expect(butler.locator("li.notice")).to_have_count(3)
            expect(butler.locator("li.notice.is-unread")).to_have_count(2)
            expect(butler.locator("[data-bell] [data-unread]")).to_have_text("2")
            expect(butler.locator("[data-bell]")).to_contain_text(
                "通知" if language == "zh" else "Notices")
            assert no_horizontal_scroll(butler)
            width = 375 if phone else 1280
            screenshot(butler, f"notices-{language}-{width}")
            butler.goto("/queue/")
            butler.screenshot(path=str(screenshot(butler, f"bell-{language}-{width}")),
                              clip={"x": 0, "y": 0, "width": width, "height": 200 if phone else 60})
