"""An estate's own durations and points of deadlines (workflows.overrides): a premium estate's
repairs are due on site within 15 minutes and cost more when missed, the other estate keeps the
rules file's 20 minutes; the values are checked as the rules loader checks the file, read by the
estate's supervisors, changed by the company's admin, and shown on the workflows page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import (
    SINCE_RECORDS,
    Area,
    AreaButler,
    AuditEntry,
    Building,
    Estate,
    EstateRuleOverride,
    EstateSupervisor,
    Role,
    Unit,
    User,
    db,
)
from tests.api import API, assert_error, token_for
from tests.conftest import PASSWORD, T0, database_copy
from tests.helpers import deadline, deductions
from tests.pages import csrf_token, field_html, flashes, log_in
from workflows import engine, overrides, sweeper
from workflows.errors import InvalidData

PREMIUM_ON_SITE = [{"kind": "repair", "deadline": "on_site", "within": "15m", "points": -5}]


@dataclass
class Premium:
    id: int
    resident: int

    def open(self, title: str, kind: str = "repair"):
        """A ticket of its resident's, through the engine."""
        return engine.open_ticket(db.session.get(User, self.resident), kind, title)


def _build_premium() -> Premium:
    """A second estate, its one area kept by the relief butler, with one resident."""
    butler = db.session.scalar(select(User).where(User.username == "relief_butler"))
    estate = Estate(name="Premium")
    area = Area(estate=estate, name="Villas", butler=butler)
    unit = Unit(building=Building(area=area, name="A栋"), number="1")
    resident = User(username="villa_resident", name="Villa", role=Role.RESIDENT, unit=unit)
    resident.set_password(PASSWORD)
    db.session.add_all([estate, unit, resident,
                        AreaButler(area=area, butler=butler, starts_at=SINCE_RECORDS)])
    db.session.commit()
    return Premium(estate.id, resident.id)


