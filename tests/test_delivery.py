"""Delivery: notices sent by email and to the group webhook, to real receivers, retried when
they fail, given up after the last try, and each delivered once by workers that may be killed.

The receivers (tests/servers.py) are a real SMTP server and a real HTTP server on free ports.
Deadlines of retries are reached by moving the clock, never by sleeping.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import random
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from models import Channel, Notice, NoticeStatus, User, db
from models.transaction import write
from tests.conftest import T0, Desk
from tests.helpers import notices_of, unsent
from tests.processes import REPO, Forker, app_env, flask_command
from workflows import delivery

SECRET = "webhook-secret"


def an_email_address(estate, who: str = "butler", language: str | None = "en") -> User:
    person = estate.user(who)
    person.email, person.language = f"{who}@example.com", language
    db.session.commit()
    return person


def the_only(channel: str) -> Notice:
    [notice] = notices_of(channel)
    return notice


# -- email -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language, subject", [
    ("en", "New: Repair #{id} Tap <leaking> & dripping"),
    ("zh_CN", "新请求：报修 #{id} Tap <leaking> & dripping")])
def test_an_email_goes_to_the_person_in_their_language_with_text_html_and_link(
        mailbox, desk, estate, clock, language, subject):
    an_email_address(estate, language=language)
    ticket = desk.open("resident", title="Tap <leaking> & dripping").id
    notice = the_only(Channel.EMAIL)

    assert delivery.deliver() == 1

    [message] = mailbox.messages
    assert message["To"] == "butler@example.com"
    assert message["Subject"] == subject.format(id=ticket)
    assert message["Message-ID"] == f"<notice-{notice.id}@butlerdesk>"
    link = f"http://127.0.0.1:5000/tickets/{ticket}"
    text = message.get_body(("plain",)).get_content()
    assert "Tap <leaking> & dripping" in text and link in text
    page = message.get_body(("html",)).get_content()
    assert "Tap &lt;leaking&gt; &amp; dripping" in page and "<leaking>" not in page
    assert f'<a href="{link}">' in page
    notice = the_only(Channel.EMAIL)
    assert (notice.status, notice.attempts, notice.sent_at) == (NoticeStatus.SENT, 1, T0)


def test_the_flask_notify_command_sends_what_is_due_once(mailbox, runner, desk, estate, clock):
    an_email_address(estate)
    desk.open("resident")

    assert runner.invoke(args=["notify"]).output == "Sent 1 notice(s).\n"
    assert runner.invoke(args=["notify"]).output == "Sent 0 notice(s).\n"
    assert len(mailbox.messages) == 1


def test_in_app_notices_need_no_delivery(mailbox, desk, clock):
    desk.open("resident")  # the butler has no email address: the bell only

    assert delivery.deliver() == 0
    assert mailbox.messages == []


def test_the_notify_loop_survives_a_database_out_of_reach(tmp_path):
    """Each pass that fails is logged, and the loop tries again at its next round."""
    log = tmp_path / "notify.log"
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}"
    with log.open("w") as out:
        loop = subprocess.Popen([*flask_command(), "--app", "app", "notify", "--every", "0.1"],
                                cwd=REPO, env=app_env(unreachable), stdout=out, stderr=out)
    try:
        limit = time.monotonic() + 60
        while log.read_text().count("Delivery failed, retrying in 0.1 s") < 3:
            assert loop.poll() is None, log.read_text()
            assert time.monotonic() < limit, log.read_text()
            time.sleep(0.05)
    finally:
        loop.terminate()
        loop.wait(timeout=30)
    assert "unable to open database file" in log.read_text()


# -- webhook ---------------------------------------------------------------------------------------

def test_the_generic_webhook_is_signed_json_in_chinese(webhook, desk, clock):
    ticket = desk.open("resident").id
    notice = the_only(Channel.WEBHOOK)

    assert delivery.deliver() == 1

    [request] = webhook.received
    assert (request.path, request.query) == ("/hook", {"key": "robot"})
    assert request.headers["X-ButlerDesk-Delivery"] == str(notice.id)
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-ButlerDesk-Signature"] == f"sha256={expected}"
    assert request.json == {
        "id": notice.id, "cause": "new", "ticket_id": ticket,
        "subject": f"新请求：报修 #{ticket} Tap leaking",
        "text": f"收到 报修 #{ticket} Tap leaking（East · 1栋 101）。",
        "url": f"http://127.0.0.1:5000/tickets/{ticket}"}


def test_the_wecom_robot_gets_markdown(app, webhook, desk, clock):
    app.config["WEBHOOK_FORMAT"] = "wecom"
    ticket = desk.open("resident").id

    assert delivery.deliver() == 1

    [request] = webhook.received
    assert request.headers["X-ButlerDesk-Delivery"] == str(the_only(Channel.WEBHOOK).id)
    assert request.json["msgtype"] == "markdown"
    content = request.json["markdown"]["content"]
    assert content.startswith(f"**新请求：报修 #{ticket} Tap leaking**\n")
    assert f"(http://127.0.0.1:5000/tickets/{ticket})" in content


def test_the_dingtalk_robot_gets_markdown_signed_with_its_secret(app, webhook, desk, clock):
    app.config["WEBHOOK_FORMAT"] = "dingtalk"
    ticket = desk.open("resident").id

    assert delivery.deliver() == 1

    [request] = webhook.received
    assert request.headers["X-ButlerDesk-Delivery"] == str(the_only(Channel.WEBHOOK).id)
    assert request.json["msgtype"] == "markdown"
    assert request.json["markdown"]["title"] == f"新请求：报修 #{ticket} Tap leaking"
    assert f"(http://127.0.0.1:5000/tickets/{ticket})" in request.json["markdown"]["text"]
    timestamp = request.query["timestamp"]
    assert timestamp == str(int(T0.timestamp() * 1000))
    mac = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256)
    assert request.query["sign"] == base64.b64encode(mac.digest()).decode()
    assert request.query["key"] == "robot"  # the robot's own parameters are kept


def test_a_robot_refusing_with_an_errcode_is_a_failure(app, webhook, desk, clock):
    app.config["WEBHOOK_FORMAT"] = "wecom"
    webhook.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    desk.open("resident")

    assert delivery.deliver() == 0

    notice = the_only(Channel.WEBHOOK)
    assert notice.status == NoticeStatus.PENDING
    assert notice.last_error == "DeliveryError: errcode 93000: invalid webhook url"


# -- failures --------------------------------------------------------------------------------------

def test_a_receiver_answering_500_is_tried_again_later_and_sent_once(webhook, desk, clock):
    desk.open("resident")
    webhook.status = 500

    assert delivery.deliver() == 0
    notice = the_only(Channel.WEBHOOK)
    assert (notice.status, notice.attempts) == (NoticeStatus.PENDING, 1)
    assert notice.next_try_at == T0 + timedelta(seconds=30)
    assert notice.last_error.startswith("DeliveryError: HTTP 500")

    clock.shift(timedelta(seconds=29))
    assert delivery.deliver() == 0
    assert len(webhook.received) == 1  # not due yet
    clock.shift(timedelta(seconds=1))
    assert delivery.deliver() == 0
    assert the_only(Channel.WEBHOOK).next_try_at == T0 + timedelta(seconds=30 + 60)

    webhook.status = 200
    clock.shift(timedelta(seconds=60))
    assert delivery.deliver() == 1
    for _hour in range(3):
        clock.shift(timedelta(hours=1))
        assert delivery.deliver() == 0
    assert webhook.deliveries() == {notice.id: 3}  # two refused, one taken, none after
    notice = the_only(Channel.WEBHOOK)
    assert (notice.status, notice.attempts) == (NoticeStatus.SENT, 3)
    assert notice.sent_at == T0 + timedelta(seconds=90)


def test_a_receiver_that_hangs_past_the_timeout_is_a_failure(app, webhook, desk, clock):
    app.config["NOTIFY_TIMEOUT_SECONDS"] = 0.3
    webhook.delay = 3
    desk.open("resident")

    started = time.monotonic()
    assert delivery.deliver() == 0

    assert time.monotonic() - started < 2  # it gave up at the timeout, not at the answer
    notice = the_only(Channel.WEBHOOK)
    assert (notice.status, notice.attempts) == (NoticeStatus.PENDING, 1)
    assert "ReadTimeout" in notice.last_error


def test_after_the_last_try_a_notice_is_failed_with_its_error(app, webhook, desk, clock):
    app.config["NOTIFY_MAX_TRIES"] = 3
    webhook.status = 500
    desk.open("resident")

    for _try in range(5):
        delivery.deliver()
        clock.shift(timedelta(hours=1))

    notice = the_only(Channel.WEBHOOK)
    assert (notice.status, notice.attempts) == (NoticeStatus.FAILED, 3)
    assert notice.last_error.startswith("DeliveryError: HTTP 500")
    assert len(webhook.received) == 3


def test_a_receiver_down_for_an_hour_gets_everything_once_it_is_back(
        mailbox, webhook, desk, estate, clock):
    an_email_address(estate)
    tickets = [desk.open("resident", title=f"Tap {i}").id for i in range(3)]
    webhook.stop()
    mailbox.stop()
    for _minute in range(60):
        assert delivery.deliver() == 0
        clock.shift(timedelta(minutes=1))
    assert {n.last_error.split(":")[0] for n in notices_of(Channel.WEBHOOK)} == {
        "ConnectionError"}
    assert all(n.status == NoticeStatus.PENDING for n in notices_of(Channel.EMAIL))

    webhook.start()
    mailbox.start()
    sent = 0
    for _minute in range(60):  # the longest wait between tries is an hour
        sent += delivery.deliver()
        clock.shift(timedelta(minutes=1))

    assert sent == 6
    assert sorted(r.json["ticket_id"] for r in webhook.received) == tickets
    assert sorted(m["Subject"] for m in mailbox.messages) == [
        f"New: Repair #{t} Tap {i}" for i, t in enumerate(tickets)]


def test_a_killed_workers_notice_is_sent_by_the_next_once_its_lease_passed(webhook, desk, clock):
    desk.open("resident")
    notice = the_only(Channel.WEBHOOK)
    with write():  # as a worker killed after claiming it left it
        db.session.execute(update(Notice).where(Notice.id == notice.id).values(
            status=NoticeStatus.SENDING, attempts=1, lease_until=T0 + timedelta(minutes=1)))

    assert delivery.deliver() == 0  # its lease still holds
    clock.shift(timedelta(minutes=1))
    assert delivery.deliver() == 1

    assert webhook.deliveries() == {notice.id: 1}
    notice = the_only(Channel.WEBHOOK)
    assert (notice.status, notice.attempts) == (NoticeStatus.SENT, 2)


def test_a_worker_claims_one_batch_at_a_time_in_the_order_they_fell_due(webhook, desk, clock):
    for minute in range(3):
        desk.open("resident", title=f"Tap {minute}")
        clock.shift(timedelta(minutes=1))
    first, second, third = (n.id for n in notices_of(Channel.WEBHOOK))
    now = T0 + timedelta(minutes=3)

    claimed = delivery._claim(2, now, now + timedelta(minutes=1))

    assert claimed == [(first, 1), (second, 1)]
    assert [n.status for n in notices_of(Channel.WEBHOOK)] == [
        NoticeStatus.SENDING, NoticeStatus.SENDING, NoticeStatus.PENDING]
    assert delivery._claim(2, now, now + timedelta(minutes=1)) == [(third, 1)]


def test_a_worker_whose_lease_passed_cannot_overwrite_the_next_ones_result(webhook, desk, clock):
    desk.open("resident")
    [(notice_id, attempts)] = delivery._claim(1, T0, T0 + timedelta(seconds=1))
    clock.shift(timedelta(seconds=2))
    assert delivery.deliver() == 1  # another worker took it over and sent it

    delivery._record_failure(notice_id, attempts, "the first worker, too late")

    notice = the_only(Channel.WEBHOOK)
    assert (notice.status, notice.last_error) == (NoticeStatus.SENT, None)


# -- exactly once, with workers killed -------------------------------------------------------------

NOTICES, KILLS = 300, 12


def _pending_webhooks(app, estate, count: int) -> list[int]:
    """`count` webhook notices due now (by the real clock): a new ticket's, and more like it."""
    now = datetime.now(UTC)
    with app.app_context():
        ticket = Desk(estate).open("resident")
        with write():
            db.session.add_all(
                Notice(key=f"load:{i}:group:webhook", channel=Channel.WEBHOOK,
                       ticket_id=ticket.id, cause="new", data={"kind": "repair"}, created_at=now,
                       status=NoticeStatus.PENDING, attempts=0, next_try_at=now)
                for i in range(count - 1))
        ids = list(db.session.scalars(select(Notice.id).where(Notice.channel == Channel.WEBHOOK)))
        db.session.remove()
        db.engine.dispose()  # no connection of ours stays open while the workers run
    return ids


