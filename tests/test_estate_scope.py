"""Two estates, each with its own supervisor: a supervisor sees and reaches only what is of the
estates they supervise (the assessment aside: workflows.assessment's), the company's admin all.

The routes come from `app.url_map`, so a new route fails `test_every_route_is_scoped` until it
is declared in ROUTES: reached by the id of another estate's thing (404 as if it did not exist,
403 for another estate itself), a list that must hold nothing of another estate, or exempt (and
why). Harbour (tests/conftest.py `harbour`) is the other estate; its words (`Harbour.marks`)
must not show in anything Garden's supervisor opens.
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from models import CredentialKind, DutyShift, Estate, Notice, Ticket, User, db
from tests.api import token_for
from tests.conftest import Desk
from tests.pages import csrf_token
from workflows import accounts, engine, sweeper
from workflows import clock as workflows_clock

ID, ESTATE, LIST = "id", "estate", "list"
EXEMPT_ASSESSMENT = "exempt: the assessment (workflows.assessment) scopes itself"
EXEMPT_PERSONAL = "exempt: one's own account, logins and notices, not an estate's"
EXEMPT_ADMIN = "exempt: the admin's alone (tests/test_authorization.py)"
EXEMPT_OPEN = "exempt: the same for everyone (no estate's data)"

# How each route is scoped: ID (another estate's thing: 404), ESTATE (another estate: 403),
# LIST (holds nothing of another estate; with `True`: Harbour's supervisor sees Harbour's in
# it), or an exemption saying why.
ROUTES: dict[tuple[str, str], object] = {
    ("home", "GET"): EXEMPT_OPEN,
    ("static", "GET"): EXEMPT_OPEN,
    ("health.healthz", "GET"): EXEMPT_OPEN,
    ("api_docs", "GET"): EXEMPT_OPEN,
    ("api.openapi_document", "GET"): EXEMPT_OPEN,
    ("tickets.kinds_css", "GET"): EXEMPT_OPEN,
    ("api.workflows", "GET"): EXEMPT_OPEN,
    ("supervisor.workflows", "GET"): EXEMPT_OPEN,  # the rules' diagrams
    ("activation.activate", "GET"): EXEMPT_OPEN,
    ("activation.activate", "POST"): EXEMPT_OPEN,
    ("api.activate", "POST"): EXEMPT_OPEN,
    ("resident.tickets", "GET"): EXEMPT_PERSONAL,
    **{(endpoint, method): EXEMPT_PERSONAL for endpoint, method in (
        ("auth.login", "GET"), ("auth.login", "POST"), ("auth.language", "POST"),
        ("auth.logout", "POST"), ("auth.account", "GET"), ("auth.change_password", "POST"),
        ("auth.end_login", "POST"), ("auth.end_other_logins", "POST"),
        ("auth.notice_settings", "POST"), ("notices.index", "GET"), ("notices.unread", "GET"),
        ("notices.read", "POST"), ("notices.read_all", "POST"), ("api.create_token", "POST"),
        ("api.list_tokens", "GET"), ("api.revoke_current_token", "DELETE"),
        ("api.revoke_token", "DELETE"), ("api.me", "GET"), ("api.change_me", "PATCH"),
        ("api.change_password", "POST"), ("api.list_notifications", "GET"),
        ("api.read_notification", "POST"), ("api.read_all_notifications", "POST"))},
    **{(endpoint, method): EXEMPT_ADMIN for endpoint, method in (
        ("admin.accounts", "GET"), ("admin.new_account", "GET"), ("admin.new_account", "POST"),
        ("admin.account", "GET"), ("admin.change_details", "POST"),
        ("admin.change_areas", "POST"), ("admin.reset_password", "POST"),
        ("admin.set_active", "POST"), ("admin.audit_log", "GET"), ("api.list_users", "GET"),
        ("api.create_user", "POST"), ("api.get_user", "GET"), ("api.change_user", "PATCH"),
        ("api.set_user_areas", "PUT"), ("api.audit_log", "GET"), ("admin.change_estates", "POST"),
        ("admin.create_estate", "POST"), ("admin.rename_estate", "POST"),
        ("admin.set_supervisors", "POST"), ("api.create_estate", "POST"),
        ("api.change_estate", "PATCH"), ("api.set_estate_supervisors", "PUT"),
        ("estate_rules.save", "POST"), ("api.set_estate_rules", "PUT"),
        ("assessment.company", "GET"), ("assessment.export_company", "GET"),
        ("assessment.export_company_lines", "GET"), ("api.company", "GET"))},
    **{(endpoint, method): EXEMPT_ASSESSMENT for endpoint, method in (
        ("assessment.month", "GET"), ("assessment.close", "POST"), ("assessment.reopen", "POST"),
        ("assessment.export", "GET"), ("assessment.export_lines", "GET"),
        ("assessment.new_finding", "GET"), ("assessment.new_finding", "POST"),
        ("assessment.spot_checks", "GET"), ("assessment.draw", "POST"),
        ("assessment.record_result", "POST"), ("assessment.me", "GET"),
        ("assessment.card", "GET"), ("assessment.review_line", "POST"),
        ("assessment.evidence", "GET"), ("api.assessment_rules", "GET"),
        ("api.list_deductions", "GET"), ("api.scorecards", "GET"), ("api.appeal", "POST"),
        ("api.waive", "POST"), ("api.uphold", "POST"), ("api.record_finding", "POST"),
        ("api.month_status", "GET"), ("api.close_month", "POST"),
        ("api.reopen_month", "POST"), ("api.get_spot_check", "GET"),
        ("api.draw_spot_check", "POST"), ("api.record_spot_check", "POST"))},
    # an upload kept for its preview is its uploader's: none of anyone else's is found
    ("estates.confirm", "POST"): "exempt: a preview is found only by whoever uploaded it",
    ("estates.template", "GET"): EXEMPT_OPEN,
    ("tickets.new", "POST"): "exempt: the unit picker of tickets.new GET (a LIST) is its input",
    ("cover.request_leave", "POST"): ("exempt: a butler of another estate is refused as a field "
                                      "(test_leave_for_another_estates_butler_is_refused)"),
    ("api.request_leave", "POST"): ("exempt: a butler of another estate is refused as a field "
                                    "(test_leave_for_another_estates_butler_is_refused)"),
    ("api.create_ticket", "POST"): ("exempt: a unit of another estate is refused as a field "
                                    "(test_a_supervisor_registers_calls_of_their_estates_only)"),
    ("estates.preview", "POST"): ("exempt: another estate, or a new one, is refused as a field "
                                  "(test_a_supervisor_imports_only_into_their_estates)"),
    # the lists
    ("supervisor.overdue", "GET"): (LIST, True),
    ("supervisor.waiting", "GET"): (LIST, True),
    ("supervisor.for_residents", "GET"): (LIST, True),
    ("supervisor.deliveries", "GET"): (LIST, True),
    ("supervisor.robots", "GET"): (LIST, True),
    ("butler.queue", "GET"): (LIST, True),
    ("butler.handover", "GET"): (LIST, True),
    ("tickets.new", "GET"): (LIST, True),
    ("cover.leave", "GET"): (LIST, True),
    ("cover.areas", "GET"): (LIST, True),
    ("duty.index", "GET"): (LIST, True),
    ("duty.handovers", "GET"): (LIST, True),
    ("calendars.index", "GET"): (LIST, True),
    ("estates.start", "GET"): (LIST, True),
    ("search.find", "GET"): (LIST, True),
    ("admin.invitation_codes", "GET"): (LIST, True),
    ("api.list_tickets", "GET"): (LIST, True),
    ("api.list_robots", "GET"): (LIST, True),
    ("api.list_areas", "GET"): (LIST, True),
    ("api.list_leaves", "GET"): (LIST, True),
    ("api.list_extensions", "GET"): (LIST, True),
    ("api.list_handovers", "GET"): (LIST, True),
    ("api.find", "GET"): (LIST, True),
    ("admin.estates", "GET"): (LIST, True),
    ("api.list_estates", "GET"): (LIST, True),
    # another estate's things by id
    ("supervisor.set_robot", "POST"): ID,
    ("supervisor.decide_extension", "POST"): ID,
    ("tickets.detail", "GET"): ID,
    ("tickets.attachment", "GET"): ID,
    ("tickets.fire", "POST"): ID,
    ("tickets.add_files", "POST"): ID,
    ("extensions.ask", "POST"): ID,
    ("extensions.cancel", "POST"): ID,
    ("cover.approve", "POST"): ID,
    ("cover.cancel", "POST"): ID,
    ("cover.hand_over", "POST"): ID,
    ("cover.set_butler", "POST"): ID,
    ("duty.handover", "GET"): ID,
    ("duty.sign", "POST"): ID,
    ("search.unit", "GET"): ID,
    ("admin.building_units", "GET"): ID,
    ("admin.print_building", "POST"): ID,
    ("admin.regenerate", "POST"): ID,
    ("api.get_ticket", "GET"): ID,
    ("api.fire", "POST"): ID,
    ("api.add_attachments", "POST"): ID,
    ("api.attachment", "GET"): ID,
    ("api.request_extension", "POST"): ID,
    ("api.approve_extension", "POST"): ID,
    ("api.refuse_extension", "POST"): ID,
    ("api.cancel_extension", "POST"): ID,
    ("api.set_robot", "PUT"): ID,
    ("api.set_area_butler", "PUT"): ID,
    ("api.approve_leave", "POST"): ID,
    ("api.cancel_leave", "POST"): ID,
    ("api.hand_over", "POST"): ID,
    ("api.get_handover", "GET"): ID,
    ("api.sign_handover", "POST"): ID,
    ("api.get_unit", "GET"): ID,
    ("api.issue_invitation", "POST"): ID,
    # another estate's places and deadlines (workflows.places, workflows.overrides): not found
    **dict.fromkeys([
        ("admin.estate", "GET"), ("admin.create_area", "POST"), ("admin.rename_area", "POST"),
        ("admin.set_area_butler", "POST"), ("admin.create_building", "POST"),
        ("admin.building", "GET"), ("admin.change_building", "POST"),
        ("admin.create_unit", "POST"), ("admin.unit", "GET"), ("admin.unit", "POST"),
        ("api.get_estate", "GET"), ("api.create_area", "POST"), ("api.change_area", "PATCH"),
        ("api.create_building", "POST"), ("api.change_building", "PATCH"),
        ("api.create_unit", "POST"), ("api.change_unit", "PATCH"),
        ("estate_rules.rules", "GET"), ("api.estate_rules", "GET")], ID),
    # another estate itself
    ("duty.rota", "GET"): ESTATE,
    ("duty.save_rota", "POST"): ESTATE,
    ("duty.repeat", "POST"): ESTATE,
    ("calendars.calendar", "GET"): ESTATE,
    ("calendars.save", "POST"): ESTATE,
    ("estates.export", "GET"): ESTATE,
    ("api.rota", "GET"): ESTATE,
    ("api.set_rota", "PUT"): ESTATE,
    ("api.on_duty", "GET"): ESTATE,
    ("api.estate_calendar", "GET"): ESTATE,
    ("api.set_estate_calendar", "PUT"): ESTATE,
    ("api.import_estate", "POST"): ESTATE,
    ("api.export_estate", "GET"): ESTATE,
}
# What the lists are asked for (a search needs words, an export a format).
QUERY = {"search.find": {"q": "901"}, "api.find": {"q": "901"}}  # Harbour's unit and phone


def _routes(app):
    return sorted(((rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}),
                  key=lambda route: (route[2].rule, route[1]))


def _values(harbour, estate_id: int) -> dict:
    """The URL's values pointing at Harbour's things (and at `estate_id` for an estate)."""
    return {"ticket_id": harbour.tickets["overdue"], "attachment_id": 1,
            "extension_id": harbour.extension, "deadline": "completion", "decision": "approve",
            "trigger": "reassign", "leave_id": harbour.leave, "area_id": harbour.area,
            "unit_id": harbour.unit, "building_id": harbour.building,
            "handover_id": harbour.handover, "estate_id": estate_id, "fmt": "xlsx",
            "filename": "style.css"}


def _clients(app, username: str):
    """(a page client, the API's headers) logged in as `username`."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == username))
        secret, _credential = accounts.sign_in(user, CredentialKind.BROWSER)
        user_id = user.id
    with client.session_transaction() as session:
        session.update({"login": secret, "_user_id": str(user_id), "_fresh": True})
    return client, token_for(app.test_client(), username)


def _open(app, client, headers, method: str, url: str, api: bool):
    kwargs: dict = {}
    if api:
        kwargs["headers"] = headers
        if method != "GET":
            kwargs["json"] = {}
    elif method != "GET":
        kwargs["data"] = {"csrf_token": csrf_token(client.get("/login").text)}
    return client.open(url, method=method, follow_redirects=method == "GET" and not api,
                       **kwargs)


def _text(reply) -> str:
    """What a reply shows: a page, JSON, or the cells of an xlsx or csv export."""
    if reply.mimetype.endswith("spreadsheetml.sheet"):
        book = load_workbook(io.BytesIO(reply.data), read_only=True)
        return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    if reply.mimetype == "text/csv":
        return "\n".join(",".join(row) for row in csv.reader(io.StringIO(reply.text)))
    return reply.get_data(as_text=True)


def _shown(text: str, marks) -> list[str]:
    return [mark for mark in marks if mark in text]


def test_every_route_is_scoped(app):
    routes = {(endpoint, method) for endpoint, method, _rule in _routes(app)}
    assert sorted(routes - set(ROUTES)) == [], "say how these routes are scoped in ROUTES"
    assert sorted(set(ROUTES) - routes) == []


def test_garden_supervisor_reaches_nothing_of_harbour(app, estate, harbour):
    client, headers = _clients(app, "supervisor")
    with app.app_context():
        garden = db.session.scalar(db.select(Estate.id).where(Estate.name == "Garden"))
    wrong = []
    for endpoint, method, rule in _routes(app):
        scope = ROUTES.get((endpoint, method))
        api = rule.rule.startswith("/api/")
        if scope in (ID, ESTATE):
            values = _values(harbour, harbour.estate)
            expected = 403 if scope == ESTATE else 404
        elif isinstance(scope, tuple):
            values, expected = _values(harbour, garden), 200
        else:
            continue
        with app.test_request_context():
            url = app.url_for(endpoint, **{k: values[k] for k in rule.arguments},
                              **QUERY.get(endpoint, {}))
        reply = _open(app, client, headers, method, url, api)
        if reply.status_code != expected:
            wrong.append(f"{method} {url}: {reply.status_code}, expected {expected}")
        elif expected == 200 and (shown := _shown(_text(reply), harbour.marks)):
            wrong.append(f"{method} {url} shows Harbour's {shown}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("username, sees_garden", [("harbour_supervisor", False),
                                                   ("admin", True)])
