"""Finding a ticket, a unit or a resident from one line of text, within what the searcher may
see: a ticket by its number (#42), its unit (3栋 1201, 3-1201, or 1201), its resident's name or
phone (the last digits will do), or words of its title or description."""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import joinedload, selectinload

from models import Building, Role, Ticket, Unit, User, db
from workflows.access import supervised, units_in_estates_of, units_of_butler, visible_to
from workflows.errors import Forbidden, NotFound
from workflows.fields import record_id

LIMIT = 50
# What a list of tickets shows: where, who, and the clocks.
WITH_PEOPLE = (joinedload(Ticket.unit).joinedload(Unit.building).joinedload(Building.area),
               joinedload(Ticket.resident), joinedload(Ticket.assignee),
               selectinload(Ticket.deadlines))
SHORTEST = 2  # characters: one character matches too much to be of use
# After a building's number in its name, a word for "building" (3栋, 3号楼, 3座), never more of it.
NOT_MORE_OF_IT = [*string.digits, *string.ascii_letters]
# building-unit as people type it: 3-1201, 3 - 1201, 3－1201, 3/1201, 3栋-1201
BUILDING_DASH_UNIT = re.compile(r"(\S+?)\s*[-－–—/]\s*(\S+)")


@dataclass(frozen=True)
class Found:
    query: str
    tickets: list[Ticket]
    units: list[Unit]
    more: bool  # more tickets match than are shown


def too_short(text: str) -> bool:
    """Fewer than SHORTEST characters, unless it is a ticket's number (#7)."""
    text = " ".join(str(text or "").split())
    return len(text) < SHORTEST and not text.lstrip("#").isdigit()


def units_visible_to(actor: User):
    """A WHERE clause on units `actor` may open: the admin every unit, a supervisor those of
    their estates, a butler those of their areas; nobody else any."""
    match actor.role:
        case Role.ADMIN:
            return literal(True)
        case Role.SUPERVISOR:
            return Unit.id.in_(units_in_estates_of(actor))
        case Role.BUTLER:
            return Unit.id.in_(units_of_butler(actor.id))
    return literal(False)


def search(actor: User, text: str) -> Found:
    """What matches `text`, newest tickets first; at most LIMIT of each."""
    query = " ".join(str(text or "").split())[:100]
    if too_short(query):
        return Found(query, [], [], False)
    digits = re.sub(r"[\s\-+]", "", query)
    number = digits.lstrip("#")
    ticket_match = [Ticket.title.icontains(query, autoescape=True),
                    Ticket.description.icontains(query, autoescape=True),
                    Ticket.unit_id.in_(_units_matching(query)),
                    Ticket.resident_id.in_(select(User.id).where(
                        User.role == Role.RESIDENT, _person_matches(query, digits)))]
    if record_id(number) is not None:  # a phone's digits are no ticket's number
        ticket_match.append(Ticket.id == record_id(number))
    found = list(db.session.scalars(
        select(Ticket).where(visible_to(actor), or_(*ticket_match))
        .options(*WITH_PEOPLE).order_by(Ticket.id.desc()).limit(LIMIT + 1)))
    units = list(db.session.scalars(
        select(Unit).join(Unit.building)
        .where(units_visible_to(actor), or_(
            Unit.id.in_(_units_matching(query)),
            Unit.id.in_(select(User.unit_id).where(User.role == Role.RESIDENT,
                                                   _person_matches(query, digits)))))
        .options(joinedload(Unit.building).joinedload(Building.area))
        .order_by(Building.name, Unit.number).limit(LIMIT)))
    return Found(query, found[:LIMIT], units, len(found) > LIMIT)


def unit_page(actor: User, unit_id: int) -> tuple[Unit, list[User], list[Ticket]]:
    """A unit with its residents and the history of its tickets that `actor` may see, newest
    first."""
    unit = db.session.get(Unit, record_id(unit_id) or 0)
    if unit is None or (supervised(actor) and not _opens(actor, unit.id)):
        raise NotFound(_l("no such unit"))  # of another estate: as if there were none
    if not _opens(actor, unit.id):
        raise Forbidden(_l("this unit is not in your areas"))
    residents = residents_of([unit_id]).get(unit_id, [])
    history = list(db.session.scalars(
        select(Ticket).where(Ticket.unit_id == unit_id, visible_to(actor))
        .options(*WITH_PEOPLE).order_by(Ticket.reported_at.desc(), Ticket.id.desc())))
    return unit, residents, history


def _opens(actor: User, unit_id: int) -> bool:
    return bool(db.session.scalar(select(units_visible_to(actor)).where(Unit.id == unit_id)
                                  .select_from(Unit)))


def residents_of(unit_ids: list[int]) -> dict[int, list[User]]:
    """The residents of each unit (owner, family, tenant), by unit, in one query."""
    found: dict[int, list[User]] = {}
    for resident in db.session.scalars(
            select(User).where(User.unit_id.in_(unit_ids), User.role == Role.RESIDENT)
            .order_by(User.name, User.id)):
        found.setdefault(resident.unit_id, []).append(resident)
    return found


def _units_matching(query: str):
    """Units named by the text: "1201", "3栋1201", "3栋 1201", "3-1201"."""
    whole = func.replace(Building.name + Unit.number, " ", "")
    named = [Unit.number == query, whole == query.replace(" ", "")]
    dashed = BUILDING_DASH_UNIT.fullmatch(query)
    if dashed:
        building, number = dashed.groups()
        after = func.substr(Building.name, len(building) + 1, 1)
        named.append(and_(Unit.number == number, or_(
            Building.name == building,
            and_(Building.name.startswith(building, autoescape=True),
                 after.not_in(NOT_MORE_OF_IT)))))
    return select(Unit.id).join(Unit.building).where(or_(*named))


def _person_matches(query: str, digits: str):
    """A person by name, or by phone when the text is at least 4 digits (spaces and dashes as
    they are typed are left out on both sides)."""
    match = [User.name.icontains(query, autoescape=True)]
    if digits.isdigit() and len(digits) >= 4:
        match.append(func.replace(func.replace(User.phone, " ", ""), "-", "")
                     .contains(digits, autoescape=True))
    return or_(*match)
