"""The monthly assessment (考核, issue 4): scorecards, findings, appeals, waivers, closing,
spot-checks.

Tested twice over: through workflows.assessment (the logic) and through the JSON API (the same
rules as a client meets them: status codes, the error format, who may do what).

- Months are calendar months in Asia/Shanghai: a miss at 23:59 local on the last day belongs to
  that month, one at 00:00 local on the 1st to the next.
- A butler's score is 100 plus every line that counts (deductions negative, bonuses positive);
  grades 90+ 优秀, 70+ 良好, 50+ 合格, below 待改进.
- Nothing is silently changed: a waiver is a review that leaves the line visible; a closed month
  reads from the snapshot taken at closing and refuses changes until reopened with a reason.
- Spot-checks draw at least 5% (rounded up, at least one) of the month's closed complaints and
  repairs, reproducibly from the stored seed, and only once the month is over (tests that draw
  November first move the clock into December).
- A finding is recorded against an active butler, at most a year back.
- Months are read only as written canonically (2xxx-01 .. 2xxx-12): "2026- 1" is no January.

API tests never share an application context with the client: database work runs in its own
`with app.app_context()` block, and tokens are written straight into the database.
"""
from __future__ import annotations

import csv
import io
import random
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from models import Appeal, Deduction, MonthClosing, SpotCheck, SpotCheckItem, db
from tests.api import token_for
from tests.conftest import T0, Desk
from workflows import assessment, sweeper
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound

API = "/api/v1"
OCTOBER, NOVEMBER, DECEMBER = "2026-10", "2026-11", "2026-12"
# 23:59 on 30 November and 00:00 on 1 December in Shanghai (UTC+8), as UTC.
LAST_MINUTE_OF_NOVEMBER = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)
MIDNIGHT_STARTING_DECEMBER = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
EARLY_DECEMBER = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 09:00 local, 2 December
IN_OCTOBER = "2026-10-20T10:00:00+08:00"
SHANGHAI = ZoneInfo("Asia/Shanghai")

EXCELLENT = {"en": "Excellent", "zh": "优秀"}
GOOD = {"en": "Good", "zh": "良好"}
PASS = {"en": "Pass", "zh": "合格"}
NEEDS_IMPROVEMENT = {"en": "Needs improvement", "zh": "待改进"}


# The only estate of the suite's database, as the API names it.
GARDEN = {"id": 1, "name": "Garden"}


# -- helpers: the database side ------------------------------------------------------------------

def garden() -> int:
    return assessment.the_estate(None)


def walk_to_closed(desk: Desk, estate, ticket_id: int, kind: str,
                   butler: str = "butler", resident: str = "resident") -> int:
    """Move a new ticket along its happy path to `closed`, with no clock moving."""
    steps = {
        "repair": [("dispatch", butler, {"technician_id": estate.technician}),
                   ("arrive", "technician", {}), ("complete", "technician", {}),
                   ("visit", butler, {"rating": 5}), ("close", butler, {})],
        "complaint": [("accept", butler, {}), ("reply", butler, {"note": "Lift serviced Tuesday"}),
                      ("confirm", resident, {}), ("visit", butler, {"rating": 4}),
                      ("close", butler, {})],
        "renovation": [("approve", butler, {}), ("start_works", resident, {}),
                       ("request_acceptance", resident, {}), ("accept_works", butler, {}),
                       ("close", butler, {})],
    }[kind]
    for trigger, who, data in steps:
        desk.fire(ticket_id, trigger, who, **data)
    return ticket_id


def closed_ticket(desk: Desk, estate, kind: str = "repair", resident: str = "resident",
                  butler: str = "butler", title: str = "Tap leaking") -> int:
    ticket = desk.open(resident, kind, title)
    return walk_to_closed(desk, estate, ticket.id, kind, butler, resident)


def closed_tickets(desk: Desk, estate, count: int) -> list[int]:
    """`count` closed tickets, repairs and complaints in turn."""
    return [closed_ticket(desk, estate, ("repair", "complaint")[n % 2], title=f"Ticket {n}")
            for n in range(count)]


def missed_arrival(desk: Desk, clock, who: str = "resident") -> int:
    """A repair whose on-site deadline passes unmet: one -2 (art. 4) line for the area's butler."""
    desk.open(who, "repair", "Tap leaking")
    clock.shift(timedelta(minutes=25))
    assert sweeper.sweep() == 1
    return db.session.scalar(select(func.max(Deduction.id)))


def repair_due_at(desk: Desk, clock, due: datetime, who: str = "resident") -> int:
    """A repair called in 20 minutes before `due`, so its on-site deadline falls due then."""
    clock.move_to(due - timedelta(minutes=20))
    return desk.open(who, "repair", "Tap leaking").id


def finding(estate, butler: str, code: str, note: str = "Seen on patrol", **kwargs) -> Deduction:
    return assessment.record_finding(estate.user("supervisor"), getattr(estate, butler), code,
                                     note, **kwargs)


def card_of(cards, butler_id: int) -> dict:
    """The card of one butler from a list of cards (dicts, or Scorecard objects)."""
    cards = [c if isinstance(c, dict) else c.__dict__ for c in cards]
    [card] = [c for c in cards if c["butler"]["id"] == butler_id]
    return card


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# -- helpers: the API side -----------------------------------------------------------------------

def get(client, who: str, path: str, **params):
    return client.get(API + path, headers=token_for(client, who), query_string=params)


def post(client, who: str, path: str, json=None):
    return client.post(API + path, headers=token_for(client, who),
                       json={} if json is None else json)


def ok(reply, status: int = 200) -> dict:
    assert reply.status_code == status, (reply.status_code, reply.get_data(as_text=True)[:500])
    return reply.json


def assert_error(reply, status: int, code: str | None = None, field: str | None = None) -> dict:
    """The reply is the API's JSON error with this status (and code, and a message for field)."""
    assert reply.status_code == status, (reply.status_code, reply.get_data(as_text=True)[:500])
    assert reply.is_json, reply.get_data(as_text=True)[:200]
    err = reply.json["error"]
    assert set(err) == {"code", "message", "fields"}
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code
    if field is not None:
        assert err["fields"].get(field), err
    return err


@contextmanager
def database(app, estate):
    """A Desk in an application context of its own, never shared with the client's requests."""
    with app.app_context():
        yield Desk(estate)


def scorecard(client, month: str, butler_id: int, who: str = "supervisor") -> dict:
    return card_of(ok(get(client, who, "/scorecards", month=month))["scorecards"], butler_id)


# -- months in Asia/Shanghai ---------------------------------------------------------------------

@pytest.mark.parametrize("moment, month", [
    (datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), NOVEMBER),
    (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), DECEMBER),
    (datetime(2026, 10, 31, 16, 0, tzinfo=UTC), NOVEMBER),
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "2027-01"),
])
def test_month_of_is_the_calendar_month_in_shanghai(ctx, moment, month):
    assert assessment.month_of(moment) == month


def test_current_month_follows_the_local_calendar(ctx, clock):
    assert assessment.current_month() == NOVEMBER
    clock.move_to(MIDNIGHT_STARTING_DECEMBER - timedelta(seconds=1))
    assert assessment.current_month() == NOVEMBER
    clock.move_to(MIDNIGHT_STARTING_DECEMBER)
    assert assessment.current_month() == DECEMBER


def test_a_miss_at_2359_local_on_the_last_day_counts_in_that_month(desk, estate, clock):
    late = repair_due_at(desk, clock, LAST_MINUTE_OF_NOVEMBER)
    midnight = repair_due_at(desk, clock, MIDNIGHT_STARTING_DECEMBER, who="neighbour")
    clock.move_to(MIDNIGHT_STARTING_DECEMBER + timedelta(minutes=5))
    assert sweeper.sweep() == 2

    november = card_of(assessment.live_scorecards(NOVEMBER), estate.butler)
    december = card_of(assessment.live_scorecards(DECEMBER), estate.butler)

    assert [(line["ticket_id"], line["missed_at"]) for line in november["lines"]] == [
        (late, LAST_MINUTE_OF_NOVEMBER.isoformat())]
    assert [(line["ticket_id"], line["missed_at"]) for line in december["lines"]] == [
        (midnight, MIDNIGHT_STARTING_DECEMBER.isoformat())]
    assert november["score"] == december["score"] == 98


def test_the_api_puts_a_2359_miss_in_its_month_and_a_midnight_miss_in_the_next(
        app, client, estate, clock):
    with database(app, estate) as desk:
        late = repair_due_at(desk, clock, LAST_MINUTE_OF_NOVEMBER)
        midnight = repair_due_at(desk, clock, MIDNIGHT_STARTING_DECEMBER, who="neighbour")
        clock.move_to(MIDNIGHT_STARTING_DECEMBER + timedelta(minutes=5))
        assert sweeper.sweep() == 2

    for month, ticket_id in ((NOVEMBER, late), (DECEMBER, midnight)):
        listed = ok(get(client, "supervisor", "/deductions", month=month))
        assert [d["ticket"]["id"] for d in listed["deductions"]] == [ticket_id]
        assert listed["total_points"] == -2
        card = scorecard(client, month, estate.butler)
        assert [line["ticket_id"] for line in card["lines"]] == [ticket_id]
        assert (card["score"], card["deductions"]) == (98, -2)
    assert ok(get(client, "supervisor", "/deductions", month=OCTOBER))["deductions"] == []