def test_harbours_supervisor_sees_harbour_and_the_admin_both(app, estate, harbour, username,
                                                             sees_garden):
    client, headers = _clients(app, username)
    wrong = []
    for endpoint, method, rule in _routes(app):
        scope = ROUTES.get((endpoint, method))
        if not (isinstance(scope, tuple) and scope[1]):
            continue
        api = rule.rule.startswith("/api/")
        with app.test_request_context():
            url = app.url_for(endpoint, **{k: harbour.estate for k in rule.arguments},
                              **QUERY.get(endpoint, {}))
        reply = _open(app, client, headers, method, url, api)
        text = _text(reply)
        if reply.status_code != 200 or not _shown(text, harbour.marks):
            wrong.append(f"{method} {url}: {reply.status_code}, nothing of Harbour's")
    assert wrong == [], "\n".join(wrong)
    if sees_garden:
        areas = client.get("/cover/areas").text
        assert "East" in areas and "Quay" in areas
    else:
        assert "East" not in client.get("/cover/areas").text


def test_gardens_own_pages_offer_nothing_of_harbours(app, estate, harbour):
    """Garden's ticket, unit, rota, calendar and exports: no picker or row of Harbour's."""
    with app.app_context():
        ticket = Desk(estate).open("resident").id
        garden = db.session.scalar(db.select(Estate.id).where(Estate.name == "Garden"))
    client, headers = _clients(app, "supervisor")
    for url, given in ((f"/tickets/{ticket}", {}), (f"/units/{estate.unit_a}", {}),
                       (f"/duty/{garden}/rota", {}), (f"/estates/{garden}/calendar", {}),
                       (f"/estates/{garden}/export.xlsx", {}),
                       (f"/estates/{garden}/export.csv", {}),
                       (f"/api/v1/tickets/{ticket}", headers),
                       (f"/api/v1/estates/{garden}/rota", headers),
                       (f"/api/v1/estates/{garden}/export?format=xlsx", headers),
                       (f"/api/v1/estates/{garden}/export?format=csv", headers)):
        reply = client.get(url, headers=given)
        assert reply.status_code == 200, url
        assert not _shown(_text(reply), harbour.marks), url


