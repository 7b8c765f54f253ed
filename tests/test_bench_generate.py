"""The benchmarks' company (bench/generate.py): 20 estates, each with its own supervisor, the
units, butlers and tickets spread over them, read through the app as `make bench` reads it."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from bench import generate
from bench.common import NOW, make_app
from models import (
    Area,
    Building,
    Deadline,
    DeadlineStatus,
    EstateSupervisor,
    Role,
    Ticket,
    Unit,
    User,
    db,
)
from workflows import calendars, queries
from workflows.rules import OFFICE
from workflows.rules import current as current_rules

SIZE = 1500  # the open tickets (generate.OPEN_TICKETS) and a little history


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "company.sqlite3"
    info = generate.generate(SIZE, generate.SqliteWriter(path))
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        yield info
        db.session.remove()
        db.engine.dispose()


def estate_of_tickets():
    return (select(Area.estate_id, func.count(Ticket.id))
            .join(Building, Building.area_id == Area.id).join(Unit, Unit.building_id == Building.id)
            .join(Ticket, Ticket.unit_id == Unit.id).group_by(Area.estate_id))


def test_twenty_estates_each_with_its_own_supervisor(company):
    supervised = db.session.execute(select(EstateSupervisor.estate_id,
                                           EstateSupervisor.supervisor_id)).all()
    assert sorted(estate for estate, _ in supervised) == list(range(1, 21))
    supervisors = {supervisor for _, supervisor in supervised}
    assert len(supervisors) == 20
    assert set(db.session.scalars(select(User.id).where(User.role == Role.SUPERVISOR))) == \
        supervisors
    assert db.session.get(User, company["admin"]).role == Role.ADMIN
    assert company["estates"] == 20


def test_the_totals_of_one_estate_spread_over_twenty(company):
    counts = company["counts"]
    assert counts["tickets"] == SIZE and counts["units"] == 7200
    assert db.session.scalar(select(func.count(Area.id))) == 24
    tickets_by_estate = dict(db.session.execute(estate_of_tickets()).all())
    assert set(tickets_by_estate) == set(range(1, 21)) and sum(tickets_by_estate.values()) == SIZE
    # Each butler still answers for 600 units (two areas), as with one estate of 12 areas.
    units_of = Counter(db.session.scalars(
        select(Area.butler_id).join(Building, Building.area_id == Area.id)
        .join(Unit, Unit.building_id == Building.id)))
    assert sorted(units_of) == sorted(company["area_butlers"])
    assert set(units_of.values()) == {600}
    assert len(company["units_of_subject"]) == 600


def test_the_timed_supervisor_sees_their_estate_and_the_admin_all(company):
    supervisor = db.session.get(User, company["supervisor"])
    theirs = db.session.scalar(select(EstateSupervisor.estate_id)
                               .where(EstateSupervisor.supervisor_id == supervisor.id))
    in_theirs = dict(db.session.execute(estate_of_tickets()).all())[theirs]
    assert 0 < in_theirs < SIZE
    assert queries.tickets(supervisor, NOW)[1] == in_theirs
    assert queries.tickets(db.session.get(User, company["admin"]), NOW)[1] == SIZE
    # The timed butler's units are in the timed supervisor's estate.
    subject_units = set(company["units_of_subject"])
    assert subject_units <= set(db.session.scalars(
        select(Unit.id).join(Building).join(Area).where(Area.estate_id == theirs)))


def test_deadlines_in_office_time_are_due_as_the_engine_makes_them(company):
    """The simulator's office time is the engine's (workflows.calendars.due_at), so the missed
    reviews and acceptances are only the few made late on purpose."""
    renovation = current_rules().kind("renovation")
    office = [rule for rule in renovation.deadlines.values() if rule.calendar == OFFICE]
    assert office
    for rule in office:
        rows = db.session.execute(
            select(Deadline.due_at, Deadline.armed_at, Ticket.unit_id).join(Ticket)
            .where(Deadline.name == rule.name, Deadline.status != DeadlineStatus.PAUSED)).all()
        assert rows
        for due, armed, unit in rows:
            assert due == calendars.due_at(rule, unit, armed, rule.within)
    missed = db.session.scalar(select(func.count(Deadline.id)).where(
        Deadline.name.in_([rule.name for rule in office]),
        Deadline.status == DeadlineStatus.MISSED))
    assert missed <= len(office) * 20
