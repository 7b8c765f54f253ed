"""Deadlines in office time (workflows.calendars): only an estate's office hours on working days
count, the mainland's public holidays off and their make-up working days (调休) on, per the
chinesecalendar package, and the estate's closed days off.

The shipped renovation review and acceptance count 18 hours of office time (two working days of
the default Monday-Friday 08:30-17:30). The 2026 schedule, per the package: Mid-autumn 25-27
September (the Friday before Golden Week is itself a holiday), National Day 1-7 October, make-up
working days Sunday 20 September and Saturday 10 October; Spring Festival 15-23 February, made
up on Saturdays 14 and 28 February. Times below are Asia/Shanghai wall-clock times.
"""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import ClosedDay, EstateCalendar, OfficeHours, db
from tests.api import API, assert_error, token_for
from tests.helpers import all_deadlines, deadline, deductions
from tests.pages import csrf_token, field_html, flashes
from workflows import calendars, sweeper
from workflows.errors import InvalidData
from workflows.rules import load_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES_TEXT = (Path(__file__).resolve().parent.parent / "workflows" / "rules.toml").read_text(
    encoding="utf-8")
LUNCH_BREAK = {key: [{"opens": "08:30", "closes": "12:00"}, {"opens": "13:30", "closes": "17:30"}]
               for key in ("mon", "tue", "wed", "thu", "fri")}


def local(*when: int) -> datetime:
    """A wall-clock time of the estate, as stored (UTC)."""
    return datetime(*when, tzinfo=SHANGHAI).astimezone(UTC)


def review_due(desk, clock, *armed: int) -> datetime:
    """The due time of the review of a renovation applied for at local time `armed`."""
    clock.move_to(local(*armed), tick=False)
    # Each its own title: the same request sent twice would be the first one (repeat_within).
    ticket = desk.open("resident", "renovation", f"New kitchen {armed}")
    return deadline(ticket.id, "review").due_at


def set_calendar(estate, hours=None, public_holidays=True, closed_days=()):
    return calendars.set_calendar(estate.user("supervisor"), 1, hours or LUNCH_BREAK,
                                  public_holidays, list(closed_days))


# -- the done-when: Golden Week and 调休 through the engine ----------------------------------------

def test_a_review_armed_on_the_friday_before_golden_week_falls_due_on_the_right_working_day(
        desk, clock):
    # Friday 25 September is Mid-autumn: the clock starts on Monday 28 at 08:30.
    assert review_due(desk, clock, 2026, 9, 25, 10, 0) == local(2026, 9, 29, 17, 30)
    # Armed on the last working day before National Day, it skips 1-7 October.
    assert review_due(desk, clock, 2026, 9, 30, 14, 0) == local(2026, 10, 9, 14, 0)


def test_a_review_armed_the_weekend_of_a_make_up_saturday_counts_that_saturday(desk, clock):
    # Saturday 10 October is worked (调休): 7.5 h on it, none on Sunday, 9 h Monday, 1.5 h Tuesday.
    assert review_due(desk, clock, 2026, 10, 10, 10, 0) == local(2026, 10, 13, 10, 0)
    # Armed late on Friday 9 October: half an hour, then all of Saturday, then Monday.
    assert review_due(desk, clock, 2026, 10, 9, 17, 0) == local(2026, 10, 12, 17, 0)
    # An ordinary Saturday counts nothing; make-up Sunday 20 September counts.
    assert review_due(desk, clock, 2026, 9, 19, 12, 0) == local(2026, 9, 21, 17, 30)
    # Spring Festival: Saturday 14 February worked, 15-23 February off.
    assert review_due(desk, clock, 2026, 2, 13, 16, 30) == local(2026, 2, 24, 16, 30)


def test_the_resident_reads_the_real_due_time(app, desk, clock, browser):
    due = review_due(desk, clock, 2026, 9, 30, 14, 0)
    db.session.rollback()
    page = browser("resident").get("/my/").text
    assert "by 10-09 14:00" in page, page
    assert due == local(2026, 10, 9, 14, 0)


# -- office hours: edges ---------------------------------------------------------------------------