def test_harbours_things_by_id_are_harbours_supervisors(app, estate, harbour):
    """What Garden's supervisor is told does not exist opens for Harbour's (and the admin)."""
    for username in ("harbour_supervisor", "admin"):
        client, headers = _clients(app, username)
        for url in (f"/tickets/{harbour.tickets['overdue']}", f"/units/{harbour.unit}",
                    f"/duty/handovers/{harbour.handover}", f"/duty/{harbour.estate}/rota",
                    f"/estates/{harbour.estate}/calendar",
                    f"/estates/{harbour.estate}/export.csv",
                    f"/admin/invitations/buildings/{harbour.building}"):
            assert client.get(url).status_code == 200, (username, url)
        for url in (f"/api/v1/units/{harbour.unit}", f"/api/v1/handovers/{harbour.handover}",
                    f"/api/v1/estates/{harbour.estate}/rota",
                    f"/api/v1/estates/{harbour.estate}/calendar"):
            assert client.get(url, headers=headers).status_code == 200, (username, url)


def test_a_supervisor_decides_only_their_estates_leave_and_more_time(app, estate, harbour):
    client, headers = _clients(app, "supervisor")
    refused = client.post(f"/api/v1/leaves/{harbour.leave}/approve", headers=headers,
                          json={"substitute_id": estate.relief_butler})
    assert refused.status_code == 404
    assert client.post(f"/api/v1/extensions/{harbour.extension}/refuse", headers=headers,
                       json={"reason": "No"}).status_code == 404
    theirs, their_headers = _clients(app, "harbour_supervisor")
    approved = theirs.post(f"/api/v1/leaves/{harbour.leave}/approve", headers=their_headers,
                           json={"substitute_id": estate.relief_butler})
    assert approved.status_code == 200, approved.json
    # Garden's butler is no substitute Harbour's supervisor may name
    asked = theirs.post("/api/v1/leaves", headers=their_headers, json={
        "butler_id": harbour.butler, "starts_at": "2026-11-20T09:00",
        "ends_at": "2026-11-20T18:00", "substitute_id": estate.butler, "reason": "Course"})
    assert asked.status_code == 422
    assert asked.json["error"]["fields"] == {"substitute_id": "is not a butler of your estates"}


