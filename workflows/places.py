"""The company's places, as its admin keeps them: estates (their name, their supervisors), the
areas of an estate (their name, their butler: through workflows.cover, which keeps the dated
periods and hands the open tickets over), the buildings of an area (their name; moved to another
area of the same estate) and the units of a building (number, entrance, floor, size, note).

The admin does all of it; a supervisor keeps the areas, buildings and units of the estates they
supervise, and sees only those estates. Every change is checked whole before anything is saved,
is one transaction, and is an entry of the audit log (before → after). Names are the keys people
use: an estate's is unique, an area's within its estate, a building's within its estate (the
owner sheet names a building without its area: workflows.estate_import), a unit's number within
its building; a name taken is a 409 naming the field. A unit's values are read by the owner
sheet's rules (workflows.sheets), so a unit typed on a page and one imported agree.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from models import Area, Building, Estate, EstateSupervisor, Role, Unit, User, db
from models.transaction import write
from workflows import access, audit, cover, sheets
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.fields import record_id, untypable
from workflows.words import listing

UNIT_FIELDS = ("number", "entrance", "floor", "size", "note")
# What a unit's value is called in the owner sheet (workflows.sheets), whose rules read it.
SHEET_KEY = {"number": "unit", "entrance": "entrance", "floor": "floor", "size": "size",
             "note": "note"}


# -- who may ---------------------------------------------------------------------------------------

def require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("only the company's admin makes and renames estates"))


def _require_keeper(actor: User) -> None:
    if actor.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise Forbidden(_l("only the admin and supervisors keep the estates' places"))


def _theirs(actor: User, estate_id: int, what) -> None:
    """A place of an estate the actor does not supervise is, to them, not there."""
    ids = access.estate_ids(actor)
    if ids is not None and estate_id not in ids:
        raise NotFound(what)


# -- reading ---------------------------------------------------------------------------------------

def estates(actor: User) -> list[Estate]:
    """The estates `actor` keeps, by name: every one for the admin, a supervisor's own."""
    _require_keeper(actor)
    return list(db.session.scalars(
        select(Estate).options(selectinload(Estate.supervisors))
        .where(access.in_estates_of(actor, Estate.id)).order_by(Estate.name)))


def estate(actor: User, estate_id: Any) -> Estate:
    """One estate with its supervisors, areas, their butlers and buildings."""
    _require_keeper(actor)
    found = db.session.scalar(
        select(Estate).where(Estate.id == (record_id(estate_id) or 0))
        .options(selectinload(Estate.supervisors),
                 selectinload(Estate.areas).joinedload(Area.butler),
                 selectinload(Estate.areas).selectinload(Area.buildings)))
    missing = _l("estate %(id)s not found", id=estate_id)
    if found is None:
        raise NotFound(missing)
    _theirs(actor, found.id, missing)
    return found


def unit_counts(building_ids: list[int]) -> dict[int, int]:
    """How many units each building has."""
    if not building_ids:
        return {}
    return dict(db.session.execute(
        select(Unit.building_id, func.count()).where(Unit.building_id.in_(building_ids))
        .group_by(Unit.building_id)).all())


def building(actor: User, building_id: Any) -> Building:
    """A building with its area, estate and units."""
    _require_keeper(actor)
    found = db.session.scalar(
        select(Building).where(Building.id == (record_id(building_id) or 0))
        .options(joinedload(Building.area).joinedload(Area.estate),
                 selectinload(Building.units)))
    missing = _l("building %(id)s not found", id=building_id)
    if found is None:
        raise NotFound(missing)
    _theirs(actor, found.area.estate_id, missing)
    return found


def unit(actor: User, unit_id: Any) -> Unit:
    _require_keeper(actor)
    found = db.session.scalar(
        select(Unit).where(Unit.id == (record_id(unit_id) or 0))
        .options(joinedload(Unit.building).joinedload(Building.area).joinedload(Area.estate)))
    missing = _l("unit %(id)s not found", id=unit_id)
    if found is None:
        raise NotFound(missing)
    _theirs(actor, found.building.area.estate_id, missing)
    return found


def supervisors() -> list[User]:
    """Every active supervisor, by name: who may be given an estate."""
    return list(db.session.scalars(select(User).where(User.role == Role.SUPERVISOR,
                                                      User.active.is_(True))
                                   .order_by(User.name, User.id)))


