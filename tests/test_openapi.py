"""The API's own description (GET /api/v1/openapi.json, views.openapi) held against the API.

- Every route under /api/v1/ is described; a route without @documented stops the building.
- schemathesis fuzzes every operation as each role (resident, butler, technician, supervisor,
  admin; the two public ones without a login), in-process over WSGI, on a database of the test's
  own holding an estate with history: valid and invalid requests, EXAMPLES of each. No answer may
  be a server error, and every answer must be one the description documents: its status, its
  content type, its body (exact: every required key, no other) and its headers.
- The happy path of every operation answers what the description says, to the key; so do the
  refusals any call may meet (too large, a session without its CSRF token, too many tries).
- /api/docs lists every operation, in English and in Chinese, with no script.

`pytest -rP tests/test_openapi.py` shows how many requests each fuzzing test sent and the
statuses that came back.
"""
from __future__ import annotations

import re
import secrets
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
import time_machine
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from models import (
    Area,
    Attachment,
    Building,
    Credential,
    CredentialKind,
    Deduction,
    Estate,
    Extension,
    Leave,
    Notice,
    ShiftHandover,
    SpotCheck,
    SpotCheckItem,
    Ticket,
    Unit,
    User,
    db,
)
from tests.conftest import T0, database_of, make_app
from tests.helpers import owner_rows, xlsx_of
from tests.pages import PNG, log_in
from views import openapi, uploads
from workflows import assessment, cover, duty, engine, extensions, sweeper
from workflows.attachments import UploadedFile
from workflows.rules import current as current_rules

API = "/api/v1"
DOCUMENT = f"{API}/openapi.json"
ROLES = ("resident", "butler", "technician", "supervisor", "admin")
EXAMPLES = 12  # of each generation mode, valid and invalid, per operation and role
FUZZING = settings(max_examples=EXAMPLES, deadline=None, database=None)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
# The estate's history: October finished and closed (a miss, a finding, a spot-check), and a
# November morning with open work (a miss appealed, a renovation, a photo).
IN_OCTOBER = T0 - timedelta(days=30)
SEEDED_AT = T0 + timedelta(minutes=25)


def operations() -> list[tuple[str, str, bool]]:
    """(method, path, public) of every operation the description holds."""
    app = make_app("sqlite://")
    with app.test_request_context():
        document = openapi.spec()
    return [(method.upper(), path, not described["security"])
            for path, methods in document["paths"].items()
            for method, described in methods.items()]


OPERATIONS = operations()
FUZZED = [(method, path, None if public else role) for method, path, public in OPERATIONS
          for role in ((None,) if public else ROLES)]


