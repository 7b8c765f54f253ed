"""The JSON API's notifications: what the bell holds, newest first, and marking it read; and the
email address in the user object, for the person themself and staff only."""
from __future__ import annotations

from datetime import timedelta

from tests.api import API, assert_error, fire, open_ticket, token_for


def test_my_notifications_newest_first_with_their_words_in_english(client, estate, clock):
    resident = token_for(client, "resident")
    first = open_ticket(client, resident, title="Tap leaking")["id"]
    clock.shift(timedelta(minutes=1))
    second = open_ticket(client, resident, title="Door stuck")["id"]
    reply = client.get(f"{API}/notifications", headers=token_for(client, "butler"))
    assert reply.status_code == 200
    listed = reply.json
    assert [n["ticket_id"] for n in listed["notifications"]] == [second, first]
    newest = listed["notifications"][0]
    assert newest["cause"] == "new" and newest["url"] == f"/tickets/{second}"
    assert newest["subject"] == f"New: Repair #{second} Door stuck"
    assert newest["text"] == f"Repair #{second} Door stuck came in (East · 1栋 101)."
    assert newest["read_at"] is None and newest["created_at"].startswith("2026-11-16T01:01")
    assert (listed["unread"], listed["total"], listed["page"], listed["per_page"]) == (2, 2, 1, 50)
    assert client.get(f"{API}/notifications", headers=resident).json["notifications"] == []


def test_reading_one_and_then_all(client, estate, clock):
    resident, butler = token_for(client, "resident"), token_for(client, "butler")
    open_ticket(client, resident, title="Tap leaking")
    open_ticket(client, resident, title="Door stuck")
    newest, older = client.get(f"{API}/notifications", headers=butler).json["notifications"]
    read = client.post(f"{API}/notifications/{older['id']}/read", headers=butler)
    assert read.status_code == 200 and read.json["read_at"].startswith("2026-11-16T01:00")
    again = client.post(f"{API}/notifications/{older['id']}/read", headers=butler)
    assert again.json["read_at"] == read.json["read_at"]  # read once, at the first time
    unread = client.get(f"{API}/notifications?unread=true", headers=butler).json
    assert [n["id"] for n in unread["notifications"]] == [newest["id"]]
    assert unread["unread"] == unread["total"] == 1
    everything = client.post(f"{API}/notifications/read", headers=butler)
    assert everything.status_code == 200 and everything.json == {"read": 1}
    assert client.get(f"{API}/notifications?unread=true", headers=butler).json["total"] == 0
    assert client.get(f"{API}/notifications", headers=butler).json["total"] == 2


def test_another_persons_notification_is_not_found(client, estate, clock):
    open_ticket(client, token_for(client, "resident"))
    [notice] = client.get(f"{API}/notifications",
                          headers=token_for(client, "butler")).json["notifications"]
    other = token_for(client, "other_butler")
    assert_error(client.post(f"{API}/notifications/{notice['id']}/read", headers=other), 404,
                 "not_found")
    assert_error(client.post(f"{API}/notifications/2147483647/read", headers=other), 404,
                 "not_found")
    assert client.post(f"{API}/notifications/read", headers=other).json == {"read": 0}
    assert client.get(f"{API}/notifications?unread=true",
                      headers=token_for(client, "butler")).json["total"] == 1


def test_a_bad_filter_or_page_is_refused(client, estate, clock):
    butler = token_for(client, "butler")
    for query, field in (("unread=yes", "unread"), ("page=0", "page"), ("per_page=x", "per_page")):
        reply = client.get(f"{API}/notifications?{query}", headers=butler)
        assert_error(reply, 422, "invalid")
        assert field in reply.json["error"]["fields"]


def test_pages_of_notifications(client, estate, clock):
    resident = token_for(client, "resident")
    for number in range(3):
        open_ticket(client, resident, title=f"Leak {number}")
    butler = token_for(client, "butler")
    page = client.get(f"{API}/notifications?per_page=2&page=2", headers=butler).json
    assert [n["subject"].rsplit(" ", 1)[1] for n in page["notifications"]] == ["0"]
    assert page["total"] == 3 and page["per_page"] == 2


def test_a_step_tells_the_resident_in_the_api(client, estate, clock):
    resident, butler = token_for(client, "resident"), token_for(client, "butler")
    ticket = open_ticket(client, resident)["id"]
    assert fire(client, butler, ticket, "dispatch",
                technician_id=estate.technician).status_code == 200
    [told] = client.get(f"{API}/notifications", headers=resident).json["notifications"]
    assert told["cause"] == "step"
    assert told["subject"] == f"Repair #{ticket} Tap leaking: Technician dispatched"


def test_the_email_address_is_shown_to_the_person_and_to_staff_only(app, client, estate, clock):
    from models import User, db

    with app.app_context():
        db.session.get(User, estate.resident).email = "li@example.com"
        db.session.commit()
    resident = token_for(client, "resident")
    assert client.get(f"{API}/me", headers=resident).json["email"] == "li@example.com"
    ticket = open_ticket(client, resident)["id"]
    seen = client.get(f"{API}/tickets/{ticket}", headers=token_for(client, "butler")).json
    assert seen["resident"]["email"] == "li@example.com"
    own = client.get(f"{API}/tickets/{ticket}", headers=resident).json
    assert own["resident"]["email"] == "li@example.com"
    assert "email" not in own["assignee"]  # a resident does not see the butler's address
