"""Migrations: upgrading an empty database gives exactly the models, and they can be undone.

Runs on the suite's database (SQLite, or PostgreSQL under `make test-postgres`).
"""
from __future__ import annotations

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import db
from tests.conftest import make_app


@pytest.fixture
def empty_app(databases):
    url = databases.empty()
    app = make_app(url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


def differences() -> list:
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def test_upgrading_an_empty_database_gives_exactly_the_models(empty_app):
    flask_migrate.upgrade()

    assert differences() == []
    assert set(inspect(db.engine).get_table_names()) == {*db.metadata.tables, "alembic_version"}


def test_downgrading_to_nothing_and_back(empty_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}

    flask_migrate.upgrade()
    assert differences() == []


def test_init_db_refuses_a_database_made_without_migrations(empty_app):
    db.create_all()

    result = empty_app.test_cli_runner().invoke(args=["init-db"])

    assert result.exit_code == 1
    assert "created before migrations" in result.output


def test_a_database_holding_tickets_with_files_is_migrated_down_and_up(empty_app):
    """Batch migrations copy a table and drop the old one; files refer to their step's event,
    so SQLite must not refuse the drop (a pulled change upgrades a used database)."""
    from datetime import UTC, datetime

    from models import Area, Attachment, Building, Estate, Event, Ticket, Unit, User

    flask_migrate.upgrade()
    now = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
    resident = User(username="r", name="R", role="resident", password_hash="x")
    unit = Unit(building=Building(area=Area(estate=Estate(name="E"), name="East"),
                                       name="1"), number="101")
    ticket = Ticket(kind="repair", state="reported", unit=unit, resident=resident, title="Tap",
                    description="", details={}, reported_at=now, created_at=now, updated_at=now)
    event = Event(ticket=ticket, actor=resident, trigger="create", to_state="reported", note="",
                  data={}, at=now)
    db.session.add_all([ticket, event, Attachment(ticket=ticket, event=event, stored_name="a.jpg",
                                                  content_type="image/jpeg", size=1,
                                                  created_at=now)])
    db.session.commit()
    db.session.remove()

    flask_migrate.downgrade(revision="6b894898bade")  # before events.staff_only
    flask_migrate.upgrade()

    assert differences() == []
    assert [db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (Ticket, Event, Attachment)] == [1, 1, 1]


def test_the_migration_of_dated_butlers_gives_each_areas_butler_a_period(empty_app):
    """An area's butler before periods were kept has answered for it since before the records,
    and still does."""
    from models import SINCE_RECORDS, AreaButler

    flask_migrate.upgrade(revision="0b9d908db89d")
    users = sa.table("users", *map(sa.column, ("id", "username", "name", "role",
                                                "password_hash", "active")))
    areas = sa.table("areas", *map(sa.column, ("id", "name", "butler_id")))
    db.session.execute(users.insert().values(
        id=1, username="b", name="B", role="butler", password_hash="x", active=True))
    db.session.execute(areas.insert().values(id=1, name="East", butler_id=1))
    db.session.execute(areas.insert().values(id=2, name="West", butler_id=None))
    db.session.commit()

    flask_migrate.upgrade()

    periods = db.session.scalars(db.select(AreaButler)).all()
    assert [(p.area_id, p.butler_id, p.starts_at, p.ends_at) for p in periods] == [
        (1, 1, SINCE_RECORDS, None)]


def test_the_one_email_switch_becomes_every_kind_or_none(empty_app):
    """Before kinds were chosen, one switch said whether to email at all: on keeps every kind,
    off keeps none; nobody is texted until they choose it."""
    flask_migrate.upgrade(revision="142ddb3e2ac3")
    users = sa.table("users", *map(sa.column, ("id", "username", "name", "role",
                                                "password_hash", "active", "notify_email")))
    for user_id, wanted in ((1, True), (2, False)):
        db.session.execute(users.insert().values(
            id=user_id, username=f"u{user_id}", name="U", role="butler", password_hash="x",
            active=True, notify_email=wanted))
    db.session.commit()

    flask_migrate.upgrade()

    from models import User
    assert [(u.email_for, u.sms_for) for u in db.session.scalars(
        db.select(User).order_by(User.id))] == [(["new", "step", "warning", "missed"], []),
                                                ([], [])]
