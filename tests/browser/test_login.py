"""Each role lands on its own page after logging in, in a real browser."""
import pytest

from tests.browser.conftest import screenshot


@pytest.mark.parametrize("username, heading, phone", [
    ("resident", "My requests", True),
    ("butler", "Open work", False),
    ("supervisor", "Overdue now", False),
])
def test_each_role_lands_on_its_own_page(login, username, heading, phone):
    page = login(username, phone=phone)
    assert page.get_by_role("heading", level=1).inner_text().startswith(heading)
    screenshot(page, f"{username}-home")
