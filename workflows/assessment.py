"""The monthly assessment (考核): scorecards, findings, appeals, reviews, spot-checks, closing.

A butler's month starts at the full score; every line that counts adds its points (deductions are
negative, bonuses positive); a waived line stays on the card, marked, and no longer counts.
Months are calendar months in the property's time zone. A closed month's scorecards are frozen
(stored at closing) and refuse changes until a supervisor reopens the month with a reason.

The assessment is per estate: a line belongs to its ticket's estate (a finding to the estate the
supervisor picked), a month is closed and spot-checked per estate, and a butler has a card in each
estate they worked in. The company's admin reads the roll-up (`company`): each butler's line
across the estates, which is the sum of their estate cards.
"""
from __future__ import annotations

import math
import random
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from models import (
    Appeal,
    Area,
    AreaButler,
    Building,
    Deduction,
    Estate,
    Event,
    MonthAction,
    MonthClosing,
    Review,
    ReviewOutcome,
    Role,
    SpotCheck,
    SpotCheckItem,
    SpotCheckResult,
    Ticket,
    Unit,
    User,
    db,
)
from models.scoring import COUNTING
from models.transaction import write
from workflows import clock, estates, queries
from workflows.access import answered_for, estate_ids
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound, WorkflowError
from workflows.fields import MAX_TEXT, past_time, record_id
from workflows.rules import current as current_rules
from workflows.words import in_both, label, listing, term

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
FINDING_LOOKBACK = timedelta(days=366)


# -- months -----------------------------------------------------------------------------------

def tz() -> ZoneInfo:
    return current_app.config["TZ"]


def month_of(at: datetime) -> str:
    return at.astimezone(tz()).strftime("%Y-%m")


def current_month() -> str:
    return month_of(clock.now())


# Only the canonical spelling: months are keys (closings, spot-checks), so "2026- 1" or
# "2026-+1", which int() would read as January, must not become a second January.
_MONTH = re.compile(r"2[0-9]{3}-(0[1-9]|1[0-2])")


def parse_month(value: Any) -> str:
    """A month like 2026-11; raises InvalidData naming `month` otherwise."""
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        raise InvalidData(_l("bad month"), {"month": _l("must be a month like 2026-11")})
    return value


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants where a local calendar month (YYYY-MM, see parse_month) starts and ends."""
    year, mon = int(month[:4]), int(month[5:])
    start = datetime.combine(date(year, mon, 1), time(), tz())
    end = datetime.combine(date(year + mon // 12, mon % 12 + 1, 1), time(), tz())
    return start, end


def shift_month(month: str, delta: int) -> str | None:
    """The month `delta` months from `month` (None beyond the months there are)."""
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + delta
    shifted = f"{index // 12:04d}-{index % 12 + 1:02d}"
    return shifted if _MONTH.fullmatch(shifted) else None


def closing(month: str, estate_id: int | None = None) -> MonthClosing | None:
    """The latest close or reopen of the estate's month; it is closed if that is a close."""
    estate_id = the_estate(estate_id)
    return db.session.scalar(select(MonthClosing)
                             .where(MonthClosing.month == month,
                                    MonthClosing.estate_id == estate_id)
                             .order_by(MonthClosing.id.desc()).limit(1))


def is_closed(month: str, estate_id: int | None = None) -> bool:
    latest = closing(month, estate_id)
    return latest is not None and latest.action == MonthAction.CLOSE


def _closed(month: str) -> Conflict:
    return Conflict(_l("the assessment of %(month)s is closed; a supervisor must reopen it first",
                       month=month))


def _refuse_if_closed(month: str, estate_id: int) -> None:
    if is_closed(month, estate_id):
        raise _closed(month)


# -- estates ----------------------------------------------------------------------------------

def the_estate(estate_id: int | None) -> int:
    """`estate_id`, or when none is given the id of the only estate there is (a company of one
    estate needs to name none). LookupError when there is not exactly one."""
    if estate_id is not None:
        return estate_id
    only = db.session.scalars(select(Estate.id).limit(2)).all()
    if len(only) != 1:
        raise LookupError("an estate must be named: there is not exactly one")
    return only[0]


