"""The JSON API v1 (issue 2, section 6): tokens, tickets, firing triggers, deductions, workflows.

Every test drives the API as a client would, over HTTP with a bearer token; database checks run in
their own `with app.app_context()` block so they never share Flask-Login's cached user with the
client's requests. Every error must be {"error": {"code", "message", "fields"}}, and no bad input
may ever produce a 500.
"""
from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models import Deadline, Deduction, Event, Ticket, db
from tests.api import API, assert_error, fire, log_in, open_ticket, token_for
from tests.conftest import T0
from workflows import sweeper

RULES_FILE = Path(__file__).resolve().parent.parent / "workflows" / "rules.toml"


# -- helpers --------------------------------------------------------------------------------------

def ids(reply) -> set[int]:
    assert reply.status_code == 200, reply.json
    return {t["id"] for t in reply.json["tickets"]}


def with_ids(estate, data: dict) -> dict:
    """Replace "@name" values by the id of that person of the estate."""
    return {k: getattr(estate, v[1:]) if isinstance(v, str) and v.startswith("@") else v
            for k, v in data.items()}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def ticket_row(app, ticket_id: int) -> tuple[str, int, int]:
    """(state, version, number of events) as stored."""
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        events = db.session.query(Event).filter_by(ticket_id=ticket_id).count()
        return ticket.state, ticket.version, events


# -- POST /tokens ---------------------------------------------------------------------------------

def test_token_is_issued_for_the_right_password(client, estate, clock):
    reply = client.post(f"{API}/tokens", json={"username": "resident", "password": "secret"})

    assert reply.status_code == 201
    assert isinstance(reply.json["token"], str) and len(reply.json["token"]) >= 20
    user = reply.json["user"]
    assert user["id"] == estate.resident
    assert user["username"] == "resident"
    assert user["role"] == "resident"
    assert user["unit_id"] == estate.unit_a
    assert "password_hash" not in user
    mine = client.get(f"{API}/tickets", headers={"Authorization": f"Bearer {reply.json['token']}"})
    assert mine.status_code == 200


@pytest.mark.parametrize("credentials", [
    {"username": "resident", "password": "wrong"},
    {"username": "nobody", "password": "secret"},
    {"username": "RESIDENT", "password": "secret"},
])
def test_token_refused_for_wrong_credentials(client, clock, credentials):
    assert_error(client.post(f"{API}/tokens", json=credentials), 401, "unauthorized")


@pytest.mark.parametrize("body, missing", [
    ({"password": "secret"}, "username"),
    ({"username": "resident"}, "password"),
    ({"username": "", "password": "secret"}, "username"),
    ({"username": "resident", "password": ""}, "password"),
    ({"username": 42, "password": "secret"}, "username"),
    ({"username": "resident", "password": ["secret"]}, "password"),
])
def test_token_needs_username_and_password(client, clock, body, missing):
    assert_error(client.post(f"{API}/tokens", json=body), 422, "invalid", missing)


@pytest.mark.parametrize("data, content_type", [
    ("username=resident&password=secret", "application/x-www-form-urlencoded"),
    ("{not json", "application/json"),
    ('["resident", "secret"]', "application/json"),
    ('"resident"', "application/json"),
    ("", "application/json"),
])
def test_token_body_must_be_a_json_object(client, clock, data, content_type):
    reply = client.post(f"{API}/tokens", data=data, content_type=content_type)
    assert_error(reply, 422, "invalid", "body")


def test_a_bad_bearer_token_is_not_a_login(client, clock):
    for header in ("Bearer nonsense", "Bearer ", "Basic cmVzaWRlbnQ6c2VjcmV0", "nonsense"):
        assert_error(client.get(f"{API}/tickets", headers={"Authorization": header}), 401)


def test_a_token_expires(client, clock):
    headers = log_in(client, "resident")
    clock.shift(timedelta(days=31))
    assert_error(client.get(f"{API}/tickets", headers=headers), 401, "unauthorized")


@pytest.mark.parametrize("method, path", [
    ("get", "/tickets"),
    ("post", "/tickets"),
    ("get", "/tickets/1"),
    ("post", "/tickets/1/fire"),
    ("get", "/deductions"),
    ("get", "/workflows"),
])
def test_every_other_endpoint_needs_a_login(client, clock, method, path):
    reply = getattr(client, method)(API + path, json={"kind": "repair", "title": "x"})
    assert_error(reply, 401, "unauthorized")


# -- POST /tickets --------------------------------------------------------------------------------

def test_resident_reports_a_repair_for_their_own_unit(app, client, estate, clock):
    headers = token_for(client, "resident")
    reply = client.post(f"{API}/tickets", headers=headers,
                        json={"kind": "repair", "title": "  Tap leaking  ",
                              "description": "Drips all night."})

    assert reply.status_code == 201, reply.json
    t = reply.json
    assert {"id", "kind", "state", "version", "unit", "resident", "assignee", "reported_at",
            "created_at", "deadlines", "events", "allowed_triggers"} <= t.keys()
    assert t["kind"] == "repair"
    assert t["state"] == "reported"
    assert t["version"] == 1
    assert t["title"] == "Tap leaking"
    assert t["description"] == "Drips all night."
    assert t["unit"]["id"] == estate.unit_a
    assert t["unit"]["area"] == "East"
    assert t["resident"]["id"] == estate.resident
    assert t["assignee"]["id"] == estate.butler  # 首问负责制: the butler of the unit's area
    assert t["reported_at"] == iso(T0)
    assert t["created_at"] == iso(T0)

    deadlines = {d["name"]: d for d in t["deadlines"]}
    assert set(deadlines) == {"on_site", "completion"}
    for d in deadlines.values():
        assert {"name", "due_at", "status"} <= d.keys()
        assert not {"points", "article"} & d.keys()  # the butlers' scoring is not for residents
        assert d["status"] == "running"
    assert deadlines["on_site"]["due_at"] == iso(T0 + timedelta(minutes=20))
    assert deadlines["completion"]["due_at"] == iso(T0 + timedelta(hours=24))

    assert [(e["trigger"], e["from_state"], e["to_state"]) for e in t["events"]] == [
        ("create", None, "reported")]
    assert t["events"][0]["actor"]["id"] == estate.resident
    assert [a["name"] for a in t["allowed_triggers"]] == ["cancel", "nudge"]

    with app.app_context():
        stored = db.session.get(Ticket, t["id"])
        assert (stored.unit_id, stored.resident_id, stored.assignee_id) == (
            estate.unit_a, estate.resident, estate.butler)


