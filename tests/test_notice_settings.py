"""People's notice settings and the areas' own robots: which kinds of notice are emailed, quiet
hours that hold what can wait (never a clock running out within the hour), a phone, and an
area's group robot, whose address may not lead into a private network.

Set on the account page and by PATCH /api/v1/me; the robots on /supervisor/robots and by
PUT /api/v1/areas/ID/webhook. Sends reach the real SMTP server and webhook receiver of
tests/servers.py.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from models import Area, Channel, Notice, NoticeStatus, User, db
from tests.api import API, token_for
from tests.helpers import notices_of
from tests.pages import csrf_token, field_html, flashes
from tests.servers import Webhook, free_port
from workflows import delivery, sweeper
from workflows.clock import now as clock_now

# T0 is 09:00 in Shanghai: inside quiet hours from 08:00 until 12:00.
QUIET_ENDS = datetime(2026, 11, 16, 4, 0, tzinfo=UTC)


def settings(app, username: str) -> dict:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return {"email": user.email, "phone": user.phone, "email_for": user.email_for,
                "quiet": (user.quiet_from, user.quiet_until)}


def choose(estate, who: str, email_for=("new", "step", "warning", "missed"), quiet=None):
    person = estate.user(who)
    person.email, person.email_for = f"{who}@example.com", list(email_for)
    person.quiet_from, person.quiet_until = quiet or (None, None)
    db.session.commit()


def emails() -> list[Notice]:
    return notices_of(Channel.EMAIL)


# -- which kinds are emailed -----------------------------------------------------------------------

def test_only_the_kinds_chosen_are_emailed_and_the_bell_hears_of_everything(
        mailbox, desk, estate, clock):
    choose(estate, "butler", email_for=["missed"])
    desk.open("resident")
    assert emails() == []
    assert [n.cause for n in notices_of(Channel.IN_APP)] == ["new"]
    clock.shift(timedelta(hours=24, minutes=21))  # missed, and a day later still undone
    sweeper.sweep()
    assert {n.cause for n in emails() if n.user_id == estate.butler} == {"reminder"}


def test_a_supervisor_who_chose_missed_deadlines_is_emailed_the_miss(mailbox, desk, estate, clock):
    choose(estate, "supervisor", email_for=["missed"])
    choose(estate, "butler", email_for=["new"])
    desk.open("resident")
    clock.shift(timedelta(minutes=21))
    sweeper.sweep()
    assert sorted((n.cause, n.user_id) for n in emails()) == [
        ("escalation", estate.supervisor), ("new", estate.butler)]
    assert delivery.deliver() == 2
    assert sorted(m["To"] for m in mailbox.messages) == ["butler@example.com",
                                                          "supervisor@example.com"]


# -- quiet hours -----------------------------------------------------------------------------------

def test_in_quiet_hours_an_email_that_can_wait_is_held_until_they_end(mailbox, desk, estate, clock):
    choose(estate, "butler", quiet=(time(8), time(12)))
    desk.open("resident", kind="complaint", title="Noise at night")  # 48 hours to reply
    [held] = emails()
    assert held.next_try_at == QUIET_ENDS
    assert [n.cause for n in notices_of(Channel.IN_APP)] == ["new"]  # the bell at once

    assert delivery.deliver() == 0
    clock.move_to(QUIET_ENDS)
    assert delivery.deliver() == 1
    assert [m["To"] for m in mailbox.messages] == ["butler@example.com"]


def test_quiet_hours_never_hold_a_clock_that_runs_out_within_the_hour(mailbox, desk, estate,
                                                                      clock):
    choose(estate, "butler", quiet=(time(8), time(12)))
    desk.open("resident")  # on site within 20 minutes
    [urgent] = emails()
    assert urgent.next_try_at == clock_now()
    assert delivery.deliver() == 1


def test_quiet_hours_across_midnight_end_the_next_morning(mailbox, desk, estate, clock):
    choose(estate, "butler", quiet=(time(22), time(7)))
    clock.move_to(datetime(2026, 11, 16, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    desk.open("resident", kind="complaint", title="Noise at night")
    [held] = emails()
    assert held.next_try_at == datetime(2026, 11, 16, 23, 0, tzinfo=UTC)  # 07:00 next day


def test_outside_quiet_hours_nothing_is_held(mailbox, desk, estate, clock):
    choose(estate, "butler", quiet=(time(22), time(7)))
    desk.open("resident", kind="complaint", title="Noise at night")
    [sent_now] = emails()
    assert sent_now.next_try_at == clock_now()


def test_changing_the_quiet_hours_lets_what_they_held_go_now(app, client, mailbox, desk, estate,
                                                              clock):
    auth = token_for(client, "butler")
    choose(estate, "butler", quiet=(time(8), time(12)))
    desk.open("resident", kind="complaint", title="Noise at night")
    assert [n.next_try_at for n in emails()] == [QUIET_ENDS]
    db.session.rollback()  # this test's reads end before the request writes
    reply = client.patch(f"{API}/me", json={"quiet_from": None, "quiet_until": None},
                         headers=auth)
    assert reply.status_code == 200
    db.session.rollback()
    assert [n.next_try_at for n in emails()] == [clock_now()]
    assert delivery.deliver() == 1


# -- texts through the company's SMS gateway ------------------------------------------------------

@pytest.fixture
def sms_gateway(app):
    """The company's SMS gateway: a real HTTP receiver taking the signed texts."""
    receiver = Webhook()
    receiver.start()
    app.config.update(SMS_WEBHOOK_URL=f"{receiver.url}/sms", SMS_WEBHOOK_SECRET="sms-secret")
    yield receiver
    receiver.stop()


