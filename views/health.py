"""`/healthz` for load balancers and monitors: is the database reachable, is the sweeper alive,
are the notices being sent?"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from models import db
from workflows import clock, delivery, sweeper

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, a sweep finished within SWEEP_STALE_SECONDS (and not
    later than now, give or take CLOCK_SKEW_SECONDS) and no notice due has waited unsent for
    longer than NOTIFY_STALE_SECONDS, else 503.

    Missed deadlines are recorded only while a sweeper runs, and emails and webhooks are sent only
    while a delivery worker runs, so a stalled one is unhealthy even though every page still works.
    """
    now = clock.now()
    try:
        swept_at = sweeper.last_sweep()  # a query: it also proves the database answers
        due_at = delivery.oldest_due(now)
    except SQLAlchemyError as exc:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable",
                       error=type(getattr(exc, "orig", None) or exc).__name__), 503
    since = None if swept_at is None else round((now - swept_at).total_seconds(), 1)
    waiting = None if due_at is None else round((now - due_at).total_seconds(), 1)
    if since is None or since > current_app.config["SWEEP_STALE_SECONDS"]:
        status = "stale sweeper"
    elif since < -current_app.config["CLOCK_SKEW_SECONDS"]:
        # A sweep "from the future": that sweeper's clock is ahead of this server's. It records
        # misses early, and its heartbeat would look fresh long after it stopped.
        status = "sweeper clock ahead"
    elif waiting is not None and waiting > current_app.config["NOTIFY_STALE_SECONDS"]:
        status = "notices waiting"  # no delivery worker runs, or it cannot keep up
    else:
        status = "ok"
    body = dict(status=status, database="ok",
                last_sweep_at=swept_at.isoformat() if swept_at else None,
                seconds_since_last_sweep=since, seconds_oldest_notice_waiting=waiting)
    return jsonify(body), 200 if status == "ok" else 503
