"""What a person sees when a page request cannot be served: an expired form, a stranger's link,
an id no database holds. Never a bare error page in the wrong language, never a 500."""
from __future__ import annotations

import pytest

from tests.pages import csrf_token, flashes


def test_a_form_sent_after_the_session_ended_shows_what_was_typed(browser):
    page = browser("resident", language="zh-CN").get("/tickets/new").text
    client = browser(language="zh-CN")  # the browser lost its cookies: no session any more

    reply = client.post("/tickets/new", data={"csrf_token": csrf_token(page), "kind": "repair",
                                         "title": "厨房水龙头漏水",
                                         "description": "一直滴水\n晚上更响"})

    assert reply.status_code == 400
    assert "此表单已失效" in reply.text
    assert "厨房水龙头漏水" in reply.text and "一直滴水\n晚上更响" in reply.text
    assert "CSRF session token" not in reply.text  # not the bare English error


def test_the_login_page_asks_in_the_readers_language(browser):
    reply = browser(language="zh-CN").get("/my/", follow_redirects=True)

    assert "请先登录再打开此页面。" in flashes(reply.text)


@pytest.mark.parametrize("path, method", [
    ("/assessment/butlers/99999999999999999999999", "get"),
    ("/assessment/lines/99999999999999999999999/waive", "post"),
    ("/assessment/spot-checks/items/99999999999999999999999", "post"),
])
def test_an_id_too_large_for_the_database_is_not_found(browser, path, method):
    client = browser("supervisor")
    token = csrf_token(client.get("/assessment/").text)

    reply = getattr(client, method)(path, data={"csrf_token": token, "reason": "x"})

    assert reply.status_code == 404
