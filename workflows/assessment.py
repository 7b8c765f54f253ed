"""The monthly assessment (考核): scorecards, findings, appeals, reviews, spot-checks, closing.

A butler's month starts at the full score; every line that counts adds its points (deductions are
negative, bonuses positive); a waived line stays on the card, marked, and no longer counts.
Months are calendar months in the property's time zone. A closed month's scorecards are frozen
(stored at closing) and refuse changes until a supervisor reopens the month with a reason.
"""
from __future__ import annotations

import math
import random
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from models import (Appeal, Deduction, Event, MonthAction, MonthClosing, Review, ReviewOutcome,
                    Role, SpotCheck, SpotCheckItem, SpotCheckResult, Ticket, User, db)
from workflows import clock, queries
from models.transaction import write
from workflows.engine import current_rules
from workflows.errors import N_, Conflict, Forbidden, InvalidData, NotFound, Term
from workflows.fields import MAX_TEXT, parse_time, record_id

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
SPOT_CHECK_STATE = "closed"  # the sample is drawn from tickets closed in the month
FINDING_LOOKBACK = timedelta(days=366)


# -- months -----------------------------------------------------------------------------------

def tz() -> ZoneInfo:
    return current_app.config["TZ"]


def month_of(at: datetime) -> str:
    return at.astimezone(tz()).strftime("%Y-%m")


def current_month() -> str:
    return month_of(clock.now())




def parse_month(value: Any) -> str:
    """A month like 2026-11; raises InvalidData naming `month` otherwise."""
    try:
        queries.month_bounds(value, tz())
    except ValueError:
        raise InvalidData(N_("bad month"), {"month": N_("must be a month like 2026-11")}) from None
    return value


def closing(month: str) -> MonthClosing | None:
    """The latest close or reopen of the month; the month is closed if it is a close."""
    return db.session.scalar(select(MonthClosing).where(MonthClosing.month == month)
                             .order_by(MonthClosing.id.desc()).limit(1))


def is_closed(month: str) -> bool:
    latest = closing(month)
    return latest is not None and latest.action == MonthAction.CLOSE


def _refuse_if_closed(month: str) -> None:
    if is_closed(month):
        raise Conflict(N_("the assessment of %(month)s is closed; a supervisor must reopen it first",
                          month=month))


# -- scorecards -------------------------------------------------------------------------------

@dataclass
class Scorecard:
    butler: dict
    month: str
    score: int
    grade: dict
    deductions: int   # the sum of the negative lines that count
    bonuses: int      # the sum of the positive lines that count
    waived: int       # the points of waived lines (not counted)
    held: int         # the points of lines held for a supervisor's review (not counted yet)
    lines: list[dict]


def line(entry: Deduction) -> dict:
    """A scorecard line as data: what, points, article, status, appeal and review."""
    rules = current_rules()
    finding = rules.assessment.findings.get(entry.finding_code) if entry.finding_code else None
    if entry.deadline is not None and entry.ticket is not None:
        kind = rules.kind(entry.ticket.kind)
        step = kind.deadlines[entry.deadline.name].label if entry.deadline.name in kind.deadlines \
            else {"en": entry.deadline.name, "zh": entry.deadline.name}
        what = {"en": f"{kind.label['en']}: {step['en']} late",
                "zh": f"{kind.label['zh']}{step['zh']}超时"}
    else:
        what = finding.label if finding else {"en": entry.finding_code, "zh": entry.finding_code}
    status = ("waived" if entry.waived else "upheld" if entry.review else
              "held" if entry.held else "appealed" if entry.appeal else "counted")
    return {
        "id": entry.id, "source": "finding" if entry.finding_code else "deadline",
        "butler_id": entry.butler_id, "butler": entry.butler.name if entry.butler else None,
        "finding_code": entry.finding_code, "deadline": entry.deadline.name if entry.deadline else None,
        "ticket_id": entry.ticket_id, "ticket_title": entry.ticket.title if entry.ticket else None,
        "points": entry.points, "article": entry.article, "what": what, "note": entry.note,
        "evidence": entry.evidence, "missed_at": entry.missed_at.isoformat(),
        "recorded_at": entry.recorded_at.isoformat(),
        "recorded_by": entry.recorded_by.name if entry.recorded_by else None,
        "status": status, "held": entry.held,
        "appeal": {"reason": entry.appeal.reason, "at": entry.appeal.created_at.isoformat()}
        if entry.appeal else None,
        "review": {"outcome": entry.review.outcome, "reason": entry.review.reason,
                   "by": entry.review.supervisor.name, "at": entry.review.created_at.isoformat()}
        if entry.review else None,
    }