def test_ticket_in_the_west_goes_to_the_west_butler(client, estate, clock):
    t = open_ticket(client, token_for(client, "west_resident"))
    assert t["assignee"]["id"] == estate.other_butler


def test_resident_may_name_their_own_unit(client, estate, clock):
    t = open_ticket(client, token_for(client, "resident"), unit_id=estate.unit_a)
    assert t["unit"]["id"] == estate.unit_a


def test_resident_may_not_report_for_another_unit(app, client, estate, clock):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "resident"),
                        json={"kind": "repair", "title": "Tap", "unit_id": estate.unit_b})
    assert_error(reply, 403, "forbidden")
    with app.app_context():
        assert db.session.query(Ticket).count() == 0


def test_resident_may_not_backdate(app, client, clock):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "resident"),
                        json={"kind": "repair", "title": "Tap",
                              "reported_at": iso(T0 - timedelta(minutes=10))})
    assert_error(reply, 403, "forbidden")
    with app.app_context():
        assert db.session.query(Ticket).count() == 0


@pytest.mark.parametrize("who", ["butler", "supervisor"])
def test_staff_register_a_call_afterwards(client, estate, clock, who):
    called = T0 - timedelta(minutes=10)
    t = open_ticket(client, token_for(client, who), unit_id=estate.unit_b,
                    reported_at="2026-11-16T08:50:00+08:00")

    assert t["unit"]["id"] == estate.unit_b
    assert t["resident"]["id"] == estate.neighbour  # the unit's resident
    assert t["assignee"]["id"] == estate.butler
    assert t["reported_at"] == iso(called)
    assert t["created_at"] == iso(T0)
    on_site = next(d for d in t["deadlines"] if d["name"] == "on_site")
    assert on_site["due_at"] == iso(called + timedelta(minutes=20))  # the clock ran from the call


def test_technicians_do_not_register_tickets(client, estate, clock):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "technician"),
                        json={"kind": "repair", "title": "Tap", "unit_id": estate.unit_a})
    assert_error(reply, 403, "forbidden")


@pytest.mark.parametrize("body, field", [
    ({"kind": "plumbing", "title": "Tap"}, "kind"),
    ({"title": "Tap"}, "kind"),
    ({"kind": "repair", "title": ""}, "title"),
    ({"kind": "repair", "title": "   "}, "title"),
    ({"kind": "repair"}, "title"),
    ({"kind": "repair", "title": "x" * 201}, "title"),
    ({"kind": "repair", "title": "Tap", "description": "x" * 2001}, "description"),
    ({"kind": "repair", "title": "Tap", "description": {"text": "Drips"}}, "description"),
    ({"kind": "repair", "title": "Tap", "description": 42}, "description"),
])
def test_bad_ticket_data_is_422_naming_the_field(app, client, clock, body, field):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "resident"), json=body)
    assert_error(reply, 422, "invalid", field)
    with app.app_context():
        assert db.session.query(Ticket).count() == 0


@pytest.mark.parametrize("body, field", [
    ({"unit_id": 9999}, "unit_id"),
    ({"unit_id": "abc"}, "unit_id"),
    ({"reported_at": "yesterday"}, "reported_at"),
    ({"reported_at": "2026-11-16T09:30:00+08:00"}, "reported_at"),  # in the future
    ({"reported_at": "2026-11-01T09:00:00+08:00"}, "reported_at"),  # beyond the backdate limit
])
def test_staff_ticket_with_bad_unit_or_time_is_422(app, client, estate, clock, body, field):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "butler"),
                        json={"kind": "repair", "title": "Tap", "unit_id": estate.unit_a, **body})
    assert_error(reply, 422, "invalid", field)
    with app.app_context():
        assert db.session.query(Ticket).count() == 0


def test_staff_without_unit_is_422(client, clock):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "butler"),
                        json={"kind": "repair", "title": "Tap"})
    assert_error(reply, 422, "invalid", "unit_id")


# -- GET /tickets: who sees what ------------------------------------------------------------------

@pytest.fixture
def spread(client, estate, clock) -> dict[str, int]:
    """Tickets across the estate: East repair (dispatched to technician), East complaint,
    West repair (dispatched to other_technician)."""
    east = open_ticket(client, token_for(client, "resident"), title="East tap")
    complaint = open_ticket(client, token_for(client, "neighbour"), kind="complaint",
                            title="Noise upstairs")
    west = open_ticket(client, token_for(client, "west_resident"), title="West lift")
    assert fire(client, token_for(client, "butler"), east["id"], "dispatch",
                technician_id=estate.technician).status_code == 200
    assert fire(client, token_for(client, "other_butler"), west["id"], "dispatch",
                technician_id=estate.other_technician).status_code == 200
    return {"east": east["id"], "complaint": complaint["id"], "west": west["id"]}