def test_a_butler_who_chose_warnings_by_text_gets_one_signed_at_the_gateway(
        sms_gateway, desk, estate, clock):
    butler = estate.user("butler")
    butler.phone, butler.sms_for, butler.language = "13800138000", ["warning"], "zh_CN"
    db.session.commit()
    ticket = desk.open("resident").id  # "new" is not texted
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    clock.shift(timedelta(minutes=10))
    sweeper.sweep()
    [text] = notices_of(Channel.SMS)
    assert (text.cause, text.user_id) == ("warning", estate.butler)

    assert delivery.deliver() == 1
    [received] = sms_gateway.received
    assert received.json["to"] == "13800138000" and received.json["id"] == text.id
    assert received.json["text"].startswith("还剩 10 分钟") or "10 分钟" in received.json["text"]
    assert received.json["url"].endswith(f"/tickets/{ticket}")
    digest = hmac.new(b"sms-secret", received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-ButlerDesk-Signature"] == f"sha256={digest}"
    assert received.headers["X-ButlerDesk-Delivery"] == str(text.id)


def test_texts_wait_for_the_end_of_quiet_hours_like_emails(sms_gateway, desk, estate, clock):
    butler = estate.user("butler")
    butler.phone, butler.sms_for = "13800138000", ["new"]
    butler.quiet_from, butler.quiet_until = time(8), time(12)
    db.session.commit()
    desk.open("resident", kind="complaint", title="Noise at night")
    [held] = notices_of(Channel.SMS)
    assert held.next_try_at == QUIET_ENDS


def test_texts_need_a_phone(app, client):
    auth = token_for(client, "technician")
    reply = client.patch(f"{API}/me", json={"phone": "", "sms_for": ["warning"]}, headers=auth)
    assert reply.status_code == 422
    assert reply.json["error"]["fields"] == {"phone": "is needed for the texts chosen"}
    ok = client.patch(f"{API}/me", json={"phone": "13900001111", "sms_for": ["missed", "warning"]},
                      headers=auth)
    assert ok.json["sms_for"] == ["warning", "missed"]


# -- the account page ------------------------------------------------------------------------------

def test_the_account_page_saves_the_kinds_quiet_hours_and_phone(app, browser):
    butler = browser("butler")
    page = butler.get("/account").text
    assert 'name="notices-email_for" type="checkbox" value="warning"' in page
    sent = butler.post("/account/notices", data={
        "notices-csrf_token": csrf_token(page), "notices-email": "wang@example.com",
        "notices-phone": "138 0013 8000", "notices-email_for": ["warning", "missed"],
        "notices-quiet_from": "22:00", "notices-quiet_until": "07:00"}, follow_redirects=True)
    assert flashes(sent.text, "success") == ["Your notice settings are saved."]
    assert settings(app, "butler") == {"email": "wang@example.com", "phone": "13800138000",
                                       "email_for": ["warning", "missed"],
                                       "quiet": (time(22), time(7))}
    assert 'value="22:00"' in sent.text and 'value="07:00"' in sent.text
    assert re.findall(r'<input checked id="notices-email_for-\d"[^>]* value="(\w+)"',
                      sent.text) == ["warning", "missed"]


def test_a_resident_chooses_only_among_the_steps_on_their_requests(browser):
    page = browser("resident").get("/account").text
    assert "Steps on my requests" in page
    assert 'value="warning"' not in page and 'value="new"' not in page


def test_every_bad_setting_is_said_at_once(browser):
    butler = browser("butler")
    sent = butler.post("/account/notices", data={
        "notices-csrf_token": csrf_token(butler.get("/account").text),
        "notices-email": "li at example", "notices-phone": "12345",
        "notices-quiet_from": "22:00"})
    for name in ("notices-email", "notices-phone", "notices-quiet_until"):
        assert 'class="error"' in field_html(sent.text, name), name


def test_a_full_width_phone_from_a_chinese_keyboard_is_read(app, browser):
    butler = browser("butler")
    butler.post("/account/notices", data={
        "notices-csrf_token": csrf_token(butler.get("/account").text),
        "notices-phone": "１３８ ００１３ ８０００"})
    assert settings(app, "butler")["phone"] == "13800138000"


@pytest.mark.parametrize("data, name, message", [
    ({"notices-phone": "12345"}, "notices-phone", "is not a mainland mobile number"),
    ({"notices-quiet_from": "22:00"}, "notices-quiet_until", "give both times"),
    ({"notices-quiet_from": "25:00", "notices-quiet_until": "07:00"}, "notices-quiet_from",
     "must be a time of day"),
    ({"notices-quiet_from": "07:00", "notices-quiet_until": "07:00"}, "notices-quiet_until",
     "must differ"),
])
def test_a_bad_setting_is_said_next_to_it_the_text_kept_and_nothing_saved(app, browser, data,
                                                                         name, message):
    butler = browser("butler")
    before = settings(app, "butler")
    sent = butler.post("/account/notices", data={
        "notices-csrf_token": csrf_token(butler.get("/account").text),
        "notices-email": "kept@example.com", **data})
    assert sent.status_code == 422
    assert message in field_html(sent.text, name)
    assert 'class="error-summary"' in sent.text and f'href="#{name}"' in sent.text
    assert 'value="kept@example.com"' in sent.text
    for value in data.values():
        assert f'value="{value}"' in sent.text
    assert settings(app, "butler") == before


# -- PATCH /api/v1/me ------------------------------------------------------------------------------

def test_the_api_changes_only_what_is_sent(app, client):
    auth = token_for(client, "butler")
    reply = client.patch(f"{API}/me", json={"email_for": ["new"], "quiet_from": "21:30",
                                            "quiet_until": "06:00"}, headers=auth)
    assert reply.status_code == 200, reply.json
    assert {k: reply.json[k] for k in ("email_for", "quiet_from", "quiet_until")} == {
        "email_for": ["new"], "quiet_from": "21:30", "quiet_until": "06:00"}
    reply = client.patch(f"{API}/me", json={"phone": "+86 139-0000-1111"}, headers=auth)
    assert reply.json["phone"] == "13900001111" and reply.json["email_for"] == ["new"]
    assert client.get(f"{API}/me", headers=auth).json == reply.json


@pytest.mark.parametrize("sent, field", [
    ({"email": "not an address"}, "email"),
    ({"phone": "010-12345678"}, "phone"),
    ({"email_for": ["everything"]}, "email_for"),
    ({"email_for": "new"}, "email_for"),
    ({"quiet_from": "7pm", "quiet_until": "06:00"}, "quiet_from"),
    ({"quiet_from": None, "quiet_until": "06:00"}, "quiet_from"),
])
def test_the_api_refuses_a_bad_setting_naming_it_and_changes_nothing(app, client, sent, field):
    auth = token_for(client, "butler")
    before = client.get(f"{API}/me", headers=auth).json
    reply = client.patch(f"{API}/me", json={"email": "ok@example.com", **sent}, headers=auth)
    assert reply.status_code == 422
    assert field in reply.json["error"]["fields"]
    assert client.get(f"{API}/me", headers=auth).json == before


def test_staff_see_a_persons_phone_and_residents_do_not(client, estate):
    staff = client.get(f"{API}/tickets", headers=token_for(client, "butler"))
    assert staff.status_code == 200
    me = client.get(f"{API}/me", headers=token_for(client, "resident")).json
    assert "phone" in me


# -- an area's own robot ---------------------------------------------------------------------------

@pytest.fixture
def area_robot(app):
    """A WeCom-format receiver standing in for an area's group; private addresses allowed, as an
    installation with its gateway inside its own network would set."""
    receiver = Webhook()
    receiver.start()
    app.config["ALLOW_PRIVATE_WEBHOOKS"] = True
    yield receiver
    receiver.stop()


def area_of(app, estate) -> Area:
    """The butler's area (East), where the resident lives, read in a context of its own (the
    test's own would keep a read open past the writes of the requests)."""
    with app.app_context():
        area = db.session.scalar(select(Area).where(Area.butler_id == estate.butler))
        db.session.expunge(area)
        return area


@pytest.mark.parametrize("url, message", [
    ("ftp://robot.example.com/send", "must be an http:// or https:// address"),
    ("qyapi.weixin.qq.com/cgi-bin/webhook/send", "must be an http:// or https:// address"),
    ("http://127.0.0.1:8080/hook", "private network"),
    ("http://localhost/hook", "private network"),
    ("https://10.1.2.3/hook", "private network"),
    ("http://192.168.1.20/hook", "private network"),
    ("http://169.254.169.254/latest/meta-data", "private network"),
    ("http://[::1]/hook", "private network"),
])
def test_an_area_robot_must_be_a_public_http_address(app, client, estate, url, message):
    area = area_of(app, estate)
    auth = token_for(client, "supervisor")
    reply = client.put(f"{API}/areas/{area.id}/webhook",
                       json={"webhook_url": url, "webhook_format": "wecom"}, headers=auth)
    assert reply.status_code == 422
    assert message in reply.json["error"]["fields"]["webhook_url"]
    assert area_of(app, estate).webhook_url is None


def test_a_public_robot_is_saved_its_secret_never_shown(app, client, estate):
    area = area_of(app, estate)
    auth = token_for(client, "supervisor")
    reply = client.put(f"{API}/areas/{area.id}/webhook", json={
        "webhook_url": "https://1.1.1.1/robot/send?key=abc", "webhook_format": "dingtalk",
        "webhook_secret": "SEC123"}, headers=auth)
    assert reply.status_code == 200, reply.json
    assert reply.json == {"area_id": area.id, "area": area.name, "webhook_format": "dingtalk",
                          "webhook_url": "https://1.1.1.1/robot/send?key=abc", "has_secret": True}
    listed = client.get(f"{API}/webhooks", headers=auth).json["webhooks"]
    assert "SEC123" not in str(listed) and reply.json in listed
    removed = client.put(f"{API}/areas/{area.id}/webhook", json={"webhook_url": ""},
                         headers=auth)
    assert removed.json["webhook_url"] is None and removed.json["has_secret"] is False


def test_only_supervisors_set_a_robot(app, client, estate):
    reply = client.put(f"{API}/areas/{area_of(app, estate).id}/webhook",
                       json={"webhook_url": "https://1.1.1.1/x", "webhook_format": "wecom"},
                       headers=token_for(client, "butler"))
    assert reply.status_code == 403


def test_the_area_robot_hears_what_its_staff_hear_and_not_what_residents_hear(
        app, client, desk, estate, clock, area_robot):
    area = area_of(app, estate)
    client.put(f"{API}/areas/{area.id}/webhook", json={
        "webhook_url": f"{area_robot.url}/cgi-bin/webhook/send?key=area",
        "webhook_format": "wecom"}, headers=token_for(client, "supervisor"))
    ticket = desk.open("resident").id  # the butler is told: the area's group hears of it
    desk.fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    rows = notices_of(Channel.WEBHOOK)
    assert [n.key for n in rows] == [f"new:{ticket}:area:webhook",
                                     f"step:{rows[1].data['event_id']}:area:webhook"]

    assert delivery.deliver() == 2
    first = area_robot.received[0]
    assert first.query == {"key": "area"} and first.json["msgtype"] == "markdown"
    assert f"#{ticket}" in first.json["markdown"]["content"]
    assert int(first.headers["X-ButlerDesk-Delivery"]) == rows[0].id


def test_an_area_robot_that_has_come_to_point_inside_is_refused_at_the_send(
        app, client, desk, estate, clock, area_robot):
    area = area_of(app, estate)
    client.put(f"{API}/areas/{area.id}/webhook", json={
        "webhook_url": f"{area_robot.url}/send", "webhook_format": "generic"},
        headers=token_for(client, "supervisor"))
    app.config["ALLOW_PRIVATE_WEBHOOKS"] = False  # the check applies again at the send
    desk.open("resident")
    assert delivery.deliver() == 0
    [refused] = notices_of(Channel.WEBHOOK)
    assert refused.status == NoticeStatus.PENDING and "private network" in refused.last_error
    assert area_robot.received == []


def test_removing_a_robot_fails_what_waited_for_it_and_the_log_says_whose_it_was(
        app, client, browser, desk, estate, clock, area_robot):
    area = area_of(app, estate)
    auth = token_for(client, "supervisor")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing answers: the notice waits to retry
    client.put(f"{API}/areas/{area.id}/webhook", json={
        "webhook_url": f"{closed}/send?key=SECRETKEY", "webhook_format": "wecom"}, headers=auth)
    desk.open("resident")
    assert delivery.deliver() == 0
    log = browser("supervisor").get("/supervisor/deliveries").text
    assert f"the group robot of {area.name}" in log
    assert "SECRETKEY" not in log and "key=…" in log

    db.session.rollback()
    removed = client.put(f"{API}/areas/{area.id}/webhook", json={"webhook_url": None},
                         headers=auth)
    assert removed.status_code == 200, removed.json
    db.session.rollback()
    [gone] = notices_of(Channel.WEBHOOK)
    assert (gone.status, gone.last_error) == (NoticeStatus.FAILED, "the area's robot was removed")


def test_the_log_says_an_email_is_held_for_quiet_hours(app, browser, mailbox, desk, estate,
                                                       clock):
    choose(estate, "butler", quiet=(time(8), time(12)))
    desk.open("resident", kind="complaint", title="Noise at night")
    supervisor = browser("supervisor")
    log = supervisor.get("/supervisor/deliveries").text
    assert "held for quiet hours until 2026-11-16 12:00" in log
    filtered = supervisor.get("/supervisor/deliveries?status=failed").text
    assert "No notice matches these filters." in filtered


def test_the_robots_page_keeps_a_bad_address_next_to_its_message(app, browser, estate):
    supervisor = browser("supervisor")
    area = area_of(app, estate)
    page = supervisor.get("/supervisor/robots").text
    assert area.name in page
    prefix = f"area{area.id}"
    sent = supervisor.post(f"/supervisor/robots/{area.id}", data={
        f"{prefix}-csrf_token": csrf_token(page), f"{prefix}-webhook_url": "http://10.0.0.8/x",
        f"{prefix}-webhook_format": "wecom"})
    assert sent.status_code == 422
    field = field_html(sent.text, f"{prefix}-webhook_url")
    assert "private network" in field and 'value="http://10.0.0.8/x"' in field
    assert f'href="#{prefix}-webhook_url"' in sent.text
    saved = supervisor.post(f"/supervisor/robots/{area.id}", data={
        f"{prefix}-csrf_token": csrf_token(page),
        f"{prefix}-webhook_url": "https://1.1.1.1/cgi-bin/webhook/send?key=x",
        f"{prefix}-webhook_format": "wecom"}, follow_redirects=True)
    assert flashes(saved.text, "success") == [f"The group robot of {area.name} is saved."]
