"""Bringing in an estate: its areas, buildings, units and residents from the office's owner sheet
(业主信息表, read by workflows.sheets), and the same back as a table.

`import_owner_sheet` is all or nothing: the file is read, then planned against what the estate
holds (loaded in a handful of queries), and only a plan without a single problem is written, in
one transaction, new rows in bulk. Each problem names its row and column. What the plan would do
is the report, so a dry run (the page's preview) shows exactly what the import will do, and the
import can refuse when the estate changed since the preview (`expect`: the preview's digest).

What a row means:
- A unit is keyed by estate + building + number. A unit the file lists is as the file says
  (entrance, floor, size, note: a column the file has, blank or not; a column it does not have
  leaves the unit's value); units the file does not list are left as they are.
- A resident is keyed by their phone within the estate. A unit in the file has exactly the
  residents its rows list: the same phone is the same person (their name put right); a resident
  of the unit with the row's name but another phone changed their phone; a new phone is a new
  resident; a resident of the unit no longer listed has moved out (deactivated). Someone listed
  in another unit than the one they live in has moved there, if the file lists their old unit
  too; if it does not, the phone is taken, a problem: the file would give one phone to two
  people. A phone may recur in another estate: there it is another account.
- Areas: an estate with areas already takes a row's area by its name, and an unknown one is a
  problem (a typo would make an area no butler answers for); an estate with none yet gets the
  areas the file names (or one named after the estate), for the admin to give butlers.
  A building's area is the one it is in: the import never moves a building.

Imported residents get no usable password (UNUSABLE_PASSWORD, which no password matches) and the
username r<estate id>-<phone> (with -2, -3, ... if that is taken): they get in by activating
their account with their phone, unit and invitation code. Every change to an existing unit or
resident is an entry of the audit log; what was created is one entry for the whole import.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from models import Area, Building, Estate, Role, Unit, User, db
from models.people import UNUSABLE_PASSWORD
from models.transaction import write
from workflows import audit, estates
from workflows.errors import Conflict, Forbidden, InvalidData, NotFound
from workflows.fields import record_id, untypable
from workflows.sheets import COLUMNS, OwnerRow, Problem, read_owner_sheet

IMPORTERS = (Role.ADMIN, Role.SUPERVISOR)
UNIT_FIELDS = ("entrance", "floor", "size", "note")
RESIDENT_FIELDS = ("name", "phone", "unit_id", "active")
# The columns of an export and of the template, in order.
EXPORTED = ("building", "unit", "name", "phone", "area", "entrance", "floor", "size", "note",
            "estate")


class ImportRefused(Exception):
    """The plan has problems: nothing is written (raised inside the transaction to end it)."""


@dataclass
class Change:
    """A change to an existing unit or resident, as the audit log keeps it."""

    row: int | None          # the row that causes it (None: a resident no row lists, moved out)
    subject: str             # "unit" or "resident"
    subject_id: int
    label: str               # 1栋 1201, or 1栋 1201 王芳
    action: str              # changed, moved, moved out
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class ImportReport:
    """What an import did, or would do (a dry run), or why it did nothing (`problems`)."""

    estate_name: str
    filename: str
    dry_run: bool
    estate_id: int | None = None
    estate_created: bool = False
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    rows_created: int = 0
    rows_changed: int = 0
    rows_unchanged: int = 0
    areas_created: list[str] = field(default_factory=list)
    buildings_created: int = 0
    units_created: int = 0
    units_changed: int = 0
    residents_created: int = 0
    residents_changed: int = 0
    moved_out: int = 0
    changes: list[Change] = field(default_factory=list)
    digest: str = ""         # of what it writes: the same file on the same estate, the same
    imported: bool = False   # written (not a dry run, no problem)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self):
        """"2,000 rows: 0 created, 0 changed, 2,000 unchanged", in the reader's language."""
        return _l("%(rows)s rows: %(created)s created, %(changed)s changed, %(unchanged)s "
                  "unchanged", rows=f"{self.rows:,}", created=f"{self.rows_created:,}",
                  changed=f"{self.rows_changed:,}", unchanged=f"{self.rows_unchanged:,}")

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "rows_created": self.rows_created,
                "rows_changed": self.rows_changed, "rows_unchanged": self.rows_unchanged,
                "areas_created": len(self.areas_created),
                "buildings_created": self.buildings_created, "units_created": self.units_created,
                "units_changed": self.units_changed, "residents_created": self.residents_created,
                "residents_changed": self.residents_changed, "moved_out": self.moved_out}