def estates_of(supervisor_id: int) -> list[Estate]:
    """The estates a supervisor supervises, by name."""
    return list(db.session.scalars(
        select(Estate).join(EstateSupervisor, EstateSupervisor.estate_id == Estate.id)
        .where(EstateSupervisor.supervisor_id == supervisor_id).order_by(Estate.name)))


# -- estates ---------------------------------------------------------------------------------------

def _name(value: Any, longest: int, problems: dict, field: str = "name") -> str:
    """A name that must be given: text, trimmed, at most `longest` characters."""
    if value is not None and not isinstance(value, str):
        problems[field] = _l("must be text")
        return ""
    text = (value or "").strip()
    if not text:
        problems[field] = _l("is required")
    elif len(text) > longest:
        problems[field] = _l("must be at most %(count)d characters", count=longest)
    elif problem := untypable(text):
        problems[field] = problem
    return text


def _refuse(problems: dict, message) -> None:
    if problems:
        raise InvalidData(message, problems)


def _taken(message, field: str = "name") -> Conflict:
    return Conflict(message, {field: _l("is taken: choose another")})


def _estate_name_free(name: str, but: int | None = None) -> None:
    query = select(Estate.id).where(func.lower(Estate.name) == name.lower())
    if but is not None:
        query = query.where(Estate.id != but)
    if db.session.scalar(query) is not None:
        raise _taken(_l("there is an estate %(name)s already", name=name))


def create_estate(actor: User, name: Any) -> Estate:
    """A new estate, empty: its areas, buildings and units come next (or from its owner sheet)."""
    require_admin(actor)
    problems: dict[str, Any] = {}
    name = _name(name, sheets.LONGEST["estate"], problems)
    _refuse(problems, _l("the estate was not made"))
    try:
        with write():
            _estate_name_free(name)
            made = Estate(name=name)
            db.session.add(made)
            db.session.flush()
            audit.record(actor, "created", made, None, {"name": name}, estate_id=made.id)
    except IntegrityError:  # the same name made at the same moment
        raise _taken(_l("there is an estate %(name)s already", name=name)) from None
    return made


def change_estate(actor: User, estate_id: Any, changes: dict[str, Any]) -> Estate:
    """Rename an estate ({name}); supervisors: `set_supervisors`."""
    require_admin(actor)
    found = estate(actor, estate_id)
    problems: dict[str, Any] = {}
    unknown = sorted(set(changes) - {"name"})
    if unknown:
        problems[unknown[0]] = _l("is not something of an estate to change")
    name = _name(changes["name"], sheets.LONGEST["estate"], problems) if "name" in changes \
        else found.name
    _refuse(problems, _l("the estate was not changed"))
    try:
        with write():
            _estate_name_free(name, but=found.id)
            found = db.session.get(Estate, found.id)
            before = {"name": found.name}
            found.name = name
            audit.record(actor, "changed", found, before, {"name": name}, estate_id=found.id)
    except IntegrityError:
        raise _taken(_l("there is an estate %(name)s already", name=name)) from None
    return found


def _ids(value: Any, field: str, problems: dict) -> list[int]:
    if not isinstance(value, list) or not all(record_id(i) for i in value):
        problems[field] = _l("must be a list of ids")
        return []
    return sorted({int(i) for i in value})


