"""The company's places (workflows.places, views.api_places, the admin's estate pages): estates
made and renamed with their supervisors, areas with their butler, buildings moved within their
estate, units edited; a name taken is a 409 and bad input a 422, each naming the field and
changing nothing; every change an audit entry with before → after; a supervisor keeps their own
estates' places only; supervisors' estates on the people pages and API."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import (
    Area,
    AuditEntry,
    Building,
    Estate,
    EstateSupervisor,
    Role,
    Ticket,
    Unit,
    User,
    db,
)
from tests.api import API, assert_error, token_for
from tests.pages import csrf_token, field_html, flashes
from workflows import places


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def audit_of(app, subject_type: str) -> list[tuple]:
    with app.app_context():
        return [(e.action, e.before, e.after) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == subject_type)
            .order_by(AuditEntry.id))]


def test_the_admin_makes_an_estate_with_areas_buildings_and_units_through_the_api(
        client, app, estate):
    admin = token_for(client, "admin")
    made = client.post(f"{API}/estates", headers=admin, json={"name": " Riverside "})
    assert made.status_code == 201, made.json
    assert made.json == {"id": made.json["id"], "name": "Riverside", "supervisors": [],
                         "areas": []}
    estate_id = made.json["id"]
    area = client.post(f"{API}/estates/{estate_id}/areas", headers=admin,
                       json={"name": "North"}).json
    assert area["butler"] is None and area["estate_id"] == estate_id
    building = client.post(f"{API}/areas/{area['id']}/buildings", headers=admin,
                           json={"name": "8栋"}).json
    assert building["units"] == 0
    unit = client.post(f"{API}/buildings/{building['id']}/units", headers=admin,
                       json={"number": "1201", "entrance": "1单元", "floor": 12, "size": 89.5})
    assert unit.status_code == 201, unit.json
    assert unit.json == {"id": unit.json["id"], "building_id": building["id"],
                         "label": "8栋 1201", "number": "1201", "entrance": "1单元",
                         "floor": 12, "size": "89.50", "note": None}
    changed = client.patch(f"{API}/units/{unit.json['id']}", headers=admin,
                           json={"floor": "11", "note": "业主自住", "entrance": None})
    assert changed.status_code == 200
    assert (changed.json["floor"], changed.json["note"], changed.json["entrance"]) == (
        11, "业主自住", None)
    detail = client.get(f"{API}/estates/{estate_id}", headers=admin).json
    assert detail["areas"][0]["buildings"] == [{**building, "units": 1}]
    assert [e["name"] for e in client.get(f"{API}/estates", headers=admin).json["estates"]] == [
        "Garden", "Riverside"]

    assert audit_of(app, "estate")[-1] == ("created", None, {"name": "Riverside"})
    assert audit_of(app, "unit")[-1] == ("changed", {"entrance": "1单元", "floor": 12,
                                                     "note": None},
                                         {"entrance": None, "floor": 11, "note": "业主自住"})


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/estates", {"name": "garden"}, "name"),              # an estate's name, any case
    ("/estates/{estate}/areas", {"name": "East"}, "name"),
    ("/areas/{east}/buildings", {"name": "4栋"}, "name"),   # in the West: same estate
    ("/buildings/{b1}/units", {"number": "101"}, "number"),
])
def test_a_name_taken_is_409_naming_the_field_and_makes_nothing(client, ctx, estate, path, body,
                                                              field):
    admin = token_for(client, "admin")
    ids = _ids()
    before = [count(m) for m in (Estate, Area, Building, Unit, AuditEntry)]
    reply = client.post(API + path.format(**ids), headers=admin, json=body)
    assert_error(reply, 409, "conflict", field)
    assert [count(m) for m in (Estate, Area, Building, Unit, AuditEntry)] == before


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/estates", {}, "name"),
    ("/estates", {"name": "x" * 101}, "name"),
    ("/estates", {"name": 7}, "name"),
    ("/estates/{estate}/areas", {"name": "  "}, "name"),
    ("/estates/{estate}/areas", {"name": "South", "butler_id": "{technician}"}, "butler_id"),
    ("/buildings/{b1}/units", {"number": "9", "floor": "twelve"}, "floor"),
    ("/buildings/{b1}/units", {"number": "9", "size": -3}, "size"),
    ("/buildings/{b1}/units", {"number": "9", "note": {"a": 1}}, "note"),
    ("/buildings/{b1}/units", {"entrance": "1单元"}, "number"),
])
def test_bad_input_is_422_naming_the_field_and_makes_nothing(client, ctx, estate, path, body,
                                                           field):
    admin = token_for(client, "admin")
    ids = _ids()
    body = {k: int(v.format(**ids)) if isinstance(v, str) and v.startswith("{") else v
            for k, v in body.items()}
    before = [count(m) for m in (Estate, Area, Building, Unit, AuditEntry)]
    reply = client.post(API + path.format(**ids), headers=admin, json=body)
    assert_error(reply, 422, "invalid", field)
    assert [count(m) for m in (Estate, Area, Building, Unit, AuditEntry)] == before


def _ids() -> dict[str, int]:
    def one(model, **where):
        return db.session.scalar(select(model.id).filter_by(**where))

    return {"estate": one(Estate, name="Garden"), "east": one(Area, name="East"),
            "west": one(Area, name="West"), "b1": one(Building, name="1栋"),
            "b4": one(Building, name="4栋"),
            "technician": one(User, username="technician"),
            "butler": one(User, username="butler"),
            "relief": one(User, username="relief_butler")}


def test_an_areas_new_butler_takes_its_open_tickets_and_a_failed_change_renames_nothing(
        client, ctx, estate, desk):
    admin = token_for(client, "admin")
    ids = _ids()
    ticket = desk.open("resident").id
    db.session.rollback()
    refused = client.patch(f"{API}/areas/{ids['east']}", headers=admin,
                           json={"name": "East side", "butler_id": ids["technician"]})
    assert_error(refused, 422, "invalid", "butler_id")
    db.session.rollback()
    assert db.session.get(Area, ids["east"]).name == "East"

    changed = client.patch(f"{API}/areas/{ids['east']}", headers=admin,
                           json={"name": "East side", "butler_id": ids["relief"],
                                 "note": "Butler moved"})
    assert changed.status_code == 200, changed.json
    assert (changed.json["name"], changed.json["butler"]["id"]) == ("East side", ids["relief"])
    db.session.rollback()
    assert db.session.get(Ticket, ticket).assignee_id == ids["relief"]


def test_a_butlers_areas_are_in_one_estate(client, ctx, estate):
    admin = token_for(client, "admin")
    other = client.post(f"{API}/estates", headers=admin, json={"name": "Riverside"}).json
    reply = client.post(f"{API}/estates/{other['id']}/areas", headers=admin,
                        json={"name": "North", "butler_id": estate.butler})
    assert_error(reply, 409, "conflict", "butler_id")
    assert count(Area) == 2


def test_a_building_moves_to_another_area_of_its_estate_only(client, ctx, estate):
    admin = token_for(client, "admin")
    ids = _ids()
    db.session.rollback()
    moved = client.patch(f"{API}/buildings/{ids['b1']}", headers=admin,
                         json={"area_id": ids["west"], "name": "1号楼"})
    assert moved.status_code == 200
    assert (moved.json["area_id"], moved.json["name"]) == (ids["west"], "1号楼")
    other = client.post(f"{API}/estates", headers=admin, json={"name": "Riverside"}).json
    north = client.post(f"{API}/estates/{other['id']}/areas", headers=admin,
                        json={"name": "North"}).json
    assert_error(client.patch(f"{API}/buildings/{ids['b1']}", headers=admin,
                              json={"area_id": north["id"]}), 422, "invalid", "area_id")
    assert_error(client.patch(f"{API}/buildings/{ids['b4']}", headers=admin,
                              json={"name": "1号楼"}), 409, "conflict", "name")


def test_the_estates_supervisors_and_what_a_supervisor_keeps(client, app, estate):
    admin, supervisor = token_for(client, "admin"), token_for(client, "supervisor")
    butler = token_for(client, "butler")
    with app.app_context():
        garden = db.session.scalar(select(Estate.id).where(Estate.name == "Garden"))
    other = client.post(f"{API}/estates", headers=admin, json={"name": "Riverside"}).json
    assert [e["name"] for e in client.get(f"{API}/estates", headers=supervisor).json[
        "estates"]] == ["Garden"]
    assert_error(client.get(f"{API}/estates/{other['id']}", headers=supervisor), 404)
    assert_error(client.post(f"{API}/estates/{other['id']}/areas", headers=supervisor,
                             json={"name": "North"}), 404)
    assert_error(client.patch(f"{API}/estates/{garden}", headers=supervisor,
                              json={"name": "Mine"}), 403)
    assert client.post(f"{API}/estates/{garden}/areas", headers=supervisor,
                       json={"name": "South"}).status_code == 201
    assert_error(client.get(f"{API}/estates", headers=butler), 403)

    assert_error(client.put(f"{API}/estates/{other['id']}/supervisors", headers=admin,
                            json={"supervisor_ids": [estate.butler]}), 422, "invalid",
                 "supervisor_ids")
    given = client.put(f"{API}/estates/{other['id']}/supervisors", headers=admin,
                       json={"supervisor_ids": [estate.supervisor]})
    assert [s["username"] for s in given.json["supervisors"]] == ["supervisor"]
    assert len(client.get(f"{API}/estates", headers=supervisor).json["estates"]) == 2
    assert_error(client.put(f"{API}/estates/{other['id']}/supervisors", headers=admin,
                            json={"supervisor_ids": []}), 409, "conflict", "supervisor_ids")
    assert audit_of(app, "estate")[-1] == (
        "changed", {"supervisors": []}, {"supervisors": ["supervisor"]})


def test_supervisors_estates_on_the_people_api(client, ctx, estate):
    admin = token_for(client, "admin")
    made = client.post(f"{API}/users", headers=admin, json={
        "username": "sup2", "name": "Sup Two", "role": "supervisor"})
    assert made.status_code == 201
    assert [e["name"] for e in made.json["user"]["estates"]] == ["Garden"]  # the only one
    other = client.post(f"{API}/estates", headers=admin, json={"name": "Riverside"}).json
    changed = client.patch(f"{API}/users/{made.json['user']['id']}", headers=admin,
                           json={"estate_ids": [other["id"]]})
    assert [e["name"] for e in changed.json["user"]["estates"]] == ["Riverside"]
    assert_error(client.patch(f"{API}/users/{estate.butler}", headers=admin,
                              json={"estate_ids": [other["id"]]}), 422, "invalid", "estate_ids")
    assert_error(client.patch(f"{API}/users/{made.json['user']['id']}", headers=admin,
                              json={"estate_ids": [999]}), 422, "invalid", "estate_ids")
    made_butler = client.post(f"{API}/users", headers=admin, json={
        "username": "b9", "name": "B Nine", "role": "butler"})
    assert made_butler.json["user"]["estates"] == []
    sup2 = made.json["user"]["id"]
    # Riverside's only supervisor: an estate, once supervised, keeps one.
    assert_error(client.patch(f"{API}/users/{sup2}", headers=admin, json={"role": "technician"}),
                 409, "conflict", "role")
    assert client.put(f"{API}/estates/{other['id']}/supervisors", headers=admin,
                      json={"supervisor_ids": [sup2, estate.supervisor]}).status_code == 200
    demoted = client.patch(f"{API}/users/{sup2}", headers=admin, json={"role": "technician"})
    assert demoted.json["user"]["estates"] == []
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(EstateSupervisor).where(
        EstateSupervisor.supervisor_id == made.json["user"]["id"])) == 0


def test_the_estate_pages_make_an_area_give_it_a_butler_and_keep_what_was_typed(
        browser, app, estate):
    page = browser("admin")
    listed = page.get("/admin/estates")
    assert "Garden" in listed.text
    token = csrf_token(listed.text)
    made = page.post("/admin/estates", data={"csrf_token": token, "estate-name": "Riverside"})
    assert made.status_code == 302
    riverside = made.location.rsplit("/", 1)[1]
    taken = page.post("/admin/estates", data={"csrf_token": token, "estate-name": "riverside"})
    assert taken.status_code == 409
    assert "is taken" in field_html(taken.text, "estate-name")
    assert 'value="riverside"' in taken.text and "There is a problem" in taken.text

    added = page.post(f"/admin/estates/{riverside}/areas", data={
        "csrf_token": token, "new-area-name": "North", "new-area-butler_id": ""},
        follow_redirects=True)
    assert flashes(added.text, "success") == ["The area North is made."]
    with app.app_context():
        north = db.session.scalar(select(Area.id).where(Area.name == "North"))
        butler = db.session.scalar(select(User.id).where(User.username == "relief_butler"))
    given = page.post(f"/admin/areas/{north}/butler", data={
        "csrf_token": token, f"area-{north}-butler_id": str(butler)}, follow_redirects=True)
    assert "North · Relief_Butler" in given.text
    building = page.post(f"/admin/areas/{north}/buildings", data={
        "csrf_token": token, f"new-building-{north}-name": "8栋"})
    assert building.status_code == 302
    with app.app_context():
        b8 = db.session.scalar(select(Building.id).where(Building.name == "8栋"))
    bad = page.post(f"/admin/buildings/{b8}/units", data={
        "csrf_token": token, "unit-number": "1201", "unit-floor": "twelfth"})
    assert bad.status_code == 422
    assert "is not a floor number" in field_html(bad.text, "unit-floor")
    assert 'value="1201"' in bad.text
    unit = page.post(f"/admin/buildings/{b8}/units", data={
        "csrf_token": token, "unit-number": "1201", "unit-floor": "12", "unit-size": "90"},
        follow_redirects=True)
    assert "The unit 1201 is made." in flashes(unit.text, "success")
    with app.app_context():
        made_unit = db.session.scalar(select(Unit).where(Unit.building_id == b8))
        assert (made_unit.floor, str(made_unit.size)) == (12, "90.00")


def test_a_supervisor_account_is_offered_the_estates_the_only_one_ticked(browser, app, estate):
    page = browser("admin")
    form = page.get("/admin/people/new").text
    assert "checked" in estates_offered(form)
    made = page.post("/admin/people/new", data={
        "csrf_token": csrf_token(form), "account-username": "sup3", "account-name": "Sup Three",
        "account-role": "supervisor", "account-estate_ids": "1", "account-password": ""})
    assert made.status_code == 200  # the page with the password made, shown once
    with app.app_context():
        sup = db.session.scalar(select(User).where(User.username == "sup3"))
        assert sup.role == Role.SUPERVISOR
        assert [e.name for e in places.estates_of(sup.id)] == ["Garden"]
    person = page.get(f"/admin/people/{sup.id}").text
    assert "Estates they supervise" in person


def estates_offered(html: str) -> str:
    """The new account's estates' checkboxes."""
    start = html.index('id="account-estate_ids"')
    return html[start:html.index("</fieldset>", start)]
