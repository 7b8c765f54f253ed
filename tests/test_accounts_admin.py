"""The admin's accounts (workflows.people): staff made, their role, contact and areas changed, a
password reset, a person deactivated — out at once, everywhere, their open tickets listed to
reassign — every change an entry in the audit log with before → after and no secret; none of it
for anyone but the admin."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import Area, AuditEntry, Credential, Ticket, db
from tests.api import API, assert_error, log_in, token_for
from tests.conftest import PASSWORD, Desk
from tests.pages import csrf_token, field_html, flashes
from tests.pages import log_in as page_log_in
from workflows import cover

SHOWN_ONCE = re.compile(r'<p class="password"><code>([a-z0-9]+)</code></p>')


def entries(app, **where) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        for key, value in where.items():
            query = query.where(getattr(AuditEntry, key) == value)
        found = db.session.scalars(query).all()
        db.session.expunge_all()
        return found


def no_secrets(found: list[AuditEntry], *secrets: str) -> None:
    said = str([(e.before, e.after, e.note) for e in found])
    for secret in (*secrets, "password_hash", "scrypt:", "pbkdf2:"):
        assert secret not in said


def test_a_deactivated_butlers_token_answers_401_at_once_and_their_pages_log_out(
        client, browser, estate, app):
    token, page = log_in(client, "butler"), browser("butler")
    assert client.get(f"{API}/me", headers=token).status_code == 200
    assert page.get("/queue/").status_code == 200

    reply = client.patch(f"{API}/users/{estate.butler}", headers=token_for(client, "admin"),
                         json={"active": False})
    assert reply.status_code == 200
    assert reply.json["user"]["active"] is False and reply.json["password"] is None

    assert_error(client.get(f"{API}/me", headers=token), 401, "unauthorized")
    assert page.get("/queue/").location.startswith("/login")
    assert client.post(f"{API}/tokens", json={"username": "butler",
                                              "password": PASSWORD}).status_code == 401
    assert page_log_in(browser(), "butler").status_code == 200  # the form again, refused
    with app.app_context():
        assert db.session.scalars(select(Credential).where(
            Credential.user_id == estate.butler, Credential.revoked_at.is_(None))).all() == []

    [entry] = entries(app, subject_type="user")
    assert (entry.action, entry.actor_id, entry.subject_id, entry.before, entry.after) == (
        "deactivated", estate.admin, estate.butler, {"active": True}, {"active": False})

    client.patch(f"{API}/users/{estate.butler}", headers=token_for(client, "admin"),
                 json={"active": True})
    assert client.post(f"{API}/tokens", json={"username": "butler",
                                              "password": PASSWORD}).status_code == 201
    assert entries(app, subject_type="user")[-1].action == "reactivated"


def test_deactivating_on_the_page_lists_the_open_tickets_to_reassign(app, browser, estate):
    with app.app_context():
        repair = Desk(estate).open("resident").id
    butler = browser("butler")
    admin = browser("admin")
    page = admin.get(f"/admin/people/{estate.butler}").text
    assert f'href="/tickets/{repair}"' in page
    assert "Still the butler of: East" in page
    reply = admin.post(f"/admin/people/{estate.butler}/active",
                       data={"csrf_token": csrf_token(page), "active": "no"})
    assert reply.status_code == 302
    after = admin.get(reply.location).text
    assert "Butler is deactivated" in flashes(after, "success")[0]
    assert f'href="/tickets/{repair}"' in after  # still there to reassign
    assert butler.get("/queue/").location.startswith("/login")
    # The supervisor reassigns it from the ticket's page, as ever.
    ticket = browser("supervisor").get(f"/tickets/{repair}").text
    assert f'action="/tickets/{repair}/fire/reassign"' in ticket


def test_the_admin_makes_a_staff_account_with_a_password_shown_once(app, browser, client):
    admin = browser("admin")
    form = admin.get("/admin/people/new").text
    reply = admin.post("/admin/people/new", data={
        "csrf_token": csrf_token(form), "account-username": "butler4", "account-name": "Wang Wu",
        "account-role": "butler", "account-phone": "139 0000 1234", "account-email": ""})
    assert reply.status_code == 200
    [password] = SHOWN_ONCE.findall(reply.text)
    assert "shown this once" in reply.text
    assert client.post(f"{API}/tokens", json={"username": "butler4",
                                              "password": password}).status_code == 201
    listed = admin.get("/admin/people?role=butler").text
    assert "Wang Wu" in listed and "butler4" in listed

    [entry] = entries(app, action="created")
    assert entry.after == {"username": "butler4", "name": "Wang Wu", "role": "butler",
                           "phone": "13900001234", "email": None, "active": True}
    no_secrets([entry], password)


def test_a_refused_account_names_each_field_and_keeps_what_was_typed(browser, client):
    admin = browser("admin")
    form = admin.get("/admin/people/new").text
    reply = admin.post("/admin/people/new", data={
        "csrf_token": csrf_token(form), "account-username": "new one", "account-name": "",
        "account-role": "butler", "account-phone": "12", "account-email": "nope",
        "account-password": "short"})
    assert reply.status_code == 422
    assert "There is a problem" in reply.text
    for name, said in (("username", "must not contain spaces"), ("name", "is required"),
                       ("phone", "mainland mobile"), ("email", "is not an email address"),
                       ("password", "at least 8")):
        assert said in field_html(reply.text, f"account-{name}"), name
    assert 'value="new one"' in reply.text

    taken = admin.post("/admin/people/new", data={
        "csrf_token": csrf_token(form), "account-username": "Butler", "account-name": "Again",
        "account-role": "butler"})
    assert taken.status_code == 409
    assert "is taken" in field_html(taken.text, "account-username")

    admin_api = token_for(client, "admin")
    assert_error(client.post(f"{API}/users", headers=admin_api, json={
        "username": "x", "name": "X", "role": "resident"}), 422, "invalid", "role")
    assert_error(client.post(f"{API}/users", headers=admin_api, json={
        "username": "butler", "name": "X", "role": "butler"}), 409, "conflict", "username")
    made = client.post(f"{API}/users", headers=admin_api, json={
        "username": "tech3", "name": "Li", "role": "technician", "password": "typed secret"})
    assert made.status_code == 201 and made.json["password"] is None


def test_a_password_reset_ends_their_logins_and_is_logged_without_it(app, client, browser,
                                                                     estate):
    token = log_in(client, "technician")
    admin = browser("admin")
    page = admin.get(f"/admin/people/{estate.technician}").text
    reply = admin.post(f"/admin/people/{estate.technician}/password",
                       data={"csrf_token": csrf_token(page), "reset-password": ""})
    [made] = SHOWN_ONCE.findall(reply.text)
    assert_error(client.get(f"{API}/me", headers=token), 401)
    assert client.post(f"{API}/tokens", json={"username": "technician",
                                              "password": made}).status_code == 201

    typed = client.patch(f"{API}/users/{estate.technician}", headers=token_for(client, "admin"),
                         json={"password": "typed by admin"})
    assert typed.status_code == 200 and typed.json["password"] is None
    generated = client.patch(f"{API}/users/{estate.technician}",
                             headers=token_for(client, "admin"), json={"reset_password": True})
    assert len(generated.json["password"]) == 12
    resets = entries(app, action="password_reset")
    assert len(resets) == 3 and all(e.before is None and e.after is None for e in resets)
    no_secrets(entries(app), made, "typed by admin", generated.json["password"])


def test_changing_ones_own_password_needs_the_current_one_and_is_logged(app, client):
    token = log_in(client, "butler")
    assert_error(client.post(f"{API}/me/password", headers=token, json={
        "current_password": "wrong", "new_password": "a new secret"}), 422, "invalid",
        "current_password")
    assert client.post(f"{API}/me/password", headers=token, json={
        "current_password": PASSWORD, "new_password": "a new secret"}).status_code == 204
    [entry] = entries(app, action="password_changed")
    assert entry.actor_id == entry.subject_id
    no_secrets([entry], "a new secret")


def test_role_and_details_change_with_before_and_after(app, client, estate):
    admin = token_for(client, "admin")
    reply = client.patch(f"{API}/users/{estate.relief_butler}", headers=admin, json={
        "role": "supervisor", "name": "Relief Zhao", "email": "zhao@example.com"})
    assert reply.status_code == 200
    assert (reply.json["user"]["role"], reply.json["user"]["name"]) == ("supervisor",
                                                                        "Relief Zhao")
    [entry] = entries(app, action="changed", subject_type="user")
    assert entry.before == {"role": "butler", "name": "Relief_Butler", "email": None}
    assert entry.after == {"role": "supervisor", "name": "Relief Zhao",
                           "email": "zhao@example.com"}

    # A butler still answering for an area keeps the role until the area has another butler.
    held = assert_error(client.patch(f"{API}/users/{estate.butler}", headers=admin,
                                     json={"role": "technician"}), 409, "conflict", "role")
    assert "East" in held["fields"]["role"]
    assert_error(client.patch(f"{API}/users/{estate.admin}", headers=admin,
                              json={"active": False}), 409, "conflict", "active")
    assert_error(client.patch(f"{API}/users/{estate.admin}", headers=admin,
                              json={"role": "butler"}), 409, "conflict", "role")
    assert_error(client.patch(f"{API}/users/{estate.resident}", headers=admin,
                              json={"role": "butler"}), 422, "invalid", "role")
    assert_error(client.patch(f"{API}/users/{estate.butler}", headers=admin,
                              json={"active": "no", "phone": "1"}), 422, "invalid", "active")
    assert_error(client.patch(f"{API}/users/999999", headers=admin, json={}), 404)
    assert len(entries(app, subject_type="user")) == 1  # the refusals changed nothing


def test_a_butlers_areas_change_through_the_dated_hand_over(app, client, browser, estate):
    with app.app_context():
        repair = Desk(estate).open("resident").id
        east = db.session.scalar(select(Area.id).where(Area.name == "East"))
    admin = browser("admin")
    page = admin.get(f"/admin/people/{estate.relief_butler}").text
    reply = admin.post(f"/admin/people/{estate.relief_butler}/areas", data={
        "csrf_token": csrf_token(page), "areas-area_ids": [str(east)],
        "areas-note": "Butler moves to the office"})
    assert reply.status_code == 302
    with app.app_context():
        [now, before] = cover.periods(east)
        assert (now.butler_id, before.butler_id, before.ends_at is not None) == (
            estate.relief_butler, estate.butler, True)
        assert db.session.get(Ticket, repair).assignee_id == estate.relief_butler  # handed over
    [entry] = entries(app, subject_type="area")
    assert (entry.before, entry.after) == ({"butler_id": estate.butler},
                                           {"butler_id": estate.relief_butler})

    # Taking an area away means naming its next butler: refused here, naming the field.
    kept = assert_error(client.put(f"{API}/users/{estate.relief_butler}/areas",
                                   headers=token_for(client, "admin"), json={"area_ids": []}),
                        409, "conflict", "area_ids")
    assert "East" in kept["fields"]["area_ids"]
    assert_error(client.put(f"{API}/users/{estate.technician}/areas",
                            headers=token_for(client, "admin"), json={"area_ids": [east]}),
                 409, "conflict", "area_ids")
    assert_error(client.put(f"{API}/users/{estate.relief_butler}/areas",
                            headers=token_for(client, "admin"), json={"area_ids": ["x"]}),
                 422, "invalid", "area_ids")


@pytest.mark.parametrize("who", ["resident", "butler", "technician", "supervisor"])
def test_nobody_but_the_admin_manages_accounts_or_reads_the_log(client, browser, estate, who):
    page = browser(who)
    for path in ("/admin/people", "/admin/people/new", f"/admin/people/{estate.butler}",
                 "/admin/audit"):
        assert page.get(path).status_code == 403, path
    headers = token_for(client, who)
    for method, path, body in (("GET", "/users", None), ("GET", f"/users/{estate.butler}", None),
                               ("POST", "/users", {"username": "x", "name": "X",
                                                   "role": "butler"}),
                               ("PATCH", f"/users/{estate.butler}", {"active": False}),
                               ("PUT", f"/users/{estate.butler}/areas", {"area_ids": []}),
                               ("GET", "/audit", None)):
        assert_error(client.open(f"{API}{path}", method=method, headers=headers, json=body),
                     403, "forbidden")
    assert client.post(f"{API}/tokens", json={"username": "butler",
                                              "password": PASSWORD}).status_code == 201


def test_the_admin_reads_and_filters_the_log(app, client, browser, estate):
    admin = token_for(client, "admin")
    client.patch(f"{API}/users/{estate.technician}", headers=admin, json={"name": "Tech Sun"})
    client.post(f"{API}/units/{estate.unit_a}/invitation", headers=admin)
    everything = client.get(f"{API}/audit", headers=admin).json["entries"]
    assert [e["action"] for e in everything] == ["invitation_issued", "changed"]
    people_only = client.get(f"{API}/audit?subject_type=user", headers=admin).json["entries"]
    assert [e["after"] for e in people_only] == [{"name": "Tech Sun"}]
    assert client.get(f"{API}/audit?since=2099-01-01", headers=admin).json["entries"] == []
    assert_error(client.get(f"{API}/audit?since=soon", headers=admin), 422, "invalid", "since")

    page = browser("admin")
    shown = page.get("/admin/audit?subject_type=user").text
    assert "Tech Sun" in shown and "invitation code issued" not in shown
    assert "There is a problem" in page.get("/admin/audit?since=yesterday").text
    assert "审计日志" in browser("admin", "zh-CN").get("/admin/audit").text


def test_the_command_line_deactivates_and_its_change_is_logged(app, runner, estate):
    result = runner.invoke(args=["deactivate-user", "other_technician"])
    assert result.exit_code == 0, result.output
    [entry] = entries(app, subject_type="user")
    assert (entry.actor_id, entry.action) == (None, "deactivated")
