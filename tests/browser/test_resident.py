"""A resident on a phone (375 px), in a real browser: submitting a repair with a photo, seeing it
in My requests with its next step, the messages of a bad upload and an empty required field (with
the typed text kept), rating after the follow-up and cancelling after a confirmation.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from models import Ticket, User, db
from tests.browser.conftest import screenshot
from workflows import engine

# A real 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a1d3e6e50000000049454e44ae426082")


@pytest.fixture(autouse=True)
def uploads_in_tmp(app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")


def _user(username: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == username))


def _fire(app, ticket_id: int, trigger: str, who: str, **data) -> None:
    with app.app_context():
        version = db.session.get(Ticket, ticket_id).version
        engine.fire(ticket_id, trigger, _user(who), version, **data)


def test_resident_submits_a_repair_with_a_photo_and_sees_what_happens_next(login, tmp_path):
    photo = tmp_path / "tap.png"
    photo.write_bytes(PNG)
    page = login("resident", phone=True)
    page.get_by_role("link", name="Report: Repair, Complaint, Renovation permit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New request")

    expect(page.get_by_label("Repair")).to_be_checked()      # the usual case, chosen already
    expect(page.get_by_label("Works start")).to_be_hidden()  # renovation only
    page.get_by_label("Renovation").check()
    expect(page.get_by_label("Works start")).to_be_visible()
    page.get_by_label("Repair").check()
    expect(page.get_by_label("Works start")).to_be_hidden()

    page.get_by_label("What is it about").fill("Kitchen tap leaking")
    page.get_by_label("Details (optional)").fill("Drips all night, under the sink too.")
    page.get_by_label(re.compile("^Photos")).set_input_files(str(photo))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    screenshot(page, "resident-new-request")
    page.get_by_role("button", name="Submit").click()

    expect(page.locator(".flash.success")).to_contain_text("is sent to your butler")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kitchen tap leaking")
    expect(page.locator(".next-step")).to_contain_text(
        "We are sending a technician; they are due by")
    thumb = page.locator(".gallery img").first
    expect(thumb).to_be_visible()
    page.wait_for_function("img => img.complete", arg=thumb.element_handle())  # a slow machine
    assert page.evaluate("img => img.naturalWidth", thumb.element_handle()) == 1  # really served
    assert "art." not in page.content()
    screenshot(page, "resident-ticket")

    page.get_by_role("link", name="My requests").click()
    card = page.locator(".request").filter(has_text="Kitchen tap leaking")
    expect(card).to_be_visible()
    expect(card.locator(".state-badge")).to_have_text("Reported")
    expect(card.locator(".next-step")).to_contain_text(
        # The real clock runs here: a due time past midnight comes with its date (12-02 00:01).
        re.compile(r"We are sending a technician; they are due by (\d\d-\d\d )?\d\d:\d\d"))
    expect(card.locator("img")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "resident-my-requests")


def test_a_bad_upload_and_an_empty_title_show_their_messages_and_keep_the_text(login, tmp_path):
    fake = tmp_path / "sink.png"
    fake.write_text("this is text, not a picture")
    page = login("resident", phone=True)
    page.goto("/tickets/new")
    page.get_by_label("Complaint").check()
    page.get_by_label("Details (optional)").fill("The lift has been noisy for a week.")
    page.get_by_label(re.compile("^Photos")).set_input_files(str(fake))
    page.get_by_role("button", name="Submit").click()

    title = page.locator(".field", has=page.get_by_label("What is it about"))
    expect(title.locator(".error")).to_contain_text("required")
    photos = page.locator(".field", has=page.get_by_label(re.compile("^Photos")))
    expect(photos.locator(".error")).to_contain_text("sink.png")
    expect(photos.locator(".error")).to_contain_text("JPEG, PNG, WebP or PDF")
    expect(page.get_by_label("Details (optional)")).to_have_value(
        "The lift has been noisy for a week.")
    expect(page.get_by_label("Complaint")).to_be_checked()
    expect(page.get_by_text("Choose the files again")).to_be_visible()
    screenshot(page, "resident-form-errors")

    # Put right, it goes through.
    page.get_by_label("What is it about").fill("Noisy lift")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Noisy lift")
    expect(page.locator(".next-step")).to_contain_text("Your butler will record it")


def test_resident_rates_after_the_follow_up(app, estate, login):
    with app.app_context():
        ticket = engine.open_ticket(_user("resident"), "repair", "Door lock broken").id
    _fire(app, ticket, "dispatch", "butler", technician_id=estate.technician)
    _fire(app, ticket, "arrive", "technician")
    _fire(app, ticket, "complete", "technician")
    _fire(app, ticket, "visit", "butler", rating=4, note="Called, all fine")

    page = login("resident", phone=True)
    card = page.locator(".request").filter(has_text="Door lock broken")
    expect(card.locator(".next-step")).to_have_text(
        "Your turn: how did it go? Rate it from 1 to 5.")
    card.get_by_role("link", name="Door lock broken").click()
    page.get_by_label("5 – very good").check()
    page.get_by_label("Comment (optional)").fill("Fast and tidy, thank you")
    screenshot(page, "resident-rate")
    page.get_by_role("button", name="Send my rating").click()
    expect(page.locator(".next-step")).to_have_text("Done. You rated it ★★★★★ — thank you.")
    expect(page.get_by_text("Fast and tidy, thank you")).to_be_visible()


def test_resident_cancels_after_confirming(app, login):
    with app.app_context():
        ticket = engine.open_ticket(_user("resident"), "repair", "Bathroom fan").id
    page = login("resident", phone=True)
    page.goto(f"/tickets/{ticket}")
    confirm = page.get_by_role("button", name="Yes, cancel the request")
    expect(confirm).to_be_hidden()                    # nothing is cancelled by one tap
    page.get_by_text("Cancel this request…").click()
    confirm.click()                                   # no reason: asked for one, nothing done
    expect(page.locator(".field.has-error .error")).to_contain_text("is required")
    page.get_by_label("Why do you cancel it? (required)").fill("It works again")
    page.get_by_role("button", name="Yes, cancel the request").click()
    expect(page.locator(".state-badge")).to_have_text("Cancelled")
    with app.app_context():
        assert db.session.get(Ticket, ticket).state == "cancelled"


def test_a_renovation_application_reaches_the_butler_with_its_details(login, tmp_path):
    plan = tmp_path / "floor-plan.pdf"
    plan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page = login("resident", phone=True)
    page.goto("/tickets/new")
    page.get_by_label("Renovation").check()
    page.get_by_label("What is it about").fill("Kitchen renovation")
    page.get_by_label("Works start").fill("2099-03-01")
    page.get_by_label("Works end").fill("2099-03-31")
    page.get_by_label("Contractor (company or person)").fill("安居装饰")
    page.get_by_label("Contractor's phone").fill("021 5555 0101")
    page.get_by_label("Number of workers").fill("3")
    # (Typed last, a focused number input swallows the click after a full-page screenshot.)
    page.get_by_label("Foreman on site").fill("刘工")
    page.get_by_label("Foreman's phone").fill("138 0013 8000")
    page.get_by_label(re.compile("^Documents")).set_input_files(str(plan))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "resident-renovation-form")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".next-step")).to_contain_text("Your butler will review the application")
    ticket_url = page.url

    butler = login("butler")
    butler.goto(ticket_url)
    details = butler.locator(".renovation-details")
    expect(details).to_contain_text("2099-03-01 – 2099-03-31")
    expect(details).to_contain_text("安居装饰")
    expect(details.get_by_role("link", name="138 0013 8000")).to_have_attribute(
        "href", "tel:13800138000")
    expect(butler.get_by_role("link", name=re.compile("floor-plan.pdf"))).to_be_visible()
    screenshot(butler, "resident-renovation-seen-by-butler")
