"""`/healthz` for load balancers and monitors: is the database reachable, is the sweeper alive?"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from models import db
from workflows import clock, sweeper

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers and a sweep finished within SWEEP_STALE_SECONDS (and not
    later than now, give or take CLOCK_SKEW_SECONDS), else 503.

    Missed deadlines are recorded only while a sweeper runs, so a stalled sweeper is unhealthy
    even though every page still works.
    """
    try:
        swept_at = sweeper.last_sweep()  # a query: it also proves the database answers
    except SQLAlchemyError as exc:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable",
                       error=type(getattr(exc, "orig", None) or exc).__name__), 503
    since = None if swept_at is None else round((clock.now() - swept_at).total_seconds(), 1)
    if since is None or since > current_app.config["SWEEP_STALE_SECONDS"]:
        status = "stale sweeper"
    elif since < -current_app.config["CLOCK_SKEW_SECONDS"]:
        # A sweep "from the future": that sweeper's clock is ahead of this server's. It records
        # misses early, and its heartbeat would look fresh long after it stopped.
        status = "sweeper clock ahead"
    else:
        status = "ok"
    body = dict(status=status, database="ok",
                last_sweep_at=swept_at.isoformat() if swept_at else None,
                seconds_since_last_sweep=since)
    return jsonify(body), 200 if status == "ok" else 503
