"""Shared fixtures, in the Flask tutorial's style: `app`, `client`, `runner`, plus a small estate.

The schema (by the migrations) and the estate are built once per test session into a template
database; each test gets its own copy, so tests are isolated and fast. The databases are SQLite
files, or PostgreSQL databases when TEST_DATABASE_URL is set (see `databases`).
"""
from __future__ import annotations

import itertools
import os
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool
from werkzeug.serving import make_server

import models
from app import create_app
from models import SINCE_RECORDS, Area, AreaButler, Building, Role, Unit, User, db
from tests.servers import mailbox, webhook  # noqa: F401 (fixtures)
from workflows import engine

# The suite runs on SQLite, or on PostgreSQL when this names a maintenance database of a cluster
# the tests may fill with databases of their own (`make test-postgres` starts a throwaway one).
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")

# A fixed start for tests that move the clock: a Monday morning in Shanghai (01:00 UTC).
T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
PASSWORD = "secret"


@dataclass
class Estate:
    """Ids of the people and places every test can use."""

    resident: int          # lives in unit_a (East, butler's area)
    neighbour: int         # lives in unit_b (East)
    west_resident: int     # lives in unit_w (West, other_butler's area)
    butler: int
    other_butler: int
    relief_butler: int     # no area of their own
    technician: int
    other_technician: int
    supervisor: int
    admin: int             # the company's
    unit_a: int
    unit_b: int
    unit_w: int

    def user(self, name: str) -> User:
        return db.session.get(User, getattr(self, name))


def _build_estate() -> Estate:
    def person(username, role, unit=None, phone=None):
        user = User(username=username, name=username.title(), role=role, unit=unit, phone=phone)
        user.password_hash = hashed
        db.session.add(user)
        return user

    probe = User()
    probe.set_password(PASSWORD)
    hashed = probe.password_hash
    butler, other = person("butler", Role.BUTLER), person("other_butler", Role.BUTLER)
    estate = models.Estate(name="Garden")
    east, west = (Area(estate=estate, name="East", butler=butler),
                  Area(estate=estate, name="West", butler=other))
    b1, b4 = Building(area=east, name="1栋"), Building(area=west, name="4栋")
    unit_a, unit_b, unit_w = (Unit(building=b1, number="101"), Unit(building=b1, number="102"),
                              Unit(building=b4, number="101"))
    db.session.add_all([east, west, b1, b4, unit_a, unit_b, unit_w,
                        *(AreaButler(area=area, butler=area.butler, starts_at=SINCE_RECORDS)
                          for area in (east, west))])
    people = dict(
        resident=person("resident", Role.RESIDENT, unit_a, "138 0000 0101"),
        neighbour=person("neighbour", Role.RESIDENT, unit_b, "138 0000 0102"),
        west_resident=person("west_resident", Role.RESIDENT, unit_w, "139 0000 0401"),
        relief_butler=person("relief_butler", Role.BUTLER),
        technician=person("technician", Role.TECHNICIAN),
        other_technician=person("other_technician", Role.TECHNICIAN),
        supervisor=person("supervisor", Role.SUPERVISOR),
        admin=person("admin", Role.ADMIN),
    )
    estate.supervisors.append(people["supervisor"])
    db.session.commit()
    return Estate(butler=butler.id, other_butler=other.id,
                  unit_a=unit_a.id, unit_b=unit_b.id, unit_w=unit_w.id,
                  **{name: user.id for name, user in people.items()})


class SQLiteDatabases:
    """Test databases as files in a temporary folder; a copy of a template is a file copy."""

    def __init__(self, folder: Path):
        self.folder, self.names = folder, itertools.count()

    def empty(self) -> str:
        return f"sqlite:///{self.folder / f'db-{next(self.names)}.sqlite3'}"

    def copy_of(self, template: str) -> str:
        url = self.empty()
        shutil.copy(make_url(template).database, make_url(url).database)
        return url

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database)
        for leftover in path.parent.glob(path.name + "*"):  # with its -wal and -shm files
            leftover.unlink()