def line_estate():
    """SQL: the estate a line belongs to: a finding's own, else its ticket's (ticket → unit →
    building → area → estate)."""
    of_ticket = (select(Area.estate_id).join(Building, Building.area_id == Area.id)
                 .join(Unit, Unit.building_id == Building.id)
                 .join(Ticket, Ticket.unit_id == Unit.id)
                 .where(Ticket.id == Deduction.ticket_id).correlate(Deduction).scalar_subquery())
    return func.coalesce(Deduction.estate_id, of_ticket)


def estate_of(entry: Deduction) -> int | None:
    """`line_estate` of one line."""
    if entry.estate_id is not None or entry.ticket is None:
        return entry.estate_id
    return entry.ticket.unit.building.area.estate_id


def estates_of(actor: User) -> list[Estate]:
    """The estates whose assessment `actor` works on, by name: a supervisor's own, every one for
    the company's admin, none for anyone else."""
    return estates.every(actor) if actor.role in SUPERVISORS else []


def in_reach(actor: User, estate_id: int | None) -> bool:
    """Whether `actor` supervises the estate (the admin: every estate)."""
    if actor.role not in SUPERVISORS:
        return False
    theirs = estate_ids(actor)
    return theirs is None or estate_id in theirs


def _pick_estate(actor: User, estate_id: Any, errors: dict,
                 theirs: list[Estate] | None = None) -> Estate | None:
    """The estate `actor` names by id, one of theirs (`estates_of`, unless given; another's is
    no estate to them); none named: the only one they have. A mistake goes into `errors` under
    estate_id."""
    theirs = estates_of(actor) if theirs is None else theirs
    if estate_id in (None, ""):
        if len(theirs) == 1:
            return theirs[0]
        if theirs:
            errors["estate_id"] = _l("must be one of %(choices)s", choices=listing(
                f"{e.id} ({e.name})" for e in theirs))
        elif actor.role in SUPERVISORS:
            errors["estate_id"] = _l("you supervise no estate yet; the company's admin gives "
                                     "supervisors their estates")
        else:
            errors["estate_id"] = _l("there is no scorecard of this month to choose")
        return None
    wanted = record_id(estate_id)
    found = next((e for e in theirs if e.id == wanted), None)
    if found is None:
        errors["estate_id"] = _l("must be the id of an estate you supervise")
    return found


def estate_for(actor: User, estate_id: Any, theirs: list[Estate] | None = None) -> Estate:
    """`_pick_estate` for the views and the month's workflows: an estate that is not one of
    `actor`'s is not found (a supervisor never learns of another estate's month)."""
    errors: dict[str, Any] = {}
    found = _pick_estate(actor, estate_id, errors, theirs)
    if found is not None:
        return found
    if estate_id in (None, ""):
        raise InvalidData(_l("which estate?"), errors)
    if record_id(estate_id) is None:
        raise InvalidData(_l("which estate?"), {"estate_id": _l("must be an estate's id")})
    raise NotFound(_l("estate %(id)s not found", id=estate_id))


def _estate_json(estate: Estate) -> dict:
    return {"id": estate.id, "name": estate.name}


# -- scorecards -------------------------------------------------------------------------------

@dataclass
class Scorecard:
    butler: dict
    estate: dict      # {id, name}
    month: str
    score: int
    grade: dict
    deductions: int   # the sum of the negative lines that count
    bonuses: int      # the sum of the positive lines that count
    waived: int       # the points of waived lines (not counted)
    held: int         # the points of lines held for a supervisor's review (not counted yet)
    lines: list[dict]


def counts(entry: dict) -> bool:
    """Whether a scorecard line (as data: `line()`, or a frozen card's) counts in the score."""
    return entry["status"] in COUNTING


