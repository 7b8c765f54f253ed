"""The delivery worker: sends the notices due, by email, to the group webhooks and as texts.

Run it as `flask --app app notify` (once) or `flask --app app notify --every 2` (a loop). Any
number of workers may run at once. A worker claims a batch in a short transaction (status
`sending`, a lease, one more attempt), sends each notice outside any transaction, and records
each result at once, on the condition that its claim still holds: a worker killed mid-batch
leaves `sending` rows whose lease runs out, and the next worker sends them; a worker that
outlived its lease cannot overwrite the result of the one that took over.

A notice is sent at least once. It is sent twice only when a worker dies between a send and its
record; every email carries `Message-ID: <notice-ID@butlerdesk>` and every webhook
`X-ButlerDesk-Delivery: ID`, so a receiver can drop the repeat.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import requests
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update

from models import Area, Channel, Notice, NoticeStatus, db
from models.transaction import write
from workflows import areas, clock, notices
from workflows.rules import Rules
from workflows.rules import current as current_rules

# Notices claimed per transaction.
BATCH = 10
# A failed send is tried again after 30 s, then 1 min, 2 min, ... and at most an hour apart.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


class DeliveryError(Exception):
    """A receiver answered, but not with a success."""


def deliver(batch_size: int = BATCH) -> int:
    """Send every notice due by now, batch by batch; returns how many were sent."""
    sent = 0
    while True:
        now = clock.now()
        lease_until = now + _lease(batch_size)
        claimed = _claim(batch_size, now, lease_until)
        if not claimed:
            return sent
        for notice_id, attempts in claimed:
            # A send that could outlast the lease is left to the worker that takes it over.
            if clock.now() + timedelta(seconds=2 * _timeout()) > lease_until:
                break
            sent += _send_one(notice_id, attempts)


def _timeout() -> float:
    return current_app.config["NOTIFY_TIMEOUT_SECONDS"]


def _lease(batch_size: int) -> timedelta:
    """How long a claim holds: a send may take its timeout to connect and again to be answered,
    one after the other for the whole batch, and a timeout to spare."""
    return timedelta(seconds=_timeout() * (2 * batch_size + 1))


def _due(now: datetime):
    """Pending notices due by now, and those of a worker whose lease has run out (read through
    the index on next_try_at: a claimed notice was due when it was claimed)."""
    return and_(Notice.status.in_([NoticeStatus.PENDING, NoticeStatus.SENDING]),
                Notice.next_try_at <= now,
                or_(Notice.status == NoticeStatus.PENDING, Notice.lease_until <= now))


def oldest_due(now: datetime) -> datetime | None:
    """When the notice that has waited longest for a worker fell due (None: none waits); one
    in its pause between tries is not waiting."""
    return db.session.scalar(select(func.min(Notice.next_try_at)).where(
        Notice.status.in_([NoticeStatus.PENDING, NoticeStatus.SENDING]),
        Notice.next_try_at <= now))


def _claim(batch_size: int, now: datetime, lease_until: datetime) -> list[tuple[int, int]]:
    """Claim up to a batch of the notices due, in the order they fell due; returns each one's id
    and attempt, which names the claim (a later claim of the same notice counts one more).

    PostgreSQL skips the rows another worker is claiming (FOR UPDATE SKIP LOCKED); SQLite has
    one writer at a time. The ids are chosen first: PostgreSQL may run a LIMIT in a subquery of
    the UPDATE more than once, claiming far more than a batch.
    """
    with write():
        ids = db.session.scalars(
            select(Notice.id).where(_due(now)).order_by(Notice.next_try_at, Notice.id)
            .limit(batch_size).with_for_update(skip_locked=True)).all()
        if not ids:
            return []
        claimed = dict(db.session.execute(
            update(Notice).where(Notice.id.in_(ids), _due(now))
            .values(status=NoticeStatus.SENDING, lease_until=lease_until,
                    attempts=Notice.attempts + 1)
            .returning(Notice.id, Notice.attempts)
            .execution_options(synchronize_session=False)).all())
    return [(notice_id, claimed[notice_id]) for notice_id in ids if notice_id in claimed]


def _send_one(notice_id: int, attempts: int) -> int:
    """Send one claimed notice and record how it went; returns 1 when it was sent."""
    try:
        notice = db.session.get(Notice, notice_id)
        send = _sender(notice, current_rules())
        db.session.commit()  # no transaction stays open while the receiver takes its time
        send()
    except Exception as exc:  # any failure is this notice's, to be tried again later
        db.session.rollback()
        current_app.logger.warning("Notice %d not sent (attempt %d): %s", notice_id, attempts,
                                   _error(exc))
        _record_failure(notice_id, attempts, _error(exc))
        return 0
    _record(notice_id, attempts, status=NoticeStatus.SENT, sent_at=clock.now(),
            lease_until=None)
    return 1


# A robot's key or token in a URL is its password: an error that quotes the URL keeps it out.
CREDENTIALS_IN_URL = re.compile(r"([?&](?:key|access_token|token|sign|secret)=)[^&\s'\")]+",
                                re.IGNORECASE)


def _error(exc: Exception) -> str:
    return CREDENTIALS_IN_URL.sub(r"\1…", f"{type(exc).__name__}: {exc}")[:1000]


# What went wrong, in the reader's words, from the error recorded (the exception's class and text,
# in English): the first pattern that matches names it. The raw text stays for whoever fixes it.
FAILURES = (
    (re.compile(r"timed? ?out|Timeout", re.IGNORECASE), _l("Timed out")),
    (re.compile(r"^SMTP(Recipients|Sender)Refused|^SMTPDataError|^SMTPResponseException"),
     _l("The mail server refused it")),
    (re.compile(r"^SMTPAuthenticationError|^SMTPNotSupportedError"),
     _l("The mail server refused the log-in")),
    (re.compile(r"^(SMTPConnectError|SMTPServerDisconnected|ConnectionError|"
                r"ConnectionRefusedError|ConnectionResetError|gaierror|OSError|SSLError)|"
                r"[Cc]onnection refused|Name or service not known"), _l("Could not connect")),
    (re.compile(r"is not set\b"), _l("Not set up on the server")),
    (re.compile(r"has no (email address|mobile number)"), _l("The person has no address for it")),
    (re.compile(r"private network"), _l("The robot's address points into a private network")),
    (re.compile(r"the area('s| has no) (robot|webhook)"), _l("The area's robot is not set")),
    (re.compile(r"errcode"), _l("The group robot refused it")),
    (re.compile(r"HTTP [45]\d\d"), _l("The receiver answered with an error")),
    (re.compile(r"not a JSON answer"), _l("The receiver's answer could not be read")),
)


def failure(error: str | None):
    """What a recorded delivery error means, in a word for the delivery log: "Timed out", "The
    mail server refused it", "Could not connect", ... (None for no error)."""
    if not error:
        return None
    return next((said for pattern, said in FAILURES if pattern.search(error)),
                _l("It could not be sent"))


