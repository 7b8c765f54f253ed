"""The monthly-assessment pages (issue 4): the month, a butler's card, findings with evidence,
spot-checks, closing and reopening, and the xlsx / CSV exports.

Driven as a browser would: CSRF stays on and every token is read from the page that shows the
form; each person has their own test client. Data is made through workflows.engine and
workflows.assessment in app contexts of their own (never shared with a client's requests), and the
database is read back the same way.
"""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import Deduction, MonthClosing, SpotCheck, User, db
from tests.conftest import T0
from tests.pages import PNG, csrf_token, field_html, flashes
from workflows import assessment, engine, sweeper

# A real 1x1 PNG.
# 09:00 on 2 December in Shanghai: November is over, so its spot-check may be drawn.
EARLY_DECEMBER = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


# -- helpers --------------------------------------------------------------------------------------


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def missed_on_site(app, clock) -> int:
    """A repair in the butler's area whose 20-minute on-site deadline passed: a -2 line."""
    with app.app_context():
        ticket = engine.open_ticket(user("resident"), "repair", "Tap leaking")
        ticket_id = ticket.id
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        assert sweeper.sweep() == 1
        return db.session.scalar(select(Deduction.id).where(Deduction.ticket_id == ticket_id))


def closed_repair(app) -> int:
    """A repair done on time and closed now: it belongs to this month's spot-check population."""
    with app.app_context():
        ticket_id = engine.open_ticket(user("resident"), "repair", "Door lock stuck").id
        butler = user("butler")
        steps = [("dispatch", {"technician_id": user("technician").id}), ("arrive", {}),
                 ("complete", {}), ("visit", {"rating": 4}), ("close", {})]
        for version, (trigger, data) in enumerate(steps, start=1):
            engine.fire(ticket_id, trigger, butler, version, **data)
        return ticket_id


def october_finding(app) -> int:
    """A -2 (art. 5, no patrol) for the butler in October, a month that is over at T0."""
    with app.app_context():
        entry = assessment.record_finding(user("supervisor"), user("butler").id, "5",
                                          "No patrol on the 20th",
                                          occurred_at="2026-10-20T10:00:00+08:00")
        return entry.id


def cards(app, month: str = "2026-11") -> dict[str, dict]:
    with app.app_context():
        found, _closed = assessment.scorecards(month, estate_id=assessment.the_estate(None))
        return {c["butler"]["name"]: c for c in found}


def line(app, line_id: int) -> dict:
    with app.app_context():
        entry = db.session.get(Deduction, line_id)
        return {"waived": entry.waived, "review": entry.review.reason if entry.review else None,
                "appeal": entry.appeal.reason if entry.appeal else None,
                "evidence": entry.evidence, "butler_id": entry.butler_id}


def post_form(client, page_url: str, action: str, data: dict):
    """Post `data` to `action` with the CSRF token of the page that shows the form."""
    page = client.get(page_url)
    assert page.status_code == 200
    return client.post(action, data={**data, "csrf_token": csrf_token(page.text)})


# -- the month ------------------------------------------------------------------------------------

