"""Search and a unit's page: a ticket by number, unit, resident's name or phone, or words of it,
within what the searcher may see; a unit with its residents and the history of its tickets."""
from __future__ import annotations

import pytest

from models import db
from tests.api import API, token_for
from tests.conftest import Desk
from workflows import search


@pytest.fixture
def requests(app, estate):
    """A tap in the resident's unit (East, butler's area), a lock in the West (other_butler's),
    made in an app context of their own (the pages' requests then start afresh)."""
    with app.app_context():
        desk = Desk(estate)
        made = {"tap": desk.open("resident", title="Kitchen tap leaking").id,
                "lock": desk.open("west_resident", title="Door lock broken",
                                  description="the key turns but the lock sticks").id}
        db.session.remove()
    return made


def found(estate, who: str, text: str) -> list[int]:
    return [t.id for t in search.search(estate.user(who), text).tickets]


@pytest.mark.parametrize("text, wanted", [
    ("tap", ["tap"]), ("LOCK STICKS", ["lock"]), ("sticks", ["lock"]),
    ("1栋 101", ["tap"]), ("1栋101", ["tap"]), ("West_res", ["lock"]),
    ("resident", ["lock", "tap"]), ("0101", ["tap"]),
    ("138-0000-0101", ["tap"]), ("4栋 101", ["lock"]), ("%", []), ("_a", []),
    # building-unit with a dash, as people type it
    ("1-101", ["tap"]), ("4 - 101", ["lock"]), ("1栋-101", ["tap"]), ("4－101", ["lock"]),
    ("1/101", ["tap"]), ("2-101", []), ("1-10", []), ("栋-101", []),
])
def test_a_supervisor_finds_by_words_unit_name_or_phone(ctx, estate, requests, text, wanted):
    assert found(estate, "supervisor", text) == [requests[name] for name in wanted]


def test_a_ticket_by_its_number_with_or_without_the_hash(ctx, estate, requests):
    number = requests["lock"]
    assert number in found(estate, "supervisor", f"#{number}")
    assert number in found(estate, "supervisor", str(number))


def test_a_butler_finds_only_what_they_may_see(ctx, estate, requests):
    assert found(estate, "butler", "lock") == []
    assert found(estate, "butler", "tap") == [requests["tap"]]
    assert [u.label for u in search.search(estate.user("butler"), "101").units] == ["1栋 101"]


def test_a_single_character_finds_nothing_but_a_single_digit_is_a_ticket_number(ctx, estate,
                                                                                requests):
    assert search.search(estate.user("supervisor"), " t ").tickets == []
    assert [t.id for t in search.search(estate.user("supervisor"), "1").tickets] == [1]


def test_the_search_page_lists_units_and_requests(browser, estate, requests):
    page = browser("supervisor").get("/search?q=101").text
    assert f'data-unit="{estate.unit_a}"' in page and f'data-unit="{estate.unit_w}"' in page
    dashed = browser("supervisor").get("/search?q=1-101").text
    assert f'data-unit="{estate.unit_a}"' in dashed and f'data-unit="{estate.unit_w}"' not in dashed
    assert f'data-ticket="{requests["tap"]}"' in page and "Resident" in page
    short = browser("supervisor").get("/search?q=x").text
    assert "Type at least 2 characters." in short


def test_the_unit_page_shows_its_residents_and_history(browser, estate, requests):
    page = browser("butler").get(f"/units/{estate.unit_a}").text
    assert "Resident" in page and "138 0000 0101" in page
    assert f'data-ticket="{requests["tap"]}"' in page
    assert browser("butler").get(f"/units/{estate.unit_w}").status_code == 403
    assert browser("resident").get(f"/units/{estate.unit_a}").status_code == 403
    assert browser("supervisor").get("/units/999999").status_code == 404


def test_the_api_searches_and_opens_a_unit(client, estate, requests):
    headers = token_for(client, "supervisor")
    reply = client.get(f"{API}/search", query_string={"q": "Door"}, headers=headers)
    assert reply.status_code == 200
    assert [t["id"] for t in reply.json["tickets"]] == [requests["lock"]]
    assert client.get(f"{API}/search?q=x", headers=headers).json["error"]["fields"] == {
        "q": "must be 2 characters at least, or a ticket's number"}
    unit = client.get(f"{API}/units/{estate.unit_a}", headers=headers).json
    assert [r["phone"] for r in unit["residents"]] == ["138 0000 0101"]
    assert [t["id"] for t in unit["tickets"]] == [requests["tap"]]


def test_a_unit_number_too_large_to_be_an_id_is_not_found(client, estate):
    headers = token_for(client, "supervisor")
    assert client.get(f"{API}/units/{2**70}", headers=headers).status_code == 404
