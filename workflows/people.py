"""The company's people, as its admin manages them: staff accounts made, their role, contact
and areas changed, a password reset, a person deactivated (everything of theirs stops at once:
workflows.accounts) or let back in. Every change is an entry in the audit log, in the
transaction of the change; a password is never written there, only that it was set.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from models import Area, Estate, Role, Ticket, User, db
from models.people import STAFF_ROLES
from models.transaction import write
from workflows import accounts, audit, clock, cover, places
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.fields import record_id
from workflows.words import listing, term

PAGE_SIZE = 100
MAX_USERNAME = 64
MAX_NAME = 100
# What a person's record shows in the audit log (never the password or its hash).
SHOWN = ("username", "name", "role", "phone", "email", "active")
# A generated password: easy to read out or copy from the screen, long enough not to guess.
GENERATED_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
GENERATED_LENGTH = 12
STAFF = [role for role in Role if role in STAFF_ROLES]


def require_admin(actor: User | None) -> None:
    """Accounts are the company's admin's to manage (None: the command line)."""
    if actor is not None and actor.role != Role.ADMIN:
        raise Forbidden(_l("only the company's admin manages accounts"))


def generated_password() -> str:
    return "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_LENGTH))


def people(actor: User, role: Any = None, active: Any = None, page: int = 1) -> list[User]:
    """Accounts by name: the staff (or those of one role), active or not (None: both)."""
    require_admin(actor)
    query = select(User)
    if role:
        query = query.where(User.role == _role(role, "role", list(Role)))
    else:
        query = query.where(User.role.in_(STAFF_ROLES))
    if active is not None:
        query = query.where(User.active.is_(active))
    return list(db.session.scalars(query.order_by(User.name, User.id)
                                   .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))


def person(actor: User, user_id: Any) -> User:
    require_admin(actor)
    user = db.session.get(User, record_id(user_id) or 0)
    if user is None:
        raise NotFound(_l("person %(id)s not found", id=user_id))
    return user


def open_tickets(user_id: int) -> list[Ticket]:
    """The open tickets a person holds, as butler or as the technician dispatched: to reassign
    when they leave (oldest first)."""
    return list(db.session.scalars(
        select(Ticket).where(or_(Ticket.assignee_id == user_id, Ticket.technician_id == user_id),
                             cover.open_tickets())
        .order_by(Ticket.created_at, Ticket.id)))


def areas_of(user_id: int) -> list[Area]:
    """The areas whose butler the person is now."""
    return list(db.session.scalars(select(Area).where(Area.butler_id == user_id)
                                   .order_by(Area.name)))


def create(actor: User | None, username: Any, name: Any, role: Any, phone: Any = None,
           email: Any = None, password: Any = None,
           estate_ids: Any = None) -> tuple[User, str | None]:
    """A new staff account; a supervisor's with the estates they supervise (`estate_ids`; left
    out: the only estate, when there is one). With no password given, one is made: (the
    account, that password, to show once; None when it was typed)."""
    require_admin(actor)
    problems: dict[str, Any] = {}
    username = required_text(username, "username", MAX_USERNAME, problems)
    if username and any(c.isspace() for c in username):
        problems["username"] = _l("must not contain spaces")
    name = required_text(name, "name", MAX_NAME, problems)
    role = _role(role, "role", STAFF, problems)
    number = accounts.mobile(phone, "phone", problems)
    address = accounts.email_address(email, "email", problems)
    generated = None
    if password in (None, ""):
        password = generated = generated_password()
    else:
        problems.update(accounts.password_problems(password, "password"))
    estates = _estates_for(role, estate_ids, problems)
    if problems:
        raise InvalidData(_l("the account was not created"), problems)
    try:
        with write():
            if db.session.scalar(select(User.id).where(
                    func.lower(User.username) == username.lower())) is not None:
                raise _taken(username)
            user = User(username=username, name=name, role=role, phone=number or None,
                        email=address or None, active=True)
            user.set_password(password)
            db.session.add(user)
            db.session.flush()
            audit.record(actor, "created", user, None, shown(user))
            if estates:
                places.supervise(actor, user, estates)
    except IntegrityError:  # the same username made at the same moment
        raise _taken(username) from None
    return user, generated


def change(actor: User | None, user_id: Any, changes: dict[str, Any]) -> tuple[User, str | None]:
    """Change an account: any of name, role, phone, email, active (False: deactivated, every
    login of theirs ends at once), password (typed), reset_password (true: one is made) or
    estate_ids (a supervisor's estates; a supervisor made another role supervises none).
    All of it is checked before any of it is saved; (the account, the password made to show
    once, or None)."""
    require_admin(actor)
    user = _person(user_id)
    new, password, generated = _changes(user, changes)
    _refuse_lockouts(actor, user, new)
    with write():
        user = db.session.get(User, user.id)
        before = shown(user)
        for key, value in new.items():
            if key != "estate_ids":
                setattr(user, key, value)
        after = shown(user)
        action = ("deactivated" if before["active"] and not after["active"] else
                  "reactivated" if after["active"] and not before["active"] else "changed")
        estate_id = user.unit.area.estate_id if user.unit else None  # a resident's estate
        audit.record(actor, action, user, before, after, estate_id=estate_id)
        if password is not None:
            user.set_password(password)
            audit.record(actor, "password_reset", user, estate_id=estate_id)
        if password is not None or not user.active:
            accounts.end_all(user.id, clock.now())
        if "estate_ids" in new or (user.role != Role.SUPERVISOR and before["role"]
                                   == Role.SUPERVISOR):
            places.supervise(actor, user, new.get("estate_ids", []),
                             "estate_ids" if "estate_ids" in new else "role")
    return user, generated


def set_areas(actor: User, user_id: Any, area_ids: Any, note: Any = "") -> list[Area]:
    """Make a butler the butler of these areas (each through workflows.cover, which keeps the
    dated periods and hands the area's open tickets over). An area of theirs left out must get
    its new butler on the areas page: an area always has one."""
    require_admin(actor)
    user = _person(user_id)
    if not isinstance(area_ids, list) or not all(record_id(i) for i in area_ids):
        raise InvalidData(_l("the areas were not changed"),
                          {"area_ids": _l("must be a list of area ids")})
    if user.role != Role.BUTLER or not user.active:
        raise Conflict(_l("only an active butler answers for an area"),
                       {"area_ids": _l("%(name)s is not an active butler", name=user.name)})
    wanted = {int(i) for i in area_ids}
    known = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(wanted)))}
    unknown = sorted(wanted - known.keys())
    if unknown:
        raise InvalidData(_l("the areas were not changed"),
                          {"area_ids": _l("no such area: %(ids)s", ids=listing(unknown))})
    if len({a.estate_id for a in known.values()}) > 1:
        raise Conflict(_l("a butler's areas are in one estate"),
                       {"area_ids": _l("choose areas of one estate")})
    kept = [a for a in areas_of(user.id) if a.id not in wanted]
    if kept:
        raise Conflict(_l("an area always has a butler: give it its new butler instead"), {
            "area_ids": _l("%(areas)s: choose the new butler on the areas page",
                           areas=listing([a.name for a in kept]))})
    for area_id in sorted(wanted):
        if known[area_id].butler_id != user.id:
            cover.set_area_butler(actor, area_id, user.id, note)
    return areas_of(user.id)


def _changes(user: User, changes: dict[str, Any]) -> tuple[dict[str, Any], str | None,
                                                          str | None]:
    """The fields to set, the password to set and the one made (if any), all checked."""
    problems: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if "name" in changes:
        new["name"] = required_text(changes["name"], "name", MAX_NAME, problems)
    if "phone" in changes:
        new["phone"] = accounts.mobile(changes["phone"], "phone", problems) or None
    if "email" in changes:
        new["email"] = accounts.email_address(changes["email"], "email", problems) or None
    if "role" in changes:
        # Staff change posts; a resident stays one (residents get in through their unit).
        new["role"] = _role(changes["role"], "role",
                            [Role.RESIDENT] if user.role == Role.RESIDENT else STAFF, problems)
    if "active" in changes:
        if isinstance(changes["active"], bool):
            new["active"] = changes["active"]
        else:
            problems["active"] = _l("must be true or false")
    if "estate_ids" in changes:
        role = new.get("role") or user.role
        new["estate_ids"] = _estates_for(role, changes["estate_ids"], problems) or []
    password = generated = None
    if changes.get("reset_password") is True:
        password = generated = generated_password()
    elif changes.get("reset_password") not in (None, False):
        problems["reset_password"] = _l("must be true or false")
    elif changes.get("password") not in (None, ""):
        problems.update(accounts.password_problems(changes["password"], "password"))
        password = changes["password"]
    if problems:
        raise InvalidData(_l("the account was not changed"), problems)
    return new, password, generated


def _refuse_lockouts(actor: User | None, user: User, new: dict[str, Any]) -> None:
    """What would leave the company without its admin, or an area with a butler who is not one."""
    if actor is not None and actor.id == user.id:
        if new.get("active") is False:
            message = _l("you cannot deactivate your own account")
            raise Conflict(message, {"active": message})
        if new.get("role", user.role) != user.role:
            message = _l("you cannot change your own role")
            raise Conflict(message, {"role": message})
    if "role" in new and new["role"] != Role.BUTLER and user.role == Role.BUTLER:
        areas = areas_of(user.id)
        if areas:
            raise Conflict(_l("%(name)s is still the butler of %(areas)s", name=user.name,
                              areas=listing([a.name for a in areas])),
                           {"role": _l("give %(areas)s another butler first",
                                       areas=listing([a.name for a in areas]))})


def _estates_for(role: str | None, estate_ids: Any, problems: dict[str, Any]) -> list[int]:
    """The estates a supervisor is to supervise, checked; others are given none."""
    if role != Role.SUPERVISOR:
        if estate_ids not in (None, []):
            problems["estate_ids"] = _l("only supervisors are given estates")
        return []
    if estate_ids is None:
        only = db.session.scalars(select(Estate.id).limit(2)).all()
        return only if len(only) == 1 else []
    return places.estate_choice(estate_ids, "estate_ids", problems)


def _taken(username: str) -> Conflict:
    return Conflict(_l("the username %(name)s is taken", name=username),
                    {"username": _l("is taken: choose another")})


def _person(user_id: Any) -> User:
    user = db.session.get(User, record_id(user_id) or 0)
    if user is None:
        raise NotFound(_l("person %(id)s not found", id=user_id))
    return user


def shown(user: User) -> dict[str, Any]:
    """A person's record as the audit log shows it."""
    return {key: getattr(user, key) for key in SHOWN}


def required_text(value: Any, field: str, longest: int, problems: dict[str, Any]) -> str:
    """Text that must be given, trimmed; what is wrong with it goes into `problems`."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        problems[field] = _l("is required")
    elif len(text) > longest:
        problems[field] = _l("must be at most %(count)d characters", count=longest)
    return text


def _role(value: Any, field: str, allowed, problems: dict[str, Any] | None = None) -> str | None:
    """One of the `allowed` roles, or None with the problem in `problems` (raised at once
    without them)."""
    if isinstance(value, str) and value in allowed:
        return value
    problem = _l("must be one of: %(roles)s", roles=listing([term(r) for r in allowed]))
    if problems is None:
        raise InvalidData(_l("bad filter"), {field: problem})
    problems[field] = problem
    return None