@pytest.mark.parametrize("occurred_at, month", [
    ("2026-10-31T23:59:00+08:00", OCTOBER),
    ("2026-10-31T15:59:59Z", OCTOBER),
    ("2026-11-01T00:00:00+08:00", NOVEMBER),
    ("2026-10-31T23:59:00", OCTOBER),  # no offset: the property's wall-clock time
    ("2026-11-01T00:00:00", NOVEMBER),
])
def test_a_findings_occurred_at_decides_its_month(app, client, estate, clock, occurred_at, month):
    made = ok(post(client, "supervisor", "/findings", {
        "butler_id": estate.butler, "code": "10", "note": "Complaint not recorded",
        "occurred_at": occurred_at}), 201)

    other = NOVEMBER if month == OCTOBER else OCTOBER
    assert [line["id"] for line in scorecard(client, month, estate.butler)["lines"]] == [made["id"]]
    assert scorecard(client, month, estate.butler)["score"] == 95
    assert scorecard(client, other, estate.butler)["score"] == 100


# -- scorecards ----------------------------------------------------------------------------------

def test_every_active_butler_has_a_clean_card_of_100(app, client, estate, clock):
    reply = ok(get(client, "supervisor", "/scorecards", month=NOVEMBER))

    assert (reply["month"], reply["closed"], reply["closing"]) == (NOVEMBER, False, None)
    assert sorted(c["butler"]["username"] for c in reply["scorecards"]) == [
        "butler", "other_butler", "relief_butler"]
    for card in reply["scorecards"]:
        assert (card["score"], card["grade"], card["deductions"], card["bonuses"], card["waived"],
                card["lines"]) == (100, EXCELLENT, 0, 0, 0, [])


def test_without_a_month_the_scorecards_are_the_current_months(app, client, estate, clock):
    assert ok(get(client, "supervisor", "/scorecards"))["month"] == NOVEMBER


@pytest.mark.parametrize("codes, score, grade", [
    ([], 100, EXCELLENT),
    (["10", "10"], 90, EXCELLENT),
    (["10", "10", "14"], 89, GOOD),
    (["10"] * 6, 70, GOOD),
    (["10"] * 6 + ["14"], 69, PASS),
    (["10"] * 10, 50, PASS),
    (["10"] * 10 + ["14"], 49, NEEDS_IMPROVEMENT),
    (["10"] * 10 + ["14", "3-bonus"], 54, PASS),
    (["10", "10", "14", "3-bonus"], 94, EXCELLENT),
])
def test_the_score_and_grade_follow_the_points_of_the_lines(ctx, estate, clock, codes, score,
                                                            grade):
    for code in codes:
        finding(estate, "butler", code)

    card = card_of(assessment.live_scorecards(NOVEMBER), estate.butler)

    assert (card["score"], card["grade"]) == (score, grade)
    points = [line["points"] for line in card["lines"]]
    assert card["score"] == 100 + sum(points)
    assert card["deductions"] == sum(p for p in points if p < 0)
    assert card["bonuses"] == sum(p for p in points if p > 0)
    assert card_of(assessment.live_scorecards(NOVEMBER), estate.other_butler)["score"] == 100


def test_a_bonus_raises_the_score(ctx, estate, clock):
    finding(estate, "butler", "10")
    assert card_of(assessment.live_scorecards(NOVEMBER), estate.butler)["score"] == 95
    finding(estate, "butler", "3-bonus", note="Sold a deep-clean package to 1栋101")

    card = card_of(assessment.live_scorecards(NOVEMBER), estate.butler)
    assert (card["score"], card["deductions"], card["bonuses"]) == (100, -5, 5)
    assert [(line["finding_code"], line["points"], line["article"]) for line in card["lines"]] == [
        ("10", -5, 10), ("3-bonus", 5, 3)]


def test_a_card_adds_deadline_misses_findings_and_bonuses_and_leaves_out_waived_lines(
        desk, estate, clock):
    missed = missed_arrival(desk, clock)
    complaint = finding(estate, "butler", "10")
    bonus = finding(estate, "butler", "3-bonus")
    waived = finding(estate, "butler", "5")
    assessment.waive(estate.user("supervisor"), waived.id, "Patrol was logged on paper")

    card = card_of(assessment.live_scorecards(NOVEMBER), estate.butler)

    assert (card["score"], card["deductions"], card["bonuses"], card["waived"]) == (98, -7, 5, -2)
    assert [(line["id"], line["source"], line["points"], line["status"])
            for line in card["lines"]] == [
        (missed, "deadline", -2, "counted"), (complaint.id, "finding", -5, "counted"),
        (bonus.id, "finding", 5, "counted"), (waived.id, "finding", -2, "waived")]
    deadline_line = card["lines"][0]
    assert (deadline_line["deadline"], deadline_line["article"], deadline_line["what"]) == (
        "on_site", 4, {"en": "Late: Arrival on site (Repair)", "zh": "报修到场超时"})
    assert {(line["butler_id"], line["butler"]) for line in card["lines"]} == {
        (estate.butler, "Butler")}


def test_a_missed_deadline_reads_as_the_kind_and_step_that_were_late(
        app, client, estate, clock):
    with database(app, estate) as desk:
        repair = desk.open("resident", "repair", "Tap leaking").id
        complaint = desk.open("resident", "complaint", "Noise at night").id
        bonus = finding(estate, "other_butler", "3-bonus").id
        clock.shift(timedelta(hours=49))
        assert sweeper.sweep() == 3  # on site, completion, the complaint's reply

    lines = scorecard(client, NOVEMBER, estate.butler)["lines"]

    assert sorted((line["ticket_id"], line["deadline"], line["what"]["en"], line["what"]["zh"])
                  for line in lines) == [
        (repair, "completion", "Late: Completion (Repair)", "报修完工超时"),
        (repair, "on_site", "Late: Arrival on site (Repair)", "报修到场超时"),
        (complaint, "reply", "Late: Reply with a solution (Complaint)", "投诉答复超时")]
    assert {(line["butler_id"], line["butler"]) for line in lines} == {(estate.butler, "Butler")}
    # A finding keeps its label from the catalog, and says whose it is too.
    [made] = scorecard(client, NOVEMBER, estate.other_butler)["lines"]
    assert (made["id"], made["what"]) == (bonus, {"en": "A special paid service sold",
                                                  "zh": "做成一笔特约服务"})
    assert (made["butler_id"], made["butler"]) == (estate.other_butler, "Other_Butler")


def test_cards_are_sorted_by_score_then_name(ctx, estate, clock):
    finding(estate, "butler", "10")
    finding(estate, "relief_butler", "14")

    cards = assessment.live_scorecards(NOVEMBER)
    assert [(c.butler["username"], c.score) for c in cards] == [
        ("other_butler", 100), ("relief_butler", 99), ("butler", 95)]


def test_a_butler_sees_only_their_own_card(app, client, estate, clock):
    with database(app, estate):
        finding(estate, "butler", "10")
        finding(estate, "other_butler", "5")

    own = ok(get(client, "butler", "/scorecards", month=NOVEMBER))["scorecards"]
    assert [(c["butler"]["id"], c["score"]) for c in own] == [(estate.butler, 95)]
    asked = ok(get(client, "butler", "/scorecards", month=NOVEMBER, butler_id=estate.butler))
    assert asked["scorecards"] == own
    assert_error(get(client, "butler", "/scorecards", butler_id=estate.other_butler), 403,
                 "forbidden")


@pytest.mark.parametrize("who", ["resident", "technician"])
def test_residents_and_technicians_see_no_scorecards(app, client, estate, clock, who):
    assert_error(get(client, who, "/scorecards", month=NOVEMBER), 403, "forbidden")
    assert_error(get(client, who, "/scorecards", butler_id=estate.butler), 403, "forbidden")


def test_a_supervisor_may_ask_for_one_butlers_card(app, client, estate, clock):
    cards = ok(get(client, "supervisor", "/scorecards",
                   butler_id=estate.other_butler))["scorecards"]
    assert [c["butler"]["id"] for c in cards] == [estate.other_butler]


def test_the_catalog_is_served_as_loaded_from_the_rules(app, client, estate, clock):
    catalog = ok(get(client, "butler", "/assessment"))

    assert catalog["full_score"] == 100
    assert [g["min"] for g in catalog["grades"]] == [90, 70, 50, None]
    assert [g["label"] for g in catalog["grades"]] == [EXCELLENT, GOOD, PASS, NEEDS_IMPROVEMENT]
    findings = {f["code"]: (f["article"], f["points"]) for f in catalog["findings"]}
    assert findings["3-bonus"] == (3, 5)
    assert findings["10"] == (10, -5)
    assert findings["14"] == (14, -1)
    assert catalog["spot_check"] == {"share": 0.05, "findings": {"repair": "4", "complaint": "10"}}


