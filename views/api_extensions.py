"""JSON API v1 for more time on a deadline (延期, workflows.extensions). Same error format and
status codes as the rest of the API."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from models import Extension, db
from views import schemas
from views.api import body, bp, iso, person
from views.openapi import documented
from workflows import extensions


def extension_json(made: Extension) -> dict:
    return {"id": made.id, "ticket_id": made.ticket_id, "deadline": made.deadline.name,
            "deadline_seq": made.deadline.seq, "due_before": iso(made.due_before),
            "due_at": iso(made.due_at), "reason": made.reason, "status": made.status,
            "requested_by": person(made.requested_by), "requested_at": iso(made.requested_at),
            "decided_by": person(made.decided_by), "decided_at": iso(made.decided_at),
            "decision_reason": made.decision_reason, "waived_deduction_id": made.waived_id}


def _fresh(extension_id: int) -> dict:
    db.session.expire_all()
    return extension_json(db.session.get(Extension, extension_id))


@bp.post("/tickets/<int:ticket_id>/extensions")
@documented(body=schemas.ExtensionRequest, responses={201: schemas.Extension},
            errors=(403, 404, 409, 422))
def request_extension(ticket_id: int):
    """Ask for more time on a running deadline: {deadline, due_at, reason}. It waits for a
    supervisor and the deadline runs on meanwhile. A deadline that is not running, or has a
    request waiting already, is a 409; one the rules do not let move, or a due time not later
    than now and the current one or beyond the rules' limit, a 422 naming the field."""
    data = body()
    made = extensions.request_extension(current_user, ticket_id, data.get("deadline"),
                                        data.get("due_at"), data.get("reason"))
    return jsonify(_fresh(made.id)), 201


@bp.get("/extensions")
@documented(query=schemas.ExtensionQuery, responses={200: schemas.Extensions},
            errors=(403, 422))
def list_extensions():
    """Requests for more time, newest first: a supervisor's all, a butler's those of the tickets
    they see; filters status (pending: what waits for a supervisor) and ticket_id."""
    found = extensions.extensions(current_user, request.args.get("status"),
                                  request.args.get("ticket_id"))
    return jsonify({"extensions": [extension_json(made) for made in found]})


@bp.post("/extensions/<int:extension_id>/approve")
@documented(body=schemas.ExtensionApproval, responses={200: schemas.Extension},
            errors=(403, 404, 409, 422))
def approve_extension(extension_id: int):
    """Give the time asked for: {note?}. The step is armed anew, due as much later as asked; if
    it was missed while the request waited, that miss is waived (409 if its month is closed)."""
    extensions.approve(current_user, extension_id, body().get("note"))
    return jsonify(_fresh(extension_id))


@bp.post("/extensions/<int:extension_id>/refuse")
@documented(body=schemas.ExtensionRefusal, responses={200: schemas.Extension},
            errors=(403, 404, 409, 422))
def refuse_extension(extension_id: int):
    """Refuse the time asked for, with a reason: {reason}. The deadline stays as it is."""
    extensions.refuse(current_user, extension_id, body().get("reason"))
    return jsonify(_fresh(extension_id))


@bp.post("/extensions/<int:extension_id>/cancel")
@documented(responses={200: schemas.Extension}, errors=(403, 404, 409))
def cancel_extension(extension_id: int):
    """Withdraw one's own request still waiting; the deadline stays as it is."""
    extensions.cancel(current_user, extension_id)
    return jsonify(_fresh(extension_id))