class PostgreSQLDatabases:
    """Test databases in the cluster of TEST_DATABASE_URL (scripts/with-postgres.sh starts one);
    a copy of a template is CREATE DATABASE ... TEMPLATE, and each xdist worker has its own names.

    Making and dropping a database takes a few hundred milliseconds, so a thread does it while
    tests run: the next copy of a template is made ahead, and used ones are dropped behind.
    """

    def __init__(self, maintenance_url: str, worker: str):
        self.url = make_url(maintenance_url)
        self.prefix, self.names = f"butlerdesk_{worker}_", itertools.count()
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.behind = ThreadPoolExecutor(max_workers=1)
        self.ahead: dict[str, Future] = {}

    def _run(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(sql)

    def _create(self, template: str | None = None) -> str:
        name = f"{self.prefix}{next(self.names)}"
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # left by an earlier run
        copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
        self._run(f'CREATE DATABASE "{name}"{copy}')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def empty(self) -> str:
        return self._create()

    def copy_of(self, template: str) -> str:
        made_ahead = self.ahead.pop(template, None)
        url = made_ahead.result() if made_ahead else self._create(template)
        self.ahead[template] = self.behind.submit(self._create, template)
        return url

    def drop(self, url: str) -> None:
        self.behind.submit(self._run, f'DROP DATABASE "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        self.behind.shutdown(wait=True)
        self.admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """Makes and drops test databases on SQLite, or on PostgreSQL when TEST_DATABASE_URL is set."""
    if TEST_DATABASE_URL:
        databases = PostgreSQLDatabases(TEST_DATABASE_URL,
                                        os.environ.get("PYTEST_XDIST_WORKER", "main"))
        yield databases
        databases.close()
    else:
        yield SQLiteDatabases(tmp_path_factory.mktemp("databases"))


def make_app(url: str, instance_path=None, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url,
                       **config}, instance_path=instance_path)


@contextmanager
def database_of(app):
    """Run in the app's context; on leaving, close every connection (the last one to close a
    SQLite file checkpoints its WAL, and PostgreSQL can only copy or drop an unused database)."""
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()
            db.engine.dispose()


@contextmanager
def database_copy(databases, template_db, **config):
    """An app on a copy of the template database of its own, in its context, dropped when done:
    one for each Hypothesis example (a function-scoped fixture would be shared by them all)."""
    url = databases.copy_of(template_db[0])
    try:
        with database_of(make_app(url, **config)):
            yield
    finally:
        databases.drop(url)


@pytest.fixture(scope="session")
def template_db(databases):
    """The schema, built by the migrations, and the small estate: (database URL, Estate)."""
    url = databases.empty()
    with database_of(make_app(url)):
        flask_migrate.upgrade()
        estate = _build_estate()
    return url, estate


@pytest.fixture
def database_url(databases, template_db):
    """A database of the test's own, a copy of the template."""
    url = databases.copy_of(template_db[0])
    yield url
    databases.drop(url)


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def estate(template_db) -> Estate:
    return template_db[1]


@pytest.fixture
def ctx(app):
    """Run the test inside an application context (engine, sweeper and queries need one)."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def clock(time_machine):
    """The one clock, stopped at T0; move it with clock.shift(timedelta) or clock.move_to(dt)."""
    time_machine.move_to(T0, tick=False)
    return time_machine


class Desk:
    """Drive the engine as people would, always with the version they just read."""

    def __init__(self, estate: Estate):
        self.estate = estate

    def open(self, who: str, kind: str = "repair", title: str = "Tap leaking", **kwargs):
        return engine.open_ticket(self.estate.user(who), kind, title, **kwargs)

    def fire(self, ticket, trigger: str, who: str, **data):
        ticket_id = ticket if isinstance(ticket, int) else ticket.id
        from models import Ticket

        version = db.session.get(Ticket, ticket_id).version
        return engine.fire(ticket_id, trigger, self.estate.user(who), version, **data)


@pytest.fixture
def desk(ctx, estate) -> Desk:
    return Desk(estate)


@dataclass
class Harbour:
    """A second estate beside Garden, with a supervisor of its own: what Garden's supervisor
    must never see (ids; `marks` are words only Harbour's things show)."""

    estate: int
    supervisor: int
    butler: int
    resident: int
    area: int
    building: int
    unit: int
    tickets: dict[str, int]    # overdue (a dispatched repair), escalated, cancelled, extended
    leave: int
    shift: int
    handover: int
    extension: int
    notices: dict[str, int]    # email about a ticket, and one about no ticket
    marks = ("Harbour", "Quay", "9栋", "Harbour_Butler", "Harbour_Resident", "Harbour_Supervisor",
             "Seawall")

    def user(self, name: str) -> User:
        return db.session.get(User, getattr(self, name))


def _fire(ticket_id: int, trigger: str, actor: User, **data):
    return engine.fire(ticket_id, trigger, actor, db.session.get(models.Ticket, ticket_id).version,
                       **data)


@pytest.fixture
def harbour(app, estate, clock) -> Harbour:
    """Harbour, a second estate: its supervisor, butler, area Quay, building 9栋, unit 901 and
    resident; tickets opened two days before T0 (a repair dispatched and overdue, with a request
    for more time; a complaint escalated; a repair its butler cancelled for the resident), a
    leave asked for, a shift of its rota with its hand-over, and notices sent by email."""
    from datetime import timedelta

    from workflows import cover, extensions, sweeper

    with app.app_context():
        hashed = estate.user("butler").password_hash
        place = models.Estate(name="Harbour")

        def person(username, role, **more):
            user = User(username=username, name=username.title(), role=role,
                        password_hash=hashed, **more)
            db.session.add(user)
            return user

        butler = person("harbour_butler", Role.BUTLER, email="quay@example.com")
        area = Area(estate=place, name="Quay", butler=butler)
        building = Building(area=area, name="9栋")
        unit = Unit(building=building, number="901")
        resident = person("harbour_resident", Role.RESIDENT, unit=unit, phone="137 0000 0901",
                          email="resident901@example.com")
        supervisor = person("harbour_supervisor", Role.SUPERVISOR)
        place.supervisors.append(supervisor)
        db.session.add(AreaButler(area=area, butler=butler, starts_at=SINCE_RECORDS))
        db.session.commit()
        clock.move_to(T0 - timedelta(days=2))
        opened = {name: engine.open_ticket(resident, kind, f"Seawall {name}").id
                  for name, kind in (("overdue", "repair"), ("escalated", "complaint"),
                                     ("cancelled", "repair"))}
        _fire(opened["overdue"], "dispatch", butler, technician_id=estate.technician)
        _fire(opened["escalated"], "accept", butler)
        _fire(opened["escalated"], "escalate", butler, note="Seawall needs the developer")
        _fire(opened["cancelled"], "cancel", butler, reason="Seawall fixed by a neighbour")
        clock.move_to(T0)
        sweeper.sweep()
        opened["extended"] = engine.open_ticket(resident, "repair", "Seawall gate").id
        _fire(opened["extended"], "dispatch", butler, technician_id=estate.technician)
        asked = extensions.request_extension(butler, opened["extended"], "completion",
                                             T0 + timedelta(days=2), "Seawall part")
        leave = cover.request_leave(butler, None, T0 + timedelta(days=1), T0 + timedelta(days=2),
                                    reason="Seawall family")
        shift = models.DutyShift(estate_id=place.id, starts_at=T0 - timedelta(hours=9),
                                 ends_at=T0 - timedelta(hours=1), on_duty_id=butler.id,
                                 set_by_id=supervisor.id, set_at=T0 - timedelta(days=1),
                                 handed_over_at=T0 - timedelta(hours=1))
        db.session.add(shift)
        db.session.flush()
        handover = models.ShiftHandover(shift_id=shift.id, estate_id=place.id,
                                        leaving_id=butler.id, taking_over_id=butler.id,
                                        handed_at=shift.ends_at)
        sent = {name: models.Notice(key=f"harbour:{name}", user_id=butler.id,
                                    channel=models.Channel.EMAIL, ticket_id=ticket,
                                    cause="new", data={"kind": "repair"}, created_at=T0,
                                    status=models.NoticeStatus.SENT, sent_at=T0)
                for name, ticket in (("ticket", opened["overdue"]), ("leave", None))}
        db.session.add_all([handover, *sent.values()])
        db.session.commit()
        return Harbour(estate=place.id, supervisor=supervisor.id, butler=butler.id,
                       resident=resident.id, area=area.id, building=building.id, unit=unit.id,
                       tickets=opened, leave=leave.id, shift=shift.id, handover=handover.id,
                       extension=asked.id, notices={k: n.id for k, n in sent.items()})


@pytest.fixture
def live_server(app):
    """The test's app on 127.0.0.1 with a free port, in a thread (it shares the test's clock)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser(app, clock, tmp_path):
    """browser(username, language="en"): a test client logged in through the /login form."""
    from tests.pages import log_in

    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")

    def open_as(username: str | None = None, language: str = "en"):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        if username is not None:
            assert log_in(client, username).status_code == 302
        return client

    return open_as
