"""JSON API v1 for who covers an area: an area's butler with dates, leave and substitutes
(workflows.cover). Same error format and status codes as the rest of the API."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from models import Area, Leave, db
from views import schemas
from views.api import body, bp, iso, person
from views.openapi import documented
from workflows import clock, cover


def _area_json(area: Area) -> dict:
    return {"id": area.id, "name": area.name, "butler": person(area.butler),
            "periods": [{"butler": person(p.butler), "starts_at": iso(p.starts_at),
                         "ends_at": iso(p.ends_at)} for p in cover.periods(area.id)]}


def leave_json(leave: Leave) -> dict:
    now = clock.now()
    status = cover.status(leave, now)
    return {"id": leave.id, "butler": person(leave.butler),
            "substitute": person(leave.substitute), "starts_at": iso(leave.starts_at),
            "ends_at": iso(leave.ends_at), "reason": leave.reason, "status": status,
            "requested_by": person(leave.requested_by), "requested_at": iso(leave.requested_at),
            "decided_by": person(leave.decided_by), "decided_at": iso(leave.decided_at),
            "cancelled_by": person(leave.cancelled_by), "cancelled_at": iso(leave.cancelled_at),
            "left_with": [t.id for t in cover.left_with(leave)]
            if status in ("approved", "running") else []}


def _fresh(leave_id: int) -> dict:
    db.session.expire_all()
    return leave_json(db.session.get(Leave, leave_id))


@bp.get("/areas")
@documented(responses={200: schemas.Areas}, errors=(403,))
def list_areas():
    """Every area with its butler now and who was its butler when (newest first)."""
    cover.require_staff(current_user)
    return jsonify({"areas": [_area_json(area) for area in cover.areas(current_user)]})


@bp.put("/areas/<int:area_id>/butler")
@documented(body=schemas.AreaButlerChange, responses={200: schemas.Area},
            errors=(403, 404, 409, 422))
def set_area_butler(area_id: int):
    """Make another butler the area's butler from now: {butler_id, note?}. The running period
    ends and a new one starts; the area's open tickets held by the outgoing butler are handed to
    the new one."""
    data = body()
    cover.set_area_butler(current_user, area_id, data.get("butler_id"), data.get("note", ""))
    db.session.expire_all()
    return jsonify(_area_json(db.session.get(Area, area_id)))


@bp.get("/leaves")
@documented(responses={200: schemas.Leaves}, errors=(403,))
def list_leaves():
    """Leave, latest start first: a butler's own and what they cover; a supervisor's all."""
    return jsonify({"leaves": [leave_json(leave) for leave in cover.leaves(current_user)]})


@bp.post("/leaves")
@documented(body=schemas.LeaveRequest, responses={201: schemas.Leave},
            errors=(403, 409, 422))
def request_leave():
    """Ask for leave: {butler_id?, starts_at, ends_at, substitute_id?, reason}. It covers
    nothing until a supervisor approves it. Overlapping leave of the same butler, or a
    substitute on leave then, is a 409 naming the field."""
    data = body()
    leave = cover.request_leave(current_user, data.get("butler_id"), data.get("starts_at"),
                                data.get("ends_at"), data.get("substitute_id"),
                                data.get("reason"))
    return jsonify(_fresh(leave.id)), 201


@bp.post("/leaves/<int:leave_id>/approve")
@documented(body=schemas.LeaveApproval, responses={200: schemas.Leave},
            errors=(403, 404, 409, 422))
def approve_leave(leave_id: int):
    """Approve a leave asked for, naming the substitute: {substitute_id?}. While it runs, new
    tickets of the butler's areas go to the substitute and misses falling due are theirs."""
    cover.approve_leave(current_user, leave_id, body().get("substitute_id"))
    return jsonify(_fresh(leave_id))


@bp.post("/leaves/<int:leave_id>/cancel")
@documented(responses={200: schemas.Leave}, errors=(403, 404, 409))
def cancel_leave(leave_id: int):
    """Withdraw a leave: one not begun is cancelled, one under way ends now."""
    cover.cancel_leave(current_user, leave_id)
    return jsonify(_fresh(leave_id))


@bp.post("/leaves/<int:leave_id>/hand-over")
@documented(body=schemas.HandOver, responses={200: schemas.HandedOver},
            errors=(403, 404, 409, 422))
def hand_over(leave_id: int):
    """Hand every open ticket still held by the butler on leave to its substitute: {note?}."""
    handed = cover.hand_over_leave(current_user, leave_id, body().get("note", ""))
    return jsonify({"handed": handed, "leave": _fresh(leave_id)})
