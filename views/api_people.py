"""JSON API v1 for accounts: the admin's staff and residents (workflows.people), the units'
invitation codes and activating with one (workflows.invitations), and the audit log. Same error
format and status codes as the rest of the API."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from models import AuditEntry, Invitation, User, db
from views import schemas
from views.api import body, bp, int_arg, iso, person, user_json
from views.limits import failed, limit_activations
from views.openapi import documented
from workflows import audit, invitations, people, places
from workflows.errors import InvalidData
from workflows.fields import parse_time

# The fields of an activation that name a unit and its code: getting them wrong is a guess,
# counted against the unit's limit.
GUESSES = ("estate_id", "building", "unit", "invitation_code")


def account_json(user: User) -> dict:
    return {**person(user), "role": user.role, "unit_id": user.unit_id, "active": user.active,
            "activated_at": iso(user.activated_at)}


def account_detail(user: User) -> dict:
    return {**account_json(user),
            "areas": [{"id": a.id, "name": a.name} for a in people.areas_of(user.id)],
            "estates": [{"id": e.id, "name": e.name} for e in places.estates_of(user.id)],
            "open_tickets": [{"id": t.id, "kind": t.kind, "title": t.title}
                             for t in people.open_tickets(user.id)]}


def _changed(user_id: int, password: str | None) -> dict:
    db.session.expire_all()
    return {"user": account_detail(db.session.get(User, user_id)), "password": password}


@bp.get("/users")
@documented(query=schemas.AccountQuery, responses={200: schemas.Accounts}, errors=(403, 422))
def list_users():
    """Accounts by name: every staff account, or those of one role (resident included); active,
    deactivated or both. The admin's."""
    active = request.args.get("active")
    if active not in (None, "", "true", "false"):
        raise InvalidData("bad filter", {"active": "must be true or false"})
    page = int_arg("page", 1)
    found = people.people(current_user, request.args.get("role") or None,
                          None if active in (None, "") else active == "true", page)
    return jsonify({"users": [account_json(u) for u in found], "page": page})


@bp.post("/users")
@documented(body=schemas.AccountRequest, responses={201: schemas.AccountChanged},
            errors=(403, 409, 422))
def create_user():
    """Make a staff account: {username, name, role, phone?, email?, password?, estate_ids?}.
    Without a password one is made, answered this once. A supervisor supervises the estates of
    `estate_ids` (left out: the only estate, when there is one)."""
    data = body()
    user, password = people.create(current_user, data.get("username"), data.get("name"),
                                   data.get("role"), data.get("phone"), data.get("email"),
                                   data.get("password"), data.get("estate_ids"))
    return jsonify(_changed(user.id, password)), 201


@bp.get("/users/<int:user_id>")
@documented(responses={200: schemas.AccountDetail}, errors=(403, 404))
def get_user(user_id: int):
    """One account, with the areas they are butler of and the open tickets they hold."""
    return jsonify(account_detail(people.person(current_user, user_id)))


@bp.patch("/users/<int:user_id>")
@documented(body=schemas.AccountChange, responses={200: schemas.AccountChanged},
            errors=(403, 404, 409, 422))
def change_user(user_id: int):
    """Change an account: {name?, role?, phone?, email?, active?, password?, reset_password?,
    estate_ids?} (`estate_ids`: a supervisor's estates, exactly these).
    `"active": false` deactivates them: they cannot log in, and every session and token of
    theirs stops working at once; their open tickets are listed to reassign. A password reset
    ends their logins too. Nobody deactivates themself or changes their own role (409)."""
    user, password = people.change(current_user, user_id, body())
    return jsonify(_changed(user.id, password))


@bp.put("/users/<int:user_id>/areas")
@documented(body=schemas.AreasChange, responses={200: schemas.AccountDetail},
            errors=(403, 404, 409, 422))
def set_user_areas(user_id: int):
    """Make a butler the butler of these areas: {area_ids, note?}. Each area given them is
    handed over as by PUT /areas/{area_id}/butler (its open tickets go with it)."""
    data = body()
    people.set_areas(current_user, user_id, data.get("area_ids"), data.get("note", ""))
    db.session.expire_all()
    return jsonify(account_detail(db.session.get(User, user_id)))


@bp.post("/units/<int:unit_id>/invitation")
@documented(responses={201: schemas.InvitationIssued}, errors=(403, 404, 409))
def issue_invitation(unit_id: int):
    """Issue a unit's invitation code (again): the new code is answered this once, the old one
    stops working. The office's: supervisors and the admin."""
    unit, code = invitations.issue_for_unit(current_user, unit_id)
    db.session.expire_all()
    issued = db.session.get(Invitation, unit.id)
    return jsonify({"unit_id": issued.unit_id, "unit": issued.unit.label,
                    "code": invitations.shown(code), "issued_at": iso(issued.issued_at)}), 201


@bp.post("/activations")
@documented(body=schemas.ActivationRequest, responses={201: schemas.Activated},
            errors=(409, 422, 429), public=True)
@limit_activations
def activate():
    """Get in with the unit's invitation code: {estate_id?, building, unit, phone,
    invitation_code, password, name?}. The resident of the unit with this phone chooses their
    password; anyone else of the unit (family, a tenant) joins with their phone, which becomes
    their username, and their name. A wrong code or unit is 422 and counts as a failed try
    (429 past the limit); a phone that has got in already, or another unit's, is 409."""
    data = body()
    try:
        user = invitations.activate(data.get("estate_id"), data.get("building"),
                                    data.get("unit"), data.get("phone"),
                                    data.get("invitation_code"), data.get("password"),
                                    name=data.get("name"))
    except InvalidData as exc:
        if any(field in exc.fields for field in GUESSES):
            failed()
        raise
    db.session.expire_all()
    return jsonify({"user": user_json(db.session.get(User, user.id))}), 201


def entry_json(entry: AuditEntry) -> dict:
    return {"id": entry.id, "at": iso(entry.at), "actor": person(entry.actor),
            "estate_id": entry.estate_id, "action": entry.action,
            "subject_type": entry.subject_type, "subject_id": entry.subject_id,
            "before": entry.before, "after": entry.after, "note": entry.note}


@bp.get("/audit")
@documented(query=schemas.AuditQuery, responses={200: schemas.AuditEntries}, errors=(403, 422))
def audit_log():
    """The audit log, newest first: who changed what, when, before → after. Filters: estate,
    kind of record (and its id), the person who changed it, a time range. The admin's."""
    times = {}
    for name in ("since", "until"):
        if request.args.get(name):
            try:
                times[name] = parse_time(request.args[name])
            except ValueError as exc:
                raise InvalidData(f"bad query parameter {name}", {name: exc.args[0]}) from None
    page = int_arg("page", 1)
    found = audit.entries(current_user, estate_id=int_arg("estate_id"),
                          subject_type=request.args.get("subject_type") or None,
                          subject_id=int_arg("subject_id"), by=int_arg("by"), page=page,
                          **times)
    return jsonify({"entries": [entry_json(e) for e in found], "page": page})