def may_import(actor: User) -> bool:
    """The company's admin, and supervisors (into the estates they supervise: `_import`)."""
    return actor.role in IMPORTERS


def _require(actor: User | None) -> None:
    if actor is not None and not may_import(actor):
        raise Forbidden(_l("only the admin and supervisors bring in an estate"))


def phone_key(phone: str | None) -> str | None:
    """A mobile number as one key, however it was typed (138 0013 8000, +86 13800138000)."""
    if not phone:
        return None
    return re.sub(r"[\s-]", "", phone).removeprefix("+86") or None


# -- importing ------------------------------------------------------------------------------------

def import_owner_sheet(actor: User | None, estate: int | str | None, filename: str, data: bytes,
                       dry_run: bool = False, *, create: bool = False,
                       expect: str | None = None) -> ImportReport:
    """Import an owner sheet into `estate` (its id or name; None: the one the file's 项目 column
    names, or the installation's only estate), or say what it would do (`dry_run`). `create`:
    an estate of that name that does not exist is made (by the import, not by a dry run).
    `expect`: the digest of the preview this import carries out; a plan that differs (the
    estate changed meanwhile) is refused with Conflict. `actor` None: the command line.

    Problems in the file or against the estate are in the report (nothing written); an actor who
    may not import is Forbidden, an estate that does not exist NotFound."""
    _require(actor)
    sheet = read_owner_sheet(filename, data)
    report = ImportReport(estate_name="", filename=filename, dry_run=dry_run,
                          rows=len(sheet.rows), problems=list(sheet.problems))
    if not sheet.rows or any(problem.row is None for problem in sheet.problems):
        return report  # nothing to plan with
    wanted = _estate_wanted(estate, sheet.rows)
    try:
        if dry_run:
            try:
                _import(actor, wanted, create, sheet, report, expect, write_it=False)
            finally:
                db.session.rollback()
        else:
            with write():
                _import(actor, wanted, create, sheet, report, expect, write_it=True)
    except ImportRefused:
        # the rows that read were planned too, so the file's problems are all listed at once
        report.problems.sort(key=lambda problem: problem.row or 0)
    return report


def _estate_wanted(estate: int | str | None, rows: list[OwnerRow]) -> int | str:
    if isinstance(estate, str):
        name = estate.strip()
        problem = (_l("is required") if not name else untypable(name)
                   or (_l("must be at most %(count)d characters", count=100)
                       if len(name) > 100 else None))
        if problem:
            raise InvalidData(_l("the estate's name cannot be taken"), {"estate": problem})
        return name
    if estate is not None:
        return estate
    named = {row.estate for row in rows if row.estate}
    if len(named) == 1:
        return named.pop()
    only = db.session.scalars(select(Estate.name).limit(2)).all()
    if not named and len(only) == 1:
        return only[0]
    raise InvalidData(_l("say which estate the file is for"), {"estate": _l(
        "is required: the file names no single estate and there is not just one")})


def _import(actor, wanted: int | str, create: bool, sheet, report: ImportReport,
            expect: str | None, write_it: bool) -> None:
    found = _locked_estate(wanted)
    if found is None and (isinstance(wanted, int) or not create):
        raise NotFound(_l("no such estate"), {"estate": _l("no such estate")})
    if actor is not None and found is None and actor.role != Role.ADMIN:
        raise Forbidden(_l("only the company's admin brings in a new estate (%(estate)s)",
                           estate=wanted), {"estate": _l("is a new estate: the admin's to make")})
    if actor is not None and found is not None and found not in estates.every(actor):
        raise Forbidden(_l("%(estate)s is not one of your estates", estate=found.name),
                        {"estate": _l("is not one of your estates")})
    report.estate_name = found.name if found else wanted
    report.estate_id = found.id if found else None
    report.estate_created = found is None
    plan = Plan(report, sheet.headings, _State.load(found.id if found else None))
    plan.make(sheet.rows)
    report.digest = plan.digest()
    if report.problems:
        raise ImportRefused
    if expect is not None and expect != report.digest:
        raise Conflict(_l("the estate changed since the preview: preview the file again"))
    if write_it:
        estate = found or _new_estate(report.estate_name)
        plan.write(actor, estate)
        report.estate_id, report.imported = estate.id, True


