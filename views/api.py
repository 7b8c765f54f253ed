"""JSON API v1. Every error is {"error": {"code", "message", "fields"}} with the right status."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import force_locale
from flask_login import current_user
from sqlalchemy import inspect, select

from models import (
    Attachment,
    Credential,
    CredentialKind,
    Deadline,
    Deduction,
    Event,
    Role,
    Ticket,
    User,
    db,
)
from views import bearer_token, csrf, idempotency, openapi, schemas, uploads
from views.errors import api_error
from views.inputs import json_body
from views.limits import failed, limit_logins, password_limit
from views.openapi import documented
from workflows import accounts, assessment, clock, engine, queries
from workflows import attachments as ticket_files
from workflows.access import scorecard_of
from workflows.deadlines import MISS_TRIGGER
from workflows.errors import InvalidData, NotFound
from workflows.extensions import APPROVED as EXTENSION_APPROVED
from workflows.extensions import STAFF_EVENTS
from workflows.fields import MAX_ID, STAFF_ONLY, record_id, whole_number
from workflows.rules import current as current_rules
from workflows.words import clock_time

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def require_login():
    """Every call but POST /tokens, POST /activations and this API's description needs a user:
    a bearer token, or the browser session."""
    if request.endpoint in ("api.create_token", "api.activate", "api.openapi_document"):
        return None
    if not current_user.is_authenticated:
        return api_error(401, "unauthorized", "log in: POST /api/v1/tokens, then send "
                                              "'Authorization: Bearer <token>'")
    if request.method not in ("GET", "HEAD", "OPTIONS") and bearer_token(request) is None:
        csrf.protect()  # a cookie alone could be a forged cross-site request
    return None


idempotency.init_app(bp)  # after require_login: a key belongs to the user who sent it


def body() -> dict[str, Any]:
    """The request's JSON object (views.inputs: size, depth and text checked)."""
    data = json_body()
    if not isinstance(data, dict):
        raise InvalidData("the request body must be a JSON object",
                          {"body": "must be a JSON object"})
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


def person(user: User | None, viewer: User | None = None):
    """A person as the API shows them to `viewer` (the caller): their email address only to
    themself and to staff."""
    if user is None:
        return None
    shown = {"id": user.id, "name": user.name, "username": user.username}
    viewer = viewer or (current_user if current_user.is_authenticated else None)
    if viewer is not None and (viewer.is_staff or viewer.id == user.id):
        shown["email"], shown["phone"] = user.email, user.phone
    return shown


def deadline_json(deadline: Deadline, now) -> dict:
    rule = current_rules().kind(deadline.ticket.kind).deadlines.get(deadline.name)
    return {
        "name": deadline.name, "label": rule.label if rule else None, "seq": deadline.seq,
        "status": deadline.status, "armed_at": iso(deadline.armed_at),
        "due_at": iso(deadline.due_at), "remaining_seconds": deadline.remaining_seconds,
        "closed_at": iso(deadline.closed_at), "points": deadline.points,
        "article": deadline.article,
        "overdue": deadline.overdue(now),
    }


def event_json(event: Event, actor: User) -> dict:
    """A step of the timeline; a note for staff only is left out for a resident."""
    hidden = event.staff_only and actor.role == Role.RESIDENT
    return {"id": event.id, "trigger": event.trigger, "from_state": event.from_state,
            "to_state": event.to_state, "actor": person(event.actor),
            "note": "" if hidden else event.note, "staff_only": event.staff_only,
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
    kind = current_rules().kind(ticket.kind)
    unit = ticket.unit
    deadlines = [deadline_json(d, now) for d in ticket.deadlines]
    data = {
        "id": ticket.id, "kind": ticket.kind, "state": ticket.state,
        "state_label": kind.states[ticket.state].label, "version": ticket.version,
        "title": ticket.title, "description": ticket.description,
        "unit": {"id": unit.id, "label": unit.label, "building": unit.building.name,
                 "area": unit.building.area.name},
        "resident": person(ticket.resident),
        # Staff call the resident (a follow-up, a spot-check); other residents never see it.
        "resident_phone": ticket.resident.phone if ticket.resident and actor.is_staff else None,
        "assignee": person(ticket.assignee),
        "technician": person(ticket.technician), "rating": ticket.rating,
        "reported_at": iso(ticket.reported_at), "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at), "details": ticket.details or {},
        "overdue": any(d["overdue"] for d in deadlines),
        "deadlines": deadlines,
        "allowed_triggers": [
            {"name": t.name, "label": t.label, "requires": list(t.requires),
             "accepts": [f for f in t.accepts if actor.is_staff or f != STAFF_ONLY]}
            for t in engine.allowed_triggers(ticket, actor)
        ],
    }
    if with_events:
        data["events"] = [event_json(e, actor) for e in ticket.events]
        data["attachments"] = [attachment_json(a) for a in ticket.attachments]
    if actor.role == Role.RESIDENT:
        _without_scoring(data)
    return data


def _without_scoring(data: dict) -> None:
    """Residents see when things are due and whether they are late, not the butlers' points,
    nor what staff asked each other about more time (an approval: the new time, no more)."""
    for deadline in data["deadlines"]:
        del deadline["points"], deadline["article"]
    if "events" in data:
        data["events"] = [e for e in data["events"] if e["trigger"] not in STAFF_EVENTS]
    for event in data.get("events", []):
        if event["trigger"] == MISS_TRIGGER:
            event["data"] = {"deadline": event["data"]["deadline"]}
        elif event["trigger"] == EXTENSION_APPROVED:
            event["data"] = {k: event["data"][k] for k in ("deadline", "due_before", "due_at")}


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
            "waived": deduction.waived, "held": deduction.held, "counts": deduction.counts,
            "review": deduction.review.outcome if deduction.review else None,
            "appealed": deduction.appeal is not None}


