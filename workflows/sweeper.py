"""The sweeper: records every deadline that has passed unmet, with its deduction.

Run it as `flask --app app sweep` (once) or `flask --app app sweep --every 5` (a loop). Any number
of sweepers may run at once, with each other and with the engine: a miss is recorded exactly once
(see workflows.deadlines.record_misses). Each batch is its own short transaction, so a long
catch-up after downtime never holds the database for long.
"""
from __future__ import annotations

from models import db
from workflows import clock, deadlines
from workflows.engine import begin_write, current_rules


def sweep(batch_size: int = 500) -> int:
    """Record every miss due by now; returns how many were recorded."""
    now = clock.now()
    recorded, done = 0, False
    try:
        while not done:
            begin_write()
            count, done = deadlines.record_misses(current_rules(), now, batch_size=batch_size)
            db.session.commit()
            recorded += count
    except BaseException:
        db.session.rollback()
        raise
    return recorded