def test_workers_killed_at_random_moments_deliver_every_notice_once(
        app, estate, database_url, webhook, tmp_path):
    """Three `flask notify --every` workers share a few hundred notices; one at a time is
    SIGKILLed at a random moment and another started. Every notice arrives; a notice arrives
    twice only when its worker was killed between sending it and recording it."""
    ids = _pending_webhooks(app, estate, NOTICES)
    assert len(ids) == NOTICES
    webhook.delay = 0.01  # each send takes a moment, so a kill often cuts one short
    log = tmp_path / "workers.log"
    forker = Forker(app_env(database_url, NOTIFY_TIMEOUT_SECONDS="1", WEBHOOK_FORMAT="generic",
                            WEBHOOK_URL=app.config["WEBHOOK_URL"], WEBHOOK_SECRET=SECRET), log)
    command = ("notify", "--every", "0.1", "--batch", "2")  # a claim's lease: 5 s
    rng = random.Random(20261201)
    workers, kills = [forker.start(*command) for _ in range(3)], 0
    limit = time.monotonic() + 90
    try:
        while not webhook.received:  # the workers are up and sending
            assert time.monotonic() < limit, "no worker ever sent anything"
            time.sleep(0.01)
        while kills < KILLS and unsent(app):
            time.sleep(rng.uniform(0.05, 0.25))
            os.kill(workers.pop(rng.randrange(len(workers))), signal.SIGKILL)
            kills += 1
            workers.append(forker.start(*command))
        while unsent(app):
            assert time.monotonic() < limit, f"{unsent(app)} notices never sent"
            time.sleep(0.1)
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGTERM)
        forker.close()
    assert "Traceback" not in log.read_text()
    with app.app_context():
        taken_over = db.session.scalar(select(func.count()).select_from(Notice)
                                       .where(Notice.attempts > 1))

    arrived = webhook.deliveries()
    assert set(arrived) == set(ids)
    repeats = sum(count - 1 for count in arrived.values())
    print(f"{NOTICES} notices, {kills} workers killed, {taken_over} taken over from a killed "
          f"worker, {repeats} sent twice")
    assert repeats <= kills