@pytest.mark.parametrize("armed, due", [
    # After hours on Monday: from Tuesday 08:30, 7.5 h a day, so Thursday 11:30.
    ((2026, 11, 16, 19, 0), (2026, 11, 19, 11, 30)),
    # At lunch: from 13:30 (4 h on Monday), Tuesday, then 6.5 h of Wednesday.
    ((2026, 11, 16, 12, 30), (2026, 11, 18, 16, 30)),
    # At 12:00 sharp, the end of the morning: as at lunch.
    ((2026, 11, 16, 12, 0), (2026, 11, 18, 16, 30)),
    # Before opening on Monday: 7.5 + 7.5 + 3 h, Wednesday 11:30.
    ((2026, 11, 16, 7, 0), (2026, 11, 18, 11, 30)),
    # On a Sunday: as from Monday 08:30.
    ((2026, 11, 15, 15, 0), (2026, 11, 18, 11, 30)),
])
def test_office_hours_with_a_lunch_break(desk, estate, clock, armed, due):
    set_calendar(estate)
    assert review_due(desk, clock, *armed) == local(*due)


def test_a_closed_day_counts_nothing_not_even_on_a_make_up_saturday(desk, estate, clock):
    set_calendar(estate, closed_days=[{"day": "2026-11-17", "note": "Staff training"},
                                      {"day": "2026-10-10", "note": "Estate fair"}])
    # Monday 17:00: half an hour, Tuesday closed, Wednesday and Thursday, 2.5 h on Friday.
    assert review_due(desk, clock, 2026, 11, 16, 17, 0) == local(2026, 11, 20, 11, 0)
    # Armed on the closed make-up Saturday: from Monday 12 October.
    assert review_due(desk, clock, 2026, 10, 10, 9, 0) == local(2026, 10, 14, 11, 30)


def test_with_the_holidays_switched_off_national_day_is_a_week_like_any_other(
        desk, estate, clock):
    set_calendar(estate, hours={key: [{"opens": "08:30", "closes": "17:30"}]
                                for key in ("mon", "tue", "wed", "thu", "fri")},
                 public_holidays=False)
    # Thursday 1 October counts; Saturday 10 October does not.
    assert review_due(desk, clock, 2026, 9, 30, 14, 0) == local(2026, 10, 2, 14, 0)
    assert review_due(desk, clock, 2026, 10, 9, 17, 0) == local(2026, 10, 13, 17, 0)


def test_a_make_up_working_day_keeps_the_hours_of_an_ordinary_weekday(desk, estate, clock):
    set_calendar(estate, hours={"tue": [{"opens": "09:00", "closes": "12:00"}],
                                "sat": [{"opens": "10:00", "closes": "11:00"}]})
    # Saturday 10 October is worked with Tuesday's hours (the first weekday with any).
    office = calendars.of_estate(1)
    assert office.spans(date(2026, 10, 10)) == ((time(9), time(12)),)
    assert office.spans(date(2026, 10, 17)) == ((time(10), time(11)),)
    assert office.spans(date(2026, 10, 6)) == ()  # a holiday Tuesday


def test_past_the_packages_last_year_office_time_counts_weekdays_and_says_so(
        desk, estate, clock, caplog):
    assert calendars.HOLIDAYS_UNTIL == 2026
    set_calendar(estate, closed_days=[{"day": "2027-01-04", "note": "New year, by hand"}])
    calendars._holidays_unknown.cache_clear()
    with caplog.at_level(logging.WARNING, logger="workflows.calendars"):
        # Friday 1 January 2027 is not known to be a holiday: it counts; Monday 4 is closed.
        due = review_due(desk, clock, 2027, 1, 1, 8, 30)
    assert due == local(2027, 1, 6, 11, 30)
    assert "up to 2026 only: office time in 2027" in caplog.text


# -- the other deadline paths ----------------------------------------------------------------------

# The complaint's reply in office time (with no promised time) and the renovation's daily
# inspection as nine office hours, to run pause, resume, re-arming and repeats in office time.
OFFICE_RULES = (RULES_TEXT
                .replace('due_from = "promised_at"\nwithin = "48h"\npoints = -5',
                         'calendar = "office"\nwithin = "18h"\npoints = -5', 1)
                .replace('repeats = true\nwithin = "24h"', 'repeats = true\ncalendar = "office"\n'
                         'within = "9h"', 1))


@pytest.fixture
def office_rules(app, tmp_path):
    assert OFFICE_RULES.count('calendar = "office"') == 4
    rules = tmp_path / "rules.toml"
    rules.write_text(OFFICE_RULES, encoding="utf-8")
    app.extensions["butlerdesk.rules"] = load_rules(rules)
    return app