def fresh_token(app: Flask, username: str) -> dict[str, str]:
    """A new login for `username`, straight into the database (a request may revoke the last)."""
    token = secrets.token_urlsafe(32)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        db.session.add(Credential(user_id=user_id, kind=CredentialKind.API,
                                  token_hash=Credential.hash(token), created_at=SEEDED_AT,
                                  expires_at=SEEDED_AT + timedelta(days=30)))
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def person(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def fire(ticket_id: int, trigger: str, who: str, **data) -> None:
    ticket = db.session.get(Ticket, ticket_id)
    engine.fire(ticket_id, trigger, person(who), ticket.version, **data)


def closed(ticket_id: int, kind: str, estate) -> None:
    steps = {"repair": [("dispatch", "butler", {"technician_id": estate.technician}),
                        ("arrive", "technician", {}), ("complete", "technician", {}),
                        ("visit", "butler", {"rating": 5}), ("close", "butler", {})],
             "complaint": [("accept", "butler", {}), ("reply", "butler", {"note": "Fixed"}),
                           ("confirm", "neighbour", {}), ("visit", "butler", {"rating": 4}),
                           ("close", "butler", {})]}[kind]
    for trigger, who, data in steps:
        fire(ticket_id, trigger, who, **data)


RENOVATION = {"works_start": "2026-11-20", "works_end": "2026-12-20",
              "contractor_name": "Good Builders", "contractor_phone": "138 0013 8000",
              "foreman_name": "Wang", "foreman_phone": "139 0013 9000", "workers": 4}


@pytest.fixture(scope="module")
def uploads_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def history(databases, template_db, uploads_folder):
    """A copy of the estate with a history (see IN_OCTOBER), made once: the test databases are
    copies of it."""
    url, estate = databases.copy_of(template_db[0]), template_db[1]
    app = make_app(url, UPLOAD_FOLDER=str(uploads_folder))
    with time_machine.travel(IN_OCTOBER, tick=False) as traveller, database_of(app):
        late = engine.open_ticket(person("resident"), "repair", "Tap leaking").id
        traveller.shift(timedelta(minutes=25))
        sweeper.sweep()
        closed(late, "repair", estate)
        closed(engine.open_ticket(person("neighbour"), "complaint", "Lift noise").id, "complaint",
               estate)
        assessment.record_finding(person("supervisor"), estate.butler, "5", "No patrol")

        traveller.move_to(T0)
        drawn = assessment.draw_spot_check(person("supervisor"), "2026-10")
        for item_id in [item.id for item in drawn.items]:
            assessment.record_spot_check_result(person("supervisor"), item_id, "satisfied")
        assessment.close_month(person("supervisor"), "2026-10", "October done")
        repair = engine.open_ticket(person("resident"), "repair", "Shower drain blocked").id
        fire(repair, "dispatch", "butler", technician_id=estate.technician)
        engine.open_ticket(person("resident"), "renovation", "New kitchen", details=RENOVATION)
        complaint = engine.open_ticket(person("neighbour"), "complaint", "Noisy pump").id
        fire(complaint, "accept", "butler")
        engine.attach(repair, person("resident"), [UploadedFile(
            uploads.store_bytes(PNG, "png"), "drain.png", "image/png", len(PNG))], "photo")
        # Duty: the relief butler on duty for a few minutes takes a call, handed over after.
        traveller.move_to(T0 + timedelta(minutes=1))
        on_duty = [(1, 5, estate.relief_butler), (5, 6, None)]
        duty.set_rota(person("supervisor"), db.session.scalar(select(Estate.id)),
                      T0 + timedelta(minutes=1), T0 + timedelta(minutes=6), [
                          {"starts_at": T0 + timedelta(minutes=a),
                           "ends_at": T0 + timedelta(minutes=b), "on_duty_id": who}
                          for a, b, who in on_duty])
        traveller.move_to(T0 + timedelta(minutes=2))
        engine.open_ticket(person("neighbour"), "complaint", "Stairwell light out")
        traveller.move_to(SEEDED_AT)
        engine.open_ticket(person("west_resident"), "repair", "Door lock broken")
        sweeper.sweep()
        missed = db.session.scalar(select(Deduction.id).where(Deduction.ticket_id == repair))
        assessment.appeal(person("butler"), missed, "The resident was out")
        # Leave: one asked for, one approved with its substitute (tickets left to hand over).
        cover.request_leave(person("butler"), None, SEEDED_AT + timedelta(days=3),
                            SEEDED_AT + timedelta(days=4), reason="Wedding")
        away = cover.request_leave(person("supervisor"), estate.other_butler, SEEDED_AT,
                                   SEEDED_AT + timedelta(hours=8), reason="Doctor")
        cover.approve_leave(person("supervisor"), away.id, estate.relief_butler)
        # More time asked for the drain's repair, waiting for the supervisor.
        extensions.request_extension(person("butler"), repair, "completion",
                                     T0 + timedelta(hours=48), "Waiting for a part")
    yield url
    databases.drop(url)


@pytest.fixture
def database_url(databases, history):
    """Each test's own copy of the estate with its history."""
    url = databases.copy_of(history)
    yield url
    databases.drop(url)


@pytest.fixture
def api(app, clock, uploads_folder) -> Flask:
    app.config["UPLOAD_FOLDER"] = str(uploads_folder)
    clock.move_to(SEEDED_AT)
    return app


def described(app: Flask):
    """The description, as the app serves it, loaded by schemathesis."""
    return schemathesis.openapi.from_wsgi(DOCUMENT, app)


# -- the description ------------------------------------------------------------------------------

def test_every_api_route_is_described(app):
    with app.test_request_context():
        document = openapi.spec()
    routes = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
              for rule in app.url_map.iter_rules() if rule.rule.startswith(f"{API}/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(method.upper(), path) for path, methods in document["paths"].items()
                 for method in methods}
    assert described == routes
    assert len(routes) == len(OPERATIONS) >= 27


def test_a_route_without_a_description_stops_the_building(app):
    def undocumented():
        return "", 204

    app.add_url_rule(f"{API}/forgotten/<int:thing_id>", "api.forgotten", undocumented)
    with app.test_request_context(), pytest.raises(openapi.UndocumentedRoute,
                                                   match="/forgotten/<int:thing_id>"):
        openapi.spec()


def test_the_description_is_openapi_3_1_and_needs_no_login(client):
    reply = client.get(DOCUMENT)
    assert reply.status_code == 200 and reply.is_json
    document = reply.json
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "`Authorization: Bearer <token>`, the token from POST /api/v1/tokens"}
    public = {(method, path) for path, methods in document["paths"].items()
              for method, op in methods.items() if not op["security"]}
    assert public == {("post", f"{API}/tokens"), ("post", f"{API}/activations"),
                      ("get", DOCUMENT)}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            assert op["summary"] and op["operationId"], (method, path)
            assert ("401" in op["responses"]) == (path not in (DOCUMENT, f"{API}/activations")), (
                method, path)
    limited = {(method, path) for path, methods in document["paths"].items()
               for method, op in methods.items() if "429" in op["responses"]}
    assert limited == {("post", f"{API}/tokens"), ("post", f"{API}/me/password"),
                       ("post", f"{API}/activations")}
    ticket_id = document["paths"][f"{API}/tickets/{{ticket_id}}"]["get"]["parameters"]
    assert ticket_id == [{"in": "path", "name": "ticket_id", "required": True,
                          "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}]
    download = document["paths"][f"{API}/tickets/{{ticket_id}}/attachments/{{attachment_id}}"]
    assert set(download["get"]["responses"]["200"]["content"]) == {
        "image/jpeg", "image/png", "image/webp", "application/pdf"}
    cards = document["paths"][f"{API}/scorecards"]["get"]["responses"]["200"]["content"]
    assert set(cards) == {"application/json", "text/csv",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    upload = document["paths"][f"{API}/tickets/{{ticket_id}}/attachments"]["post"]
    assert set(upload["requestBody"]["content"]) == {"multipart/form-data"}
    assert document["components"]["schemas"]["ApiError"]["required"] == ["error"]


def test_the_kinds_states_and_triggers_are_those_of_the_rules(app):
    with app.test_request_context():
        schemas = openapi.spec()["components"]["schemas"]
        rules = current_rules()
    assert schemas["TicketRequest"]["properties"]["kind"]["enum"] == list(rules.kinds)
    assert set(schemas["Fire"]["properties"]["trigger"]["enum"]) == {
        t for kind in rules.kinds.values() for t in kind.triggers}
    assert set(schemas["FindingRequest"]["properties"]["code"]["enum"]) == set(
        rules.assessment.findings)


# -- fuzzing --------------------------------------------------------------------------------------

def db_estate_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(Estate.id).order_by(Estate.id))


def known_ids(app: Flask) -> dict[str, list]:
    """What a path parameter may name in the history, by name, so that valid requests also meet
    records that exist (random ids mostly meet none)."""
    with app.app_context():
        def ids(model):
            return list(db.session.scalars(select(model.id).order_by(model.id)))
        return {"ticket_id": ids(Ticket), "attachment_id": ids(Attachment),
                "credential_id": ids(Credential), "entry_id": ids(Deduction),
                "item_id": ids(SpotCheckItem), "notice_id": ids(Notice),
                "area_id": ids(Area), "leave_id": ids(Leave), "unit_id": ids(Unit),
                "building_id": ids(Building),
                "extension_id": ids(Extension),
                "estate_id": ids(Estate), "handover_id": ids(ShiftHandover),
                "user_id": ids(User),
                "month": ["2026-10", "2026-11", "2026-12"]}


@pytest.mark.parametrize(("method", "path", "role"), FUZZED,
                         ids=[f"{m} {p} {r or 'public'}" for m, p, r in FUZZED])
def test_every_answer_to_anything_sent_is_documented(api, method, path, role):
    operation = described(api)[path][method]
    statuses: Counter = Counter()
    if role:
        fresh_token(api, role)  # a login of the caller's own among the known ones
    cases = operation.as_strategy(GenerationMode.POSITIVE)
    names = re.findall(r"{(\w+)}", path)
    if names:  # as often, with path parameters that name records of the history
        known = known_ids(api)
        existing = st.fixed_dictionaries({name: st.sampled_from(known[name]) for name in names})
        cases = st.one_of(cases, existing.flatmap(
            lambda ids: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=ids)))

    @FUZZING
    @given(case=cases)
    def valid(case):
        send(case)

    @FUZZING
    @given(case=operation.as_strategy(GenerationMode.NEGATIVE))
    def invalid(case):
        send(case)

    def send(case):
        headers = fresh_token(api, role) if role else {}
        response = case.call(app=api, headers=headers)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    valid()
    if role or len(operation.path_parameters) or len(operation.query) or len(operation.body):
        invalid()  # what has no input has no invalid one either (GET /openapi.json)
    print(f"{method} {path} as {role or 'nobody'}: {sum(statuses.values())} requests, "
          f"answers {dict(sorted(statuses.items()))}")


# -- the happy paths ------------------------------------------------------------------------------

class Client:
    """Calls operations of the description as people and checks every answer against it."""

    def __init__(self, app: Flask):
        self.app, self.schema = app, described(app)
        self.answered: set[tuple[str, str]] = set()

    def __call__(self, who: str | None, method: str, path: str, status: int, *,
                 headers: dict | None = None, cookies: dict | None = None, **parts):
        case = self.schema[path][method].Case(**parts)
        headers = headers if headers is not None else fresh_token(self.app, who) if who else {}
        response = case.call(app=self.app, headers=headers, cookies=cookies)
        assert response.status_code == status, (method, path, response.text[:500])
        case.validate_response(response, checks=CHECKS, headers=headers)
        if status < 300:
            self.answered.add((method, path))
        return response


def test_every_operation_answers_its_documented_success(api, estate, clock):
    call = Client(api)
    logged_in = call(None, "POST", f"{API}/tokens", 201,
                     body={"username": "resident", "password": "secret"}).json()
    resident = {"Authorization": f"Bearer {logged_in['token']}"}
    call(None, "GET", DOCUMENT, 200)
    call("resident", "GET", f"{API}/me", 200)
    call("resident", "GET", f"{API}/tokens", 200, headers=resident)

    repair = call("resident", "POST", f"{API}/tickets", 201,
                  body={"kind": "repair", "title": "Kitchen tap"}).json()
    complaint = call("butler", "POST", f"{API}/tickets", 201,
                     body={"kind": "complaint", "title": "Lift noise", "unit_id": estate.unit_b,
                           "reported_at": (SEEDED_AT - timedelta(minutes=5)).isoformat()}).json()
    renovation = {"ticket_id": call("resident", "POST", f"{API}/tickets", 201, body={
        "kind": "renovation", "title": "Bathroom", "details": RENOVATION}).json()["id"]}
    waiting = {"ticket_id": call("neighbour", "POST", f"{API}/tickets", 201, body={
        "kind": "complaint", "title": "Water pressure"}).json()["id"]}
    path = {"ticket_id": repair["id"]}
    added = call("resident", "POST", f"{API}/tickets/{{ticket_id}}/attachments", 201,
                 path_parameters=path, body={"file": [PNG], "kind": "photo"},
                 media_type="multipart/form-data").json()["attachments"]
    call("butler", "GET", f"{API}/tickets/{{ticket_id}}/attachments/{{attachment_id}}", 200,
         path_parameters={**path, "attachment_id": added[0]["id"]})
    call("butler", "POST", f"{API}/tickets/{{ticket_id}}/fire", 200, path_parameters=path,
         body={"trigger": "dispatch", "version": repair["version"],
               "technician_id": estate.technician})
    call("butler", "POST", f"{API}/tickets/{{ticket_id}}/fire", 200, path_parameters=renovation,
         body={"trigger": "reject", "version": 1, "reason": "No foreman's phone"})
    call("resident", "POST", f"{API}/tickets/{{ticket_id}}/fire", 200, path_parameters=renovation,
         body={"trigger": "resubmit", "version": 2, "details": {"workers": 6}})
    call("butler", "POST", f"{API}/tickets/{{ticket_id}}/fire", 200, path_parameters=waiting,
         body={"trigger": "accept", "version": 1})
    paused = call("butler", "POST", f"{API}/tickets/{{ticket_id}}/fire", 200,
                  path_parameters=waiting, body={"trigger": "wait_resident", "version": 2,
                                                 "note": "When is the pressure low?"}).json()
    assert [(d["status"], d["due_at"]) for d in paused["deadlines"]] == [("paused", None)]
    call("neighbour", "GET", f"{API}/tickets/{{ticket_id}}", 200, path_parameters=waiting)
    for who in ROLES:
        call(who, "GET", f"{API}/tickets", 200, query={"per_page": 100})
        call(who, "GET", f"{API}/tickets", 200, query={"kind": "repair", "assignee": "me"})
    for who in ("resident", "butler", "technician", "supervisor"):
        call(who, "GET", f"{API}/tickets/{{ticket_id}}", 200, path_parameters=path)
    call("supervisor", "GET", f"{API}/search", 200, query={"q": "Kitchen"})
    call("butler", "GET", f"{API}/units/{{unit_id}}", 200,
         path_parameters={"unit_id": estate.unit_a})

    clock.shift(timedelta(minutes=30))  # the repair's technician is late
    with api.app_context():
        assert sweeper.sweep() >= 1
        missed = db.session.scalar(select(Deduction.id).where(Deduction.ticket_id == repair["id"]))
        closed(complaint["id"], "complaint", estate)  # for November's spot-check
    missed_step = call("resident", "GET", f"{API}/tickets/{{ticket_id}}", 200,
                       path_parameters=path).json()  # the miss told without its points
    assert [e["data"] for e in missed_step["events"] if e["trigger"] == "deadline_missed"] == [
        {"deadline": "on_site"}]
    call("supervisor", "GET", f"{API}/deductions", 200)
    call("butler", "GET", f"{API}/deductions", 200, query={"month": "2026-11"})
    line = {"entry_id": missed}
    call("butler", "POST", f"{API}/deductions/{{entry_id}}/appeal", 201, path_parameters=line,
         body={"reason": "The technician was stuck in the lift"})
    call("supervisor", "POST", f"{API}/deductions/{{entry_id}}/waive", 201, path_parameters=line,
         body={"reason": "Seen on the lift's log"})
    finding = call("supervisor", "POST", f"{API}/findings", 201,
                   body={"butler_id": estate.butler, "code": "7", "note": "Enquiry unanswered",
                         "ticket_id": repair["id"]}).json()
    call("butler", "POST", f"{API}/deductions/{{entry_id}}/appeal", 201,
         path_parameters={"entry_id": finding["id"]}, body={"reason": "I called back at once"})
    call("supervisor", "POST", f"{API}/deductions/{{entry_id}}/uphold", 201,
         path_parameters={"entry_id": finding["id"]}, body={"reason": "Confirmed"})
    with api.app_context():  # November's appeal from the history: waived, so November may close
        pending = [line["id"] for line in assessment.pending("2026-11")["appeals"]]
    for entry_id in pending:
        call("supervisor", "POST", f"{API}/deductions/{{entry_id}}/waive", 201,
             path_parameters={"entry_id": entry_id}, body={"reason": "Resident confirmed"})
    # Leave and who covers an area: the history's leave of the West butler handed over, a new
    # one asked for, approved and cancelled, and the West area given to the relief butler.
    leaves = call("supervisor", "GET", f"{API}/leaves", 200).json()["leaves"]
    running = next(leave for leave in leaves if leave["status"] == "running")
    handed = call("supervisor", "POST", f"{API}/leaves/{{leave_id}}/hand-over", 200,
                  path_parameters={"leave_id": running["id"]}, body={}).json()
    assert handed["handed"] == running["left_with"] != []
    asked = call("butler", "POST", f"{API}/leaves", 201, body={
        "starts_at": (SEEDED_AT + timedelta(days=6)).isoformat(),
        "ends_at": (SEEDED_AT + timedelta(days=7)).isoformat(), "reason": "Moving house"}).json()
    call("supervisor", "POST", f"{API}/leaves/{{leave_id}}/approve", 200,
         path_parameters={"leave_id": asked["id"]}, body={"substitute_id": estate.relief_butler})
    call("butler", "POST", f"{API}/leaves/{{leave_id}}/cancel", 200,
         path_parameters={"leave_id": asked["id"]})
    call("butler", "GET", f"{API}/leaves", 200)
    west = next(area for area in call("butler", "GET", f"{API}/areas", 200).json()["areas"]
                if area["name"] == "West")
    call("supervisor", "PUT", f"{API}/areas/{{area_id}}/butler", 200,
         path_parameters={"area_id": west["id"]},
         body={"butler_id": estate.relief_butler, "note": "Covers the West from now"})
    # More time: the history's request approved; then one asked for and refused, and one
    # withdrawn by the butler who asked.
    [waited] = call("supervisor", "GET", f"{API}/extensions", 200,
                    query={"status": "pending"}).json()["extensions"]
    call("supervisor", "POST", f"{API}/extensions/{{extension_id}}/approve", 200,
         path_parameters={"extension_id": waited["id"]}, body={"note": "Part on order"})
    for who, decision, body in (("supervisor", "refuse", {"reason": "Fit the spare"}),
                                ("butler", "cancel", None)):
        asked = call("butler", "POST", f"{API}/tickets/{{ticket_id}}/extensions", 201,
                     path_parameters={"ticket_id": waited["ticket_id"]},
                     body={"deadline": "completion", "reason": "Still waiting",
                           "due_at": (T0 + timedelta(hours=50)).isoformat()}).json()
        call(who, "POST", f"{API}/extensions/{{extension_id}}/{decision}", 200,
             path_parameters={"extension_id": asked["id"]},
             **({"body": body} if body else {}))
    call("butler", "GET", f"{API}/extensions", 200, query={"ticket_id": waited["ticket_id"]})
    # Duty: the rota read and set, who is on duty, the history's hand-over signed by both.
    with api.app_context():
        place = {"estate_id": db.session.scalar(select(Estate.id))}
    call("butler", "GET", f"{API}/estates/{{estate_id}}/rota", 200, path_parameters=place)
    tomorrow = SEEDED_AT + timedelta(days=1)
    call("supervisor", "PUT", f"{API}/estates/{{estate_id}}/rota", 200, path_parameters=place,
         body={"starts_at": tomorrow.isoformat(),
               "ends_at": (tomorrow + timedelta(hours=24)).isoformat(),
               "shifts": [{"starts_at": tomorrow.isoformat(),
                           "ends_at": (tomorrow + timedelta(hours=24)).isoformat(),
                           "on_duty_id": estate.relief_butler}]})
    call("butler", "GET", f"{API}/estates/{{estate_id}}/on-duty", 200, path_parameters=place,
         query={"at": (tomorrow + timedelta(hours=1)).isoformat()})
    record = {"handover_id": call("supervisor", "GET", f"{API}/handovers", 200).json()[
        "handovers"][0]["id"]}
    call("butler", "GET", f"{API}/handovers/{{handover_id}}", 200, path_parameters=record)
    for who in ("relief_butler", "butler"):
        call(who, "POST", f"{API}/handovers/{{handover_id}}/sign", 200, path_parameters=record,
             body={"note": "Signed"})
    call("supervisor", "GET", f"{API}/workflows", 200)
    with api.app_context():
        garden = {"estate_id": db.session.scalar(select(Estate.id))}
    call("butler", "GET", f"{API}/estates/{{estate_id}}/calendar", 200, path_parameters=garden)
    call("supervisor", "PUT", f"{API}/estates/{{estate_id}}/calendar", 200,
         path_parameters=garden, body={
             "hours": {"mon": [{"opens": "08:30", "closes": "12:00"},
                               {"opens": "13:30", "closes": "17:30"}]},
             "public_holidays": True, "closed_days": [{"day": "2026-12-24", "note": "Training"}]})
    call("admin", "PUT", f"{API}/estates/{{estate_id}}/rules", 200, path_parameters=garden,
         body={"overrides": [{"kind": "repair", "deadline": "on_site", "within": "15m",
                              "points": -5}]})
    call("supervisor", "GET", f"{API}/estates/{{estate_id}}/rules", 200, path_parameters=garden)
    call("resident", "GET", f"{API}/assessment", 200)
    for query in ({}, {"format": "xlsx"}, {"format": "csv"}, {"month": "2026-10"}):
        call("supervisor", "GET", f"{API}/scorecards", 200, query=query)
    call("butler", "GET", f"{API}/scorecards", 200, query={"month": "2026-11"})

    clock.move_to(T0 + timedelta(days=16))  # December: November is over
    month = {"month": "2026-11"}
    call("supervisor", "GET", f"{API}/spot-checks", 200, query=month)
    drawn = call("supervisor", "POST", f"{API}/spot-checks", 201, body=month).json()
    for item in drawn["items"]:
        call("supervisor", "POST", f"{API}/spot-checks/items/{{item_id}}", 200,
             path_parameters={"item_id": item["id"]}, body={"result": "satisfied"})
    call("admin", "GET", f"{API}/spot-checks", 200, query=month)
    for query in (month, {**month, "format": "xlsx"}, {**month, "format": "csv"}):
        call("admin", "GET", f"{API}/assessment/company", 200, query=query)
    call("supervisor", "POST", f"{API}/months/{{month}}/close", 201, path_parameters=month,
         body={"reason": "November done"})
    call("supervisor", "GET", f"{API}/months/{{month}}", 200, path_parameters=month)
    call("butler", "GET", f"{API}/scorecards", 200, query=month)
    call("admin", "POST", f"{API}/months/{{month}}/reopen", 201, path_parameters=month,
         body={"reason": "A late appeal"})

    with api.app_context():
        assert db.session.scalar(select(func.count()).select_from(SpotCheck)) == 2
    told = call("butler", "GET", f"{API}/notifications", 200, query={"unread": "true"}).json()
    assert told["unread"] == told["total"] > 0
    call("butler", "POST", f"{API}/notifications/{{notice_id}}/read", 200,
         path_parameters={"notice_id": told["notifications"][0]["id"]})
    call("resident", "POST", f"{API}/notifications/{{notice_id}}/read", 404,
         path_parameters={"notice_id": told["notifications"][0]["id"]})
    call("butler", "POST", f"{API}/notifications/read", 200)
    call("butler", "PATCH", f"{API}/me", 200,
         body={"email_for": ["warning", "missed"], "quiet_from": "22:00", "quiet_until": "07:00"})
    call("supervisor", "PUT", f"{API}/areas/{{area_id}}/webhook", 200,
         path_parameters={"area_id": call("supervisor", "GET", f"{API}/webhooks", 200)
                          .json()["webhooks"][0]["area_id"]},
         body={"webhook_url": "https://1.1.1.1/robot", "webhook_format": "wecom"})
    garden = {"estate_id": db_estate_id(api)}
    sheet = xlsx_of(owner_rows(3))
    for dry_run in ("true", "false"):
        call("supervisor", "POST", f"{API}/estates/{{estate_id}}/import", 200,
             path_parameters=garden, body={"file": sheet, "dry_run": dry_run},
             media_type="multipart/form-data")
    call("admin", "GET", f"{API}/estates/{{estate_id}}/export", 200, path_parameters=garden,
         query={"format": "csv"})
    # Accounts: a staff account made, changed, given an area; a code issued, a tenant getting
    # in with it; the audit log of it all.
    made = call("admin", "POST", f"{API}/users", 201, body={
        "username": "butler9", "name": "Zhou", "role": "butler"}).json()["user"]
    call("admin", "GET", f"{API}/users", 200, query={"role": "butler", "active": "true"})
    call("admin", "GET", f"{API}/users/{{user_id}}", 200, path_parameters={"user_id": made["id"]})
    call("admin", "PATCH", f"{API}/users/{{user_id}}", 200,
         path_parameters={"user_id": made["id"]}, body={"phone": "139 0000 9999",
                                                         "reset_password": True})
    east = next(area for area in call("butler", "GET", f"{API}/areas", 200).json()["areas"]
                if area["name"] == "East")
    call("admin", "PUT", f"{API}/users/{{user_id}}/areas", 200,
         path_parameters={"user_id": made["id"]}, body={"area_ids": [east["id"]]})
    code = call("supervisor", "POST", f"{API}/units/{{unit_id}}/invitation", 201,
                path_parameters={"unit_id": estate.unit_b}).json()["code"]
    call(None, "POST", f"{API}/activations", 201, body={
        "building": "1栋", "unit": "102", "phone": "13655556666", "invitation_code": code,
        "password": "a tenant's secret", "name": "Tenant Qian"})
    call("admin", "GET", f"{API}/audit", 200, query={"subject_type": "user"})
    call("admin", "PATCH", f"{API}/users/{{user_id}}", 200,
         path_parameters={"user_id": made["id"]}, body={"active": False})
    # Places: an estate made, renamed and given its supervisor; an area with a new butler, a
    # building moved to another area, a unit made and changed.
    place = {"estate_id": call("admin", "POST", f"{API}/estates", 201,
                               body={"name": "Riverside"}).json()["id"]}
    call("supervisor", "GET", f"{API}/estates", 200)
    call("admin", "PATCH", f"{API}/estates/{{estate_id}}", 200, path_parameters=place,
         body={"name": "Riverside Park"})
    call("admin", "PUT", f"{API}/estates/{{estate_id}}/supervisors", 200, path_parameters=place,
         body={"supervisor_ids": [estate.supervisor]})
    call("supervisor", "GET", f"{API}/estates/{{estate_id}}", 200, path_parameters=place)
    north, south = (call("supervisor", "POST", f"{API}/estates/{{estate_id}}/areas", 201,
                         path_parameters=place, body={"name": name}).json()["id"]
                    for name in ("North", "South"))
    newcomer = call("admin", "POST", f"{API}/users", 201, body={
        "username": "butler8", "name": "Sun", "role": "butler"}).json()["user"]
    call("supervisor", "PATCH", f"{API}/areas/{{area_id}}", 200,
         path_parameters={"area_id": north},
         body={"name": "North side", "butler_id": newcomer["id"]})
    building = {"building_id": call("supervisor", "POST", f"{API}/areas/{{area_id}}/buildings",
                                    201, path_parameters={"area_id": north},
                                    body={"name": "8栋"}).json()["id"]}
    call("supervisor", "PATCH", f"{API}/buildings/{{building_id}}", 200,
         path_parameters=building, body={"area_id": south})
    unit = call("supervisor", "POST", f"{API}/buildings/{{building_id}}/units", 201,
                path_parameters=building, body={"number": "1201", "floor": 12, "size": 89.5})
    call("supervisor", "PATCH", f"{API}/units/{{unit_id}}", 200,
         path_parameters={"unit_id": unit.json()["id"]}, body={"note": "Let", "size": None})
    other = fresh_token(api, "resident")
    call("resident", "POST", f"{API}/me/password", 204, headers=resident,
         body={"current_password": "secret", "new_password": "a new secret"})
    mine = call("resident", "GET", f"{API}/tokens", 200, headers=resident).json()["tokens"]
    call("resident", "GET", f"{API}/me", 401, headers=other)  # ended by the password change
    call("resident", "DELETE", f"{API}/tokens/{{credential_id}}", 404, headers=resident,
         path_parameters={"credential_id": 2**31 - 1})
    second = fresh_token(api, "resident")
    listed = call("resident", "GET", f"{API}/tokens", 200, headers=second).json()["tokens"]
    [newest] = [t for t in listed if t["current"]]
    call("resident", "DELETE", f"{API}/tokens/{{credential_id}}", 204, headers=resident,
         path_parameters={"credential_id": newest["id"]})
    call("resident", "DELETE", f"{API}/tokens/current", 204, headers=resident)
    call("resident", "GET", f"{API}/tokens", 401, headers=resident)
    assert [t["current"] for t in mine] == [True]

    assert call.answered == {(method, path) for method, path, _public in OPERATIONS}


def test_the_refusals_any_call_may_meet_are_documented(api):
    call = Client(api)
    call("resident", "POST", f"{API}/tickets", 413,
         body={"kind": "repair", "title": "Tap", "description": "x" * api.config["MAX_JSON_BYTES"]})
    browser = api.test_client()
    assert log_in(browser, "resident").status_code == 302
    session = {"session": browser.get_cookie("session").value}
    call(None, "GET", f"{API}/me", 200, cookies=session)
    call(None, "POST", f"{API}/tickets", 400, cookies=session,  # without its X-CSRFToken
         body={"kind": "repair", "title": "Tap leaking"})

    for _ in range(10):
        call(None, "POST", f"{API}/tokens", 401, body={"username": "butler", "password": "no"})
    refused = call(None, "POST", f"{API}/tokens", 429,
                   body={"username": "butler", "password": "secret"})
    [wait] = refused.headers["retry-after"]
    assert int(wait) >= 1


# -- the page for people --------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "heading"), [("en", "API documentation"),
                                                    ("zh-CN", "API 文档")])
def test_the_docs_page_lists_every_operation(client, language, heading):
    page = client.get("/api/docs", headers={"Accept-Language": language})
    assert page.status_code == 200
    assert f"<h1>{heading}</h1>" in page.text
    assert "<script" not in page.text
    for method, path, _public in OPERATIONS:
        assert f"<code>{method} {path}</code>" in page.text
    assert 'id="schema-Ticket"' in page.text and 'href="#schema-Ticket"' in page.text
    assert page.text.count('<article class="card api-operation"') == len(OPERATIONS)