# -- findings ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, points, article", [
    ("5", -2, 5), ("7", -2, 7), ("10", -5, 10), ("14", -1, 14), ("3-bonus", 5, 3), ("3", -5, 3)])
def test_a_findings_points_and_article_come_from_the_catalog(
        app, client, estate, clock, code, points, article):
    made = ok(post(client, "supervisor", "/findings", {
        "butler_id": estate.butler, "code": code, "note": "  Noted on the 16th  "}), 201)

    assert (made["source"], made["finding_code"], made["points"], made["article"]) == (
        "finding", code, points, article)
    assert (made["note"], made["recorded_by"], made["status"]) == (
        "Noted on the 16th", "Supervisor", "counted")
    assert made["missed_at"] == made["recorded_at"] == T0.isoformat()
    assert scorecard(client, NOVEMBER, estate.butler)["score"] == 100 + points


def test_a_finding_may_point_at_its_ticket(app, client, estate, clock):
    with database(app, estate) as desk:
        ticket_id = desk.open("resident", "complaint", "Noise at night").id

    made = ok(post(client, "supervisor", "/findings", {
        "butler_id": estate.butler, "code": "10", "note": "Not recorded",
        "ticket_id": ticket_id}), 201)

    assert (made["ticket_id"], made["ticket_title"]) == (ticket_id, "Noise at night")
    listed = ok(get(client, "supervisor", "/deductions", month=NOVEMBER))["deductions"]
    assert [(d["ticket"]["id"], d["finding_code"]) for d in listed] == [(ticket_id, "10")]


@pytest.mark.parametrize("who", ["butler", "other_butler", "technician", "resident"])
def test_only_a_supervisor_records_findings(app, client, estate, clock, who):
    reply = post(client, who, "/findings", {"butler_id": estate.butler, "code": "3-bonus",
                                            "note": "I sold one"})
    assert_error(reply, 403, "forbidden")
    with app.app_context():
        assert count(Deduction) == 0


@pytest.mark.parametrize("change, field", [
    ({"code": "99"}, "code"),
    ({"code": ""}, "code"),
    ({"code": 10}, "code"),
    ({"code": None}, "code"),
    ({"code": ["10"]}, "code"),
    ({"butler_id": "@resident"}, "butler_id"),
    ({"butler_id": "@supervisor"}, "butler_id"),
    ({"butler_id": "@technician"}, "butler_id"),
    ({"butler_id": None}, "butler_id"),
    ({"butler_id": "abc"}, "butler_id"),
    ({"butler_id": True}, "butler_id"),
    ({"butler_id": 1.5}, "butler_id"),
    ({"butler_id": -1}, "butler_id"),
    ({"butler_id": 2**63}, "butler_id"),
    ({"butler_id": [1]}, "butler_id"),
    ({"note": ""}, "note"),
    ({"note": "   "}, "note"),
    ({"note": None}, "note"),
    ({"note": 5}, "note"),
    ({"note": "x" * 2001}, "note"),
    ({"occurred_at": "2026-11-16T09:00:01+08:00"}, "occurred_at"),  # a second in the future
    ({"occurred_at": "2026-12-01T00:00:00+08:00"}, "occurred_at"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": 1763254800}, "occurred_at"),
    ({"occurred_at": ["2026-11-01"]}, "occurred_at"),
    ({"occurred_at": "9999-12-31T23:59-23:00"}, "occurred_at"),
    ({"occurred_at": "2025-11-01T10:00:00+08:00"}, "occurred_at"),  # over a year ago
    ({"occurred_at": "2001-01-01T00:00:00Z"}, "occurred_at"),
    ({"ticket_id": 999999}, "ticket_id"),
    ({"ticket_id": "abc"}, "ticket_id"),
    ({"ticket_id": 2**40}, "ticket_id"),
])
def test_a_bad_finding_is_refused_naming_the_field(app, client, estate, clock, change, field):
    data = {"butler_id": estate.butler, "code": "10", "note": "Complaint not recorded"}
    data.update({k: getattr(estate, v[1:]) if isinstance(v, str) and v.startswith("@") else v
                 for k, v in change.items()})

    err = assert_error(post(client, "supervisor", "/findings", data), 422, "invalid", field)

    assert set(err["fields"]) == {field}
    with app.app_context():
        assert count(Deduction) == 0


def test_a_finding_against_a_butler_who_has_left_is_refused(app, client, estate, clock):
    with app.app_context():
        estate.user("relief_butler").active = False
        db.session.commit()
    data = {"butler_id": estate.relief_butler, "code": "10", "note": "Complaint not recorded"}

    err = assert_error(post(client, "supervisor", "/findings", data), 422, "invalid", "butler_id")

    assert err["fields"] == {"butler_id": "must be the id of an active butler"}
    with app.app_context():
        assert count(Deduction) == 0
        estate.user("relief_butler").active = True
        db.session.commit()
    made = ok(post(client, "supervisor", "/findings", data), 201)
    assert (made["butler_id"], made["points"]) == (estate.relief_butler, -5)


def test_record_finding_refuses_an_inactive_butler(ctx, estate, clock):
    estate.user("butler").active = False
    db.session.commit()

    with pytest.raises(InvalidData) as refused:
        finding(estate, "butler", "5")

    assert refused.value.fields == {"butler_id": "must be the id of an active butler"}
    assert count(Deduction) == 0
    assert [c.butler["username"] for c in assessment.live_scorecards(NOVEMBER)] == [
        "other_butler", "relief_butler"]


@pytest.mark.parametrize("back, accepted", [
    (timedelta(days=30), True),
    (timedelta(days=300), True),
    (assessment.FINDING_LOOKBACK, True),  # the very limit
    (assessment.FINDING_LOOKBACK + timedelta(seconds=1), False),
    (timedelta(days=400), False),
    (timedelta(days=3650), False),
])
def test_a_finding_may_be_dated_back_at_most_a_year(app, client, estate, clock, back, accepted):
    occurred_at = T0 - back
    reply = post(client, "supervisor", "/findings", {
        "butler_id": estate.butler, "code": "5", "note": "Patrol log missing",
        "occurred_at": occurred_at.isoformat()})

    if accepted:
        made = ok(reply, 201)
        assert made["missed_at"] == occurred_at.isoformat()
        month = occurred_at.astimezone(SHANGHAI).strftime("%Y-%m")
        assert scorecard(client, month, estate.butler)["score"] == 98
    else:
        err = assert_error(reply, 422, "invalid", "occurred_at")
        assert err["fields"] == {"occurred_at": "must be within the last year"}
        with app.app_context():
            assert count(Deduction) == 0


def test_a_finding_now_is_not_in_the_future(app, client, estate, clock):
    made = ok(post(client, "supervisor", "/findings", {
        "butler_id": estate.butler, "code": "5", "note": "No patrol",
        "occurred_at": "2026-11-16T09:00:00+08:00"}), 201)
    assert made["missed_at"] == T0.isoformat()


def test_record_finding_refuses_a_non_supervisor_before_anything_else(ctx, estate, clock):
    with pytest.raises(Forbidden):
        assessment.record_finding(estate.user("butler"), "garbage", None, None)
    assert count(Deduction) == 0


# -- appeals -------------------------------------------------------------------------------------

def test_the_butler_charged_appeals_with_a_reason(app, client, estate, clock):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)

    made = ok(post(client, "butler", f"/deductions/{line_id}/appeal",
                   {"reason": "The lift was broken; I called the technician"}), 201)

    assert made["status"] == "appealed"
    assert made["appeal"]["reason"] == "The lift was broken; I called the technician"
    assert made["review"] is None
    [listed] = ok(get(client, "butler", "/deductions", month=NOVEMBER))["deductions"]
    assert (listed["appealed"], listed["waived"], listed["review"]) == (True, False, None)
    assert scorecard(client, NOVEMBER, estate.butler, who="butler")["score"] == 98  # still counts


@pytest.mark.parametrize("who", ["other_butler", "relief_butler", "supervisor", "resident",
                                 "technician"])
def test_only_the_butler_charged_may_appeal(app, client, estate, clock, who):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)

    assert_error(post(client, who, f"/deductions/{line_id}/appeal", {"reason": "Not me"}),
                 403, "forbidden")
    assert ok(get(client, "supervisor", "/deductions"))["deductions"][0]["appealed"] is False


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}, {"reason": None},
                                  {"reason": 42}, {"reason": ["why"]}])
def test_an_appeal_needs_a_reason(app, client, estate, clock, body):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)

    assert_error(post(client, "butler", f"/deductions/{line_id}/appeal", body), 422, "invalid",
                 "reason")


def test_a_line_is_appealed_once(app, client, estate, clock):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)
    ok(post(client, "butler", f"/deductions/{line_id}/appeal", {"reason": "First"}), 201)

    assert_error(post(client, "butler", f"/deductions/{line_id}/appeal", {"reason": "Again"}),
                 409, "conflict")
    [listed] = ok(get(client, "supervisor", "/deductions"))["deductions"]
    assert listed["appealed"] is True


def test_a_bonus_needs_no_appeal(app, client, estate, clock):
    with database(app, estate):
        bonus = finding(estate, "butler", "3-bonus").id

    assert_error(post(client, "butler", f"/deductions/{bonus}/appeal", {"reason": "More!"}),
                 409, "conflict")


