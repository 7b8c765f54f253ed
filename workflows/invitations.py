"""Residents get in: each unit's invitation code, issued by the office and printed on a slip,
and the activation with it (phone, unit, code, a password chosen).

A code is 8 characters from an alphabet without 0/O/1/I (easy to type from paper), shown as
ABCD-EFGH; only its SHA-256 is kept (models.invitations), so it is printed when it is issued
and never shown again: issuing a new one for a unit makes the old one stop working. A code does
not expire: a household activates over weeks, one person after another. It lets everyone of the
unit in, each with their own phone: a resident the office has on record (an imported owner)
gets in with that phone; anyone else of the unit (family, a tenant) joins with their own phone
and name. The office issues a new code when a tenant moves out or a slip is lost. Guessing is
held off by the rate limits on activation (views.limits).
"""
from __future__ import annotations

import hmac
import secrets
import unicodedata
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from models import Area, Building, Estate, Invitation, Role, Unit, User, db
from models.transaction import write
from workflows import accounts, audit, clock
from workflows.access import in_scope, units_in_estates_of
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.fields import record_id
from workflows.people import MAX_NAME, required_text
from workflows.words import local

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_PLACE = 100  # a building's name, a unit's number, as typed


def require_office(actor: User) -> None:
    """Codes are the office's to issue: supervisors and the company's admin."""
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(_l("only the office issues invitation codes"))


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """A code as printed: ABCD-EFGH."""
    return f"{code[:4]}-{code[4:]}"


def typed_code(value: Any) -> str | None:
    """A code as typed (full-width letters, lower case, spaces and dashes allowed) in its plain
    form, or None when it cannot be one."""
    if not isinstance(value, str):
        return None
    code = "".join(c for c in unicodedata.normalize("NFKC", value).upper() if c not in " -")
    return code if len(code) == CODE_LENGTH and all(c in ALPHABET for c in code) else None


# -- the office: issuing codes ---------------------------------------------------------------------

def buildings(actor: User) -> list[dict]:
    """Every building (a supervisor's: of their estates), by estate, area and name, with its
    units, how many have a code, and how many residents have got in."""
    require_office(actor)
    counts = {}
    for name, query in (
            ("units", select(Unit.building_id, func.count()).group_by(Unit.building_id)),
            ("coded", select(Unit.building_id, func.count()).join(Invitation)
             .group_by(Unit.building_id)),
            ("activated", select(Unit.building_id, func.count()).join(User, User.unit_id == Unit.id)
             .where(User.activated_at.is_not(None)).group_by(Unit.building_id))):
        counts[name] = dict(db.session.execute(query).tuples().all())
    found = db.session.scalars(
        select(Building).join(Building.area).join(Area.estate)
        .where(in_scope(actor, Area.estate_id))
        .options(joinedload(Building.area).joinedload(Area.estate))
        .order_by(Estate.name, Area.name, Building.name))
    return [{"building": b, **{name: counts[name].get(b.id, 0) for name in counts}}
            for b in found]


def issue(actor: User, unit_ids: list[int]) -> dict[int, str]:
    """A new code for each of the units (the old one, if any, stops working), in one
    transaction: {unit id: the code, to print now; it is not kept}."""
    require_office(actor)
    try:
        return _issued(actor, unit_ids, clock.now())
    except IntegrityError:  # the same unit's first code made twice at the same moment
        raise Conflict(_l("codes for these units were being issued at the same moment: try "
                          "again")) from None


def _issued(actor: User, unit_ids: list[int], now: datetime) -> dict[int, str]:
    codes = {}
    with write():
        units = db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids), _theirs(actor))
                                   .options(joinedload(Unit.building).joinedload(Building.area))
                                   .order_by(Unit.id)).all()
        held = {i.unit_id: i for i in db.session.scalars(
            select(Invitation).where(Invitation.unit_id.in_(unit_ids)).with_for_update())}
        for unit in units:
            code = codes[unit.id] = new_code()
            invitation = held.get(unit.id)
            before = {"invitation_issued_at": local(invitation.issued_at) if invitation else None}
            if invitation is None:
                invitation = Invitation(unit_id=unit.id)
                db.session.add(invitation)
            invitation.code_hash, invitation.issued_at = Invitation.hash(code), now
            invitation.issued_by_id = actor.id
            audit.record(actor, "invitation_issued", unit, before,
                         {"invitation_issued_at": local(now)}, estate_id=unit.area.estate_id,
                         note=unit.label)
    return codes


