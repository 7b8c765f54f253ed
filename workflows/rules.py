"""Loads `rules.toml` into checked, immutable rules: each kind whole, and the assessment.

A mistake in the file stops start-up with a RulesError that names the kind, the entry, the field
and the line, e.g. ``rules.toml:97: [repair.deadlines.on_site] within: '20 minutes' is not a
duration like 20m, 24h or 7d``.

Where `transitions` earns its place: the loader builds one GraphMachine per kind from its
trigger table. The library checks the graph as it is built (every source and destination a state
of the kind), the loader then checks that every state can be reached from the first one and that
every state but a final one has a way on, and the same machine draws the kind's diagram
(workflows.diagrams). The engine fires nothing through it: a trigger's roles, sources, window
and destination are read from the same table the machine was built from (workflows.engine).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from transitions.extensions import GraphMachine

from models.people import Role
from workflows.fields import FIELDS, STAFF_ONLY

STAY = "="  # `to = "="`: the trigger records something and the state does not change
# Who a notice may go to (workflows.notices.recipients says who each one is for a ticket).
AUDIENCES = ("assignee", "technician", "resident", "supervisor", "manager", "area")
FIRING_ROLES = {Role.RESIDENT, Role.BUTLER, Role.TECHNICIAN, Role.SUPERVISOR}
# What a deadline counts (`calendar`): every minute, or only the estate's office hours on working
# days (workflows.calendars).
OFFICE = "office"
CALENDARS = ("calendar", OFFICE)
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_MINUTES = {"m": 1, "h": 60, "d": 1440}


class RulesError(Exception):
    pass


@dataclass(frozen=True)
class StateRule:
    name: str
    label: dict[str, str]
    final: bool
    supervisor: bool = False  # the ticket waits on the supervisor (an escalated complaint)


@dataclass(frozen=True)
class NextStep:
    """What the resident reads in a state: `text`, or while `deadline` runs, `due` (with the
    time it is due by in place of {due}) and, once that time has passed, `late`; `your_turn`
    when it waits on them."""

    text: dict[str, str]
    due: dict[str, str] | None
    late: dict[str, str] | None
    deadline: str | None
    your_turn: bool


@dataclass(frozen=True)
class Offer:
    """How the resident's page offers a trigger (None for each text: the page's own words)."""

    title: dict[str, str] | None
    explain: dict[str, str] | None
    reason: dict[str, str] | None
    button: dict[str, str] | None
    done: dict[str, str] | None
    folded: bool
    style: str | None


DETAIL_TYPES = ("text", "phone", "number", "date", "date range", "choice", "people")


@dataclass(frozen=True)
class DetailRule:
    """One thing a kind asks for beyond a title and a description (workflows.details)."""

    name: str
    type: str
    label: dict[str, str]
    hint: dict[str, str] | None = None
    required: bool = True
    max_length: int = 100                      # text
    minimum: int | None = None                 # number
    maximum: int | None = None
    not_before_today: bool = False             # date, date range
    longest: timedelta | None = None           # date range
    start: dict[str, str] | None = None        # date range: the labels of its two dates
    end: dict[str, str] | None = None
    choices: dict[str, dict[str, str]] = field(default_factory=dict)  # choice: value -> label
    most: int = 50                             # people

    @property
    def keys(self) -> tuple[str, ...]:
        """The names its values are kept under (a date range keeps two)."""
        return (f"{self.name}_start", f"{self.name}_end") if self.type == "date range" \
            else (self.name,)


@dataclass(frozen=True)
class SpotCheckRule:
    states: frozenset[str]  # drawn from the tickets that entered one of these in the month
    finding: str            # an unsatisfied follow-up becomes this finding


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
    clears: tuple[str, ...]        # what the ticket forgets (a reopened repair's rating)
    done: dict[str, str]           # what the page says once it is done (en and zh)
    offer: Offer | None = None
    notify: tuple[str, ...] = ()   # who is told when it is fired (AUDIENCES)
    note_for_staff: bool = False   # its note is for staff only, always (an escalation's)
    once_per: timedelta | None = None  # fired at most once per this on a ticket (a nudge)
    # Fired by staff, it is a step taken for the resident (a butler cancelling their repair,
    # accepting a solution for them): it needs a reason and is on the supervisor's review list.
    on_behalf: bool = False
    # The resident's objection to this `on_behalf` step when staff took it for them: offered
    # only while that step is the one that brought the ticket where it is.
    objects_to: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return self.requires + tuple(f for f in self.accepts if f not in self.requires)

    def done_for(self, role: str) -> dict[str, str]:
        """What the page says once it is done, to someone of `role` (a resident in their own
        words)."""
        if role == "resident" and self.offer and self.offer.done:
            return self.offer.done
        return self.done


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
    warn_before: tuple[timedelta, ...] = ()  # longest first: when the warnings go out
    warn: tuple[str, ...] = ()               # who is warned
    escalate: tuple[Escalation, ...] = ()    # who hears of a miss, and when after it
    remind_every: timedelta | None = None    # a miss still outstanding is told again
    remind: tuple[str, ...] = ()
    # How far a supervisor may move it on request (延期, workflows.extensions): the new due time
    # at most this long after the current one. None: it cannot be moved.
    extend_up_to: timedelta | None = None
    calendar: str = CALENDARS[0]             # "office": `within` counts office time only

    def first_notice_at(self, due_at: datetime) -> datetime | None:
        """When a clock due at `due_at` first has something to tell: its first warning."""
        return due_at - self.warn_before[0] if self.warn_before else None


@dataclass(frozen=True)
class Escalation:
    after: timedelta        # after the due time, while the miss is outstanding
    to: tuple[str, ...]


@dataclass(frozen=True)
class NoticeRules:
    """Who hears what when a kind's tables do not say: the top-level [notices] table."""

    new: tuple[str, ...]            # who is told of a new ticket
    warn: tuple[str, ...]
    escalate: tuple[Escalation, ...]
    remind_every: timedelta | None
    remind: tuple[str, ...]


