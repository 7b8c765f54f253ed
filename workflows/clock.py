"""The one clock. Every "now" in ButlerDesk comes from here; tests move it with time-machine."""
from datetime import datetime, timezone


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)