def _locked_estate(wanted: int | str) -> Estate | None:
    """The estate, locked until the transaction ends (PostgreSQL): two imports into one estate
    take turns, so neither plans against what the other is writing. SQLite's writers always do."""
    if isinstance(wanted, int) and record_id(wanted) is None:
        return None  # no id a row could have
    column = Estate.id if isinstance(wanted, int) else Estate.name
    return db.session.scalar(select(Estate).where(column == wanted).with_for_update())


def _new_estate(name: str) -> Estate:
    estate = Estate(name=name)
    db.session.add(estate)
    db.session.flush()
    return estate


@dataclass
class _Resident:
    id: int
    unit_id: int | None
    name: str
    phone: str | None
    active: bool


class _State:
    """What the estate holds, as plain values, in five queries whatever its size."""

    def __init__(self):
        self.areas: dict[str, int] = {}
        self.area_names: dict[int, str] = {}
        self.buildings: dict[str, list[tuple[int, int]]] = defaultdict(list)  # name → [(id, area)]
        self.units: dict[tuple[int, str], dict[str, Any]] = {}   # (building id, number) → unit
        self.residents_of: dict[int, list[_Resident]] = defaultdict(list)
        self.by_phone: dict[str, _Resident] = {}
        self.unit_labels: dict[int, str] = {}
        self.usernames: set[str] = set()

    @classmethod
    def load(cls, estate_id: int | None) -> _State:
        state = cls()
        if estate_id is None:
            return state
        for area_id, name in db.session.execute(
                select(Area.id, Area.name).where(Area.estate_id == estate_id)):
            state.areas[name], state.area_names[area_id] = area_id, name
        in_estate = (select(Building.id).join(Area, Building.area_id == Area.id)
                     .where(Area.estate_id == estate_id))
        names = {}
        for building_id, name, area_id in db.session.execute(
                select(Building.id, Building.name, Building.area_id)
                .where(Building.id.in_(in_estate))):
            state.buildings[name].append((building_id, area_id))
            names[building_id] = name
        units = db.session.execute(
            select(Unit.id, Unit.building_id, Unit.number, *(getattr(Unit, f) for f in UNIT_FIELDS))
            .where(Unit.building_id.in_(in_estate))).mappings()
        for unit in units:
            state.units[(unit["building_id"], unit["number"])] = dict(unit)
            state.unit_labels[unit["id"]] = f"{names[unit['building_id']]} {unit['number']}"
        residents = db.session.execute(
            select(User.id, User.unit_id, User.name, User.phone, User.active)
            .join(Unit, User.unit_id == Unit.id)
            .where(User.role == Role.RESIDENT, Unit.building_id.in_(in_estate))
            .order_by(User.active.desc(), User.id))
        for row in residents:
            resident = _Resident(*row)
            state.residents_of[resident.unit_id].append(resident)
            state.by_phone.setdefault(phone_key(resident.phone), resident)
        state.by_phone.pop(None, None)
        state.usernames = set(db.session.scalars(
            select(User.username).where(User.username.like(f"r{estate_id}-%"))))
        return state


@dataclass
class _PlannedUnit:
    key: tuple[str, str]            # (building name, number)
    rows: list[OwnerRow]
    building_id: int | None = None  # None: a building made by this import
    existing: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)