@dataclass(frozen=True)
class KindRules:
    name: str
    label: dict[str, str]
    hint: dict[str, str]
    initial: str
    states: dict[str, StateRule]
    next_steps: dict[str, NextStep]   # state -> what the resident reads in it
    triggers: dict[str, TriggerRule]
    deadlines: dict[str, DeadlineRule]
    details: tuple[DetailRule, ...]
    documents: dict[str, str] | None  # the label of its documents' file input, if it asks
    spot_check: SpotCheckRule | None
    machine: GraphMachine             # checks the graph at start-up and draws it

    def triggers_from(self, state: str) -> list[TriggerRule]:
        return [t for t in self.triggers.values() if state in t.sources]

    @property
    def open_states(self) -> list[str]:
        return [s.name for s in self.states.values() if not s.final]

    def detail_label(self, key: str) -> dict[str, str]:
        """The label of the detail kept under `key` (a date range's start or end by theirs)."""
        for detail in self.details:
            if key in detail.keys:
                if detail.type == "date range":
                    return detail.start if key == detail.keys[0] else detail.end
                return detail.label
        return {"en": key, "zh": key}

    def rating_triggers(self, role: str) -> list[str]:
        """The triggers by which someone of `role` records a rating (a resident's own)."""
        return [t.name for t in self.triggers.values() if "rating" in t.fields and role in t.roles]


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

    def grade(self, score: int) -> Grade:
        return next(g for g in self.grades if g.minimum is None or score >= g.minimum)

    @property
    def articles(self) -> set[int]:
        return {f.article for f in self.findings.values()}


@dataclass(frozen=True)
class Rules:
    kinds: dict[str, KindRules]
    backdate_limit: timedelta
    repeat_within: timedelta
    assessment: AssessmentRules
    notices: NoticeRules
    # A duty hand-over not signed by the one taking over within this long waits for a supervisor.
    handover_sign_within: timedelta = timedelta(hours=1)

    def kind(self, name: str) -> KindRules:
        return self.kinds[name]

    @property
    def spot_checked(self) -> dict[str, SpotCheckRule]:
        """Kind -> its spot-check, for the kinds a spot-check draws from."""
        return {k.name: k.spot_check for k in self.kinds.values() if k.spot_check}