@pytest.mark.parametrize("who, expected", [
    ("resident", {"east"}),
    ("neighbour", {"complaint"}),
    ("west_resident", {"west"}),
    ("butler", {"east", "complaint"}),
    ("other_butler", {"west"}),
    ("relief_butler", set()),
    ("technician", {"east"}),
    ("other_technician", {"west"}),
    ("supervisor", {"east", "complaint", "west"}),
])
def test_list_shows_only_what_the_caller_may_see(client, spread, who, expected):
    reply = client.get(f"{API}/tickets", headers=token_for(client, who))
    assert ids(reply) == {spread[name] for name in expected}
    assert reply.json["total"] == len(expected)


@pytest.mark.parametrize("who, name", [
    ("neighbour", "east"),
    ("resident", "complaint"),
    ("other_butler", "east"),
    ("relief_butler", "complaint"),
    ("butler", "west"),
    ("technician", "west"),
    ("technician", "complaint"),
    ("other_technician", "east"),
])
def test_a_ticket_the_caller_may_not_see_is_404(client, spread, who, name):
    reply = client.get(f"{API}/tickets/{spread[name]}", headers=token_for(client, who))
    err = assert_error(reply, 404, "not_found")
    assert str(spread[name]) in err["message"]


@pytest.mark.parametrize("who", ["resident", "butler", "technician", "supervisor"])
def test_one_ticket_for_those_who_may_see_it(client, spread, who):
    reply = client.get(f"{API}/tickets/{spread['east']}", headers=token_for(client, who))
    assert reply.status_code == 200
    assert reply.json["id"] == spread["east"]
    assert reply.json["state"] == "dispatched"
    assert [e["trigger"] for e in reply.json["events"]] == ["create", "dispatch"]


@pytest.mark.parametrize("path", ["/tickets/9999", "/tickets/0",
                                  "/tickets/99999999999999999999999"])
def test_unknown_ticket_is_404(client, clock, path):
    assert_error(client.get(API + path, headers=token_for(client, "supervisor")), 404, "not_found")


def test_allowed_triggers_depend_on_the_caller(client, spread):
    def allowed(who):
        reply = client.get(f"{API}/tickets/{spread['east']}", headers=token_for(client, who))
        return sorted(t["name"] for t in reply.json["allowed_triggers"])

    assert allowed("resident") == ["cancel", "nudge"]
    assert allowed("butler") == ["arrive", "cancel"]
    assert allowed("technician") == ["arrive"]
    assert allowed("supervisor") == ["reassign"]


# -- GET /tickets: filters and pages --------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("kind=complaint", {"complaint"}),
    ("kind=repair", {"east", "west"}),
    ("kind=renovation", set()),
    ("state=dispatched", {"east", "west"}),
    ("state=submitted", {"complaint"}),
    ("state=closed", set()),
    ("kind=repair&state=submitted", set()),
    ("kind=", {"east", "complaint", "west"}),
])
def test_list_filters_by_kind_and_state(client, spread, query, expected):
    reply = client.get(f"{API}/tickets?{query}", headers=token_for(client, "supervisor"))
    assert ids(reply) == {spread[name] for name in expected}


def test_list_filters_by_assignee(client, estate, spread):
    butler = token_for(client, "butler")
    supervisor = token_for(client, "supervisor")

    assert ids(client.get(f"{API}/tickets?assignee=me", headers=butler)) == {
        spread["east"], spread["complaint"]}
    assert ids(client.get(f"{API}/tickets?assignee=me", headers=supervisor)) == set()
    assert ids(client.get(f"{API}/tickets?assignee={estate.other_butler}",
                          headers=supervisor)) == {spread["west"]}
    # A filter never widens what the caller may see.
    assert ids(client.get(f"{API}/tickets?assignee={estate.other_butler}", headers=butler)) == set()


def test_list_filters_overdue(client, estate, spread, clock):
    technician = token_for(client, "technician")
    supervisor = token_for(client, "supervisor")
    assert fire(client, technician, spread["east"], "arrive").status_code == 200

    assert ids(client.get(f"{API}/tickets?overdue=true", headers=supervisor)) == set()

    clock.shift(timedelta(minutes=25))  # West's technician never arrived; no sweep has run
    overdue = client.get(f"{API}/tickets?overdue=true", headers=supervisor)
    assert ids(overdue) == {spread["west"]}
    assert all(t["overdue"] for t in overdue.json["tickets"])
    assert ids(client.get(f"{API}/tickets?overdue=false", headers=supervisor)) == {
        spread["east"], spread["complaint"]}

    clock.shift(timedelta(hours=48))  # now the complaint's reply is overdue too
    assert ids(client.get(f"{API}/tickets?overdue=true", headers=supervisor)) == {
        spread["east"], spread["west"], spread["complaint"]}


def test_list_is_paginated(client, clock):
    resident = token_for(client, "resident")
    created = {open_ticket(client, resident, title=f"Request {i}")["id"] for i in range(5)}

    seen = []
    for page in (1, 2, 3):
        reply = client.get(f"{API}/tickets?per_page=2&page={page}", headers=resident)
        assert reply.status_code == 200
        assert (reply.json["page"], reply.json["per_page"], reply.json["total"]) == (page, 2, 5)
        seen += [t["id"] for t in reply.json["tickets"]]
    assert [len(seen[:2]), len(seen[2:4]), len(seen[4:])] == [2, 2, 1]
    assert sorted(seen) == sorted(created)

    beyond = client.get(f"{API}/tickets?per_page=2&page=4", headers=resident)
    assert beyond.json["tickets"] == [] and beyond.json["total"] == 5