def set_supervisors(actor: User, estate_id: Any, supervisor_ids: Any) -> Estate:
    """The estate's supervisors are exactly these (active supervisors' ids)."""
    require_admin(actor)
    found = estate(actor, estate_id)
    problems: dict[str, Any] = {}
    wanted = _ids(supervisor_ids, "supervisor_ids", problems)
    _refuse(problems, _l("the estate's supervisors were not changed"))
    with write():
        people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}
        wrong = [i for i in wanted if i not in people or people[i].role != Role.SUPERVISOR
                 or not people[i].active]
        if wrong:
            raise InvalidData(_l("the estate's supervisors were not changed"), {
                "supervisor_ids": _l("not an active supervisor: %(ids)s", ids=listing(wrong))})
        found = db.session.get(Estate, found.id)
        before = {"supervisors": sorted(u.username for u in found.supervisors)}
        if before["supervisors"] and not wanted:
            raise Conflict(_l("an estate, once supervised, keeps a supervisor"), {
                "supervisor_ids": _l("choose at least one: someone follows its requests")})
        db.session.execute(delete(EstateSupervisor).where(
            EstateSupervisor.estate_id == found.id, EstateSupervisor.supervisor_id.not_in(wanted)))
        kept = set(db.session.scalars(select(EstateSupervisor.supervisor_id)
                                      .where(EstateSupervisor.estate_id == found.id)))
        db.session.add_all(EstateSupervisor(estate_id=found.id, supervisor_id=i)
                           for i in wanted if i not in kept)
        audit.record(actor, "changed", found, before,
                     {"supervisors": sorted(people[i].username for i in wanted)},
                     estate_id=found.id)
    db.session.expire_all()
    return db.session.get(Estate, found.id)


def supervise(actor: User | None, supervisor: User, estate_ids: list[int],
              field: str = "estate_ids") -> None:
    """In the caller's write transaction: `supervisor` supervises exactly these estates (ids
    checked by `estate_choice`), an entry on their record if that changes. An estate they
    alone supervise is not left without a supervisor (409 naming `field`)."""
    before = [e.name for e in estates_of(supervisor.id)]
    others = select(EstateSupervisor.estate_id).where(
        EstateSupervisor.supervisor_id != supervisor.id)
    orphaned = list(db.session.scalars(
        select(Estate.name).join(EstateSupervisor, EstateSupervisor.estate_id == Estate.id)
        .where(EstateSupervisor.supervisor_id == supervisor.id, Estate.id.not_in(estate_ids),
               Estate.id.not_in(others)).order_by(Estate.name)))
    if orphaned:
        raise Conflict(_l("an estate, once supervised, keeps a supervisor"), {
            field: _l("%(estates)s would have no supervisor: give it another first",
                      estates=listing(orphaned))})
    db.session.execute(delete(EstateSupervisor).where(
        EstateSupervisor.supervisor_id == supervisor.id,
        EstateSupervisor.estate_id.not_in(estate_ids)))
    kept = set(db.session.scalars(select(EstateSupervisor.estate_id)
                                  .where(EstateSupervisor.supervisor_id == supervisor.id)))
    db.session.add_all(EstateSupervisor(estate_id=i, supervisor_id=supervisor.id)
                       for i in estate_ids if i not in kept)
    db.session.flush()
    audit.record(actor, "changed", supervisor, {"estates": before},
                 {"estates": [e.name for e in estates_of(supervisor.id)]})


def estate_choice(value: Any, field: str, problems: dict) -> list[int]:
    """Estate ids as given for a supervisor: a list of ids of estates that exist."""
    wanted = _ids(value, field, problems)
    known = set(db.session.scalars(select(Estate.id).where(Estate.id.in_(wanted))))
    unknown = [i for i in wanted if i not in known]
    if unknown and field not in problems:
        problems[field] = _l("no such estate: %(ids)s", ids=listing(unknown))
    return wanted


# -- areas -----------------------------------------------------------------------------------------

def _area_name_free(estate_id: int, name: str, but: int | None = None) -> None:
    query = select(Area.id).where(Area.estate_id == estate_id,
                                  func.lower(Area.name) == name.lower())
    if but is not None:
        query = query.where(Area.id != but)
    if db.session.scalar(query) is not None:
        raise _taken(_l("the estate has an area %(name)s already", name=name))


def _butler_of_one_estate(butler_id: Any, estate_id: int) -> None:
    """A butler's areas are in one estate: one who answers for areas of another is refused."""
    elsewhere = db.session.scalar(
        select(Estate.name).join(Area).where(Area.butler_id == (record_id(butler_id) or 0),
                                             Area.estate_id != estate_id).limit(1))
    if elsewhere is not None:
        raise Conflict(_l("a butler's areas are in one estate"), {
            "butler_id": _l("answers for areas of %(estate)s", estate=elsewhere)})