class Plan:
    """What importing the rows into the estate does: the problems, or the rows to create and
    the changes to make, counted into the report."""

    def __init__(self, report: ImportReport, headings: dict[str, str], state: _State):
        self.report, self.headings, self.state = report, headings, state
        self.new_areas: list[str] = []
        self.new_buildings: dict[str, str] = {}            # name → area name
        self.units: dict[tuple[str, str], _PlannedUnit] = {}
        self.new_units: list[_PlannedUnit] = []
        self.new_residents: list[tuple[tuple[str, str], OwnerRow]] = []
        self.changes = report.changes
        self.file_areas: list[str] = []                     # as the rows name them, in order

    def refuse(self, row: OwnerRow, column: str, message) -> None:
        self.report.problems.append(Problem(row.row, self.headings.get(column), message))

    # -- planning

    def make(self, rows: list[OwnerRow]) -> None:
        found_before = len(self.report.problems)  # the sheet's own, of the rows it refused
        for row in rows:
            if row.estate and row.estate != self.report.estate_name:
                self.refuse(row, "estate", _l(
                    "the row is of the estate %(estate)s, not of %(this)s: import it there",
                    estate=row.estate, this=self.report.estate_name))
        by_building: dict[str, list[OwnerRow]] = defaultdict(list)
        for row in rows:
            by_building[row.building].append(row)
        self.file_areas = list(dict.fromkeys(row.area for row in rows if row.area))
        for name, building_rows in by_building.items():
            building_id = self._building(name, building_rows)
            for row in building_rows:
                planned = self.units.setdefault((row.building, row.unit),
                                                _PlannedUnit((row.building, row.unit), []))
                planned.rows.append(row)
                planned.building_id = building_id
        if len(self.report.problems) > found_before:
            return
        for planned in self.units.values():
            self._unit(planned)
        self._residents()
        self._count(rows)

    def _building(self, name: str, rows: list[OwnerRow]) -> int | None:
        """The building's id (None: new), checking the areas the rows give it."""
        state, first = self.state, rows[0]
        given = [(row, row.area) for row in rows if row.area]
        for row, area in given[1:]:
            if area != given[0][1]:
                self.refuse(row, "area", _l("row %(row)d puts %(building)s in area %(area)s",
                                            row=given[0][0].row, building=name,
                                            area=given[0][1]))
        found = state.buildings.get(name, [])
        if len(found) > 1:
            self.refuse(first, "building", _l(
                "the estate has a building %(building)s in several areas (%(areas)s): name them "
                "apart first", building=name,
                areas=", ".join(sorted(state.area_names[a] for _b, a in found))))
            return None
        if found:
            building_id, area_id = found[0]
            for row, area in given:
                if area != state.area_names[area_id]:
                    self.refuse(row, "area", _l(
                        "%(building)s is in area %(area)s, not %(given)s: an import does not "
                        "move buildings", building=name, area=state.area_names[area_id],
                        given=area))
            return building_id
        self.new_buildings[name] = self._area_for(name, *(given[0] if given else (first, None)))
        return None

    def _area_for(self, building: str, row: OwnerRow, area: str | None) -> str:
        """The area (by name) a new building goes into, made by the import if it must be: an
        estate without areas gets those the file names, or one named after the estate."""
        known = self.state.areas
        choices = sorted(known) or self.file_areas or [self.report.estate_name]
        if area is None and len(choices) == 1:
            area = choices[0]
        if area is None:
            self.refuse(row, "building", _l(
                "say which area %(building)s is in: the estate has %(areas)s",
                building=building, areas=", ".join(choices)))
        elif area not in choices:
            self.refuse(row, "area", _l(
                "the estate has no area %(area)s; its areas are %(areas)s", area=area,
                areas=", ".join(choices)))
        elif area not in known and area not in self.new_areas:
            self.new_areas.append(area)
        return area or ""

    def _unit(self, planned: _PlannedUnit) -> None:
        values = {}
        for key in UNIT_FIELDS:
            if key in self.headings:
                values[key] = next((getattr(r, key) for r in planned.rows
                                    if getattr(r, key) is not None), None)
        planned.values = values
        if planned.building_id is not None:
            planned.existing = self.state.units.get((planned.building_id, planned.key[1]))
        if planned.existing is None:
            self.new_units.append(planned)
            return
        before = {k: planned.existing[k] for k in values if planned.existing[k] != values[k]}
        if before:
            self.changes.append(Change(planned.rows[0].row, "unit", planned.existing["id"],
                                       " ".join(planned.key), "changed", before,
                                       {k: values[k] for k in before}))
            self.report.units_changed += 1

    def _residents(self) -> None:
        state = self.state
        listed_units = {p.existing["id"] for p in self.units.values() if p.existing}
        claimed: set[int] = set()
        unmatched: dict[tuple[str, str], list[OwnerRow]] = defaultdict(list)
        # First the phones: the same person, wherever they lived.
        for planned in self.units.values():
            unit_id = planned.existing["id"] if planned.existing else None
            for row in planned.rows:
                if row.phone is None:
                    continue
                resident = state.by_phone.get(row.phone)
                if resident is None:
                    unmatched[planned.key].append(row)
                elif resident.unit_id == unit_id or resident.unit_id in listed_units \
                        or not resident.active:
                    claimed.add(resident.id)
                    self._resident_is(row, resident, unit_id, planned.key)
                else:
                    self.refuse(row, "phone", _l(
                        "%(phone)s is the phone of %(name)s of %(unit)s, which the file does not "
                        "list: list that unit too (without them), or give another phone",
                        phone=row.phone, name=resident.name,
                        unit=state.unit_labels[resident.unit_id]))
        # Then the unit's residents no phone of the file names: a changed phone, or gone.
        for planned in self.units.values():
            rows = unmatched.get(planned.key, [])
            if planned.existing is None:
                self.new_residents += [(planned.key, row) for row in rows]
                continue
            unit_id = planned.existing["id"]
            left = [r for r in state.residents_of.get(unit_id, [])
                    if r.active and r.id not in claimed]
            for row in rows:
                same_name = next((r for r in left if r.name == row.name), None)
                if same_name is None:
                    self.new_residents.append((planned.key, row))
                    continue
                left.remove(same_name)
                self._resident_is(row, same_name, unit_id, planned.key)
            for gone in left:
                self._change(None, gone, {"active": False}, planned.key, "moved out")
                self.report.moved_out += 1
        self.report.residents_created = len(self.new_residents)

    def _resident_is(self, row: OwnerRow, resident: _Resident, unit_id: int | None,
                     key: tuple[str, str]) -> None:
        """The row is this resident: what about them it changes."""
        after = {"name": row.name, "unit_id": unit_id, "active": True}
        if phone_key(resident.phone) != row.phone:
            after["phone"] = row.phone
        moved = resident.unit_id != unit_id
        if unit_id is None:  # moves into a unit the import makes: written once it exists
            after["unit"] = list(key)
        self._change(row, resident, after, key, "moved" if moved else "changed")

    def _change(self, row: OwnerRow | None, resident: _Resident, after: dict, key, action) -> None:
        before = {k: getattr(resident, k) for k in after if hasattr(resident, k)}
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if not changed:
            return
        self.changes.append(Change(row.row if row else None, "resident", resident.id,
                                   f"{' '.join(key)} {resident.name}", action,
                                   {k: before.get(k) for k in changed}, changed))
        self.report.residents_changed += 1

    def _count(self, rows: list[OwnerRow]) -> None:
        report = self.report
        new_units = {id(p) for p in self.new_units}
        created = {row.row for _key, row in self.new_residents}
        created |= {row.row for p in self.units.values() if id(p) in new_units for row in p.rows}
        changed = {c.row for c in self.changes if c.row is not None} - created
        report.rows_created, report.rows_changed = len(created), len(changed)
        report.rows_unchanged = len(rows) - len(created) - len(changed)
        report.areas_created = list(self.new_areas)
        report.buildings_created = len(self.new_buildings)
        report.units_created = len(self.new_units)

    def digest(self) -> str:
        """A fingerprint of what the plan writes."""
        plan = {"areas": self.new_areas, "buildings": sorted(self.new_buildings.items()),
                "units": [(p.key, p.values) for p in self.new_units],
                "residents": [(key, row.name, row.phone) for key, row in self.new_residents],
                "changes": [(c.subject, c.subject_id, c.before, c.after) for c in self.changes]}
        text = json.dumps(plan, default=str, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    # -- writing

    def write(self, actor: User | None, estate: Estate) -> None:
        """Create in bulk, change what changes (each an audit entry), in the caller's
        transaction."""
        areas = dict(self.state.areas)
        areas.update(self._insert(Area, [{"estate_id": estate.id, "name": name}
                                         for name in self.new_areas], "name"))
        buildings = self._insert(Building, [{"area_id": areas[area], "name": name}
                                            for name, area in self.new_buildings.items()], "name")
        for planned in self.units.values():
            if planned.building_id is None:
                planned.building_id = buildings[planned.key[0]]
        made = self._insert(Unit, [{"building_id": p.building_id, "number": p.key[1],
                                    **{k: p.values.get(k) for k in UNIT_FIELDS}}
                                   for p in self.new_units], "building_id", "number")
        unit_ids = {p.key: p.existing["id"] if p.existing else made[(p.building_id, p.key[1])]
                    for p in self.units.values()}
        self._insert(User, [{"username": self._username(estate.id, row.phone), "name": row.name,
                             "role": Role.RESIDENT, "password_hash": UNUSABLE_PASSWORD,
                             "phone": row.phone, "unit_id": unit_ids[key], "active": True}
                            for key, row in self.new_residents])
        self._apply_changes(actor, estate, unit_ids)
        report = self.report
        created = {"areas": len(self.new_areas), "buildings": len(self.new_buildings),
                   "units": len(self.new_units), "residents": len(self.new_residents)}
        if any(created.values()) or self.changes:
            audit.record(actor, "imported", estate, None, {
                **created, "units_changed": report.units_changed,
                "residents_changed": report.residents_changed, "moved_out": report.moved_out,
                "file": report.filename}, estate_id=estate.id,
                note=f"import of {report.filename}")

    def _insert(self, model, rows: list[dict], *key: str) -> dict:
        """Insert the rows in one statement run for all of them; {key value(s): id} if `key`."""
        if not rows:
            return {}
        table = model.__table__
        if not key:
            db.session.execute(insert(table), rows)
            return {}
        columns = [table.c[k] for k in key]
        made = db.session.execute(
            insert(table).returning(table.c.id, *columns, sort_by_parameter_order=True), rows)
        return {(tuple(r[1:]) if len(key) > 1 else r[1]): r[0] for r in made}

    def _username(self, estate_id: int, phone: str) -> str:
        base = name = f"r{estate_id}-{phone}"
        number = 1
        while name in self.state.usernames:
            number += 1
            name = f"{base}-{number}"
        self.state.usernames.add(name)
        return name

    def _apply_changes(self, actor: User | None, estate: Estate, unit_ids: dict) -> None:
        if not self.changes:
            return
        loaded = {}
        for model, subject in ((Unit, "unit"), (User, "resident")):
            ids = [c.subject_id for c in self.changes if c.subject == subject]
            for chunk in range(0, len(ids), 500):
                loaded.update({(subject, row.id): row for row in db.session.scalars(
                    select(model).where(model.id.in_(ids[chunk:chunk + 500])))})
        note = f"import of {self.report.filename}"
        for change in self.changes:
            row = loaded[(change.subject, change.subject_id)]
            after = dict(change.after)
            if "unit" in after:  # a unit this import made
                after["unit_id"] = unit_ids[tuple(after.pop("unit"))]
            before = {k: getattr(row, k) for k in after}
            for name, value in after.items():
                setattr(row, name, value)
            audit.record(actor, change.action, row, as_json(before), as_json(after),
                         estate_id=estate.id, note=note)


def as_json(values: dict) -> dict:
    """Values as JSON keeps them: a floor area as its text ("89.50")."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}


# -- exporting ------------------------------------------------------------------------------------

def headers(language: str) -> list[str]:
    """The columns of an export, headed in Chinese ("zh") or English."""
    return [COLUMNS[key][0] if language == "zh" else COLUMNS[key][-1] for key in EXPORTED]


def _natural(text: str) -> tuple:
    """2栋 before 10栋, 901 before 1001."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", text))


