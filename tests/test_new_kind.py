"""A new kind of ticket is data only: copy a kind's table in the rules file, rename it and change
its labels, and it works end to end, with no file of code or template touched."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from models import Ticket, db
from tests.api import API, fire, open_ticket, token_for
from tests.conftest import make_app
from tests.pages import submit, ticket_from
from workflows import sweeper

RULES = Path(__file__).resolve().parent.parent / "workflows" / "rules.toml"


def with_a_copy(source: str, name: str, label_en: str, label_zh: str) -> str:
    """The rules file with kind `source` copied as `name`: every table of it, relabelled."""
    text = RULES.read_text(encoding="utf-8")
    tables = re.findall(rf"^\[{source}(?:\.[^\]]+)?\]\n(?:(?!\[).*\n)*", text, re.M)
    copy = "".join(tables).replace(f"[{source}", f"[{name}")
    original = re.search(rf"^\[{source}\]\nlabel = (.*)$", text, re.M).group(1)
    copy = copy.replace(f"label = {original}",
                        f'label = {{ en = "{label_en}", zh = "{label_zh}" }}', 1)
    return text + "\n" + copy


@pytest.fixture
def app(database_url, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(with_a_copy("renovation", "fitout", "Shop fit-out permit", "商铺装修申请"),
                     encoding="utf-8")
    app = make_app(database_url, RULES_FILE=str(rules), UPLOAD_FOLDER=str(tmp_path / "uploads"))
    yield app
    with app.app_context():
        db.engine.dispose()


FITOUT = {"kind": "fitout", "title": "Shop front", "works_start": "2026-11-20",
          "works_end": "2026-12-20", "contractor_name": "安居装饰",
          "contractor_phone": "021 5555 0101", "foreman_name": "刘工",
          "foreman_phone": "138 0013 8000", "workers": "3"}


def test_the_copied_kind_is_offered_and_registered_through_the_form(app, browser, clock):
    resident = browser("resident")
    form = resident.get("/tickets/new").text
    assert 'value="fitout"' in form and "Shop fit-out permit" in form
    assert "kinds.css" in form
    assert 'value="fitout"' in resident.get("/tickets/kinds.css").text

    ticket = ticket_from(submit(resident, FITOUT))
    with app.app_context():
        made = db.session.get(Ticket, ticket)
        assert (made.kind, made.state, made.details["workers"]) == ("fitout", "applied", 3)
    mine = resident.get("/my/").text
    assert "Shop fit-out permit" in mine
    assert "Your butler will review the application by 11-18 09:00." in mine
    page = browser("butler").get(f"/tickets/{ticket}").text
    assert "Shop fit-out permit" in page and "Review the application" in page
    assert "Shop fit-out permit details" in page and "安居装饰" in page


def test_the_copied_kind_runs_its_course_through_the_api(app, client, clock):
    resident, butler = token_for(client, "resident"), token_for(client, "butler")
    details = {k: v for k, v in FITOUT.items() if k not in ("kind", "title")} | {"workers": 3}
    ticket = open_ticket(client, resident, kind="fitout", title="Shop front", details=details)
    assert [d["name"] for d in ticket["deadlines"]] == ["review"]
    assert fire(client, butler, ticket["id"], "approve").json["state"] == "approved"
    assert fire(client, resident, ticket["id"], "start_works").json["state"] == "in_progress"
    clock.shift(timedelta(hours=25))
    with app.app_context():
        assert sweeper.sweep() == 1  # a day without an inspection
    shown = client.get(f"{API}/tickets/{ticket['id']}", headers=butler).json
    assert [e["trigger"] for e in shown["events"]][-1] == "deadline_missed"
    assert (client.get(f"{API}/workflows", headers=butler).json["fitout"]["label"]["zh"]
            == "商铺装修申请")


def test_the_copied_kind_has_its_diagram(app, browser, clock):
    page = browser("supervisor").get("/supervisor/workflows").text
    fitout = re.search(r'<pre class="mermaid" data-kind="fitout">(.*?)</pre>', page, re.S)
    assert fitout and "Shop fit-out permit" in fitout.group(1)