def test_leave_for_another_estates_butler_is_refused(app, estate, harbour):
    client, headers = _clients(app, "supervisor")
    reply = client.post("/api/v1/leaves", headers=headers, json={
        "butler_id": harbour.butler, "starts_at": "2026-11-20T09:00",
        "ends_at": "2026-11-20T18:00", "reason": "Course"})
    assert reply.status_code == 422
    assert reply.json["error"]["fields"] == {"butler_id": "is not a butler of your estates"}
    page = client.get("/cover/leave").text
    assert "Harbour_Butler" not in page and "Relief_Butler" in page  # relief butlers cover anywhere


def test_a_supervisor_registers_calls_of_their_estates_only(app, estate, harbour):
    _client, headers = _clients(app, "supervisor")
    reply = _client.post("/api/v1/tickets", headers=headers, json={
        "kind": "repair", "title": "Seawall crack", "unit_id": harbour.unit})
    assert reply.status_code == 422
    assert reply.json["error"]["fields"] == {"unit_id": "is not a unit of your estates"}
    reply = _client.post("/api/v1/tickets", headers=headers, json={
        "kind": "repair", "title": "Tap leaking", "unit_id": estate.unit_a})
    assert reply.status_code == 201


def test_a_supervisor_imports_only_into_their_estates(app, estate, harbour):
    from tests.helpers import csv_of

    client, headers = _clients(app, "supervisor")
    sheet = csv_of([["9栋", "902", "Ms Hu", "137 0000 0902"]])
    token = csrf_token(client.get("/estates/import").text)
    for chosen, field in (({"estate_id": str(harbour.estate)}, "Harbour"),
                          ({"new_estate": "Hill"}, "Hill")):
        reply = client.post("/estates/import", data={
            "csrf_token": token, **chosen, "sheet": (io.BytesIO(sheet), "owners.csv")})
        assert reply.status_code == 403 and field in reply.text
    reply = client.post(f"/api/v1/estates/{harbour.estate}/import", headers=headers,
                        data={"file": (io.BytesIO(sheet), "owners.csv"), "dry_run": "true"})
    assert reply.status_code == 403 and "Harbour" in reply.json["error"]["message"]
    admin, admin_headers = _clients(app, "admin")
    token = csrf_token(admin.get("/estates/import").text)
    reply = admin.post("/estates/import", data={
        "csrf_token": token, "new_estate": "Hill", "sheet": (io.BytesIO(sheet), "owners.csv")})
    assert reply.status_code == 200