def _entries(start: datetime, end: datetime, butler_id: int | None = None) -> list[Deduction]:
    query = (select(Deduction)
             .where(Deduction.missed_at >= start, Deduction.missed_at < end)
             .options(joinedload(Deduction.deadline), joinedload(Deduction.ticket),
                      joinedload(Deduction.recorded_by), joinedload(Deduction.butler),
                      selectinload(Deduction.appeal),
                      selectinload(Deduction.review).joinedload(Review.supervisor))
             .order_by(Deduction.missed_at, Deduction.id))
    if butler_id is not None:
        query = query.where(Deduction.butler_id == butler_id)
    return list(db.session.scalars(query).unique())


def live_scorecards(month: str, butler_id: int | None = None) -> list[Scorecard]:
    """Every active butler's scorecard for the month as it stands now."""
    assessment = current_rules().assessment
    start, end = queries.month_bounds(month, tz())
    entries = _entries(start, end, butler_id)
    # Every active butler, and any other who has lines this month (one who left, say).
    butlers = {b.id: b for b in queries.staff(Role.BUTLER) if butler_id in (None, b.id)}
    for entry in entries:
        if entry.butler is not None:
            butlers.setdefault(entry.butler_id, entry.butler)
    lines: dict[int, list[Deduction]] = {b: [] for b in butlers}
    for entry in entries:
        if entry.butler_id in lines:
            lines[entry.butler_id].append(entry)
    butlers = list(butlers.values())
    cards = []
    for butler in butlers:
        counted = [e.points for e in lines[butler.id] if e.counts]
        score = assessment.full_score + sum(counted)
        cards.append(Scorecard(
            butler={"id": butler.id, "name": butler.name, "username": butler.username},
            month=month, score=score, grade=assessment.grade(score).label,
            deductions=sum(p for p in counted if p < 0), bonuses=sum(p for p in counted if p > 0),
            waived=sum(e.points for e in lines[butler.id] if e.waived),
            held=sum(e.points for e in lines[butler.id] if e.held and e.review is None),
            lines=[line(e) for e in lines[butler.id]]))
    return sorted(cards, key=lambda c: (-c.score, c.butler["name"]))


def scorecards(month: str, butler_id: int | None = None) -> tuple[list[dict], MonthClosing | None]:
    """The month's scorecards: frozen as closed, or live. Returns (cards, the closing if closed)."""
    latest = closing(month)
    if latest is not None and latest.action == MonthAction.CLOSE:
        cards = [c for c in latest.scorecards if butler_id in (None, c["butler"]["id"])]
        return cards, latest
    return [card.__dict__ for card in live_scorecards(month, butler_id)], None


def pending(month: str) -> dict[str, list]:
    """What waits for a supervisor's decision in the month, which keeps it from being closed:
    appealed lines, lines held for review, and spot-check calls not yet recorded."""
    start, end = queries.month_bounds(month, tz())
    entries = [e for e in _entries(start, end) if e.review is None]
    drawn = spot_check(month)
    return {"appeals": [line(e) for e in entries if e.appeal is not None],
            "held": [line(e) for e in entries if e.held],
            "spot_checks": [item for item in drawn.items if item.result is None] if drawn else []}