@pytest.fixture
def client(app):
    """The pages in English."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def premium(app) -> Premium:
    with app.app_context():
        return _build_premium()


def overridden(estate, estate_id: int, given=PREMIUM_ON_SITE) -> None:
    overrides.set_overrides(estate.user("admin"), estate_id, given)


def stored(app) -> list[tuple]:
    with app.app_context():
        return [(r.estate_id, r.kind, r.deadline, r.within, r.points)
                for r in db.session.scalars(select(EstateRuleOverride))]


# -- the done-when: through the engine and the sweeper ---------------------------------------------

def test_a_repair_in_the_premium_estate_is_due_on_site_in_15_minutes_the_other_estate_in_20(
        desk, estate, premium, clock):
    overridden(estate, premium.id)
    villa = premium.open("Burst pipe")
    garden = desk.open("resident", title="Burst pipe")
    assert deadline(villa.id, "on_site").due_at == T0 + timedelta(minutes=15)
    assert deadline(garden.id, "on_site").due_at == T0 + timedelta(minutes=20)
    # Its warning still comes 10 minutes before it is due; the deadlines not overridden keep
    # the file's values in the premium estate too.
    assert deadline(villa.id, "on_site").notice_at == T0 + timedelta(minutes=5)
    assert deadline(villa.id, "completion").due_at == T0 + timedelta(hours=24)

    clock.move_to(T0 + timedelta(minutes=16), tick=False)
    sweeper.sweep()
    sweeper.sweep()
    assert [(d.ticket_id, d.points, d.missed_at) for d in deductions()] == [
        (villa.id, -5, T0 + timedelta(minutes=15))]
    assert deductions()[0].butler_id == estate.relief_butler

    clock.move_to(T0 + timedelta(minutes=21), tick=False)
    sweeper.sweep()
    assert [(d.ticket_id, d.points) for d in deductions()] == [(villa.id, -5), (garden.id, -2)]


def test_a_step_taken_late_records_the_estates_miss_and_the_sweeper_adds_none(
        desk, estate, premium, clock):
    overridden(estate, premium.id)
    villa = premium.open("No hot water")
    clock.move_to(T0 + timedelta(minutes=16), tick=False)
    desk.fire(villa, "dispatch", "relief_butler", technician_id=estate.technician)
    sweeper.sweep()
    assert [(d.points, d.article) for d in deductions(villa.id)] == [(-5, 4)]


def test_a_running_clock_keeps_its_due_time_and_points_when_the_estate_changes_them(
        desk, estate, premium, clock):
    villa = premium.open("Lift stuck")
    overridden(estate, premium.id)
    assert deadline(villa.id, "on_site").due_at == T0 + timedelta(minutes=20)
    clock.move_to(T0 + timedelta(minutes=21), tick=False)
    sweeper.sweep()
    assert [d.points for d in deductions(villa.id)] == [-2]


def test_a_promised_reply_may_be_as_far_ahead_as_the_estates_deadline(desk, estate, premium,
                                                                    clock):
    overridden(estate, premium.id, [{"kind": "complaint", "deadline": "reply", "within": "24h"}])
    complaint = premium.open("Noise at night", "complaint")
    assert deadline(complaint.id, "reply").due_at == T0 + timedelta(hours=24)
    desk.fire(complaint, "accept", "relief_butler")
    with pytest.raises(InvalidData) as refused:
        desk.fire(complaint, "progress_update", "relief_butler", note="Asked the neighbour",
                  promised_at=T0 + timedelta(hours=30))
    assert "promised_at" in refused.value.fields


DURATIONS = st.one_of(  # (as written, in minutes): every duration the on-site deadline takes
    st.integers(11, 366 * 24 * 60).map(lambda m: (f"{m}m", m)),
    st.integers(1, 366 * 24).map(lambda h: (f"{h}h", 60 * h)),
    st.integers(1, 366).map(lambda d: (f"{d}d", 24 * 60 * d)))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(within=DURATIONS, reported_after=st.integers(0, 7 * 24 * 60),
       points=st.integers(-100, -1))
def test_the_due_time_is_the_arming_plus_the_estates_duration_for_any_valid_override(
        databases, template_db, clock, within, reported_after, points):
    written, minutes = within
    estate = template_db[1]
    with database_copy(databases, template_db):
        premium = _build_premium()
        overridden(estate, premium.id, [{"kind": "repair", "deadline": "on_site",
                                         "within": written, "points": points}])
        armed = T0 + timedelta(minutes=reported_after)
        clock.move_to(armed, tick=False)
        on_site = deadline(premium.open("Tap leaking").id, "on_site")
        assert (on_site.due_at, on_site.points) == (armed + timedelta(minutes=minutes), points)


# -- what is refused, and nothing saved ------------------------------------------------------------

@pytest.mark.parametrize("entry, field", [
    ({"kind": "plumbing", "deadline": "on_site", "within": "15m"}, "overrides.0.kind"),
    ({"kind": "repair", "deadline": "arrival", "within": "15m"}, "overrides.0.deadline"),
    ({"kind": "repair", "deadline": "on_site", "within": "15 minutes"}, "overrides.0.within"),
    ({"kind": "repair", "deadline": "on_site", "within": "0m"}, "overrides.0.within"),
    ({"kind": "repair", "deadline": "on_site", "within": "400d"}, "overrides.0.within"),
    ({"kind": "repair", "deadline": "on_site", "within": 15}, "overrides.0.within"),
    # as long as its warning: the warning would come when the deadline is set
    ({"kind": "repair", "deadline": "on_site", "within": "10m"}, "overrides.0.within"),
    # the review counts office time: a day of it is not 24 hours
    ({"kind": "renovation", "deadline": "review", "within": "2d"}, "overrides.0.within"),
    ({"kind": "repair", "deadline": "on_site", "points": 3}, "overrides.0.points"),
    ({"kind": "repair", "deadline": "on_site", "points": 0}, "overrides.0.points"),
    ({"kind": "repair", "deadline": "on_site", "points": -101}, "overrides.0.points"),
    ({"kind": "repair", "deadline": "on_site", "points": "-3"}, "overrides.0.points"),
    ({"kind": "repair", "deadline": "on_site", "points": True}, "overrides.0.points"),
    ({"kind": "repair", "deadline": "on_site", "article": 5}, "overrides.0.article"),
])
def test_a_bad_override_is_refused_naming_its_field_and_nothing_is_saved(
        app, client, premium, entry, field):
    headers = token_for(client, "admin")
    given = [{"kind": "repair", "deadline": "completion", "within": "12h"}, entry]
    reply = client.put(f"{API}/estates/{premium.id}/rules", headers=headers,
                       json={"overrides": [entry]})
    assert_error(reply, 422, "invalid", field)
    reply = client.put(f"{API}/estates/{premium.id}/rules", headers=headers,
                       json={"overrides": given})
    assert_error(reply, 422, "invalid", field.replace(".0.", ".1."))
    assert stored(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize("sent, field", [
    ({"overrides": "15m"}, "overrides"), ({"overrides": ["15m"]}, "overrides.0"),
    ({"overrides": PREMIUM_ON_SITE * 2}, "overrides.1"), ({}, "overrides"),
])
def test_overrides_not_given_as_a_list_of_entries_are_refused(app, client, premium, sent, field):
    reply = client.put(f"{API}/estates/{premium.id}/rules", headers=token_for(client, "admin"),
                       json=sent)
    assert_error(reply, 422, "invalid", field)
    assert stored(app) == []


# -- the API: who reads, who changes, the audit log ------------------------------------------------

def test_the_admin_sets_an_estates_values_and_the_change_is_in_the_audit_log(
        app, client, estate, premium):
    headers = token_for(client, "admin")
    reply = client.put(f"{API}/estates/{premium.id}/rules", headers=headers,
                       json={"overrides": PREMIUM_ON_SITE})
    assert reply.status_code == 200, reply.json
    on_site = next(d for d in reply.json["deadlines"] if d["deadline"] == "on_site")
    assert on_site == {
        "kind": "repair", "deadline": "on_site", "label": on_site["label"], "calendar": "calendar",
        "file": {"within": "20m", "within_seconds": 1200, "points": -2},
        "in_force": {"within": "15m", "within_seconds": 900, "points": -5},
        "within": "15m", "points": -5, "overridden": True}
    assert not next(d for d in reply.json["deadlines"]
                    if d["deadline"] == "completion")["overridden"]
    # Only the points now: the duration goes back to the file's.
    client.put(f"{API}/estates/{premium.id}/rules", headers=headers,
               json={"overrides": [{"kind": "repair", "deadline": "on_site", "points": -3}]})
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert [(e.action, e.subject_type, e.subject_id, e.estate_id, e.actor_id, e.before,
                 e.after) for e in entries] == [
            ("rules_changed", "estate", premium.id, premium.id, estate.admin, {},
             {"repair.on_site.within": "15m", "repair.on_site.points": -5}),
            ("rules_changed", "estate", premium.id, premium.id, estate.admin,
             {"repair.on_site.within": "15m", "repair.on_site.points": -5},
             {"repair.on_site.points": -3})]
    # The other estate keeps the file's values.
    with app.app_context():
        garden_id = db.session.scalar(select(Estate.id).where(Estate.name == "Garden"))
    garden = client.get(f"{API}/estates/{garden_id}/rules", headers=headers).json
    assert not any(d["overridden"] for d in garden["deadlines"])


def test_the_estates_supervisor_reads_its_values_and_only_the_admin_changes_them(
        app, client, estate, premium):
    with app.app_context():
        db.session.add(EstateSupervisor(estate_id=premium.id, supervisor_id=estate.supervisor))
        db.session.commit()
    supervisor = token_for(client, "supervisor")
    assert client.get(f"{API}/estates/{premium.id}/rules", headers=supervisor).status_code == 200
    assert_error(client.put(f"{API}/estates/{premium.id}/rules", headers=supervisor,
                            json={"overrides": PREMIUM_ON_SITE}), 403)
    assert_error(client.get(f"{API}/estates/{premium.id}/rules",
                            headers=token_for(client, "butler")), 403)
    assert stored(app) == []


def test_a_supervisor_of_other_estates_does_not_find_this_one(client, premium):
    assert_error(client.get(f"{API}/estates/{premium.id}/rules",
                            headers=token_for(client, "supervisor")), 404)
    assert_error(client.get(f"{API}/estates/999/rules", headers=token_for(client, "admin")), 404)


# -- an override the rules file no longer allows ---------------------------------------------------

def test_an_override_the_rules_no_longer_allow_is_ignored_and_said_on_the_pages(
        app, client, desk, estate, premium):
    # As if the file had lost a deadline, and had set a warning the duration does not exceed.
    for name, within in (("inspection_visit", "2h"), ("on_site", "5m")):
        db.session.add(EstateRuleOverride(estate_id=premium.id, kind="repair", deadline=name,
                                          within=within, updated_at=T0))
    db.session.commit()
    villa = premium.open("Broken window")
    assert deadline(villa.id, "on_site").due_at - villa.reported_at == timedelta(minutes=20)
    db.session.rollback()

    ignored = client.get(f"{API}/estates/{premium.id}/rules",
                         headers=token_for(client, "admin")).json["ignored"]
    assert {(i["deadline"], *i["problems"]) for i in ignored} == {
        ("on_site", "within"), ("inspection_visit", "deadline")}
    log_in(client, "admin")
    page = client.get(f"/estates/{premium.id}/rules").text
    assert 'data-ignored="repair.inspection_visit"' in page
    assert "the rules file has no such deadline any more" in page
    assert "values of the estate are ignored" in client.get(
        f"/supervisor/workflows?estate={premium.id}").text


# -- the pages ---------------------------------------------------------------------------------

def _row(html: str, deadline_key: str) -> str:
    start = html.index(f'data-deadline="{deadline_key}"')
    return html[start:html.index("</tr>", start)]


def test_the_admin_changes_an_estates_values_on_its_page(app, client, premium):
    log_in(client, "admin")
    page = client.get(f"/estates/{premium.id}/rules")
    assert page.status_code == 200
    # Every deadline of the file, in the order of the file: within_0 is the repair's on_site.
    assert "20m" in _row(page.text, "repair.on_site")
    sent = client.post(f"/estates/{premium.id}/rules", data={
        "csrf_token": csrf_token(page.text), "within_0": "15m", "points_0": "-5"},
        follow_redirects=True)
    assert sent.status_code == 200
    assert flashes(sent.text, "success")
    assert stored(app) == [(premium.id, "repair", "on_site", "15m", -5)]
    assert 'class="estate-rule overridden"' in sent.text


def test_a_bad_value_on_the_page_is_said_next_to_its_input_and_what_was_typed_is_kept(
        app, client, premium):
    log_in(client, "admin")
    token = csrf_token(client.get(f"/estates/{premium.id}/rules").text)
    sent = client.post(f"/estates/{premium.id}/rules", data={
        "csrf_token": token, "within_0": "15 minutes", "points_1": "lots", "within_1": "12h"})
    assert sent.status_code == 422
    assert "is not a duration such as 20m, 24h or 7d" in field_html(sent.text, "within_0")
    assert 'value="15 minutes"' in field_html(sent.text, "within_0")
    assert "must be a whole number" in field_html(sent.text, "points_1")
    assert 'value="12h"' in field_html(sent.text, "within_1")
    assert "error-summary" in sent.text
    assert stored(app) == []


def test_the_supervisor_reads_the_estates_page_without_inputs(app, client, estate):
    with app.app_context():
        garden = db.session.scalar(select(Estate.id).where(Estate.name == "Garden"))
        overridden(estate, garden)
    log_in(client, "supervisor")
    page = client.get(f"/estates/{garden}/rules")
    assert page.status_code == 200
    assert "<input" not in _row(page.text, "repair.on_site")
    assert "15m" in _row(page.text, "repair.on_site")
    assert client.post(f"/estates/{garden}/rules", data={"csrf_token": csrf_token(page.text)}
                       ).status_code == 403


def test_the_workflows_page_shows_the_estates_values_and_marks_its_own(
        app, client, estate, premium):
    with app.app_context():
        overridden(estate, premium.id)
    log_in(client, "admin")
    page = client.get(f"/supervisor/workflows?estate={premium.id}").text
    row = _row(page, "on_site")
    assert '<tr class="deadline-rule overridden" data-deadline="on_site">' in page
    assert "15 min" in row and "the rules file: 20 min" in row
    assert "-5" in row and "the rules file: -2" in row
    assert f'href="/supervisor/workflows?estate={premium.id}"' in page  # the picker
    plain = _row(client.get("/supervisor/workflows").text, "on_site")
    assert "20 min" in plain and "15 min" not in plain