def test_a_supervisor_given_no_estate_sees_empty_lists_and_is_told(app, estate, harbour):
    with app.app_context():
        newcomer = User(username="newcomer", name="Newcomer", role="supervisor",
                        password_hash=estate.user("butler").password_hash)
        db.session.add(newcomer)
        db.session.commit()
    client, headers = _clients(app, "newcomer")
    for url in ("/supervisor/overdue", "/supervisor/waiting", "/cover/leave", "/queue/"):
        page = client.get(url).text
        assert "No estate has been given you yet" in page, url
        assert not _shown(page, (*harbour.marks, "East", "Tap leaking")), url
    assert client.get("/api/v1/tickets", headers=headers).json["tickets"] == []
    assert client.get("/api/v1/leaves", headers=headers).json["leaves"] == []
    assert "No estate has been given" not in _clients(app, "supervisor")[0].get(
        "/supervisor/overdue").text


def test_supervisors_are_told_only_of_their_estates_tickets(app, estate, harbour, clock):
    """Notices to 'supervisor' and 'manager' (an escalated complaint, a miss, a miss still
    undone hours later) go to the supervisors of the ticket's estate only."""
    supervisors = {estate.supervisor: "Garden", harbour.supervisor: "Harbour"}
    with app.app_context():
        for supervisor in supervisors:
            db.session.get(User, supervisor).is_manager = True
        db.session.commit()
        desk = Desk(estate)
        garden = desk.open("resident", "complaint", "Lift out of order").id
        desk.fire(garden, "accept", "butler")
        desk.fire(garden, "escalate", "butler", note="Needs the developer")
        sea = engine.open_ticket(harbour.user("resident"), "complaint", "Seawall lift")
        butler = harbour.user("butler")
        sea = engine.fire(sea.id, "accept", butler, sea.version)
        engine.fire(sea.id, "escalate", butler, sea.version, note="Needs the developer")
        clock.shift(timedelta(days=3))
        sweeper.sweep()  # the misses: told at once, and again when still undone
        told: dict[str, set[str]] = {"Garden": set(), "Harbour": set()}
        for user_id, unit_id in db.session.execute(
                db.select(Notice.user_id, Ticket.unit_id).join(Ticket)
                .where(Notice.user_id.in_(supervisors), Notice.channel == "inapp")):
            told["Harbour" if unit_id == harbour.unit else "Garden"].add(supervisors[user_id])
    assert told == {"Garden": {"Garden"}, "Harbour": {"Harbour"}}


def test_a_butler_reads_only_the_duty_of_their_estates(app, estate, harbour, clock):
    """The queue's line of who is on duty names only the estates of the butler's areas."""
    with app.app_context():
        now = workflows_clock.now()
        db.session.add(DutyShift(estate_id=harbour.estate, starts_at=now,
                                 ends_at=now + timedelta(hours=8),
                                 on_duty_id=estate.relief_butler, set_by_id=estate.admin,
                                 set_at=now))
        db.session.commit()
    for username, sees in (("butler", False), ("harbour_butler", True),
                           ("relief_butler", True)):
        client, _headers = _clients(app, username)
        assert ("Harbour" in client.get("/queue/").text) is sees, username