def current() -> Rules:
    """The rules the running app was started with."""
    return current_app.extensions["butlerdesk.rules"]


class DurationError(ValueError):
    """Not a duration the rules take; `reason` says why: NOT_A_DURATION, NO_TIME or TOO_LONG."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


NOT_A_DURATION, NO_TIME, TOO_LONG = "not a duration", "no time", "too long"
# The longest duration anything may be given (a year; beyond it a due time could leave the
# calendar, and office time be looked for past its horizon).
LONGEST = timedelta(days=366)


def parse_duration(text: Any) -> timedelta:
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise DurationError(f"{text!r} is not a duration like 20m, 24h or 7d", NOT_A_DURATION)
    minutes = int(match.group(1)) * _MINUTES[match.group(2)]
    duration = timedelta(minutes=min(minutes, LONGEST // timedelta(minutes=1) + 1))
    if not duration:
        raise DurationError(f"{text!r} is no time at all; give a duration like 20m, 24h or 7d",
                            NO_TIME)
    if duration > LONGEST:
        raise DurationError(f"{text!r} is longer than a year (366d at most)", TOO_LONG)
    return duration


def duration_text(duration: timedelta) -> str:
    """A duration as the rules write it, in hours (in minutes when not whole hours): 20m, 48h.
    Never in days, which office time does not take."""
    minutes = int(duration.total_seconds()) // 60
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


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
                self.fail(table, key,
                          f"unknown field (expected one of: {', '.join(sorted(allowed))})")
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
        repeat = self._duration("", "repeat_within", data.pop("repeat_within", "10m"))
        sign_within = self._duration("", "handover_sign_within",
                                     data.pop("handover_sign_within", "1h"))
        if "assessment" not in data:
            raise RulesError(f"{self.filename}: has no [assessment] table")
        assessment = self.assessment(self._table("assessment", None, data.pop("assessment"),
                                                 "assessment settings"))
        self.defaults = self.notices(self._table("notices", None, data.pop("notices", {}),
                                                 "who is told what"))
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
            spot = kinds[name].spot_check
            if spot is not None and spot.finding not in assessment.findings:
                self.fail(name, "spot_check", f"unknown finding '{spot.finding}' (findings: "
                                              f"{', '.join(assessment.findings)})")
        self._same_details(kinds)
        return Rules(kinds=kinds, backdate_limit=limit, repeat_within=repeat,
                     assessment=assessment, notices=self.defaults,
                     handover_sign_within=sign_within)

    def _audiences(self, table: str, key: str, value: Any) -> tuple[str, ...]:
        names = self._names(table, key, value)
        for audience in names:
            if audience not in AUDIENCES:
                self.fail(table, key, f"unknown audience '{audience}' (audiences: "
                                      f"{', '.join(AUDIENCES)})")
        return names

    def _escalation(self, table: str, value: Any) -> tuple[Escalation, ...]:
        if not isinstance(value, list):
            self.fail(table, "escalate", 'must be a list of { after = "4h", to = [...] }')
        ladder = []
        for step in value:
            if not isinstance(step, dict) or set(step) != {"after", "to"}:
                self.fail(table, "escalate", 'each level is { after = "4h", to = [...] }')
            after = timedelta(0) if step["after"] == "0m" else self._duration(
                table, "escalate", step["after"])
            if ladder and after <= ladder[-1].after:
                self.fail(table, "escalate", "the levels must come later and later")
            ladder.append(Escalation(after, self._audiences(table, "escalate", step["to"])))
        return tuple(ladder)

    def _remind_every(self, table: str, value: Any) -> timedelta | None:
        return None if value == "never" else self._duration(table, "remind_every", value)

    def notices(self, entry: dict) -> NoticeRules:
        table = "notices"
        self._keys(table, entry, {"new", "warn", "escalate", "remind_every", "remind"}, set())
        return NoticeRules(
            new=self._audiences(table, "new", entry.get("new", ["assignee"])),
            warn=self._audiences(table, "warn", entry.get("warn", ["assignee", "technician"])),
            escalate=self._escalation(table, entry.get("escalate", [])),
            remind_every=self._remind_every(table, entry.get("remind_every", "never")),
            remind=self._audiences(table, "remind", entry.get("remind", ["assignee"])))

    def _same_details(self, kinds: dict[str, KindRules]) -> None:
        """A detail name several kinds ask for is one input of the request form, so it must be
        the same detail in each (copy a kind and its details come along unchanged)."""
        seen: dict[str, tuple[str, DetailRule]] = {}
        for kind in kinds.values():
            for detail in kind.details:
                first = seen.setdefault(detail.name, (kind.name, detail))
                if first[1] != detail:
                    self.fail(f"{kind.name}.details.{detail.name}", None,
                              f"differs from [{first[0]}.details.{detail.name}]: kinds that ask "
                              "for a detail of the same name must ask for the same detail")

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
                    self.fail("assessment", "grades",
                              "grades must go from the highest minimum down")
            grades.append(Grade(minimum, self._label("assessment", "grades", grade)))
        if grades[-1].minimum is not None:
            self.fail("assessment", "grades",
                      "the last grade takes every lower score: give it no min")

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

        spot = self._table("assessment.spot_check", None, entry["spot_check"], "share")
        self._keys("assessment.spot_check", spot, {"share"}, {"share"})
        share = spot["share"]
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            self.fail("assessment.spot_check", "share", "must be a share above 0 and at most 1")
        return AssessmentRules(full_score=full_score, grades=tuple(grades), findings=findings,
                               spot_check_share=float(share))

    def kind(self, name: str, entry: dict) -> KindRules:
        self._keys(name, entry, {"label", "hint", "initial", "documents", "spot_check", "states",
                                 "resident", "triggers", "deadlines", "details"},
                   {"label", "hint", "initial", "states", "resident", "triggers"})
        states = {}
        for state, value in self._table(name, "states", entry["states"], "states").items():
            table = f"{name}.states"
            label = self._label(table, state, value)
            extra = set(value) - {"en", "zh", "final", "supervisor"}
            if extra:
                self.fail(table, state, f"unknown field '{sorted(extra)[0]}'")
            flags = {}
            for flag in ("final", "supervisor"):
                flags[flag] = value.get(flag, False)
                if not isinstance(flags[flag], bool):
                    self.fail(table, state, f"{flag}: {flags[flag]!r} is not true or false")
            states[state] = StateRule(state, label, **flags)
        if not isinstance(entry["initial"], str) or entry["initial"] not in states:
            self.fail(name, "initial", f"unknown state '{entry['initial']}'")
        triggers = self.triggers(name, entry["triggers"], states)
        deadlines = {
            d: self.deadline(name, d, self._table(f"{name}.deadlines", d, v, "deadline fields"),
                             states, triggers)
            for d, v in self._table(name, "deadlines", entry.get("deadlines", {}),
                                    "deadlines").items()
        }
        resident = self._table(name, "resident", entry["resident"], "states and their texts")
        for state in resident:
            if state not in states:
                self.fail(f"{name}.resident.{state}", None,
                          f"unknown state '{state}' (states: {', '.join(states)})")
        for state in states:
            if state not in resident:
                self.fail(name, None, f"no [{name}.resident.{state}]: every state needs the "
                                      "text a resident reads in it")
        next_steps = {state: self.next_step(f"{name}.resident.{state}", resident[state], deadlines)
                      for state in states}
        details = tuple(self.detail(f"{name}.details.{d}", d,
                                    self._table(f"{name}.details", d, v, "detail fields"))
                        for d, v in self._table(name, "details", entry.get("details", {}),
                                                "details").items())
        spot_check = None
        if "spot_check" in entry:
            spot = entry["spot_check"]
            if not isinstance(spot, dict) or set(spot) != {"states", "finding"}:
                self.fail(name, "spot_check", 'must be { states = [...], finding = "code" }')
            spot_check = SpotCheckRule(self._states(name, "spot_check", spot["states"], states),
                                       str(spot["finding"]))
        machine = self.machine(name, entry["initial"], states, triggers)
        return KindRules(
            name=name,
            label=self._label(name, "label", entry["label"]),
            hint=self._label(name, "hint", entry["hint"]),
            initial=entry["initial"],
            states=states,
            next_steps=next_steps,
            triggers=triggers,
            deadlines=deadlines,
            details=details,
            documents=self._label(name, "documents", entry["documents"])
            if "documents" in entry else None,
            spot_check=spot_check,
            machine=machine,
        )

    def triggers(self, kind: str, entry: Any, states: dict) -> dict[str, TriggerRule]:
        triggers = {
            t: self.trigger(kind, t, self._table(f"{kind}.triggers", t, v, "trigger fields"),
                            states)
            for t, v in self._table(kind, "triggers", entry, "triggers").items()
        }
        for t in triggers.values():
            if t.objects_to is not None:
                self._objection(f"{kind}.triggers.{t.name}", t, triggers)
        return triggers

    def _objection(self, table: str, rule: TriggerRule, triggers: dict[str, TriggerRule]):
        """An objection answers an `on_behalf` step of the kind, from where that step leads."""
        step = triggers.get(rule.objects_to)
        if step is None or not step.on_behalf:
            named = [t.name for t in triggers.values() if t.on_behalf]
            self.fail(table, "objects_to", f"'{rule.objects_to}' is not a step taken for the "
                                           f"resident (on_behalf: {', '.join(named) or 'none'})")
        if step.dest is None or set(rule.sources) != {step.dest}:
            self.fail(table, "from", f"an objection to '{step.name}' is made from where it leads: "
                                     f"from = [\"{step.dest}\"]")

    def next_step(self, table: str, entry: Any, deadlines: dict) -> NextStep:
        entry = self._table(table, None, entry, "text, due, late, deadline and your_turn")
        self._keys(table, entry, {"text", "due", "late", "deadline", "your_turn"}, {"text"})
        texts = {key: self._label(table, key, entry[key])
                 for key in ("text", "due", "late") if key in entry}
        for key, text in texts.items():
            allowed = {"technician", "due"} if key != "text" else {"technician"}
            for language, words in text.items():
                used = set(re.findall(r"{(\w*)}", words))
                if used - allowed:
                    self.fail(table, key, f"{language}: unknown {{{sorted(used - allowed)[0]}}} "
                                          f"(it may name: {', '.join(sorted(allowed))})")
        given = [key for key in ("deadline", "due", "late") if key in entry]
        if given and len(given) < 3:
            missing = next(key for key in ("deadline", "due", "late") if key not in entry)
            self.fail(table, missing, "`deadline`, `due` and `late` go together: the texts read "
                                      "while that deadline runs, and once it is past")
        deadline = entry.get("deadline")
        if deadline is not None and deadline not in deadlines:
            self.fail(table, "deadline", f"unknown deadline '{deadline}' (deadlines: "
                                         f"{', '.join(deadlines) or 'none'})")
        return NextStep(texts["text"], texts.get("due"), texts.get("late"), deadline,
                        self._bool(table, "your_turn", entry.get("your_turn", False)))

    def offer(self, table: str, entry: Any) -> Offer:
        entry = self._table(table, None, entry, "texts for the resident's page")
        texts = ("title", "explain", "reason", "button", "done")
        self._keys(table, entry, {*texts, "folded", "style"}, set())
        style = entry.get("style")
        if style not in (None, "danger", "secondary"):
            self.fail(table, "style", f"{style!r} is not danger or secondary")
        return Offer(*(self._label(table, key, entry[key]) if key in entry else None
                       for key in texts),
                     folded=self._bool(table, "folded", entry.get("folded", False)), style=style)

    def detail(self, table: str, name: str, entry: dict) -> DetailRule:
        kind = entry.get("type")
        if kind not in DETAIL_TYPES:
            self.fail(table, "type", f"{kind!r} is not a type of detail (types: "
                                     f"{', '.join(DETAIL_TYPES)})")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            self.fail(table, None, "a detail's name is lower-case letters, digits and _")
        own = {"text": {"max"}, "number": {"min", "max"}, "date": {"not_before"},
               "date range": {"start", "end", "not_before", "longest"}, "choice": {"choices"},
               "phone": set(), "people": {"most"}}[kind]
        required = {"date range": {"start", "end"}, "choice": {"choices"}}.get(kind, set())
        self._keys(table, entry, {"type", "label", "hint", "required", *own},
                   {"type", "label", *required})
        found: dict[str, Any] = {
            "label": self._label(table, "label", entry["label"]),
            "hint": self._label(table, "hint", entry["hint"]) if "hint" in entry else None,
            "required": self._bool(table, "required", entry.get("required", True)),
        }
        if kind == "text" and "max" in entry:
            found["max_length"] = self._int(table, "max", entry["max"])
        if kind == "number":
            found["minimum"] = self._int(table, "min", entry["min"]) if "min" in entry else None
            found["maximum"] = self._int(table, "max", entry["max"]) if "max" in entry else None
        if "not_before" in entry:
            if entry["not_before"] != "today":
                self.fail(table, "not_before", 'the only limit is "today" (not in the past)')
            found["not_before_today"] = True
        if kind == "date range":
            found["start"] = self._label(table, "start", entry["start"])
            found["end"] = self._label(table, "end", entry["end"])
            if "longest" in entry:
                found["longest"] = self._duration(table, "longest", entry["longest"])
        if kind == "choice":
            choices = self._table(table, "choices", entry["choices"], "value = { en, zh }")
            if not choices:
                self.fail(table, "choices", "must offer at least one choice")
            found["choices"] = {str(value): self._label(table, "choices", text)
                                for value, text in choices.items()}
        if kind == "people" and "most" in entry:
            found["most"] = self._int(table, "most", entry["most"])
        return DetailRule(name=name, type=kind, **found)

    def machine(self, kind: str, initial: str, states: dict[str, StateRule],
                triggers: dict[str, TriggerRule]) -> GraphMachine:
        """The kind's graph as a `transitions` machine, checked: every state reachable from the
        first one, and every state but a final one with a way on."""
        machine = GraphMachine(model=_Drawing(), states=list(states), initial=initial,
                               graph_engine="mermaid", auto_transitions=False,
                               show_conditions=True, title=kind)
        for rule in triggers.values():
            if rule.dest_by:
                for value, dest in rule.dest_choices.items():
                    machine.add_transition(rule.name, list(rule.sources), dest, conditions=value)
            else:  # dest None: an internal transition, the state stays
                machine.add_transition(rule.name, list(rule.sources), rule.dest)
        reached, pending = {initial}, [initial]
        while pending:
            state = pending.pop()
            for name in machine.get_triggers(state):
                for transition in machine.events[name].transitions[state]:
                    if transition.dest is not None and transition.dest not in reached:
                        reached.add(transition.dest)
                        pending.append(transition.dest)
        for state in states.values():
            if state.name not in reached:
                self.fail(f"{kind}.states", state.name,
                          f"no trigger leads to '{state.name}' from '{initial}'")
            moving = [t for t in triggers.values() if state.name in t.sources
                      and (t.dest or t.dest_by) and t.dest != state.name]
            if not state.final and not moving:
                self.fail(f"{kind}.states", state.name,
                          f"'{state.name}' is not final, but no trigger leads on from it")
        return machine

    def trigger(self, kind: str, name: str, entry: dict, states: dict) -> TriggerRule:
        table = f"{kind}.triggers.{name}"
        self._keys(table, entry, {"label", "done", "from", "to", "roles", "requires", "accepts",
                                  "clears", "window", "resident", "notify", "once_per",
                                  "note_for_staff", "on_behalf", "objects_to"},
                   {"label", "done", "from", "to", "roles"})
        sources = tuple(sorted(self._states(table, "from", entry["from"], states)))
        if not sources:
            self.fail(table, "from", "must name at least one state")
        dest, dest_by, dest_choices = self._destination(table, entry["to"], states)
        roles = entry["roles"]
        if not isinstance(roles, list) or not roles or not set(roles) <= FIRING_ROLES:
            self.fail(table, "roles", f"must list some of: {', '.join(sorted(FIRING_ROLES))}")
        requires, accepts = self._trigger_fields(table, entry, roles)
        on_behalf = self._bool(table, "on_behalf", entry.get("on_behalf", False))
        if on_behalf and not ("resident" in roles and set(roles) - {"resident"}):
            self.fail(table, "on_behalf", "is for a step a resident fires that staff may fire too")
        if on_behalf and "reason" not in requires + accepts:
            accepts += ("reason",)  # required of staff (workflows.engine)
        objects_to = entry.get("objects_to")
        if objects_to is not None and not isinstance(objects_to, str):
            self.fail(table, "objects_to", "must name a trigger of the kind")
        if objects_to is not None and (set(roles) != {"resident"} or "reason" not in requires):
            self.fail(table, "objects_to", 'an objection is the resident\'s own, with a reason: '
                                           'roles = ["resident"], requires = ["reason"]')
        window_since, window = None, None
        if "window" in entry:
            w = entry["window"]
            if not isinstance(w, dict) or set(w) != {"since", "within"}:
                self.fail(table, "window", "must be { since = <state>, within = <duration> }")
            window_since = next(iter(self._states(table, "window", w["since"], states)))
            window = self._duration(table, "window", w["within"])
        offer = self.offer(f"{table}.resident", entry["resident"]) if "resident" in entry \
            else None
        if "resident" in roles and (offer is None or offer.done is None):
            self.fail(f"{table}.resident", "done", "a trigger a resident fires needs the words "
                                                  "the resident reads once it is done")
        return TriggerRule(
            name=name, label=self._label(table, "label", entry["label"]), sources=sources,
            dest=dest, dest_by=dest_by, dest_choices=dest_choices,
            roles=frozenset(roles), requires=requires, accepts=accepts,
            window_since=window_since, window=window, clears=self._clears(table, entry),
            done=self._label(table, "done", entry["done"]), offer=offer,
            notify=self._audiences(table, "notify", entry.get("notify", [])),
            note_for_staff=self._bool(table, "note_for_staff", entry.get("note_for_staff", False)),
            once_per=self._duration(table, "once_per", entry["once_per"])
            if "once_per" in entry else None,
            on_behalf=on_behalf, objects_to=objects_to,
        )

    def _destination(self, table: str, to: Any, states: dict):
        """(state, field that chooses it, value -> state) of a trigger's `to`."""
        if isinstance(to, dict):
            dest_by = to.get("by")
            if dest_by not in FIELDS:
                self.fail(table, "to", "a table 'to' needs by = <a field> and value = state pairs")
            dest_choices = {k: v for k, v in to.items() if k != "by"}
            self._states(table, "to", list(dest_choices.values()), states)
            return None, dest_by, dest_choices
        if not isinstance(to, str):
            self.fail(table, "to", 'must be one state, "=" or { by = <field>, <value> = <state> }')
        return (None if to == STAY else next(iter(self._states(table, "to", to, states))),
                None, {})

    def _trigger_fields(self, table: str, entry: dict, roles: list[str]):
        """(requires, accepts) of a trigger: a note is always accepted and, from staff where it
        is optional, staff_only."""
        fields = {}
        for key in ("requires", "accepts"):
            fields[key] = self._names(table, key, entry.get(key, []))
            for given in fields[key]:
                if given not in FIELDS:
                    self.fail(table, key, f"unknown field '{given}' (fields: {', '.join(FIELDS)})")
        accepts = fields["accepts"] + (("note",) if "note" not in fields["accepts"] else ())
        # Staff may keep an optional note from the resident; a required note is the step's
        # message (a reply, what the resident is asked), which the resident must read.
        if set(roles) - {"resident"} and "note" not in fields["requires"] \
                and STAFF_ONLY not in accepts:
            accepts += (STAFF_ONLY,)
        return fields["requires"], accepts

    def _clears(self, table: str, entry: dict) -> tuple[str, ...]:
        clears = self._names(table, "clears", entry.get("clears", []))
        kept = [f for f, rule in FIELDS.items() if rule.ticket_attribute]
        for cleared in clears:
            if cleared not in kept:
                self.fail(table, "clears", f"'{cleared}' is not kept on the ticket (kept: "
                                           f"{', '.join(kept)})")
        return clears

    def deadline(self, kind: str, name: str, entry: dict, states: dict,
                 triggers: dict) -> DeadlineRule:
        table = f"{kind}.deadlines.{name}"
        lists = ("starts_in", "met_in", "paused_in", "cancelled_in")
        self._keys(table, entry, {"label", "rearmed_by", "due_from", "repeats", "within", "points",
                                  "article", "warn_before", "warn", "escalate", "remind_every",
                                  "remind", "extend_up_to", "calendar", *lists},
                   {"label", "starts_in", "within", "points", "article"})
        found = {key: self._states(table, key, entry.get(key, []), states) for key in lists}
        if not found["starts_in"]:
            self.fail(table, "starts_in", "must name at least one state")
        rearmed_by = self._names(table, "rearmed_by", entry.get("rearmed_by", []))
        for trigger in rearmed_by:
            if trigger not in triggers:
                self.fail(table, "rearmed_by", f"unknown trigger '{trigger}'")
        due_from = entry.get("due_from")
        if due_from is not None and (not rearmed_by or any(
                due_from not in triggers[t].requires for t in rearmed_by)):
            self.fail(table, "due_from", f"every rearmed_by trigger must require '{due_from}'")
        points = self._int(table, "points", entry["points"])
        if points >= 0:
            self.fail(table, "points", "a missed deadline loses points: give a negative number")
        within = self._duration(table, "within", entry["within"])
        warn_before = sorted((self._duration(table, "warn_before", w) for w in
                              self._names(table, "warn_before", entry.get("warn_before", []))),
                             reverse=True)
        if warn_before and warn_before[0] >= within:
            self.fail(table, "warn_before", "a warning comes before the deadline: each must be "
                                            "shorter than `within`")
        repeats = self._bool(table, "repeats", entry.get("repeats", False))
        extend_up_to = None
        if "extend_up_to" in entry:
            extend_up_to = self._duration(table, "extend_up_to", entry["extend_up_to"])
            if repeats:
                # Each period is armed from the last due time: moving one would move them all.
                self.fail(table, "extend_up_to", "a deadline that repeats cannot be extended "
                                                 "(each period is armed from the one before)")
        calendar = self._calendar(table, entry)
        defaults = self.defaults
        return DeadlineRule(
            name=name, label=self._label(table, "label", entry["label"]),
            starts_in=found["starts_in"], met_in=found["met_in"], paused_in=found["paused_in"],
            cancelled_in=found["cancelled_in"], rearmed_by=frozenset(rearmed_by), due_from=due_from,
            repeats=repeats, within=within, points=points,
            article=self._int(table, "article", entry["article"]),
            warn_before=tuple(warn_before),
            warn=self._audiences(table, "warn", entry["warn"]) if "warn" in entry
            else defaults.warn,
            escalate=self._escalation(table, entry["escalate"]) if "escalate" in entry
            else defaults.escalate,
            remind_every=self._remind_every(table, entry["remind_every"])
            if "remind_every" in entry else defaults.remind_every,
            remind=self._audiences(table, "remind", entry["remind"]) if "remind" in entry
            else defaults.remind,
            extend_up_to=extend_up_to,
            calendar=calendar,
        )

    def _calendar(self, table: str, entry: dict) -> str:
        calendar = entry.get("calendar", CALENDARS[0])
        if calendar not in CALENDARS:
            self.fail(table, "calendar", f"{calendar!r} is not one of: "
                                         f"{', '.join(repr(c) for c in CALENDARS)}")
        if calendar == OFFICE and "due_from" in entry:
            self.fail(table, "calendar", "a deadline due at a time given with the step "
                                         "(due_from) is due then: office time does not apply")
        if calendar == OFFICE and str(entry["within"]).strip().endswith("d"):
            self.fail(table, "within", "in office time give working hours or minutes (e.g. "
                                       "18h): a day of office time is not 24 hours")
        return calendar


class _Drawing:
    """The model a kind's GraphMachine draws: it holds nothing but the state."""
