"""Loads `rules.toml` into checked, immutable rules and builds one state machine per kind.

A mistake in the file stops start-up with a RulesError that names the kind, the entry, the field
and the line, e.g. ``rules.toml:97: [repair.deadlines.on_site] within: '20 minutes' is not a
duration like 20m, 24h or 7d``.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from transitions import Machine

from models.people import Role
from workflows.fields import FIELDS

STAY = "="  # `to = "="`: the trigger records something and the state does not change
FIRING_ROLES = {Role.RESIDENT, Role.BUTLER, Role.TECHNICIAN, Role.SUPERVISOR}
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class RulesError(Exception):
    pass


@dataclass(frozen=True)
class StateRule:
    name: str
    label: dict[str, str]
    final: bool


@dataclass(frozen=True)
class TriggerRule:
    name: str
    label: dict[str, str]
    sources: tuple[str, ...]
    dest: str | None               # None: the state does not change
    dest_by: str | None            # the field whose value chooses the state ...
    dest_choices: dict[str, str]   # ... value -> state
    roles: frozenset[str]
    requires: tuple[str, ...]
    accepts: tuple[str, ...]
    window_since: str | None
    window: timedelta | None

    @property
    def fields(self) -> tuple[str, ...]:
        return self.requires + tuple(f for f in self.accepts if f not in self.requires)


@dataclass(frozen=True)
class DeadlineRule:
    name: str
    label: dict[str, str]
    starts_in: frozenset[str]
    met_in: frozenset[str]
    paused_in: frozenset[str]
    cancelled_in: frozenset[str]
    rearmed_by: frozenset[str]
    due_from: str | None
    repeats: bool
    within: timedelta
    points: int
    article: int


@dataclass(frozen=True)
class KindRules:
    name: str
    label: dict[str, str]
    initial: str
    states: dict[str, StateRule]
    triggers: dict[str, TriggerRule]
    deadlines: dict[str, DeadlineRule]
    machine: Machine

    def triggers_from(self, state: str) -> list[TriggerRule]:
        return [t for t in self.triggers.values() if state in t.sources]

    @property
    def open_states(self) -> list[str]:
        return [s.name for s in self.states.values() if not s.final]


@dataclass(frozen=True)
class FindingRule:
    """One line of the assessment standard: what was found, its article and its points."""

    code: str
    article: int
    points: int  # negative: a deduction; positive: a bonus
    label: dict[str, str]


@dataclass(frozen=True)
class Grade:
    minimum: int | None  # None: every score below the grades above
    label: dict[str, str]


@dataclass(frozen=True)
class AssessmentRules:
    full_score: int
    grades: tuple[Grade, ...]
    findings: dict[str, FindingRule]
    spot_check_share: float
    spot_check_findings: dict[str, str]  # ticket kind -> finding code for an unsatisfied check

    def grade(self, score: int) -> Grade:
        return next(g for g in self.grades if g.minimum is None or score >= g.minimum)

    @property
    def articles(self) -> set[int]:
        return {f.article for f in self.findings.values()}


@dataclass(frozen=True)
class Rules:
    kinds: dict[str, KindRules]
    backdate_limit: timedelta
    assessment: AssessmentRules

    def kind(self, name: str) -> KindRules:
        return self.kinds[name]


def parse_duration(text: Any) -> timedelta:
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a duration like 20m, 24h or 7d")
    duration = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not duration:
        raise ValueError(f"{text!r} is no time at all; give a duration like 20m, 24h or 7d")
    return duration


def format_duration(duration: timedelta) -> str:
    """20 minutes, 48 hours, 7 days: the way the rules file says it."""
    minutes = int(duration.total_seconds() // 60)
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0 and minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{duration.total_seconds():g} seconds"


def load_rules(path: str | Path) -> Rules:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path.name}: not valid TOML: {exc}") from None
    return _Loader(path.name, text).rules(data)


class _Loader:
    """Checks the parsed TOML; every complaint says where in the file it is."""

    def __init__(self, filename: str, text: str):
        self.filename = filename
        self.lines = text.splitlines()

    # -- locating and reporting ------------------------------------------------------------------
    def _line(self, table: str, key: str | None) -> int | None:
        header = re.compile(r"^\s*\[\s*" + re.escape(table) + r"\s*\]\s*(#.*)?$")
        start = -1 if not table else next(
            (i for i, line in enumerate(self.lines) if header.match(line)), None)
        if start is None:
            return None
        if key is None:
            return start + 1
        key_line = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(start + 1, len(self.lines)):
            if self.lines[i].lstrip().startswith("["):
                break
            if key_line.match(self.lines[i]):
                return i + 1
        return start + 1

    def fail(self, table: str, key: str | None, message: str):
        line = self._line(table, key)
        where = f"{self.filename}:{line}" if line else self.filename
        field = f" {key}:" if key else ""
        raise RulesError(f"{where}: [{table or 'top level'}]{field} {message}")

    def _keys(self, table: str, entry: dict, allowed: set[str], required: set[str]):
        for key in entry:
            if key not in allowed:
                self.fail(table, key, f"unknown field (expected one of: {', '.join(sorted(allowed))})")
        for key in sorted(required - entry.keys()):
            self.fail(table, None, f"missing field '{key}'")

    def _label(self, table: str, key: str, value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not {"en", "zh"} <= value.keys():
            self.fail(table, key, "must be a table with 'en' and 'zh' texts")
        return {"en": str(value["en"]), "zh": str(value["zh"])}

    def _states(self, table: str, key: str, value: Any, states: dict) -> frozenset[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.fail(table, key, "must be a list of states")
        for state in value:
            if state not in states:
                self.fail(table, key, f"unknown state '{state}' (states: {', '.join(states)})")
        return frozenset(value)

    def _duration(self, table: str, key: str, value: Any) -> timedelta:
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(table, key, str(exc))

    def _table(self, table: str, key: str, value: Any, what: str) -> dict:
        if not isinstance(value, dict):
            self.fail(table, key, f"must be a table of {what}")
        return value

    def _names(self, table: str, key: str, value: Any) -> tuple[str, ...]:
        """A list of names; a single name may be given as a string, as with states."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(table, key, "must be a list of names")
        return tuple(value)

    def _bool(self, table: str, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            self.fail(table, key, f"{value!r} is not true or false")
        return value

    def _int(self, table: str, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(table, key, f"{value!r} is not a whole number")
        return value

    # -- the file --------------------------------------------------------------------------------
    def rules(self, data: dict) -> Rules:
        limit = self._duration("", "backdate_limit", data.pop("backdate_limit", "7d"))
        if "assessment" not in data:
            raise RulesError(f"{self.filename}: has no [assessment] table")
        assessment = self.assessment(self._table("assessment", None, data.pop("assessment"),
                                                 "assessment settings"))
        if not data:
            raise RulesError(f"{self.filename}: defines no ticket kinds")
        kinds = {}
        for name, entry in data.items():
            if not isinstance(entry, dict):
                raise RulesError(f"{self.filename}: '{name}' must be a table of a ticket kind")
            kinds[name] = self.kind(name, entry)
            for deadline in kinds[name].deadlines.values():
                if deadline.article not in assessment.articles:
                    self.fail(f"{name}.deadlines.{deadline.name}", "article",
                              f"article {deadline.article} is not in [assessment.findings]")
        for kind, code in assessment.spot_check_findings.items():
            if kind not in kinds:
                self.fail("assessment.spot_check", "findings", f"unknown ticket kind '{kind}'")
        return Rules(kinds=kinds, backdate_limit=limit, assessment=assessment)

    def assessment(self, entry: dict) -> AssessmentRules:
        self._keys("assessment", entry, {"full_score", "grades", "spot_check", "findings"},
                   {"full_score", "grades", "spot_check", "findings"})
        full_score = self._int("assessment", "full_score", entry["full_score"])
        grades = []
        if not isinstance(entry["grades"], list) or not entry["grades"]:
            self.fail("assessment", "grades", "must be a list of { min, en, zh }")
        for grade in entry["grades"]:
            if not isinstance(grade, dict) or set(grade) - {"min", "en", "zh"}:
                self.fail("assessment", "grades", "each grade is { min = <score>, en, zh }")
            minimum = grade.get("min")
            if minimum is not None:
                minimum = self._int("assessment", "grades", minimum)
                if grades and (grades[-1].minimum is None or minimum >= grades[-1].minimum):
                    self.fail("assessment", "grades", "grades must go from the highest minimum down")
            grades.append(Grade(minimum, self._label("assessment", "grades", grade)))
        if grades[-1].minimum is not None:
            self.fail("assessment", "grades", "the last grade takes every lower score: give it no min")

        findings = {}
        for code, value in self._table("assessment", "findings", entry["findings"],
                                       "a table of findings").items():
            table = f'assessment.findings."{code}"'
            value = self._table(table, None, value, "article, points, en and zh")
            self._keys(table, value, {"article", "points", "en", "zh"},
                       {"article", "points", "en", "zh"})
            points = self._int(table, "points", value["points"])
            if points == 0:
                self.fail(table, "points", "a finding gains or loses points: not 0")
            findings[code] = FindingRule(code, self._int(table, "article", value["article"]),
                                         points, self._label(table, "en", value))

        spot = self._table("assessment.spot_check", None, entry["spot_check"], "share and findings")
        self._keys("assessment.spot_check", spot, {"share", "findings"}, {"share", "findings"})
        share = spot["share"]
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            self.fail("assessment.spot_check", "share", "must be a share above 0 and at most 1")
        spot_findings = self._table("assessment.spot_check", "findings", spot["findings"],
                                    "a table of kind = finding code")
        for kind, code in spot_findings.items():
            if code not in findings:
                self.fail("assessment.spot_check", "findings", f"unknown finding '{code}'")
        return AssessmentRules(full_score=full_score, grades=tuple(grades), findings=findings,
                               spot_check_share=float(share), spot_check_findings=spot_findings)

    def kind(self, name: str, entry: dict) -> KindRules:
        self._keys(name, entry, {"label", "initial", "states", "triggers", "deadlines"},
                   {"label", "initial", "states", "triggers"})
        states = {}
        for state, value in self._table(name, "states", entry["states"], "states").items():
            table = f"{name}.states"
            label = self._label(table, state, value)
            extra = set(value) - {"en", "zh", "final"}
            if extra:
                self.fail(table, state, f"unknown field '{sorted(extra)[0]}'")
            final = value.get("final", False)
            if not isinstance(final, bool):
                self.fail(table, state, f"final: {final!r} is not true or false")
            states[state] = StateRule(state, label, final)
        if not isinstance(entry["initial"], str) or entry["initial"] not in states:
            self.fail(name, "initial", f"unknown state '{entry['initial']}'")
        triggers = {
            t: self.trigger(name, t, self._table(f"{name}.triggers", t, v, "trigger fields"), states)
            for t, v in self._table(name, "triggers", entry["triggers"], "triggers").items()
        }
        deadlines = {
            d: self.deadline(name, d, self._table(f"{name}.deadlines", d, v, "deadline fields"),
                             states, triggers)
            for d, v in self._table(name, "deadlines", entry.get("deadlines", {}),
                                    "deadlines").items()
        }
        return KindRules(
            name=name,
            label=self._label(name, "label", entry["label"]),
            initial=entry["initial"],
            states=states,
            triggers=triggers,
            deadlines=deadlines,
            machine=_build_machine(entry["initial"], states, triggers),
        )

    def trigger(self, kind: str, name: str, entry: dict, states: dict) -> TriggerRule:
        table = f"{kind}.triggers.{name}"
        self._keys(table, entry, {"label", "from", "to", "roles", "requires", "accepts", "window"},
                   {"label", "from", "to", "roles"})
        sources = tuple(sorted(self._states(table, "from", entry["from"], states)))
        if not sources:
            self.fail(table, "from", "must name at least one state")
        dest, dest_by, dest_choices = None, None, {}
        to = entry["to"]
        if isinstance(to, dict):
            dest_by = to.get("by")
            if dest_by not in FIELDS:
                self.fail(table, "to", "a table 'to' needs by = <a field> and value = state pairs")
            dest_choices = {k: v for k, v in to.items() if k != "by"}
            self._states(table, "to", list(dest_choices.values()), states)
        elif not isinstance(to, str):
            self.fail(table, "to", 'must be one state, "=" or { by = <field>, <value> = <state> }')
        elif to != STAY:
            dest = next(iter(self._states(table, "to", to, states)))
        roles = entry["roles"]
        if not isinstance(roles, list) or not roles or not set(roles) <= FIRING_ROLES:
            self.fail(table, "roles", f"must list some of: {', '.join(sorted(FIRING_ROLES))}")
        fields = {}
        for key in ("requires", "accepts"):
            fields[key] = self._names(table, key, entry.get(key, []))
            for field in fields[key]:
                if field not in FIELDS:
                    self.fail(table, key, f"unknown field '{field}' (fields: {', '.join(FIELDS)})")
        accepts = fields["accepts"] + (("note",) if "note" not in fields["accepts"] else ())
        window_since, window = None, None
        if "window" in entry:
            w = entry["window"]
            if not isinstance(w, dict) or set(w) != {"since", "within"}:
                self.fail(table, "window", "must be { since = <state>, within = <duration> }")
            window_since = next(iter(self._states(table, "window", w["since"], states)))
            window = self._duration(table, "window", w["within"])
        return TriggerRule(
            name=name, label=self._label(table, "label", entry["label"]), sources=sources,
            dest=dest, dest_by=dest_by, dest_choices=dest_choices,
            roles=frozenset(roles), requires=fields["requires"], accepts=accepts,
            window_since=window_since, window=window,
        )

    def deadline(self, kind: str, name: str, entry: dict, states: dict, triggers: dict) -> DeadlineRule:
        table = f"{kind}.deadlines.{name}"
        lists = ("starts_in", "met_in", "paused_in", "cancelled_in")
        self._keys(table, entry, {"label", "rearmed_by", "due_from", "repeats", "within", "points",
                                  "article", *lists},
                   {"label", "starts_in", "within", "points", "article"})
        found = {key: self._states(table, key, entry.get(key, []), states) for key in lists}
        if not found["starts_in"]:
            self.fail(table, "starts_in", "must name at least one state")
        rearmed_by = self._names(table, "rearmed_by", entry.get("rearmed_by", []))
        for trigger in rearmed_by:
            if trigger not in triggers:
                self.fail(table, "rearmed_by", f"unknown trigger '{trigger}'")
        due_from = entry.get("due_from")
        if due_from is not None:
            if any(due_from not in triggers[t].requires for t in rearmed_by) or not rearmed_by:
                self.fail(table, "due_from", f"every rearmed_by trigger must require '{due_from}'")
        points = self._int(table, "points", entry["points"])
        if points >= 0:
            self.fail(table, "points", "a missed deadline loses points: give a negative number")
        return DeadlineRule(
            name=name, label=self._label(table, "label", entry["label"]),
            starts_in=found["starts_in"], met_in=found["met_in"], paused_in=found["paused_in"],
            cancelled_in=found["cancelled_in"], rearmed_by=frozenset(rearmed_by), due_from=due_from,
            repeats=self._bool(table, "repeats", entry.get("repeats", False)),
            within=self._duration(table, "within", entry["within"]),
            points=points, article=self._int(table, "article", entry["article"]),
        )


def _field_equals(field: str, value: str):
    return lambda event: event.kwargs.get(field) == value


def _build_machine(initial: str, states: dict, triggers: dict[str, TriggerRule]) -> Machine:
    """A model-less machine: the engine fires it against a light stand-in for the ticket."""
    machine = Machine(model=None, states=list(states), initial=initial,
                      auto_transitions=False, send_event=True)
    for rule in triggers.values():
        sources = list(rule.sources)
        if rule.dest_by:
            for value, dest in rule.dest_choices.items():
                machine.add_transition(rule.name, sources, dest,
                                       conditions=_field_equals(rule.dest_by, value))
        else:
            machine.add_transition(rule.name, sources, rule.dest)
    return machine
