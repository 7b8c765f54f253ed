"""Notices: how soon they arrive, how fast a backlog goes out, and what the outbox costs a step.

- Delivery lag: with the loops of `make serve` (`flask sweep --every 5`, `flask notify --every 2`)
  as processes, and create + fire paced against gunicorn meanwhile, back-dated repairs miss their
  on-site deadline at spread-out moments; each miss tells the supervisors by email and the group
  webhook (WeCom format). Lag = arrival at the local SMTP server (aiosmtpd) or webhook receiver
  minus the due time.
- A backlog: 10,000 email notices due at once, sent by `workflows.delivery.deliver()`, against
  a bare smtplib send of the same messages to the same server, in the same run.
- The outbox's cost: create + fire through the test client with the notices made as usual and
  with `workflows.notices.for_new` / `for_step` doing nothing, taken turn about.
"""
from __future__ import annotations

import logging
import re
import smtplib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from bench.common import SECRET_KEY, interleaved, make_app, median, percentile
from tests.servers import Mailbox, Webhook

BIN = Path(sys.executable).parent
SUPERVISORS_EMAIL = "supervisors@bench.butlerdesk.test"


class TimedMailbox(Mailbox):
    """The tests' SMTP server, keeping when each notice's message arrived (by its Message-ID)."""

    def __init__(self):
        super().__init__()
        self.arrived: dict[int, float] = {}
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.count += 1
        notice = re.search(rb"^Message-ID: <notice-(\d+)@", envelope.content, re.M | re.I)
        if notice:
            self.arrived.setdefault(int(notice.group(1)), time.time())
        return "250 Message accepted"


class TimedWebhook(Webhook):
    """The tests' webhook receiver, keeping when each notice arrived (X-ButlerDesk-Delivery)."""

    def __init__(self):
        super().__init__()
        self.arrived: dict[int, float] = {}
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    def __call__(self, environ, start_response):
        notice = environ.get("HTTP_X_BUTLERDESK_DELIVERY")
        if notice:
            self.arrived.setdefault(int(notice), time.time())
        return super().__call__(environ, start_response)


def _told_by_mail(app) -> None:
    """Give the data set's supervisors an address (the generator leaves staff without)."""
    from sqlalchemy import update

    from models import Role, User, db

    with app.app_context():
        db.session.execute(update(User).where(User.role == Role.SUPERVISOR)
                           .values(email=SUPERVISORS_EMAIL))  # every kind, as generated
        db.session.commit()
        db.session.remove()


def delivery_lag(database_url: str, info: dict, workdir: Path, log=print, *, tickets: int = 200,
                 spread_s: float = 60.0, lead_s: float = 15.0, rate: float = 4.0) -> dict:
    from sqlalchemy import select

    from bench import http
    from bench.detection import register_falling_due, running
    from models import Notice, User, db
    from workflows import clock, sweeper

    quiet = make_app(database_url)
    with quiet.app_context():  # the data set's old misses, told in-app only, before any mail
        caught_up = sweeper.sweep()
        db.session.remove()
    log(f"  caught up {caught_up:,} old misses; supervisors given addresses")
    _told_by_mail(quiet)
    mailbox, webhook = TimedMailbox(), TimedWebhook()
    mailbox.start()
    webhook.start()
    env = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mailbox.port),
           "WEBHOOK_URL": f"{webhook.url}/cgi-bin/webhook/send?key=bench",
           "WEBHOOK_FORMAT": "wecom"}
    app = make_app(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port,
                   WEBHOOK_URL=env["WEBHOOK_URL"], WEBHOOK_FORMAT="wecom")
    server = http.Server("ButlerDesk", "app:create_app()", env, workdir / "gunicorn-notices.log")
    try:
        server.wait_ready()
        token = http.get_token(server.url, "butler01", info["password"])
        with running(["sweep", "--every", "5"], env, workdir / "sweeper-notices.log"), \
                running(["notify", "--every", "2"], env, workdir / "notify.log"), \
                ThreadPoolExecutor(1) as pool:
            time.sleep(2.0)
            duration = lead_s + spread_s + 10
            log(f"  create + fire paced at {rate:.0f} requests/s for {duration:.0f} s while "
                f"{tickets} repairs miss their on-site deadline over {spread_s:.0f} s ...")
            loader = pool.submit(http.load, server, mode="paced", rate=rate,
                                 duration=duration, warmup=0.0, clients=8, token=token,
                                 units=info["units_of_subject"][:200],
                                 technician=info["technician"])
            with app.app_context():
                butler = db.session.get(User, info["subject_butler"])
                ids, dues, late = register_falling_due(butler, info["units_of_subject"],
                                                       tickets, spread_s, lead_s,
                                                       "补单 Delivery lag")
                db.session.remove()
            wait = (dues[-1] - clock.now()).total_seconds() + 5 + 2 + 5  # a sweep, a send
            time.sleep(max(0.0, wait))
            loaded = loader.result()
    finally:
        server.stop()
        mailbox.stop()
        webhook.stop()
    with app.app_context():
        told = db.session.execute(
            select(Notice.id, Notice.channel, Notice.data).where(
                Notice.ticket_id.in_(ids), Notice.cause == "escalation",
                Notice.channel.in_(["email", "webhook"]))).all()
        db.session.remove()
        db.engine.dispose()
    arrived = {**mailbox.arrived, **webhook.arrived}
    lags = [arrived[n.id] - datetime.fromisoformat(n.data["due_at"]).timestamp()
            for n in told if n.id in arrived]
    return {"tickets": tickets, "notices": len(told), "arrived": len(lags),
            "late_registrations": late, "spread_s": spread_s, "rate": rate,
            "load_rps": loaded["throughput_rps"], "load_errors": loaded["errors"],
            "p50_s": percentile(lags, 50), "p99_s": percentile(lags, 99),
            "max_s": max(lags) if lags else float("nan")}