def load_ticket(ticket_id: int) -> Ticket:
    ticket = queries.ticket_detail(ticket_id, current_user)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


# -- endpoints ------------------------------------------------------------------------------------

def user_json(user: User) -> dict:
    """A person as they see themself: with where and when their notices go."""
    return {**person(user, viewer=user), "role": user.role, "unit_id": user.unit_id,
            "email_for": user.email_for, "sms_for": user.sms_for,
            "quiet_from": clock_time(user.quiet_from), "quiet_until": clock_time(user.quiet_until)}


def credential_json(credential: Credential) -> dict:
    current = g.get("credential")
    return {"id": credential.id, "kind": credential.kind, "created_at": iso(credential.created_at),
            "expires_at": iso(credential.expires_at),
            "current": current is not None and current.id == credential.id}


@bp.post("/tokens")
@documented(body=schemas.TokenRequest, responses={201: schemas.Token}, errors=(401, 422, 429),
            public=True)
@limit_logins
def create_token():
    """Exchange a username and password for a bearer token. Tries are limited per address and
    failed tries per username (429 with Retry-After)."""
    data = body()
    username, password = data.get("username"), data.get("password")
    missing = {k: "is required" for k, v in (("username", username), ("password", password))
               if not isinstance(v, str) or not v}
    if missing:
        raise InvalidData("username and password are required", missing)
    user = accounts.authenticate(username, password)
    if user is None:
        failed()
        return api_error(401, "unauthorized", "wrong username or password")
    token, credential = accounts.sign_in(user, CredentialKind.API)
    return jsonify({"token": token, "expires_at": iso(credential.expires_at),
                    "user": user_json(user)}), 201


@bp.get("/tokens")
@documented(responses={200: schemas.Credentials})
def list_tokens():
    """My logins in use: API tokens and page sessions, newest first (`current`: this one)."""
    return jsonify({"tokens": [credential_json(c) for c in accounts.live(current_user)]})


@bp.delete("/tokens/current")
@documented(responses={204: None})
def revoke_current_token():
    """Log out: the token (or page session) this request came with stops working at once."""
    current = g.get("credential")
    if current is not None:
        accounts.revoke(current_user, current.id)
    return "", 204


@bp.delete("/tokens/<int:credential_id>")
@documented(responses={204: None}, errors=(404,))
def revoke_token(credential_id: int):
    """End one of my logins (a token lost with a phone, a session on another device)."""
    # An id past any a database holds would overflow the query: it is no login of mine (404).
    accounts.revoke(current_user, record_id(credential_id) or 0)
    return "", 204


@bp.get("/me")
@documented(responses={200: schemas.User})
def me():
    """Who I am."""
    return jsonify(user_json(current_user))


@bp.patch("/me")
@documented(body=schemas.NoticeSettings, responses={200: schemas.User}, errors=(422,))
def change_me():
    """Where and when my notices go: {email, phone, email_for, sms_for, quiet_from,
    quiet_until}; what is left out stays as it is. All of it is checked before any of it is
    saved."""
    data = body()
    me = current_user
    accounts.set_notice_settings(
        me, data.get("email", me.email), data.get("phone", me.phone),
        data.get("email_for", me.email_for), data.get("sms_for", me.sms_for),
        data.get("quiet_from", me.quiet_from), data.get("quiet_until", me.quiet_until))
    db.session.refresh(me)
    return jsonify(user_json(me))


@bp.post("/me/password")
@documented(body=schemas.PasswordChange, responses={204: None}, errors=(422, 429))
@password_limit
def change_password():
    """Change my password: {current_password, new_password}. Every other login of mine ends
    (this token stays). A wrong current password counts as a failed try (429 past the limit)."""
    data = body()
    current = g.get("credential")
    try:
        accounts.change_password(current_user, data.get("current_password"),
                                 data.get("new_password"), keep=current.id if current else None)
    except InvalidData as exc:
        if "current_password" in exc.fields:
            failed()
        raise
    return "", 204


