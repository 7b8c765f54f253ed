"""An estate's own durations and points for deadlines of the rules file (a premium estate's 15
minutes on site instead of 20): data the company's admin sets, checked as the rules loader checks
the file, and used wherever the file's value was.

A deadline armed (or re-armed, or its next period armed) on a ticket of the estate is due after
the estate's `within` and stores the estate's points on its row, so the sweeper, which takes a
miss's points from the row, deducts the estate's points without looking anything up. A clock
armed already keeps its due time and points when an override changes.

An override the rules file no longer allows (its deadline removed or renamed, a duration in days
where the deadline now counts office time, shorter than a warning the file added) is ignored:
the file's values count, and the estate's rules page and the workflows page say which and why
until the admin saves the estate's values again. The app still starts: its rules file is
checked before any database is read (docs/rules.md, "An estate's own values").
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from models import Area, Building, Estate, EstateRuleOverride, Role, Unit, User, db
from models.transaction import write
from workflows import audit, clock, rules
from workflows.access import in_estates_of
from workflows.errors import Forbidden, InvalidData, NotFound
from workflows.fields import record_id
from workflows.rules import (
    NO_TIME,
    OFFICE,
    TOO_LONG,
    DeadlineRule,
    DurationError,
    KindRules,
    Rules,
    parse_duration,
)
from workflows.words import duration

ACTION = "rules_changed"


@dataclass(frozen=True)
class Line:
    """One deadline of the rules file in an estate: the file's values, the estate's (None: the
    file's) and those in force."""

    kind: KindRules
    rule: DeadlineRule        # the file's
    within: str | None        # the estate's, as typed
    points: int | None
    in_force: DeadlineRule

    @property
    def overridden(self) -> bool:
        return self.in_force is not self.rule


@dataclass(frozen=True)
class Ignored:
    """An override the rules file no longer allows, and why (by field)."""

    kind: str
    deadline: str
    within: str | None
    points: int | None
    problems: dict[str, Any]


# -- what counts on a ticket -----------------------------------------------------------------------

def kind_for(kind: KindRules, unit_id: int) -> KindRules:
    """The kind with the deadlines in force in the estate of the unit."""
    return kinds_for(rules.current(), [(unit_id, kind.name)])[(unit_id, kind.name)]


def kinds_for(known: Rules, wanted: Iterable[tuple[int, str]]) -> dict[tuple[int, str], KindRules]:
    """(unit id, kind) -> the kind with the deadlines in force in the unit's estate, in one
    query for them all (the sweeper's repeating misses)."""
    wanted = set(wanted)
    found: dict[tuple[int, str], list[EstateRuleOverride]] = {key: [] for key in wanted}
    if wanted:
        rows = db.session.execute(
            select(Unit.id, EstateRuleOverride)
            .join(Building, Unit.building_id == Building.id)
            .join(Area, Building.area_id == Area.id)
            .join(EstateRuleOverride, EstateRuleOverride.estate_id == Area.estate_id)
            .where(Unit.id.in_({unit for unit, _kind in wanted}),
                   EstateRuleOverride.kind.in_({kind for _unit, kind in wanted})))
        for unit_id, row in rows:
            if (unit_id, row.kind) in found:
                found[(unit_id, row.kind)].append(row)
    return {(unit_id, kind): _with(known, known.kind(kind), found[(unit_id, kind)])
            for unit_id, kind in wanted}


def _with(known: Rules, kind: KindRules, rows: Iterable[EstateRuleOverride]) -> KindRules:
    deadlines = dict(kind.deadlines)
    for row in rows:
        rule = deadlines.get(row.deadline)
        if rule is not None and not problems(known, rule, row.within, row.points):
            deadlines[rule.name] = _in_force(rule, row.within, row.points)
    return replace(kind, deadlines=deadlines) if deadlines != kind.deadlines else kind


def _in_force(rule: DeadlineRule, within: str | None, points: int | None) -> DeadlineRule:
    if within is None and points is None:
        return rule
    return replace(rule, within=rule.within if within is None else parse_duration(within),
                   points=rule.points if points is None else points)


def problems(known: Rules, rule: DeadlineRule, within: Any, points: Any) -> dict[str, Any]:
    """What is wrong with `within` and `points` for the deadline `rule` (None: the file's), by
    field: the loader's checks of the file (workflows.rules), as messages people read."""
    found: dict[str, Any] = {}
    if within is not None:
        problem = _within_problem(rule, within)
        if problem:
            found["within"] = problem
    if points is not None:
        most = known.assessment.full_score
        if isinstance(points, bool) or not isinstance(points, int):
            found["points"] = _l("must be a whole number, such as -2")
        elif points >= 0:
            found["points"] = _l("a missed deadline loses points: give a negative number, "
                                 "such as -2")
        elif points < -most:
            found["points"] = _l("must be at least -%(most)d: a month starts with %(most)d "
                                 "points", most=most)
    return found


def _within_problem(rule: DeadlineRule, within: Any) -> Any:
    try:
        length = parse_duration(within)
    except DurationError as exc:
        return {NO_TIME: _l("is no time at all: give a duration such as 20m, 24h or 7d"),
                TOO_LONG: _l("must be at most a year (366d)")}.get(
            exc.reason, _l("is not a duration such as 20m, 24h or 7d"))
    if rule.calendar == OFFICE and within.strip().endswith("d"):
        return _l("this deadline counts office time: give working hours or minutes (such as "
                  "18h), a day of office time is not 24 hours")
    if rule.warn_before and length <= rule.warn_before[0]:
        return _l("must be longer than the warning before it (%(warning)s)",
                  warning=duration(rule.warn_before[0]))
    return None


# -- an estate's values ----------------------------------------------------------------------------

def _estate(actor: User, estate_id: Any) -> Estate:
    """The estate, if `actor` supervises it (the admin: any); a supervisor's other estates are
    not found, as tickets there are not."""
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(_l("only the estate's supervisors and the company's admin see its "
                           "deadlines"))
    found = db.session.scalar(select(Estate).where(Estate.id == (record_id(estate_id) or 0),
                                                   in_estates_of(actor, Estate.id)))
    if found is None:
        raise NotFound(_l("estate %(id)s not found", id=estate_id))
    return found


def of_estate(actor: User, estate_id: Any) -> tuple[Estate, list[Line], list[Ignored]]:
    """Every deadline of the rules file with the estate's values, and the estate's overrides
    that the file no longer allows (ignored)."""
    estate = _estate(actor, estate_id)
    known = rules.current()
    rows = {(r.kind, r.deadline): r for r in db.session.scalars(
        select(EstateRuleOverride).where(EstateRuleOverride.estate_id == estate.id))}
    lines, ignored = [], []
    for kind in known.kinds.values():
        for rule in kind.deadlines.values():
            row = rows.pop((kind.name, rule.name), None)
            if row is None:
                lines.append(Line(kind, rule, None, None, rule))
                continue
            wrong = problems(known, rule, row.within, row.points)
            if wrong:
                ignored.append(Ignored(row.kind, row.deadline, row.within, row.points, wrong))
            lines.append(Line(kind, rule, row.within, row.points,
                              rule if wrong else _in_force(rule, row.within, row.points)))
    gone = {"deadline": _l("the rules file has no such deadline any more")}
    ignored += [Ignored(r.kind, r.deadline, r.within, r.points, gone) for r in rows.values()]
    return estate, lines, ignored


def set_overrides(actor: User, estate_id: Any, given: Any) -> None:
    """Replace the estate's overrides with `given`: [{kind, deadline, within?, points?}, ...]
    (within as the rules write it, "15m"; points negative; either left out or null: the file's).
    Only the company's admin changes them. What is wrong is refused by field
    (overrides.0.within) and nothing changes; the change is one audit entry, before → after.
    Clocks armed already keep their due times and points."""
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("only the company's admin changes an estate's deadlines"))
    known = rules.current()
    with write():
        estate = _estate(actor, estate_id)
        wanted = _checked(known, given)
        old = list(db.session.scalars(select(EstateRuleOverride)
                                      .where(EstateRuleOverride.estate_id == estate.id)))
        db.session.execute(delete(EstateRuleOverride)
                           .where(EstateRuleOverride.estate_id == estate.id))
        now = clock.now()
        db.session.add_all(EstateRuleOverride(estate_id=estate.id, kind=kind, deadline=deadline,
                                              within=within, points=points, updated_at=now,
                                              updated_by_id=actor.id)
                           for (kind, deadline), (within, points) in wanted.items())
        audit.record(actor, ACTION, estate, _shown((r.kind, r.deadline, r.within, r.points)
                                                   for r in old),
                     _shown((*key, *value) for key, value in wanted.items()),
                     estate_id=estate.id)


