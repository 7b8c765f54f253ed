"""The bell, the notices page and the poll behind the live pages; notice settings; the nudge.

A new repair tells its butler, so opening one through the engine puts a notice in the butler's
bell (tests/test_notices.py says who is told what).
"""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event, select

from models import Notice, User, db
from models.people import NOTICE_KINDS
from tests.pages import bell, csrf_token, field_html, fire_form, flashes, open_ticket
from workflows import inbox


def notice_ids(app, username: str) -> list[int]:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        return list(db.session.scalars(select(Notice.id).where(
            Notice.user_id == user_id, Notice.channel == "inapp").order_by(Notice.id.desc())))


def test_the_bell_counts_the_unread_notices_on_every_page(app, browser):
    butler = browser("butler")
    assert bell(butler.get("/queue/").text) is None
    open_ticket(app, "resident", title="Tap leaking")
    open_ticket(app, "neighbour", title="Door stuck")
    for page in ("/queue/", "/account", "/notices/"):
        assert bell(butler.get(page).text) == 2
    assert 'href="/notices/"' in butler.get("/queue/").text


def test_the_bell_speaks_chinese_on_chinese_pages(app, browser):
    open_ticket(app, "resident")
    page = browser("butler", language="zh-CN").get("/queue/").text
    assert re.search(r">通知<span class=\"bell-count\" data-unread>1</span>", page)


def test_the_count_is_one_query_through_the_partial_index(ctx, estate):
    sent = []

    def catch(_conn, _cursor, statement, parameters, _context, _many):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", catch)
    try:
        assert inbox.unread(estate.user("butler")) == (0, None)
    finally:
        event.remove(db.engine, "before_cursor_execute", catch)
    [(statement, parameters)] = [s for s in sent if "FROM notices" in s[0]]
    if db.engine.dialect.name == "sqlite":
        plan = db.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters).all()
        assert "INDEX ix_notices_unread (user_id=?)" in " ".join(str(row[-1]) for row in plan)


def test_the_notices_page_lists_mine_newest_first_with_the_unread_marked(app, browser):
    first = open_ticket(app, "resident", title="Tap leaking")
    second = open_ticket(app, "neighbour", title="Door stuck")
    page = browser("butler").get("/notices/").text
    assert page.index(f"Repair #{second} Door stuck") < page.index(f"Repair #{first} Tap leaking")
    assert page.count('class="notice is-unread"') == 2
    assert "East · 1栋 101" in page  # where it is
    assert "2026-11-16 09:00" in page  # when, in the property's time
    newest, older = notice_ids(app, "butler")
    assert f'action="/notices/{newest}/read"' in page


def test_opening_a_notice_marks_it_read_and_opens_its_ticket(app, browser):
    ticket = open_ticket(app, "resident")
    [notice] = notice_ids(app, "butler")
    butler = browser("butler")
    token = csrf_token(butler.get("/notices/").text)
    opened = butler.post(f"/notices/{notice}/read", data={"csrf_token": token})
    assert opened.status_code == 302 and opened.headers["Location"] == f"/tickets/{ticket}"
    page = butler.get("/notices/").text
    assert 'class="notice is-unread"' not in page and 'class="notice"' in page
    assert bell(page) is None


def test_another_persons_notice_is_not_found_and_stays_unread(app, browser):
    open_ticket(app, "resident")
    [notice] = notice_ids(app, "butler")
    other = browser("other_butler")
    token = csrf_token(other.get("/notices/").text)
    assert other.post(f"/notices/{notice}/read", data={"csrf_token": token}).status_code == 404
    assert other.post("/notices/999999/read", data={"csrf_token": token}).status_code == 404
    assert bell(browser("butler").get("/queue/").text) == 1


def test_reading_needs_the_csrf_token(app, browser):
    open_ticket(app, "resident")
    [notice] = notice_ids(app, "butler")
    butler = browser("butler")
    assert butler.post(f"/notices/{notice}/read").status_code == 400
    assert butler.post("/notices/read").status_code == 400
    assert bell(butler.get("/queue/").text) == 1


def test_the_unread_filter_and_mark_all_as_read(app, browser):
    first = open_ticket(app, "resident", title="Tap leaking")
    open_ticket(app, "neighbour", title="Door stuck")
    butler = browser("butler")
    token = csrf_token(butler.get("/notices/").text)
    butler.post(f"/notices/{notice_ids(app, 'butler')[1]}/read", data={"csrf_token": token})
    unread = butler.get("/notices/?unread=1").text
    assert "Door stuck" in unread and f"#{first} Tap leaking" not in unread
    assert "Tap leaking" in butler.get("/notices/").text
    done = butler.post("/notices/read", data={"csrf_token": token}, follow_redirects=True)
    assert flashes(done.text, "success") == ["Every notice is marked as read."]
    assert "No unread notices." in butler.get("/notices/?unread=1").text
    assert "Mark all as read" not in done.text and bell(done.text) is None


