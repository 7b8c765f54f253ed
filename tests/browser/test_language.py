"""The 中文 / English switch in a real browser: it changes the interface and the choice sticks."""
from tests.browser.conftest import screenshot


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