def test_list_is_nearest_deadline_first(client, estate, clock):
    butler = token_for(client, "butler")
    later = open_ticket(client, butler, title="later", unit_id=estate.unit_a)
    sooner = open_ticket(client, butler, title="sooner", unit_id=estate.unit_b,
                         reported_at=iso(T0 - timedelta(minutes=15)))
    complaint = open_ticket(client, butler, kind="complaint", title="slow", unit_id=estate.unit_a)
    listed = [t["id"] for t in client.get(f"{API}/tickets", headers=butler).json["tickets"]]
    assert listed == [sooner["id"], later["id"], complaint["id"]]


def test_list_items_have_the_ticket_shape(client, spread):
    reply = client.get(f"{API}/tickets", headers=token_for(client, "supervisor"))
    for t in reply.json["tickets"]:
        assert {"id", "kind", "state", "version", "unit", "resident", "assignee", "reported_at",
                "created_at", "deadlines", "allowed_triggers"} <= t.keys()


@pytest.mark.parametrize("query, field", [
    ("kind=plumbing", "kind"),
    ("state=flying", "state"),
    ("assignee=someone", "assignee"),
    ("assignee=-1", "assignee"),
    ("assignee=0", "assignee"),
    ("assignee=99999999999999999999999", "assignee"),
    ("overdue=yes", "overdue"),
    ("overdue=1", "overdue"),
    ("page=0", "page"),
    ("page=two", "page"),
    ("page=-1", "page"),
    ("page=²", "page"),
    ("page=99999999999999999999999", "page"),
    ("per_page=0", "per_page"),
    ("per_page=1.5", "per_page"),
])
def test_bad_filters_are_422_naming_the_parameter(client, clock, query, field):
    reply = client.get(f"{API}/tickets?{query}", headers=token_for(client, "supervisor"))
    assert_error(reply, 422, "invalid", field)


def test_per_page_is_capped(client, clock):
    reply = client.get(f"{API}/tickets?per_page=100000", headers=token_for(client, "supervisor"))
    assert reply.status_code == 200
    assert reply.json["per_page"] <= 200


# -- POST /tickets/<id>/fire ----------------------------------------------------------------------

@pytest.fixture
def repair(client, clock) -> dict:
    """A repair the resident just reported (version 1, state reported)."""
    return open_ticket(client, token_for(client, "resident"))


def test_fire_moves_the_ticket_and_bumps_the_version(client, estate, repair):
    reply = fire(client, token_for(client, "butler"), repair["id"], "dispatch", version=1,
                 technician_id=estate.technician, note="Zhang goes")

    assert reply.status_code == 200, reply.json
    assert reply.json["state"] == "dispatched"
    assert reply.json["version"] == 2
    assert reply.json["technician"]["id"] == estate.technician
    last = reply.json["events"][-1]
    assert (last["trigger"], last["from_state"], last["to_state"], last["note"]) == (
        "dispatch", "reported", "dispatched", "Zhang goes")
    assert last["actor"]["id"] == estate.butler


def test_a_repair_runs_its_whole_course_through_the_api(client, estate, repair, clock):
    butler, technician = token_for(client, "butler"), token_for(client, "technician")
    steps = [(butler, "dispatch", {"technician_id": estate.technician}, "dispatched"),
             (technician, "arrive", {}, "on_site"),
             (technician, "complete", {}, "completed"),
             (butler, "visit", {"rating": 5}, "visited"),
             (butler, "close", {}, "closed")]
    version = repair["version"]
    for headers, trigger, data, state in steps:
        clock.shift(timedelta(minutes=5))
        reply = fire(client, headers, repair["id"], trigger, version=version, **data)
        assert reply.status_code == 200, reply.json
        assert reply.json["state"] == state
        assert reply.json["version"] == version + 1
        version = reply.json["version"]
    final = reply.json
    assert final["rating"] == 5
    assert final["allowed_triggers"] == [] or all(
        t["name"] == "reopen" for t in final["allowed_triggers"])
    assert {d["name"]: d["status"] for d in final["deadlines"]} == {
        "on_site": "met", "completion": "met", "follow_up": "met"}


def test_stale_version_is_409_and_changes_nothing(app, client, estate, repair):
    butler = token_for(client, "butler")
    assert fire(client, butler, repair["id"], "dispatch", version=1,
                technician_id=estate.technician).status_code == 200
    before = ticket_row(app, repair["id"])

    reply = fire(client, token_for(client, "technician"), repair["id"], "arrive", version=1)

    err = assert_error(reply, 409, "stale_version")
    assert "version" in err["message"]
    assert ticket_row(app, repair["id"]) == before == ("dispatched", 2, 2)


def test_impossible_trigger_is_409_naming_the_state(app, client, repair):
    reply = fire(client, token_for(client, "butler"), repair["id"], "visit", version=1, rating=5)

    err = assert_error(reply, 409, "conflict")
    assert "'reported'" in err["message"]
    assert "dispatch" in err["message"]  # and what is possible now
    assert ticket_row(app, repair["id"]) == ("reported", 1, 1)