def issue_for_unit(actor: User, unit_id: Any) -> tuple[Unit, str]:
    """Regenerate one unit's code: (the unit, its new code)."""
    require_office(actor)
    unit = db.session.scalar(select(Unit).where(Unit.id == (record_id(unit_id) or 0),
                                                _theirs(actor)))
    if unit is None:
        raise NotFound(_l("unit %(id)s not found", id=unit_id))
    return unit, issue(actor, [unit.id])[unit.id]


def issue_for_building(actor: User, building_id: Any, every_unit: bool = False
                       ) -> tuple[Building, list[tuple[Unit, str]]]:
    """Codes for a building's units that have none yet (`every_unit`: for all of them, the old
    codes stopping), to print as a sheet: (the building, [(unit, code)] by unit number)."""
    building = _building(actor, building_id)
    query = select(Unit.id).where(Unit.building_id == building.id)
    if not every_unit:
        query = query.where(~select(Invitation.unit_id).where(Invitation.unit_id == Unit.id)
                            .exists())
    codes = issue(actor, list(db.session.scalars(query)))
    units = db.session.scalars(select(Unit).where(Unit.id.in_(codes)).order_by(Unit.number))
    return db.session.get(Building, building.id), [(unit, codes[unit.id]) for unit in units]


def units_of(actor: User, building_id: Any) -> tuple[Building, list[dict]]:
    """A building's units by number, each with when its code was issued (None: it has none)
    and its residents."""
    building = _building(actor, building_id)
    issued = dict(db.session.execute(
        select(Invitation.unit_id, Invitation.issued_at).join(Invitation.unit)
        .where(Unit.building_id == building.id)).tuples().all())
    residents: dict[int, list[User]] = {}
    for user in db.session.scalars(select(User).join(User.unit).where(
            Unit.building_id == building.id, User.role == Role.RESIDENT).order_by(User.name)):
        residents.setdefault(user.unit_id, []).append(user)
    return building, [{"unit": unit, "issued_at": issued.get(unit.id),
                       "residents": residents.get(unit.id, [])} for unit in building.units]


def _theirs(actor: User):
    """A WHERE clause on units: those of the estates of `actor` (a supervisor; the admin's: all)."""
    return Unit.id.in_(units_in_estates_of(actor))


def _building(actor: User, building_id: Any) -> Building:
    """A building of the estates of `actor`; NotFound for another estate's, as for none."""
    require_office(actor)
    building = db.session.scalar(
        select(Building).join(Building.area)
        .where(Building.id == (record_id(building_id) or 0), in_scope(actor, Area.estate_id)))
    if building is None:
        raise NotFound(_l("building %(id)s not found", id=building_id))
    return building


# -- residents: activating -------------------------------------------------------------------------

def estates() -> list[Estate]:
    return list(db.session.scalars(select(Estate).order_by(Estate.name)))


def unit_of(estate_id: Any, building: Any, number: Any,
            problems: dict[str, Any]) -> Unit | None:
    """The unit named as on the slip (estate, building, unit number), or None with what is
    wrong in `problems`; the estate may be left out when there is one."""
    building_name = required_text(building, "building", MAX_PLACE, problems)
    unit_number = required_text(number, "unit", MAX_PLACE, problems)
    everywhere = estates()
    if estate_id in (None, "") and len(everywhere) == 1:
        estate_id = everywhere[0].id
    if record_id(estate_id) is None or not any(e.id == record_id(estate_id) for e in everywhere):
        problems["estate_id"] = _l("choose your estate")
    if {"building", "unit", "estate_id"} & problems.keys():
        return None
    found = db.session.scalars(
        select(Unit).join(Unit.building).join(Building.area)
        .where(Area.estate_id == record_id(estate_id),
               func.lower(Building.name) == building_name.lower(),
               func.lower(Unit.number) == unit_number.lower())).first()
    if found is None:
        known = db.session.scalar(select(Building.id).join(Building.area).where(
            Area.estate_id == record_id(estate_id),
            func.lower(Building.name) == building_name.lower()))
        if known is None:
            problems["building"] = _l("there is no building %(name)s in this estate",
                                      name=building_name)
        else:
            problems["unit"] = _l("there is no unit %(number)s in %(building)s",
                                  number=unit_number, building=building_name)
    return found


