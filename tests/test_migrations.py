"""Migrations: upgrading an empty database gives exactly the models, and they can be undone.

Runs on the suite's database (SQLite, or PostgreSQL under `make test-postgres`).
"""
from __future__ import annotations

import flask_migrate
import pytest
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