def test_a_paused_reply_keeps_what_is_left_in_office_time_and_resumes_with_it(
        office_rules, desk, clock):
    clock.move_to(local(2026, 11, 16, 9, 0), tick=False)  # Monday
    complaint = desk.open("resident", "complaint", "Noise at night").id
    assert deadline(complaint, "reply").due_at == local(2026, 11, 18, 9, 0)
    desk.fire(complaint, "accept", "butler")
    clock.move_to(local(2026, 11, 16, 16, 30), tick=False)  # 7.5 h used, 10.5 h left
    desk.fire(complaint, "wait_resident", "butler", note="Which night?")
    paused = deadline(complaint, "reply")
    assert (paused.status, paused.due_at, paused.remaining_seconds) == (
        "paused", None, int(timedelta(hours=10.5).total_seconds()))
    # The resident answers on Saturday: the clock goes on from Monday 08:30.
    clock.move_to(local(2026, 11, 21, 11, 0), tick=False)
    desk.fire(complaint, "resume", "resident")
    resumed = deadline(complaint, "reply")
    assert (resumed.status, resumed.due_at) == ("running", local(2026, 11, 24, 10, 0))
    assert resumed.notice_at == local(2026, 11, 24, 6, 0)  # warn_before 4h, on the clock


def test_a_progress_update_rearms_the_reply_in_office_time(office_rules, desk, clock):
    clock.move_to(local(2026, 11, 20, 16, 0), tick=False)  # Friday
    complaint = desk.open("resident", "complaint", "Noise at night").id
    assert deadline(complaint, "reply").due_at == local(2026, 11, 24, 16, 0)  # 1.5 + 9 + 7.5 h
    desk.fire(complaint, "accept", "butler")
    clock.move_to(local(2026, 11, 23, 10, 0), tick=False)  # Monday
    desk.fire(complaint, "progress_update", "butler", note="Asked the neighbour",
              promised_at=local(2026, 11, 23, 16, 0))
    first, second = all_deadlines(complaint, "reply")
    assert (first.status, second.status) == ("met", "running")
    assert second.due_at == local(2026, 11, 25, 10, 0)  # 7.5 + 9 + 1.5 h


def test_a_missed_inspection_in_office_time_arms_the_next_period_in_office_time(
        office_rules, desk, clock):
    clock.move_to(local(2026, 11, 20, 9, 0), tick=False)  # Friday
    permit = desk.open("resident", "renovation", "New kitchen").id
    desk.fire(permit, "approve", "butler")
    desk.fire(permit, "start_works", "resident")
    assert deadline(permit, "inspection").due_at == local(2026, 11, 23, 9, 0)
    clock.move_to(local(2026, 11, 24, 12, 0), tick=False)
    assert sweeper.sweep() == 2  # Monday 09:00, then Tuesday 09:00
    periods = all_deadlines(permit, "inspection")
    assert [(p.status, p.due_at) for p in periods] == [
        ("missed", local(2026, 11, 23, 9, 0)), ("missed", local(2026, 11, 24, 9, 0)),
        ("running", local(2026, 11, 25, 9, 0))]


def test_the_sweeper_charges_an_office_time_miss_at_its_due_time_and_not_before(
        desk, estate, clock):
    due = review_due(desk, clock, 2026, 9, 30, 14, 0)
    clock.move_to(due - timedelta(seconds=1), tick=False)
    assert sweeper.sweep() == 0
    clock.move_to(due + timedelta(days=3), tick=False)
    assert sweeper.sweep() == 1
    [miss] = deductions()
    assert (miss.deadline.name, miss.missed_at, miss.butler_id) == ("review", due, estate.butler)


def test_a_deadline_armed_before_a_change_of_calendar_keeps_its_due_time(desk, estate, clock):
    due = review_due(desk, clock, 2026, 11, 16, 9, 0)
    set_calendar(estate, closed_days=[{"day": "2026-11-17"}])
    assert deadline(1, "review").due_at == due == local(2026, 11, 18, 9, 0)


# -- the property ----------------------------------------------------------------------------------

HOURS = st.lists(st.tuples(st.integers(0, 23 * 60), st.integers(15, 6 * 60)), max_size=3)


def _week(spans_by_day) -> tuple:
    """Office hours from (start minute, length) pairs, trimmed to the day, overlaps merged."""
    week = []
    for spans in spans_by_day:
        merged: list[list[int]] = []
        for start, length in sorted(spans):
            end = min(start + length, 23 * 60 + 59)
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            elif end > start:
                merged.append([start, end])
        week.append(tuple((time(*divmod(s, 60)), time(*divmod(e, 60))) for s, e in merged))
    return tuple(week)