def line(entry: Deduction) -> dict:
    """A scorecard line as data: what, points, article, status, appeal and review."""
    rules = current_rules()
    finding = rules.assessment.findings.get(entry.finding_code) if entry.finding_code else None
    if entry.deadline is not None and entry.ticket is not None:
        kind = rules.kind(entry.ticket.kind)
        step = kind.deadlines[entry.deadline.name].label if entry.deadline.name in kind.deadlines \
            else {"en": entry.deadline.name, "zh": entry.deadline.name}
        what = in_both(lambda: _("Late: %(step)s (%(kind)s)", kind=label(kind.label),
                                 step=label(step)))
    elif entry.spot_check_item is not None and finding is not None:
        what = in_both(lambda: _("Spot-check, resident unsatisfied: %(finding)s",
                                 finding=label(finding.label)))
    else:
        what = finding.label if finding else {"en": entry.finding_code, "zh": entry.finding_code}
    status = entry.status
    return {
        "id": entry.id, "source": "finding" if entry.finding_code else "deadline",
        "butler_id": entry.butler_id, "butler": entry.butler.name if entry.butler else None,
        # A miss charged to a substitute names the butler on leave they covered for (顶岗).
        "covering_for": {"id": entry.covering_for.id, "name": entry.covering_for.name}
        if entry.covering_for else None,
        "finding_code": entry.finding_code,
        "deadline": entry.deadline.name if entry.deadline else None,
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


def _lines_query():
    """Lines with everything `line` reads, oldest first."""
    return (select(Deduction)
            .options(joinedload(Deduction.deadline), joinedload(Deduction.ticket),
                     joinedload(Deduction.recorded_by), joinedload(Deduction.butler),
                     joinedload(Deduction.covering_for),
                     selectinload(Deduction.appeal),
                     selectinload(Deduction.review).joinedload(Review.supervisor),
                     selectinload(Deduction.spot_check_item))
            .order_by(Deduction.missed_at, Deduction.id))


def _entries(start: datetime, end: datetime, estate_id: int,
             butler_id: int | None = None) -> list[Deduction]:
    query = _lines_query().where(Deduction.missed_at >= start, Deduction.missed_at < end,
                                 line_estate() == estate_id)
    if butler_id is not None:
        query = query.where(Deduction.butler_id == butler_id)
    return list(db.session.scalars(query).unique())


def undecided(actor: User | None = None) -> list[dict]:
    """Every line waiting for a supervisor's decision, in any month: appealed by its butler, or
    held for review (a miss due before its call was registered); oldest first, with its month.
    Given `actor`, only the lines of their estates."""
    query = (_lines_query().outerjoin(Appeal).outerjoin(Review)
             .where(Review.id.is_(None), or_(Appeal.id.is_not(None), Deduction.held)))
    if actor is not None and estate_ids(actor) is not None:
        query = query.where(line_estate().in_(estate_ids(actor)))
    return [{**line(e), "month": month_of(e.missed_at)}
            for e in db.session.scalars(query).unique()]


def butlers_of(estate_id: int, month: str) -> list[User]:
    """The active butlers assessed in an estate's month: those who answered for one of its areas
    during the month (its dated periods, or its butler now), and the relief butlers, who have no
    area and may cover in any estate."""
    start, end = month_bounds(month)
    periods = (select(AreaButler.butler_id).join(Area, Area.id == AreaButler.area_id)
               .where(Area.estate_id == estate_id, AreaButler.starts_at < end,
                      or_(AreaButler.ends_at.is_(None), AreaButler.ends_at > start)))
    now_theirs = select(Area.butler_id).where(Area.estate_id == estate_id)
    with_area = select(Area.butler_id).where(Area.butler_id.is_not(None))
    return list(db.session.scalars(
        select(User).where(User.role == Role.BUTLER, User.active,
                           or_(User.id.in_(periods), User.id.in_(now_theirs),
                               User.id.not_in(with_area)))
        .order_by(User.name)))


def live_scorecards(month: str, butler_id: int | None = None,
                    estate_id: int | None = None) -> list[Scorecard]:
    """The scorecards of the estate's butlers for the month as they stand now."""
    assessment = current_rules().assessment
    estate_id = the_estate(estate_id)
    start, end = month_bounds(month)
    entries = _entries(start, end, estate_id, butler_id)
    estate = _estate_json(db.session.get(Estate, estate_id))
    # The estate's butlers, and any other who has lines here this month (one who left, a
    # substitute from another estate).
    butlers = {b.id: b for b in butlers_of(estate_id, month) if butler_id in (None, b.id)}
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
            estate=estate, month=month, score=score, grade=assessment.grade(score).label,
            deductions=sum(p for p in counted if p < 0), bonuses=sum(p for p in counted if p > 0),
            waived=sum(e.points for e in lines[butler.id] if e.waived),
            held=sum(e.points for e in lines[butler.id] if e.held and e.review is None),
            lines=[line(e) for e in lines[butler.id]]))
    return sorted(cards, key=lambda c: (-c.score, c.butler["name"]))