def activate(estate_id: Any, building: Any, number: Any, phone: Any, code: Any, password: Any,
             again: Any = None, name: Any = None) -> User:
    """Get in with the unit's code: the resident of the unit with this phone chooses their
    password; a person of the unit the office has no record of (family, a tenant) joins with
    their phone and name, their phone becoming their username. Refusals name the field: a
    wrong code or unit (422, a failed try), a phone that has got in already or is another
    unit's (409)."""
    problems: dict[str, Any] = {}
    number_typed = accounts.mobile(phone, "phone", problems)
    if not number_typed and "phone" not in problems:
        problems["phone"] = _l("is required")
    plain = typed_code(code)
    if plain is None:
        problems["invitation_code"] = (
            _l("is required") if not isinstance(code, str) or not code.strip() else
            _l("is %(count)d letters and digits, like ABCD-2345, as on the slip",
               count=CODE_LENGTH))
    problems.update(accounts.password_problems(password, "password"))
    if again is not None and "password" not in problems and again != password:
        problems["password_again"] = _l("does not match the password")
    unit = unit_of(estate_id, building, number, problems)
    if problems:
        raise InvalidData(_l("you could not get in as given"), problems)
    try:
        with write():
            user = _activated(_locked(unit.id), number_typed, plain, password, name)
    except IntegrityError:  # the same phone joining at the same moment
        raise _taken() from None
    return user


def _locked(unit_id: int) -> Unit:
    """The unit, locked: two activations of one unit are checked one after the other."""
    return db.session.execute(select(Unit).where(Unit.id == unit_id).with_for_update(of=Unit)
                              .options(joinedload(Unit.building).joinedload(Building.area))
                              ).scalar_one()


def _activated(unit: Unit, phone: str, code: str, password: str, name: Any) -> User:
    invitation = db.session.get(Invitation, unit.id)
    if invitation is None or not hmac.compare_digest(invitation.code_hash, Invitation.hash(code)):
        raise InvalidData(_l("the code is not this unit's"), {"invitation_code": _l(
            "is not the code of %(unit)s: check the slip, or ask the office for a new one",
            unit=unit.label)})
    holders = list(db.session.scalars(select(User).where(_same_phone(phone))))
    user = next((u for u in holders if u.unit_id == unit.id and u.role == Role.RESIDENT), None)
    now = clock.now()
    if user is not None:
        if not user.active:
            raise Conflict(_l("this account is deactivated"), {"phone": _l(
                "belongs to an account the office has deactivated: ask the office")})
        if user.has_usable_password:
            raise Conflict(_l("you have got in already"), {"phone": _l(
                "has got in already: log in as %(username)s (forgot the password? the office "
                "resets it)", username=user.username)})
        before = {"activated_at": None}
        # An imported owner was named r<estate>-<phone>; once in, they log in with their phone
        # as family and tenants do, unless another account has it as its name.
        if db.session.scalar(select(User.id).where(User.username == phone)) is None:
            before["username"], user.username = user.username, phone
    else:
        if holders or db.session.scalar(select(User.id).where(User.username == phone)):
            raise _taken()
        problems: dict[str, Any] = {}
        full_name = required_text(name, "name", MAX_NAME, problems)
        if not full_name:
            problems["name"] = _l("is required: your phone is not on this unit's list, so say "
                                  "who you are")
        if problems:
            raise InvalidData(_l("you could not get in as given"), problems)
        user = User(username=phone, name=full_name, role=Role.RESIDENT, phone=phone,
                    unit_id=unit.id, active=True)
        db.session.add(user)
        before = None
    user.set_password(password)
    user.activated_at = now
    db.session.flush()
    audit.record(user, "activated", user, before,
                 {"activated_at": local(now), "unit_id": unit.id, "phone": phone,
                  "username": user.username},
                 estate_id=unit.area.estate_id, note=unit.label)
    return user


def _taken() -> Conflict:
    return Conflict(_l("this phone belongs to another account"), {"phone": _l(
        "belongs to a resident of another unit or to another account: ask the office")})


def _same_phone(phone: str):
    """Phones stored as typed (spaces, dashes, +86) compared by their digits."""
    stored = func.replace(func.replace(User.phone, " ", ""), "-", "")
    return stored.in_([phone, f"+86{phone}"])
