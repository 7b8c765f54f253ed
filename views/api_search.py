"""JSON API v1 for finding things: search, and a unit with its residents and tickets. Same
error format and status codes as the rest of the API."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from models import Unit, User
from views import schemas
from views.api import bp, person, ticket_json
from views.openapi import documented
from workflows import search
from workflows.errors import InvalidData


def unit_json(unit: Unit, residents: list[User]) -> dict:
    return {"id": unit.id, "label": unit.label, "building": unit.building.name,
            "area": unit.building.area.name,
            "residents": [{**person(r), "active": r.active} for r in residents]}


@bp.get("/search")
@documented(query=schemas.SearchQuery, responses={200: schemas.SearchResult}, errors=(422,))
def find():
    """Tickets and units matching ?q=, within what the caller may see, newest tickets first."""
    text = request.args.get("q", "")
    if search.too_short(text):
        raise InvalidData("bad search", {
            "q": f"must be {search.SHORTEST} characters at least, or a ticket's number"})
    found = search.search(current_user, text)
    people = search.residents_of([u.id for u in found.units])
    return jsonify({"query": found.query,
                    "tickets": [ticket_json(t, current_user, with_events=False)
                                for t in found.tickets],
                    "units": [unit_json(u, people.get(u.id, [])) for u in found.units],
                    "more": found.more})


@bp.get("/units/<int:unit_id>")
@documented(responses={200: schemas.UnitPage}, errors=(403, 404))
def get_unit(unit_id: int):
    """A unit, its residents, and the history of its tickets the caller may see, newest first."""
    unit, residents, history = search.unit_page(current_user, unit_id)
    return jsonify({**unit_json(unit, residents),
                    "tickets": [ticket_json(t, current_user, with_events=False)
                                for t in history]})