def scorecards(month: str, butler_id: int | None = None,
               estate_id: int | None = None) -> tuple[list[dict], MonthClosing | None]:
    """The estate's scorecards of the month: frozen as closed, or live. Returns (cards, the
    closing if closed). With no estate: each butler's company line (`company`), never closed."""
    if estate_id is None:
        return [c for c in company(month)["butlers"]
                if butler_id in (None, c["butler"]["id"])], None
    latest = closing(month, estate_id)
    if latest is not None and latest.action == MonthAction.CLOSE:
        # Cards frozen before the assessment was per estate do not name theirs.
        estate = _estate_json(latest.estate)
        cards = [{**c, "estate": estate} for c in latest.scorecards
                 if butler_id in (None, c["butler"]["id"])]
        return cards, latest
    return [card.__dict__ for card in live_scorecards(month, butler_id, estate_id)], None


def card_estates(actor: User, butler_id: int, month: str) -> list[Estate]:
    """The estates where the butler has a card of the month that `actor` may read: any, for the
    butler themselves; a supervisor's own (the admin's: every one)."""
    readable = estates_of(actor) if actor.role in SUPERVISORS else estates.every()
    return [estate for estate in readable if scorecards(month, butler_id, estate.id)[0]]


def company_line(month: str, butler: dict, cards: list[dict]) -> dict:
    """A butler's line across the company: the full score plus every line that counts in each
    estate, i.e. their estate cards' points summed (each card's score less the full score)."""
    assessment = current_rules().assessment
    score = assessment.full_score + sum(c["score"] - assessment.full_score for c in cards)
    return {"butler": butler, "month": month, "score": score,
            "grade": assessment.grade(score).label,
            **{field: sum(c.get(field, 0) for c in cards)
               for field in ("deductions", "bonuses", "waived", "held")},
            "lines": [ln for c in cards for ln in c["lines"]],
            "estates": [{**c["estate"], "score": c["score"]} for c in cards]}


def _average(cards: list[dict]) -> float | None:
    return round(sum(c["score"] for c in cards) / len(cards), 1) if cards else None


def company(month: str) -> dict:
    """The company's roll-up of the month: every estate's cards (frozen where it is closed) and
    average, and every active butler's company line (`company_line`; a butler no estate
    assessed has the full score), best first."""
    estates, by_butler = [], {}
    for estate in db.session.scalars(select(Estate).order_by(Estate.name)):
        cards, closed = scorecards(month, estate_id=estate.id)
        estates.append({**_estate_json(estate), "closed": closed is not None,
                        "average": _average(cards), "scorecards": cards})
        for card in cards:
            by_butler.setdefault(card["butler"]["id"], (card["butler"], []))[1].append(card)
    for butler in queries.staff(Role.BUTLER):
        by_butler.setdefault(butler.id, ({"id": butler.id, "name": butler.name,
                                          "username": butler.username}, []))
    butlers = sorted((company_line(month, butler, cards) for butler, cards in by_butler.values()),
                     key=lambda c: (-c["score"], c["butler"]["name"]))
    return {"month": month, "estates": estates, "butlers": butlers, "average": _average(butlers)}


def company_of(actor: User, month: Any) -> dict:
    """`company` for the company's admin only."""
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("only the company's admin sees the company's roll-up"))
    return company(parse_month(month))


