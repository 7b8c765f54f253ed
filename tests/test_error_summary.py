"""Every form page that can send a form back says so at the top: a box "There is a problem" whose
links lead to the fields with the messages (templates/_macros.html, error_summary). The messages
stay next to their fields too. Driven through the forms with CSRF on, as a browser would."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from flask import render_template_string
from sqlalchemy import select

from models import Deduction, SpotCheck, User, db
from tests.pages import csrf_token, fire_form, log_in, open_ticket, submit
from workflows import assessment, engine, sweeper

SUMMARY = re.compile(r'<section class="error-summary"[^>]*>(.*?)</section>', re.S)


def summary_of(html: str) -> list[tuple[str | None, str]]:
    """The summary's items as (the id its link leads to, or None; the text), after checking that
    it comes first on the page, is focusable and that every link leads to a field there."""
    found = SUMMARY.search(html)
    assert found, "no error summary on the page"
    assert found.start() < html.index("<h1"), "the summary is not at the top of the page"
    assert 'tabindex="-1"' in found.group(0) and "data-error-summary" in found.group(0)
    assert "There is a problem" in found.group(1)
    items = []
    for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S):
        link = re.fullmatch(r'<a href="#([\w-]+)" data-field="\1">(.*)</a>', item, re.S)
        if link:
            target = re.search(rf'<(input|select|textarea|fieldset)\b[^>]*\bid="{link[1]}"', html)
            assert target, f"the summary leads to #{link[1]}, which is no field of the page"
            items.append((link[1], unescape(link[2])))
        else:
            items.append((None, unescape(item)))
    assert items
    return items


def post(client, page_url: str, action: str, data: dict):
    """Send `data` to `action` with the CSRF token of the page that shows the form."""
    page = client.get(page_url)
    assert page.status_code == 200
    return client.post(action, data={**data, "csrf_token": csrf_token(page.text)})


def missed_line(app, clock) -> int:
    """A repair's missed on-site deadline: a line on the butler's card of 2026-11."""
    ticket = open_ticket(app, "resident")
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        sweeper.sweep()
        return db.session.scalar(select(Deduction.id).where(Deduction.ticket_id == ticket))


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_a_page_without_mistakes_has_no_summary(browser):
    client = browser("resident")
    ticket = open_ticket(client.application, "resident")
    for path in ("/tickets/new", "/account", f"/tickets/{ticket}"):
        html = client.get(path).text
        assert 'class="error-summary"' not in html and "error-summary.js" not in html


def test_the_login_form(browser):
    reply = log_in(browser(), "resident", "wrong password")
    assert summary_of(reply.text) == [("password", "Password: Wrong username or password.")]


def test_the_password_change(browser):
    reply = post(browser("resident"), "/account", "/account/password",
                 {"current_password": "secret", "new_password": "short",
                  "new_password_again": "short"})
    assert reply.status_code == 422
    assert [target for target, _text in summary_of(reply.text)] == ["new_password"]


def test_the_request_form_sent_empty(browser):
    reply = submit(browser("resident"), {})
    assert reply.status_code == 422
    assert summary_of(reply.text) == [("kind", "What kind of request: This field is required.")]
    reply = submit(browser("resident"), {"kind": "renovation"})
    assert {"title", "works_start", "contractor_name", "foreman_phone"} <= {
        target for target, _text in summary_of(reply.text)}


def test_the_request_form_in_chinese(browser):
    reply = submit(browser("resident", language="zh"), {"kind": "repair"})
    found = SUMMARY.search(reply.text).group(1)
    assert "有问题需要修改" in found and "There is a problem" not in found
    assert 'href="#title"' in found


def test_a_step_form_of_the_staff_page_without_its_reason(app, browser):
    ticket = open_ticket(app, "resident")
    reply = fire_form(browser("butler"), ticket, "cancel")
    assert reply.status_code == 422
    assert summary_of(reply.text) == [("cancel-reason", "Reason: is required")]


def test_a_step_form_of_the_residents_page_without_its_reason(app, browser):
    ticket = open_ticket(app, "resident")
    reply = fire_form(browser("resident"), ticket, "cancel")
    assert reply.status_code == 422
    assert [target for target, _text in summary_of(reply.text)] == ["cancel-reason"]


@pytest.mark.parametrize("who, action", [("butler", "appeal"), ("supervisor", "waive"),
                                         ("supervisor", "uphold")])
def test_appealing_and_deciding_a_line_without_a_reason(app, estate, browser, clock, who, action):
    line_id = missed_line(app, clock)
    card = f"/assessment/butlers/{estate.butler}?month=2026-11"
    reply = post(browser(who), card, f"/assessment/lines/{line_id}/{action}",
                 {f"{action}_{line_id}-reason": ""})
    assert reply.status_code == 422
    assert summary_of(reply.text) == [(f"{action}_{line_id}-reason", "Reason: is required")]


def test_a_finding_without_anything(browser):
    reply = post(browser("supervisor"), "/assessment/findings/new", "/assessment/findings/new",
                 {})
    assert reply.status_code == 422
    assert {"butler_id", "code", "note"} <= {target for target, _text in summary_of(reply.text)}


def test_a_spot_check_call_that_would_be_a_finding_without_a_note(app, estate, browser, clock):
    with app.app_context():
        ticket = engine.open_ticket(user("resident"), "repair", "Door lock stuck").id
        steps = [("dispatch", {"technician_id": estate.technician}), ("arrive", {}),
                 ("complete", {}), ("visit", {"rating": 4}), ("close", {})]
        for version, (trigger, data) in enumerate(steps, start=1):
            engine.fire(ticket, trigger, user("butler"), version, **data)
    clock.shift(timedelta(days=16))  # into December: November may be drawn
    with app.app_context():
        assessment.draw_spot_check(user("supervisor"), "2026-11")
        item = db.session.scalar(select(SpotCheck)).items[0].id
    page = "/assessment/spot-checks?month=2026-11"
    reply = post(browser("supervisor"), page, f"/assessment/spot-checks/items/{item}",
                 {f"item_{item}-result": "satisfied", f"item_{item}-make_finding": "y"})
    assert reply.status_code == 422
    assert {f"item_{item}-note", f"item_{item}-make_finding"} <= {
        target for target, _text in summary_of(reply.text)}


def test_closing_and_reopening_a_month(app, browser, clock):
    clock.shift(timedelta(days=16))  # November is over
    client = browser("supervisor")
    reply = post(client, "/assessment/?month=2026-11", "/assessment/close?month=2026-11",
                 {"close-reason": "bell \x07 in it"})
    assert reply.status_code == 422
    assert [target for target, _text in summary_of(reply.text)] == ["close-reason"]

    with app.app_context():
        assessment.close_month(user("supervisor"), "2026-11")
    reply = post(client, "/assessment/?month=2026-11", "/assessment/reopen?month=2026-11",
                 {"reopen-reason": ""})
    assert reply.status_code == 422
    assert summary_of(reply.text) == [("reopen-reason", "Why reopen it (required): is required")]


def test_messages_by_field_and_nothing_without_messages(app):
    """The macro also takes field ids with their messages; with no messages it shows nothing."""
    template = "{% from '_macros.html' import error_summary %}{{ error_summary(*sources) }}<h1>"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        html = render_template_string(template, sources=[
            {"title": ["is required"], "note": "is too long"}])
        assert 'class="error-summary"' not in render_template_string(
            template, sources=[{}, [], None])
    html += '<input id="title"><textarea id="note"></textarea>'
    assert summary_of(html) == [("title", "Title: is required"), ("note", "Note: is too long")]
