"""The pages speak the reader's language: Chinese for Chinese browsers (and by default), English
for English ones, and the 中文 / English switch overrides the browser for a year (a cookie)."""
import pytest

from tests.pages import csrf_token, log_in


def login_page(client, language: str | None = None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = client.get("/login", headers=headers)
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize("language", ["zh-CN,zh;q=0.9,en;q=0.8", "zh", "zh-TW", None])
def test_a_chinese_browser_and_no_preference_get_the_chinese_login_page(client, language):
    page = login_page(client, language)
    assert '<html lang="zh-CN">' in page
    assert "<h1>登录</h1>" in page and "用户名" in page


@pytest.mark.parametrize("language", ["en", "en-US,en;q=0.9", "en-GB,zh;q=0.5"])
def test_an_english_browser_gets_the_english_login_page(client, language):
    page = login_page(client, language)
    assert '<html lang="en">' in page
    assert "<h1>Log in</h1>" in page and "Username" in page and "登录" not in page


def switch(client, lang: str, next_url: str, language: str):
    token = csrf_token(login_page(client, language))
    return client.post("/language", data={"lang": lang, "next": next_url, "csrf_token": token},
                       headers={"Accept-Language": language})


def test_the_switch_sticks_whatever_the_browser_says(client):
    response = switch(client, "en", "/login", "zh-CN")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en" and cookie.max_age >= 360 * 24 * 3600
    assert "<h1>Log in</h1>" in login_page(client, "zh-CN")

    switch(client, "zh_CN", "/login", "en")
    assert client.get_cookie("lang").value == "zh_CN"
    assert "<h1>登录</h1>" in login_page(client, "en")


def test_the_switch_works_for_a_logged_in_resident_and_keeps_the_page(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert log_in(client, "resident").status_code == 302
    page = client.get("/", follow_redirects=True)
    assert "My requests" in page.text
    token = csrf_token(page.text)
    response = client.post("/language", data={"lang": "zh_CN", "next": page.request.path,
                                               "csrf_token": token}, follow_redirects=True)
    assert response.request.path == page.request.path
    assert "我的请求" in response.text and '<html lang="zh-CN">' in response.text


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                      "javascript:alert(1)", ""])
def test_a_bad_next_is_not_followed(client, next_url):
    response = switch(client, "en", next_url, "en")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_an_unknown_language_is_ignored(client):
    switch(client, "fr", "/login", "en")
    assert client.get_cookie("lang") is None


def test_the_switch_needs_a_csrf_token(client):
    assert client.post("/language", data={"lang": "en", "next": "/login"}).status_code == 400
