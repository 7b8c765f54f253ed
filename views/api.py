"""JSON API v1. Every error is {"error": {"code", "message", "fields"}} with the right status."""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import force_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import inspect, select
from werkzeug.exceptions import HTTPException

from models import (
    ApiToken, Attachment, Deadline, DeadlineStatus, Deduction, Event, Role, Ticket, User, db,
)
from views import attachments, bearer_token, csrf
from views.auth import authenticate
from workflows import attachments as ticket_files
from workflows import clock, engine, queries
from workflows.deadlines import MISS_TRIGGER
from workflows.errors import Forbidden, InvalidData, NotFound, WorkflowError
from workflows.fields import MAX_ID, whole_number

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


# -- errors ---------------------------------------------------------------------------------------

def error(status: int, code: str, message: str, fields: dict | None = None):
    return jsonify({"error": {"code": code, "message": message, "fields": fields or {}}}), status


@bp.errorhandler(WorkflowError)
def workflow_error(exc: WorkflowError):
    db.session.rollback()
    return error(exc.status, exc.code, exc.message, exc.fields)


@bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    return error(400, "csrf", "a browser session must send the X-CSRFToken header: " + exc.description)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    db.session.rollback()
    code = (exc.name or "error").lower().replace(" ", "_")
    return error(exc.code or 500, code, exc.description or exc.name)


@bp.errorhandler(Exception)
def unexpected_error(exc: Exception):
    db.session.rollback()
    current_app.logger.exception("API error")
    return error(500, "internal", "something went wrong; nothing was saved")


@bp.before_request
def require_login():
    """Every call but POST /tokens needs a user: a bearer token, or the browser session."""
    if request.endpoint == "api.create_token":
        return None
    if not current_user.is_authenticated:
        return error(401, "unauthorized", "log in: POST /api/v1/tokens, then send "
                                          "'Authorization: Bearer <token>'")
    if request.method == "POST" and bearer_token(request) is None:
        csrf.protect()  # a cookie alone could be a forged cross-site request
    return None


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidData("the request body must be a JSON object", {"body": "must be a JSON object"})
    return data


def int_arg(name: str, default: int | None = None, minimum: int = 1) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return default
    number = whole_number(value)
    if number is None or not minimum <= number <= MAX_ID:
        raise InvalidData(f"bad query parameter {name}",
                          {name: f"must be a whole number from {minimum} to {MAX_ID}"})
    return number


# -- representations ------------------------------------------------------------------------------

def iso(value):
    return value.isoformat() if value is not None else None


def person(user: User | None):
    return {"id": user.id, "name": user.name, "username": user.username} if user else None


def deadline_json(deadline: Deadline, now) -> dict:
    rule = engine.current_rules().kind(deadline.ticket.kind).deadlines.get(deadline.name)
    return {
        "name": deadline.name, "label": rule.label if rule else None, "seq": deadline.seq,
        "status": deadline.status, "armed_at": iso(deadline.armed_at),
        "due_at": iso(deadline.due_at), "remaining_seconds": deadline.remaining_seconds,
        "closed_at": iso(deadline.closed_at), "points": deadline.points,
        "article": deadline.article,
        "overdue": deadline.status == DeadlineStatus.MISSED and deadline.closed_at is None
        or deadline.status == DeadlineStatus.RUNNING and deadline.due_at <= now,
    }


def event_json(event: Event) -> dict:
    return {"id": event.id, "trigger": event.trigger, "from_state": event.from_state,
            "to_state": event.to_state, "actor": person(event.actor), "note": event.note,
            "data": event.data, "at": iso(event.at)}


def attachment_json(attachment: Attachment) -> dict:
    """A photo or document: what it is, who added it at which step, and where to fetch it."""
    return {"id": attachment.id, "name": attachment.original_name,
            "content_type": attachment.content_type, "size": attachment.size,
            "kind": ticket_files.kind_of(attachment),
            "step": attachment.event.trigger if attachment.event else None,
            "added_by": person(attachment.uploaded_by), "added_at": iso(attachment.created_at),
            "url": url_for("api.attachment", ticket_id=attachment.ticket_id,
                           attachment_id=attachment.id)}