@settings(max_examples=300, deadline=None, database=None)
@given(week=st.lists(HOURS, min_size=7, max_size=7).filter(lambda w: any(w)),
       holidays=st.booleans(),
       closed=st.sets(st.dates(date(2026, 9, 1), date(2026, 10, 31)), max_size=10),
       start=st.datetimes(datetime(2026, 9, 1), datetime(2027, 1, 31), timezones=st.just(UTC)),
       a=st.integers(1, 40 * 3600), b=st.integers(1, 40 * 3600))
def test_office_time_adds_up_and_always_falls_in_office_hours(week, holidays, closed, start, a,
                                                             b):
    office = calendars.OfficeCalendar(_week(week), holidays, frozenset(closed), SHANGHAI)
    a, b = timedelta(seconds=a), timedelta(seconds=b)
    due = office.add(start, a)
    assert office.add(due, b) == office.add(start, a + b)
    assert office.between(start, due) == a
    wall = due.astimezone(SHANGHAI)
    assert any(opens < wall.time() <= closes for opens, closes in office.spans(wall.date()))


# -- the page and the API --------------------------------------------------------------------------

def test_a_supervisor_sets_the_calendar_on_its_page(app, browser, clock):
    supervisor = browser("supervisor")
    assert supervisor.get("/estates/calendars").location.endswith("/estates/1/calendar")
    page = supervisor.get("/estates/1/calendar").text
    assert "Not set yet" in page
    assert 'value="08:30-17:30"' in field_html(page, "hours_mon")
    saved = supervisor.post("/estates/1/calendar", data={
        "csrf_token": csrf_token(page), "hours_mon": "08:30-12:00，13:30 ～ 17:30",
        "hours_sat": "9:00-11:00", "closed_days": "2026-12-24 Staff training\n",
    })
    assert saved.status_code == 302
    page = supervisor.get("/estates/1/calendar").text
    assert flashes(page, "success") == [
        "Office calendar saved: deadlines counted in office time use it from now on."]
    assert 'value="08:30-12:00, 13:30-17:30"' in field_html(page, "hours_mon")
    assert 'value="09:00-11:00"' in field_html(page, "hours_sat")
    assert 'value=""' in field_html(page, "hours_tue")
    assert "2026-12-24 Staff training" in field_html(page, "closed_days")
    assert "checked" not in field_html(page, "public_holidays")
    with app.app_context():
        row = db.session.get(EstateCalendar, 1)
        assert (row.public_holidays, len(row.hours), [d.note for d in row.closed_days]) == (
            False, 3, ["Staff training"])


def test_the_page_shows_the_coming_holidays_and_make_up_days_and_where_they_end(
        app, browser, clock):
    clock.move_to(local(2026, 9, 1, 9, 0), tick=False)
    page = browser("supervisor", "zh").get("/estates/1/calendar").text
    assert "2026-09-20: 调休上班（国庆节）" in page
    assert "2026-10-01 – 2026-10-07" in page and "国庆节" in page and "放假 7 天" in page
    assert "2026-10-10" in page
    assert "只收录到 2026 年" in page
    workflows = browser("supervisor").get("/supervisor/workflows").text
    row = workflows[workflows.index('data-deadline="review"'):]
    assert "office hours only" in row[:row.index("</tr>")]


BAD = [
    # (the calendar sent, the field named, what it says)
    ({"mon": [{"opens": "13:00", "closes": "12:00"}]}, "hours.mon", "ends before it starts"),
    ({"tue": [{"opens": "08:30", "closes": "12:00"}, {"opens": "11:00", "closes": "14:00"}]},
     "hours.tue", "08:30-12:00 and 11:00-14:00 overlap"),
    ({"wed": [{"opens": "8.30", "closes": "12:00"}]}, "hours.wed",
     "'8.30' is not a time of day like 08:30"),
    ({"mon": [{"opens": "08:30", "closes": "17:30"}], "moon": []}, "hours.moon",
     "unknown weekday"),
    ({"mon": []}, "hours", "give office hours on at least one day of the week"),
    ({"mon": "08:30-17:30"}, "hours.mon", "must be a list of"),
]
BAD_DAYS = [
    ([{"day": "2026-12-24"}, {"day": "2026-12-24", "note": "again"}], "2026-12-24 is given twice"),
    ([{"day": "2026-02-30"}], "'2026-02-30' is not a date like 2026-12-24"),
    ([{"day": "24/12/2026"}], "'24/12/2026' is not a date like 2026-12-24"),
    ([{"day": "2026-12-24", "note": "x" * 201}], "at most 200 characters"),
    ("2026-12-24", "must be a list of"),
]


