"""Office time: the working calendar of an estate, and when a deadline counted in it is due.

A deadline of the rules is counted in calendar time (the default: a 20-minute arrival is twenty
minutes, at night too) or in office time (`calendar = "office"`): only the estate's office hours
on its working days count. A working day is a day of the week with office hours, unless it is
one of the mainland's public holidays; a make-up working day (调休, a Saturday or Sunday worked in
exchange for a longer holiday) is one, with the hours of an ordinary weekday; and a day the
estate closes is never one. The holidays come from the `chinesecalendar` package, which knows
the State Council's schedule up to a year (`HOLIDAYS_UNTIL`); past it an office counts its hours
by weekday and its closed days only, which its calendar page and the log say.

A due time in office time is computed once, when the deadline is armed (workflows.deadlines),
and stored: the sweeper reads due times by index and never consults a calendar.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from models import (
    Area,
    Building,
    ClosedDay,
    EstateCalendar,
    OfficeHours,
    Unit,
    User,
    db,
)
from models.transaction import write
from workflows import clock, estates
from workflows.accounts import _clock_time
from workflows.assessment import _require_supervisor
from workflows.errors import Forbidden, InvalidData
from workflows.rules import OFFICE, DeadlineRule

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
                 _l("Saturday"), _l("Sunday"))
# The office hours of an estate that has set none. The sources give the service centre's hours
# nowhere (docs/domain.md): a working week of five days, 08:30-17:30.
DEFAULT_HOURS = tuple(((time(8, 30), time(17, 30)),) if day < 5 else () for day in range(7))
# The last year whose holidays and make-up working days the package knows.
HOLIDAYS_UNTIL = max(chinese_calendar.holidays).year
# Office time is looked for this many days ahead at most (every day closed: none is found).
HORIZON_DAYS = 3660
MAX_NOTE = 200
ONE_DAY = timedelta(days=1)
MAX_CLOSED_DAYS = 500
HOLIDAY_NAMES = {
    "New Year's Day": _l("New Year's Day"), "Spring Festival": _l("Spring Festival"),
    "Tomb-sweeping Day": _l("Tomb-sweeping Day"), "Labour Day": _l("Labour Day"),
    "Dragon Boat Festival": _l("Dragon Boat Festival"), "National Day": _l("National Day"),
    "Mid-autumn Festival": _l("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": _l("Anti-Fascist War Victory Day"),
}

log = logging.getLogger(__name__)

Span = tuple[time, time]


class NoOfficeTime(Exception):
    """No office hours within the horizon: the estate's calendar closes every day."""


