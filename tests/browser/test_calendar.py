"""An estate's office calendar on a phone: it fits 375 px, and a bad span of hours sent says so
at the top and next to its weekday, with what was typed kept."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.helpers import no_horizontal_scroll


def test_the_calendar_page_reads_on_a_phone_and_says_what_is_wrong_at_the_top(login):
    page = login("supervisor", phone=True)
    page.goto("/estates/calendars")
    assert no_horizontal_scroll(page)
    page.get_by_label("Monday").fill("08:30-12:00, 11:00-14:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the office calendar").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.locator("a")).to_have_attribute("href", "#hours_mon")
    expect(page.locator(".field.has-error", has=page.locator("#hours_mon")).locator(".error")) \
        .to_have_text("08:30-12:00 and 11:00-14:00 overlap")
    expect(page.get_by_label("Monday")).to_have_value("08:30-12:00, 11:00-14:00")
    assert no_horizontal_scroll(page)
    screenshot(page, "calendar-375")