def backlog(database_url: str, info: dict, count: int = 10_000) -> dict:
    """`count` email notices due at once: ButlerDesk's worker against a bare smtplib send."""
    from sqlalchemy import insert, select

    from models import Notice, NoticeStatus, Role, Ticket, User, db
    from workflows import clock, delivery
    from workflows.rules import current as current_rules

    mailbox = TimedMailbox()
    mailbox.start()
    app = make_app(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port)
    _told_by_mail(app)
    try:
        with app.app_context():
            now = clock.now()
            supervisor = db.session.scalar(select(User.id).where(User.role == Role.SUPERVISOR))
            tickets = db.session.scalars(select(Ticket.id).order_by(Ticket.id.desc())
                                         .limit(count)).all()
            db.session.execute(insert(Notice), [
                dict(key=f"bench:{ticket}", user_id=supervisor, channel="email",
                     ticket_id=ticket, cause="new", data={"kind": "repair"}, created_at=now,
                     status=NoticeStatus.PENDING, attempts=0, next_try_at=now)
                for ticket in tickets])
            db.session.commit()
            messages = [delivery.email_message(notice, current_rules()) for notice in
                        db.session.scalars(select(Notice).where(Notice.key.like("bench:%")))]
            db.session.remove()
            start = time.perf_counter()
            sent = delivery.deliver()
            desk_s = time.perf_counter() - start
            db.session.remove()
            received = mailbox.count
            start = time.perf_counter()
            for message in messages:  # one connection each, as the worker does
                with smtplib.SMTP("127.0.0.1", mailbox.port, timeout=10) as smtp:
                    smtp.send_message(message)
            bare_s = time.perf_counter() - start
        return {"count": count, "sent": sent, "received": received,
                "desk_per_s": sent / desk_s, "bare_per_s": len(messages) / bare_s,
                "desk_s": desk_s, "bare_s": bare_s}
    finally:
        mailbox.stop()
        with app.app_context():
            db.engine.dispose()


def outbox_cost(database_url: str, info: dict, repeat: int = 60) -> dict:
    """create + fire through the test client, with and without the notices they make."""
    import itertools

    from bench.http import test_client
    from models import db
    from workflows import notices

    serial = itertools.count()
    app, client, headers = test_client(database_url, info)
    made = {"for_new": notices.for_new, "for_step": notices.for_step}

    def create_and_fire():
        n = next(serial)
        ticket = client.post("/api/v1/tickets", headers=headers, json={
            "kind": "repair", "title": f"压测 outbox {n}",
            "unit_id": info["units_of_subject"][n % 100]}).json
        answer = client.post(f"/api/v1/tickets/{ticket['id']}/fire", headers=headers, json={
            "trigger": "dispatch", "version": ticket["version"],
            "technician_id": info["technician"]})
        assert answer.status_code == 200, answer.data

    def without_notices():
        for name in made:
            setattr(notices, name, lambda *args, **kwargs: None)
        try:
            create_and_fire()
        finally:
            for name, fn in made.items():
                setattr(notices, name, fn)

    samples = interleaved({"with": create_and_fire, "without": without_notices}, repeat=repeat,
                          warmup=5)
    with app.app_context():
        db.engine.dispose()
    with_ms, without_ms = median(samples["with"]) * 1000, median(samples["without"]) * 1000
    return {"with_ms": with_ms, "without_ms": without_ms, "ratio": with_ms / without_ms,
            "repeat": repeat}


def poll_cost(database_url: str, info: dict, repeat: int = 300) -> dict:
    """What keeping a page live costs: the bell's poll with its ETag when nothing is new (a
    304), against the queue page it spares reloading, through the test client, turn about."""
    from bench.http import test_client
    from models import db

    app, client, headers = test_client(database_url, info)
    etag = client.get("/notices/unread", headers=headers).headers["ETag"]

    def poll():
        answer = client.get("/notices/unread", headers={**headers, "If-None-Match": etag})
        assert answer.status_code == 304, answer.status_code

    def reload():
        assert client.get("/queue/", headers=headers).status_code == 200

    samples = interleaved({"poll": poll, "reload": reload}, repeat=repeat, warmup=10)
    with app.app_context():
        db.engine.dispose()
    poll_ms, reload_ms = median(samples["poll"]) * 1000, median(samples["reload"]) * 1000
    return {"poll_ms": poll_ms, "reload_ms": reload_ms, "repeat": repeat,
            "tabs_per_core": 4000 / poll_ms}  # live.js polls every 4 s


def run(database_url: str, backlog_url: str, cost_url: str, info: dict, workdir: Path,
        log=print) -> dict:
    log("  what the outbox adds to create + fire (test client, turn about) ...")
    cost = outbox_cost(cost_url, info)
    log("  what a live page's poll costs, against reloading the queue ...")
    poll = poll_cost(cost_url, info)
    log("  10,000 email notices due at once, then a bare smtplib send of the same ...")
    sent = backlog(backlog_url, info)
    lag = delivery_lag(database_url, info, workdir, log=log)
    return {"lag": lag, "backlog": sent, "cost": cost, "poll": poll}