@pytest.mark.parametrize("who, trigger, data", [
    ("resident", "dispatch", {"technician_id": "@technician"}),
    ("technician", "cancel", {}),
    ("butler", "reassign", {"assignee_id": "@other_butler"}),
    ("supervisor", "cancel", {}),
])
def test_trigger_of_another_role_is_403(app, client, estate, repair, who, trigger, data):
    data = with_ids(estate, data)
    if who == "technician":  # a technician sees the ticket once it is dispatched to them
        assert fire(client, token_for(client, "butler"), repair["id"], "dispatch",
                    technician_id=estate.technician).status_code == 200
    before = ticket_row(app, repair["id"])
    reply = fire(client, token_for(client, who), repair["id"], trigger, **data)
    err = assert_error(reply, 403, "forbidden")
    assert trigger in err["message"]
    assert ticket_row(app, repair["id"]) == before


def test_firing_on_a_ticket_one_may_not_see_is_404(app, client, estate, repair):
    reply = fire(client, token_for(client, "other_butler"), repair["id"], "cancel", version=1)
    assert_error(reply, 404, "not_found")
    reply = fire(client, token_for(client, "neighbour"), repair["id"], "cancel", version=1)
    assert_error(reply, 404, "not_found")
    assert ticket_row(app, repair["id"]) == ("reported", 1, 1)


@pytest.mark.parametrize("body, field", [
    ({"trigger": "dispatch", "version": 1}, "technician_id"),
    ({"trigger": "dispatch", "version": 1, "technician_id": ""}, "technician_id"),
    ({"trigger": "dispatch", "version": 1, "technician_id": "@butler"}, "technician_id"),
    ({"trigger": "dispatch", "version": 1, "technician_id": 9999}, "technician_id"),
    ({"trigger": "dispatch", "technician_id": "@technician"}, "version"),
    ({"trigger": "dispatch", "version": None, "technician_id": "@technician"}, "version"),
    ({"trigger": "dispatch", "version": "one", "technician_id": "@technician"}, "version"),
    ({"trigger": "teleport", "version": 1}, "trigger"),
    ({"version": 1}, "trigger"),
    ({"trigger": "cancel", "version": 1, "rating": 5}, "rating"),  # cancel takes no rating
    ({"trigger": "cancel", "version": 1, "reason": "   "}, "reason"),
])
def test_missing_or_invalid_data_is_422_naming_the_field(app, client, estate, repair, body, field):
    body = with_ids(estate, body)
    reply = client.post(f"{API}/tickets/{repair['id']}/fire", headers=token_for(client, "butler"),
                        json=body)
    assert_error(reply, 422, "invalid", field)
    assert ticket_row(app, repair["id"]) == ("reported", 1, 1)


def test_visit_without_rating_is_422(app, client, estate, repair):
    butler, technician = token_for(client, "butler"), token_for(client, "technician")
    fire(client, butler, repair["id"], "dispatch", technician_id=estate.technician)
    fire(client, technician, repair["id"], "arrive")
    fire(client, technician, repair["id"], "complete")
    before = ticket_row(app, repair["id"])
    err = assert_error(fire(client, butler, repair["id"], "visit", note="called"), 422,
                       "invalid", "rating")
    assert err["fields"] == {"rating": "is required"}
    for rating in (0, 6, "five", 2.5, True):
        assert_error(fire(client, butler, repair["id"], "visit", rating=rating), 422,
                     "invalid", "rating")
    assert ticket_row(app, repair["id"]) == before == ("completed", 4, 4)


def test_fire_with_string_version_from_a_form_is_accepted(client, estate, repair):
    reply = fire(client, token_for(client, "butler"), repair["id"], "dispatch", version="1",
                 technician_id=str(estate.technician))
    assert reply.status_code == 200, reply.json
    assert reply.json["version"] == 2


# -- GET /deductions ------------------------------------------------------------------------------

def sweep(app) -> None:
    from workflows import sweeper

    with app.app_context():
        sweeper.sweep()


@pytest.fixture
def misses(app, client, estate, clock) -> dict[str, int]:
    """Two on-site misses: one in the East (butler), one in the West (other_butler)."""
    east = open_ticket(client, token_for(client, "resident"), title="East tap")
    west = open_ticket(client, token_for(client, "west_resident"), title="West tap")
    clock.shift(timedelta(minutes=25))
    sweep(app)
    return {"east": east["id"], "west": west["id"]}


def test_deduction_has_its_shape(client, estate, misses):
    reply = client.get(f"{API}/deductions?butler_id={estate.butler}",
                       headers=token_for(client, "supervisor"))
    assert reply.status_code == 200
    [d] = reply.json["deductions"]
    assert {"id", "butler", "ticket", "deadline", "points", "article", "missed_at"} <= d.keys()
    assert d["butler"]["id"] == estate.butler
    assert d["ticket"]["id"] == misses["east"]
    assert (d["deadline"], d["points"], d["article"]) == ("on_site", -2, 4)
    assert d["missed_at"] == iso(T0 + timedelta(minutes=20))
    assert reply.json["total_points"] == -2


def test_supervisor_sees_every_butlers_deductions(client, estate, misses):
    supervisor = token_for(client, "supervisor")
    every = client.get(f"{API}/deductions", headers=supervisor).json["deductions"]
    assert sorted((d["butler"]["id"], d["ticket"]["id"]) for d in every) == sorted(
        [(estate.butler, misses["east"]), (estate.other_butler, misses["west"])])
    west = client.get(f"{API}/deductions?butler_id={estate.other_butler}", headers=supervisor)
    assert [d["ticket"]["id"] for d in west.json["deductions"]] == [misses["west"]]


