"""What a kind of ticket asks for beyond a title and a description, checked by its schema.

Each kind declares its details in the rules (`[kind.details.NAME]`: a type, a label, whether it is
required, and the limits of its type; workflows.rules.DetailRule). The engine calls `clean()`
when it opens a ticket, so a page, the API and the CLI are checked alike; the clean values are
stored on the ticket (`Ticket.details`), a date range as NAME_start and NAME_end.

A step whose rule accepts `details` (resubmitting a rejected application) changes them: the
engine calls `revise()`, which checks the changed table as a whole the same way, and records
`changes()` (each detail changed, from and to) in the step's event, so no old value is lost.

Messages are for the person who typed the value, as in workflows.fields.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from workflows.fields import whole_number
from workflows.rules import DetailRule, KindRules
from workflows.words import duration, listing, term

_PHONE = re.compile(r"\+?[0-9][0-9 -]{5,18}[0-9]", re.ASCII)
_PERSON = re.compile(r"(?P<name>.+?)[\s,，]+(?P<phone>\+?[0-9][0-9 -]{5,18}[0-9])", re.ASCII)


class _Refused(ValueError):
    """A value refused, with the message for its field (or for each of its two dates)."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(detail: DetailRule, value: Any, _today: date) -> str:
    if not isinstance(value, str):  # a number or a list is not a name or a word typed
        raise _Refused(_l("is required"))
    value = value.strip()
    if len(value) > detail.max_length:
        raise _Refused(_l("must be at most %(count)d characters", count=detail.max_length))
    return value


def _phone(_detail: DetailRule, value: Any, _today: date) -> str:
    if not isinstance(value, str):
        raise _Refused(_l("is required"))
    value = value.strip()
    if not _PHONE.fullmatch(value):
        raise _Refused(_l("must be a phone number like 138 0013 8000"))
    return value


def _number(detail: DetailRule, value: Any, _today: date) -> int:
    number = whole_number(value)
    low = detail.minimum if detail.minimum is not None else 0
    high = detail.maximum if detail.maximum is not None else 10**9
    if number is None or not low <= number <= high:
        raise _Refused(_l("must be a whole number from %(least)d to %(most)d", least=low,
                          most=high))
    return number


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Refused(_l("must be a date like 2026-11-24"))


def _date(detail: DetailRule, value: Any, today: date) -> str:
    day = as_date(value)
    if detail.not_before_today and day < today:
        raise _Refused(_l("must not be in the past"))
    return day.isoformat()


def _choice(detail: DetailRule, value: Any, _today: date) -> str:
    if value not in detail.choices:
        raise _Refused(_l("must be one of %(choices)s", choices=listing(
            term(key, text) for key, text in detail.choices.items())))
    return value


def people(value: Any) -> list[dict[str, str]]:
    """People as typed, one per line ("刘工 138 0013 8000"), or as a list of {name, phone}."""
    if isinstance(value, str):
        pairs = [_PERSON.fullmatch(line.strip()) for line in value.splitlines() if line.strip()]
        value = [{"name": m["name"], "phone": m["phone"]} if m else None for m in pairs]
    if not isinstance(value, list) or not all(
            isinstance(p, dict) and set(p) == {"name", "phone"} and isinstance(p["name"], str)
            and p["name"].strip() and isinstance(p["phone"], str)
            and _PHONE.fullmatch(p["phone"].strip()) for p in value):
        raise _Refused(_l("must be one person a line: a name, then a phone number"))
    return [{"name": p["name"].strip(), "phone": p["phone"].strip()} for p in value]


def _people(detail: DetailRule, value: Any, _today: date) -> list[dict[str, str]]:
    found = people(value)
    if len(found) > detail.most:
        raise _Refused(_l("must name at most %(count)d people", count=detail.most))
    return found


PARSERS: dict[str, Callable[[DetailRule, Any, date], Any]] = {
    "text": _text, "phone": _phone, "number": _number, "date": _date, "choice": _choice,
    "people": _people,
}


def _date_range(detail: DetailRule, given: dict, today: date, errors: dict, result: dict):
    start_key, end_key = detail.keys
    start = end = None
    for key in detail.keys:
        if _missing(given.get(key)):
            if detail.required:
                errors[key] = _l("is required")
            continue
        try:
            day = as_date(given[key])
        except _Refused as refused:
            errors[key] = refused.args[0]
            continue
        if key == start_key:
            if detail.not_before_today and day < today:
                errors[key] = _l("must not be in the past")
                continue
            start = day
        else:
            end = day
    if start and end:
        if end < start:
            errors[end_key] = _l("must not be before %(start)s",
                                 start=term("the start", detail.start))
            return
        if detail.longest is not None and end - start > detail.longest:
            errors[end_key] = _l("must be at most %(duration)s after %(start)s",
                                 duration=duration(detail.longest),
                                 start=term("the start", detail.start))
            return
    if start and end:
        result[start_key], result[end_key] = start.isoformat(), end.isoformat()


def names(kind: KindRules) -> tuple[str, ...]:
    """The keys a kind's details are kept under (none for most kinds)."""
    return tuple(key for detail in kind.details for key in detail.keys)


def clean(kind: KindRules, given: Any, now: datetime, errors: dict) -> dict[str, Any]:
    """The clean details of a new ticket of `kind`; problems are added to `errors` by field.

    None means the caller does not deal in details (the API, older clients): the ticket has
    none. A table given must hold every required detail of the kind, and nothing else.
    """
    if given is None:
        return {}
    if not isinstance(given, dict):
        errors["details"] = _l("must be a table of details")
        return {}
    extra = sorted(set(given) - set(names(kind)))
    if extra:
        errors["details"] = _l("a %(kind)s takes no %(names)s", kind=term(kind.name, kind.label),
                               names=listing(map(str, extra)))
    today = now.astimezone(current_app.config["TZ"]).date()
    result: dict[str, Any] = {}
    for detail in kind.details:
        if detail.type == "date range":
            _date_range(detail, given, today, errors, result)
            continue
        value = given.get(detail.name)
        if _missing(value) or value == []:
            if detail.required:
                errors[detail.name] = _l("is required")
            continue
        try:
            result[detail.name] = PARSERS[detail.type](detail, value, today)
        except _Refused as refused:
            errors[detail.name] = refused.args[0]
    return result


def revise(kind: KindRules, current: dict[str, Any] | None, given: Any, now: datetime,
           errors: dict) -> dict[str, Any]:
    """The details of a ticket of `kind` after a step: those `given` (some or all of them) over
    the `current` ones, checked as a whole as when a ticket is opened (a works period must not
    start in the past, and so on); problems are added to `errors` by field."""
    current = dict(current or {})
    if not isinstance(given, dict):
        errors["details"] = _l("must be a table of details")
        return current
    if not given:
        return current
    return clean(kind, {**current, **given}, now, errors)


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What a step changed in the details: {name: {"from": old value or None, "to": new value}}."""
    old = old or {}
    return {name: {"from": old.get(name), "to": value} for name, value in new.items()
            if old.get(name) != value}
