"""What a kind of ticket asks for beyond a title and a description.

A renovation application (装修申请) names the works period, the contractor and the foreman (name
and phone) and the number of workers, so that the butler can review it and issue the workers'
passes (出入证). The engine calls `clean()` when it opens a ticket, so a page, the API and the CLI
are checked the same way; the clean values are stored on the ticket (`Ticket.details`).

A step whose rule accepts `details` (resubmitting a rejected application) changes them: the
engine calls `revise()`, which checks the changed table as a whole the same way, and records
`changes()` (each detail changed, from and to) in the step's event, so no old value is lost.

Messages are for the person who typed the value, as in workflows.fields.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

from flask import current_app

MAX_NAME = 100
MAX_WORKERS = 200
MAX_PERIOD = timedelta(days=366)
_PHONE = re.compile(r"\+?[0-9][0-9 -]{5,18}[0-9]", re.ASCII)


def _name(value: Any, _clean: dict, _today: date) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("is required")
    value = value.strip()
    if len(value) > MAX_NAME:
        raise ValueError(f"must be at most {MAX_NAME} characters")
    return value


def _phone(value: Any, _clean: dict, _today: date) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("is required")
    value = value.strip()
    if not _PHONE.fullmatch(value):
        raise ValueError("must be a phone number like 138 0013 8000")
    return value


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("must be a date like 2026-11-24")


def _start(value: Any, _clean: dict, today: date) -> str:
    if value in (None, ""):
        raise ValueError("is required")
    start = _date(value)
    if start < today:
        raise ValueError("must not be in the past")
    return start.isoformat()


def _end(value: Any, clean: dict, _today: date) -> str:
    if value in (None, ""):
        raise ValueError("is required")
    end = _date(value)
    if "works_start" in clean:
        start = date.fromisoformat(clean["works_start"])
        if end < start:
            raise ValueError("must not be before the start")
        if end - start > MAX_PERIOD:
            raise ValueError("the works may last at most a year")
    return end.isoformat()


def _workers(value: Any, _clean: dict, _today: date) -> int:
    if value in (None, ""):
        raise ValueError("is required")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
        raise ValueError(f"must be a whole number from 1 to {MAX_WORKERS}")
    return value


@dataclass(frozen=True)
class Detail:
    name: str
    parse: Callable[[Any, dict, date], Any]


# Per kind, in the order they are checked (the end date is checked against the start).
DETAILS: dict[str, tuple[Detail, ...]] = {
    "renovation": (
        Detail("works_start", _start),
        Detail("works_end", _end),
        Detail("contractor_name", _name),
        Detail("contractor_phone", _phone),
        Detail("foreman_name", _name),
        Detail("foreman_phone", _phone),
        Detail("workers", _workers),
    ),
}


def names(kind: str) -> tuple[str, ...]:
    """The details a kind asks for (none for most kinds)."""
    return tuple(d.name for d in DETAILS.get(kind, ()))


def clean(kind: str, given: Any, now: datetime, errors: dict[str, str]) -> dict[str, Any]:
    """The clean details of a new ticket of `kind`; problems are added to `errors` by field.

    None means the caller does not deal in details (the API, older clients): the ticket has
    none. A table given must hold every detail of the kind, and nothing else.
    """
    if given is None:
        return {}
    if not isinstance(given, dict):
        errors["details"] = "must be a table of details"
        return {}
    wanted = DETAILS.get(kind, ())
    extra = sorted(set(given) - {d.name for d in wanted})
    if extra:
        errors["details"] = f"a {kind} takes no {', '.join(map(str, extra))}"
    today = now.astimezone(current_app.config["TZ"]).date()
    result: dict[str, Any] = {}
    for detail in wanted:
        try:
            result[detail.name] = detail.parse(given.get(detail.name), result, today)
        except ValueError as exc:
            errors[detail.name] = str(exc)
    return result


def revise(kind: str, current: dict[str, Any] | None, given: Any, now: datetime,
           errors: dict[str, str]) -> dict[str, Any]:
    """The details of a ticket of `kind` after a step: those `given` (some or all of them) over
    the `current` ones, checked as a whole as when a ticket is opened (a works period must not
    start in the past, and so on); problems are added to `errors` by field."""
    current = dict(current or {})
    if not isinstance(given, dict):
        errors["details"] = "must be a table of details"
        return current
    if not given:
        return current
    return clean(kind, {**current, **given}, now, errors)


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What a step changed in the details: {name: {"from": old value or None, "to": new value}}."""
    old = old or {}
    return {name: {"from": old.get(name), "to": value} for name, value in new.items()
            if old.get(name) != value}
