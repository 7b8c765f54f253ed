"""`/healthz` for load balancers and monitors: is the database reachable, is the sweeper alive?"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from models import db
from workflows import clock, sweeper

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers and a sweep finished within SWEEP_STALE_SECONDS, else 503.

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
    stale = since is None or since > current_app.config["SWEEP_STALE_SECONDS"]
    body = dict(status="stale sweeper" if stale else "ok", database="ok",
                last_sweep_at=swept_at.isoformat() if swept_at else None,
                seconds_since_last_sweep=since)
    return jsonify(body), 503 if stale else 200