def pending(month: str, estate_id: int | None = None) -> dict[str, list]:
    """What waits for a supervisor's decision in the estate's month, which keeps it from being
    closed: appealed lines, lines held for review, the spot-check not drawn (when there is closed
    work to draw from) and its calls not yet recorded."""
    start, end = month_bounds(month)
    estate_id = the_estate(estate_id)
    entries = [e for e in _entries(start, end, estate_id) if e.review is None]
    drawn = spot_check(month, estate_id)
    return {"appeals": [line(e) for e in entries if e.appeal is not None],
            "held": [line(e) for e in entries if e.held],
            "undrawn": [month] if drawn is None and _anything_to_draw(month, estate_id) else [],
            "spot_checks": [item for item in drawn.items if item.result is None] if drawn else []}


def entries_after_closing(month: str, closed: MonthClosing) -> list[dict]:
    """Lines of a closed month that are not on its frozen cards (a sweep after downtime, say)."""
    start, end = month_bounds(month)
    frozen = {ln["id"] for card in closed.scorecards for ln in card["lines"]}
    return [line(e) for e in _entries(start, end, closed.estate_id) if e.id not in frozen]


# -- writing ----------------------------------------------------------------------------------

@contextmanager
def _write():
    """One write transaction; a unique key that says "done already" becomes a 409."""
    try:
        with write():
            yield
    except IntegrityError:
        raise Conflict(_l("this was recorded by someone else a moment ago; reload")) from None


def _require_supervisor(actor: User) -> None:
    if actor.role not in SUPERVISORS:
        raise Forbidden(_l("only a supervisor may do this"))