def test_a_reviewed_line_cannot_be_appealed(app, client, estate, clock):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)
    ok(post(client, "supervisor", f"/deductions/{line_id}/waive", {"reason": "Checked"}), 201)

    assert_error(post(client, "butler", f"/deductions/{line_id}/appeal", {"reason": "Late"}),
                 409, "conflict")


def test_only_an_appealed_or_held_line_is_upheld(app, client, estate, clock):
    """Upholding a line nobody appealed would take away the butler's right to appeal it."""
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)
    assert_error(post(client, "supervisor", f"/deductions/{line_id}/uphold",
                      {"reason": "Checked"}), 409, "conflict")
    ok(post(client, "butler", f"/deductions/{line_id}/appeal", {"reason": "Lift broken"}), 201)
    ok(post(client, "supervisor", f"/deductions/{line_id}/uphold", {"reason": "Checked"}), 201)


def test_a_line_of_a_closed_month_cannot_be_appealed_until_it_is_reopened(
        app, client, estate, clock):
    with database(app, estate):
        line_id = finding(estate, "butler", "10", occurred_at=IN_OCTOBER).id
        november = finding(estate, "butler", "14").id
    ok(post(client, "supervisor", f"/months/{OCTOBER}/close"), 201)

    err = assert_error(post(client, "butler", f"/deductions/{line_id}/appeal",
                            {"reason": "The complaint was logged on paper"}), 409, "conflict")

    assert "closed" in err["message"]
    [listed] = ok(get(client, "butler", "/deductions", month=OCTOBER))["deductions"]
    assert listed["appealed"] is False
    with app.app_context():
        assert count(Appeal) == 0
    # Who may appeal is still checked first; November, open, takes appeals.
    assert_error(post(client, "other_butler", f"/deductions/{line_id}/appeal", {"reason": "x"}),
                 403, "forbidden")
    assert ok(post(client, "butler", f"/deductions/{november}/appeal",
                   {"reason": "Desk was tidy"}), 201)["status"] == "appealed"

    ok(post(client, "supervisor", f"/months/{OCTOBER}/reopen", {"reason": "Late appeal"}), 201)
    made = ok(post(client, "butler", f"/deductions/{line_id}/appeal",
                   {"reason": "The complaint was logged on paper"}), 201)
    assert (made["id"], made["status"]) == (line_id, "appealed")


@pytest.mark.parametrize("action", ["appeal", "waive", "uphold"])
@pytest.mark.parametrize("line_id", [1, 2**31 - 1, 10**30])
def test_an_unknown_line_is_404(app, client, estate, clock, action, line_id):
    who = "butler" if action == "appeal" else "supervisor"
    assert_error(post(client, who, f"/deductions/{line_id}/{action}", {"reason": "Why"}),
                 404, "not_found")


# -- waivers and upholding -----------------------------------------------------------------------

def test_a_waiver_keeps_the_line_and_restores_the_points(app, client, estate, clock):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)
        finding(estate, "butler", "14")
    ok(post(client, "butler", f"/deductions/{line_id}/appeal", {"reason": "Lift broken"}), 201)
    assert scorecard(client, NOVEMBER, estate.butler)["score"] == 97
    clock.shift(timedelta(hours=2))

    made = ok(post(client, "supervisor", f"/deductions/{line_id}/waive",
                   {"reason": "The lift log confirms the outage"}), 201)

    assert (made["id"], made["points"], made["status"]) == (line_id, -2, "waived")
    assert made["review"] == {"outcome": "waived", "reason": "The lift log confirms the outage",
                              "by": "Supervisor",
                              "at": (T0 + timedelta(minutes=25, hours=2)).isoformat()}
    assert made["appeal"]["reason"] == "Lift broken"
    card = scorecard(client, NOVEMBER, estate.butler)
    assert (card["score"], card["deductions"], card["waived"]) == (99, -1, -2)
    assert [(line["id"], line["status"]) for line in card["lines"]][0] == (line_id, "waived")
    listed = ok(get(client, "supervisor", "/deductions", month=NOVEMBER))
    assert [(d["id"], d["points"], d["waived"], d["review"]) for d in listed["deductions"]][0] == (
        line_id, -2, True, "waived")
    assert listed["total_points"] == -1
    with app.app_context():  # append-only: the deduction itself is untouched
        stored = db.session.get(Deduction, line_id)
        assert (stored.points, stored.article, stored.waived) == (-2, 4, True)


def test_a_supervisor_may_waive_a_line_nobody_appealed(ctx, estate, clock):
    line = finding(estate, "butler", "10")
    review = assessment.waive(estate.user("supervisor"), line.id,
                              "Recorded against the wrong butler")

    assert (review.outcome, review.supervisor_id) == ("waived", estate.supervisor)
    assert card_of(assessment.live_scorecards(NOVEMBER), estate.butler)["score"] == 100


def test_upholding_keeps_the_points(app, client, estate, clock):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)
    ok(post(client, "butler", f"/deductions/{line_id}/appeal", {"reason": "Busy"}), 201)

    made = ok(post(client, "supervisor", f"/deductions/{line_id}/uphold",
                   {"reason": "Being busy is no reason"}), 201)

    assert (made["status"], made["review"]["outcome"], made["review"]["by"]) == (
        "upheld", "upheld", "Supervisor")
    assert scorecard(client, NOVEMBER, estate.butler)["score"] == 98
    listed = ok(get(client, "supervisor", "/deductions", month=NOVEMBER))
    assert (listed["deductions"][0]["waived"], listed["total_points"]) == (False, -2)


@pytest.mark.parametrize("first, second", [("waive", "waive"), ("waive", "uphold"),
                                           ("uphold", "waive"), ("uphold", "uphold")])
def test_a_line_is_reviewed_once(app, client, estate, clock, first, second):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)
    ok(post(client, "butler", f"/deductions/{line_id}/appeal", {"reason": "Lift broken"}), 201)
    ok(post(client, "supervisor", f"/deductions/{line_id}/{first}", {"reason": "First"}), 201)

    assert_error(post(client, "supervisor", f"/deductions/{line_id}/{second}", {"reason": "Again"}),
                 409, "conflict")
    expected = 100 if first == "waive" else 98
    assert scorecard(client, NOVEMBER, estate.butler)["score"] == expected


@pytest.mark.parametrize("action", ["waive", "uphold"])
@pytest.mark.parametrize("who", ["butler", "other_butler", "resident", "technician"])
def test_only_a_supervisor_reviews(app, client, estate, clock, action, who):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)

    assert_error(post(client, who, f"/deductions/{line_id}/{action}", {"reason": "Mine"}),
                 403, "forbidden")
    assert scorecard(client, NOVEMBER, estate.butler)["score"] == 98


@pytest.mark.parametrize("action", ["waive", "uphold"])
@pytest.mark.parametrize("body", [{}, {"reason": " "}, {"reason": {"text": "x"}},
                                  {"reason": "x" * 2001}])
def test_a_review_needs_a_reason(app, client, estate, clock, action, body):
    with database(app, estate) as desk:
        line_id = missed_arrival(desk, clock)

    assert_error(post(client, "supervisor", f"/deductions/{line_id}/{action}", body), 422,
                 "invalid", "reason")
    assert ok(get(client, "supervisor", "/deductions"))["deductions"][0]["review"] is None


def test_workflow_refusals_for_appeals_and_reviews(ctx, desk, estate, clock):
    line_id = missed_arrival(desk, clock)
    with pytest.raises(Forbidden):
        assessment.appeal(estate.user("other_butler"), line_id, "Not mine")
    with pytest.raises(Forbidden):
        assessment.waive(estate.user("butler"), line_id, "Mine")
    with pytest.raises(NotFound):
        assessment.waive(estate.user("supervisor"), "abc", "Why")
    with pytest.raises(InvalidData):
        assessment.uphold(estate.user("supervisor"), line_id, None)
    assessment.appeal(estate.user("butler"), line_id, "Lift broken")
    with pytest.raises(Conflict):
        assessment.appeal(estate.user("butler"), line_id, "Lift broken")


# -- closing a month -----------------------------------------------------------------------------

