"""The words ButlerDesk says, in the reader's language, through Flask-Babel alone.

A message is `lazy_gettext(template, **values)`: nothing is translated until it is shown, and
then in the language of whoever reads it (a page's reader; the API answers in English, under
`force_locale("en")`). The values are shown the reader's way too, because each is lazy itself:
a `term` (a state, a step, a role or a field: to the API the rules' own word; on a page its
label), a `duration`, a `listing` of values. Outside a request (the CLI, the
logs) everything is English.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app, has_request_context, request
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


def chinese() -> bool:
    """Whether the reader reads Chinese (outside a request, the CLI and logs, they do not)."""
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def label(text: dict[str, str]) -> str:
    """A label from the rules ({"en": ..., "zh": ...}) in the reader's language."""
    return text["zh"] if chinese() else text["en"]


def briefly(done: dict[str, str]) -> str:
    """What a step's `done` words say happened, as a timeline's line: their first clause
    ("Technician dispatched", "已派工"), not the command on its button."""
    return re.split(r"[;；，]", label(done))[0].rstrip(".。")


# The names a message or a page gives without a label from the rules: roles, the data a step
# carries, the inputs of the forms, the outcomes and results of the assessment.
NAMES = {
    "resident": _l("resident"),
    "butler": _l("butler"),
    "technician": _l("technician"),
    "supervisor": _l("supervisor"),
    "admin": _l("administrator"),
    "note": _l("note"),
    "reason": _l("reason"),
    "rating": _l("rating"),
    "promised_at": _l("next reply by"),
    "result": _l("result"),
    "technician_id": _l("technician"),
    "assignee_id": _l("butler"),
    "version": _l("version"),
    "trigger": _l("step"),
    "attachments": _l("files"),
    "photos": _l("photos"),
    "details": _l("details"),
    "kind": _l("kind of request"),
    "title": _l("title"),
    "description": _l("details"),
    "unit_id": _l("unit"),
    "reported_at": _l("time of the call"),
    "month": _l("month"),
    "code": _l("finding"),
    "butler_id": _l("butler"),
    "ticket_id": _l("ticket number"),
    "occurred_at": _l("when it happened"),
    "make_finding": _l("record a finding"),
    "csrf_token": _l("form"),
    "waived": _l("waived"),
    "upheld": _l("upheld"),
    "satisfied": _l("satisfied"),
    "unsatisfied": _l("unsatisfied"),
    "unreachable": _l("unreachable"),
    "ok": _l("all in order"),
    "violation": _l("violation found"),
    "current_password": _l("current password"),
    "new_password": _l("new password"),
    "new_password_again": _l("new password again"),
    "password": _l("password"),
    "username": _l("username"),
    "body": _l("request body"),
    "staff_only": _l("for staff only"),
    # notices: what caused them, what became of them
    "new": _l("new request"),
    "step": _l("step"),
    "warning": _l("warning before a deadline"),
    "escalation": _l("missed deadline"),
    "reminder": _l("reminder: still not done"),
    "pending": _l("waiting to be sent"),
    "sending": _l("being sent"),
    "sent": _l("sent"),
    "failed": _l("failed"),
    # leave and who covers it (workflows.cover)
    "starts_at": _l("from"),
    "ends_at": _l("until"),
    "substitute_id": _l("substitute"),
    "requested": _l("asked for"),
    "approved": _l("approved"),
    "running": _l("under way"),
    "over": _l("over"),
    "cancelled": _l("cancelled"),
    # more time for a deadline (workflows.extensions), and what became of a deadline
    "deadline": _l("deadline"),
    "due_at": _l("new due time"),
    "refused": _l("refused"),
    "lapsed": _l("no longer needed"),
    "met": _l("met"),
    "missed": _l("missed"),
    "paused": _l("paused"),
    "extended": _l("moved"),
    # accounts, invitations and the audit log (workflows.people, workflows.invitations)
    "name": _l("name"),
    "role": _l("role"),
    "phone": _l("phone"),
    "email": _l("email address"),
    "active": _l("active"),
    "reset_password": _l("password reset"),
    "area_ids": _l("areas"),
    "estate_id": _l("estate"),
    "building": _l("building"),
    "unit": _l("unit"),
    "invitation_code": _l("invitation code"),
    "password_again": _l("password again"),
    "activated_at": _l("got in"),
    "invitation_issued_at": _l("code issued"),
    "created": _l("created"),
    "changed": _l("changed"),
    "deactivated": _l("deactivated"),
    "reactivated": _l("let back in"),
    "password_changed": _l("own password changed"),
    "password_reset": _l("password reset by the admin"),
    "invitation_issued": _l("invitation code issued"),
    # an estate's own deadline values (workflows.overrides)
    "rules_changed": _l("deadlines' durations and points changed"),
    "within": _l("within"),
    "points": _l("points"),
    "activated": _l("got in with the code"),
    "user": _l("person"),
    "area": _l("area"),
    "estate": _l("estate"),
}