def _checked(known: Rules, given: Any) -> dict[tuple[str, str], tuple[str | None, int | None]]:
    """(kind, deadline) -> (within, points) as given, or InvalidData naming each wrong field."""
    if not isinstance(given, list):
        raise InvalidData(_l("the estate's deadlines cannot be saved as given"),
                          {"overrides": _l("must be a list of {kind, deadline, within, points}")})
    errors: dict[str, Any] = {}
    wanted: dict[tuple[str, str], tuple[str | None, int | None]] = {}
    for index, entry in enumerate(given):
        at = f"overrides.{index}"
        if not isinstance(entry, dict):
            errors[at] = _l("must be an object {kind, deadline, within, points}")
            continue
        unknown = set(entry) - {"kind", "deadline", "within", "points"}
        if unknown:
            errors[f"{at}.{sorted(unknown)[0]}"] = _l("only a deadline's within and points "
                                                      "may differ in an estate")
            continue
        kind = known.kinds.get(entry.get("kind")) if isinstance(entry.get("kind"), str) else None
        if kind is None:
            errors[f"{at}.kind"] = _l("unknown kind (kinds: %(kinds)s)",
                                      kinds=", ".join(known.kinds))
            continue
        name = entry.get("deadline")
        rule = kind.deadlines.get(name) if isinstance(name, str) else None
        if rule is None:
            errors[f"{at}.deadline"] = _l("not a deadline of %(kind)s (deadlines: %(names)s)",
                                          kind=kind.name, names=", ".join(kind.deadlines))
            continue
        if (kind.name, rule.name) in wanted:
            errors[at] = _l("this deadline is given twice")
            continue
        within, points = entry.get("within"), entry.get("points")
        for field, problem in problems(known, rule, within, points).items():
            errors[f"{at}.{field}"] = problem
        if within is not None or points is not None:
            wanted[(kind.name, rule.name)] = (within.strip() if isinstance(within, str)
                                              else within, points)
    if errors:
        raise InvalidData(_l("the estate's deadlines cannot be saved as given"), errors)
    return wanted


def _shown(rows: Iterable[tuple[str, str, str | None, int | None]]) -> dict[str, Any]:
    """Overrides as the audit log keeps them: {"repair.on_site.within": "15m", ...}."""
    shown: dict[str, Any] = {}
    for kind, deadline, within, points in rows:
        for field, value in (("within", within), ("points", points)):
            if value is not None:
                shown[f"{kind}.{deadline}.{field}"] = value
    return shown