def test_a_closed_month_is_frozen_and_lines_recorded_after_closing_are_listed_apart(
        desk, estate, clock):
    supervisor = estate.user("supervisor")
    late = desk.open("resident", "repair", "Tap leaking").id  # due at T0 + 20 min; not swept yet
    other = finding(estate, "other_butler", "10")
    clock.move_to(EARLY_DECEMBER)
    live = [card.__dict__ for card in assessment.live_scorecards(NOVEMBER)]

    closed = assessment.close_month(supervisor, NOVEMBER, "Month-end meeting")

    assert assessment.is_closed(NOVEMBER)
    assert (closed.action, closed.actor_id, closed.reason) == ("close", estate.supervisor,
                                                               "Month-end meeting")
    assert assessment.scorecards(NOVEMBER, estate_id=garden()) == (live, closed)

    # The sweeper was down: its misses of November arrive after closing.
    clock.shift(timedelta(minutes=5))
    assert sweeper.sweep() == 2
    assert card_of(assessment.live_scorecards(NOVEMBER), estate.butler)["score"] == 96
    cards, closing = assessment.scorecards(NOVEMBER, estate_id=garden())
    assert (cards, closing.id) == (live, closed.id)
    assert card_of(cards, estate.butler)["score"] == 100
    after = assessment.entries_after_closing(NOVEMBER, closed)
    assert sorted((line["ticket_id"], line["deadline"]) for line in after) == [
        (late, "completion"), (late, "on_site")]

    # Changes to November are refused; December is open.
    with pytest.raises(Conflict):
        finding(estate, "butler", "5", occurred_at="2026-11-20T10:00:00+08:00")
    with pytest.raises(Conflict):
        assessment.waive(supervisor, other.id, "Too harsh")
    with pytest.raises(Conflict, match="closed"):
        assessment.appeal(estate.user("other_butler"), other.id, "Too harsh")
    with pytest.raises(Conflict):
        assessment.draw_spot_check(supervisor, NOVEMBER)
    finding(estate, "butler", "5")  # now: December
    assert assessment.scorecards(NOVEMBER, estate_id=garden())[0] == live

    with pytest.raises(InvalidData):
        assessment.reopen_month(supervisor, NOVEMBER, "  ")
    reopened = assessment.reopen_month(supervisor, NOVEMBER, "Sweeper backlog to review")

    assert (reopened.action, reopened.reason) == ("reopen", "Sweeper backlog to review")
    assert not assessment.is_closed(NOVEMBER)
    cards, closing = assessment.scorecards(NOVEMBER, estate_id=garden())
    assert closing is None
    assert card_of(cards, estate.butler)["score"] == 96
    assessment.waive(supervisor, other.id, "Too harsh")
    finding(estate, "butler", "5", occurred_at="2026-11-20T10:00:00+08:00")
    cards = assessment.scorecards(NOVEMBER, estate_id=garden())[0]
    assert card_of(cards, estate.other_butler)["score"] == 100
    assert card_of(cards, estate.butler)["score"] == 94


def test_a_line_swept_in_the_very_instant_of_closing_is_listed_as_after_closing(
        desk, estate, clock):
    """Lines are compared with the frozen cards by id: the clock is stopped, so the sweep
    records its lines at the same instant as the closing, and they are still listed."""
    late = desk.open("resident", "repair", "Tap leaking").id
    on_card = finding(estate, "other_butler", "10")
    clock.move_to(EARLY_DECEMBER)
    closed = assessment.close_month(estate.user("supervisor"), NOVEMBER)

    assert sweeper.sweep() == 2

    after = assessment.entries_after_closing(NOVEMBER, closed)
    assert sorted((line["ticket_id"], line["deadline"]) for line in after) == [
        (late, "completion"), (late, "on_site")]
    assert {line["recorded_at"] for line in after} == {closed.at.isoformat()}
    assert on_card.id not in {line["id"] for line in after}


def test_a_line_on_the_frozen_cards_is_not_listed_after_closing_whatever_its_time(
        desk, estate, clock):
    """A line recorded (by a clock running ahead, say) later than the closing's time, but on
    the frozen cards, is not one "recorded after closing"."""
    clock.move_to(EARLY_DECEMBER + timedelta(days=1))
    on_card = finding(estate, "butler", "5", occurred_at="2026-11-20T10:00:00+08:00")
    clock.move_to(EARLY_DECEMBER)
    closed = assessment.close_month(estate.user("supervisor"), NOVEMBER)

    assert on_card.recorded_at > closed.at
    assert [line["id"] for line in card_of(closed.scorecards, estate.butler)["lines"]] == [
        on_card.id]
    assert assessment.entries_after_closing(NOVEMBER, closed) == []


def test_the_api_lists_lines_recorded_after_closing_each_butler_their_own(
        app, client, estate, clock):
    with database(app, estate) as desk:
        east = desk.open("resident", "repair", "Tap leaking").id       # the butler's area
        west = desk.open("west_resident", "repair", "Door stuck").id   # the other butler's
        on_card = finding(estate, "other_butler", "10").id
        clock.move_to(EARLY_DECEMBER)
    assert ok(get(client, "supervisor", "/scorecards", month=NOVEMBER))[
        "recorded_after_closing"] == []  # open: everything is on the live cards
    ok(post(client, "supervisor", f"/months/{NOVEMBER}/close"), 201)
    with app.app_context():
        assert sweeper.sweep() == 4  # the sweeper was down: November's misses arrive now

    reply = ok(get(client, "supervisor", "/scorecards", month=NOVEMBER))

    assert reply["closed"] is True
    assert {c["butler"]["id"]: c["score"] for c in reply["scorecards"]} == {
        estate.butler: 100, estate.other_butler: 95, estate.relief_butler: 100}
    late = reply["recorded_after_closing"]
    assert sorted((line["butler_id"], line["ticket_id"], line["deadline"]) for line in late) == \
        sorted([(estate.butler, east, "on_site"), (estate.butler, east, "completion"),
                (estate.other_butler, west, "on_site"), (estate.other_butler, west, "completion")])
    assert all((line["points"], line["status"], line["source"]) == (-2, "counted", "deadline")
               for line in late)
    assert on_card not in {line["id"] for line in late}
    assert {line["what"]["en"] for line in late} == {"Late: Arrival on site (Repair)",
                                                      "Late: Completion (Repair)"}

    for who, butler_id, ticket_id in (("butler", estate.butler, east),
                                      ("other_butler", estate.other_butler, west)):
        own = ok(get(client, who, "/scorecards", month=NOVEMBER))
        assert [c["butler"]["id"] for c in own["scorecards"]] == [butler_id]
        assert sorted((line["butler_id"], line["ticket_id"], line["deadline"])
                      for line in own["recorded_after_closing"]) == [
            (butler_id, ticket_id, "completion"), (butler_id, ticket_id, "on_site")]
    assert ok(get(client, "relief_butler", "/scorecards", month=NOVEMBER))[
        "recorded_after_closing"] == []
    one = ok(get(client, "supervisor", "/scorecards", month=NOVEMBER, butler_id=estate.butler))
    assert {line["butler_id"] for line in one["recorded_after_closing"]} == {estate.butler}

    # Reopened, the month is live again and has nothing "after closing".
    ok(post(client, "supervisor", f"/months/{NOVEMBER}/reopen", {"reason": "Count the sweep"}),
       201)
    live = ok(get(client, "supervisor", "/scorecards", month=NOVEMBER))
    assert (live["closed"], live["recorded_after_closing"]) == (False, [])
    assert card_of(live["scorecards"], estate.butler)["score"] == 96


@pytest.mark.parametrize("month", [NOVEMBER, DECEMBER, "2027-01"])
def test_the_current_month_and_later_ones_cannot_be_closed(app, client, estate, clock, month):
    assert_error(post(client, "supervisor", f"/months/{month}/close"), 409, "conflict")
    assert ok(get(client, "supervisor", f"/months/{month}"))["closed"] is False


def test_a_month_closes_once_and_reopens_with_a_reason_on_record(app, client, estate, clock):
    with database(app, estate):
        line_id = finding(estate, "butler", "10", occurred_at=IN_OCTOBER).id
    before = ok(get(client, "supervisor", "/scorecards", month=OCTOBER))

    closed = ok(post(client, "supervisor", f"/months/{OCTOBER}/close",
                     {"reason": "October meeting"}), 201)

    assert (closed["month"], closed["closed"]) == (OCTOBER, True)
    assert closed["history"] == [{"action": "close", "by": "Supervisor", "at": T0.isoformat(),
                                  "reason": "October meeting"}]
    frozen = ok(get(client, "supervisor", "/scorecards", month=OCTOBER))
    assert (frozen["closed"], frozen["closing"]["action"]) == (True, "close")
    assert frozen["scorecards"] == before["scorecards"]
    assert_error(post(client, "supervisor", f"/months/{OCTOBER}/close"), 409, "conflict")

    # A closed month refuses findings and waivers.
    assert_error(post(client, "supervisor", "/findings", {
        "butler_id": estate.butler, "code": "5", "note": "Late entry",
        "occurred_at": IN_OCTOBER}), 409, "conflict")
    assert_error(post(client, "supervisor", f"/deductions/{line_id}/waive", {"reason": "Kind"}),
                 409, "conflict")
    assert ok(get(client, "supervisor", "/scorecards", month=OCTOBER))["scorecards"] == \
        before["scorecards"]

    # Reopening needs a reason and goes on record.
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 7}):
        assert_error(post(client, "supervisor", f"/months/{OCTOBER}/reopen", body), 422,
                     "invalid", "reason")
    clock.shift(timedelta(hours=1))
    reopened = ok(post(client, "supervisor", f"/months/{OCTOBER}/reopen",
                       {"reason": "Appeal from the butler"}), 201)
    assert reopened["closed"] is False
    assert [(h["action"], h["by"], h["reason"], h["at"]) for h in reopened["history"]] == [
        ("close", "Supervisor", "October meeting", T0.isoformat()),
        ("reopen", "Supervisor", "Appeal from the butler", (T0 + timedelta(hours=1)).isoformat())]
    assert ok(get(client, "supervisor", f"/months/{OCTOBER}")) == reopened
    assert_error(post(client, "supervisor", f"/months/{OCTOBER}/reopen", {"reason": "Again"}),
                 409, "conflict")

    # Open again: changes work.
    ok(post(client, "supervisor", f"/deductions/{line_id}/waive", {"reason": "Appeal accepted"}),
       201)
    ok(post(client, "supervisor", "/findings", {
        "butler_id": estate.butler, "code": "14", "note": "Desk untidy",
        "occurred_at": IN_OCTOBER}), 201)
    live = ok(get(client, "supervisor", "/scorecards", month=OCTOBER))
    assert (live["closed"], card_of(live["scorecards"], estate.butler)["score"]) == (False, 99)
    assert live["closing"]["action"] == "reopen"