def name(key: Any) -> Any:
    """A role, a field or a result by its name in the reader's language (lazy); unknown keys as
    they are."""
    return NAMES.get(str(key), key)


def for_programs() -> bool:
    """Whether the reader is a program: the JSON API, the CLI, the logs (outside a request)."""
    return not has_request_context() or request.path.startswith("/api/")


def _term(key: str, text: dict[str, str] | None) -> str:
    if for_programs() and not chinese():
        return key
    return label(text) if text else str(name(key))


def term(key: Any, text: dict[str, str] | None = None) -> LazyString:
    """A name in a message: a state, a step, a kind (with its `text` from the rules), a role or
    a field. To a program (the API, the CLI) it is the rules' own word (`dispatch`); on a page
    its label in the reader's language (Dispatch a technician, 派工) or its name."""
    return LazyString(_term, str(key), text)


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the property's wall-clock time (a page's, a message's)."""
    if value is None:
        return ""
    return value.astimezone(current_app.config["TZ"]).strftime(fmt)


def clock_time(at: time | None) -> str | None:
    """A time of day as typed and shown, "22:00" (None: none)."""
    return at.strftime("%H:%M") if at else None


def rules_word(key: Any) -> str:
    """A name the rules file writes (a role, a field a step needs) as a page shows it."""
    return str(term(key))


def _duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes and minutes % 1440 == 0:
        return ngettext("%(num)d day", "%(num)d days", minutes // 1440)
    if minutes and minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def duration(value: timedelta) -> LazyString:
    """7 days, 48 hours, 20 minutes: a rule's length in the reader's words, in its largest
    whole unit."""
    return LazyString(_duration, value)


def span(value: timedelta, days: bool = False) -> str:
    """A stretch of time to the minute, short, for tables and countdowns: 20 min, 1 h 05 min,
    24 h; with `days`, two days and more as 3 d 4 h."""
    minutes = abs(int(value.total_seconds())) // 60
    if days and minutes >= 60 * 48:
        return _("%(days)d d %(hours)d h", days=minutes // 1440, hours=minutes % 1440 // 60)
    if minutes >= 60 and minutes % 60 == 0:
        return _("%(hours)s h", hours=minutes // 60)
    if minutes >= 60:
        return _("%(hours)d h %(minutes)02d min", hours=minutes // 60, minutes=minutes % 60)
    return _("%(minutes)d min", minutes=minutes)


# A live countdown's text by its size: under an hour to the second, under a day to the minute,
# then days and hours. The page's script (static/js/countdown.js) gets the same texts with
# {days} {hours} {minutes} {seconds} where the numbers go (COUNTDOWN_FORMATS).
_COUNTDOWN = (
    ("minutes-seconds", lambda **n: _("%(minutes)s min %(seconds)s s", **n)),
    ("hours-minutes", lambda **n: _("%(hours)s h %(minutes)s min", **n)),
    ("days-hours", lambda **n: _("%(days)s d %(hours)s h", **n)),
)


def countdown(seconds: int) -> str:
    """36 min 05 s, 1 h 05 min, 2 d 3 h: how long until (or since) a due time, for a countdown
    that ticks (a step due in 20 minutes is counted to the second)."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, minutes, secs = rest // 3600, rest // 60 % 60, rest % 60
    if days:
        return _COUNTDOWN[2][1](days=days, hours=hours)
    if hours:
        return _COUNTDOWN[1][1](hours=hours, minutes=f"{minutes:02d}")
    return _COUNTDOWN[0][1](minutes=minutes, seconds=f"{secs:02d}")


def countdown_formats() -> dict[str, str]:
    """The countdown's texts for its script: data-attribute name -> text with placeholders."""
    names = {"days": "{days}", "hours": "{hours}", "minutes": "{minutes}", "seconds": "{seconds}"}
    return {name: say(**names) for name, say in _COUNTDOWN}


def sentence(text: Any) -> str:
    """A refusal's message as a page says it: "The assessment of 2026-11 is closed; ..." with a
    capital and a full stop (the API keeps the bare message)."""
    text = str(text).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text[-1] not in ".!?。！？":
        text += "。" if chinese() else "."
    return text


def colon(text: Any) -> str:
    """A label before its value, "Reason: " / 「原因：」 (Chinese puts a full-width colon and no
    space)."""
    return _("%(label)s: ", label=text)


def _join(items: tuple) -> str:
    return _(", ").join(str(item) for item in items)


def listing(items: Iterable[Any]) -> LazyString:
    """Values joined the reader's way (the catalog's list separator)."""
    return LazyString(_join, tuple(items))


def in_both(say: Callable[[], Any]) -> dict[str, str]:
    """What `say` says, in English and in Chinese ({"en", "zh"}), for what is kept in both: a
    closed month's frozen scorecards read the same in either language forever."""
    both = {}
    for language, locale in (("en", "en"), ("zh", "zh_CN")):
        with force_locale(locale):
            both[language] = str(say())
    return both