def test_month_page_lists_every_butler_with_score_grade_and_charts(app, estate, browser, clock):
    missed_on_site(app, clock)
    page = browser("supervisor").get("/assessment/?month=2026-11")
    assert page.status_code == 200
    html = page.text

    rows = {m[0]: m[1] for m in re.findall(
        r'<tr id="butler-(\d+)">(.*?)</tr>', html, re.S)}
    assert set(rows) == {str(estate.butler), str(estate.other_butler), str(estate.relief_butler)}
    assert "<strong>98</strong>" in rows[str(estate.butler)]
    assert "Excellent" in rows[str(estate.butler)] and "优秀" not in rows[str(estate.butler)]
    assert "<strong>100</strong>" in rows[str(estate.other_butler)]
    # sorted: the full scores first, the butler with a deduction last
    assert html.index(f'id="butler-{estate.butler}"') > html.index(
        f'id="butler-{estate.other_butler}"')

    assert html.count("<svg") == 2
    scores = html[html.index('id="chart-scores"'):]
    scores = scores[:scores.index("</svg>")]
    assert "<title" in scores and "<desc" in scores and "Butler: 98" in scores
    articles = html[html.index('id="chart-articles"'):]
    assert "art. 4" in articles[:articles.index("</svg>")]

    assert 'href="/assessment/export.xlsx?month=2026-11&amp;estate=1"' in html
    assert 'href="/assessment/export.csv?month=2026-11&amp;estate=1"' in html
    assert f'href="/assessment/butlers/{estate.butler}?month=2026-11&amp;estate=1"' in html
    assert 'href="/assessment/spot-checks?month=2026-11&amp;estate=1"' in html
    assert 'href="/assessment/findings/new?estate=1"' in html
    assert ('href="/assessment/?month=2026-10&amp;estate=1"' in html
            and 'href="/assessment/?month=2026-12&amp;estate=1"' in html)
    assert "can be closed after it ends" in html  # November is not over at T0


def test_the_month_defaults_to_the_current_one_and_a_bad_month_is_explained(browser):
    client = browser("supervisor")
    assert "<h1>Assessment · Garden · 2026-11</h1>" in client.get("/assessment/").text
    reply = client.get("/assessment/?month=2026-13")
    assert reply.status_code == 302
    page = client.get(reply.location).text
    assert any("2026-13 is not a month" in m for m in flashes(page, "error"))
    assert client.get("/assessment/export.csv?month=2026-+1").status_code == 400


@pytest.mark.parametrize("who, path", [
    ("butler", "/assessment/"),
    ("butler", "/assessment/spot-checks"),
    ("butler", "/assessment/findings/new"),
    ("butler", "/assessment/export.xlsx"),
    ("butler", "/assessment/export.csv"),
    ("other_butler", "/assessment/butlers/{butler}"),
    ("resident", "/assessment/butlers/{butler}"),
    ("resident", "/assessment/me"),
    ("technician", "/assessment/"),
])
def test_pages_of_others_are_403(estate, browser, who, path):
    assert browser(who).get(path.format(butler=estate.butler)).status_code == 403


def test_a_card_of_someone_who_is_not_a_butler_is_404(estate, browser):
    client = browser("supervisor")
    assert client.get(f"/assessment/butlers/{estate.supervisor}").status_code == 404
    assert client.get("/assessment/butlers/9999").status_code == 404


def test_my_scorecard_leads_a_butler_to_their_own_card(estate, browser):
    client = browser("butler")
    reply = client.get("/assessment/me?month=2026-11")
    assert reply.status_code == 302
    assert reply.location == f"/assessment/butlers/{estate.butler}?month=2026-11"
    page = client.get(reply.location)
    assert page.status_code == 200 and "Butler · Garden · 2026-11" in page.text
    assert 'href="/assessment/me"' in page.text  # the nav link
    assert browser("supervisor").get("/assessment/me").location == "/assessment/"


# -- a butler's card: appeal, waive, uphold -------------------------------------------------------