def _text(value: Any, name: str, errors: dict, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        errors[name] = _l("must be text")
    elif required and not text:
        errors[name] = _l("is required")
    elif len(text) > MAX_TEXT:
        errors[name] = _l("must be at most %(count)d characters", count=MAX_TEXT)
    return text


def _entry(entry_id: Any) -> Deduction:
    entry = db.session.get(Deduction, record_id(entry_id) or 0)
    if entry is None:
        raise NotFound(_l("deduction %(id)s not found", id=entry_id))
    return entry


def record_finding(actor: User, butler_id: Any, code: Any, note: Any, ticket_id: Any = None,
                   occurred_at: Any = None, evidence: str | None = None,
                   estate_id: Any = None) -> Deduction:
    """A supervisor records what the system cannot see (art. 5 no patrol, ...) or a bonus, in
    one of their estates (the ticket's, citing one; none named: their only one)."""
    _require_supervisor(actor)
    assessment = current_rules().assessment
    now = clock.now()
    with _write():
        errors: dict[str, str] = {}
        butler = db.session.get(User, record_id(butler_id) or 0)
        if butler is None or butler.role != Role.BUTLER or not butler.active:
            errors["butler_id"] = _l("must be the id of an active butler")
        finding = assessment.findings.get(code) if isinstance(code, str) else None
        if finding is None:
            errors["code"] = _l("must be one of %(choices)s", choices=listing([
                term(f.code, f.label) for f in assessment.findings.values()]))
        note = _text(note, "note", errors)
        ticket = None
        if ticket_id not in (None, ""):
            ticket = db.session.get(Ticket, record_id(ticket_id) or 0)
            if ticket is None or not in_reach(actor, ticket.unit.building.area.estate_id):
                errors["ticket_id"] = _l("no such ticket")
                ticket = None
        estate = _finding_estate(actor, estate_id, ticket, errors)
        when = past_time(occurred_at, now, FINDING_LOOKBACK,
                         _l("must be within the last year"), "occurred_at", errors) or now
        if ticket is not None and "occurred_at" not in errors and when < ticket.reported_at:
            errors["occurred_at"] = _l("must not be before ticket %(id)s was reported",
                                       id=ticket.id)
        elif ticket is not None and "butler_id" not in errors \
                and not answered_for(butler.id, ticket, when):
            errors["ticket_id"] = _l("ticket %(id)s is not one %(name)s answered for (another "
                                     "area's, or another butler's)", id=ticket.id,
                                     name=butler.name)
        if errors:
            raise InvalidData(_l("the finding cannot be recorded as given"), errors)
        _refuse_if_closed(month_of(when), estate.id)
        entry = Deduction(butler_id=butler.id, ticket_id=ticket.id if ticket else None,
                          estate_id=estate.id,
                          points=finding.points, article=finding.article, finding_code=finding.code,
                          note=note, evidence=evidence, recorded_by_id=actor.id,
                          missed_at=when, recorded_at=now)
        db.session.add(entry)
    return entry


def _finding_estate(actor: User, estate_id: Any, ticket: Ticket | None,
                    errors: dict) -> Estate | None:
    """A finding's estate: its ticket's (an estate named besides must be that one), else the
    one picked."""
    if ticket is None:
        return _pick_estate(actor, estate_id, errors)
    estate = ticket.unit.building.area.estate
    if estate_id not in (None, "") and record_id(estate_id) != estate.id:
        errors["estate_id"] = _l("must be the estate of ticket %(id)s (%(estate)s)",
                                 id=ticket.id, estate=estate.name)
    return estate


APPEAL, WAIVE, UPHOLD = "appeal", "waive", "uphold"
DECIDING = {ReviewOutcome.WAIVED: WAIVE, ReviewOutcome.UPHELD: UPHOLD}
LINE_ACTIONS = (APPEAL, WAIVE, UPHOLD)


def refusal(actor: User, entry: dict, action: str, closed: bool) -> WorkflowError | None:
    """Why `actor` may not `action` (appeal, waive, uphold) a line now, or None when they may.
    The workflow refuses by it, and the pages offer a line's forms by it. `entry` is the line
    as data (`line()`); `closed`: its month is closed."""
    if action == APPEAL:
        if actor.id != entry["butler_id"]:
            return Forbidden(_l("only the butler a line is charged to may appeal it"))
    elif actor.role not in SUPERVISORS:
        return Forbidden(_l("only a supervisor may do this"))
    if entry["review"] is not None:
        return Conflict(_l("this line was %(outcome)s already",
                           outcome=term(entry["review"]["outcome"])))
    if action == APPEAL:
        if entry["points"] > 0:
            return Conflict(_l("a bonus needs no appeal"))
        if entry["appeal"] is not None:
            return Conflict(_l("this line has been appealed already"))
        if entry["held"]:
            return Conflict(_l("this line is held for a supervisor's review: it does not count "
                               "unless they charge it"))
    elif action == UPHOLD and entry["points"] > 0:
        return Conflict(_l("a bonus counts as it is; it can only be waived"))
    elif action == UPHOLD and entry["appeal"] is None and not entry["held"]:
        return Conflict(_l("this line counts as it is: only an appealed or held line is upheld"))
    if closed:
        return _closed(month_of(datetime.fromisoformat(entry["missed_at"])))
    return None


def actions(actor: User, entry: dict, closed: bool) -> list[str]:
    """What `actor` may do to a line now: some of appeal, waive, uphold."""
    return [action for action in LINE_ACTIONS if refusal(actor, entry, action, closed) is None]


def _decide(actor: User, entry_id: Any, action: str, reason: Any, refused_reason):
    """The checks every decision on a line makes: who, the reason given, what the line allows."""
    entry = _entry(entry_id)
    estate_id = estate_of(entry)
    if actor.role in SUPERVISORS and not in_reach(actor, estate_id):
        raise NotFound(_l("deduction %(id)s not found", id=entry_id))
    refused = refusal(actor, line(entry), action, is_closed(month_of(entry.missed_at), estate_id))
    if isinstance(refused, Forbidden):
        raise refused
    errors: dict[str, Any] = {}
    reason = _text(reason, "reason", errors)
    if errors:
        raise InvalidData(refused_reason, errors)
    if refused is not None:
        raise refused
    return entry, reason


def appeal(actor: User, entry_id: Any, reason: Any) -> Appeal:
    """The butler a line is charged to asks for it to be waived, with a reason."""
    with _write():
        entry, reason = _decide(actor, entry_id, APPEAL, reason, _l("an appeal needs a reason"))
        made = Appeal(deduction_id=entry.id, butler_id=actor.id, reason=reason,
                      created_at=clock.now())
        db.session.add(made)
    return made


def review(actor: User, entry_id: Any, outcome: str, reason: Any) -> Review:
    """A supervisor waives a line (it stops counting, and stays visible) or upholds it."""
    with _write():
        return record_review(actor, entry_id, outcome, reason)


def record_review(actor: User, entry_id: Any, outcome: str, reason: Any) -> Review:
    """`review` inside the caller's write(): an approved extension waives the miss it makes
    moot (workflows.extensions), with the same checks (a closed month refuses it)."""
    entry, reason = _decide(actor, entry_id, DECIDING[outcome], reason,
                            _l("a line is %(outcome)s with a reason", outcome=term(outcome)))
    made = Review(deduction_id=entry.id, supervisor_id=actor.id, outcome=outcome,
                  reason=reason, created_at=clock.now())
    db.session.add(made)
    db.session.flush()
    return made


def waive(actor: User, entry_id: Any, reason: Any) -> Review:
    return review(actor, entry_id, ReviewOutcome.WAIVED, reason)


def uphold(actor: User, entry_id: Any, reason: Any) -> Review:
    return review(actor, entry_id, ReviewOutcome.UPHELD, reason)


def close_month(actor: User, month: Any, reason: Any = "", estate_id: Any = None) -> MonthClosing:
    """Freeze the estate's scorecards of the month as they stand (its lines only: the other
    estates' months stay as they are)."""
    _require_supervisor(actor)
    month = parse_month(month)
    estate = estate_for(actor, estate_id)
    with _write():
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors, required=False)
        if errors:
            raise InvalidData(_l("bad reason"), errors)
        if month >= current_month():
            raise Conflict(_l("%(month)s is not over yet; a month is closed after it ends",
                              month=month))
        _refuse_if_closed(month, estate.id)
        waiting = pending(month, estate.id)
        if any(waiting.values()):
            raise Conflict(_l(
                "%(month)s cannot be closed while decisions are pending: %(appeals)d appeal(s), "
                "%(held)d line(s) held for review, %(calls)d spot-check call(s) to record%(draw)s",
                month=month, appeals=len(waiting["appeals"]), held=len(waiting["held"]),
                calls=len(waiting["spot_checks"]),
                draw=_l(", and the spot-check to draw") if waiting["undrawn"] else ""))
        cards = [card.__dict__ for card in live_scorecards(month, estate_id=estate.id)]
        made = MonthClosing(month=month, estate_id=estate.id, action=MonthAction.CLOSE,
                            actor_id=actor.id,
                            reason=reason, at=clock.now(), scorecards=cards)
        db.session.add(made)
    return made