def ticket_json(ticket: Ticket, actor: User, *, with_events: bool = True) -> dict:
    now = clock.now()
    kind = engine.current_rules().kind(ticket.kind)
    unit = ticket.unit
    deadlines = [deadline_json(d, now) for d in ticket.deadlines]
    data = {
        "id": ticket.id, "kind": ticket.kind, "state": ticket.state,
        "state_label": kind.states[ticket.state].label, "version": ticket.version,
        "title": ticket.title, "description": ticket.description,
        "unit": {"id": unit.id, "label": unit.label, "building": unit.building.name,
                 "area": unit.building.area.name},
        "resident": person(ticket.resident), "assignee": person(ticket.assignee),
        "technician": person(ticket.technician), "rating": ticket.rating,
        "reported_at": iso(ticket.reported_at), "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at), "details": ticket.details or {},
        "overdue": any(d["overdue"] for d in deadlines),
        "deadlines": deadlines,
        "allowed_triggers": [
            {"name": t.name, "label": t.label, "requires": list(t.requires),
             "accepts": list(t.accepts)} for t in engine.allowed_triggers(ticket, actor)
        ],
    }
    if with_events:
        data["events"] = [event_json(e) for e in ticket.events]
        data["attachments"] = [attachment_json(a) for a in ticket.attachments]
    if actor.role == Role.RESIDENT:
        _without_scoring(data)
    return data


def _without_scoring(data: dict) -> None:
    """Residents see when things are due and whether they are late, not the butlers' points."""
    for deadline in data["deadlines"]:
        del deadline["points"], deadline["article"]
    for event in data.get("events", []):
        if event["trigger"] == MISS_TRIGGER:
            event["data"] = {"deadline": event["data"]["deadline"]}


def deduction_json(deduction: Deduction) -> dict:
    """A scorecard line: a missed deadline, or a supervisor's finding (positive: a bonus)."""
    ticket = deduction.ticket
    return {"id": deduction.id, "butler": person(deduction.butler),
            "ticket": {"id": ticket.id, "kind": ticket.kind, "title": ticket.title}
            if ticket else None,
            "source": "finding" if deduction.finding_code else "deadline",
            "deadline": deduction.deadline.name if deduction.deadline else None,
            "finding_code": deduction.finding_code, "note": deduction.note,
            "points": deduction.points, "article": deduction.article,
            "missed_at": iso(deduction.missed_at), "recorded_at": iso(deduction.recorded_at),
            "waived": deduction.waived,
            "review": deduction.review.outcome if deduction.review else None,
            "appealed": deduction.appeal is not None}


def load_ticket(ticket_id: int) -> Ticket:
    ticket = queries.ticket_detail(ticket_id, current_user)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


# -- endpoints ------------------------------------------------------------------------------------

@bp.post("/tokens")
def create_token():
    """Exchange a username and password for a bearer token."""
    data = body()
    username, password = data.get("username"), data.get("password")
    missing = {k: "is required" for k, v in (("username", username), ("password", password))
               if not isinstance(v, str) or not v}
    if missing:
        raise InvalidData("username and password are required", missing)
    user = authenticate(username, password)
    if user is None:
        return error(401, "unauthorized", "wrong username or password")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    db.session.add(ApiToken(user_id=user.id, token_hash=ApiToken.hash(token), created_at=now,
                            expires_at=now + timedelta(days=current_app.config["TOKEN_TTL_DAYS"])))
    db.session.commit()
    return jsonify({"token": token, "user": {**person(user), "role": user.role,
                                             "unit_id": user.unit_id}}), 201


@bp.post("/tickets")
def create_ticket():
    """Register a ticket: a resident's own unit by default; staff may give another and a call time."""
    data = body()
    ticket = engine.open_ticket(current_user, data.get("kind"), data.get("title"),
                                data.get("description", ""), data.get("unit_id"),
                                data.get("reported_at"), details=data.get("details"))
    ticket_id = inspect(ticket).identity[0]  # without reloading the committed (expired) ticket
    return jsonify(ticket_json(load_ticket(ticket_id), current_user)), 201


@bp.get("/tickets")
def list_tickets():
    """The tickets the caller may see; filters kind, state, assignee (id or 'me'), overdue."""
    rules = engine.current_rules()
    kind, state = request.args.get("kind") or None, request.args.get("state") or None
    if kind is not None and kind not in rules.kinds:
        raise InvalidData("bad filter", {"kind": "must be one of " + ", ".join(rules.kinds)})
    known_states = {s for k in rules.kinds.values() for s in k.states}
    if state is not None and state not in known_states:
        raise InvalidData("bad filter", {"state": "is not a state of any kind"})
    assignee = request.args.get("assignee")
    assignee_id = current_user.id if assignee == "me" else int_arg("assignee")
    overdue = request.args.get("overdue")
    if overdue not in (None, "", "true", "false"):
        raise InvalidData("bad filter", {"overdue": "must be true or false"})
    page = int_arg("page", 1)
    per_page = min(int_arg("per_page", current_app.config["API_PAGE_SIZE"]), 200)
    found, total = queries.tickets(
        current_user, clock.now(), kind=kind, state=state, assignee_id=assignee_id,
        overdue=None if overdue in (None, "") else overdue == "true",
        page=page, per_page=per_page)
    return jsonify({"tickets": [ticket_json(t, current_user, with_events=False) for t in found],
                    "page": page, "per_page": per_page, "total": total})