def test_waiving_with_a_reason_restores_the_points_and_keeps_the_line(app, estate, browser, clock):
    line_id = missed_on_site(app, clock)
    client = browser("supervisor")
    card_url = f"/assessment/butlers/{estate.butler}?month=2026-11&estate=1"
    before = client.get(card_url).text
    assert 'class="big-score">98<' in before
    assert "<strong>Late: Arrival on site (Repair)</strong>" in before and "报修" not in before
    assert "2026-11-16 09:20" in before  # the due time, in property time
    assert f'action="/assessment/lines/{line_id}/waive"' in before
    # nobody appealed it: it counts as it is, and the butler may still appeal
    assert f'action="/assessment/lines/{line_id}/uphold"' not in before
    assert f'action="/assessment/lines/{line_id}/appeal"' not in before  # the butler's

    reply = post_form(client, card_url, f"/assessment/lines/{line_id}/waive",
                      {f"waive_{line_id}-reason": "The lift was out of order all morning"})
    assert reply.status_code == 302
    assert reply.location == f"{card_url}#line-{line_id}"
    page = client.get(reply.location).text
    assert flashes(page, "success") == ["Line waived; the score no longer counts it."]
    assert 'class="big-score">100<' in page
    item = page[page.index(f'id="line-{line_id}"'):]
    item = item[:item.index("</li>")]
    assert "line-waived" in page and ">waived<" in item
    assert "The lift was out of order all morning" in item and "by Supervisor" in item
    assert "<form" not in item  # reviewed: nothing more to do on it

    assert line(app, line_id)["waived"]
    assert cards(app)["Butler"]["score"] == 100 and cards(app)["Butler"]["waived"] == -2


@pytest.mark.parametrize("reason, message", [("", "is required"), ("   ", "is required")])
def test_an_empty_reason_is_shown_next_to_the_field(app, estate, browser, clock, reason, message):
    line_id = missed_on_site(app, clock)
    client = browser("supervisor")
    card_url = f"/assessment/butlers/{estate.butler}?month=2026-11&estate=1"
    reply = post_form(client, card_url, f"/assessment/lines/{line_id}/waive",
                      {f"waive_{line_id}-reason": reason})
    assert reply.status_code == 422
    field = field_html(reply.text, f"waive_{line_id}-reason")
    assert "has-error" in field and message in field
    assert f"uphold_{line_id}-reason" not in reply.text  # nobody appealed: it counts as it is
    assert line(app, line_id) == {"waived": False, "review": None, "appeal": None,
                                  "evidence": None, "butler_id": estate.butler}


def test_a_refused_reason_is_kept_in_the_field(app, estate, browser, clock):
    line_id = missed_on_site(app, clock)
    client = browser("butler")
    card_url = f"/assessment/butlers/{estate.butler}?month=2026-11&estate=1"
    typed = "The resident cancelled by phone. " * 70  # over 2000 characters
    reply = post_form(client, card_url, f"/assessment/lines/{line_id}/appeal",
                      {f"appeal_{line_id}-reason": typed})
    assert reply.status_code == 422
    field = field_html(reply.text, f"appeal_{line_id}-reason")
    assert "at most 2000 characters" in field
    assert typed.strip() in unescape(field)
    assert line(app, line_id)["appeal"] is None


def test_the_butler_appeals_and_the_supervisor_sees_it(app, estate, browser, clock):
    line_id = missed_on_site(app, clock)
    card_url = f"/assessment/butlers/{estate.butler}?month=2026-11&estate=1"
    butler = browser("butler")
    page = butler.get(card_url).text
    assert f'action="/assessment/lines/{line_id}/appeal"' in page
    assert f'action="/assessment/lines/{line_id}/waive"' not in page

    reply = post_form(butler, card_url, f"/assessment/lines/{line_id}/appeal",
                      {f"appeal_{line_id}-reason": "The resident was not at home"})
    assert reply.status_code == 302
    page = butler.get(reply.location).text
    assert flashes(page, "success") == ["Appeal sent."]
    assert ">appealed<" in page and "The resident was not at home" in page
    assert f'action="/assessment/lines/{line_id}/appeal"' not in page  # once only
    assert 'class="big-score">98<' in page  # an appeal alone changes nothing

    supervisor_page = browser("supervisor").get(card_url).text
    assert "The resident was not at home" in supervisor_page
    assert f'action="/assessment/lines/{line_id}/waive"' in supervisor_page


