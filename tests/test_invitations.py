"""Residents get in (workflows.invitations): the office prints a building's invitation codes, a
resident activates with their phone, the unit and the code, and chooses a password; family and
tenants join with the same code and their own phone. Wrong codes are refused naming the field
and limited; a code issued again stops the old one; the log keeps no code."""
from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from models import AuditEntry, Building, Ticket, Unit, User, db
from tests.api import API, assert_error, token_for
from tests.pages import csrf_token, field_html, log_in
from workflows import invitations

SLIP_CODE = re.compile(r'<p class="slip-code">.*?<code>([A-Z0-9]{4}-[A-Z0-9]{4})</code>', re.S)
IMPORTED_PHONE = "13700000001"


def imported(app, estate, phone: str = IMPORTED_PHONE) -> int:
    """An owner as the Excel import leaves them: on the unit's list, with no usable password."""
    with app.app_context():
        owner = User(username=f"owner-{phone}", name="Owner Zhang", role="resident",
                     phone=phone, unit_id=estate.unit_a)
        owner.set_unusable_password()
        db.session.add(owner)
        db.session.commit()
        return owner.id


def code_for(client, unit_id: int) -> str:
    reply = client.post(f"{API}/units/{unit_id}/invitation", headers=token_for(client, "admin"))
    assert reply.status_code == 201, reply.json
    return reply.json["code"]


def activation(code: str, phone: str = IMPORTED_PHONE, **more) -> dict:
    return {"building": "1栋", "unit": "101", "phone": phone, "invitation_code": code,
            "password": "a long secret", **more}


def test_a_resident_activates_with_a_printed_code_and_reports_a_repair_to_the_areas_butler(
        app, browser, estate):
    owner = imported(app, estate)
    office = browser("admin")
    with app.app_context():
        building = db.session.scalar(select(Building.id).where(Building.name == "1栋"))
    listing = office.get("/admin/invitations").text
    sheet = office.post(f"/admin/invitations/buildings/{building}",
                        data={"csrf_token": csrf_token(listing)})
    assert sheet.status_code == 200
    slips = sheet.text.split('<li class="slip">')[1:]
    assert len(slips) == 2  # 101 and 102
    assert "Garden · 1栋 · 101" in slips[0]
    [code] = SLIP_CODE.findall(slips[0])
    address = re.search(r'<p class="slip-link"><code>http://localhost(.*?)</code>', slips[0])[1]

    resident = browser()
    assert "Get in with your code" in resident.get("/login").text
    form = resident.get(address).text
    assert 'value="1栋"' in form and 'value="101"' in form  # the slip's unit, filled in
    reply = resident.post("/activate", data={
        "csrf_token": csrf_token(form), "estate_id": str(estate_id(app)), "building": "1栋",
        "unit": "101", "phone": "137 0000 0001", "invitation_code": code.lower(),
        "password": "a long secret", "password_again": "a long secret"})
    assert reply.status_code == 302 and reply.location.startswith("/login")
    # the owner of record now logs in with their phone, as family and tenants do
    assert 'value="13700000001"' in resident.get(reply.location).text
    assert log_in(resident, "13700000001", "a long secret").status_code == 302

    new = resident.get("/tickets/new").text
    made = resident.post("/tickets/new", data={"csrf_token": csrf_token(new), "kind": "repair",
                                               "title": "Kitchen tap dripping"})
    assert made.status_code == 302
    with app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.resident_id == owner))
        assert ticket.assignee_id == estate.butler  # East's butler
        assert db.session.get(User, owner).activated_at is not None


def estate_id(app) -> int:
    with app.app_context():
        return db.session.get(Unit, 1).building.area.estate_id


def test_a_code_issued_again_stops_the_old_one(client, app, estate):
    imported(app, estate)
    old, new = code_for(client, estate.unit_a), code_for(client, estate.unit_a)
    assert old != new
    assert_error(client.post(f"{API}/activations", json=activation(old)), 422, "invalid",
                 "invitation_code")
    assert client.post(f"{API}/activations", json=activation(new)).status_code == 201


def test_activating_twice_is_a_clear_409_and_the_first_password_stays(client, app, estate):
    imported(app, estate)
    code = code_for(client, estate.unit_a)
    first = client.post(f"{API}/activations", json=activation(code))
    assert first.status_code == 201
    assert first.json["user"]["username"] == "13700000001"
    again = assert_error(client.post(f"{API}/activations", json=activation(
        code, password="another secret")), 409, "conflict", "phone")
    assert "has got in already: log in as 13700000001" in again["fields"]["phone"]
    assert client.post(f"{API}/tokens", json={"username": "13700000001",
                                              "password": "a long secret"}).status_code == 201
    # A resident who had a password before codes existed has got in already too.
    assert_error(client.post(f"{API}/activations", json=activation(code, "138 0000 0101")),
                 409, "conflict", "phone")


def test_family_and_tenants_join_with_the_same_code_and_their_own_phone(client, app, estate):
    code = code_for(client, estate.unit_a)
    nameless = assert_error(client.post(f"{API}/activations", json=activation(
        code, "+86 139-1234-5678")), 422, "invalid", "name")
    assert "not on this unit's list" in nameless["fields"]["name"]
    joined = client.post(f"{API}/activations", json=activation(code, "+86 139-1234-5678",
                                                               name="Tenant Li"))
    assert joined.status_code == 201
    assert (joined.json["user"]["username"], joined.json["user"]["unit_id"]) == (
        "13912345678", estate.unit_a)
    with app.app_context():
        household = db.session.scalars(select(User.name).where(User.unit_id == estate.unit_a)
                                       .order_by(User.id)).all()
    assert household == ["Resident", "Tenant Li"]