@dataclass(frozen=True)
class OfficeCalendar:
    hours: tuple[tuple[Span, ...], ...]  # by weekday, Monday first; local times
    public_holidays: bool
    closed: frozenset[date]
    zone: ZoneInfo

    @property
    def make_up_hours(self) -> tuple[Span, ...]:
        """The hours of a make-up working day: those of the first weekday (Mon-Fri) with any."""
        return next((spans for spans in self.hours[:5] if spans), ())

    def spans(self, day: date) -> tuple[Span, ...]:
        """The office hours of a local date: none on a closed day or a holiday."""
        if day in self.closed:
            return ()
        if self.public_holidays:
            if day.year > HOLIDAYS_UNTIL:
                _holidays_unknown(day.year)
            elif day in chinese_calendar.holidays:
                return ()
            elif day in chinese_calendar.workdays:  # only make-up days: weekends worked
                return self.make_up_hours
        return self.hours[day.weekday()]

    def periods(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The office periods from `start` on, (opens, closes) in UTC, the first one cut at
        `start`: one step a span of office hours, never a step a minute."""
        day = start.astimezone(self.zone).date()
        for _ in range(HORIZON_DAYS):
            for opens, closes in self.spans(day):
                closing = datetime.combine(day, closes, self.zone).astimezone(UTC)
                if closing > start:
                    yield max(datetime.combine(day, opens, self.zone).astimezone(UTC),
                              start), closing
            day += ONE_DAY
        raise NoOfficeTime(f"no office hours within {HORIZON_DAYS} days of {start}")

    def add(self, start: datetime, length: timedelta) -> datetime:
        """The instant `length` of office time after `start` is used up (inside, or at the end
        of, a span of office hours)."""
        if length <= timedelta(0):
            return start
        for opens, closes in self.periods(start):
            if closes - opens >= length:
                return opens + length
            length -= closes - opens
        raise AssertionError("periods() ends by raising")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """How much office time lies from `start` to `end`."""
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self.periods(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total


@cache
def _holidays_unknown(year: int) -> None:
    """Said once a process and year: office time past the package's data has no holidays."""
    log.warning("chinesecalendar knows the public holidays up to %d only: office time in %d "
                "counts office hours by weekday and closed days, without holidays or make-up "
                "working days (update the package)", HOLIDAYS_UNTIL, year)


def zone() -> ZoneInfo:
    return current_app.config["TZ"]


def of_estate(estate_id: int, since: date | None = None) -> OfficeCalendar:
    """The estate's calendar (its closed days from `since` on, when given)."""
    switch = db.session.scalar(select(EstateCalendar.public_holidays)
                               .where(EstateCalendar.estate_id == estate_id))
    if switch is None:
        return OfficeCalendar(DEFAULT_HOURS, True, frozenset(), zone())
    hours: list[list[Span]] = [[] for _ in WEEKDAYS]
    for row in db.session.execute(select(OfficeHours.weekday, OfficeHours.opens,
                                         OfficeHours.closes)
                                  .where(OfficeHours.estate_id == estate_id)
                                  .order_by(OfficeHours.weekday, OfficeHours.opens)):
        hours[row.weekday].append((row.opens, row.closes))
    closed = select(ClosedDay.day).where(ClosedDay.estate_id == estate_id)
    if since is not None:
        closed = closed.where(ClosedDay.day >= since)
    return OfficeCalendar(tuple(map(tuple, hours)), switch,
                          frozenset(db.session.scalars(closed)), zone())


def _of_unit(unit_id: int, start: datetime) -> OfficeCalendar:
    estate_id = db.session.scalar(select(Area.estate_id).join(Building).join(Unit)
                                  .where(Unit.id == unit_id))
    return of_estate(estate_id, since=start.astimezone(zone()).date() - ONE_DAY)


def due_at(rule: DeadlineRule, unit_id: int, start: datetime, length: timedelta) -> datetime:
    """When a clock of the deadline `rule` is due that starts at `start` with `length` to run,
    on a ticket of the unit: `length` later, or in office time after `length` of the office
    hours of the unit's estate."""
    if rule.calendar != OFFICE:
        return start + length
    return _of_unit(unit_id, start).add(start, length)


def left(rule: DeadlineRule, unit_id: int, now: datetime, due: datetime) -> timedelta:
    """What is left at `now` of a clock of `rule` due at `due` (in office time, office time)."""
    if rule.calendar != OFFICE:
        return max(due - now, timedelta(0))
    return _of_unit(unit_id, now).between(now, due)


# -- the calendar page and the API -----------------------------------------------------------------

@dataclass(frozen=True)
class Day:
    """What the package's calendar says of a stretch of days: a holiday from `day` to `last`, or
    a make-up working day (调休)."""

    day: date
    last: date
    holiday: bool
    name: Any


def upcoming(since: date, count: int = 12) -> list[Day]:
    """The next holidays (each from its first day, or `since`) and make-up working days."""
    days: list[Day] = []
    for day, name in sorted({**chinese_calendar.holidays, **chinese_calendar.workdays}.items()):
        if day < since or (days and day <= days[-1].last):
            continue
        last = day
        while day in chinese_calendar.holidays and last + ONE_DAY in chinese_calendar.holidays:
            last += ONE_DAY
        days.append(Day(day, last, day in chinese_calendar.holidays,
                        HOLIDAY_NAMES.get(name, name)))
    return days[:count]


def require_staff(actor: User) -> None:
    if actor.role not in ("butler", "supervisor", "admin"):
        raise Forbidden(_l("only staff see the estates' office hours"))


@dataclass(frozen=True)
class Settings:
    """An estate's calendar as set: hours by weekday key, the holiday switch, closed days."""

    hours: dict[str, list[Span]]
    public_holidays: bool
    closed_days: list[tuple[date, str]]
    default: bool  # nothing set yet: the default calendar


def settings_of(estate_id: int) -> Settings:
    row = db.session.get(EstateCalendar, estate_id)
    if row is None:
        return Settings(dict(zip(WEEKDAYS, map(list, DEFAULT_HOURS), strict=True)), True, [],
                        True)
    hours: dict[str, list[Span]] = {key: [] for key in WEEKDAYS}
    for span in row.hours:
        hours[WEEKDAYS[span.weekday]].append((span.opens, span.closes))
    return Settings(hours, row.public_holidays, [(d.day, d.note) for d in row.closed_days],
                    False)


def set_calendar(actor: User, estate_id: Any, hours: Any, public_holidays: Any,
                 closed_days: Any) -> Settings:
    """Replace the estate's calendar: `hours` {weekday: [{opens, closes}, ...]} (every weekday
    left out has none), `public_holidays` true or false, `closed_days` [{day, note?}, ...].
    What is wrong is refused by field, and nothing changes. Deadlines armed already keep their
    due times; the new calendar counts for the clocks armed (or resumed) from now on."""
    _require_supervisor(actor)
    with write():
        found = estates.get(estate_id, actor)
        errors: dict[str, Any] = {}
        spans = _hours(hours, errors)
        if not isinstance(public_holidays, bool):
            errors["public_holidays"] = _l("must be true or false")
        closed = _closed_days(closed_days, errors)
        if errors:
            raise InvalidData(_l("the office calendar cannot be saved as given"), errors)
        row = db.session.get(EstateCalendar, found.id) or EstateCalendar(estate_id=found.id)
        row.public_holidays, row.updated_at, row.updated_by_id = (
            public_holidays, clock.now(), actor.id)
        db.session.add(row)
        db.session.flush()
        # The old rows go before the new ones come: a span or a day kept is the same key.
        for model in (OfficeHours, ClosedDay):
            db.session.execute(delete(model).where(model.estate_id == found.id))
        db.session.add_all(OfficeHours(estate_id=found.id, weekday=WEEKDAYS.index(key),
                                       opens=opens, closes=closes)
                           for key, day in spans.items() for opens, closes in day)
        db.session.add_all(ClosedDay(estate_id=found.id, day=day, note=note)
                           for day, note in closed)
    db.session.expire_all()
    return settings_of(found.id)


def _hours(value: Any, errors: dict) -> dict[str, list[Span]]:
    """Office hours by weekday as given, each day's spans in order; what is wrong goes into
    `errors` under hours.<weekday>."""
    if not isinstance(value, dict):
        errors["hours"] = _l("must be the office hours by weekday, e.g. "
                             '{"mon": [{"opens": "08:30", "closes": "17:30"}]}')
        return {}
    found: dict[str, list[Span]] = {}
    for key, spans in value.items():
        field = f"hours.{key}"
        if key not in WEEKDAYS:
            errors[field] = _l("unknown weekday (weekdays: %(days)s)", days=", ".join(WEEKDAYS))
            continue
        problem, found[key] = _spans(spans)
        if problem:
            errors[field] = problem
    if not errors and not any(found.values()):
        errors["hours"] = _l("give office hours on at least one day of the week")
    return found


def _spans(value: Any) -> tuple[Any, list[Span]]:
    """(what is wrong or None, the spans in order) of one weekday's office hours."""
    if not isinstance(value, list) or not all(
            isinstance(s, dict) and set(s) == {"opens", "closes"} for s in value):
        return _l('must be a list of {"opens": "08:30", "closes": "12:00"}'), []
    spans = []
    for given in value:
        opens, closes = _clock_time(given["opens"]), _clock_time(given["closes"])
        if not opens or not closes:
            bad = given["closes"] if opens else given["opens"]
            return _l("%(value)s is not a time of day like 08:30", value=_shown(bad)), []
        if closes <= opens:
            return _l("%(span)s ends before it starts", span=span_text((opens, closes))), []
        spans.append((opens, closes))
    spans.sort()
    for first, then in pairwise(spans):
        if then[0] < first[1]:
            return _l("%(first)s and %(then)s overlap", first=span_text(first),
                      then=span_text(then)), []
    return None, spans


def _closed_days(value: Any, errors: dict) -> list[tuple[date, str]]:
    if not isinstance(value, list) or not all(isinstance(d, dict) and "day" in d
                                              and set(d) <= {"day", "note"} for d in value):
        errors["closed_days"] = _l('must be a list of {"day": "2026-12-24", "note": "…"}')
        return []
    if len(value) > MAX_CLOSED_DAYS:
        errors["closed_days"] = _l("at most %(count)d closed days", count=MAX_CLOSED_DAYS)
        return []
    found: dict[date, str] = {}
    for given in value:
        day = _date(given["day"])
        note = given.get("note", "")
        if day is None:
            errors["closed_days"] = _l("%(value)s is not a date like 2026-12-24",
                                       value=_shown(given["day"]))
        elif day in found:
            errors["closed_days"] = _l("%(day)s is given twice", day=day.isoformat())
        elif not isinstance(note, str) or len(note.strip()) > MAX_NOTE:
            errors["closed_days"] = _l("the note of %(day)s must be text of at most %(count)d "
                                       "characters", day=day.isoformat(), count=MAX_NOTE)
        else:
            found[day] = note.strip()
            continue
        return []
    return sorted(found.items())


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def span_text(span: Span) -> str:
    return f"{span[0]:%H:%M}-{span[1]:%H:%M}"


# -- what a page types: one line of text a weekday, one closed day a line --------------------------

def typed_spans(text: str) -> list[dict[str, str]]:
    """A weekday's hours as typed, "08:30-12:00, 13:30-17:30", as the API gives them (what does
    not read is passed on as it is, for the checks to name)."""
    spans = []
    for part in re.split(r"[,，;；]", text or ""):
        if part.strip():
            opens, _dash, closes = re.sub(r"\s*[-–—~～]\s*", "-", part.strip()).partition("-")
            spans.append({"opens": opens, "closes": closes})
    return spans


def typed_closed_days(text: str) -> list[dict[str, str]]:
    """Closed days as typed, one a line: "2026-12-24 Staff training"."""
    days = []
    for line in (text or "").splitlines():
        if line.strip():
            day, _space, note = line.strip().partition(" ")
            days.append({"day": day, "note": note.strip()})
    return days


def spans_typed(spans: list[Span]) -> str:
    return ", ".join(span_text(span) for span in spans)


def closed_days_typed(days: list[tuple[date, str]]) -> str:
    return "\n".join(f"{day.isoformat()} {note}".strip() for day, note in days)