def _counts(app) -> tuple:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (EstateCalendar, OfficeHours, ClosedDay))


@pytest.mark.parametrize("hours, field, says", BAD)
def test_bad_office_hours_are_refused_naming_the_field_and_change_nothing(
        app, client, estate, hours, field, says):
    headers = token_for(client, "supervisor")  # before the test's context reads anything
    with app.app_context():
        set_calendar(estate)
    before = _counts(app)
    reply = client.put(f"{API}/estates/1/calendar", headers=headers, json={
        "hours": hours, "public_holidays": True, "closed_days": []})
    assert_error(reply, 422, "invalid", field)
    assert says in reply.json["error"]["fields"][field]
    assert _counts(app) == before


@pytest.mark.parametrize("days, says", BAD_DAYS)
def test_bad_closed_days_are_refused_naming_the_field_and_change_nothing(
        app, client, estate, days, says):
    headers = token_for(client, "supervisor")
    before = _counts(app)
    with app.app_context(), pytest.raises(InvalidData) as refused:
        calendars.set_calendar(estate.user("supervisor"), 1, LUNCH_BREAK, True, days)
    assert says in str(refused.value.fields["closed_days"])
    assert _counts(app) == before
    reply = client.put(f"{API}/estates/1/calendar", headers=headers, json={
        "hours": LUNCH_BREAK, "public_holidays": "yes", "closed_days": days})
    assert_error(reply, 422, "invalid", "closed_days")
    assert reply.json["error"]["fields"]["public_holidays"] == "must be true or false"
    assert _counts(app) == before


def test_a_bad_calendar_on_the_page_is_shown_next_to_its_field_and_kept(app, browser, clock):
    supervisor = browser("supervisor")
    page = supervisor.get("/estates/1/calendar").text
    sent = supervisor.post("/estates/1/calendar", data={
        "csrf_token": csrf_token(page), "hours_mon": "13:00-12:00",
        "hours_fri": "08:30-12:00, 11:00-14:00", "public_holidays": "y",
        "closed_days": "2026-12-24 Training\n2026-12-24 Again"})
    assert sent.status_code == 422
    page = sent.text
    assert "There is a problem" in page
    assert "13:00-12:00 ends before it starts" in field_html(page, "hours_mon")
    assert 'value="13:00-12:00"' in field_html(page, "hours_mon")
    assert "08:30-12:00 and 11:00-14:00 overlap" in field_html(page, "hours_fri")
    assert "2026-12-24 is given twice" in field_html(page, "closed_days")
    assert "2026-12-24 Again" in field_html(page, "closed_days")
    with app.app_context():
        assert db.session.get(EstateCalendar, 1) is None


def test_the_api_reads_and_replaces_the_calendar_for_supervisors_only(app, client):
    supervisor, butler, resident = (token_for(client, who)
                                    for who in ("supervisor", "butler", "resident"))
    read = client.get(f"{API}/estates/1/calendar", headers=butler)
    assert read.status_code == 200
    assert (read.json["default"], read.json["hours"]["mon"], read.json["hours"]["sat"],
            read.json["holidays_until"]) == (
        True, [{"opens": "08:30", "closes": "17:30"}], [], 2026)
    assert_error(client.get(f"{API}/estates/1/calendar", headers=resident), 403, "forbidden")
    assert_error(client.get(f"{API}/estates/99/calendar", headers=butler), 404, "not_found")
    change = {"hours": {"mon": [{"opens": "08:30", "closes": "12:00"}]},
              "public_holidays": False, "closed_days": [{"day": "2026-12-24", "note": "训练"}]}
    assert_error(client.put(f"{API}/estates/1/calendar", headers=butler, json=change), 403)
    saved = client.put(f"{API}/estates/1/calendar", headers=supervisor, json=change)
    assert saved.status_code == 200, saved.json
    assert (saved.json["default"], saved.json["hours"]["mon"], saved.json["hours"]["tue"],
            saved.json["public_holidays"], saved.json["closed_days"]) == (
        False, [{"opens": "08:30", "closes": "12:00"}], [], False,
        [{"day": "2026-12-24", "note": "训练"}])