def _record_failure(notice_id: int, attempts: int, error: str) -> None:
    """Try again later, each time waiting twice as long, or give up after the last try."""
    if attempts >= current_app.config["NOTIFY_MAX_TRIES"]:
        _record(notice_id, attempts, status=NoticeStatus.FAILED, lease_until=None,
                last_error=error)
        return
    wait = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
    _record(notice_id, attempts, status=NoticeStatus.PENDING, next_try_at=clock.now() + wait,
            lease_until=None, last_error=error)


def _record(notice_id: int, attempts: int, **values) -> None:
    """Record a result, only if this worker's claim still holds."""
    with write():
        db.session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.status == NoticeStatus.SENDING,
                                 Notice.attempts == attempts)
            .values(**values).execution_options(synchronize_session=False))


def _sender(notice: Notice, rules: Rules):
    """The send of a notice, ready to run: what it says is read now, from the database."""
    if notice.channel == Channel.EMAIL:
        message = email_message(notice, rules)
        return lambda: _send_email(message)
    if notice.channel in (Channel.WEBHOOK, Channel.SMS):
        request = (webhook_request if notice.channel == Channel.WEBHOOK else sms_request)(
            notice, rules)
        return lambda: _send_webhook(*request)
    raise DeliveryError(f"nothing delivers the channel {notice.channel!r}")


def _link(words: notices.Words) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + words.path


# -- email -----------------------------------------------------------------------------------------

def email_message(notice: Notice, rules: Rules) -> EmailMessage:
    """The email of a notice, in its reader's language: plain text and HTML, with the link."""
    if notice.user is None or not notice.user.email:
        raise DeliveryError("the person has no email address")
    words = notices.words(notice, rules)
    link = _link(words)
    message = EmailMessage()
    message["Subject"] = words.subject
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = notice.user.email
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = f"<notice-{notice.id}@butlerdesk>"  # the same on every try
    message.set_content(f"{words.text}\n\n{link}\n")
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in words.text.splitlines())
    message.add_alternative(
        f'<html><body>{paragraphs}<p><a href="{html.escape(link)}">{html.escape(link)}</a></p>'
        "</body></html>\n", subtype="html")
    return message


def _send_email(message: EmailMessage) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        raise DeliveryError("MAIL_SERVER is not set")
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=_timeout()) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


# -- webhook ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Robot:
    """A group webhook: where it is, its format (wecom, dingtalk, generic) and its secret."""

    url: str
    format: str
    secret: str | None