def test_a_butler_sees_only_their_own_deductions(client, estate, misses):
    butler = token_for(client, "butler")
    for query in ("", f"?butler_id={estate.butler}"):
        reply = client.get(f"{API}/deductions{query}", headers=butler)
        assert [d["ticket"]["id"] for d in reply.json["deductions"]] == [misses["east"]]
    assert_error(client.get(f"{API}/deductions?butler_id={estate.other_butler}", headers=butler),
                 403, "forbidden")


@pytest.mark.parametrize("who", ["resident", "technician"])
def test_residents_and_technicians_see_no_deductions(client, misses, who):
    assert_error(client.get(f"{API}/deductions", headers=token_for(client, who)), 403, "forbidden")


def test_deductions_belong_to_the_local_month(app, client, clock):
    """The assessment month is Shanghai's: 2026-11-30 23:59 local is November, 00:01 is December."""
    resident = token_for(client, "resident")
    supervisor = token_for(client, "supervisor")
    clock.move_to(datetime(2026, 11, 30, 15, 39, tzinfo=UTC), tick=False)
    november = open_ticket(client, resident, title="late on the 30th")   # due 23:59 local
    clock.move_to(datetime(2026, 11, 30, 15, 41, tzinfo=UTC), tick=False)
    december = open_ticket(client, resident, title="just after midnight")  # due 00:01 local
    clock.move_to(datetime(2026, 11, 30, 16, 30, tzinfo=UTC), tick=False)
    sweep(app)

    def month(value):
        reply = client.get(f"{API}/deductions?month={value}", headers=supervisor)
        assert reply.status_code == 200
        return [(d["ticket"]["id"], d["missed_at"]) for d in reply.json["deductions"]]

    assert month("2026-11") == [(november["id"], "2026-11-30T15:59:00+00:00")]
    assert month("2026-12") == [(december["id"], "2026-11-30T16:01:00+00:00")]
    assert month("2026-10") == []
    assert len(client.get(f"{API}/deductions", headers=supervisor).json["deductions"]) == 2


@pytest.mark.parametrize("value", ["2026-13", "2026-00", "2026-1", "26-11", "november",
                                   "2026-11-01", "2026/11", "-2026-11", "99999999999999-11"])
def test_bad_month_is_422(client, clock, value):
    reply = client.get(f"{API}/deductions?month={value}", headers=token_for(client, "supervisor"))
    assert_error(reply, 422, "invalid", "month")


@pytest.mark.parametrize("value", ["abc", "0", "-3", "99999999999999999999999"])
def test_bad_butler_id_is_422(client, clock, value):
    reply = client.get(f"{API}/deductions?butler_id={value}",
                       headers=token_for(client, "supervisor"))
    assert_error(reply, 422, "invalid", "butler_id")


# -- GET /workflows -------------------------------------------------------------------------------

def test_workflows_are_the_rules(client, clock):
    reply = client.get(f"{API}/workflows", headers=token_for(client, "resident"))
    assert reply.status_code == 200
    rules = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    kinds = {k: v for k, v in rules.items()
             if isinstance(v, dict) and k not in ("assessment", "notices")}
    assert set(reply.json) == set(kinds) == {"repair", "complaint", "renovation"}

    units = {"m": 60, "h": 3600, "d": 86400}
    for name, kind in kinds.items():
        got = reply.json[name]
        assert got["initial"] == kind["initial"]
        assert [s["name"] for s in got["states"]] == list(kind["states"])
        assert {s["name"] for s in got["states"] if s["final"]} == {
            s for s, v in kind["states"].items() if v.get("final")}
        triggers = {t["name"]: t for t in got["triggers"]}
        assert set(triggers) == set(kind["triggers"])
        for trigger, rule in kind["triggers"].items():
            assert triggers[trigger]["roles"] == sorted(rule["roles"]), (name, trigger)
            assert sorted(triggers[trigger]["from"]) == sorted(rule["from"])
            assert triggers[trigger]["requires"] == rule.get("requires", [])
        deadlines = {d["name"]: d for d in got["deadlines"]}
        assert set(deadlines) == set(kind.get("deadlines", {}))
        for deadline, rule in kind.get("deadlines", {}).items():
            d = deadlines[deadline]
            assert (d["points"], d["article"]) == (rule["points"], rule["article"])
            assert d["within_seconds"] == int(rule["within"][:-1]) * units[rule["within"][-1]]
            assert d["starts_in"] == sorted(rule["starts_in"])
            assert d["calendar"] == rule.get("calendar", "calendar")


def test_workflows_spell_out_the_issue_numbers(client, clock):
    flows = client.get(f"{API}/workflows", headers=token_for(client, "butler")).json

    def deadline(kind, name):
        d = next(d for d in flows[kind]["deadlines"] if d["name"] == name)
        return d["within_seconds"], d["points"], d["article"]

    assert deadline("repair", "on_site") == (20 * 60, -2, 4)
    assert deadline("repair", "completion") == (24 * 3600, -2, 4)
    assert deadline("repair", "follow_up") == (48 * 3600, -2, 2)
    assert deadline("complaint", "reply") == (48 * 3600, -5, 10)
    assert deadline("renovation", "inspection") == (24 * 3600, -2, 6)
    dispatch = next(t for t in flows["repair"]["triggers"] if t["name"] == "dispatch")
    assert dispatch["roles"] == ["butler", "supervisor"]
    assert dispatch["requires"] == ["technician_id"]


# -- browser sessions and CSRF --------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')


