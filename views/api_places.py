"""JSON API v1 for the company's places: estates (with their supervisors), areas (with their
butler), buildings and units (workflows.places). Same error format and status codes as the rest
of the API: a name taken is 409, bad input 422, each naming the field."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from models import Area, Building, Estate, Unit, db
from views import schemas
from views.api import body, bp, person
from views.openapi import documented
from workflows import places


def estate_summary(estate: Estate) -> dict:
    return {"id": estate.id, "name": estate.name,
            "supervisors": [person(s) for s in estate.supervisors]}


def building_json(building: Building, units: int) -> dict:
    return {"id": building.id, "name": building.name, "area_id": building.area_id,
            "units": units}


def area_json(area: Area, counts: dict[int, int]) -> dict:
    return {"id": area.id, "name": area.name, "estate_id": area.estate_id,
            "butler": person(area.butler),
            "buildings": [building_json(b, counts.get(b.id, 0)) for b in area.buildings]}


def estate_json(estate_id: int) -> dict:
    db.session.expire_all()
    estate = places.estate(current_user, estate_id)
    counts = places.unit_counts([b.id for a in estate.areas for b in a.buildings])
    return {**estate_summary(estate), "areas": [area_json(a, counts) for a in estate.areas]}


def unit_json(unit: Unit) -> dict:
    return {"id": unit.id, "building_id": unit.building_id, "label": unit.label,
            "number": unit.number, "entrance": unit.entrance, "floor": unit.floor,
            "size": str(unit.size) if unit.size is not None else None, "note": unit.note}


def _area(area_id: int) -> dict:
    db.session.expire_all()
    area = db.session.get(Area, area_id)
    return area_json(area, places.unit_counts([b.id for b in area.buildings]))


def _building(building_id: int) -> dict:
    db.session.expire_all()
    building = db.session.get(Building, building_id)
    return building_json(building, places.unit_counts([building.id]).get(building.id, 0))


@bp.get("/estates")
@documented(responses={200: schemas.Estates}, errors=(403,))
def list_estates():
    """The estates by name, with their supervisors: every one for the admin, a supervisor's
    own for them."""
    return jsonify({"estates": [estate_summary(e) for e in places.estates(current_user)]})


@bp.post("/estates")
@documented(body=schemas.EstateRequest, responses={201: schemas.EstateDetail},
            errors=(403, 409, 422))
def create_estate():
    """Make an estate: {name} (unique). The admin's."""
    made = places.create_estate(current_user, body().get("name"))
    return jsonify(estate_json(made.id)), 201


@bp.get("/estates/<int:estate_id>")
@documented(responses={200: schemas.EstateDetail}, errors=(403, 404))
def get_estate(estate_id: int):
    """An estate: its supervisors, its areas with their butler, and their buildings with how
    many units each has."""
    return jsonify(estate_json(estate_id))


@bp.patch("/estates/<int:estate_id>")
@documented(body=schemas.EstateChange, responses={200: schemas.EstateDetail},
            errors=(403, 404, 409, 422))
def change_estate(estate_id: int):
    """Rename an estate: {name}. The admin's."""
    places.change_estate(current_user, estate_id, body())
    return jsonify(estate_json(estate_id))


@bp.put("/estates/<int:estate_id>/supervisors")
@documented(body=schemas.SupervisorsChange, responses={200: schemas.EstateDetail},
            errors=(403, 404, 409, 422))
def set_estate_supervisors(estate_id: int):
    """The estate's supervisors are exactly these: {supervisor_ids}. The admin's. An estate,
    once supervised, keeps a supervisor: none at all is 409."""
    places.set_supervisors(current_user, estate_id, body().get("supervisor_ids"))
    return jsonify(estate_json(estate_id))


@bp.post("/estates/<int:estate_id>/areas")
@documented(body=schemas.AreaRequest, responses={201: schemas.PlacesArea},
            errors=(403, 404, 409, 422))
def create_area(estate_id: int):
    """Make an area of the estate: {name, butler_id?, note?}; with a butler, they answer for it
    from now. The admin's, and the estate's supervisors'."""
    data = body()
    made = places.create_area(current_user, estate_id, data.get("name"), data.get("butler_id"),
                              data.get("note", ""))
    return jsonify(_area(made.id)), 201


@bp.patch("/areas/<int:area_id>")
@documented(body=schemas.PlacesAreaChange, responses={200: schemas.PlacesArea},
            errors=(403, 404, 409, 422))
def change_area(area_id: int):
    """Rename an area and/or give it its butler: {name?, butler_id?, note?}. A new butler
    answers for it from now and takes over the open tickets the one before held, as by
    PUT /areas/{area_id}/butler; all of it or nothing."""
    places.change_area(current_user, area_id, body())
    return jsonify(_area(area_id))


@bp.post("/areas/<int:area_id>/buildings")
@documented(body=schemas.BuildingRequest, responses={201: schemas.PlacesBuilding},
            errors=(403, 404, 409, 422))
def create_building(area_id: int):
    """Make a building in the area: {name} (unique in the estate)."""
    made = places.create_building(current_user, area_id, body().get("name"))
    return jsonify(_building(made.id)), 201


@bp.patch("/buildings/<int:building_id>")
@documented(body=schemas.BuildingChange, responses={200: schemas.PlacesBuilding},
            errors=(403, 404, 409, 422))
def change_building(building_id: int):
    """Rename a building and/or move it to another area of its estate: {name?, area_id?}."""
    places.change_building(current_user, building_id, body())
    return jsonify(_building(building_id))


@bp.post("/buildings/<int:building_id>/units")
@documented(body=schemas.UnitRequest, responses={201: schemas.PlacesUnit},
            errors=(403, 404, 409, 422))
def create_unit(building_id: int):
    """Make a unit of the building: {number, entrance?, floor?, size?, note?}, read as the
    owner sheet's columns are."""
    made = places.create_unit(current_user, building_id, body())
    return jsonify(unit_json(places.unit(current_user, made.id))), 201


@bp.patch("/units/<int:unit_id>")
@documented(body=schemas.UnitChange, responses={200: schemas.PlacesUnit},
            errors=(403, 404, 409, 422))
def change_unit(unit_id: int):
    """Change a unit: {number?, entrance?, floor?, size?, note?}; null or blank clears one
    (but the number)."""
    return jsonify(unit_json(places.change_unit(current_user, unit_id, body())))
