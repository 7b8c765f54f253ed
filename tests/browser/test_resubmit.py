"""A resident on a phone, in a real browser, puts a rejected renovation application right: reads
the butler's reason, changes the prefilled details (a mistake is shown and what was typed kept),
resubmits, and sees the change in the timeline.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from models import Ticket, User, db
from tests.browser.conftest import screenshot
from workflows import engine

DETAILS = {"works_start": "2099-03-01", "works_end": "2099-03-31",
           "contractor_name": "安居装饰 Anju Decoration", "contractor_phone": "021 5555 0101",
           "foreman_name": "刘工 Liu", "foreman_phone": "138 0013 8000", "workers": 3}
REASON = "Too many workers for the goods lift: at most 2 at a time"


@pytest.fixture(autouse=True)
def uploads_in_tmp(app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")


def _user(username: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == username))


@pytest.fixture
def rejected(app) -> int:
    with app.app_context():
        permit = engine.open_ticket(_user("resident"), "renovation", "Kitchen renovation",
                                    details=DETAILS)
        engine.fire(permit.id, "reject", _user("butler"), permit.version, reason=REASON)
        return permit.id


def test_resident_changes_a_rejected_application_and_resubmits_it(app, login, rejected):
    page = login("resident", phone=True)
    page.get_by_role("link", name="Kitchen renovation").click()
    expect(page.locator(".state-badge")).to_have_text("Rejected")
    expect(page.locator(".message")).to_contain_text(REASON)
    form = page.locator(".change-details")
    expect(form.get_by_label("Number of workers")).to_have_value("3")
    expect(form.get_by_label("Contractor (company or person)")).to_have_value(
        "安居装饰 Anju Decoration")
    expect(form.get_by_label("Works start")).to_have_value("2099-03-01")

    form.get_by_label("Works end").fill("2099-02-01")          # a slip: before the start
    form.get_by_label("Comment (optional)").fill("Two workers, the lift booked each morning")
    form.get_by_label("Number of workers").fill("2")
    form.get_by_role("button", name="Resubmit the application").click()

    form = page.locator(".change-details")
    expect(form.locator(".field.has-error .error")).to_contain_text(
        "must not be before Works start")
    expect(form.get_by_label("Number of workers")).to_have_value("2")
    expect(form.get_by_label("Comment (optional)")).to_have_value(
        "Two workers, the lift booked each morning")
    with app.app_context():
        assert db.session.get(Ticket, rejected).state == "rejected"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "resident-resubmit-error")

    form.get_by_label("Works end").fill("2099-04-15")
    form.get_by_role("button", name="Resubmit the application").click()
    expect(page.locator(".state-badge")).to_have_text("Applied")
    expect(page.locator(".next-step")).to_contain_text("Your butler will review the application")
    expect(page.locator(".change-details")).to_have_count(0)
    changes = page.locator(".timeline .changes")
    expect(changes).to_contain_text("Number of workers: 3 → 2")
    expect(changes).to_contain_text("Works end: 2099-03-31 → 2099-04-15")
    expect(page.locator(".renovation-details")).to_contain_text("2099-03-01 – 2099-04-15")
    screenshot(page, "resident-resubmitted")
    with app.app_context():
        ticket = db.session.get(Ticket, rejected)
        assert (ticket.state, ticket.details["workers"]) == ("applied", 2)
