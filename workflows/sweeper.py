"""The sweeper: hands on the work of duty shifts that ended (workflows.duty), then records
every deadline that has passed unmet, with its deduction.

Run it as `flask --app app sweep` (once) or `flask --app app sweep --every 5` (a loop). Any number
of sweepers may run at once, with each other and with the engine: a miss is recorded exactly once
(see workflows.deadlines.record_misses). Each batch is its own short transaction, so a long
catch-up after downtime never holds the database for long.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from models import Deadline, DeadlineStatus, SweeperHeartbeat, db
from models.transaction import write
from workflows import clock, deadlines, duty, notices
from workflows.rules import current as current_rules

HEARTBEAT = "sweeper"
# Misses per transaction. A batch of 1,000 takes about 70 ms on SQLite (bench/results.md): short
# enough that a writer queued behind it barely waits, long enough that a catch-up of 10,000
# spends its time writing rows rather than committing (500 took half as long again).
BATCH = 1000


def sweep(batch_size: int = BATCH) -> int:
    """Record every miss due by now; returns how many were recorded."""
    now = clock.now()
    # First the duty shifts ended: what falls due after a shift's end is charged to whoever
    # took its work over.
    duty.hand_over_ended(now)
    recorded, done, wait = 0, False, False
    while not done:
        with write():
            count, done = deadlines.record_misses(current_rules(), now, batch_size=batch_size,
                                                  wait=wait)
            if done:
                _beat(now)
        recorded += count
        wait = count == 0  # all it found was held by other writers: wait for them next time
    done, wait = False, False
    while not done:  # then what time has to tell: warnings, escalations, reminders
        with write():
            passed, done = notices.make_due(current_rules(), now, wait=wait)
        wait = passed == 0
    return recorded


def next_due() -> datetime | None:
    """When the earliest running deadline falls due (read through the sweeper's own index)."""
    due = db.session.scalar(select(func.min(Deadline.due_at))
                            .where(Deadline.status == DeadlineStatus.RUNNING))
    db.session.commit()
    return due


def last_sweep() -> datetime | None:
    """When any sweeper last finished a sweep, or None if none ever did."""
    return db.session.scalar(select(SweeperHeartbeat.swept_at)
                             .where(SweeperHeartbeat.name == HEARTBEAT))


def _beat(now: datetime) -> None:
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.engine.dialect.name]
    statement = dialect.insert(SweeperHeartbeat).values(name=HEARTBEAT, swept_at=now)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[SweeperHeartbeat.name], set_={"swept_at": statement.excluded.swept_at}))
