"""The JSON API and renovation applications: their details (works period, contractor, foreman,
workers) when one is opened and when a rejected one is resubmitted, and photos and documents
(a floor plan) added to any ticket as multipart/form-data, listed in the ticket and served only
to those who may see the ticket.

Driven over HTTP with bearer tokens, as in test_api.py; every error is the API's JSON error and
a refusal stores nothing: no ticket, no detail, no attachment row and no file.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from models import Attachment, Event, Ticket, db
from tests.api import API, assert_error, fire, open_ticket, token_for
from tests.pages import PNG, csrf_token

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
DETAILS = {"works_start": "2026-11-20", "works_end": "2026-12-20",
           "contractor_name": "安居装饰 Anju Decoration", "contractor_phone": "021 5555 0101",
           "foreman_name": "刘工 Liu", "foreman_phone": "138 0013 8000", "workers": 4}


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    """Where the files go; each test can check that nothing was left there."""
    folder = tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = str(folder)
    return folder


def counts(app) -> tuple[int, int, int]:
    """(tickets, events, attachments) as stored."""
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Ticket, Event, Attachment))


def stored_files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def renovation(client, who: str = "resident", **details) -> dict:
    return open_ticket(client, token_for(client, who), kind="renovation", title="New kitchen",
                       details={**DETAILS, **details})


def upload(client, ticket_id: int, who: str, files: list[tuple[bytes, str]], **form):
    data = {"file": [(io.BytesIO(content), name) for content, name in files], **form}
    return client.post(f"{API}/tickets/{ticket_id}/attachments", headers=token_for(client, who),
                       data=data, content_type="multipart/form-data")


# -- details when a renovation is opened ----------------------------------------------------------

def test_a_renovation_is_opened_with_its_details_and_shows_them(client, estate, clock):
    created = renovation(client, workers="4")
    assert created["details"] == DETAILS            # workers "4" is stored as the number 4
    assert created["attachments"] == []

    for who in ("resident", "butler", "supervisor"):
        reply = client.get(f"{API}/tickets/{created['id']}", headers=token_for(client, who))
        assert reply.json["details"] == DETAILS, who
    listed = client.get(f"{API}/tickets?kind=renovation", headers=token_for(client, "butler"))
    assert [t["details"] for t in listed.json["tickets"]] == [DETAILS]


def test_staff_register_a_renovation_for_a_unit_with_its_details(client, estate, clock):
    created = open_ticket(client, token_for(client, "butler"), kind="renovation",
                          title="New kitchen", unit_id=estate.unit_a,
                          details={**DETAILS, "foreman_name": "王工 Wang"})
    assert created["resident"]["username"] == "resident"
    assert created["details"]["foreman_name"] == "王工 Wang"


def test_tickets_without_details_show_an_empty_table(client, clock):
    """Clients that send no details (a repair, or an older client) get none."""
    headers = token_for(client, "resident")
    assert open_ticket(client, headers)["details"] == {}
    assert open_ticket(client, headers, kind="renovation", title="Paint")["details"] == {}


@pytest.mark.parametrize("field, value, message", [
    ("works_start", "2026-11-15", "must not be in the past"),
    ("works_start", "next monday", "must be a date like"),
    ("works_start", 20261120, "must be a date like"),
    ("works_start", None, "is required"),
    ("works_end", "2026-11-19", "must not be before the start"),
    ("works_end", "2028-01-01", "at most 366 days after the start"),
    ("contractor_name", "", "is required"),
    ("contractor_name", ["安居"], "is required"),
    ("contractor_name", "安" * 101, "at most 100 characters"),
    ("contractor_phone", "call the office", "phone number"),
    ("foreman_name", "   ", "is required"),
    ("foreman_phone", 13800138000, "is required"),
    ("foreman_phone", "12", "phone number"),
    ("workers", 0, "whole number from 1 to 200"),
    ("workers", 201, "whole number from 1 to 200"),
    ("workers", 2.5, "whole number"),
    ("workers", True, "whole number"),
    ("workers", "²", "whole number"),
    ("workers", None, "is required"),
])
def test_each_bad_detail_is_422_naming_it_and_nothing_is_stored(app, client, clock, uploads,
                                                                field, value, message):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "resident"), json={
        "kind": "renovation", "title": "New kitchen", "details": {**DETAILS, field: value}})
    err = assert_error(reply, 422, "invalid", field)
    assert message in err["fields"][field]
    assert set(err["fields"]) == {field}            # only the bad one is named
    assert counts(app) == (0, 0, 0)


def test_every_bad_detail_is_named_at_once(app, client, clock):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "resident"), json={
        "kind": "renovation", "title": "", "details": {"works_start": "2026-11-20",
                                                       "workers": "many"}})
    err = assert_error(reply, 422, "invalid")
    assert set(err["fields"]) == {"title", "works_end", "contractor_name", "contractor_phone",
                                  "foreman_name", "foreman_phone", "workers"}
    assert counts(app) == (0, 0, 0)


@pytest.mark.parametrize("kind, details, message", [
    ("renovation", "all of them", "must be a table of details"),
    ("renovation", ["works_start"], "must be a table of details"),
    ("renovation", {**DETAILS, "deposit": 5000}, "takes no deposit"),
    ("repair", {"workers": 2}, "a repair takes no workers"),
])
def test_details_that_are_not_the_kinds_are_422_under_details(app, client, clock, kind, details,
                                                              message):
    reply = client.post(f"{API}/tickets", headers=token_for(client, "resident"), json={
        "kind": kind, "title": "New kitchen", "details": details})
    err = assert_error(reply, 422, "invalid", "details")
    assert message in err["fields"]["details"]
    assert counts(app) == (0, 0, 0)


# -- details when a rejected renovation is resubmitted --------------------------------------------

def test_a_rejected_renovation_is_resubmitted_with_changed_details(app, client, estate, clock):
    ticket = renovation(client)["id"]
    butler, resident = token_for(client, "butler"), token_for(client, "resident")
    assert fire(client, butler, ticket, "reject", reason="Too many workers").status_code == 200
    [resubmit, withdraw] = client.get(f"{API}/tickets/{ticket}",
                                      headers=resident).json["allowed_triggers"]
    assert withdraw["name"] == "withdraw"
    assert (resubmit["name"], resubmit["accepts"]) == (
        "resubmit", ["title", "description", "details", "note"])

    reply = fire(client, resident, ticket, "resubmit", details={"workers": 2})
    assert reply.status_code == 200, reply.json
    assert reply.json["state"] == "applied"
    assert reply.json["details"] == {**DETAILS, "workers": 2}
    assert reply.json["events"][-1]["data"] == {"details": {"workers": {"from": 4, "to": 2}}}


@pytest.mark.parametrize("details, field", [
    ({"workers": 0}, "workers"),
    ({"works_end": "2026-11-01"}, "works_end"),
    ({"foreman_phone": ""}, "foreman_phone"),
    ({"lift": "reserved"}, "details"),
    ("two workers", "details"),
])
def test_a_bad_detail_in_a_resubmission_is_422_and_changes_nothing(app, client, estate, clock,
                                                                   details, field):
    ticket = renovation(client)["id"]
    assert fire(client, token_for(client, "butler"), ticket, "reject",
                reason="Too many workers").status_code == 200
    before = client.get(f"{API}/tickets/{ticket}", headers=token_for(client, "resident")).json

    reply = fire(client, token_for(client, "resident"), ticket, "resubmit", details=details)
    assert_error(reply, 422, "invalid", field)
    after = client.get(f"{API}/tickets/{ticket}", headers=token_for(client, "resident")).json
    assert (after["state"], after["version"], after["details"], after["events"]) == (
        "rejected", before["version"], DETAILS, before["events"])


# -- attachments ----------------------------------------------------------------------------------

def test_a_resident_adds_a_floor_plan_and_it_is_listed_and_served(app, client, estate, clock,
                                                                 uploads):
    ticket = renovation(client)
    reply = upload(client, ticket["id"], "resident", [(PNG, "floor-plan.png")], kind="floor_plan")
    assert reply.status_code == 201, reply.json
    [added] = reply.json["attachments"]
    assert {k: v for k, v in added.items() if k not in ("id", "url")} == {
        "name": "floor-plan.png", "content_type": "image/png", "size": len(PNG),
        "kind": "floor_plan", "step": "attach", "added_at": "2026-11-16T01:00:00+00:00",
        "added_by": {"id": estate.resident, "name": "Resident", "username": "resident",
                     "email": None, "phone": "138 0000 0101"}}
    assert added["url"] == f"{API}/tickets/{ticket['id']}/attachments/{added['id']}"
    assert len(stored_files(uploads)) == 1

    # The ticket lists it (adding a file is no step: the version stays), and the timeline says so.
    shown = client.get(f"{API}/tickets/{ticket['id']}", headers=token_for(client, "butler")).json
    assert shown["attachments"] == [added]
    assert (shown["state"], shown["version"]) == ("applied", ticket["version"])
    event = shown["events"][-1]
    assert (event["trigger"], event["from_state"], event["to_state"], event["data"]) == (
        "attach", "applied", "applied", {"kind": "floor_plan"})

    for who in ("resident", "butler", "supervisor"):
        served = client.get(added["url"], headers=token_for(client, who))
        assert served.status_code == 200, who
        assert (served.data, served.mimetype) == (PNG, "image/png")
        assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_several_files_at_once_and_files_with_the_steps_are_listed(client, estate, clock):
    ticket = renovation(client)["id"]
    reply = upload(client, ticket, "butler", [(PDF, "licence.pdf"), (PNG, "site.png")])
    assert reply.status_code == 201
    assert [(a["name"], a["kind"], a["content_type"]) for a in reply.json["attachments"]] == [
        ("licence.pdf", None, "application/pdf"), ("site.png", None, "image/png")]
    pdf = client.get(reply.json["attachments"][0]["url"], headers=token_for(client, "resident"))
    assert pdf.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("content, name, message", [
    (b"<html>not a picture</html>", "plan.png", "is not a JPEG, PNG, WebP or PDF file"),
    (b"MZ\x90\x00 an executable", "plan.pdf", "is not a JPEG, PNG, WebP or PDF file"),
    (b"", "empty.png", "The file is empty"),
    (PNG + b"\x00" * (10 * 1024 * 1024), "huge.png", "larger than 10 MB"),
])
def test_a_file_that_is_not_a_photo_or_pdf_or_too_big_is_422_and_nothing_is_kept(
        app, client, clock, uploads, content, name, message):
    ticket = renovation(client)["id"]
    before = counts(app)
    reply = upload(client, ticket, "resident", [(PNG, "good.png"), (content, name)])
    err = assert_error(reply, 422, "invalid", "file")
    assert name in err["fields"]["file"] and message in err["fields"]["file"]
    assert "good.png" not in err["fields"]["file"]
    assert counts(app) == before
    assert stored_files(uploads) == []


@pytest.mark.parametrize("form, field", [
    ({}, "file"),
    ({"kind": "selfie"}, "kind"),
])
def test_no_file_or_an_unknown_kind_is_422(app, client, clock, uploads, form, field):
    ticket = renovation(client)["id"]
    before = counts(app)
    files = [] if field == "file" else [(PNG, "plan.png")]
    assert_error(upload(client, ticket, "resident", files, **form), 422, "invalid", field)
    assert counts(app) == before
    assert stored_files(uploads) == []


@pytest.mark.parametrize("who", ["neighbour", "west_resident", "other_butler", "technician"])
def test_adding_to_a_ticket_the_caller_may_not_see_is_404(app, client, clock, uploads, who):
    ticket = renovation(client)["id"]
    before = counts(app)
    assert_error(upload(client, ticket, who, [(PNG, "plan.png")]), 404, "not_found")
    assert_error(upload(client, 9999, who, [(PNG, "plan.png")]), 404, "not_found")
    assert counts(app) == before
    assert stored_files(uploads) == []


def test_no_files_are_added_to_a_finished_ticket(app, client, estate, clock, uploads):
    ticket = open_ticket(client, token_for(client, "resident"))["id"]
    assert fire(client, token_for(client, "resident"), ticket, "cancel",
                reason="Fixed it myself").status_code == 200
    before = counts(app)
    assert_error(upload(client, ticket, "resident", [(PNG, "tap.png")]), 409, "conflict")
    assert counts(app) == before
    assert stored_files(uploads) == []


def test_adding_files_needs_a_login_and_a_browser_session_needs_its_csrf_header(
        app, client, browser, uploads):
    ticket = renovation(client)["id"]
    before = counts(app)

    def send(sender, **headers):
        return sender.post(f"{API}/tickets/{ticket}/attachments", headers=headers,
                           data={"file": (io.BytesIO(PNG), "plan.png")},
                           content_type="multipart/form-data")

    assert_error(send(client), 401, "unauthorized")
    session = browser("resident")
    assert_error(send(session), 400, "csrf")
    assert counts(app) == before and stored_files(uploads) == []
    token = csrf_token(session.get("/my/").text)
    assert send(session, **{"X-CSRFToken": token}).status_code == 201


def test_a_file_is_served_only_to_those_who_may_see_its_ticket(client, estate, clock):
    ticket = renovation(client)["id"]
    [added] = upload(client, ticket, "resident", [(PNG, "plan.png")]).json["attachments"]
    other = renovation(client, "neighbour")["id"]

    for who in ("neighbour", "west_resident", "other_butler", "technician"):
        assert_error(client.get(added["url"], headers=token_for(client, who)), 404, "not_found")
    # Under another ticket's address, or an id that is no attachment, it is not found either.
    for path in (f"/tickets/{other}/attachments/{added['id']}",
                 f"/tickets/{ticket}/attachments/9999",
                 f"/tickets/{ticket}/attachments/99999999999999999999"):
        assert_error(client.get(API + path, headers=token_for(client, "supervisor")), 404)
    assert_error(client.get(added["url"]), 401, "unauthorized")


def test_files_opened_with_a_ticket_or_added_with_a_step_are_listed_with_it(app, client, estate,
                                                                           browser):
    """Files sent through the pages show up in the ticket JSON too, with the step they came with."""
    from tests.pages import RENOVATION, submit, ticket_from

    ticket = ticket_from(submit(browser("resident"), RENOVATION,
                                {"documents": [(PDF, "floor-plan.pdf")]}))
    shown = client.get(f"{API}/tickets/{ticket}", headers=token_for(client, "butler")).json
    assert [(a["name"], a["step"], a["kind"]) for a in shown["attachments"]] == [
        ("floor-plan.pdf", "create", None)]
    assert client.get(shown["attachments"][0]["url"],
                      headers=token_for(client, "resident")).data == PDF
