"""Leave is told: the supervisors of a request, the butler of the decision, the substitute that
they cover, and everyone concerned when it is withdrawn; the request waits on the supervisor's
list, and the areas page says who covers an area whose butler is away."""
from __future__ import annotations

from datetime import timedelta

from models import Channel, Notice, db
from tests.conftest import T0
from tests.helpers import notices_of
from workflows import cover, delivery, notices
from workflows.rules import current as current_rules

HOUR = timedelta(hours=1)


def told_of_leave(channel: str = Channel.IN_APP) -> list[tuple[str, int]]:
    """(what was said, to whom) of every leave notice, in order."""
    return [(n.data["what"], n.user_id) for n in notices_of(channel) if n.cause == notices.LEAVE]


def said(notice: Notice, language: str = "en") -> tuple[str, str, str]:
    words = notices.words(notice, current_rules(), language)
    return words.subject, words.text, words.path


def ask(estate, starts=T0 + HOUR, ends=T0 + 9 * HOUR):
    return cover.request_leave(estate.user("butler"), None, starts, ends, reason="Dentist")


def test_a_request_is_told_to_the_supervisors_and_waits_on_their_list(desk, estate, clock,
                                                                      browser):
    leave = ask(estate)

    assert told_of_leave() == [("requested", estate.supervisor)]
    [notice] = notices_of(Channel.IN_APP)
    subject, text, path = said(notice)
    assert subject == "Leave asked for: Butler, 2026-11-16 10:00 – 2026-11-16 18:00"
    assert text.startswith("Butler asks for leave, ") and "Reason: Dentist" in text
    assert path == f"/cover/leave#leave-{leave.id}"
    assert "请假申请" in said(notice, "zh_CN")[0]

    page = browser("supervisor").get("/supervisor/waiting").get_data(as_text=True)
    assert f'data-leave="{leave.id}"' in page and "Dentist" in page


def test_a_request_made_by_a_supervisor_for_a_butler_is_told_to_the_butler(desk, estate, clock):
    cover.request_leave(estate.user("supervisor"), estate.butler, T0 + HOUR, T0 + 9 * HOUR,
                        reason="Training")

    assert told_of_leave() == [("requested", estate.butler)]


def test_approval_tells_the_butler_and_names_the_substitute_by_email_too(desk, estate, clock,
                                                                          mailbox, browser):
    substitute = estate.user("relief_butler")
    substitute.email, substitute.email_for = "relief@example.com", ["leave"]
    db.session.commit()
    leave = ask(estate)
    cover.approve_leave(estate.user("supervisor"), leave.id, estate.relief_butler)

    assert told_of_leave()[1:] == [("approved", estate.butler), ("named", estate.relief_butler)]
    named = [n for n in notices_of(Channel.IN_APP) if n.data.get("what") == "named"][0]
    subject, text, _ = said(named)
    assert subject == "You cover for Butler, 2026-11-16 10:00 – 2026-11-16 18:00"
    assert "deadlines falling due then are yours" in text
    assert told_of_leave(Channel.EMAIL) == [("named", estate.relief_butler)]
    assert delivery.deliver() == 1
    assert [m["To"] for m in mailbox.messages] == ["relief@example.com"]

    waiting = browser("supervisor").get("/supervisor/waiting").get_data(as_text=True)
    assert f'data-leave="{leave.id}"' not in waiting


def test_the_kind_leave_is_chosen_on_the_account_page_by_staff_only(browser):
    assert 'value="leave"' in browser("butler").get("/account").get_data(as_text=True)
    assert 'value="leave"' not in browser("resident").get("/account").get_data(as_text=True)


def test_a_butler_withdrawing_approved_leave_tells_the_substitute_and_the_supervisors(
        desk, estate, clock):
    leave = ask(estate)
    cover.approve_leave(estate.user("supervisor"), leave.id, estate.relief_butler)
    cover.cancel_leave(estate.user("butler"), leave.id)

    assert told_of_leave()[-2:] == [("cancelled", estate.relief_butler),
                                    ("cancelled", estate.supervisor)]
    subject = said(notices_of(Channel.IN_APP)[-1], "zh_CN")[0]
    assert subject.startswith("请假已撤回")


def test_the_areas_page_says_who_covers_while_the_butler_is_away(desk, estate, clock, browser):
    leave = ask(estate, starts=T0 - HOUR)
    cover.approve_leave(estate.user("supervisor"), leave.id, estate.relief_butler)

    supervisor = browser("supervisor")
    page = supervisor.get("/cover/areas").get_data(as_text=True)
    assert "On leave until 2026-11-16 18:00" in page and "covered by Relief_Butler" in page
    clock.shift(9 * HOUR)
    assert "On leave" not in supervisor.get("/cover/areas").get_data(as_text=True)