def test_a_phone_of_another_units_resident_is_taken(client, estate):
    code = code_for(client, estate.unit_a)
    taken = assert_error(client.post(f"{API}/activations", json=activation(
        code, "139 0000 0401", name="Someone")), 409, "conflict", "phone")
    assert "another unit" in taken["fields"]["phone"]


def test_wrong_codes_are_refused_then_limited(client, app, estate):
    app.config["ACTIVATION_LIMIT_PER_UNIT"] = "3 per hour"
    imported(app, estate)
    code = code_for(client, estate.unit_a)
    wrong = "ABCD-2345" if code != "ABCD-2345" else "ABCD-2346"
    for _ in range(3):
        assert_error(client.post(f"{API}/activations", json=activation(wrong)), 422, "invalid",
                     "invitation_code")
    limited = client.post(f"{API}/activations", json=activation(code))
    assert_error(limited, 429, "too_many_requests")
    assert int(limited.headers["Retry-After"]) >= 1
    # Another unit is not held up by the guesses at this one.
    other = code_for(client, estate.unit_b)
    assert client.post(f"{API}/activations", json=activation(
        other, "13611112222", unit="102", name="Neighbour's son")).status_code == 201


def test_the_activation_page_names_each_problem_and_keeps_what_was_typed(browser, app, estate,
                                                                         client):
    code_for(client, estate.unit_a)
    page = browser()
    form = page.get("/activate").text
    reply = page.post("/activate", data={
        "csrf_token": csrf_token(form), "estate_id": str(estate_id(app)), "building": "9栋",
        "unit": "101", "phone": "12345", "invitation_code": "0O1I",
        "password": "short", "password_again": "short"})
    assert reply.status_code == 422
    assert "There is a problem" in reply.text
    assert "is not a mainland mobile number" in field_html(reply.text, "phone")
    assert "letters and digits, like ABCD-2345" in field_html(reply.text, "invitation_code")
    assert "at least 8 characters" in field_html(reply.text, "password")
    assert "there is no building 9栋" in field_html(reply.text, "building")
    assert 'value="9栋"' in reply.text and 'value="0O1I"' in reply.text

    chinese = browser(language="zh-CN")
    form = chinese.get("/activate").text
    reply = chinese.post("/activate", data={
        "csrf_token": csrf_token(form), "estate_id": str(estate_id(app)), "building": "1栋",
        "unit": "999", "phone": "13700000001", "invitation_code": "ABCD-2345",
        "password": "a long secret", "password_again": "another one"})
    assert reply.status_code == 422
    assert "两次输入的密码不一致" in field_html(reply.text, "password_again")
    assert "1栋 没有 999 号房" in field_html(reply.text, "unit")


def test_bad_activations_through_the_api_name_the_field(client):
    for sent, field in (({}, "invitation_code"), ({"building": 3}, "building"),
                        ({"phone": "138"}, "phone"), ({"estate_id": 99}, "estate_id"),
                        ({"password": "x"}, "password")):
        assert_error(client.post(f"{API}/activations", json=sent), 422, "invalid", field)
    assert_error(client.post(f"{API}/activations", data="not json",
                             content_type="application/json"), 422, "invalid", "body")


def test_only_the_office_issues_codes(client, browser, estate):
    for who in ("resident", "butler", "technician"):
        assert_error(client.post(f"{API}/units/{estate.unit_a}/invitation",
                                 headers=token_for(client, who)), 403, "forbidden")
        assert browser(who).get("/admin/invitations").status_code == 403
    assert client.post(f"{API}/units/{estate.unit_a}/invitation",
                       headers=token_for(client, "supervisor")).status_code == 201
    assert browser("supervisor").get("/admin/invitations").status_code == 200
    assert_error(client.post(f"{API}/units/999999/invitation",
                             headers=token_for(client, "admin")), 404, "not_found")


def test_the_log_has_every_code_issued_and_every_activation_but_never_a_code(client, app,
                                                                             estate):
    owner = imported(app, estate)
    code = code_for(client, estate.unit_a)
    client.post(f"{API}/activations", json=activation(code))
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.action, e.subject_type, e.subject_id, e.actor_id) for e in entries] == [
            ("invitation_issued", "unit", estate.unit_a, estate.admin),
            ("activated", "user", owner, owner)]
        assert entries[0].before == {"invitation_issued_at": None}
        assert entries[1].before == {"activated_at": None, "username": "owner-13700000001"}
        assert entries[1].after["username"] == "13700000001"
        assert entries[1].after["unit_id"] == estate.unit_a
        said = str([(e.before, e.after, e.note) for e in entries])
        assert code not in said and code.replace("-", "") not in said
        assert "a long secret" not in said and "scrypt" not in said and "pbkdf2" not in said


@given(st.text(alphabet=invitations.ALPHABET, min_size=8, max_size=8),
       st.lists(st.sampled_from([" ", "-", "  "]), max_size=3), st.booleans(), st.booleans())
def test_a_code_reads_the_same_however_it_is_typed(code, gaps, lower, wide):
    """Lower case, spaces, dashes and full-width characters (a Chinese keyboard) are the same
    code; the alphabet has no 0, O, 1 or I to mistake."""
    typed = code.lower() if lower else code
    for gap, at in zip(gaps, (2, 4, 6), strict=False):
        typed = typed[:at] + gap + typed[at:]
    if wide:
        typed = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in typed)
    assert unicodedata.normalize("NFKC", typed).upper().replace(" ", "").replace("-", "") == code
    assert invitations.typed_code(typed) == code
    assert not set("0O1I") & set(invitations.new_code())
