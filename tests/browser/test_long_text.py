"""Long unbroken text breaks no page: every field a person can fill holds as much unbroken text
as it takes (a title of 200 characters with no space, a contractor's name of 100, a file name of
200, notes and reasons of 200, people's names of 100), and each role's main pages still fit the
width of a phone (375 px) and of a desk (1280 px), on screen and, for the hand-over, on paper.

The data is made through workflows.engine and workflows.assessment, as people would make it:
a repair dispatched with photos, a renovation rejected, resubmitted with new details and rejected
again, a complaint replied to and rejected, misses appealed, waived and upheld, a finding, and a
spot-check call of the month before that became a finding.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from models import Attachment, Deduction, Ticket, User, db
from tests.browser.conftest import screenshot
from tests.pages import JPEG, PDF
from views import uploads
from workflows import assessment, engine, extensions, sweeper
from workflows.attachments import UploadedFile

# 09:00 on 2 December in Shanghai: November is over, its spot-check may be drawn, and every
# ticket still open from November is overdue.
EARLY_DECEMBER = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
MONTH = "2026-11"


def unbroken(tag: str, length: int = 200) -> str:
    """`length` characters with no space, hyphen or other place a line may break."""
    return (tag + "Unbrokentextwithoutanyspace0123456789" * 10)[:length]


def _user(username: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == username))


def _fire(ticket_id: int, trigger: str, who: str, **data) -> None:
    version = db.session.get(Ticket, ticket_id).version
    engine.fire(ticket_id, trigger, _user(who), version, **data)


def _file(content: bytes, ext: str, name: str) -> UploadedFile:
    stored = uploads.store_bytes(content, ext)
    return UploadedFile(stored_name=stored, original_name=name,
                        content_type=uploads.FILE_TYPES[ext][0], size=len(content))


def _renovation_details(contractor: str, foreman: str) -> dict:
    return {"works_start": "2026-11-20", "works_end": "2026-12-20",
            "contractor_name": contractor, "contractor_phone": "021 5555 0101",
            "foreman_name": foreman, "foreman_phone": "138 0013 8000", "workers": "4"}


@pytest.fixture
def long_text(app, estate, clock, tmp_path) -> dict:
    """Every field filled to its limit with unbroken text; returns the ids the pages show."""
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    ids = {}
    with app.app_context():
        for username in ("resident", "butler", "technician", "supervisor"):
            _user(username).name = unbroken(username.title() + "Name", 100)
        db.session.commit()

        resident = _user("resident")
        repair = engine.open_ticket(
            resident, "repair", unbroken("RepairTitle"), unbroken("RepairDescription"),
            attachments=[_file(JPEG, "jpg", unbroken("PhotoFileName") + ".jpg"),
                         _file(PDF, "pdf", unbroken("DocumentFileName") + ".pdf")]).id
        _fire(repair, "dispatch", "butler", technician_id=estate.technician,
              note=unbroken("DispatchNote"))
        _fire(repair, "arrive", "technician", note=unbroken("ArriveNote"))
        asked = extensions.request_extension(_user("butler"), repair, "completion",
                                             datetime(2026, 11, 18, 1, 0, tzinfo=UTC),
                                             unbroken("ExtensionReason"))
        extensions.approve(_user("supervisor"), asked.id, unbroken("ApprovalNote"))
        engine.attach(repair, resident, [_file(PDF, "pdf", unbroken("LaterFileName") + ".pdf")],
                      kind="document")
        ids["repair"] = repair

        # Two repairs nobody goes to: two missed on-site deadlines on the butler's card.
        missed = [engine.open_ticket(resident, "repair", unbroken(f"Missed{n}Title")).id
                  for n in (1, 2)]

        complaint = engine.open_ticket(resident, "complaint", unbroken("ComplaintTitle"),
                                       unbroken("ComplaintDescription")).id
        _fire(complaint, "accept", "butler", note=unbroken("AcceptNote"))
        _fire(complaint, "reply", "butler", note=unbroken("ReplyNote"))
        _fire(complaint, "reject", "resident", reason=unbroken("RejectReason"))
        ids["complaint"] = complaint

        renovation = engine.open_ticket(
            resident, "renovation", unbroken("RenovationTitle"), unbroken("RenovationDescription"),
            details=_renovation_details(unbroken("ContractorName", 100),
                                        unbroken("ForemanName", 100))).id
        _fire(renovation, "reject", "butler", reason=unbroken("FirstRejection"))
        _fire(renovation, "resubmit", "resident", note=unbroken("ResubmitNote"),
              details=_renovation_details(unbroken("OtherContractorName", 100),
                                          unbroken("OtherForemanName", 100)))
        _fire(renovation, "reject", "butler", reason=unbroken("SecondRejection"))
        ids["renovation"] = renovation

        # A repair done and closed in November: the month's spot-check population.
        done = engine.open_ticket(resident, "repair", unbroken("ClosedRepairTitle")).id
        _fire(done, "dispatch", "butler", technician_id=estate.technician)
        _fire(done, "arrive", "technician")
        _fire(done, "complete", "technician", note=unbroken("CompleteNote"))
        _fire(done, "visit", "butler", rating=4, note=unbroken("VisitNote"))
        _fire(done, "close", "butler", note=unbroken("CloseNote"))

    clock.shift(timedelta(minutes=25))
    with app.app_context():
        while sweeper.sweep():
            pass
        lines = [db.session.scalar(db.select(Deduction.id).where(Deduction.ticket_id == t))
                 for t in missed]
        assessment.appeal(_user("butler"), lines[0], unbroken("AppealReason"))
        assessment.waive(_user("supervisor"), lines[0], unbroken("WaiveReason"))
        assessment.appeal(_user("butler"), lines[1], unbroken("SecondAppeal"))
        assessment.uphold(_user("supervisor"), lines[1], unbroken("UpholdReason"))
        evidence = uploads.store_bytes(JPEG, "jpg")
        assessment.record_finding(_user("supervisor"), estate.butler, "5",
                                  unbroken("FindingNote"), ticket_id=ids["repair"],
                                  evidence=evidence)

    clock.move_to(EARLY_DECEMBER)
    with app.app_context():
        while sweeper.sweep():
            pass
        drawn = assessment.draw_spot_check(_user("supervisor"), MONTH)
        assessment.record_spot_check_result(_user("supervisor"), drawn.items[0].id,
                                            "unsatisfied", unbroken("SpotCheckNote"),
                                            make_finding=True)
        # Opened now: due on site within minutes, so the supervisor's "at risk" lists have a row.
        ids["soon"] = engine.open_ticket(_user("resident"), "repair", unbroken("SoonTitle")).id
        extensions.request_extension(_user("butler"), ids["soon"], "completion",
                                     EARLY_DECEMBER + timedelta(hours=48),
                                     unbroken("PendingExtensionReason"))
        assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 3
    return ids


# Every element wider than the viewport, for the message of a failed check.
OVERFLOWING = """() => {
  const width = window.innerWidth;
  return [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 1)
    .slice(0, 8)
    .map(el => el.tagName.toLowerCase() + (el.className ? "." + el.className : "")
               + " " + Math.round(el.getBoundingClientRect().right) + "px");
}"""


class Widths:
    """Checks pages one after the other and says, at the end, every one that was too wide."""

    def __init__(self, width: int):
        self.width, self.too_wide = width, []

    def fits(self, page, name: str) -> None:
        """The page is no wider than the window; a picture of it is kept either way."""
        page.wait_for_load_state()
        screenshot(page, f"long-text-{name}-{self.width}")
        scroll, inner = page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            self.too_wide.append(f"{name} is {scroll} px wide: {page.evaluate(OVERFLOWING)}")

    def visit(self, page, path: str, name: str) -> None:
        page.goto(path)
        self.fits(page, name)

    def check(self) -> None:
        assert self.too_wide == [], f"at {self.width} px: " + "\n".join(self.too_wide)


WIDTHS = pytest.mark.parametrize("phone", [True, False], ids=["phone", "desk"])


@pytest.fixture
def widths(phone) -> Widths:
    return Widths(375 if phone else 1280)


# Each role's main pages; a path is filled in with the ids of `long_text`.
PAGES = {
    "resident": [("my-requests", "/my/"), ("ticket", "/tickets/{repair}"),
                 ("complaint", "/tickets/{complaint}"), ("renovation", "/tickets/{renovation}"),
                 ("account", "/account")],
    "butler": [("queue", "/queue/"), ("ticket", "/tickets/{repair}"),
               ("renovation", "/tickets/{renovation}"), ("complaint", "/tickets/{complaint}"),
               ("scorecard", "/assessment/me?month={month}"), ("more-time", "/tickets/{soon}")],
    "technician": [("queue", "/queue/"), ("ticket", "/tickets/{repair}")],
    "supervisor": [("overdue", "/supervisor/overdue"), ("month", "/assessment/?month={month}"),
                   ("card", "/assessment/butlers/{butler}?month={month}"),
                   ("spot-checks", "/assessment/spot-checks?month={month}"),
                   ("finding", "/assessment/findings/new"), ("waiting", "/supervisor/waiting"),
                   ("ticket", "/tickets/{renovation}")],
}


@pytest.mark.parametrize("role", PAGES)
@WIDTHS
def test_each_roles_main_pages_fit(long_text, estate, login, role, phone, widths):
    page = login(role, phone=phone)
    for name, path in PAGES[role]:
        widths.visit(page, path.format(**long_text, butler=estate.butler, month=MONTH),
                     f"{role}-{name}")
    widths.check()


@WIDTHS
def test_the_main_pages_fit_in_chinese(long_text, estate, login, phone, widths):
    for role in ("resident", "butler", "supervisor"):
        page = login(role, phone=phone)
        with page.expect_navigation():
            page.get_by_role("button", name="中文").click()
        for name, path in PAGES[role][:3]:
            widths.visit(page, path.format(**long_text, butler=estate.butler, month=MONTH),
                         f"{role}-{name}-zh")
    widths.check()


@WIDTHS
def test_the_request_form_sent_back_with_its_messages_fits(long_text, login, tmp_path, phone,
                                                          widths):
    """Long text typed again in the inputs, and a message naming a file by its long name."""
    not_a_photo = tmp_path / (unbroken("NotAPhotoFileName") + ".png")
    not_a_photo.write_text("this is text, not a picture")
    page = login("resident", phone=phone)
    page.goto("/tickets/new")
    page.get_by_label("Renovation").check()
    page.get_by_label("What is it about").fill(unbroken("TypedTitle"))
    page.get_by_label("Details (optional)").fill(unbroken("TypedDescription"))
    page.get_by_label("Contractor (company or person)").fill(unbroken("TypedContractor", 100))
    page.get_by_label("Foreman on site").fill(unbroken("TypedForeman", 100))
    page.locator('input[name="photos"]').set_input_files(str(not_a_photo))
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    photos = page.locator(".field.has-error", has=page.locator('input[name="photos"]'))
    assert "NotAPhotoFileName" in photos.locator(".error").inner_text()
    widths.fits(page, "resident-new-request-errors")
    widths.check()


@WIDTHS
def test_the_hand_over_fits_on_screen_and_on_paper(long_text, login, phone, widths):
    page = login("butler", phone=phone)
    widths.visit(page, "/queue/handover", "butler-handover")
    page.emulate_media(media="print")
    widths.fits(page, "butler-handover-print")
    widths.check()


@WIDTHS
def test_the_workflow_diagrams_fit_their_cards(login, phone, widths):
    """On a desk each diagram fits its card whole; on a phone one that cannot, readably, scrolls
    inside its card (which says so, and takes the keyboard's arrows): never the page."""
    page = login("supervisor", phone=phone)
    page.goto("/supervisor/workflows")
    page.wait_for_function("document.querySelectorAll('.diagram svg').length === "
                           "document.querySelectorAll('.diagram').length")
    widths.fits(page, "supervisor-workflows")
    for box in page.locator(".diagram").all():
        kind = box.locator("pre").get_attribute("data-kind")
        svg, card = box.evaluate("el => [el.querySelector('svg').getBoundingClientRect().width,"
                                 " el.clientWidth]")
        if svg > card and (not phone or "scrolls" not in box.get_attribute("class")):
            widths.too_wide.append(f"the {kind} diagram is {svg} px wide, its card {card} px")
        if svg > card:
            expect(box.locator(".scroll-hint")).to_be_visible()
            assert box.get_attribute("tabindex") == "0"
    widths.check()

# The lines a cell's text takes (the distinct tops of its line boxes).
LINES = """el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
}"""


def test_short_chinese_labels_stay_whole_on_a_phone(app, estate, login):
    """到场 (on site) is one word: on a phone it stays on one line, and so do the headers."""
    with app.app_context():
        ticket = engine.open_ticket(_user("resident"), "repair", "厨房水龙头漏水，晚上一直滴水").id
        _fire(ticket, "dispatch", "butler", technician_id=estate.technician)
    page = login("butler", phone=True)
    page.get_by_role("button", name="中文").click()
    page.wait_for_url("**/queue/")
    page.goto(f"/tickets/{ticket}")
    table = page.locator("table.deadlines")
    screenshot(page, "deadlines-zh-375")
    on_site = table.locator("td", has_text="到场")
    assert on_site.evaluate(LINES) == 1
    for header in table.locator("th").all():
        assert header.evaluate(LINES) == 1, header.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
