"""Who may open what: every route of the app × every role × their own object and someone else's.

The routes come from `app.url_map`, so a new route fails this test until its row is added to
EXPECTED. Each answer is one of
    A  allowed: the route did its work or refused the (empty) input — anything but L, F, N or 5xx
    L  log in first: 401 from the API (and the pages' poll), a redirect to the login page (and
       back) from a page
    F  forbidden (403): one may see it but one's role may not do this
    N  not found (404): someone else's, and not even its existence is told
A row gives the answer per role, as two letters (one's own object, someone else's) or one when
the route has no object. POSTs send a valid CSRF token (pages) or an empty JSON object (the API),
so an allowed POST answers 4xx for the missing input, and nothing changes.
"""
from __future__ import annotations

import io
from datetime import timedelta

import pytest

from models import (
    Area,
    Building,
    Channel,
    CredentialKind,
    DutyShift,
    Estate,
    Notice,
    NoticeStatus,
    Role,
    ShiftHandover,
    SpotCheck,
    SpotCheckItem,
    Ticket,
    User,
    db,
)
from tests.conftest import T0, Desk
from tests.pages import PNG, csrf_token
from views import uploads
from workflows import accounts, assessment, cover, extensions, sweeper
from workflows.attachments import UploadedFile

ROLES = ("anonymous", "resident", "butler", "technician", "supervisor", "admin")
STAFF_ONLY = {"resident": "F", "butler": "A", "technician": "A", "supervisor": "A", "admin": "A"}
SUPERVISORS = {"resident": "F", "butler": "F", "technician": "F", "supervisor": "A", "admin": "A"}
ADMIN = {**SUPERVISORS, "supervisor": "F"}
EVERYONE = {role: "A" for role in ROLES}
LOGGED_IN = {"anonymous": "L", **{role: "A" for role in ROLES[1:]}}
# A ticket and what hangs on it: one's own (visible) or someone else's (hidden: 404).
TICKET = {"anonymous": "L", "resident": "AN", "butler": "AN", "technician": "AN",
          "supervisor": "AA", "admin": "AA"}
CREDENTIAL = {"anonymous": "L", **{role: "AN" for role in ROLES[1:]}}
NOTICE = CREDENTIAL  # one's own notice, or someone else's (404)
UNIT = {"resident": "FF", "butler": "AF", "technician": "FF", "supervisor": "AA", "admin": "AA"}
HANDOVER = {"resident": "F", "butler": "AN", "technician": "F", "supervisor": "AA",
            "admin": "AA"}


def logged_in(allowed: dict[str, str]) -> dict[str, str]:
    return {"anonymous": "L", **allowed}


EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    # the pages
    ("home", "GET"): EVERYONE,  # sends each to where their work is, a stranger to the login
    ("static", "GET"): EVERYONE,
    ("health.healthz", "GET"): EVERYONE,
    ("auth.login", "GET"): EVERYONE,
    ("auth.login", "POST"): EVERYONE,
    ("auth.language", "POST"): EVERYONE,
    ("auth.logout", "POST"): LOGGED_IN,
    ("auth.account", "GET"): LOGGED_IN,
    ("auth.change_password", "POST"): LOGGED_IN,
    ("auth.end_login", "POST"): CREDENTIAL,
    ("auth.end_other_logins", "POST"): LOGGED_IN,
    ("auth.notice_settings", "POST"): LOGGED_IN,
    ("notices.index", "GET"): LOGGED_IN,
    ("notices.unread", "GET"): LOGGED_IN,
    ("notices.read", "POST"): NOTICE,
    ("notices.read_all", "POST"): LOGGED_IN,
    ("resident.tickets", "GET"): logged_in({**SUPERVISORS, "resident": "A", "butler": "F",
                                            "technician": "F", "supervisor": "F",
                                            "admin": "F"}),
    ("butler.queue", "GET"): logged_in(STAFF_ONLY),
    ("butler.handover", "GET"): logged_in({**STAFF_ONLY, "technician": "F"}),
    ("supervisor.overdue", "GET"): logged_in(SUPERVISORS),
    ("supervisor.waiting", "GET"): logged_in(SUPERVISORS),
    ("supervisor.deliveries", "GET"): logged_in(SUPERVISORS),
    ("supervisor.robots", "GET"): logged_in(SUPERVISORS),
    ("supervisor.set_robot", "POST"): logged_in(SUPERVISORS),
    ("supervisor.for_residents", "GET"): logged_in(SUPERVISORS),
    ("supervisor.workflows", "GET"): logged_in(SUPERVISORS),
    ("tickets.kinds_css", "GET"): EVERYONE,  # the request form's stylesheet, from the rules
    ("tickets.new", "GET"): logged_in({**STAFF_ONLY, "resident": "A", "technician": "F"}),
    ("tickets.new", "POST"): logged_in({**STAFF_ONLY, "resident": "A", "technician": "F"}),
    ("tickets.detail", "GET"): TICKET,
    ("tickets.attachment", "GET"): TICKET,
    ("tickets.fire", "POST"): {**TICKET, "admin": "FF"},  # no trigger names the admin's role
    ("tickets.add_files", "POST"): TICKET,
    ("assessment.month", "GET"): logged_in(SUPERVISORS),
    ("assessment.close", "POST"): logged_in(SUPERVISORS),
    ("assessment.reopen", "POST"): logged_in(SUPERVISORS),
    ("assessment.export", "GET"): logged_in(SUPERVISORS),
    ("assessment.export_lines", "GET"): logged_in(SUPERVISORS),
    ("assessment.company", "GET"): logged_in(ADMIN),
    ("assessment.export_company", "GET"): logged_in(ADMIN),
    ("assessment.export_company_lines", "GET"): logged_in(ADMIN),
    ("assessment.new_finding", "GET"): logged_in(SUPERVISORS),
    ("assessment.new_finding", "POST"): logged_in(SUPERVISORS),
    ("assessment.spot_checks", "GET"): logged_in(SUPERVISORS),
    ("assessment.draw", "POST"): logged_in(SUPERVISORS),
    ("assessment.record_result", "POST"): logged_in(SUPERVISORS),
    ("assessment.me", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    # a butler's card and its lines: the butler's own, another butler's
    ("assessment.card", "GET"): logged_in({"resident": "FF", "butler": "AF", "technician": "FF",
                                           "supervisor": "AA", "admin": "AA"}),
    ("assessment.review_line", "POST"): logged_in({"resident": "FF", "butler": "AF",
                                                   "technician": "FF", "supervisor": "AA",
                                                   "admin": "AA"}),
    ("assessment.evidence", "GET"): logged_in({"resident": "FF", "butler": "AF",
                                               "technician": "FF", "supervisor": "AA",
                                               "admin": "AA"}),
    ("cover.leave", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("cover.request_leave", "POST"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("cover.approve", "POST"): logged_in(SUPERVISORS),
    ("cover.cancel", "POST"): logged_in({"resident": "FF", "butler": "AF", "technician": "FF",
                                         "supervisor": "AA", "admin": "AA"}),
    ("cover.hand_over", "POST"): logged_in(SUPERVISORS),
    ("cover.areas", "GET"): logged_in(SUPERVISORS),
    ("duty.index", "GET"): logged_in(SUPERVISORS),
    ("duty.rota", "GET"): logged_in(SUPERVISORS),
    ("duty.save_rota", "POST"): logged_in(SUPERVISORS),
    ("duty.repeat", "POST"): logged_in(SUPERVISORS),
    ("duty.handovers", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("duty.handover", "GET"): logged_in(HANDOVER),
    ("duty.sign", "POST"): logged_in({**HANDOVER, "supervisor": "FF", "admin": "FF"}),
    ("cover.set_butler", "POST"): logged_in(SUPERVISORS),
    ("search.find", "GET"): logged_in(STAFF_ONLY),
    # a unit: one of the butler's areas, one of another's
    ("search.unit", "GET"): logged_in(UNIT),
    ("calendars.index", "GET"): logged_in(SUPERVISORS),
    ("calendars.calendar", "GET"): logged_in(SUPERVISORS),
    ("calendars.save", "POST"): logged_in(SUPERVISORS),
    ("estate_rules.rules", "GET"): logged_in(SUPERVISORS),
    ("estate_rules.save", "POST"): logged_in(ADMIN),
    ("estates.start", "GET"): logged_in(SUPERVISORS),
    ("estates.preview", "POST"): logged_in(SUPERVISORS),
    # a reference to an upload kept for its preview: none of theirs here
    ("estates.confirm", "POST"): logged_in({**SUPERVISORS, "supervisor": "N", "admin": "N"}),
    ("estates.template", "GET"): logged_in(SUPERVISORS),
    ("estates.export", "GET"): logged_in(SUPERVISORS),
    # the API
    ("api_docs", "GET"): EVERYONE,
    ("api.openapi_document", "GET"): EVERYONE,
    ("api.create_token", "POST"): EVERYONE,
    ("api.list_tokens", "GET"): LOGGED_IN,
    ("api.revoke_current_token", "DELETE"): LOGGED_IN,
    ("api.revoke_token", "DELETE"): CREDENTIAL,
    ("api.me", "GET"): LOGGED_IN,
    ("api.change_me", "PATCH"): LOGGED_IN,
    ("api.list_robots", "GET"): logged_in(SUPERVISORS),
    ("api.set_robot", "PUT"): logged_in(SUPERVISORS),
    ("api.change_password", "POST"): LOGGED_IN,
    ("api.workflows", "GET"): LOGGED_IN,
    ("api.assessment_rules", "GET"): LOGGED_IN,
    ("api.create_ticket", "POST"): logged_in({**STAFF_ONLY, "resident": "A", "technician": "F"}),
    ("api.list_tickets", "GET"): LOGGED_IN,
    ("api.get_ticket", "GET"): TICKET,
    ("api.fire", "POST"): TICKET,
    ("api.add_attachments", "POST"): TICKET,
    ("api.attachment", "GET"): TICKET,
    ("api.list_deductions", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.scorecards", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.company", "GET"): logged_in(ADMIN),
    ("api.appeal", "POST"): logged_in({"resident": "FF", "butler": "AF", "technician": "FF",
                                       "supervisor": "FF", "admin": "FF"}),
    ("api.waive", "POST"): logged_in(SUPERVISORS),
    ("api.uphold", "POST"): logged_in(SUPERVISORS),
    ("api.record_finding", "POST"): logged_in(SUPERVISORS),
    ("api.month_status", "GET"): logged_in(SUPERVISORS),
    ("api.close_month", "POST"): logged_in(SUPERVISORS),
    ("api.reopen_month", "POST"): logged_in(SUPERVISORS),
    ("api.get_spot_check", "GET"): logged_in(SUPERVISORS),
    ("api.draw_spot_check", "POST"): logged_in(SUPERVISORS),
    ("api.record_spot_check", "POST"): logged_in(SUPERVISORS),
    ("api.list_areas", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.set_area_butler", "PUT"): logged_in(SUPERVISORS),
    ("api.estate_calendar", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.set_estate_calendar", "PUT"): logged_in(SUPERVISORS),
    ("api.estate_rules", "GET"): logged_in(SUPERVISORS),
    ("api.set_estate_rules", "PUT"): logged_in(ADMIN),
    ("api.list_leaves", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.request_leave", "POST"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.approve_leave", "POST"): logged_in(SUPERVISORS),
    # a leave: the butler's own, another butler's
    ("api.cancel_leave", "POST"): logged_in({"resident": "FF", "butler": "AF",
                                             "technician": "FF", "supervisor": "AA",
                                             "admin": "AA"}),
    ("api.hand_over", "POST"): logged_in(SUPERVISORS),
    ("api.find", "GET"): LOGGED_IN,
    ("api.get_unit", "GET"): logged_in(UNIT),
    # more time for a deadline: asked for on one's own ticket, on someone else's
    ("extensions.ask", "POST"): logged_in({"resident": "FF", "butler": "AN", "technician": "FF",
                                           "supervisor": "AA", "admin": "AA"}),
    ("extensions.cancel", "POST"): logged_in({"resident": "FF", "butler": "AN",
                                              "technician": "FF", "supervisor": "FF",
                                              "admin": "FF"}),
    ("supervisor.decide_extension", "POST"): logged_in(SUPERVISORS),
    ("api.request_extension", "POST"): logged_in({"resident": "FN", "butler": "AN",
                                                  "technician": "FN", "supervisor": "AA",
                                                  "admin": "AA"}),
    ("api.list_extensions", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.approve_extension", "POST"): logged_in(SUPERVISORS),
    ("api.refuse_extension", "POST"): logged_in(SUPERVISORS),
    ("api.cancel_extension", "POST"): logged_in({"resident": "FN", "butler": "AN",
                                                 "technician": "FN", "supervisor": "FF",
                                                 "admin": "FF"}),
    ("api.rota", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.set_rota", "PUT"): logged_in(SUPERVISORS),
    ("api.on_duty", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    ("api.list_handovers", "GET"): logged_in({**SUPERVISORS, "butler": "A"}),
    # a hand-over: one the butler takes over, one between two others
    ("api.get_handover", "GET"): logged_in(HANDOVER),
    ("api.sign_handover", "POST"): logged_in({**HANDOVER, "butler": "AF", "supervisor": "FF",
                                              "admin": "FF"}),
    ("api.import_estate", "POST"): logged_in(SUPERVISORS),
    ("api.export_estate", "GET"): logged_in(SUPERVISORS),
    # accounts, invitation codes, the audit log (views.admin, views.activation, views.api_people)
    ("activation.activate", "GET"): EVERYONE,
    ("activation.activate", "POST"): EVERYONE,
    ("admin.accounts", "GET"): logged_in(ADMIN),
    ("admin.new_account", "GET"): logged_in(ADMIN),
    ("admin.new_account", "POST"): logged_in(ADMIN),
    ("admin.account", "GET"): logged_in(ADMIN),
    ("admin.change_details", "POST"): logged_in(ADMIN),
    ("admin.change_areas", "POST"): logged_in(ADMIN),
    ("admin.reset_password", "POST"): logged_in(ADMIN),
    ("admin.set_active", "POST"): logged_in(ADMIN),
    ("admin.audit_log", "GET"): logged_in(ADMIN),
    ("admin.invitation_codes", "GET"): logged_in(SUPERVISORS),
    ("admin.building_units", "GET"): logged_in(SUPERVISORS),
    ("admin.print_building", "POST"): logged_in(SUPERVISORS),
    ("admin.regenerate", "POST"): logged_in(SUPERVISORS),
    ("admin.change_estates", "POST"): logged_in(ADMIN),
    # the company's places (views.admin, views.api_places): the supervisor's estate is Garden
    ("admin.estates", "GET"): logged_in(SUPERVISORS),
    ("admin.create_estate", "POST"): logged_in(ADMIN),
    ("admin.estate", "GET"): logged_in(SUPERVISORS),
    ("admin.rename_estate", "POST"): logged_in(ADMIN),
    ("admin.set_supervisors", "POST"): logged_in(ADMIN),
    ("admin.create_area", "POST"): logged_in(SUPERVISORS),
    ("admin.rename_area", "POST"): logged_in(SUPERVISORS),
    ("admin.set_area_butler", "POST"): logged_in(SUPERVISORS),
    ("admin.create_building", "POST"): logged_in(SUPERVISORS),
    ("admin.building", "GET"): logged_in(SUPERVISORS),
    ("admin.change_building", "POST"): logged_in(SUPERVISORS),
    ("admin.create_unit", "POST"): logged_in(SUPERVISORS),
    ("admin.unit", "GET"): logged_in(SUPERVISORS),
    ("admin.unit", "POST"): logged_in(SUPERVISORS),
    ("api.list_estates", "GET"): logged_in(SUPERVISORS),
    ("api.create_estate", "POST"): logged_in(ADMIN),
    ("api.get_estate", "GET"): logged_in(SUPERVISORS),
    ("api.change_estate", "PATCH"): logged_in(ADMIN),
    ("api.set_estate_supervisors", "PUT"): logged_in(ADMIN),
    ("api.create_area", "POST"): logged_in(SUPERVISORS),
    ("api.change_area", "PATCH"): logged_in(SUPERVISORS),
    ("api.create_building", "POST"): logged_in(SUPERVISORS),
    ("api.change_building", "PATCH"): logged_in(SUPERVISORS),
    ("api.create_unit", "POST"): logged_in(SUPERVISORS),
    ("api.change_unit", "PATCH"): logged_in(SUPERVISORS),
    ("api.list_users", "GET"): logged_in(ADMIN),
    ("api.create_user", "POST"): logged_in(ADMIN),
    ("api.get_user", "GET"): logged_in(ADMIN),
    ("api.change_user", "PATCH"): logged_in(ADMIN),
    ("api.set_user_areas", "PUT"): logged_in(ADMIN),
    ("api.issue_invitation", "POST"): logged_in(SUPERVISORS),
    ("api.activate", "POST"): EVERYONE,
    ("api.audit_log", "GET"): logged_in(ADMIN),
    ("api.list_notifications", "GET"): LOGGED_IN,
    ("api.read_notification", "POST"): NOTICE,
    ("api.read_all_notifications", "POST"): LOGGED_IN,
}

# What a page's trigger form fires, per role (one they may fire: only the missing data refuses it).
TRIGGER = {"resident": "cancel", "butler": "cancel", "technician": "arrive",
           "supervisor": "reassign", "admin": "reassign", "anonymous": "cancel"}
ACTION = {"supervisor": "waive", "admin": "waive"}  # the others appeal


def _routes(app) -> list[tuple[str, str, object]]:
    """(endpoint, method, rule) for every route of the app."""
    return sorted(((rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}),
                  key=lambda route: (route[2].rule, route[1]))


def _store(app, content: bytes) -> str:
    with app.test_request_context():
        return uploads.store_bytes(content, "png")


@pytest.fixture
def scene(app, estate, tmp_path, clock):
    """A repair of the resident's (dispatched to the technician, with a photo), one in the other
    area, a line (with evidence) on each butler's card, a spot-check item, and an account for
    the admin's forms to change."""
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    with app.app_context():
        desk = Desk(estate)
        # The account the admin's forms change (sent empty, a deactivation among them).
        leaver = User(username="leaver", name="Leaver", role=Role.TECHNICIAN,
                      password_hash=estate.user("butler").password_hash)
        db.session.add(leaver)
        db.session.commit()
        leaver_id = leaver.id
        photo = UploadedFile(_store(app, PNG), "own.png", "image/png", len(PNG))
        own = desk.open("resident", attachments=[photo]).id
        desk.fire(own, "dispatch", "butler", technician_id=estate.technician)
        west_photo = UploadedFile(_store(app, PNG), "west.png", "image/png", len(PNG))
        other = desk.open("west_resident", attachments=[west_photo]).id
        supervisor = estate.user("supervisor")
        lines, evidence = {}, {}
        for who in ("butler", "other_butler"):
            evidence[who] = _store(app, PNG)
            lines[who] = assessment.record_finding(supervisor, getattr(estate, who), "5",
                                                   "No patrol", evidence=evidence[who]).id
        drawn = SpotCheck(estate_id=assessment.the_estate(None), month="2026-10", seed=1,
                          population_size=1, sample_size=1, drawn_by_id=estate.supervisor,
                          drawn_at=T0)
        db.session.add(drawn)
        db.session.flush()
        db.session.add(SpotCheckItem(spot_check_id=drawn.id, position=0, ticket_id=own))
        db.session.commit()
        sweeper.sweep()
        leaves = {who: cover.request_leave(estate.user(who), None, T0 + timedelta(days=1),
                                           T0 + timedelta(days=2), reason="Family").id
                  for who in ("butler", "other_butler")}
        asked = {who: extensions.request_extension(estate.user(who), ticket, "completion",
                                                   T0 + timedelta(days=2), "A part").id
                 for who, ticket in (("butler", own), ("other_butler", other))}
        area = db.session.scalar(db.select(Area.id).order_by(Area.id))
        attachments = {ticket: db.session.get(Ticket, ticket).attachments[0].id
                       for ticket in (own, other)}
        item = db.session.scalar(db.select(SpotCheckItem.id))
        people = {name: getattr(estate, name) for name in ("resident", "butler", "technician",
                                                           "supervisor", "other_butler",
                                                           "west_resident")}
        people["admin"] = estate.admin
        building = db.session.scalar(db.select(Building.id).order_by(Building.id))
        notices = {name: _notice(person, own) for name, person in people.items()}
        place = db.session.scalar(db.select(Estate.id))
        shift = DutyShift(estate_id=place, starts_at=T0 - timedelta(hours=9),
                          ends_at=T0 - timedelta(hours=1), on_duty_id=estate.relief_butler,
                          set_by_id=estate.supervisor, set_at=T0 - timedelta(days=1),
                          handed_over_at=T0 - timedelta(hours=1))
        db.session.add(shift)
        db.session.flush()
        handovers = {}
        for who in ("butler", "other_butler"):
            record = ShiftHandover(shift_id=shift.id, estate_id=place,
                                   leaving_id=estate.relief_butler,
                                   taking_over_id=getattr(estate, who), handed_at=shift.ends_at)
            db.session.add(record)
            db.session.flush()
            handovers[who] = record.id
        db.session.commit()
    return {"tickets": {"own": own, "other": other}, "attachments": attachments,
            "units": {"own": estate.unit_a, "other": estate.unit_w},
            "lines": lines, "evidence": evidence, "item": item, "people": people,
            "notices": notices, "leaves": leaves, "area": area, "extensions": asked,
            "estate": place, "handovers": handovers, "leaver": leaver_id, "building": building}


def _notice(user_id: int, ticket_id: int) -> int:
    """An unread in-app notice of the person's."""
    notice = Notice(key=f"test:{user_id}", user_id=user_id, channel=Channel.IN_APP,
                    ticket_id=ticket_id, cause="new", data={"kind": "repair"}, created_at=T0,
                    status=NoticeStatus.SENT, sent_at=T0)
    db.session.add(notice)
    db.session.commit()
    return notice.id


def _values(scene, role: str, whose: str) -> dict:
    """The URL's values for `role`, pointing at their own objects or at someone else's."""
    ticket = scene["tickets"][whose]
    butler = "butler" if whose == "own" else "other_butler"
    return {"ticket_id": ticket, "attachment_id": scene["attachments"][ticket],
            "entry_id": scene["lines"][butler], "line_id": scene["lines"][butler],
            "butler_id": scene["people"][butler], "name": scene["evidence"][butler],
            "item_id": scene["item"], "month": "2026-11", "fmt": "xlsx",
            "leave_id": scene["leaves"][butler], "area_id": scene["area"],
            "unit_id": scene["units"][whose],
            "extension_id": scene["extensions"][butler], "deadline": "completion",
            "decision": "approve",
            "estate_id": scene["estate"], "handover_id": scene["handovers"][butler],
            "user_id": scene["leaver"], "building_id": scene["building"],
            "filename": "style.css", "trigger": TRIGGER[role],
            "reference": "0" * 32,
            "action": ACTION.get(role, "appeal"),
            "notice_id": scene["notices"][role if whose == "own" and role != "anonymous"
                                          else "west_resident"]}


def _client(app, scene, role: str, api: bool):
    """A client logged in as `role` (a fresh login, so ending it harms no other case), with the
    credential it holds and another one of the same person (for "own" logins to end)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    if role == "anonymous":
        return client, {}, None
    with app.app_context():
        user = db.session.get(User, scene["people"][role])
        secret, _credential = accounts.sign_in(
            user, CredentialKind.API if api else CredentialKind.BROWSER)
        _spare_secret, spare = accounts.sign_in(user, CredentialKind.API)
        spare_id = spare.id
    if api:
        return client, {"Authorization": f"Bearer {secret}"}, spare_id
    with client.session_transaction() as session:
        session.update({"login": secret, "_user_id": str(scene["people"][role]), "_fresh": True})
    return client, {}, spare_id


def _someone_elses_credential(app, scene, role: str) -> int:
    with app.app_context():
        other = "west_resident" if role != "west_resident" else "resident"
        _secret, credential = accounts.sign_in(db.session.get(User, scene["people"][other]),
                                               CredentialKind.API)
        return credential.id


def _answer(reply, api: bool) -> str:
    status = reply.status_code
    assert status < 500, (status, reply.get_data(as_text=True)[:300])
    if status == 401 or (not api and status == 302
                                 and reply.headers["Location"].startswith("/login?next=")):
        return "L"
    return {403: "F", 404: "N"}.get(status, "A")


def test_every_route_has_its_row(app):
    missing = sorted({(endpoint, method) for endpoint, method, _rule in _routes(app)}
                     - set(EXPECTED))
    assert missing == [], "declare who may open these routes in EXPECTED"
    assert set(EXPECTED) <= {(endpoint, method) for endpoint, method, _rule in _routes(app)}


def test_every_route_answers_every_role_as_declared(app, estate, scene):
    wrong = []
    for endpoint, method, rule in _routes(app):
        expected_by_role = EXPECTED.get((endpoint, method))
        if expected_by_role is None:
            continue  # test_every_route_has_its_row names it
        api = rule.rule.startswith("/api/")
        for role in ROLES:
            expected = expected_by_role[role]
            for whose, letter in zip(("own", "other"), expected * 2 if len(expected) == 1
                                     else expected, strict=False):
                client, headers, spare = _client(app, scene, role, api)
                values = _values(scene, role, whose)
                values["credential_id"] = (spare if whose == "own" and spare
                                           else _someone_elses_credential(app, scene, role))
                with app.test_request_context():
                    url = app.url_for(endpoint, **{k: values[k] for k in rule.arguments})
                kwargs: dict = {"headers": headers}
                if method != "GET":
                    if api:
                        kwargs["json"] = {}
                    else:
                        token = csrf_token(client.get("/login").text)
                        kwargs["data"] = {"csrf_token": token}
                if endpoint == "api.add_attachments":
                    kwargs = {"headers": headers, "content_type": "multipart/form-data",
                              "data": {"file": (io.BytesIO(b""), "")}}
                reply = client.open(url, method=method, **kwargs)
                answer = _answer(reply, api)
                if answer != letter:
                    wrong.append(f"{method} {url} as {role} ({whose}): {answer}, "
                                 f"expected {letter} (status {reply.status_code})")
                if len(expected) == 1:
                    break
    assert wrong == [], "\n".join(wrong)
