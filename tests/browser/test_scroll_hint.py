"""A table wider than a phone (375 px) scrolls sideways inside its wrapper (.table-scroll) and says
so: a shadow on the side with more to see, none on the side at its end, none at all when the
table fits. Drawn by static/style.css alone; read here from the pixels of the screen."""
from __future__ import annotations

import io

from PIL import Image

from models import User, db
from tests.browser.conftest import screenshot

# A butler's name with no place to break in Chinese: the score table is wider than a phone.
LONG_NAME = "李明东区西区夜班周末机动管家负责全部楼栋"


def _edges(page, wrapper) -> tuple[float, float]:
    """How dark the leftmost and rightmost few pixels of the wrapper are, on average (0 white)."""
    shot = Image.open(io.BytesIO(wrapper.screenshot())).convert("L")
    width, height = shot.size

    def darkness(xs) -> float:
        values = [255 - shot.getpixel((x, y)) for x in xs for y in range(height)]
        return sum(values) / len(values)

    return darkness(range(0, 4)), darkness(range(width - 4, width))


def test_the_score_table_on_a_phone_shows_where_it_scrolls(app, login, estate, clock):
    with app.app_context():
        db.session.get(User, estate.butler).name = LONG_NAME
        db.session.commit()
    page = login("supervisor", phone=True)
    page.goto("/supervisor/overdue")
    wrapper = page.locator("#scores .table-scroll")
    wrapper.scroll_into_view_if_needed()
    scroll_width, client_width = wrapper.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll_width > client_width  # it does not fit: it scrolls

    left, right = _edges(page, wrapper)
    screenshot(page, "scroll-hint-start")
    assert right > left + 10, (left, right)  # more to see on the right

    wrapper.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    page.wait_for_timeout(100)
    left, right = _edges(page, wrapper)
    screenshot(page, "scroll-hint-end")
    assert left > right + 10, (left, right)  # at its end: more to see on the left only


def test_a_table_that_fits_has_no_shadow(app, login, estate, clock):
    page = login("supervisor")
    page.goto("/supervisor/overdue")
    wrapper = page.locator("#scores .table-scroll")
    scroll_width, client_width = wrapper.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll_width == client_width
    left, right = _edges(page, wrapper)
    assert left < 3 and right < 3, (left, right)