def test_reopening_a_month_that_is_not_closed_is_a_conflict(app, client, estate, clock):
    assert_error(post(client, "supervisor", f"/months/{OCTOBER}/reopen", {"reason": "Why not"}),
                 409, "conflict")
    assert ok(get(client, "supervisor", f"/months/{OCTOBER}"))["history"] == []


@pytest.mark.parametrize("who", ["butler", "resident", "technician"])
def test_only_a_supervisor_closes_reopens_and_reads_months(app, client, estate, clock, who):
    assert_error(post(client, who, f"/months/{OCTOBER}/close"), 403, "forbidden")
    assert_error(post(client, who, f"/months/{OCTOBER}/reopen", {"reason": "x"}), 403, "forbidden")
    assert_error(get(client, who, f"/months/{OCTOBER}"), 403, "forbidden")
    with app.app_context():
        assert count(MonthClosing) == 0


def test_a_month_with_a_spot_check_call_to_record_cannot_be_closed(app, client, estate, clock):
    with database(app, estate) as desk:
        closed_ticket(desk, estate)
        clock.move_to(EARLY_DECEMBER)
    drawn = ok(post(client, "supervisor", "/spot-checks", {"month": NOVEMBER}), 201)
    refused = assert_error(post(client, "supervisor", f"/months/{NOVEMBER}/close"), 409,
                           "conflict")
    assert "1 spot-check call(s) to record" in refused["message"]
    assert ok(get(client, "supervisor", f"/months/{NOVEMBER}"))["closed"] is False

    [item] = drawn["items"]
    ok(post(client, "supervisor", f"/spot-checks/items/{item['id']}", {"result": "satisfied"}))
    ok(post(client, "supervisor", f"/months/{NOVEMBER}/close"), 201)
    assert_error(post(client, "supervisor", f"/spot-checks/items/{item['id']}",
                      {"result": "unsatisfied"}), 409, "conflict")


# -- spot-checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("population, size", [(0, 0), (1, 1), (19, 1), (20, 1), (21, 2),
                                              (400, 20), (401, 21)])
def test_the_sample_is_5_percent_rounded_up_and_at_least_one(population, size):
    assert assessment.sample_size(population, 0.05) == size


def test_the_population_is_the_complaints_and_repairs_closed_in_the_month(desk, estate, clock):
    repair = closed_ticket(desk, estate, "repair")
    complaint = closed_ticket(desk, estate, "complaint", resident="west_resident",
                              butler="other_butler")
    closed_ticket(desk, estate, "renovation")
    cancelled = desk.open("resident", "repair", "Never mind")
    desk.fire(cancelled, "cancel", "resident", reason="Fixed it myself")
    desk.open("neighbour", "repair", "Still open")
    late = desk.open("neighbour", "complaint", "Closed in December").id
    clock.move_to(EARLY_DECEMBER)
    walk_to_closed(desk, estate, late, "complaint", resident="neighbour")

    assert assessment.spot_check_population(NOVEMBER) == [repair, complaint]
    assert assessment.spot_check_population(DECEMBER) == [late]
    assert assessment.spot_check_population(OCTOBER) == []


def test_the_draw_is_reproducible_from_its_seed(desk, estate, clock):
    closed_tickets(desk, estate, 21)
    clock.move_to(EARLY_DECEMBER)

    drawn = assessment.draw_spot_check(estate.user("supervisor"), NOVEMBER)

    population = assessment.spot_check_population(NOVEMBER)
    assert (drawn.population_size, drawn.sample_size) == (21, 2)
    assert [item.position for item in drawn.items] == [0, 1]
    assert [item.ticket_id for item in drawn.items] == \
        random.Random(drawn.seed).sample(population, 2)
    assert (drawn.drawn_by_id, drawn.drawn_at) == (estate.supervisor, EARLY_DECEMBER)
    with pytest.raises(Conflict):
        assessment.draw_spot_check(estate.user("supervisor"), NOVEMBER)
    assert count(SpotCheck) == 1


def test_a_spot_check_through_the_api_shows_its_progress(app, client, estate, clock):
    with database(app, estate) as desk:
        closed_tickets(desk, estate, 21)
        clock.move_to(EARLY_DECEMBER)

    preview = ok(get(client, "supervisor", "/spot-checks", month=NOVEMBER))
    assert preview == {"month": NOVEMBER, "estate": GARDEN, "drawn": False, "population_size": 21,
                       "sample_size": 2, "items": []}

    drawn = ok(post(client, "supervisor", "/spot-checks", {"month": NOVEMBER}), 201)

    assert (drawn["drawn"], drawn["population_size"], drawn["sample_size"], drawn["done"]) == (
        True, 21, 2, 0)
    assert drawn["drawn_by"] == "Supervisor"
    with app.app_context():
        population = assessment.spot_check_population(NOVEMBER)
    assert [i["ticket"]["id"] for i in drawn["items"]] == \
        random.Random(drawn["seed"]).sample(population, 2)
    assert ok(get(client, "supervisor", "/spot-checks", month=NOVEMBER)) == drawn
    assert_error(post(client, "supervisor", "/spot-checks", {"month": NOVEMBER}), 409, "conflict")

    first, second = drawn["items"]
    progress = ok(post(client, "supervisor", f"/spot-checks/items/{first['id']}",
                       {"result": "satisfied", "note": "Happy with the repair"}))
    assert (progress["done"], progress["sample_size"]) == (1, 2)
    [recorded] = [i for i in progress["items"] if i["id"] == first["id"]]
    assert (recorded["result"], recorded["note"], recorded["finding_id"]) == (
        "satisfied", "Happy with the repair", None)
    assert recorded["recorded_at"] == EARLY_DECEMBER.isoformat()
    assert_error(post(client, "supervisor", f"/spot-checks/items/{first['id']}",
                      {"result": "unreachable"}), 409, "conflict")

    progress = ok(post(client, "supervisor", f"/spot-checks/items/{second['id']}",
                       {"result": "unreachable"}))
    assert progress["done"] == 2
    with app.app_context():
        assert count(Deduction) == 0


@pytest.mark.parametrize("month", [DECEMBER, "2027-05"])
def test_a_month_that_has_not_begun_cannot_be_drawn(app, client, estate, clock, month):
    err = assert_error(post(client, "supervisor", "/spot-checks", {"month": month}), 409,
                       "conflict")
    assert "is not over yet" in err["message"]
    assert ok(get(client, "supervisor", "/spot-checks", month=month))["drawn"] is False


def test_the_current_month_is_not_drawn_but_its_preview_is_shown(app, client, estate, clock):
    with database(app, estate) as desk:
        ticket_id = closed_ticket(desk, estate)

    err = assert_error(post(client, "supervisor", "/spot-checks", {"month": NOVEMBER}), 409,
                       "conflict")

    assert err["message"] == "2026-11 is not over yet; its spot-check is drawn after it ends"
    preview = {"month": NOVEMBER, "estate": GARDEN, "drawn": False, "population_size": 1,
               "sample_size": 1, "items": []}
    assert ok(get(client, "supervisor", "/spot-checks", month=NOVEMBER)) == preview
    assert ok(get(client, "supervisor", "/spot-checks")) == preview  # the current month
    with app.app_context():
        assert (count(SpotCheck), count(SpotCheckItem)) == (0, 0)

    clock.move_to(EARLY_DECEMBER)
    drawn = ok(post(client, "supervisor", "/spot-checks", {"month": NOVEMBER}), 201)
    assert [item["ticket"]["id"] for item in drawn["items"]] == [ticket_id]


def test_a_spot_check_is_drawn_from_the_first_instant_after_its_month(ctx, estate, clock):
    supervisor = estate.user("supervisor")
    clock.move_to(LAST_MINUTE_OF_NOVEMBER + timedelta(seconds=59))  # 23:59:59 local, 30 Nov
    with pytest.raises(Conflict, match="2026-11 is not over yet"):
        assessment.draw_spot_check(supervisor, NOVEMBER)
    assert count(SpotCheck) == 0

    clock.move_to(MIDNIGHT_STARTING_DECEMBER)
    drawn = assessment.draw_spot_check(supervisor, NOVEMBER)

    assert (drawn.month, drawn.drawn_at) == (NOVEMBER, MIDNIGHT_STARTING_DECEMBER)
    with pytest.raises(Conflict, match="2026-12 is not over yet"):
        assessment.draw_spot_check(supervisor, DECEMBER)
    assert count(SpotCheck) == 1


