"""Issue 13's done-when, the whole path in one test: from an empty database (the migrations, no
estate, nobody), `create-admin`; the admin makes an estate and two areas, a butler with one of
them, imports an owner sheet of 2,000 units with their residents (a file with bad rows first: the
report names them; fixed, it imports), prints a building's invitation codes; a resident gets in
with a printed code on a 375 px phone and reports a repair, which is in the queue of the butler
of the unit's area; the admin deactivates that butler, whose API token answers 401 at once."""
from __future__ import annotations

import re

import flask_migrate
import pytest
from playwright.sync_api import expect

from models import db
from tests.browser.conftest import screenshot
from tests.conftest import database_of, make_app
from tests.helpers import no_horizontal_scroll, owner_rows, xlsx_of

ADMIN_PASSWORD = "a long admin secret"
BUTLER_PASSWORD = "a long butler secret"
RESIDENT_PASSWORD = "a long resident secret"
UNITS = 2000


@pytest.fixture
def app(databases, tmp_path):
    """The app on an empty database of its own: the schema, and nothing in it."""
    url = databases.empty()
    with database_of(make_app(url)):
        flask_migrate.upgrade()
    app = make_app(url, UPLOAD_FOLDER=str(tmp_path / "uploads"))
    yield app
    with app.app_context():
        db.engine.dispose()
    databases.drop(url)


def _bad(rows: list[list]) -> list[list]:
    """The sheet as first typed: a phone a digit short (row 6), a unit twice (row 9), a unit
    number left out (row 12); the header is row 1."""
    bad = [list(row) for row in rows]
    bad[4][3] = "1370000004"
    bad[7] = list(bad[6])
    bad[10][1] = None
    return bad


def test_from_an_empty_database_to_the_first_repair(app, live_server, login, chromium,
                                                    tmp_path):
    made = app.test_cli_runner().invoke(args=["create-admin", "boss", "--name", "The Boss"],
                                        env={"ADMIN_PASSWORD": ADMIN_PASSWORD})
    assert made.exit_code == 0, made.output
    admin = login("boss", password=ADMIN_PASSWORD)
    admin.get_by_role("link", name="Administration").click()
    admin.locator(".admin-nav").get_by_role("link", name="Estates").click()
    expect(admin.locator(".empty")).to_have_text("There is no estate yet.")

    admin.get_by_label("Name").fill("Lakeside")
    admin.get_by_role("button", name="Make the estate").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Lakeside")
    for area in ("East", "West"):
        admin.get_by_label("Name of the new area").fill(area)
        admin.get_by_role("button", name="Add the area").click()
        expect(admin.locator(".flash.success")).to_have_text(f"The area {area} is made.")
    screenshot(admin, "from-nothing-estate")

    admin.locator(".admin-nav").get_by_role("link", name="People").click()
    admin.goto("/admin/people/new")
    admin.get_by_label("Username (to log in with)").fill("wang")
    admin.get_by_label("Full name").fill("Wang Butler")
    admin.get_by_label("Role").select_option("butler")
    admin.get_by_label("Initial password").fill(BUTLER_PASSWORD)
    admin.get_by_role("button", name="Make the account").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Wang Butler")
    butler_page = admin.url
    admin.get_by_label("Lakeside · East").check()
    admin.get_by_role("button", name="Save the areas").click()
    expect(admin.locator(".flash.success")).to_contain_text("The areas are saved")

    rows = owner_rows(UNITS, areas=("East", "West"))
    bad, good = tmp_path / "owners-first.xlsx", tmp_path / "owners.xlsx"
    bad.write_bytes(xlsx_of(_bad(rows)))
    good.write_bytes(xlsx_of(rows))
    admin.get_by_role("link", name="Import").click()
    admin.get_by_label("Estate", exact=True).select_option(label="Lakeside")
    admin.get_by_label(re.compile("^Owner sheet")).set_input_files(str(bad))
    admin.get_by_role("button", name="Preview").click()
    report = admin.locator(".import-report")
    expect(report.get_by_role("heading", level=2)).to_contain_text(
        "problems in owners-first.xlsx: nothing was imported")
    problems = report.locator(".problems li")
    expect(problems.filter(has_text="Row 6")).to_contain_text("not a mainland mobile number")
    expect(problems.filter(has_text="Row 9")).to_have_count(1)
    expect(problems.filter(has_text="Row 12")).to_contain_text("is empty")
    screenshot(admin, "from-nothing-import-problems")

    admin.get_by_label("Estate", exact=True).select_option(label="Lakeside")
    admin.get_by_label(re.compile("^Owner sheet")).set_input_files(str(good))
    admin.get_by_role("button", name="Preview").click()
    expect(report.locator("strong").first).to_have_text(
        "2,000 rows: 2,000 created, 0 changed, 0 unchanged")
    admin.get_by_role("button", name="Import", exact=True).click()
    expect(admin.locator(".flash.success")).to_contain_text("Lakeside imported")

    admin.goto("/admin/invitations")
    admin.get_by_role("row", name=re.compile("Lakeside · 11栋")).get_by_role(
        "button", name="Print codes").click()
    expect(admin.locator(".slip")).to_have_count(100)
    slip = admin.locator(".slip").filter(has_text=re.compile(r"Lakeside · 11栋 · 101\b"))
    code = slip.locator(".slip-code code").inner_text()
    address = slip.locator(".slip-link code").inner_text()
    screenshot(admin, "from-nothing-slips")

    resident = login(None, phone=True)
    resident.goto(address)
    resident.get_by_label("Mobile phone").fill("137 0000 0000")  # 业主0, of 11栋 101
    resident.get_by_label("Invitation code (from the slip, e.g. ABCD-2345)").fill(code)
    resident.get_by_label("Choose a password (at least 8 characters)").fill(RESIDENT_PASSWORD)
    resident.get_by_label("The password again").fill(RESIDENT_PASSWORD)
    assert no_horizontal_scroll(resident)
    screenshot(resident, "from-nothing-activate-375")
    resident.get_by_role("button", name="Get in", exact=True).click()
    expect(resident.locator(".flash")).to_contain_text("You are in")
    resident.get_by_label("Password").fill(RESIDENT_PASSWORD)
    resident.get_by_role("button", name="Log in").click()
    resident.get_by_role("link", name="Report: Repair, Complaint, Renovation permit").click()
    resident.get_by_label("What is it about").fill("Bathroom pipe leaking")
    resident.get_by_role("button", name="Submit").click()
    expect(resident.locator(".flash.success")).to_contain_text("is sent to your butler")
    assert no_horizontal_scroll(resident)
    screenshot(resident, "from-nothing-repair-375")

    butler = login("wang", password=BUTLER_PASSWORD)
    expect(butler.locator("main")).to_contain_text("Bathroom pipe leaking")
    screenshot(butler, "from-nothing-butler-queue")
    api = chromium.new_context(base_url=live_server)
    token = api.request.post("/api/v1/tokens", data={"username": "wang",
                                                     "password": BUTLER_PASSWORD})
    assert token.status == 201
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    assert [t["title"] for t in api.request.get("/api/v1/tickets", headers=bearer)
            .json()["tickets"]] == ["Bathroom pipe leaking"]

    admin.goto(butler_page)
    expect(admin.locator(".open-tickets")).to_contain_text("Bathroom pipe leaking")
    admin.get_by_role("button", name="Deactivate Wang Butler").click()
    expect(admin.locator(".flash.success")).to_contain_text("Wang Butler is deactivated")
    assert api.request.get("/api/v1/me", headers=bearer).status == 401
    api.close()