def create_area(actor: User, estate_id: Any, name: Any, butler_id: Any = None,
                note: Any = "") -> Area:
    """A new area of the estate, with its butler if one is given (workflows.cover)."""
    _require_keeper(actor)
    found = estate(actor, estate_id)
    problems: dict[str, Any] = {}
    name = _name(name, sheets.LONGEST["area"], problems)
    _refuse(problems, _l("the area was not made"))
    try:
        with write():
            _area_name_free(found.id, name)
            made = Area(estate_id=found.id, name=name)
            db.session.add(made)
            db.session.flush()
            audit.record(actor, "created", made, None, {"name": name}, estate_id=found.id)
            if butler_id not in (None, ""):
                _butler_of_one_estate(butler_id, found.id)
                cover.give_area(actor, made.id, butler_id, note)
    except IntegrityError:
        raise _taken(_l("the estate has an area %(name)s already", name=name)) from None
    return made


def change_area(actor: User, area_id: Any, changes: dict[str, Any]) -> Area:
    """Rename an area ({name}) and/or give it its butler ({butler_id, note?}: from now, with
    its open tickets, through workflows.cover); all of it or nothing."""
    _require_keeper(actor)
    found = _area(actor, area_id)
    problems: dict[str, Any] = {}
    unknown = sorted(set(changes) - {"name", "butler_id", "note"})
    if unknown:
        problems[unknown[0]] = _l("is not something of an area to change")
    name = _name(changes["name"], sheets.LONGEST["area"], problems) if "name" in changes \
        else found.name
    _refuse(problems, _l("the area was not changed"))
    try:
        with write():
            _area_name_free(found.estate_id, name, but=found.id)
            found = db.session.get(Area, found.id)
            before = {"name": found.name}
            found.name = name
            audit.record(actor, "changed", found, before, {"name": name},
                         estate_id=found.estate_id)
            if "butler_id" in changes:
                _butler_of_one_estate(changes["butler_id"], found.estate_id)
                cover.give_area(actor, found.id, changes["butler_id"], changes.get("note", ""))
    except IntegrityError:
        raise _taken(_l("the estate has an area %(name)s already", name=name)) from None
    return found


def _area(actor: User, area_id: Any) -> Area:
    found = db.session.scalar(select(Area).where(Area.id == (record_id(area_id) or 0))
                              .options(joinedload(Area.estate)))
    missing = _l("area %(id)s not found", id=area_id)
    if found is None:
        raise NotFound(missing)
    _theirs(actor, found.estate_id, missing)
    return found


# -- buildings -------------------------------------------------------------------------------------

def _building_name_free(estate_id: int, name: str, but: int | None = None) -> None:
    query = (select(Building.id).join(Area)
             .where(Area.estate_id == estate_id, func.lower(Building.name) == name.lower()))
    if but is not None:
        query = query.where(Building.id != but)
    if db.session.scalar(query) is not None:
        raise _taken(_l("the estate has a building %(name)s already", name=name))


def create_building(actor: User, area_id: Any, name: Any) -> Building:
    """A new building in the area (its name unique in the estate)."""
    _require_keeper(actor)
    area = _area(actor, area_id)
    problems: dict[str, Any] = {}
    name = _name(name, sheets.LONGEST["building"], problems)
    _refuse(problems, _l("the building was not made"))
    try:
        with write():
            _building_name_free(area.estate_id, name)
            made = Building(area_id=area.id, name=name)
            db.session.add(made)
            db.session.flush()
            audit.record(actor, "created", made, None, {"name": name, "area": area.name},
                         estate_id=area.estate_id)
    except IntegrityError:
        raise _taken(_l("the estate has a building %(name)s already", name=name)) from None
    return made


def change_building(actor: User, building_id: Any, changes: dict[str, Any]) -> Building:
    """Rename a building ({name}) and/or move it to another area of its estate ({area_id}):
    its units, and the tickets still to come, are then that area's butler's."""
    found = building(actor, building_id)
    estate_id = found.area.estate_id
    problems: dict[str, Any] = {}
    unknown = sorted(set(changes) - {"name", "area_id"})
    if unknown:
        problems[unknown[0]] = _l("is not something of a building to change")
    name = _name(changes["name"], sheets.LONGEST["building"], problems) if "name" in changes \
        else found.name
    area = found.area
    if "area_id" in changes:
        area = db.session.get(Area, record_id(changes["area_id"]) or 0)
        if area is None or area.estate_id != estate_id:
            problems["area_id"] = _l("must be an area of %(estate)s", estate=found.area.estate.name)
    _refuse(problems, _l("the building was not changed"))
    try:
        with write():
            _building_name_free(estate_id, name, but=found.id)
            found = db.session.get(Building, found.id)
            before = {"name": found.name, "area": found.area.name}
            found.name, found.area_id = name, area.id
            audit.record(actor, "changed", found, before, {"name": name, "area": area.name},
                         estate_id=estate_id)
    except IntegrityError:
        raise _taken(_l("the estate has a building %(name)s already", name=name)) from None
    db.session.expire_all()
    return db.session.get(Building, found.id)