def export_rows(actor: User | None, estate_id: int) -> tuple[Estate, list[list]]:
    """The estate as an owner sheet: a row per resident (active ones), one with neither name
    nor phone for a unit nobody lives in, in building and unit order. Importing it again into
    the estate changes nothing."""
    _require(actor)
    estate = estates.get(estate_id, actor)
    units = db.session.execute(
        select(Unit.id, Building.name, Unit.number, Area.name,
               *(getattr(Unit, f) for f in UNIT_FIELDS))
        .join(Building, Unit.building_id == Building.id).join(Area, Building.area_id == Area.id)
        .where(Area.estate_id == estate_id)).all()
    residents = defaultdict(list)
    for unit_id, name, phone in db.session.execute(
            select(User.unit_id, User.name, User.phone)
            .join(Unit, User.unit_id == Unit.id).join(Building, Unit.building_id == Building.id)
            .join(Area, Building.area_id == Area.id)
            .where(Area.estate_id == estate_id, User.role == Role.RESIDENT, User.active)
            .order_by(User.id)):
        residents[unit_id].append((name, phone))
    rows = []
    for unit_id, building, number, area, entrance, floor, size, note in sorted(
            units, key=lambda u: (_natural(u[1]), _natural(u[2]))):
        for name, phone in residents.get(unit_id) or [(None, None)]:
            rows.append([building, number, name, phone, area, entrance, floor, size, note,
                         estate.name])
    return estate, rows