def log_in_through_the_page(client, username: str) -> str:
    """Log in with the /login form (CSRF on); returns a CSRF token of the session."""
    page = client.get("/login")
    token = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)
    reply = client.post("/login", data={"username": username, "password": "secret",
                                        "csrf_token": token})
    assert reply.status_code == 302, reply.get_data(as_text=True)[:500]
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    return CSRF_INPUT.search(home).group(1)


def test_session_post_without_csrf_header_is_refused(app, client, clock):
    assert app.config.get("WTF_CSRF_ENABLED", True)
    log_in_through_the_page(client, "resident")
    assert client.get(f"{API}/tickets").status_code == 200  # reading needs no token

    reply = client.post(f"{API}/tickets", json={"kind": "repair", "title": "Tap"})

    assert_error(reply, 400, "csrf")
    with app.app_context():
        assert db.session.query(Ticket).count() == 0


def test_session_post_with_csrf_header_is_accepted(app, client, clock):
    token = log_in_through_the_page(client, "resident")
    reply = client.post(f"{API}/tickets", json={"kind": "repair", "title": "Tap"},
                        headers={"X-CSRFToken": token})
    assert reply.status_code == 201, reply.json


def test_session_post_with_a_wrong_csrf_header_is_refused(app, client, clock):
    log_in_through_the_page(client, "resident")
    reply = client.post(f"{API}/tickets", json={"kind": "repair", "title": "Tap"},
                        headers={"X-CSRFToken": "forged"})
    assert_error(reply, 400, "csrf")


def test_a_bad_token_does_not_fall_back_to_the_session(client, clock):
    log_in_through_the_page(client, "resident")
    reply = client.get(f"{API}/tickets", headers={"Authorization": "Bearer forged"})
    assert_error(reply, 401, "unauthorized")


def test_a_token_speaks_for_its_own_user_not_the_sessions(client, estate, clock):
    log_in_through_the_page(client, "resident")
    reply = client.get(f"{API}/tickets", headers=token_for(client, "west_resident"))
    assert reply.status_code == 200
    open_ticket(client, token_for(client, "resident"), title="the resident's")
    assert client.get(f"{API}/tickets").json["total"] == 1        # the session: resident
    assert ids(client.get(f"{API}/tickets", headers=token_for(client, "west_resident"))) == set()


def test_bearer_token_needs_no_csrf(app, client, clock):
    headers = token_for(client, "resident")
    ticket = open_ticket(client, headers)
    reply = client.post(f"{API}/tickets/{ticket['id']}/fire", headers=headers,
                        json={"trigger": "cancel", "version": 1, "reason": "Fixed it myself"})
    assert reply.status_code == 200, reply.json
    assert reply.json["state"] == "cancelled"


# -- garbage in, 4xx out --------------------------------------------------------------------------

HUGE = "x" * 100_000
BIG_INT = 10**30

GARBAGE_TICKETS = [
    {"kind": {"repair": True}, "title": "Tap"},
    {"kind": ["repair"], "title": "Tap"},
    {"kind": 1, "title": "Tap"},
    {"kind": None, "title": "Tap"},
    {"kind": HUGE, "title": "Tap"},
    {"kind": "repair", "title": 42},
    {"kind": "repair", "title": {"text": "Tap"}},
    {"kind": "repair", "title": ["Tap"]},
    {"kind": "repair", "title": HUGE},
    {"kind": "repair", "title": "Tap", "description": HUGE},
    {"kind": "repair", "title": "Tap", "unit_id": "abc"},
    {"kind": "repair", "title": "Tap", "unit_id": 1.5},
    {"kind": "repair", "title": "Tap", "unit_id": True},
    {"kind": "repair", "title": "Tap", "unit_id": -1},
    {"kind": "repair", "title": "Tap", "unit_id": BIG_INT},
    {"kind": "repair", "title": "Tap", "unit_id": str(BIG_INT)},
    {"kind": "repair", "title": "Tap", "unit_id": "²"},
    {"kind": "repair", "title": "Tap", "unit_id": {"id": 1}},
    {"kind": "repair", "title": "Tap", "unit_id": [1]},
    {"kind": "repair", "title": "Tap", "reported_at": "yesterday"},
    {"kind": "repair", "title": "Tap", "reported_at": 1763254800},
    {"kind": "repair", "title": "Tap", "reported_at": {"at": "now"}},
    {"kind": "repair", "title": "Tap", "reported_at": HUGE},
    {"kind": "repair", "title": "Tap", "reported_at": "9999-12-31T23:59:59-23:00"},
    {"kind": "repair", "title": "Tap", "reported_at": "0001-01-01T00:00:00+05:00"},
]


@pytest.mark.parametrize("body", GARBAGE_TICKETS, ids=range(len(GARBAGE_TICKETS)))
@pytest.mark.parametrize("who", ["resident", "butler"])
def test_garbage_ticket_is_4xx_never_500(app, client, estate, clock, body, who):
    body = {**body}
    if who == "butler":
        body.setdefault("unit_id", estate.unit_a)
    reply = client.post(f"{API}/tickets", headers=token_for(client, who), json=body)
    assert_error(reply, reply.status_code)
    assert 400 <= reply.status_code < 500
    with app.app_context():
        assert db.session.query(Ticket).count() == 0