def test_the_notices_page_comes_in_pages_of_fifty(app, browser, estate):
    for number in range(52):
        open_ticket(app, "resident", title=f"Leak {number}")
    butler = browser("butler")
    first = butler.get("/notices/").text
    assert first.count('<li class="notice') == 50 and "Page 1 of 2" in first
    assert "Leak 51" in first and "Leak 0<" not in first
    second = butler.get("/notices/?page=2").text
    assert second.count('<li class="notice') == 2 and "Leak 0" in second and "Newer" in second


def test_the_poll_answers_the_count_and_the_newest_with_an_etag(app, browser):
    butler = browser("butler")
    empty = butler.get("/notices/unread")
    assert empty.json == {"unread": 0, "latest": None}
    etag = empty.headers["ETag"]
    assert butler.get("/notices/unread", headers={"If-None-Match": etag}).status_code == 304
    open_ticket(app, "resident")
    [notice] = notice_ids(app, "butler")
    changed = butler.get("/notices/unread", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json == {"unread": 1, "latest": notice}
    assert changed.headers["ETag"] != etag
    assert "no-cache" in changed.headers["Cache-Control"]
    assert browser().get("/notices/unread").status_code == 401  # the page says it stopped


def test_the_queue_page_marks_the_parts_the_script_renews(app, browser):
    open_ticket(app, "resident")
    page = browser("butler").get("/queue/").text
    for part in ("total", "needs-now", "queue"):
        assert f'data-live="{part}"' in page
    assert '<script src="/static/js/live.js" defer></script>' in page


# -- the settings on the account page --------------------------------------------------------------

def settings_of(app, username: str) -> tuple:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return user.email, user.email_for, user.language


def test_an_email_address_and_email_notices_are_saved_from_the_account_page(app, browser):
    resident = browser("resident")
    page = resident.get("/account").text
    sent = resident.post("/account/notices", data={
        "notices-csrf_token": csrf_token(page), "notices-email": " li@example.com "},
        follow_redirects=True)
    assert flashes(sent.text, "success") == ["Your notice settings are saved."]
    assert settings_of(app, "resident")[:2] == ("li@example.com", [])
    assert 'value="li@example.com"' in sent.text


def test_a_bad_email_address_is_said_next_to_it_and_kept(app, browser):
    resident = browser("resident")
    page = resident.get("/account").text
    sent = resident.post("/account/notices", data={
        "notices-csrf_token": csrf_token(page), "notices-email": "li at example",
        "notices-email_for": "step"})
    assert sent.status_code == 422
    field = field_html(sent.text, "notices-email")
    assert "is not an email address" in field and 'value="li at example"' in field
    assert 'class="error-summary"' in sent.text and 'href="#notices-email"' in sent.text
    assert settings_of(app, "resident")[:2] == (None, list(NOTICE_KINDS))


def test_a_blank_address_means_the_bell_only(app, browser):
    resident = browser("resident")
    token = csrf_token(resident.get("/account").text)
    resident.post("/account/notices", data={"notices-csrf_token": token,
                                            "notices-email": "li@example.com"})
    resident.post("/account/notices", data={"notices-csrf_token": token, "notices-email": "",
                                            "notices-email_for": "step"})
    assert settings_of(app, "resident")[:2] == (None, ["step"])


def test_the_language_chosen_is_kept_for_the_notices(app, browser):
    butler = browser("butler")
    token = csrf_token(butler.get("/queue/").text)
    butler.post("/language", data={"csrf_token": token, "lang": "en", "next": "/queue/"})
    assert settings_of(app, "butler")[2] == "en"
    butler.post("/language", data={"csrf_token": token, "lang": "zh_CN", "next": "/queue/"})
    assert settings_of(app, "butler")[2] == "zh_CN"
    butler.post("/language", data={"csrf_token": token, "lang": "fr", "next": "/queue/"})
    assert settings_of(app, "butler")[2] == "zh_CN"


# -- the nudge (催单) ------------------------------------------------------------------------------

def test_the_resident_may_nudge_and_a_second_nudge_too_soon_is_said_plainly(app, browser, clock):
    ticket = open_ticket(app, "resident")
    resident = browser("resident")
    page = resident.get(f"/tickets/{ticket}").text
    nudge = re.search(r'<form[^>]*action="/tickets/\d+/fire/nudge".*?</form>', page, re.S).group(0)
    assert '<button type="submit" class="secondary">' in nudge
    before = page[:page.index(f'action="/tickets/{ticket}/fire/nudge"')]
    assert before.rfind("<details") < before.rfind('<div class="card')  # not folded
    assert fire_form(resident, ticket, "nudge").status_code == 302
    clock.shift(timedelta(minutes=12))
    again = fire_form(resident, ticket, "nudge")
    assert again.status_code == 409
    [message] = flashes(again.text, "error")
    assert "12 min ago" in message and "again in 18 min" in message
    chinese = browser("resident", language="zh-CN")
    [message] = flashes(fire_form(chinese, ticket, "nudge").text, "error")
    assert "12 分钟" in message and "18 分钟" in message, message
