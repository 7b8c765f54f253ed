"""The workflow's messages in the reader's language.

The engine and the assessment answer in English (the API and the CLI show that text as it is);
each message is a `workflows.errors.Message`: the English text, plus the template it was made
from and its values. A page shows `say(message)`: the template translated (it is in the catalog,
extracted from the `N_(...)` calls), with its values shown the reader's way — a state or a step
by its label from the rules, a role or a field by its name in the reader's language, a duration
in the reader's words, a list joined the reader's way. An English page shows the English text
as the engine made it, the same words as the API.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l

from workflows.details import MAX_NAME, MAX_WORKERS
from workflows.errors import N_, Message, Term


def chinese() -> bool:
    """Whether the page is in Chinese."""
    return str(get_locale()).startswith("zh")


# The names a message or a page may give without a label from the rules: roles, the data a step
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
    "details": _l("renovation details"),
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
}

# workflows.details raises plain English (no template): the messages it gives, so that a page
# can still say them in the reader's language.
_PLAIN = [
    N_("is required"),
    N_("must be at most %(count)d characters", count=MAX_NAME),
    N_("must be a phone number like 138 0013 8000"),
    N_("must be a date like 2026-11-24"),
    N_("must not be in the past"),
    N_("must not be before the start"),
    N_("the works may last at most a year"),
    N_("must be a whole number from 1 to %(most)d", most=MAX_WORKERS),
    N_("must be a table of details"),
]
KNOWN = {str(message): message for message in _PLAIN}


def both(zh: str, en: str) -> str:
    """A term of the trade: in Chinese alone on a Chinese page; on an English page the Chinese
    word the staff use goes first, then the English ("优秀 excellent")."""
    return zh if chinese() else f"{zh} {en}"


def term(name: Any) -> str:
    """A name (a role, a field, a result) in the reader's language; unknown names as they are."""
    found = NAMES.get(str(name))
    return str(found) if found is not None else str(name)


def rules_word(name: Any) -> str:
    """A name from the rules file (a role, a field a step needs): on an English page the rules'
    own word, as written in workflows/rules.toml; on a Chinese page its Chinese name."""
    return term(name) if chinese() else str(name)


def duration(value: timedelta) -> str:
    """7 days, 48 hours, 20 minutes, in the reader's words."""
    minutes = int(value.total_seconds() // 60)
    if minutes and minutes % 1440 == 0:
        return ngettext("%(num)d day", "%(num)d days", minutes // 1440)
    if minutes and minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def _value(value: Any) -> Any:
    if isinstance(value, Message):
        return say(value)
    if isinstance(value, Term):
        if value.label:
            return value.label["zh"] if chinese() else value.label["en"]
        return term(value)
    if isinstance(value, timedelta):
        return duration(value)
    if isinstance(value, (list, tuple)):
        return ("、" if chinese() else ", ").join(str(_value(v)) for v in value)
    return value


def say(message: Any) -> str:
    """A workflow message in the reader's language (a plain text: translated if it is known).

    An English page shows the engine's own text, word for word what the API answers.
    """
    if not chinese():
        return str(message)
    if not isinstance(message, Message):
        text = str(message)
        if text in KNOWN:
            return say(KNOWN[text])
        return gettext(text)
    template = gettext(message.template)
    if not message.params:
        return template
    return template % {name: _value(value) for name, value in message.params.items()}


def field_message(name: str, message: Any) -> str:
    """A message about a field that is not on the form, for a flash: "note: is required"."""
    if not chinese():
        return f"{name}: {message}"
    return gettext("%(field)s: %(message)s", field=term(name), message=say(message))
