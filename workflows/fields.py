"""The data a trigger may carry, and how each value is checked.

Rules name these fields in `requires` and `accepts`; the engine parses them here, so a value is
checked the same way from the API, a page or the CLI. A parser returns the clean value or raises
ValueError with a message for the person who typed it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from models import Role, User, db
from workflows.words import listing, term

MAX_TEXT = 2000
MAX_TITLE = 200
TIME_FORMAT = _l("must be a time like 2026-11-22T14:30:00+08:00")
# The largest id an INTEGER column holds on every database ButlerDesk runs on (SQLite, PostgreSQL).
MAX_ID = 2**31 - 1


# Characters no person types: C0 controls but tab and line breaks, DEL, and halves of a UTF-16
# surrogate pair (JSON's "\ud800" makes one), which no database can store.
_UNTYPABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def untypable(text: str) -> LazyString | None:
    """Why `text` cannot be taken as typed text, or None when it can."""
    if _UNTYPABLE.search(text):
        return _l("must not contain control characters or broken Unicode")
    return None


def whole_number(value: Any) -> int | None:
    """An int, or a string of ASCII digits, as an int; None for anything else (bools included)."""
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            return None
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def record_id(value: Any) -> int | None:
    """`value` as the id of a row (1 .. MAX_ID), or None when it cannot be one."""
    number = whole_number(value)
    return number if number is not None and 1 <= number <= MAX_ID else None


def _text_of(longest: int) -> Callable[[Any, Any], str]:
    def parse(value: Any, _context) -> str:
        if not isinstance(value, str):
            raise ValueError(_l("must be text"))
        value = value.strip()
        if not value:
            raise ValueError(_l("must not be empty"))
        if len(value) > longest:
            raise ValueError(_l("must be at most %(count)d characters", count=longest))
        return value

    return parse


_text = _text_of(MAX_TEXT)


def _rating(value: Any, _context) -> int:
    value = whole_number(value)
    if value is None or not 1 <= value <= 5:
        raise ValueError(_l("must be a whole number from 1 to %(most)d", most=5))
    return value


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time; one without an offset is the property's wall-clock time, as in the
    pages' forms (2026-11-24T10:00 is ten in the morning in TIMEZONE)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(TIME_FORMAT) from None
    else:
        raise ValueError(TIME_FORMAT)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=current_app.config["TZ"])
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-23:00 is past the last representable time
        raise ValueError(TIME_FORMAT) from None


def past_time(value: Any, now: datetime, within: timedelta, too_early: LazyString, key: str,
              errors: dict) -> datetime | None:
    """When something already happened, as a person gives it: None when not given; otherwise
    a time not in the future and at most `within` before now (errors[key] says what is wrong)."""
    if value in (None, ""):
        return None
    try:
        when = parse_time(value)
    except ValueError as exc:
        errors[key] = exc.args[0]
        return None
    if when > now:
        errors[key] = _l("must not be in the future")
    elif now - when > within:
        errors[key] = too_early
    return when


def required_time(value: Any, key: str, errors: dict) -> datetime | None:
    """A time a person must give (parse_time), or None with errors[key] saying why not."""
    if value in (None, ""):
        errors[key] = _l("is required")
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        errors[key] = exc.args[0]
        return None


def _time(value: Any, _context) -> datetime:
    return parse_time(value)


def _choice(value: Any, context) -> str:
    choices = context["choices"]
    if value not in choices:
        raise ValueError(_l("must be one of %(choices)s",
                            choices=listing(term(c) for c in choices)))
    return value


def _user_with_role(role: Role) -> Callable[[Any, Any], int]:
    def parse(value: Any, _context) -> int:
        value = whole_number(value)
        if value is None:
            raise ValueError(_l("must be the id of a %(role)s", role=term(role)))
        user = db.session.get(User, value) if record_id(value) is not None else None
        if user is None or user.role != role or not user.active:
            raise ValueError(_l("no active %(role)s has id %(id)s", role=term(role), id=value))
        return value

    return parse


def _yes(value: Any, _context) -> bool:
    """A box ticked or not: true/false, or what a form's checkbox sends."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("y", "yes", "on", "true", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("n", "no", "off", "false", "0"):
        return False
    raise ValueError(_l("must be true or false"))


def _table(value: Any, _context) -> dict:
    """A table of a kind's details; the engine checks each value (workflows.details.revise)."""
    if not isinstance(value, dict):
        raise ValueError(_l("must be a table of details"))
    return value


@dataclass(frozen=True)
class Field:
    parse: Callable[[Any, Any], Any]
    ticket_attribute: str | None = None  # copied onto the ticket when the trigger fires


FIELDS: dict[str, Field] = {
    "note": Field(_text),
    "reason": Field(_text),
    "rating": Field(_rating, "rating"),
    "promised_at": Field(_time),
    "result": Field(_choice),
    "technician_id": Field(_user_with_role(Role.TECHNICIAN), "technician_id"),
    "assignee_id": Field(_user_with_role(Role.BUTLER), "assignee_id"),
    # What the ticket is about, put right (a rejected application resubmitted).
    "title": Field(_text_of(MAX_TITLE), "title"),
    "description": Field(_text, "description"),
    # Some or all of a kind's details (a renovation's works period, contractor, ...), changed.
    "details": Field(_table, "details"),
    # The step's note is for staff only (what to bring, who to ask), never shown to the resident.
    "staff_only": Field(_yes),
}
STAFF_ONLY = "staff_only"
# Fields that put right what the ticket says: its event keeps each change as {from, to}.
REVISED = ("title", "description")