def entries_after_closing(month: str, closed: MonthClosing) -> list[dict]:
    """Lines of a closed month that are not on its frozen cards (a sweep after downtime, say)."""
    start, end = queries.month_bounds(month, tz())
    frozen = {ln["id"] for card in closed.scorecards for ln in card["lines"]}
    return [line(e) for e in _entries(start, end) if e.id not in frozen]


# -- writing ----------------------------------------------------------------------------------

@contextmanager
def _write():
    """One write transaction; a unique key that says "done already" becomes a 409."""
    try:
        with write():
            yield
    except IntegrityError:
        raise Conflict(N_("this was recorded by someone else a moment ago; reload")) from None


def _require_supervisor(actor: User) -> None:
    if actor.role not in SUPERVISORS:
        raise Forbidden(N_("only a supervisor may do this"))


def _text(value: Any, name: str, errors: dict, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        errors[name] = N_("must be text")
    elif required and not text:
        errors[name] = N_("is required")
    elif len(text) > MAX_TEXT:
        errors[name] = N_("must be at most %(count)d characters", count=MAX_TEXT)
    return text


def _entry(entry_id: Any) -> Deduction:
    entry = db.session.get(Deduction, record_id(entry_id) or 0)
    if entry is None:
        raise NotFound(N_("deduction %(id)s not found", id=entry_id))
    return entry


def record_finding(actor: User, butler_id: Any, code: Any, note: Any, ticket_id: Any = None,
                   occurred_at: Any = None, evidence: str | None = None) -> Deduction:
    """A supervisor records what the system cannot see (art. 5 no patrol, ...) or a bonus."""
    _require_supervisor(actor)
    assessment = current_rules().assessment
    now = clock.now()
    with _write():
        errors: dict[str, str] = {}
        butler = db.session.get(User, record_id(butler_id) or 0)
        if butler is None or butler.role != Role.BUTLER or not butler.active:
            errors["butler_id"] = N_("must be the id of an active butler")
        finding = assessment.findings.get(code) if isinstance(code, str) else None
        if finding is None:
            errors["code"] = N_("must be one of %(choices)s", choices=[
                Term(f.code, f.label) for f in assessment.findings.values()])
        note = _text(note, "note", errors)
        ticket = None
        if ticket_id not in (None, ""):
            ticket = db.session.get(Ticket, record_id(ticket_id) or 0)
            if ticket is None:
                errors["ticket_id"] = N_("no such ticket")
        when = now
        if occurred_at not in (None, ""):
            try:
                when = parse_time(occurred_at)
            except ValueError as exc:
                errors["occurred_at"] = exc.args[0]
            else:
                if when > now:
                    errors["occurred_at"] = N_("must not be in the future")
                elif now - when > FINDING_LOOKBACK:
                    errors["occurred_at"] = N_("must be within the last year")
        if errors:
            raise InvalidData(N_("the finding cannot be recorded as given"), errors)
        _refuse_if_closed(month_of(when))
        entry = Deduction(butler_id=butler.id, ticket_id=ticket.id if ticket else None,
                          points=finding.points, article=finding.article, finding_code=finding.code,
                          note=note, evidence=evidence, recorded_by_id=actor.id,
                          missed_at=when, recorded_at=now)
        db.session.add(entry)
    return entry


def appeal(actor: User, entry_id: Any, reason: Any) -> Appeal:
    """The butler a line is charged to asks for it to be waived, with a reason."""
    with _write():
        entry = _entry(entry_id)
        if actor.id != entry.butler_id:
            raise Forbidden(N_("only the butler a line is charged to may appeal it"))
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors)
        if errors:
            raise InvalidData(N_("an appeal needs a reason"), errors)
        if entry.points > 0:
            raise Conflict(N_("a bonus needs no appeal"))
        if entry.review is not None:
            raise Conflict(N_("this line was %(outcome)s already", outcome=Term(entry.review.outcome)))
        if entry.appeal is not None:
            raise Conflict(N_("this line has been appealed already"))
        if entry.held:
            raise Conflict(N_("this line is held for a supervisor's review: it does not count "
                              "unless they charge it"))
        _refuse_if_closed(month_of(entry.missed_at))
        made = Appeal(deduction_id=entry.id, butler_id=actor.id, reason=reason,
                      created_at=clock.now())
        db.session.add(made)
    return made