# -- units -----------------------------------------------------------------------------------------

def _unit_values(values: dict[str, Any], problems: dict) -> dict[str, Any]:
    """The unit's values given, each read as the owner sheet's column reads it."""
    clean = {}
    for key in UNIT_FIELDS:
        if key not in values:
            continue
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            problems[key] = _l("must be text or a number")
            continue
        if isinstance(value, str) and (problem := untypable(value)):
            problems[key] = problem
            continue
        clean[key], problem = sheets.read_value(SHEET_KEY[key], value)
        if problem is not None:
            problems[key] = problem
    return clean


def shown(found: Unit) -> dict[str, Any]:
    """A unit's record as the audit log shows it."""
    return {key: str(getattr(found, key)) if key == "size" and found.size is not None
            else getattr(found, key) for key in UNIT_FIELDS}


def _number_free(building_id: int, number: str, but: int | None = None) -> None:
    query = select(Unit.id).where(Unit.building_id == building_id, Unit.number == number)
    if but is not None:
        query = query.where(Unit.id != but)
    if db.session.scalar(query) is not None:
        raise _taken(_l("the building has a unit %(number)s already", number=number), "number")


def create_unit(actor: User, building_id: Any, values: dict[str, Any]) -> Unit:
    """A new unit of the building: {number, entrance?, floor?, size?, note?}."""
    found = building(actor, building_id)
    problems: dict[str, Any] = {}
    clean = _unit_values(values, problems)
    unknown = sorted(set(values) - set(UNIT_FIELDS))
    if unknown:
        problems[unknown[0]] = _l("is not something of a unit")
    if not clean.get("number") and "number" not in problems:
        problems["number"] = _l("is required")
    _refuse(problems, _l("the unit was not made"))
    try:
        with write():
            _number_free(found.id, clean["number"])
            made = Unit(building_id=found.id, **clean)
            db.session.add(made)
            db.session.flush()
            audit.record(actor, "created", made, None, shown(made),
                         estate_id=found.area.estate_id)
    except IntegrityError:
        raise _taken(_l("the building has a unit %(number)s already",
                        number=clean["number"]), "number") from None
    return made


def change_unit(actor: User, unit_id: Any, values: dict[str, Any]) -> Unit:
    """Change a unit's number, entrance, floor, size or note (a blank one: none, but the
    number, which stays)."""
    found = unit(actor, unit_id)
    problems: dict[str, Any] = {}
    clean = _unit_values(values, problems)
    unknown = sorted(set(values) - set(UNIT_FIELDS))
    if unknown:
        problems[unknown[0]] = _l("is not something of a unit")
    if "number" in values and not clean.get("number") and "number" not in problems:
        problems["number"] = _l("is required")
    _refuse(problems, _l("the unit was not changed"))
    try:
        with write():
            if "number" in clean:
                _number_free(found.building_id, clean["number"], but=found.id)
            found = db.session.get(Unit, found.id)
            before = shown(found)
            for key, value in clean.items():
                setattr(found, key, value)
            db.session.flush()
            audit.record(actor, "changed", found, before, shown(found),
                         estate_id=found.building.area.estate_id)
    except IntegrityError:
        raise _taken(_l("the building has a unit %(number)s already",
                        number=clean["number"]), "number") from None
    db.session.expire_all()
    return db.session.get(Unit, found.id)


def estate_of_area(actor: User, area_id: Any) -> int:
    """The estate of an area the actor keeps (NotFound otherwise)."""
    _require_keeper(actor)
    return _area(actor, area_id).estate_id