def test_another_butler_cannot_appeal_or_waive(app, estate, browser, clock):
    line_id = missed_on_site(app, clock)
    other = browser("other_butler")
    own = f"/assessment/butlers/{estate.other_butler}"
    for action in ("appeal", "waive"):
        reply = post_form(other, own, f"/assessment/lines/{line_id}/{action}",
                          {f"{action}_{line_id}-reason": "mine now"})
        assert reply.status_code == 403  # a card one may not see, and lines one may not touch
    assert line(app, line_id)["appeal"] is None and not line(app, line_id)["waived"]
    assert browser("supervisor").post(f"/assessment/lines/{line_id}/waive").status_code == 400


def test_a_line_of_a_closed_month_offers_no_appeal_and_refuses_one(app, estate, browser):
    line_id = october_finding(app)
    card_url = f"/assessment/butlers/{estate.butler}?month=2026-10&estate=1"
    butler = browser("butler")
    assert f'action="/assessment/lines/{line_id}/appeal"' in butler.get(card_url).text
    appeal = {f"appeal_{line_id}-reason": "I patrolled; the log was lost"}
    form_page = butler.get(card_url)  # the form as the butler saw it before the month closed
    post_form(browser("supervisor"), "/assessment/?month=2026-10",
              "/assessment/close?month=2026-10", {})

    page = butler.get(card_url).text
    assert "This month is closed" in page
    assert f'action="/assessment/lines/{line_id}/appeal"' not in page
    reply = butler.post(f"/assessment/lines/{line_id}/appeal",
                        data={**appeal, "csrf_token": csrf_token(form_page.text)})

    assert reply.status_code == 302
    assert reply.location == f"{card_url}#line-{line_id}"
    assert flashes(butler.get(reply.location).text, "error") == [
        "The assessment of 2026-10 is closed; a supervisor must reopen it first."]
    assert line(app, line_id)["appeal"] is None


# -- findings and their evidence ------------------------------------------------------------------

def test_a_finding_with_a_photo_is_served_to_the_supervisor_and_that_butler_only(
        app, estate, browser):
    client = browser("supervisor")
    form = client.get(f"/assessment/findings/new?butler_id={estate.butler}").text
    assert f'<option selected value="{estate.butler}">' in form
    assert 'enctype="multipart/form-data"' in form
    assert "+5 · A special paid service" in form  # bonuses are in the catalog
    reply = client.post("/assessment/findings/new", data={
        "csrf_token": csrf_token(form), "butler_id": str(estate.butler), "code": "5",
        "note": "Stairwell 3 not patrolled; broken light not reported",
        "occurred_at": "2026-11-15T18:30", "ticket_id": "",
        "photo": (io.BytesIO(PNG), "stairwell.png")}, content_type="multipart/form-data")
    assert reply.status_code == 302, reply.text
    assert reply.location.startswith(
        f"/assessment/butlers/{estate.butler}?month=2026-11&estate=1#line-")
    line_id = int(reply.location.rsplit("-", 1)[1])
    stored = line(app, line_id)
    name = stored["evidence"]
    assert re.fullmatch(r"[0-9a-f]{32}\.png", name)
    assert "stairwell" not in name

    page = client.get(reply.location).text
    assert "Finding recorded: -2, art. 5." in flashes(page, "success")[0]
    assert "2026-11-15 18:30" in page  # shown in property time as typed
    assert f'href="/assessment/evidence/{name}"' in page
    with app.app_context():
        entry = db.session.get(Deduction, line_id)
        assert entry.missed_at == datetime(2026, 11, 15, 10, 30, tzinfo=UTC)
        assert (entry.points, entry.article, entry.finding_code) == (-2, 5, "5")

    served = client.get(f"/assessment/evidence/{name}")
    assert served.status_code == 200 and served.data == PNG
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert browser("butler").get(f"/assessment/evidence/{name}").data == PNG
    assert browser("other_butler").get(f"/assessment/evidence/{name}").status_code == 403
    assert browser("resident").get(f"/assessment/evidence/{name}").status_code == 403
    assert client.get("/assessment/evidence/" + "0" * 32 + ".png").status_code == 404
    assert client.get("/assessment/evidence/..%2Fbutlerdesk.sqlite3").status_code == 404
    assert browser().get(f"/assessment/evidence/{name}").status_code == 302  # to the login
    assert cards(app)["Butler"]["score"] == 98


