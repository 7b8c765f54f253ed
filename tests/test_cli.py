"""The command line (issue 2, section 8): init-db, seed-demo, create-user and sweep.

seed-demo and init-db run against a database file of their own that starts empty (the demo is
seeded once per session by the command itself, and each test that needs it gets a copy, since
hashing 28 passwords takes seconds); create-user and sweep run against the test estate of
conftest. Database checks run in their own app context.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from models import Area, Building, Channel, Deduction, Notice, Role, Ticket, Unit, User, db
from tests.conftest import T0, database_of, make_app
from workflows import duty, engine

TABLES = {"users", "credentials", "areas", "buildings", "units", "tickets", "events", "deadlines",
          "deductions"}


# -- helpers --------------------------------------------------------------------------------------

@pytest.fixture
def empty_app(databases, tmp_path):
    """An app whose database has no tables yet (and its files in a folder of the test's)."""
    url = databases.empty()
    app = make_app(url, UPLOAD_FOLDER=str(tmp_path / "uploads"))
    yield app
    with app.app_context():
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture
def empty_runner(empty_app):
    return empty_app.test_cli_runner()


@pytest.fixture(scope="session")
def demo_template(databases, tmp_path_factory):
    """A database loaded by `seed-demo` (at T0), and what the command printed. The demo's floor
    plans go to a temporary folder, not the instance folder."""
    url = databases.empty()
    app = make_app(url, UPLOAD_FOLDER=str(tmp_path_factory.mktemp("demo-uploads")),
                   MAIL_SERVER="127.0.0.1", WEBHOOK_URL="http://127.0.0.1:9/hook")
    with time_machine.travel(T0, tick=False):
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, (result.output, result.exception)
    with database_of(app):
        pass  # closes the connections, so the database can be copied
    return url, result.output


@pytest.fixture
def demo_app(databases, demo_template):
    """An app on a copy of the seeded demo database."""
    url = databases.copy_of(demo_template[0])
    app = make_app(url)
    yield app
    with app.app_context():
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture
def demo_runner(demo_app):
    return demo_app.test_cli_runner()


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def tables(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def get_token(app, username: str, password: str):
    return app.test_client().post("/api/v1/tokens",
                                  json={"username": username, "password": password})


def succeeded(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def failed_cleanly(result) -> str:
    """The command refused with a message (exit 1), not a traceback."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.startswith("Error: ")
    return result.output


# -- init-db --------------------------------------------------------------------------------------

def test_init_db_creates_the_tables(empty_app, empty_runner):
    assert tables(empty_app) == set()
    assert "Database ready." in succeeded(empty_runner.invoke(args=["init-db"]))
    assert tables(empty_app) >= TABLES


def test_init_db_again_keeps_the_data(demo_app, demo_runner):
    users = count(demo_app, User)
    succeeded(demo_runner.invoke(args=["init-db"]))
    assert count(demo_app, User) == users > 0


def test_init_db_drop_starts_over(demo_app, demo_runner):
    """Even with users, units and areas referring to each other in a cycle."""
    succeeded(demo_runner.invoke(args=["init-db", "--drop"]))
    assert tables(demo_app) >= TABLES
    assert count(demo_app, User) == count(demo_app, Ticket) == count(demo_app, Area) == 0
    with demo_app.app_context():  # foreign keys are enforced again afterwards
        db.session.add(Building(area_id=999, name="nowhere"))
        with pytest.raises(IntegrityError):
            db.session.commit()


# -- seed-demo ------------------------------------------------------------------------------------

def test_seed_demo_loads_a_believable_estate(demo_app, demo_template):
    output = demo_template[1]

    assert count(demo_app, Area) == 2
    assert count(demo_app, Building) == 6
    assert count(demo_app, Unit) >= 60
    assert count(demo_app, User, User.role == Role.BUTLER) == 3
    assert count(demo_app, User, User.role == Role.TECHNICIAN) == 2
    assert count(demo_app, User, User.role == Role.SUPERVISOR) == 1
    assert count(demo_app, User, User.role == Role.RESIDENT) > 1
    # Its history is in the bells, and never sent in a burst to a real mailbox or group.
    assert count(demo_app, Notice, Notice.channel == Channel.IN_APP) > 0
    assert count(demo_app, Notice, Notice.channel != Channel.IN_APP) == 0
    with demo_app.app_context():
        assert set(db.session.scalars(select(Ticket.kind))) == {"repair", "complaint",
                                                                "renovation"}
        # Every area has a butler, and every resident a unit.
        assert db.session.scalar(select(func.count()).select_from(Area)
                                 .where(Area.butler_id.is_(None))) == 0
        assert db.session.scalar(select(func.count()).select_from(User).where(
            User.role == Role.RESIDENT, User.unit_id.is_(None))) == 0

    assert "Demo estate loaded." in output
    for login in ("resident", "butler", "technician", "supervisor"):
        assert login in output
    assert "demo" in output


def test_demo_renovations_carry_their_details_and_a_floor_plan(demo_app):
    with demo_app.app_context():
        permits = list(db.session.scalars(select(Ticket).where(Ticket.kind == "renovation")))
        assert len(permits) >= 3
        for permit in permits:
            assert set(permit.details) == {"works_start", "works_end", "contractor_name",
                                           "contractor_phone", "foreman_name", "foreman_phone",
                                           "workers"}, permit.title
            [plan] = permit.attachments
            assert (plan.content_type, plan.event.trigger, plan.event.data) == (
                "image/png", "attach", {"kind": "floor_plan"})
        # The demo resident has one to put right and resubmit.
        assert {p.state for p in permits if p.resident.username == "resident"} == {"rejected"}


@pytest.mark.parametrize("username, role", [
    ("resident", "resident"),
    ("butler", "butler"),
    ("technician", "technician"),
    ("supervisor", "supervisor"),
])
def test_demo_logins_work_with_password_demo(demo_app, clock, username, role):
    reply = get_token(demo_app, username, "demo")
    assert reply.status_code == 201, reply.json
    assert reply.json["user"]["role"] == role
    assert get_token(demo_app, username, "secret").status_code == 401


def test_demo_butler_is_responsible_for_the_demo_residents_area(demo_app, clock):
    with demo_app.app_context():
        resident = db.session.scalar(select(User).where(User.username == "resident"))
        assert resident.unit.building.area.butler.username == "butler"

    # So the resident's repair lands in butler's queue, through the API.
    client = demo_app.test_client()
    resident = get_token(demo_app, "resident", "demo").json["token"]
    created = client.post("/api/v1/tickets", json={"kind": "repair", "title": "Tap"},
                          headers={"Authorization": f"Bearer {resident}"})
    assert created.status_code == 201
    assert created.json["assignee"]["username"] == "butler"


def test_the_demo_has_this_weeks_duty_rota_nights_and_weekend_by_the_relief_butler(demo_app):
    with demo_app.app_context(), time_machine.travel(T0, tick=False):
        week = duty.week_of(T0)
        shifts = duty.shifts(db.session.scalar(select(Area.estate_id)), week, week + duty.WEEK)
        assert (shifts[0].starts_at, shifts[-1].ends_at) == (week, week + duty.WEEK)
        assert all(a.ends_at == b.starts_at for a, b in zip(shifts, shifts[1:], strict=False))
        tz = demo_app.config["TZ"]
        days = [(s.starts_at.astimezone(tz), s.ends_at - s.starts_at) for s in shifts
                if s.on_duty_id is None]
        assert [(at.weekday(), at.hour, length) for at, length in days] == [
            (day, 8, timedelta(hours=10)) for day in range(5)]  # the areas' butlers, 08–18
        relief = {s.on_duty.username for s in shifts if s.on_duty_id is not None}
        assert relief == {"butler3"} and duty.relief_butlers() == {shifts[0].on_duty_id}
        assert shifts[-1].starts_at.astimezone(tz).strftime("%a %H:%M") == "Fri 18:00"
        # At T0 (Monday 09:00) the day shift runs: the demo's tickets are their area butlers'.
        assert duty.shift_at(shifts[0].estate_id, T0).on_duty_id is None


def test_demo_staff_have_addresses_for_notices_and_the_supervisor_is_the_manager(demo_app):
    with demo_app.app_context():
        people = {u.username: u for u in db.session.scalars(select(User))}
    assert people["butler"].email == "butler@demo.butlerdesk.test"
    assert people["resident"].email is None
    assert people["supervisor"].is_manager and not people["butler"].is_manager


def test_seed_demo_creates_the_tables_itself(empty_app, empty_runner, clock):
    assert tables(empty_app) == set()
    succeeded(empty_runner.invoke(args=["seed-demo", "--if-empty"]))
    assert count(empty_app, Area) == 2


def test_seed_demo_if_empty_leaves_a_loaded_database_alone(demo_app, demo_runner, clock):
    before = [count(demo_app, model) for model in (User, Unit, Ticket)]

    output = succeeded(demo_runner.invoke(args=["seed-demo", "--if-empty"]))

    assert "already loaded" in output
    assert "Demo estate loaded." not in output
    assert "butler" in output  # the logins are printed all the same, for `make run`
    assert [count(demo_app, model) for model in (User, Unit, Ticket)] == before


def test_seed_demo_without_the_flag_refuses_a_loaded_database(demo_app, demo_runner, clock):
    before = [count(demo_app, model) for model in (User, Unit, Ticket)]

    output = failed_cleanly(demo_runner.invoke(args=["seed-demo"]))

    assert "not empty" in output
    assert [count(demo_app, model) for model in (User, Unit, Ticket)] == before


def test_seed_demo_refuses_any_database_with_users(app, runner, clock):
    """The test estate is not the demo, but it has users: seeding must not mix into it."""
    failed_cleanly(runner.invoke(args=["seed-demo"]))
    assert count(app, Area) == 2


# -- create-user ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["butler", "technician", "supervisor", "admin"])
def test_create_user_makes_staff_who_can_get_a_token(app, runner, role):
    output = succeeded(runner.invoke(args=["create-user", "zhao", "--role", role,
                                           "--name", "赵丽", "--password", "s3cret!!x"]))
    assert f"Created {role} 'zhao'" in output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "zhao"))
        assert (user.role, user.name, user.unit_id) == (role, "赵丽", None)
        assert user.password_hash != "s3cret!!x"

    reply = get_token(app, "zhao", "s3cret!!x")
    assert reply.status_code == 201
    assert reply.json["user"]["role"] == role
    assert get_token(app, "zhao", "wrong").status_code == 401


def test_create_user_makes_a_resident_of_a_unit(app, runner, estate, clock):
    succeeded(runner.invoke(args=["create-user", "liu", "--role", "resident",
                                  "--unit-id", str(estate.unit_w), "--password", "a-long-pw"]))
    reply = get_token(app, "liu", "a-long-pw")
    assert reply.status_code == 201
    assert reply.json["user"]["unit_id"] == estate.unit_w
    assert reply.json["user"]["name"] == "liu"  # the name defaults to the username

    # The new resident reports for their unit; the West butler gets it.
    created = app.test_client().post("/api/v1/tickets", json={"kind": "repair", "title": "Tap"},
                                     headers={"Authorization": f"Bearer {reply.json['token']}"})
    assert created.status_code == 201
    assert created.json["assignee"]["id"] == estate.other_butler


def test_create_user_asks_for_the_password_twice(app, runner):
    result = runner.invoke(args=["create-user", "qian", "--role", "butler"],
                           input="pw-typed\npw-typed\n")
    succeeded(result)
    assert get_token(app, "qian", "pw-typed").status_code == 201


def test_create_admin_starts_an_empty_installation_asking_the_password_twice(app, runner):
    result = runner.invoke(args=["create-admin", "boss", "--name", "周总"],
                           input="first-pass\nfirst-pass\n")
    assert "Created admin 'boss'" in succeeded(result)
    reply = get_token(app, "boss", "first-pass")
    assert reply.status_code == 201 and reply.json["user"]["role"] == "admin"


def test_create_admin_takes_the_password_from_admin_password(app, runner):
    succeeded(runner.invoke(args=["create-admin", "boss"], env={"ADMIN_PASSWORD": "from-env-1"}))
    assert get_token(app, "boss", "from-env-1").status_code == 201


def test_create_admin_refuses_a_short_password_or_two_that_differ(app, runner):
    before = count(app, User)
    assert "at least" in failed_cleanly(runner.invoke(args=["create-admin", "boss"],
                                                      env={"ADMIN_PASSWORD": "short"}))
    result = runner.invoke(args=["create-admin", "boss"], input="one-pass-1\nanother-2\n")
    assert result.exit_code != 0
    assert count(app, User) == before


def test_create_user_refuses_a_duplicate_username(app, runner):
    before = count(app, User)
    output = failed_cleanly(runner.invoke(args=["create-user", "butler", "--role", "butler",
                                                "--password", "other"]))
    assert "exists" in output
    assert count(app, User) == before
    assert get_token(app, "butler", "other").status_code == 401
    assert get_token(app, "butler", "secret").status_code == 201


@pytest.mark.parametrize("args, message", [
    (["create-user", "sun", "--role", "resident", "--password", "a-long-pw"], "--unit-id"),
    (["create-user", "sun", "--role", "resident", "--unit-id", "9999", "--password", "a-long-pw"],
     "no unit"),
    (["create-user", "sun", "--role", "resident", "--unit-id", "99999999999999999999",
      "--password", "a-long-pw"], "no unit"),
    (["create-user", "  ", "--role", "butler", "--password", "a-long-pw"], "empty"),
])
def test_create_user_refuses_what_cannot_log_in_properly(app, runner, args, message):
    before = count(app, User)
    assert message in failed_cleanly(runner.invoke(args=args))
    assert count(app, User) == before


@pytest.mark.parametrize("args", [
    ["create-user", "sun", "--role", "mayor", "--password", "a-long-pw"],
    ["create-user", "sun", "--password", "a-long-pw"],
    ["create-user", "--role", "butler", "--password", "a-long-pw"],
    ["create-user", "sun", "--role", "resident", "--unit-id", "one", "--password", "a-long-pw"],
])
def test_create_user_usage_errors(app, runner, args):
    before = count(app, User)
    result = runner.invoke(args=args)
    assert result.exit_code == 2, result.output
    assert count(app, User) == before


# -- sweep ----------------------------------------------------------------------------------------

def test_sweep_prints_how_many_misses_it_recorded(app, runner, estate, clock):
    with app.app_context():
        for who in ("resident", "west_resident"):
            engine.open_ticket(db.session.get(User, getattr(estate, who)), "repair", "Tap")

    assert succeeded(runner.invoke(args=["sweep"])) == "Recorded 0 missed deadline(s).\n"
    clock.shift(timedelta(minutes=25))
    assert succeeded(runner.invoke(args=["sweep"])) == "Recorded 2 missed deadline(s).\n"
    assert succeeded(runner.invoke(args=["sweep"])) == "Recorded 0 missed deadline(s).\n"
    with app.app_context():
        butlers = sorted(db.session.scalars(select(Deduction.butler_id)))
    assert butlers == sorted([estate.butler, estate.other_butler])


def test_sweep_refuses_a_zero_pause(runner):
    assert runner.invoke(args=["sweep", "--every", "0"]).exit_code == 2


def test_create_user_refuses_a_short_password(app, runner):
    output = failed_cleanly(runner.invoke(args=["create-user", "sun", "--role", "butler",
                                                "--password", "short"]))
    assert "at least 8 characters" in output


# -- set-password and deactivate-user --------------------------------------------------------------

def test_set_password_resets_it_and_ends_every_login(app, runner):
    token = get_token(app, "butler", "secret").json["token"]
    succeeded(runner.invoke(args=["set-password", "butler", "--password", "a-new-one"]))
    assert get_token(app, "butler", "secret").status_code == 401
    assert get_token(app, "butler", "a-new-one").status_code == 201
    reply = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 401


def test_deactivate_user_ends_their_logins_and_activate_lets_them_back(app, runner):
    token = get_token(app, "butler", "secret").json["token"]
    assert "deactivated" in succeeded(runner.invoke(args=["deactivate-user", "butler"]))
    reply = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 401
    assert get_token(app, "butler", "secret").status_code == 401
    succeeded(runner.invoke(args=["deactivate-user", "butler", "--activate"]))
    assert get_token(app, "butler", "secret").status_code == 201


def test_unknown_users_are_named(runner):
    assert "no user 'nobody'" in failed_cleanly(runner.invoke(args=["deactivate-user", "nobody"]))