def review(actor: User, entry_id: Any, outcome: str, reason: Any) -> Review:
    """A supervisor waives a line (it stops counting, and stays visible) or upholds it."""
    _require_supervisor(actor)
    with _write():
        entry = _entry(entry_id)
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors)
        if errors:
            raise InvalidData(N_("a line is %(outcome)s with a reason", outcome=Term(outcome)), errors)
        if entry.review is not None:
            raise Conflict(N_("this line was %(outcome)s already", outcome=Term(entry.review.outcome)))
        _refuse_if_closed(month_of(entry.missed_at))
        made = Review(deduction_id=entry.id, supervisor_id=actor.id, outcome=outcome,
                      reason=reason, created_at=clock.now())
        db.session.add(made)
    return made


def waive(actor: User, entry_id: Any, reason: Any) -> Review:
    return review(actor, entry_id, ReviewOutcome.WAIVED, reason)


def uphold(actor: User, entry_id: Any, reason: Any) -> Review:
    return review(actor, entry_id, ReviewOutcome.UPHELD, reason)


def close_month(actor: User, month: Any, reason: Any = "") -> MonthClosing:
    """Freeze the month's scorecards as they stand."""
    _require_supervisor(actor)
    month = parse_month(month)
    with _write():
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors, required=False)
        if errors:
            raise InvalidData(N_("bad reason"), errors)
        if month >= current_month():
            raise Conflict(N_("%(month)s is not over yet; a month is closed after it ends", month=month))
        _refuse_if_closed(month)
        waiting = pending(month)
        if any(waiting.values()):
            raise Conflict(N_(
                "%(month)s cannot be closed while decisions are pending: %(appeals)d appeal(s), "
                "%(held)d line(s) held for review, %(calls)d spot-check call(s) to record",
                month=month, appeals=len(waiting["appeals"]), held=len(waiting["held"]),
                calls=len(waiting["spot_checks"])))
        cards = [card.__dict__ for card in live_scorecards(month)]
        made = MonthClosing(month=month, action=MonthAction.CLOSE, actor_id=actor.id,
                            reason=reason, at=clock.now(), scorecards=cards)
        db.session.add(made)
    return made


def reopen_month(actor: User, month: Any, reason: Any) -> MonthClosing:
    """Reopen a closed month; the reason is recorded with who and when."""
    _require_supervisor(actor)
    month = parse_month(month)
    with _write():
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors)
        if errors:
            raise InvalidData(N_("reopening a month needs a reason"), errors)
        if not is_closed(month):
            raise Conflict(N_("%(month)s is not closed", month=month))
        made = MonthClosing(month=month, action=MonthAction.REOPEN, actor_id=actor.id,
                            reason=reason, at=clock.now(), scorecards=None)
        db.session.add(made)
    return made


# -- spot-checks ------------------------------------------------------------------------------

def sample_size(population: int, share: float) -> int:
    """At least `share` of the population, rounded up, and at least one if there is any."""
    if population == 0:
        return 0
    return max(1, math.ceil(Fraction(str(share)) * population))


def spot_check_population(month: str) -> list[int]:
    """Ids of the complaints and repairs closed in the month, in id order."""
    start, end = queries.month_bounds(month, tz())
    kinds = list(current_rules().assessment.spot_check_findings)
    return list(db.session.scalars(
        select(Ticket.id).join(Event, Event.ticket_id == Ticket.id)
        .where(Ticket.kind.in_(kinds), Event.to_state == SPOT_CHECK_STATE,
               Event.from_state != SPOT_CHECK_STATE, Event.at >= start, Event.at < end)
        .distinct().order_by(Ticket.id)))


