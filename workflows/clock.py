"""The one clock. Every "now" in ButlerDesk comes from here; tests move it with time-machine."""
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_replaying: ContextVar[datetime | None] = ContextVar("replaying", default=None)


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return _replaying.get() or datetime.now(UTC)


@contextmanager
def replaying_at(moment: datetime):
    """Write history as it happened at `moment` (the demo seeder's past month); nothing else
    uses this."""
    token = _replaying.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _replaying.reset(token)