@pytest.mark.parametrize("content, message", [
    (b"not a picture at all\n", "is not a JPEG, PNG, WebP or PDF file"),
    (b"", "The file is empty."),
    (PNG + bytes(10 * 1024 * 1024), "larger than 10 MB"),
])
def test_a_file_that_is_not_a_photo_is_refused_with_a_message(app, estate, browser, tmp_path,
                                                              content, message):
    client = browser("supervisor")
    form = client.get("/assessment/findings/new").text
    reply = client.post("/assessment/findings/new", data={
        "csrf_token": csrf_token(form), "butler_id": str(estate.butler), "code": "7",
        "note": "Enquiry about parking left unanswered",
        "photo": (io.BytesIO(content), "photo.png")},
        content_type="multipart/form-data")
    assert reply.status_code == 422
    photo = field_html(reply.text, "photo")
    assert "has-error" in photo and message in photo
    assert "Enquiry about parking left unanswered" in field_html(reply.text, "note")
    assert f'<option selected value="{estate.butler}">' in reply.text
    assert "Choose the file again" in reply.text
    assert cards(app)["Butler"]["lines"] == []
    uploaded = tmp_path / "uploads"
    assert not uploaded.exists() or not any(uploaded.iterdir())


def test_a_finding_refused_by_the_workflow_shows_each_message_and_stores_no_file(
        app, estate, browser, tmp_path):
    client = browser("supervisor")
    form = client.get("/assessment/findings/new").text
    reply = client.post("/assessment/findings/new", data={
        "csrf_token": csrf_token(form), "butler_id": str(estate.butler), "code": "5",
        "note": "Kept", "ticket_id": "9999", "occurred_at": "2026-11-17T09:00",
        "photo": (io.BytesIO(PNG), "a.png")}, content_type="multipart/form-data")
    assert reply.status_code == 422
    assert "no such ticket" in field_html(reply.text, "ticket_id")
    assert "Kept" in field_html(reply.text, "note")
    assert cards(app)["Butler"]["lines"] == []
    assert not any((tmp_path / "uploads").iterdir())  # the checked photo was not kept

    reply = client.post("/assessment/findings/new", data={
        "csrf_token": csrf_token(form), "butler_id": "", "code": "", "note": " "})
    assert reply.status_code == 422
    assert "is required" in field_html(reply.text, "note")


def test_a_finding_dated_over_a_year_back_is_refused_next_to_the_date(app, estate, browser):
    client = browser("supervisor")
    form = client.get("/assessment/findings/new").text
    reply = client.post("/assessment/findings/new", data={
        "csrf_token": csrf_token(form), "butler_id": str(estate.butler), "code": "5",
        "note": "No patrol that week", "occurred_at": "2025-11-01T10:00"})

    assert reply.status_code == 422
    assert "must be within the last year" in field_html(reply.text, "occurred_at")
    assert "No patrol that week" in field_html(reply.text, "note")
    assert cards(app, "2025-11")["Butler"]["lines"] == []


def test_a_butler_who_has_left_is_not_offered_and_is_refused(app, estate, browser):
    with app.app_context():
        user("relief_butler").active = False
        db.session.commit()
    client = browser("supervisor")
    form = client.get("/assessment/findings/new").text
    offered = re.search(r'<select[^>]*name="butler_id"[^>]*>(.*?)</select>', form, re.S).group(1)
    assert re.findall(r'value="(\d+)"', offered) == [str(estate.butler), str(estate.other_butler)]

    reply = client.post("/assessment/findings/new", data={
        "csrf_token": csrf_token(form), "butler_id": str(estate.relief_butler), "code": "5",
        "note": "No patrol"})

    assert reply.status_code == 422
    assert "must be the id of an active butler" in field_html(reply.text, "butler_id")
    with app.app_context():
        assert db.session.scalar(select(Deduction)) is None


