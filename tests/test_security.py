"""Safe on the internet: no built-in secret key, logins that can be ended, limited login tries,
no open redirects, headers that protect the pages, and nothing anyone sends is a 500.

Each test is one class of attack, tried as an attacker would, through the pages and the API.
"""
from __future__ import annotations

import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from models import Attachment, Ticket, User, db
from tests.api import API, assert_error, fire, log_in, open_ticket, token_for
from tests.conftest import PASSWORD, make_app
from tests.pages import PNG, csrf_token, field_html, flashes
from tests.pages import log_in as page_log_in
from workflows import accounts, people

REPO = Path(__file__).resolve().parent.parent


# -- 1. the secret key ----------------------------------------------------------------------------

class _Signer:
    """What Flask's session signer needs of an app: a key and the settings."""

    def __init__(self, secret_key: str, config):
        self.secret_key, self.config = secret_key, config


def forged_session(app, secret_key: str, user_id: int) -> str:
    """A session cookie claiming `user_id`, signed with `secret_key`, as an attacker makes it."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(
        _Signer(secret_key, app.config))
    return serializer.dumps({"_user_id": str(user_id), "_fresh": True})


def test_without_a_secret_key_each_instance_makes_its_own_and_keeps_it(database_url, tmp_path):
    first = make_app(database_url, SECRET_KEY=None, instance_path=tmp_path)
    again = make_app(database_url, SECRET_KEY=None, instance_path=tmp_path)
    assert first.config["SECRET_KEY"] == again.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] != "dev-only-change-me"
    stored = Path(first.instance_path) / "secret_key"
    assert stored.read_text().strip() == first.config["SECRET_KEY"]
    assert stored.stat().st_mode & 0o077 == 0  # only the owner may read it


def test_a_cookie_signed_with_the_old_built_in_key_opens_nothing(database_url, estate, tmp_path):
    app = make_app(database_url, SECRET_KEY=None, instance_path=tmp_path)
    client = app.test_client()
    with app.app_context():
        admin = User(username="boss", name="Boss", role="admin", password_hash="x")
        db.session.add(admin)
        db.session.commit()
        admin_id = admin.id
    for key in ("dev-only-change-me", app.config["SECRET_KEY"]):
        client.set_cookie("session", forged_session(app, key, admin_id))
        # Even signed with the right key, a cookie without a live login is nobody's.
        assert client.get("/assessment/").status_code == 302


@pytest.mark.parametrize("key", [None, "", "dev-only-change-me", "short"])
def test_gunicorn_refuses_to_start_without_a_real_secret_key(key):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    if key is not None:
        env["SECRET_KEY"] = key
    gunicorn = Path(sys.executable).parent / "gunicorn"
    done = subprocess.run([str(gunicorn), "--config", "gunicorn.conf.py", "--check-config",
                           "app:create_app()"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stdout + done.stderr
    assert "secrets.token_hex" in done.stdout + done.stderr  # says how to make one


def test_an_app_made_inside_gunicorn_refuses_without_a_real_key(database_url, monkeypatch,
                                                               tmp_path):
    monkeypatch.setitem(sys.modules, "gunicorn", sys.modules.get("gunicorn") or object())
    with pytest.raises(SystemExit, match="SECRET_KEY"):
        make_app(database_url, SECRET_KEY=None, instance_path=tmp_path)
    assert make_app(database_url, SECRET_KEY="k" * 40).config["SECRET_KEY"] == "k" * 40


# -- 3. open redirects ----------------------------------------------------------------------------

ELSEWHERE = ["https://evil.example/", "//evil.example/", "/\\evil.example", "\t//evil.example",
             "/\t/evil.example", "\n//evil.example", "/\r\n/evil.example", " //evil.example",
             "\x00//evil.example", "javascript:alert(1)", "/\r\nSet-Cookie: x=1"]


@pytest.mark.parametrize("target", ELSEWHERE)
def test_the_login_never_leads_to_another_site(browser, target):
    client = browser()
    page = client.get("/login", query_string={"next": target}).text
    reply = client.post("/login", query_string={"next": target},
                        data={"username": "resident", "password": PASSWORD,
                              "csrf_token": csrf_token(page)})
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/"


@pytest.mark.parametrize("target", ELSEWHERE)
def test_the_language_switch_never_leads_to_another_site(browser, target):
    client = browser()
    token = csrf_token(client.get("/login").text)
    reply = client.post("/language", data={"lang": "en", "next": target, "csrf_token": token})
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/"


# -- 4. nothing anyone sends is a 500 --------------------------------------------------------------

def test_json_nested_very_deep_is_refused_without_logging_in(client):
    for depth in (50, 5_000, 200_000):
        reply = client.post(f"{API}/tokens", data="[" * depth + "]" * depth,
                            content_type="application/json")
        assert_error(reply, 422, "invalid", "body")


def test_a_json_body_too_large_is_413(client):
    reply = client.post(f"{API}/tokens", data=b'{"username": "' + b"a" * 2_000_000 + b'"}',
                        content_type="application/json")
    assert_error(reply, 413)


def post_raw(client, url: str, headers: dict | None, body: dict):
    """POST `body` as JSON with every non-ASCII character escaped, as "\\ud800" arrives."""
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       headers=headers or {})


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "tab\x00nul", "\x1b[31m"])
def test_a_username_nobody_types_is_refused_naming_it(client, text):
    assert_error(post_raw(client, f"{API}/tokens", None, {"username": text, "password": "x"}),
                 422, "invalid", "username")


@pytest.mark.parametrize("field", ["title", "description"])
def test_text_nobody_types_in_a_ticket_is_refused_naming_the_field(app, client, field):
    headers = token_for(client, "resident")
    body = {"kind": "repair", "title": "Tap", field: "bad \ud800 text"}
    assert_error(post_raw(client, f"{API}/tickets", headers, body), 422, "invalid", field)
    with app.app_context():
        assert db.session.scalar(select(Ticket.id)) is None


def test_text_nobody_types_in_a_note_a_detail_or_a_finding_is_refused(app, client, estate):
    butler, supervisor = token_for(client, "butler"), token_for(client, "supervisor")
    ticket = open_ticket(client, token_for(client, "resident"))
    assert_error(fire(client, butler, ticket["id"], "cancel", reason="x\x00y"), 422, "invalid",
                 "reason")
    assert_error(post_raw(client, f"{API}/tickets", token_for(client, "resident"), {
        "kind": "renovation", "title": "Kitchen",
        "details": {"contractor_name": "\ud83d"}}), 422, "invalid", "contractor_name")
    assert_error(post_raw(client, f"{API}/findings", supervisor, {
        "butler_id": estate.butler, "code": "5", "note": "no patrol \udc00"}),
        422, "invalid", "note")
    assert client.get(f"{API}/tickets/{ticket['id']}", headers=butler).json["state"] == "reported"


def test_a_nul_typed_into_a_page_form_is_shown_next_to_the_field(app, browser):
    client = browser("resident")
    page = client.get("/tickets/new").text
    reply = client.post("/tickets/new", data={"csrf_token": csrf_token(page), "kind": "repair",
                                              "title": "Tap\x00leaking", "description": "Kitchen"})
    assert reply.status_code == 422
    assert "control characters" in field_html(reply.text, "title")
    assert "Kitchen</textarea>" in reply.text


def test_a_nul_in_a_login_is_not_a_500(browser):
    reply = page_log_in(browser(), "resident\x00", PASSWORD)
    assert reply.status_code == 200
    assert "control characters" in field_html(reply.text, "username")


def test_an_unexpected_failure_is_a_friendly_page_and_a_json_error(app, client, estate):
    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule(f"{API}/boom", "api_boom", boom)
    page = client.get("/boom", headers={"Accept-Language": "en"})
    assert page.status_code == 500 and "nothing was saved" in page.text
    assert "<!doctype html>" in page.text.lower()
    assert_error(client.get(f"{API}/boom", headers=token_for(client, "butler")), 500, "internal")


# -- 6. guessing passwords ------------------------------------------------------------------------

def test_wrong_passwords_on_the_api_are_locked_out_per_username(app, client):
    for _try in range(10):
        assert_error(client.post(f"{API}/tokens", json={"username": "butler", "password": "x"}),
                     401, "unauthorized")
    locked = client.post(f"{API}/tokens", json={"username": "butler", "password": PASSWORD})
    assert_error(locked, 429, "too_many_requests")
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    # Another person is not locked out by it.
    assert client.post(f"{API}/tokens", json={"username": "resident",
                                              "password": PASSWORD}).status_code == 201


def test_the_lockout_ends_with_its_window(app, client, clock):
    for _try in range(10):
        client.post(f"{API}/tokens", json={"username": "butler", "password": "x"})
    assert client.post(f"{API}/tokens", json={"username": "butler",
                                              "password": PASSWORD}).status_code == 429
    clock.shift(timedelta(minutes=16))
    assert client.post(f"{API}/tokens", json={"username": "butler",
                                              "password": PASSWORD}).status_code == 201


def test_the_page_and_the_api_count_the_same_tries(browser, client):
    page = browser()
    for _try in range(5):
        assert "Wrong username" in page_log_in(page, "butler", "wrong").text
    for _try in range(5):
        client.post(f"{API}/tokens", json={"username": "butler", "password": "x"})
    reply = page_log_in(page, "butler", PASSWORD)
    assert reply.status_code == 429
    assert "Too many tries" in field_html(reply.text, "password")
    assert 'value="butler"' in field_html(reply.text, "username")
    assert reply.headers["Retry-After"]


def test_one_address_may_not_try_many_usernames(app, client):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "5 per minute"
    for name in ("a", "b", "c", "d", "e"):
        assert client.post(f"{API}/tokens", json={"username": name,
                                                  "password": "x"}).status_code == 401
    assert_error(client.post(f"{API}/tokens", json={"username": "resident",
                                                    "password": PASSWORD}), 429)


def test_an_unknown_username_takes_as_long_as_a_known_one(app):
    def seconds(username: str) -> float:
        with app.app_context():
            started = time.perf_counter()
            accounts.authenticate(username, "not the password")
            return time.perf_counter() - started

    seconds("nobody")  # the dummy hash is made once
    known = statistics.median(seconds("butler") for _ in range(5))
    unknown = statistics.median(seconds("nobody") for _ in range(5))
    assert unknown > known / 2


# -- 7. ending logins -----------------------------------------------------------------------------

def test_a_revoked_token_stops_working_at_once(client):
    headers = log_in(client, "butler")
    assert client.get(f"{API}/me", headers=headers).json["username"] == "butler"
    assert client.delete(f"{API}/tokens/current", headers=headers).status_code == 204
    assert_error(client.get(f"{API}/tickets", headers=headers), 401, "unauthorized")


def test_one_sees_and_ends_ones_own_tokens_only(client):
    first, second = log_in(client, "butler"), log_in(client, "butler")
    listed = client.get(f"{API}/tokens", headers=first).json["tokens"]
    assert len(listed) == 2 and sum(t["current"] for t in listed) == 1
    other = next(t["id"] for t in listed if not t["current"])
    assert_error(client.delete(f"{API}/tokens/{other}", headers=log_in(client, "resident")), 404)
    assert client.delete(f"{API}/tokens/{other}", headers=first).status_code == 204
    assert client.get(f"{API}/me", headers=second).status_code == 401
    assert client.get(f"{API}/me", headers=first).status_code == 200


def test_a_session_cookie_copied_before_logout_stops_working(browser):
    client = browser("butler")
    copied = client.get_cookie("session").value
    page = client.get("/queue/").text
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302

    thief = browser()
    thief.set_cookie("session", copied)
    assert thief.get("/queue/").status_code == 302  # to the login page


def test_a_password_change_ends_every_other_login(browser, client):
    here, elsewhere = browser("butler"), browser("butler")
    token = log_in(client, "butler")
    page = here.get("/account").text
    assert "This browser" in page and "API token" in page
    reply = here.post("/account/password", data={
        "csrf_token": csrf_token(page), "current_password": PASSWORD,
        "new_password": "a-new-secret", "new_password_again": "a-new-secret"})
    assert reply.status_code == 302
    assert here.get("/queue/").status_code == 200
    assert elsewhere.get("/queue/").status_code == 302
    assert client.get(f"{API}/me", headers=token).status_code == 401
    assert page_log_in(browser(), "butler", PASSWORD).status_code == 200  # the old one is wrong
    assert page_log_in(browser(), "butler", "a-new-secret").status_code == 302


def test_a_wrong_current_password_changes_nothing(browser):
    client = browser("butler")
    page = client.get("/account").text
    reply = client.post("/account/password", data={
        "csrf_token": csrf_token(page), "current_password": "guess",
        "new_password": "a-new-secret", "new_password_again": "a-new-secret"})
    assert reply.status_code == 422
    assert "is not your password" in field_html(reply.text, "current_password")
    assert page_log_in(browser(), "butler", PASSWORD).status_code == 302


def test_the_api_changes_a_password_and_keeps_the_token_it_came_with(client):
    token, other = log_in(client, "resident"), log_in(client, "resident")
    assert_error(client.post(f"{API}/me/password", headers=token, json={
        "current_password": PASSWORD, "new_password": "short"}), 422, "invalid", "new_password")
    assert client.post(f"{API}/me/password", headers=token, json={
        "current_password": PASSWORD, "new_password": "long enough now"}).status_code == 204
    assert client.get(f"{API}/me", headers=token).status_code == 200
    assert client.get(f"{API}/me", headers=other).status_code == 401


def test_a_deactivated_person_is_out_at_once(app, client, browser, estate):
    token, page = log_in(client, "butler"), browser("butler")
    with app.app_context():
        people.change(None, estate.butler, {"active": False})
    assert client.get(f"{API}/me", headers=token).status_code == 401
    assert page.get("/queue/").status_code == 302
    assert client.post(f"{API}/tokens", json={"username": "butler",
                                              "password": PASSWORD}).status_code == 401


# -- 8. cookies and headers -----------------------------------------------------------------------

def test_every_answer_carries_the_protective_headers(browser, client):
    for reply in (browser().get("/login"), browser("butler").get("/queue/"),
                  client.get(f"{API}/tickets"), client.get("/no/such/page"),
                  client.get("/healthz")):
        headers = reply.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert not re.search(r"\d", headers["Server"])  # no software or version named


def test_the_session_cookie_is_samesite_and_secure_when_asked(database_url, estate, monkeypatch):
    for secure in (False, True):
        app = make_app(database_url, SESSION_COOKIE_SECURE=secure)
        client = app.test_client()
        reply = page_log_in(client, "butler")
        cookie = next(c for c in reply.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
        assert ("Secure" in cookie) is secure


# -- 9. uploads -----------------------------------------------------------------------------------

def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims width × height pixels (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def upload(client, headers, ticket_id, content: bytes, name: str):
    return client.post(f"{API}/tickets/{ticket_id}/attachments", headers=headers,
                       data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_a_picture_claiming_too_many_pixels_is_refused(app, client, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    headers = token_for(client, "resident")
    ticket = open_ticket(client, headers)
    reply = upload(client, headers, ticket["id"], png_claiming(50_000, 50_000), "bomb.png")
    assert_error(reply, 422, "invalid", "file")
    assert "too many pixels" in reply.json["error"]["fields"]["file"]
    assert list(tmp_path.iterdir()) == []
    assert upload(client, headers, ticket["id"], PNG, "fine.png").status_code == 201


def test_a_nul_in_a_file_name_is_neither_kept_nor_sent_back(app, client, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    headers = token_for(client, "resident")
    ticket = open_ticket(client, headers)
    reply = upload(client, headers, ticket["id"], PNG, "evil\x00name.png")
    assert reply.status_code == 201
    [added] = reply.json["attachments"]
    assert added["name"] == "evilname.png"
    served = client.get(added["url"], headers=headers)
    assert served.status_code == 200
    assert "\x00" not in served.headers["Content-Disposition"]
    with app.app_context():
        assert "\x00" not in db.session.scalar(select(Attachment.original_name))


def test_the_flash_of_a_refused_login_is_not_mixed_up(browser):
    """The failed-try marker of one request does not leak into the next."""
    client = browser()
    page_log_in(client, "butler", "wrong")
    assert page_log_in(client, "butler", PASSWORD).status_code == 302
    assert flashes(client.get("/queue/").text, "error") == []


def test_behind_a_proxy_the_limit_counts_the_persons_address(database_url, estate):
    app = make_app(database_url, PROXY_COUNT=1, LOGIN_LIMIT_PER_ADDRESS="2 per minute")
    client = app.test_client()

    def try_from(address: str) -> int:
        return client.post(f"{API}/tokens", json={"username": "nobody", "password": "x"},
                           headers={"X-Forwarded-For": address}).status_code

    assert [try_from("203.0.113.7") for _ in range(3)] == [401, 401, 429]
    assert try_from("198.51.100.2") == 401  # someone else behind the same proxy


def test_without_a_proxy_a_forwarded_address_is_not_believed(app, client):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "2 per minute"
    statuses = [client.post(f"{API}/tokens", json={"username": "nobody", "password": "x"},
                            headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                for n in range(3)]
    assert statuses == [401, 401, 429]