GARBAGE_FIRES = [
    {"trigger": ["dispatch"], "version": 1},
    {"trigger": {"name": "dispatch"}, "version": 1},
    {"trigger": 7, "version": 1},
    {"trigger": HUGE, "version": 1},
    {"trigger": "dispatch", "version": "²", "technician_id": 1},
    {"trigger": "dispatch", "version": 1.0, "technician_id": 1},
    {"trigger": "dispatch", "version": True, "technician_id": 1},
    {"trigger": "dispatch", "version": {"v": 1}, "technician_id": 1},
    {"trigger": "dispatch", "version": [1], "technician_id": 1},
    {"trigger": "dispatch", "version": BIG_INT, "technician_id": 1},
    {"trigger": "dispatch", "version": -1, "technician_id": 1},
    {"trigger": "dispatch", "version": 1, "technician_id": "zhang"},
    {"trigger": "dispatch", "version": 1, "technician_id": BIG_INT},
    {"trigger": "dispatch", "version": 1, "technician_id": str(BIG_INT)},
    {"trigger": "dispatch", "version": 1, "technician_id": "²"},
    {"trigger": "dispatch", "version": 1, "technician_id": {"id": 1}},
    {"trigger": "dispatch", "version": 1, "technician_id": [1]},
    {"trigger": "dispatch", "version": 1, "technician_id": 1.5},
    {"trigger": "dispatch", "version": 1, "technician_id": True},
    {"trigger": "dispatch", "version": 1, "technician_id": -5},
    {"trigger": "cancel", "version": 1, "note": HUGE},
    {"trigger": "cancel", "version": 1, "note": {"text": "x"}},
    {"trigger": "cancel", "version": 1, "reason": ["too", "slow"]},
    {"trigger": "cancel", "version": 1, "colour": "red"},
    {"trigger": "cancel", "version": 1, "promised_at": "2026-11-17T10:00:00+08:00"},
    {"trigger": "cancel", "version": 1, "rating": "²"},
]


@pytest.mark.parametrize("body", GARBAGE_FIRES, ids=range(len(GARBAGE_FIRES)))
def test_garbage_fire_is_4xx_never_500(app, client, estate, clock, body):
    ticket = open_ticket(client, token_for(client, "resident"))
    reply = client.post(f"{API}/tickets/{ticket['id']}/fire", headers=token_for(client, "butler"),
                        json=body)
    assert_error(reply, reply.status_code)
    assert 400 <= reply.status_code < 500
    assert ticket_row(app, ticket["id"]) == ("reported", 1, 1)


@pytest.mark.parametrize("data, content_type", [
    ("kind=repair&title=Tap", "application/x-www-form-urlencoded"),
    ("{broken", "application/json"),
    ("[1, 2, 3]", "application/json"),
    ("null", "application/json"),
    ("\xff\xfe", "application/json"),
])
@pytest.mark.parametrize("path", ["/tickets", "/tickets/1/fire"])
def test_a_body_that_is_not_a_json_object_is_422(client, clock, data, content_type, path):
    headers = token_for(client, "resident")
    open_ticket(client, headers)
    reply = client.post(API + path, headers=headers, data=data, content_type=content_type)
    assert_error(reply, 422, "invalid", "body")


def test_complaint_promise_with_garbage_time_is_422(client, clock):
    complaint = open_ticket(client, token_for(client, "resident"), kind="complaint")
    butler = token_for(client, "butler")
    assert fire(client, butler, complaint["id"], "accept").status_code == 200
    for promised in ("tomorrow", 12, "9999-12-31T23:59:59-23:00",
                     iso(T0 - timedelta(hours=1)), iso(T0 + timedelta(hours=49))):
        reply = fire(client, butler, complaint["id"], "progress_update", note="working on it",
                     promised_at=promised)
        assert_error(reply, 422, "invalid", "promised_at")


@pytest.mark.parametrize("method, path", [
    ("get", "/no-such-thing"),
    ("delete", "/tickets"),
    ("put", "/tickets/1"),
    ("get", "/tickets/1/fire"),
])
def test_unknown_api_routes_answer_json(client, clock, method, path):
    reply = getattr(client, method)(API + path, headers=token_for(client, "supervisor"))
    assert reply.status_code in (404, 405)
    assert_error(reply, reply.status_code)


def test_refusals_leave_no_deadline_or_event_behind(app, client, estate, repair):
    butler = token_for(client, "butler")
    fire(client, butler, repair["id"], "visit", version=1, rating=5)          # 409
    fire(client, butler, repair["id"], "dispatch", version=1)                  # 422
    fire(client, butler, repair["id"], "dispatch", version=0,
         technician_id=estate.technician)                                     # 409 stale
    with app.app_context():
        assert db.session.query(Deadline).filter_by(ticket_id=repair["id"]).count() == 2
        assert db.session.query(Event).filter_by(ticket_id=repair["id"]).count() == 1
        assert db.session.query(Deduction).count() == 0


def test_staff_see_the_points_and_residents_only_that_a_step_is_late(app, client, clock):
    created = client.post(f"{API}/tickets", headers=token_for(client, "resident"),
                          json={"kind": "repair", "title": "Tap"}).json
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        assert sweeper.sweep() == 1
    path = f"{API}/tickets/{created['id']}"
    staff = client.get(path, headers=token_for(client, "butler")).json
    resident = client.get(path, headers=token_for(client, "resident")).json
    assert (staff["deadlines"][0]["points"], staff["deadlines"][0]["article"]) == (-2, 4)
    [staff_miss] = [e for e in staff["events"] if e["trigger"] == "deadline_missed"]
    assert staff_miss["data"]["points"] == -2
    [miss] = [e for e in resident["events"] if e["trigger"] == "deadline_missed"]
    assert miss["data"] == {"deadline": "on_site"}
    assert resident["overdue"] is True
    assert all("points" not in d for d in resident["deadlines"])