# -- spot-checks ----------------------------------------------------------------------------------

def test_spot_check_draw_and_an_unsatisfied_result_becomes_a_finding(app, estate, browser,
                                                                     clock):
    ticket_id = closed_repair(app)
    clock.move_to(EARLY_DECEMBER)  # November is over: its sample may be drawn
    client = browser("supervisor")
    page = client.get("/assessment/spot-checks?month=2026-11").text
    assert re.search(r"<dt>Closed complaints and repairs</dt><dd>1</dd>", page)
    assert re.search(r"<dt>Sample to draw</dt><dd>1 ", page)

    reply = post_form(client, "/assessment/spot-checks?month=2026-11",
                      "/assessment/spot-checks/draw?month=2026-11", {})
    assert reply.status_code == 302
    page = client.get(reply.location).text
    assert flashes(page, "success")[0].startswith("Drew 1 of 1 tickets (seed ")
    with app.app_context():
        drawn = db.session.scalar(select(SpotCheck))
        seed, item_id = drawn.seed, drawn.items[0].id
    assert f"<code>{seed}</code>" in page and "0 of 1 done" in page
    assert f'href="/tickets/{ticket_id}"' in page and "Door lock stuck" in page

    # a finding needs an unsatisfied result and a note: shown next to the fields
    reply = post_form(client, "/assessment/spot-checks?month=2026-11",
                      f"/assessment/spot-checks/items/{item_id}",
                      {f"item_{item_id}-result": "satisfied", f"item_{item_id}-make_finding": "y"})
    assert reply.status_code == 422
    assert "only an unsatisfied follow-up" in reply.text
    assert "is required" in field_html(reply.text, f"item_{item_id}-note")

    reply = post_form(client, "/assessment/spot-checks?month=2026-11",
                      f"/assessment/spot-checks/items/{item_id}",
                      {f"item_{item_id}-result": "unsatisfied",
                       f"item_{item_id}-note": "Lock sticks again; nobody came back",
                       f"item_{item_id}-make_finding": "y"})
    assert reply.status_code == 302
    page = client.get(reply.location).text
    assert "1 of 1 done" in page and ">unsatisfied<" in page
    assert "recorded by Supervisor" in page and "Lock sticks again" in page
    with app.app_context():
        finding_id = db.session.scalar(select(SpotCheck)).items[0].finding_id
    assert (f'/assessment/butlers/{estate.butler}?month=2026-11&amp;estate=1#line-{finding_id}'
            in page)
    assert f'action="/assessment/spot-checks/items/{item_id}"' not in page
    assert cards(app)["Butler"]["score"] == 98

    again = post_form(client, "/assessment/spot-checks?month=2026-11",
                      "/assessment/spot-checks/draw?month=2026-11", {})
    assert "drawn already" in flashes(client.get(again.location).text, "error")[0]


def test_the_current_month_is_not_drawn_and_its_preview_stays(app, browser):
    closed_repair(app)
    client = browser("supervisor")
    url = "/assessment/spot-checks?month=2026-11&estate=1"

    reply = post_form(client, url, "/assessment/spot-checks/draw?month=2026-11", {})

    assert reply.status_code == 302 and reply.location == url
    page = client.get(reply.location).text
    assert flashes(page, "error") == [
        "2026-11 is not over yet; its spot-check is drawn after it ends."]
    assert flashes(page, "success") == []
    assert re.search(r"<dt>Closed complaints and repairs</dt><dd>1</dd>", page)
    assert re.search(r"<dt>Sample to draw</dt><dd>1 ", page)
    with app.app_context():
        assert db.session.scalar(select(SpotCheck)) is None


# -- closing and reopening ------------------------------------------------------------------------

