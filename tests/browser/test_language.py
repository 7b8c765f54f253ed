"""The 中文 / English switch in a real browser: it changes the interface and the choice sticks."""
import re
from datetime import timedelta

from playwright.sync_api import expect

from models import User, db
from tests.browser.conftest import screenshot
from tests.conftest import T0
from workflows import engine


def test_the_chinese_switch_shows_the_chinese_interface_and_sticks(login):
    page = login("resident", phone=True, locale="en-US")
    assert page.get_by_role("heading", level=1).inner_text().startswith("My requests")

    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("我的请求")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("link", name="新建请求").is_visible()
    screenshot(page, "resident-home-zh")

    page.reload()   # the cookie wins over the browser's English
    assert page.get_by_role("heading", level=1).inner_text().startswith("我的请求")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("My requests")


def test_the_live_countdown_counts_in_chinese(app, estate, clock, login):
    """The script takes its words from the page: 剩余 mm:ss, N 天 hh:mm:ss, 已超时 mm:ss."""
    with app.app_context():
        resident = db.session.scalar(db.select(User).where(User.username == "resident"))
        engine.open_ticket(resident, "repair", "厨房水龙头漏水")            # on site in 20 min
        engine.open_ticket(resident, "complaint", "电梯噪音")               # reply in 48 h
        butler = db.session.scalar(db.select(User).where(User.username == "butler"))
        engine.open_ticket(butler, "repair", "楼道灯不亮", unit_id=estate.unit_b,
                           reported_at=T0 - timedelta(minutes=25))      # 5 min overdue
    page = login("butler")
    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state()
    page.goto("/queue/")

    def countdown(title):
        return page.locator("tr.queue-row", has_text=title).locator("[data-countdown]").first

    expect(countdown("厨房水龙头漏水")).to_have_text(re.compile(r"^剩余 1\d 分 [0-5]\d 秒$"))
    expect(countdown("楼道灯不亮")).to_have_text(re.compile(r"^已超时 5 分 0\d 秒$"))
    expect(countdown("电梯噪音")).to_have_text(re.compile(r"^剩余 1 天 23 小时$"))
    screenshot(page, "butler-queue-zh")