def reopen_month(actor: User, month: Any, reason: Any, estate_id: Any = None) -> MonthClosing:
    """Reopen an estate's closed month; the reason is recorded with who and when."""
    _require_supervisor(actor)
    month = parse_month(month)
    estate = estate_for(actor, estate_id)
    with _write():
        errors: dict[str, str] = {}
        reason = _text(reason, "reason", errors)
        if errors:
            raise InvalidData(_l("reopening a month needs a reason"), errors)
        if not is_closed(month, estate.id):
            raise Conflict(_l("%(month)s is not closed", month=month))
        made = MonthClosing(month=month, estate_id=estate.id, action=MonthAction.REOPEN,
                            actor_id=actor.id,
                            reason=reason, at=clock.now(), scorecards=None)
        db.session.add(made)
    return made


# -- spot-checks ------------------------------------------------------------------------------

def sample_size(population: int, share: float) -> int:
    """At least `share` of the population, rounded up, and at least one if there is any."""
    if population == 0:
        return 0
    return max(1, math.ceil(Fraction(str(share)) * population))


def _entered_in(month: str, estate_id: int):
    """Events by which a ticket of the estate, of a spot-checked kind, entered one of its kind's
    spot-check states (closed, for a repair or a complaint) within the month."""
    start, end = month_bounds(month)
    units = (select(Unit.id).join(Building).join(Area).where(Area.estate_id == estate_id)
             .scalar_subquery())
    by_kind = [and_(Ticket.kind == kind, Event.to_state.in_(spot.states),
                    Event.from_state.not_in(spot.states))
               for kind, spot in current_rules().spot_checked.items()]
    return and_(Event.ticket_id == Ticket.id, or_(*by_kind) if by_kind else false(),
                Event.at >= start, Event.at < end, Ticket.unit_id.in_(units))