def test_a_closed_month_is_frozen_and_refuses_a_waiver_until_reopened(app, estate, browser):
    line_id = october_finding(app)
    client = browser("supervisor")
    month_url = "/assessment/?month=2026-10"
    reply = post_form(client, month_url, "/assessment/close?month=2026-10",
                      {"close-reason": "Month-end meeting"})
    assert reply.status_code == 302
    page = client.get(reply.location).text
    assert "The assessment of 2026-10 is closed" in flashes(page, "success")[0]
    assert ">closed<" in page and "closed by Supervisor at 2026-11-16 09:00" in page
    assert "Month-end meeting" in page
    assert 'action="/assessment/reopen?month=2026-10&amp;estate=1"' in page
    assert 'action="/assessment/close?month=2026-10&amp;estate=1"' not in page

    card_url = f"/assessment/butlers/{estate.butler}?month=2026-10&estate=1"
    card = client.get(card_url).text
    assert "This month is closed" in card
    assert f'action="/assessment/lines/{line_id}/waive"' not in card
    reply = post_form(client, card_url, f"/assessment/lines/{line_id}/waive",
                      {f"waive_{line_id}-reason": "Patrol was done, log lost"})
    assert reply.status_code == 302
    assert any("closed" in m for m in flashes(client.get(reply.location).text, "error"))
    assert not line(app, line_id)["waived"]

    # reopening needs a reason: shown next to the field, the month stays closed
    reply = post_form(client, month_url, "/assessment/reopen?month=2026-10",
                      {"reopen-reason": " "})
    assert reply.status_code == 422
    assert "is required" in field_html(reply.text, "reopen-reason")
    with app.app_context():
        assert assessment.is_closed("2026-10")

    reply = post_form(client, month_url, "/assessment/reopen?month=2026-10",
                      {"reopen-reason": "Patrol log found"})
    page = client.get(reply.location).text
    assert "Reopened by Supervisor at 2026-11-16 09:00: Patrol log found" in page
    assert 'action="/assessment/close?month=2026-10&amp;estate=1"' in page
    reply = post_form(client, card_url, f"/assessment/lines/{line_id}/waive",
                      {f"waive_{line_id}-reason": "Patrol was done, log lost"})
    assert line(app, line_id)["waived"]
    with app.app_context():
        actions = [(c.action, c.reason) for c in db.session.scalars(
            select(MonthClosing).order_by(MonthClosing.id))]
    assert actions == [("close", "Month-end meeting"), ("reopen", "Patrol log found")]


def test_a_closed_month_warns_of_lines_recorded_after_closing(app, estate, browser, clock):
    # a repair called in at 23:30 on 31 October (property time); nobody sweeps until later
    clock.move_to(datetime(2026, 10, 31, 15, 30, tzinfo=UTC), tick=False)
    with app.app_context():
        engine.open_ticket(user("resident"), "repair", "Late-night leak")
    clock.move_to(T0, tick=False)
    client = browser("supervisor")
    post_form(client, "/assessment/?month=2026-10", "/assessment/close?month=2026-10", {})
    clock.shift(timedelta(minutes=5))
    with app.app_context():
        sweeper.sweep()  # the on-site miss was due at 23:50 on 31 October
    page = client.get("/assessment/?month=2026-10").text
    assert "recorded after it was closed" in page
    assert "<strong>100</strong>" in page  # the frozen card does not have it
    warning = page[page.index('role="alert"'):]
    warning = warning[:warning.index("</div>")]
    assert "Late: Arrival on site (Repair): -2" in warning


# -- exports --------------------------------------------------------------------------------------

def bonus_note(lines: list[tuple]) -> str:
    return next(r for r in lines[1:] if r[1] == "Other_Butler")[8]