def spot_check(month: str) -> SpotCheck | None:
    return db.session.scalar(
        select(SpotCheck).where(SpotCheck.month == month)
        .options(selectinload(SpotCheck.items).joinedload(SpotCheckItem.ticket)
                 .joinedload(Ticket.assignee)))


def draw_spot_check(actor: User, month: Any) -> SpotCheck:
    """Draw the month's sample. The seed is stored, so anyone can redraw and get the same."""
    _require_supervisor(actor)
    month = parse_month(month)
    with _write():
        if month >= current_month():  # a sample drawn early would miss what closes later
            raise Conflict(N_("%(month)s is not over yet; its spot-check is drawn after it ends",
                              month=month))
        _refuse_if_closed(month)
        if spot_check(month) is not None:
            raise Conflict(N_("the spot-check of %(month)s has been drawn already", month=month))
        population = spot_check_population(month)
        size = sample_size(len(population), current_rules().assessment.spot_check_share)
        seed = secrets.randbits(32)
        drawn = SpotCheck(month=month, seed=seed, population_size=len(population),
                          sample_size=size, drawn_by_id=actor.id, drawn_at=clock.now())
        db.session.add(drawn)
        db.session.flush()
        for position, ticket_id in enumerate(random.Random(seed).sample(population, size)):
            db.session.add(SpotCheckItem(spot_check_id=drawn.id, position=position,
                                         ticket_id=ticket_id))
    return drawn


def record_spot_check_result(actor: User, item_id: Any, result: Any, note: Any = "",
                             make_finding: bool = False) -> SpotCheckItem:
    """The supervisor's follow-up call; an unsatisfied one may become a finding at once."""
    _require_supervisor(actor)
    with _write():
        item = db.session.get(SpotCheckItem, record_id(item_id) or 0)
        if item is None:
            raise NotFound(N_("spot-check item %(id)s not found", id=item_id))
        errors: dict[str, str] = {}
        if result not in tuple(SpotCheckResult):
            errors["result"] = N_("must be one of %(choices)s",
                                  choices=[Term(r) for r in SpotCheckResult])
        note = _text(note, "note", errors, required=make_finding)
        if make_finding and result != SpotCheckResult.UNSATISFIED:
            errors["make_finding"] = N_("only an unsatisfied follow-up becomes a finding")
        if errors:
            raise InvalidData(N_("the result cannot be recorded as given"), errors)
        if item.result is not None:
            raise Conflict(N_("this follow-up has been recorded already"))
        _refuse_if_closed(item.spot_check.month)
        now = clock.now()
        item.result, item.note, item.recorded_by_id, item.recorded_at = result, note, actor.id, now
        if make_finding:
            ticket = item.ticket
            if ticket.assignee_id is None:
                raise Conflict(N_("the ticket has no butler to record a finding against"))
            code = current_rules().assessment.spot_check_findings[ticket.kind]
            finding = current_rules().assessment.findings[code]
            # The finding counts in the month of the work checked: when the ticket was closed
            # in the month sampled (not a later closing after a reopen, in another month).
            start, end = queries.month_bounds(item.spot_check.month, tz())
            closed_at = db.session.scalar(
                select(Event.at).where(Event.ticket_id == ticket.id,
                                       Event.to_state == SPOT_CHECK_STATE,
                                       Event.at >= start, Event.at < end)
                .order_by(Event.at.desc()).limit(1))
            entry = Deduction(butler_id=ticket.assignee_id, ticket_id=ticket.id,
                              points=finding.points, article=finding.article, finding_code=code,
                              note=f"抽查回访不满意 Spot-check: resident unsatisfied. {note}",
                              recorded_by_id=actor.id, missed_at=closed_at or now,
                              recorded_at=now)
            db.session.add(entry)
            db.session.flush()
            item.finding_id = entry.id
    return item
