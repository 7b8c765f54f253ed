"""A supervisor's many pages fold behind "Menu" on a phone and stay in the header on a desk."""
from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_on_a_phone_the_supervisors_menu_folds_and_opens(login):
    page = login("supervisor", phone=True)
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(page.get_by_role("link", name="Delivery log")).to_be_hidden()
    screenshot(page, "supervisor-menu-folded-phone")

    menu.click()
    expect(page.get_by_role("link", name="Delivery log")).to_be_visible()
    assert menu.get_attribute("aria-expanded") == "true"
    screenshot(page, "supervisor-menu-open-phone")
    page.get_by_role("link", name="Delivery log").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delivery log")


def test_on_a_desk_the_menu_is_the_header(login):
    page = login("supervisor")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="Delivery log")).to_be_visible()