def spot_check_population(month: str, estate_id: int | None = None) -> list[int]:
    """Ids of the estate's tickets finished in the month that its spot-check draws from, in id
    order."""
    return list(db.session.scalars(
        select(Ticket.id).join(Event, _entered_in(month, the_estate(estate_id))).distinct()
        .order_by(Ticket.id)))


def _anything_to_draw(month: str, estate_id: int) -> bool:
    """Whether the month has a ticket to draw from (the first found is enough: at a million
    tickets the whole population takes seconds)."""
    return db.session.scalar(select(Event.ticket_id)
                             .join(Ticket, _entered_in(month, estate_id)).limit(1)) is not None


def spot_check(month: str, estate_id: int | None = None) -> SpotCheck | None:
    return db.session.scalar(
        select(SpotCheck).where(SpotCheck.month == month,
                                SpotCheck.estate_id == the_estate(estate_id))
        .options(selectinload(SpotCheck.items).joinedload(SpotCheckItem.ticket)
                 .joinedload(Ticket.assignee)))


def draw_spot_check(actor: User, month: Any, estate_id: Any = None) -> SpotCheck:
    """Draw the estate's sample of the month. The seed is stored, so anyone can redraw and get
    the same."""
    _require_supervisor(actor)
    month = parse_month(month)
    estate = estate_for(actor, estate_id)
    with _write():
        if month >= current_month():  # a sample drawn early would miss what closes later
            raise Conflict(_l("%(month)s is not over yet; its spot-check is drawn after it ends",
                              month=month))
        _refuse_if_closed(month, estate.id)
        if spot_check(month, estate.id) is not None:
            raise Conflict(_l("the spot-check of %(month)s has been drawn already", month=month))
        population = spot_check_population(month, estate.id)
        size = sample_size(len(population), current_rules().assessment.spot_check_share)
        seed = secrets.randbits(32)
        drawn = SpotCheck(estate_id=estate.id, month=month, seed=seed,
                          population_size=len(population), sample_size=size,
                          drawn_by_id=actor.id, drawn_at=clock.now())
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
        if item is None or not in_reach(actor, item.spot_check.estate_id):
            raise NotFound(_l("spot-check item %(id)s not found", id=item_id))
        errors: dict[str, str] = {}
        if result not in tuple(SpotCheckResult):
            errors["result"] = _l("must be one of %(choices)s",
                                  choices=listing(term(r) for r in SpotCheckResult))
        note = _text(note, "note", errors, required=make_finding)
        if make_finding and result != SpotCheckResult.UNSATISFIED:
            errors["make_finding"] = _l("only an unsatisfied follow-up becomes a finding")
        if errors:
            raise InvalidData(_l("the result cannot be recorded as given"), errors)
        if item.result is not None:
            raise Conflict(_l("this follow-up has been recorded already"))
        checked = item.spot_check
        _refuse_if_closed(checked.month, checked.estate_id)
        now = clock.now()
        item.result, item.note, item.recorded_by_id, item.recorded_at = result, note, actor.id, now
        if make_finding:
            ticket = item.ticket
            if ticket.assignee_id is None:
                raise Conflict(_l("the ticket has no butler to record a finding against"))
            code = current_rules().kind(ticket.kind).spot_check.finding
            finding = current_rules().assessment.findings[code]
            # The finding counts in the month of the work checked: when the ticket was finished
            # in the month sampled (not a later closing after a reopen, in another month).
            finished_at = db.session.scalar(
                select(Event.at).join(Ticket, _entered_in(checked.month, checked.estate_id))
                .where(Ticket.id == ticket.id).order_by(Event.at.desc()).limit(1))
            entry = Deduction(butler_id=ticket.assignee_id, ticket_id=ticket.id,
                              estate_id=checked.estate_id, points=finding.points,
                              article=finding.article, finding_code=code, note=note,
                              recorded_by_id=actor.id, missed_at=finished_at or now,
                              recorded_at=now)
            db.session.add(entry)
            db.session.flush()
            item.finding_id = entry.id
    return item
