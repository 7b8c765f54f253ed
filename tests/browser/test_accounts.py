"""The office prints a building's invitation slips and a resident gets in with one, on a phone;
the admin's pages read at 375 px."""
from __future__ import annotations

import re

from tests.browser.conftest import PHONE, screenshot
from tests.helpers import no_horizontal_scroll


def test_a_resident_gets_in_on_a_phone_with_a_printed_slip(login, chromium, live_server, estate):
    admin = login("admin", phone=True)
    admin.goto(f"/admin/people/{estate.butler}")
    assert no_horizontal_scroll(admin)
    admin.goto("/admin/invitations")
    assert no_horizontal_scroll(admin)
    admin.get_by_role("row", name=re.compile("1栋")).get_by_role(
        "button", name="Print codes").click()
    slip = admin.locator(".slip").first
    assert "Garden · 1栋 · 101" in slip.inner_text()
    code = slip.locator(".slip-code code").inner_text()
    address = slip.locator(".slip-link code").inner_text()
    assert no_horizontal_scroll(admin)
    screenshot(admin, "invitation-slips-375")

    context = chromium.new_context(base_url=live_server, locale="en-US", viewport=PHONE)
    resident = context.new_page()
    resident.goto(address)
    assert resident.get_by_label("Unit (e.g. 1201)").input_value() == "101"
    resident.get_by_label("Mobile phone").fill("136 0000 7777")
    resident.get_by_label("Invitation code (from the slip, e.g. ABCD-2345)").fill(code.lower())
    resident.get_by_label("Your name").fill("Tenant Sun")
    resident.get_by_label("Choose a password (at least 8 characters)").fill("a long secret")
    resident.get_by_label("The password again").fill("a long secret")
    assert no_horizontal_scroll(resident)
    resident.get_by_role("button", name="Get in", exact=True).click()
    resident.wait_for_load_state()
    assert "You are in" in resident.locator(".flash").inner_text()
    resident.get_by_label("Password").fill("a long secret")
    resident.get_by_role("button", name="Log in").click()
    resident.wait_for_load_state()
    assert resident.get_by_role("heading", level=1).inner_text().startswith("My requests")
    context.close()