@bp.post("/tickets")
@documented(body=schemas.TicketRequest, responses={201: schemas.Ticket}, errors=(403, 409, 422))
def create_ticket():
    """Register a ticket: a resident's own unit by default; staff may give another and a call
    time."""
    data = body()
    ticket = engine.open_ticket(current_user, data.get("kind"), data.get("title"),
                                data.get("description", ""), data.get("unit_id"),
                                data.get("reported_at"), details=data.get("details"))
    ticket_id = inspect(ticket).identity[0]  # without reloading the committed (expired) ticket
    return jsonify(ticket_json(load_ticket(ticket_id), current_user)), 201


@bp.get("/tickets")
@documented(query=schemas.TicketQuery, responses={200: schemas.TicketList}, errors=(422,))
def list_tickets():
    """The tickets the caller may see; filters kind, state, assignee (id or 'me'), overdue."""
    rules = current_rules()
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
@documented(responses={200: schemas.Ticket}, errors=(404,))
def get_ticket(ticket_id: int):
    """One ticket with its deadlines, timeline and the triggers the caller may fire."""
    return jsonify(ticket_json(load_ticket(ticket_id), current_user))


@bp.post("/tickets/<int:ticket_id>/fire")
@documented(body=schemas.Fire, responses={200: schemas.Ticket}, errors=(403, 404, 409, 422))
def fire(ticket_id: int):
    """Fire a trigger: {trigger, version, note?, rating?, promised_at?, result?, reason?, ...}."""
    data = body()
    trigger, version = data.pop("trigger", None), data.pop("version", None)
    engine.fire(ticket_id, trigger, current_user, version, **data)
    return jsonify(ticket_json(load_ticket(ticket_id), current_user))


@bp.post("/tickets/<int:ticket_id>/attachments")
@documented(form=schemas.AttachmentUpload, responses={201: schemas.Attachments},
            errors=(404, 409, 422))
def add_attachments(ticket_id: int):
    """Add photos or documents: multipart/form-data with one or more `file` parts, an optional
    `kind` (photo, floor_plan, licence, document) and a `note` on them. Each file is taken for
    what its content is (JPEG, PNG, WebP or PDF), at most 10 MB → 201 {"attachments": [...]}."""
    load_ticket(ticket_id)  # a ticket the caller may not see is 404 before any file is read
    chosen = [f for f in request.files.getlist("file") if f.filename]
    if not chosen:
        raise InvalidData("no file was sent", {"file": "is required (multipart/form-data)"})
    with force_locale("en"):  # the API speaks English, whatever the browser prefers
        checked, problems = uploads.read_all(chosen)
    if problems:
        raise InvalidData("the files cannot be added as given", {"file": "; ".join(problems)})
    files = uploads.store(checked)
    try:
        event = engine.attach(ticket_id, current_user, files, request.form.get("kind"),
                              request.form.get("note", ""))
    except BaseException:
        uploads.discard(files)
        raise
    added = db.session.scalars(select(Attachment).where(Attachment.event_id == event.id)
                               .order_by(Attachment.id))
    return jsonify({"attachments": [attachment_json(a) for a in added]}), 201


@bp.get("/tickets/<int:ticket_id>/attachments/<int:attachment_id>")
@documented(responses={200: {mime: None for mime, _test in uploads.FILE_TYPES.values()}},
            errors=(404,))
def attachment(ticket_id: int, attachment_id: int):
    """A ticket's photo or document, for whoever may see the ticket (404 for anyone else)."""
    return uploads.serve(ticket_id, attachment_id, current_user)


@bp.get("/deductions")
@documented(query=schemas.DeductionQuery, responses={200: schemas.Deductions}, errors=(403, 422))
def list_deductions():
    """Deductions, by butler and by local month (YYYY-MM). Butlers see only their own."""
    butler_id = scorecard_of(current_user, int_arg("butler_id"))
    start = end = None
    if request.args.get("month"):
        start, end = assessment.month_bounds(assessment.parse_month(request.args["month"]))
    found = queries.deductions(butler_id=butler_id, start=start, end=end)
    return jsonify({"deductions": [deduction_json(d) for d in found],
                    "total_points": sum(d.points for d in found if d.counts)})


@bp.get("/workflows")
@documented(responses={200: {"application/json": schemas.WORKFLOWS}})
def workflows():
    """Each kind's states, triggers (with roles and data) and deadlines, as loaded from the
    rules."""
    result = {}
    for kind in current_rules().kinds.values():
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
                           "calendar": d.calendar, "points": d.points, "article": d.article}
                          for d in kind.deadlines.values()],
        }
    return jsonify(result)


@bp.record_once
def _docs_page(state):
    # The page for people sits beside the API (/api/docs), outside the blueprint's /api/v1.
    state.app.add_url_rule("/api/docs", "api_docs", openapi.docs_page)


@bp.get("/openapi.json")
@documented(responses={200: schemas.OpenAPIDocument}, public=True)
def openapi_document():
    """This description of the API (OpenAPI 3.1), built from the routes themselves."""
    return jsonify(openapi.spec())