def test_a_month_with_nothing_closed_draws_an_empty_sample(app, client, estate, clock):
    drawn = ok(post(client, "supervisor", "/spot-checks", {"month": OCTOBER}), 201)
    assert (drawn["population_size"], drawn["sample_size"], drawn["done"], drawn["items"]) == (
        0, 0, 0, [])


@pytest.mark.parametrize("kind, resident, butler, code, points, article", [
    ("repair", "resident", "butler", "4", -2, 4),
    ("complaint", "west_resident", "other_butler", "10", -5, 10),
])
def test_an_unsatisfied_follow_up_becomes_a_finding_in_the_month_the_ticket_closed(
        app, client, estate, clock, kind, resident, butler, code, points, article):
    with database(app, estate) as desk:
        ticket_id = closed_ticket(desk, estate, kind, resident=resident, butler=butler)
        clock.move_to(EARLY_DECEMBER)
    [item] = ok(post(client, "supervisor", "/spot-checks", {"month": NOVEMBER}), 201)["items"]
    assert (item["ticket"]["id"], item["ticket"]["butler_id"]) == (
        ticket_id, getattr(estate, butler))

    progress = ok(post(client, "supervisor", f"/spot-checks/items/{item['id']}", {
        "result": "unsatisfied", "note": "Still leaking", "make_finding": True}))

    [item] = progress["items"]
    assert (item["result"], progress["done"]) == ("unsatisfied", 1)
    assert item["finding_id"] is not None
    [line] = ok(get(client, "supervisor", "/deductions", month=NOVEMBER))["deductions"]
    assert line["id"] == item["finding_id"]
    assert (line["butler"]["id"], line["ticket"]["id"], line["finding_code"], line["points"],
            line["article"]) == (getattr(estate, butler), ticket_id, code, points, article)
    assert line["missed_at"] == T0.isoformat()  # when the ticket was closed
    assert line["recorded_at"] == EARLY_DECEMBER.isoformat()
    assert "Still leaking" in line["note"]
    assert scorecard(client, NOVEMBER, getattr(estate, butler))["score"] == 100 + points
    assert scorecard(client, DECEMBER, getattr(estate, butler))["score"] == 100


def test_a_finding_from_a_spot_check_counts_in_the_month_checked_even_if_closed_again_later(
        ctx, desk, estate, clock):
    closed_on = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    clock.move_to(closed_on)
    ticket_id = closed_ticket(desk, estate, "repair")
    clock.move_to(EARLY_DECEMBER)  # within 7 days of completion: the resident may reopen
    desk.fire(ticket_id, "reopen", "resident", reason="Leaking again")
    walk_to_closed(desk, estate, ticket_id, "repair")
    assert ticket_id in assessment.spot_check_population(DECEMBER)

    drawn = assessment.draw_spot_check(estate.user("supervisor"), NOVEMBER)
    [item] = drawn.items
    assessment.record_spot_check_result(estate.user("supervisor"), item.id, "unsatisfied",
                                        "Took two visits", make_finding=True)

    made = db.session.get(Deduction, item.finding_id)
    assert made.missed_at == closed_on
    assert assessment.month_of(made.missed_at) == NOVEMBER


@pytest.mark.parametrize("body, field", [
    ({"result": "happy"}, "result"),
    ({"result": ""}, "result"),
    ({}, "result"),
    ({"result": None}, "result"),
    ({"result": 1}, "result"),
    ({"result": ["satisfied"]}, "result"),
    ({"result": {"satisfied": True}}, "result"),
    ({"result": "satisfied", "note": 5}, "note"),
    ({"result": "satisfied", "make_finding": True, "note": "Fine"}, "make_finding"),
    ({"result": "unreachable", "make_finding": True, "note": "No answer"}, "make_finding"),
    ({"result": "unsatisfied", "make_finding": True}, "note"),
    ({"result": "unsatisfied", "make_finding": True, "note": "  "}, "note"),
    ({"result": "unsatisfied", "make_finding": "yes", "note": "Bad"}, "make_finding"),
    ({"result": "unsatisfied", "make_finding": 1, "note": "Bad"}, "make_finding"),
])
def test_a_bad_follow_up_is_refused_naming_the_field(app, client, estate, clock, body, field):
    with database(app, estate) as desk:
        closed_ticket(desk, estate)
        clock.move_to(EARLY_DECEMBER)
    [item] = ok(post(client, "supervisor", "/spot-checks", {"month": NOVEMBER}), 201)["items"]

    assert_error(post(client, "supervisor", f"/spot-checks/items/{item['id']}", body), 422,
                 "invalid", field)
    state = ok(get(client, "supervisor", "/spot-checks", month=NOVEMBER))
    assert (state["done"], state["items"][0]["result"]) == (0, None)
    with app.app_context():
        assert count(Deduction) == 0


@pytest.mark.parametrize("who", ["butler", "resident", "technician"])
def test_only_a_supervisor_runs_spot_checks(app, client, estate, clock, who):
    with database(app, estate) as desk:
        closed_ticket(desk, estate)
        clock.move_to(EARLY_DECEMBER)
    assert_error(get(client, who, "/spot-checks", month=NOVEMBER), 403, "forbidden")
    assert_error(post(client, who, "/spot-checks", {"month": NOVEMBER}), 403, "forbidden")
    [item] = ok(post(client, "supervisor", "/spot-checks", {"month": NOVEMBER}), 201)["items"]

    assert_error(post(client, who, f"/spot-checks/items/{item['id']}", {"result": "satisfied"}),
                 403, "forbidden")
    assert ok(get(client, "supervisor", "/spot-checks", month=NOVEMBER))["done"] == 0


def test_an_unknown_spot_check_item_is_404(ctx, estate, clock):
    with pytest.raises(NotFound):
        assessment.record_spot_check_result(estate.user("supervisor"), 12345, "satisfied")
    with pytest.raises(NotFound):
        assessment.record_spot_check_result(estate.user("supervisor"), "abc", "satisfied")
    assert count(SpotCheckItem) == 0


# -- exports -------------------------------------------------------------------------------------

def exported_month(app, estate, clock) -> None:
    """November with a miss, a waived miss, a finding and a bonus, spread over two butlers."""
    with database(app, estate) as desk:
        missed_arrival(desk, clock)
        waived = missed_arrival(desk, clock, who="neighbour")
        assessment.waive(estate.user("supervisor"), waived, "Lift outage")
        finding(estate, "butler", "10")
        finding(estate, "other_butler", "3-bonus")
        finding(estate, "other_butler", "14")


def test_the_xlsx_opens_and_its_totals_equal_the_api(app, client, estate, clock):
    exported_month(app, estate, clock)
    cards = ok(get(client, "supervisor", "/scorecards", month=NOVEMBER))["scorecards"]

    reply = get(client, "supervisor", "/scorecards", month=NOVEMBER, format="xlsx")

    assert reply.status_code == 200
    assert reply.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in reply.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(reply.data))
    header, *rows = book.worksheets[0].iter_rows(values_only=True)
    column = {name: header.index(name)
              for name in ("管家", "扣分", "加分", "已免除", "得分", "等级")}
    exported = {row[column["管家"]]: tuple(row[column[n]]
                                           for n in ("扣分", "加分", "已免除", "得分", "等级"))
                for row in rows}
    assert exported == {c["butler"]["name"]: (c["deductions"], c["bonuses"], c["waived"],
                                              c["score"], c["grade"]["zh"]) for c in cards}
    assert exported["Butler"] == (-7, 0, -2, 93, "优秀")
    # The second sheet has every line of every card, and their points add up the same.
    header, *lines = book.worksheets[1].iter_rows(values_only=True)
    points = header.index("分值")
    assert len(lines) == sum(len(c["lines"]) for c in cards) == 5
    assert sorted(line[points] for line in lines) == sorted(
        line["points"] for c in cards for line in c["lines"])


def test_the_csv_totals_equal_the_api(app, client, estate, clock):
    exported_month(app, estate, clock)
    cards = ok(get(client, "supervisor", "/scorecards", month=NOVEMBER))["scorecards"]

    reply = get(client, "supervisor", "/scorecards", month=NOVEMBER, format="csv")

    assert reply.status_code == 200
    assert reply.mimetype == "text/csv"
    header, *rows = csv.reader(io.StringIO(reply.data.decode("utf-8-sig")))
    index = {name: header.index(name) for name in ("管家", "得分", "扣分", "加分", "等级")}
    exported = {row[index["管家"]]: (int(row[index["得分"]]), int(row[index["扣分"]]),
                                     int(row[index["加分"]]), row[index["等级"]]) for row in rows}
    assert exported == {c["butler"]["name"]: (c["score"], c["deductions"], c["bonuses"],
                                              c["grade"]["zh"]) for c in cards}