@bp.get("/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int):
    """One ticket with its deadlines, timeline and the triggers the caller may fire."""
    return jsonify(ticket_json(load_ticket(ticket_id), current_user))


@bp.post("/tickets/<int:ticket_id>/fire")
def fire(ticket_id: int):
    """Fire a trigger: {trigger, version, note?, rating?, promised_at?, result?, reason?, ...}."""
    data = body()
    trigger, version = data.pop("trigger", None), data.pop("version", None)
    engine.fire(ticket_id, trigger, current_user, version, **data)
    return jsonify(ticket_json(load_ticket(ticket_id), current_user))


@bp.post("/tickets/<int:ticket_id>/attachments")
def add_attachments(ticket_id: int):
    """Add photos or documents: multipart/form-data with one or more `file` parts and an optional
    `kind` (photo, floor_plan, licence, document). Each file is taken for what its content is
    (JPEG, PNG, WebP or PDF) and must be at most 10 MB → 201 {"attachments": [...]}."""
    load_ticket(ticket_id)  # a ticket the caller may not see is 404 before any file is read
    chosen = [f for f in request.files.getlist("file") if f.filename]
    if not chosen:
        raise InvalidData("no file was sent", {"file": "is required (multipart/form-data)"})
    with force_locale("en"):  # the API speaks English, whatever the browser prefers
        checked, problems = attachments.check_uploads(chosen)
    if problems:
        raise InvalidData("the files cannot be added as given", {"file": "; ".join(problems)})
    files = attachments.store(checked)
    try:
        event = engine.attach(ticket_id, current_user, files, request.form.get("kind"))
    except BaseException:
        attachments.discard(files)
        raise
    added = db.session.scalars(select(Attachment).where(Attachment.event_id == event.id)
                               .order_by(Attachment.id))
    return jsonify({"attachments": [attachment_json(a) for a in added]}), 201


@bp.get("/tickets/<int:ticket_id>/attachments/<int:attachment_id>")
def attachment(ticket_id: int, attachment_id: int):
    """A ticket's photo or document, for whoever may see the ticket (404 for anyone else)."""
    return attachments.serve(ticket_id, attachment_id, current_user)


@bp.get("/deductions")
def list_deductions():
    """Deductions, by butler and by local month (YYYY-MM). Butlers see only their own."""
    butler_id = int_arg("butler_id")
    if current_user.role == Role.BUTLER:
        if butler_id not in (None, current_user.id):
            raise Forbidden("a butler sees only their own deductions")
        butler_id = current_user.id
    elif current_user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("only butlers and supervisors see deductions")
    start = end = None
    if request.args.get("month"):
        try:
            start, end = queries.month_bounds(request.args["month"], current_app.config["TZ"])
        except ValueError:
            raise InvalidData("bad month", {"month": "must be a month like 2026-11"}) from None
    found = queries.deductions(butler_id=butler_id, start=start, end=end)
    return jsonify({"deductions": [deduction_json(d) for d in found],
                    "total_points": sum(d.points for d in found if not d.waived)})


@bp.get("/workflows")
def workflows():
    """Each kind's states, triggers (with roles and data) and deadlines, as loaded from the rules."""
    result = {}
    for kind in engine.current_rules().kinds.values():
        result[kind.name] = {
            "label": kind.label, "initial": kind.initial,
            "states": [{"name": s.name, "label": s.label, "final": s.final}
                       for s in kind.states.values()],
            "triggers": [{"name": t.name, "label": t.label, "from": list(t.sources),
                          "to": t.dest if not t.dest_by else {"by": t.dest_by, **t.dest_choices},
                          "roles": sorted(t.roles), "requires": list(t.requires),
                          "accepts": list(t.accepts)} for t in kind.triggers.values()],
            "deadlines": [{"name": d.name, "label": d.label, "starts_in": sorted(d.starts_in),
                           "met_in": sorted(d.met_in), "paused_in": sorted(d.paused_in),
                           "cancelled_in": sorted(d.cancelled_in),
                           "rearmed_by": sorted(d.rearmed_by), "repeats": d.repeats,
                           "within_seconds": int(d.within.total_seconds()),
                           "points": d.points, "article": d.article}
                          for d in kind.deadlines.values()],
        }
    return jsonify(result)
