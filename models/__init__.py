"""The database models: one file per aggregate. `db` is the Flask-SQLAlchemy handle."""
import contextlib
import fcntl
import os
import sqlite3
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, event
from sqlalchemy.orm import DeclarativeBase, registry


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite keeps no zone, PostgreSQL keeps `timestamptz`; both give back aware UTC datetimes,
    so arithmetic never mixes naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        type_annotation_map={datetime: UTCDateTime},
        metadata=MetaData(naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }),
    )


db = SQLAlchemy(model_class=Base)

from models.audit import AuditEntry  # noqa: E402
from models.calendar import ClosedDay, EstateCalendar, OfficeHours  # noqa: E402
from models.deadlines import Deadline, DeadlineStatus, SweeperHeartbeat  # noqa: E402
from models.duty import DutyShift, ShiftHandover  # noqa: E402
from models.estate import (  # noqa: E402
    SINCE_RECORDS,
    Area,
    AreaButler,
    Building,
    Estate,
    EstateSupervisor,
    Unit,
)
from models.extensions import Extension, ExtensionStatus  # noqa: E402
from models.idempotency import IdempotentRequest  # noqa: E402
from models.invitations import Invitation  # noqa: E402
from models.leave import Leave, LeaveStatus  # noqa: E402
from models.notices import Channel, Notice, NoticeStatus  # noqa: E402
from models.overrides import EstateRuleOverride  # noqa: E402
from models.people import (  # noqa: E402
    Credential,
    CredentialKind,
    RateLimitCounter,
    Role,
    User,
)
from models.scoring import (  # noqa: E402
    Appeal,
    Deduction,
    MonthAction,
    MonthClosing,
    Review,
    ReviewOutcome,
    SpotCheck,
    SpotCheckItem,
    SpotCheckResult,
)
from models.tickets import Attachment, Event, Ticket  # noqa: E402

__all__ = [
    "db", "UTCDateTime", "Credential", "CredentialKind", "RateLimitCounter", "Role", "User",
    "AuditEntry", "Estate", "EstateSupervisor", "EstateRuleOverride", "EstateCalendar",
    "OfficeHours", "ClosedDay",
    "Area", "AreaButler",
    "SINCE_RECORDS", "Building", "Unit", "Leave", "LeaveStatus",
    "DutyShift", "ShiftHandover",
    "IdempotentRequest", "Invitation", "Channel", "Notice", "NoticeStatus",
    "Attachment", "Event", "Ticket", "Deadline", "DeadlineStatus", "SweeperHeartbeat",
    "Deduction", "Appeal", "Review", "SQLiteConnection", "Extension", "ExtensionStatus",
    "ReviewOutcome", "MonthAction", "MonthClosing", "SpotCheck", "SpotCheckItem", "SpotCheckResult",
]


class SQLiteConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue on a lock file beside the database.

    SQLite lets one writer in at a time; the others wait in its busy handler, which polls and
    sleeps up to 100 ms between tries, so a writer often sleeps on long after the one before it
    finished (much of the HTTP benchmark's latency tail). Here a writer first takes an
    exclusive flock on `<database>-writers`; the kernel wakes the next one the moment it is let go,
    at COMMIT or ROLLBACK. The lock only orders ButlerDesk's own writers: SQLite's locks still
    decide, and a process that dies lets go of it with its file descriptors.
    """

    _queue: int | None = None
    _holding = False

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        path = str(database)
        if path in ("", ":memory:") or "mode=memory" in path:
            return
        # No queue where it cannot be made (a read-only folder, say): writers then wait in
        # SQLite's busy handler.
        with contextlib.suppress(OSError):
            self._queue = os.open(f"{path.removeprefix('file:').split('?')[0]}-writers",
                                  os.O_RDWR | os.O_CREAT, 0o644)

    def wait_to_write(self) -> None:
        if self._queue is not None and not self._holding:
            fcntl.flock(self._queue, fcntl.LOCK_EX)
            self._holding = True

    def _done_writing(self) -> None:
        if self._holding:
            fcntl.flock(self._queue, fcntl.LOCK_UN)
            self._holding = False

    def commit(self):
        try:
            super().commit()
        finally:
            self._done_writing()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._done_writing()

    def close(self):
        try:
            super().close()
        finally:
            self._leave_queue()

    def __del__(self):
        self._leave_queue()

    def _leave_queue(self) -> None:
        self._done_writing()
        if self._queue is not None:
            os.close(self._queue)
            self._queue = None


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record):
    """SQLite: WAL so readers never wait, a busy timeout so writers queue, foreign keys on.

    The driver's own transaction handling is switched off so that BEGIN is ours (below).
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON",
                   "synchronous=NORMAL"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    """A write transaction takes SQLite's write lock at BEGIN, so it can never fail half-way
    for want of it; see models.transaction."""
    if connection.dialect.name == "sqlite":
        write = connection.get_execution_options().get("butlerdesk_write")
        if write and isinstance(connection.connection.dbapi_connection, SQLiteConnection):
            connection.connection.dbapi_connection.wait_to_write()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