def test_a_closed_months_export_is_the_frozen_snapshot(app, client, estate, clock):
    with database(app, estate) as desk:
        desk.open("resident", "repair", "Tap leaking")  # misses of November, swept after closing
        clock.move_to(EARLY_DECEMBER)
    ok(post(client, "supervisor", f"/months/{NOVEMBER}/close"), 201)
    with app.app_context():
        assert sweeper.sweep() == 2

    reply = get(client, "supervisor", "/scorecards", month=NOVEMBER, format="csv")

    header, *rows = csv.reader(io.StringIO(reply.data.decode("utf-8-sig")))
    scores = {row[header.index("管家")]: row[header.index("得分")] for row in rows}
    assert scores == {"Butler": "100", "Other_Butler": "100", "Relief_Butler": "100"}
    frozen = ok(get(client, "supervisor", "/scorecards", month=NOVEMBER))
    assert (frozen["closed"], scorecard(client, NOVEMBER, estate.butler)["score"]) == (True, 100)
    assert len(ok(get(client, "supervisor", "/deductions", month=NOVEMBER))["deductions"]) == 2


def test_a_butler_exports_only_their_own_card(app, client, estate, clock):
    exported_month(app, estate, clock)

    reply = get(client, "butler", "/scorecards", month=NOVEMBER, format="csv")

    header, *rows = csv.reader(io.StringIO(reply.data.decode("utf-8-sig")))
    assert [row[header.index("管家")] for row in rows] == ["Butler"]
    assert_error(get(client, "butler", "/scorecards", butler_id=estate.other_butler, format="xlsx"),
                 403, "forbidden")
    assert_error(get(client, "resident", "/scorecards", format="csv"), 403, "forbidden")


# -- months are read strictly --------------------------------------------------------------------

# Each of these int() would read as a month (2026- 1 and 2026-+1 as January): none is one.
ODD_MONTHS = ["2026-+1", "2026- 1", "2026-1 ", " 2026-11", "2026-11\n", "+2026-11",
              "2026-\u0661\u0661", "２０２６-11", "2026_11", "1999-12", "3000-01"]


@pytest.mark.parametrize("value", ODD_MONTHS)
def test_a_month_is_read_only_as_written_canonically(ctx, value):
    with pytest.raises(InvalidData) as refused:
        assessment.parse_month(value)
    assert refused.value.fields == {"month": "must be a month like 2026-11"}


@pytest.mark.parametrize("value", [202611, None, ["2026-11"], b"2026-11"])
def test_a_month_that_is_not_text_is_refused(ctx, value):
    with pytest.raises(InvalidData):
        assessment.parse_month(value)


@pytest.mark.parametrize("month, start, end", [
    ("2026-01", datetime(2025, 12, 31, 16, tzinfo=UTC),
     datetime(2026, 1, 31, 16, tzinfo=UTC)),
    ("2026-12", datetime(2026, 11, 30, 16, tzinfo=UTC),
     datetime(2026, 12, 31, 16, tzinfo=UTC)),
    ("2000-01", datetime(1999, 12, 31, 16, tzinfo=UTC),
     datetime(2000, 1, 31, 16, tzinfo=UTC)),
    ("2999-12", datetime(2999, 11, 30, 16, tzinfo=UTC),
     datetime(2999, 12, 31, 16, tzinfo=UTC)),
])
def test_a_canonical_month_is_bounded_by_local_midnights(ctx, month, start, end):
    assert ctx.config["TZ"] == SHANGHAI
    assert assessment.month_bounds(assessment.parse_month(month)) == (start, end)


@pytest.mark.parametrize("value", ODD_MONTHS)
def test_every_endpoint_refuses_an_odd_month_as_422(app, client, estate, clock, value):
    for path in ("/deductions", "/scorecards", "/spot-checks"):
        assert_error(get(client, "supervisor", path, month=value), 422, "invalid", "month")
    assert_error(get(client, "supervisor", "/months/" + quote(value, safe="")), 422, "invalid",
                 "month")
    assert_error(post(client, "supervisor", "/spot-checks", {"month": value}), 422, "invalid",
                 "month")
    assert_error(post(client, "supervisor", f"/months/{quote(value, safe='')}/close"), 422,
                 "invalid", "month")
    with app.app_context():
        assert (count(SpotCheck), count(MonthClosing)) == (0, 0)


# -- bad input is never a 500 --------------------------------------------------------------------

BAD_REQUESTS = [
    # (method, path, JSON body, status)
    ("get", "/scorecards?month=2026-13", None, 422),
    ("get", "/scorecards?month=2026-00", None, 422),
    ("get", "/scorecards?month=abc", None, 422),
    ("get", "/scorecards?month=2026-1", None, 422),
    ("get", "/scorecards?month=2026-011", None, 422),
    ("get", "/scorecards?month=2026-+1", None, 422),
    ("get", "/scorecards?month=2026- 1", None, 422),
    ("get", "/scorecards?month=２０２６-11", None, 422),
    ("get", "/scorecards?month=1999-12", None, 422),
    ("get", "/scorecards?month=2026-11-01", None, 422),
    ("get", "/scorecards?butler_id=abc", None, 422),
    ("get", "/scorecards?butler_id=-1", None, 422),
    ("get", "/scorecards?butler_id=99999999999999999999", None, 422),
    ("get", "/scorecards?format=pdf", None, 422),
    ("get", "/deductions?month=2026-13", None, 422),
    ("get", "/deductions?month=abc", None, 422),
    ("get", "/deductions?month=2026-11-01", None, 422),
    ("get", "/deductions?month=2026-+1", None, 422),  # "+" in a query is a space
    ("get", "/deductions?month=2026-%2B1", None, 422),
    ("get", "/deductions?month=2026- 1", None, 422),
    ("get", "/deductions?month=2026-%201", None, 422),
    ("get", "/scorecards?month=2026-%2B1", None, 422),
    ("get", "/deductions?butler_id=1e3", None, 422),
    ("get", "/months/2026-13", None, 422),
    ("get", "/months/abc", None, 422),
    ("get", "/months/2026-+1", None, 422),
    ("post", "/months/2026-13/close", {}, 422),
    ("post", "/months/abc/close", {}, 422),
    ("post", "/months/2026-+1/close", {}, 422),
    ("post", "/months/abc/reopen", {"reason": "x"}, 422),
    ("post", "/months/2026-10/close", {"reason": 5}, 422),
    ("post", "/months/2026-10/close", [], 422),
    ("post", "/months/2026-10/close", "2026-10", 422),
    ("post", "/months/2026-10/reopen", {"reason": ["x"]}, 422),
    ("get", "/spot-checks?month=abc", None, 422),
    ("get", "/spot-checks?month=2026-13", None, 422),
    ("post", "/spot-checks", {}, 422),
    ("post", "/spot-checks", {"month": None}, 422),
    ("post", "/spot-checks", {"month": 202611}, 422),
    ("post", "/spot-checks", {"month": ["2026-11"]}, 422),
    ("post", "/spot-checks", {"month": "2026-13"}, 422),
    ("post", "/spot-checks", {"month": "2026- 1"}, 422),
    ("post", "/spot-checks", ["2026-11"], 422),
    ("post", "/spot-checks/items/1", {"result": "satisfied"}, 404),
    ("post", "/spot-checks/items/99999999999999999999", {"result": "satisfied"}, 404),
    ("post", "/spot-checks/items/abc", {"result": "satisfied"}, 404),
    ("post", "/spot-checks/items/1", [], 422),
    ("post", "/deductions/-1/waive", {"reason": "x"}, 404),
    ("post", "/deductions/abc/uphold", {"reason": "x"}, 404),
    ("post", "/deductions/99999999999999999999/waive", {"reason": "x"}, 404),
    ("post", "/deductions/1/waive", [], 422),
    ("post", "/findings", [], 422),
    ("post", "/findings", "a finding", 422),
    ("post", "/findings", {"butler_id": {"id": 1}, "code": {"a": 1}, "note": ["x"],
                           "ticket_id": {"x": 1}, "occurred_at": [2026]}, 422),
    ("post", "/findings", {"butler_id": 1, "code": "10", "note": "x",
                           "occurred_at": "0001-01-01T00:00:00+01:00"}, 422),
]


@pytest.mark.parametrize("method, path, body, status", BAD_REQUESTS)
def test_bad_input_is_a_clean_error_never_a_500(app, client, estate, clock, method, path, body,
                                                status):
    headers = token_for(client, "supervisor")
    reply = (client.get(API + path, headers=headers) if method == "get"
             else client.post(API + path, headers=headers, json=body))
    assert_error(reply, status)


@pytest.mark.parametrize("path", ["/findings", "/spot-checks", "/months/2026-10/close",
                                  "/deductions/1/waive", "/spot-checks/items/1"])
def test_a_body_that_is_not_json_is_a_clean_error(app, client, estate, clock, path):
    reply = client.post(API + path, headers=token_for(client, "supervisor"), data="{not json",
                        content_type="application/json")
    assert_error(reply, 422, "invalid", "body")


def test_the_endpoints_need_a_login(app, client, estate, clock):
    for method, path in [("get", "/scorecards"), ("get", "/months/2026-10"),
                         ("get", "/spot-checks"), ("post", "/findings"),
                         ("post", "/months/2026-10/close"), ("post", "/deductions/1/waive")]:
        reply = getattr(client, method)(API + path, json={})
        assert_error(reply, 401, "unauthorized")
