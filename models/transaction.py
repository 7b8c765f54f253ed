"""The write path. Every change ButlerDesk makes to the database is one `write()` transaction.

On SQLite a write transaction takes the write lock at BEGIN (BEGIN IMMEDIATE), after queueing on
the writers' lock file (models.SQLiteConnection), so it can never fail half-way with "database is
locked": a transaction that began as a read and then writes can, because SQLite refuses to turn a
reader into a writer while another writer holds the lock. On PostgreSQL it is a plain transaction.
The engine, the assessment, the sweeper, logins and the rate limiter all write this way.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from models import db


def begin_write() -> None:
    """Start a write transaction in the session.

    Any read transaction the caller had open (loading the logged-in user, say) is ended first.
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a write starts its own transaction; commit your changes first")
    session.commit()
    session.connection(execution_options={"butlerdesk_write": True})


@contextmanager
def write() -> Iterator[None]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    begin_write()
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


WRITE = {"butlerdesk_write": True}
"""Execution options for a write on a connection of its own: `db.engine.connect()
.execution_options(**WRITE)`, then `begin()` (the rate limiter's counters)."""
