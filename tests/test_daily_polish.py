"""What new users trying the app tripped on, put right (the last tryouts):

- The leave page says what is true of the substitute: optional when asking, required to approve.
- A hand-over for a leave that starts later says when to press it.
- A butler's cancel of a resident's request is folded away, asks its reason and is a danger button.
- The duty rota shows a whole week's rows and names the relief butlers in the picker.
- A resident's list says a request was done for them by their butler, and until when to object.
- A form's address opened with a GET (a reload after a refusal) goes to its page, never a 405.
- Chinese spans are joined with words without a stray space; an approval's note is a note.
- The delivery log says what went wrong in the reader's language, the raw error folded under it.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from models import DutyShift, Estate, Notice, db
from tests.conftest import T0, Desk
from tests.helpers import fresh
from tests.pages import csrf_token, field_html, fire, fire_form, flashes, open_ticket, section
from workflows import cover, delivery, extensions, notices
from workflows.rules import current as current_rules

HOUR = timedelta(hours=1)


# -- leave: the substitute, and when to hand over --------------------------------------------------

def test_the_substitute_is_optional_to_ask_and_required_to_approve(app, browser, estate):
    with app.app_context():
        leave = cover.request_leave(estate.user("butler"), None, T0, T0 + 8 * HOUR,
                                    reason="Ill").id
    page = browser("supervisor")
    listing = page.get("/cover/leave").text
    assert "optional now: one is needed to approve the leave" in field_html(
        listing, "leave-substitute_id")
    approving = field_html(listing, f"approve-{leave}-substitute_id")
    assert "Substitute (required to approve)" in listing
    assert re.search(r"<select[^>]*\brequired\b", approving)
    assert 'aria-required="true"' in approving

    sent = page.post(f"/cover/leave/{leave}/approve", data={
        "csrf_token": csrf_token(listing), f"approve-{leave}-substitute_id": ""})
    assert sent.status_code == 422
    assert "is required" in field_html(sent.text, f"approve-{leave}-substitute_id")

    chinese = browser("supervisor", "zh").get("/cover/leave").text
    assert "顶岗人（现在可不填；批准休假时必须指定）" in chinese
    assert "顶岗人（批准时必填）" in chinese


def test_a_hand_over_before_the_leave_starts_says_when_to_press_it(app, browser, estate, clock):
    with app.app_context():
        Desk(estate).open("resident")
        starts = T0 + 48 * HOUR
        supervisor = estate.user("supervisor")
        leave = cover.request_leave(supervisor, estate.butler, starts, starts + 8 * HOUR,
                                    reason="Wedding").id
        cover.approve_leave(supervisor, leave, estate.relief_butler)
    page = browser("supervisor")
    card = section(page.get("/cover/leave").text, f'id="leave-{leave}"', "</li>")
    assert "Hand them over when the leave starts, on 2026-11-18 09:00" in card
    assert re.search(r'<button type="submit" class="secondary"[^>]*>Hand them over to '
                     r'Relief_Butler now</button>', card)
    chinese = section(browser("supervisor", "zh").get("/cover/leave").text,
                      f'id="leave-{leave}"', "</li>")
    assert "请在休假开始时（2026-11-18 09:00）再移交" in chinese
    assert "现在移交给 Relief_Butler" in chinese

    clock.shift(48 * HOUR)  # the leave has begun: the hand-over is what to do now
    card = section(page.get("/cover/leave").text, f'id="leave-{leave}"', "</li>")
    assert "when the leave starts" not in card
    assert '<button type="submit">Hand them over to Relief_Butler</button>' in card


# -- a butler's cancel -----------------------------------------------------------------------------

def test_a_butlers_cancel_is_folded_asks_its_reason_and_keeps_what_was_typed(app, browser,
                                                                               estate):
    repair = open_ticket(app, "resident")
    page = browser("butler")
    shown = page.get(f"/tickets/{repair}").text
    folded = section(shown, '<details class="card action confirm"', "</details>")
    assert f'action="/tickets/{repair}/fire/cancel"' in folded
    assert "<summary>Cancel…</summary>" in folded
    assert "they are told and may object" in folded
    assert re.search(r'<textarea[^>]*name="cancel-reason"[^>]*required', folded)
    assert re.search(r'<button type="submit" name="fire" value="cancel" class="danger">'
                     r'Cancel for the resident</button>', folded)
    # Any other step stays a card of its own, with a primary button.
    assert '<button type="submit" name="fire" value="dispatch">' in shown

    sent = fire_form(page, repair, "cancel", note="She called at nine")
    assert sent.status_code == 422
    refused = section(sent.text, '<details class="card action confirm"', "</details>")
    assert refused.startswith('<details class="card action confirm" open')
    assert "She called at nine" in refused
    assert "is required" in field_html(sent.text, "cancel-reason")
    with app.app_context():
        assert fresh(repair).state == "reported"

    sent = fire_form(page, repair, "cancel", reason="Resident says it works again")
    assert sent.status_code == 302
    with app.app_context():
        assert fresh(repair).state == "cancelled"
    another = open_ticket(app, "resident")
    assert "代业主取消" in browser("butler", "zh").get(f"/tickets/{another}").text


# -- the duty rota ---------------------------------------------------------------------------------

def week_rows(html: str) -> int:
    return len(re.findall(r'data-shift-row="\d+"', html))


def test_the_rota_shows_a_weeks_rows_and_names_the_relief_butler(app, browser, estate, clock):
    page = browser("supervisor")
    with app.app_context():
        estate_id = db.session.scalar(select(Estate.id))
    rota = f"/duty/{estate_id}/rota?week=2026-11-23"
    empty = page.get(rota).text
    assert week_rows(empty) == 14  # a day and a night for each day of the week
    picker = field_html(empty, "shifts-0-on_duty")
    assert "Relief_Butler on duty (relief butler)</option>" in picker
    assert ">Butler on duty</option>" in picker and ">Other_Butler on duty</option>" in picker

    # A whole week typed in one go: nights by the relief butler, days by the areas' butlers.
    data = {"csrf_token": csrf_token(empty)}
    for day in range(7):
        night, today, tomorrow = 2 * day, f"2026-11-{23 + day}", f"2026-11-{24 + day}"
        data.update({f"shifts-{night}-starts_at": f"{today}T00:00",
                     f"shifts-{night}-ends_at": f"{today}T08:00",
                     f"shifts-{night}-on_duty": estate.relief_butler,
                     f"shifts-{night + 1}-starts_at": f"{today}T08:00",
                     f"shifts-{night + 1}-ends_at": f"{tomorrow}T00:00",
                     f"shifts-{night + 1}-on_duty": "area"})
    data["shifts-13-ends_at"] = "2026-11-30T00:00"
    sent = page.post(rota, data=data)
    assert sent.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 14
    assert week_rows(page.get(rota).text) == 14 + 3  # the week's shifts, and rows to add more
    chinese = browser("supervisor", "zh").get(rota).text
    assert "Relief_Butler 值班（机动管家）" in chinese


# -- the resident's list: done for them, and until when to object ----------------------------------

def test_the_residents_list_says_their_butler_cancelled_it_and_until_when_to_object(
        app, browser, estate, clock):
    theirs, mine = open_ticket(app, "resident"), open_ticket(app, "resident", title="Door")
    fire(app, theirs, "cancel", "butler", reason="Resident says it works again")
    fire(app, mine, "cancel", "resident", reason="Fixed it myself")
    page = browser("resident")
    listing = page.get("/my/").text
    card = section(listing, f'href="/tickets/{theirs}"', "</li>")
    assert "Done for you by your butler — you can object until 2026-11-23 09:00." in card
    assert f'href="/tickets/{theirs}#actions-heading">You did not cancel it?</a>' in card
    assert 'id="actions-heading"' in page.get(f"/tickets/{theirs}").text
    assert "you can object" not in section(listing, f'href="/tickets/{mine}"', "</li>")
    chinese = browser("resident", "zh").get("/my/").text
    assert "此操作由管家代您完成，2026-11-23 09:00 前您可以提出异议。" in chinese
    assert "您没有取消？" in chinese

    clock.shift(timedelta(days=7, minutes=1))  # the window has closed: nothing to offer
    assert "you can object" not in page.get("/my/").text


# -- a GET of a form's address ---------------------------------------------------------------------

def _sample_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        choices = getattr(converter, "items", None)
        values[name] = next(iter(choices)) if choices else (
            1 if type(converter).__name__ == "IntegerConverter" else "x")
    return rule.build(values)[1]


def test_a_forms_address_opened_with_a_get_goes_to_its_page(app, browser, estate):
    open_ticket(app, "resident")
    page = browser("supervisor")
    gets = {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    forms = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods
             and rule.rule not in gets and not rule.rule.startswith("/api/")]
    assert len(forms) > 20
    for rule in forms:
        url = _sample_url(rule)
        opened = page.get(url)
        assert opened.status_code == 303, (url, opened.status_code)
        landed = page.get(opened.location)
        assert landed.status_code not in (405, 500), (url, opened.location, landed.status_code)
    assert page.get("/tickets/1/fire/cancel").location == "/tickets/1"
    assert page.get("/cover/leave/1/approve").location == "/cover/leave"
    assert page.get("/duty/1/rota/repeat").location == "/duty/1/rota"
    # The API keeps its answer: a method it does not take is a JSON 405.
    assert page.get("/api/v1/tickets/1/fire/cancel").status_code in (404, 405)


def test_a_reload_after_a_refused_form_goes_back_to_the_form(app, browser, estate):
    repair = open_ticket(app, "resident")
    page = browser("butler")
    refused = fire_form(page, repair, "dispatch")
    assert refused.status_code == 422
    reloaded = page.get(f"/tickets/{repair}/fire/dispatch")  # the address the page was made at
    assert reloaded.status_code == 303 and reloaded.location == f"/tickets/{repair}"
    assert page.get(reloaded.location).status_code == 200


# -- Chinese words ---------------------------------------------------------------------------------

def test_spans_are_joined_with_chinese_words_without_a_space(browser, estate):
    page = browser("supervisor", "zh").get("/supervisor/waiting").text
    assert "班次结束后 1 小时内接班人仍未签字" in page
    with (Path(__file__).resolve().parent.parent / "translations" / "zh" / "LC_MESSAGES"
          / "messages.po").open("rb") as po:
        catalog = read_po(po)
    # A span or a duration ends in its unit (1 小时, 7 天): the word after it follows at once.
    # (An office-hours span, 08:30–12:00, ends in digits.)
    joined = [m.string for m in catalog if m.id and isinstance(m.string, str)
              and not any("calendars" in path for path, _line in m.locations)
              and re.search(r"%\((?:span|duration|left|ago)\)s [\u4e00-\u9fff]", m.string)]
    assert joined == []


def test_an_approvals_note_is_a_note_and_a_refusals_reason_a_reason(desk, estate, clock):
    repair = desk.open("resident")
    desk.fire(repair, "dispatch", "butler", technician_id=estate.technician)
    supervisor = estate.user("supervisor")
    asked = extensions.request_extension(estate.user("butler"), repair.id, "completion",
                                         T0 + 48 * HOUR, "The part comes on Wednesday")
    extensions.approve(supervisor, asked.id, "同意 OK")
    told = [notices.words(n, current_rules(), "zh") for n in db.session.scalars(
        select(Notice).where(Notice.cause == "extension", Notice.user_id == estate.butler,
                             Notice.channel == "inapp"))]
    assert any("备注：同意 OK" in w.text for w in told)
    assert not any("原因：同意 OK" in w.text for w in told)
    english = [notices.words(n, current_rules(), "en") for n in db.session.scalars(
        select(Notice).where(Notice.cause == "extension", Notice.channel == "inapp"))]
    assert any("Note: 同意 OK" in w.text for w in english)
    assert any("Reason: The part comes on Wednesday" in w.text for w in english)


# -- the delivery log ------------------------------------------------------------------------------

@pytest.mark.parametrize("error, said", [
    ("ConnectionRefusedError: [Errno 111] Connection refused", "Could not connect"),
    ("ConnectionError: HTTPConnectionPool(host='robot.test', port=80): Max retries exceeded "
     "with url: /hook (Caused by NewConnectionError('Failed to establish a new connection: "
     "[Errno 111] Connection refused'))", "Could not connect"),
    ("gaierror: [Errno -2] Name or service not known", "Could not connect"),
    ("SMTPServerDisconnected: Connection unexpectedly closed", "Could not connect"),
    ("ReadTimeout: HTTPSConnectionPool(host='qyapi.weixin.qq.com', port=443): Read timed out. "
     "(read timeout=10)", "Timed out"),
    ("TimeoutError: timed out", "Timed out"),
    ("SMTPRecipientsRefused: {'a@b.test': (550, b'5.1.1 User unknown')}",
     "The mail server refused it"),
    ("SMTPAuthenticationError: (535, b'5.7.8 Authentication failed')",
     "The mail server refused the log-in"),
    ("DeliveryError: HTTP 500: Internal Server Error", "The receiver answered with an error"),
    ("DeliveryError: errcode 93000: invalid webhook url", "The group robot refused it"),
    ("DeliveryError: MAIL_SERVER is not set", "Not set up on the server"),
    ("DeliveryError: the person has no email address", "The person has no address for it"),
    ("the area's robot was removed", "The area's robot is not set"),
    ("DeliveryError: the area's webhook points into a private network (10.0.0.5): only public "
     "addresses", "The robot's address points into a private network"),
    ("ValueError: something new", "It could not be sent"),
])
def test_a_delivery_error_is_named_in_words(app, error, said):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert str(delivery.failure(error)) == said
    assert delivery.failure(None) is None


def test_the_delivery_log_in_chinese_names_the_failure_and_keeps_the_raw_text_folded(
        app, estate, browser, clock):
    with app.app_context():
        butler = estate.user("butler")
        butler.email = "butler@example.test"
        db.session.commit()
    app.config["MAIL_SERVER"] = "127.0.0.1"
    open_ticket(app, "resident")
    raw = "ReadTimeout: HTTPSConnectionPool(host='mail.test', port=465): Read timed out."
    with app.app_context():
        notice = db.session.scalar(select(Notice).where(Notice.channel == "email"))
        notice.status, notice.attempts, notice.last_error = "failed", 10, raw
        db.session.commit()
        notice_id = notice.id
    page = browser("supervisor", "zh").get("/supervisor/deliveries").text
    row = section(page, f'data-notice="{notice_id}"', "</tr>")
    assert '<details class="delivery-error"><summary>连接超时</summary>' in row
    assert f'<code lang="en">{raw.replace(chr(39), "&#39;")}</code>' in row
    assert flashes(page) == []