def test_the_xlsx_has_both_sheets_and_its_scores_equal_the_scorecards(app, estate, browser, clock):
    line_id = missed_on_site(app, clock)
    with app.app_context():
        assessment.record_finding(user("supervisor"), estate.other_butler, "3-bonus",
                                  "Sold a deep clean")
        assessment.appeal(user("butler"), line_id, "The lift was broken")
    client = browser("supervisor")
    reply = client.get("/assessment/export.xlsx?month=2026-11")
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"] == \
        'attachment; filename="butlerdesk-Garden-2026-11.xlsx"'
    book = load_workbook(io.BytesIO(reply.data))
    assert book.sheetnames == ["考核汇总", "扣分明细"]

    summary = book["考核汇总"]
    rows = list(summary.iter_rows(values_only=True))
    assert rows[0] == ("月份", "管家", "基础分", "扣分", "加分", "已免除", "得分", "等级", "项目")
    assert all(cell.font.bold for cell in summary[1])
    assert summary.column_dimensions["B"].width >= 8
    expected = cards(app)
    assert {r[1]: r[6] for r in rows[1:]} == {n: c["score"] for n, c in expected.items()}
    assert {r[1]: r[6] for r in rows[1:]} == {"Butler": 98, "Other_Butler": 105,
                                              "Relief_Butler": 100}
    butler_row = next(r for r in rows[1:] if r[1] == "Butler")
    assert butler_row == ("2026-11", "Butler", 100, -2, 0, 0, 98, "优秀", "Garden")

    page = client.get("/assessment/?month=2026-11").text
    for card in expected.values():
        row = page[page.index(f'id="butler-{card["butler"]["id"]}"'):]
        assert f"<strong>{card['score']}</strong>" in row[:row.index("</tr>")]

    lines = list(book["扣分明细"].iter_rows(values_only=True))
    assert lines[0] == ("日期", "管家", "来源", "条款", "事项", "分值", "工单", "状态", "备注",
                        "申诉理由", "处理意见", "项目")
    assert len(lines) == 3
    overdue = next(r for r in lines[1:] if r[1] == "Butler")
    assert overdue[0] == datetime(2026, 11, 16, 9, 20)  # property time
    assert overdue[2:6] == ("超时", 4, "报修到场超时", -2)
    assert overdue[7:10] == ("申诉中", None, "The lift was broken")
    assert bonus_note(lines) == "Sold a deep clean"  # a finding's note has its column
    bonus = next(r for r in lines[1:] if r[1] == "Other_Butler")
    assert bonus[2:6] == ("检查", 3, "做成一笔特约服务", 5)
    # the per-butler figures add up from the lines
    for name, card in expected.items():
        counted = [r[5] for r in lines[1:] if r[1] == name and r[7] != "已免除"]
        assert 100 + sum(counted) == card["score"]


def test_the_csv_starts_with_a_bom_and_the_chinese_header(app, browser, clock):
    missed_on_site(app, clock)
    reply = browser("supervisor").get("/assessment/export.csv?month=2026-11")
    assert reply.status_code == 200
    assert reply.mimetype == "text/csv"
    assert reply.headers["Content-Disposition"] == \
        'attachment; filename="butlerdesk-Garden-2026-11.csv"'
    assert reply.data.startswith(b"\xef\xbb\xbf")
    text = reply.data.decode("utf-8-sig").splitlines()
    assert text[0] == "月份,管家,基础分,扣分,加分,已免除,得分,等级,项目"
    assert "2026-11,Butler,100,-2,0,0,98,优秀,Garden" in text
    assert len(text) == 4


def test_text_that_looks_like_a_formula_stays_text(app, estate, browser):
    evil = "=cmd|' /C calc'!A0"
    with app.app_context():
        user("butler").name = evil
        db.session.commit()
    client = browser("supervisor")
    book = load_workbook(io.BytesIO(client.get("/assessment/export.xlsx").data))
    names = [c for c in book["考核汇总"]["B"] if c.value == evil]
    assert len(names) == 1 and names[0].data_type == "s"
    csv_text = client.get("/assessment/export.csv").data.decode("utf-8-sig")
    assert "'" + evil in csv_text