def robot_of(notice: Notice) -> Robot:
    """The installation's robot (WEBHOOK_URL), or the area's own for a notice made for it. An
    area's address is looked up again at each send: one that has come to point into a private
    network since it was set is refused (workflows.areas)."""
    config = current_app.config
    area_id = (notice.data or {}).get("area_id")
    if area_id is None:
        if not config["WEBHOOK_URL"]:
            raise DeliveryError("WEBHOOK_URL is not set")
        return Robot(config["WEBHOOK_URL"], config["WEBHOOK_FORMAT"], config["WEBHOOK_SECRET"])
    area = db.session.get(Area, area_id)
    if area is None or not area.webhook_url:
        raise DeliveryError("the area has no webhook any more")
    problem = areas.address_problem(area.webhook_url)
    if problem:
        raise DeliveryError(f"the area's webhook {problem}")
    return Robot(area.webhook_url, area.webhook_format, area.webhook_secret)


def webhook_request(notice: Notice, rules: Rules) -> tuple[Robot, bytes, dict, dict]:
    """A group robot's request for a notice, in the installation's language, as (robot, body,
    query parameters, headers), in the robot's format."""
    robot = robot_of(notice)
    words = notices.words(notice, rules, current_app.config["BABEL_DEFAULT_LOCALE"])
    link, secret, kind = _link(words), robot.secret, robot.format
    params: dict[str, str] = {}
    headers = {"Content-Type": "application/json", "X-ButlerDesk-Delivery": str(notice.id)}
    if kind == "wecom":  # WeCom group robot (企业微信群机器人), markdown message
        payload = {"msgtype": "markdown",
                   "markdown": {"content": f"**{words.subject}**\n{words.text}\n[{link}]({link})"}}
    elif kind == "dingtalk":  # DingTalk custom robot (钉钉自定义机器人), markdown message
        payload = {"msgtype": "markdown",
                   "markdown": {"title": words.subject,
                                "text": f"#### {words.subject}\n\n{words.text}\n\n"
                                        f"[{link}]({link})"}}
        if secret:
            params = dingtalk_signature(secret, int(clock.now().timestamp() * 1000))
    elif kind == "generic":
        payload = {"id": notice.id, "cause": notice.cause, "ticket_id": notice.ticket_id,
                   "subject": words.subject, "text": words.text, "url": link}
    else:
        raise DeliveryError(f"the webhook format {kind!r} is not wecom, dingtalk or generic")
    body = json.dumps(payload, ensure_ascii=False).encode()
    if kind == "generic":
        _sign(body, secret, headers)
    return robot, body, params, headers


def sms_request(notice: Notice, rules: Rules) -> tuple[Robot, bytes, dict, dict]:
    """A text to the person's mobile, for the company's SMS gateway (SMS_WEBHOOK_URL): signed
    JSON {id, to, text, cause, ticket_id, url} in the person's language, the text short: the
    subject and the link."""
    config = current_app.config
    if not config["SMS_WEBHOOK_URL"]:
        raise DeliveryError("SMS_WEBHOOK_URL is not set")
    if notice.user is None or not notice.user.phone:
        raise DeliveryError("the person has no mobile number")
    words = notices.words(notice, rules)
    link = _link(words)
    body = json.dumps({"id": notice.id, "to": notice.user.phone,
                       "text": f"{words.subject} {link}", "cause": notice.cause,
                       "ticket_id": notice.ticket_id, "url": link}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-ButlerDesk-Delivery": str(notice.id)}
    _sign(body, config["SMS_WEBHOOK_SECRET"], headers)
    return Robot(config["SMS_WEBHOOK_URL"], "generic", None), body, {}, headers


def _sign(body: bytes, secret: str | None, headers: dict) -> None:
    """The generic webhook's signature: the hex HMAC-SHA256 of the body with the secret."""
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-ButlerDesk-Signature"] = f"sha256={digest}"


def dingtalk_signature(secret: str, timestamp: int) -> dict[str, str]:
    """DingTalk's signed robot: `timestamp` (ms) and `sign`, the base64 HMAC-SHA256 of
    "timestamp\\nsecret" keyed by the secret (URL-encoded as a query parameter by requests)."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return {"timestamp": str(timestamp), "sign": base64.b64encode(mac.digest()).decode()}


def _send_webhook(robot: Robot, body: bytes, params: dict, headers: dict) -> None:
    """POST it; a 2xx is success, and for the robots also their `errcode` 0. A redirect is not
    followed: it could lead anywhere, a private network included."""
    reply = requests.post(robot.url, data=body, params=params, headers=headers,
                          timeout=_timeout(), allow_redirects=False)
    if not 200 <= reply.status_code < 300:
        raise DeliveryError(f"HTTP {reply.status_code}: {reply.text[:200]}")
    if robot.format in ("wecom", "dingtalk"):
        try:
            answer = reply.json()
        except ValueError:
            raise DeliveryError(f"not a JSON answer: {reply.text[:200]}") from None
        if answer.get("errcode") != 0:
            raise DeliveryError(f"errcode {answer.get('errcode')}: {answer.get('errmsg')}")
