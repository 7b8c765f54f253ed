"""A repair told, warned and escalated, end to end through the pages.

A resident reports a repair on the resident's page, the butler dispatches a technician on the
butler's page, and the clock moves to the warning before the on-site limit and past it (the
sweeper runs at each). Everyone told sees it in the app, and after the delivery worker's pass
it has reached a real SMTP server (in the reader's language) and a WeCom-format group robot
(in the installation's, Chinese), each with the ticket's link.
"""
from __future__ import annotations

from datetime import timedelta

from tests.conftest import T0
from tests.helpers import deductions
from tests.pages import bell, csrf_token, fire_form, submit, ticket_from
from workflows import delivery, sweeper

LANGUAGES = {"butler": "en", "technician": "zh_CN", "supervisor": "en"}


class Receivers:
    """What reached the mailbox and the WeCom group since the last look."""

    def __init__(self, mailbox, webhook):
        self.mailbox, self.webhook = mailbox, webhook
        self.emails_seen = self.posts_seen = 0

    def new(self, link: str, emails: dict[str, str], group: str) -> dict[str, str]:
        """Check that exactly these emails ({address: subject}) and one group message with the
        subject `group` came since the last look, each with the link; returns the emails' text
        by address."""
        messages = self.mailbox.messages[self.emails_seen:]
        posts = self.webhook.received[self.posts_seen:]
        self.emails_seen, self.posts_seen = len(self.mailbox.messages), len(self.webhook.received)
        assert sorted((m["To"], m["Subject"]) for m in messages) == sorted(emails.items())
        texts = {m["To"]: m.get_body(("plain",)).get_content() for m in messages}
        assert all(link in text for text in texts.values()), texts
        [post] = posts
        assert post.json["msgtype"] == "markdown"
        content = post.json["markdown"]["content"]
        assert content.startswith(f"**{group}**\n") and content.endswith(f"[{link}]({link})")
        return texts


def set_up(person, username: str) -> None:
    """An email address on the Account page, and the language chosen with the switch."""
    page = person.get("/account").text
    saved = person.post("/account/notices", data={
        "notices-csrf_token": csrf_token(page), "notices-email": f"{username}@example.com",
        "notices-email_for": ["new", "step", "warning", "missed"]})
    assert saved.status_code == 302
    person.post("/language", data={"csrf_token": csrf_token(page),
                                   "lang": LANGUAGES[username], "next": "/account"})


def in_context(app, work):
    """Run the worker's or the sweeper's pass as its process would: in an app context of its
    own, not the pages'."""
    with app.app_context():
        return work()


def notices_page(person) -> str:
    return person.get("/notices/").text


def unread(person) -> int | None:
    """The count on the bell of the person's queue (their first page)."""
    return bell(person.get("/queue/").text)


def test_a_repair_is_told_warned_and_escalated_by_bell_email_and_wecom(
        app, browser, estate, mailbox, webhook, clock):
    app.config.update(WEBHOOK_FORMAT="wecom", WEBHOOK_SECRET=None)
    people = {username: browser(username) for username in LANGUAGES}
    for username, person in people.items():
        set_up(person, username)
    receivers = Receivers(mailbox, webhook)

    # The resident reports a repair on the resident's page: the butler is told.
    ticket = ticket_from(submit(browser("resident"), {
        "kind": "repair", "title": "Kitchen tap leaking", "description": "Drips all night."}))
    link = f"http://127.0.0.1:5000/tickets/{ticket}"
    about_en = f"Repair #{ticket} Kitchen tap leaking"
    about_zh = f"报修 #{ticket} Kitchen tap leaking"
    assert unread(people["butler"]) == 1
    assert f"New: {about_en}" in notices_page(people["butler"])
    assert in_context(app, delivery.deliver) == 2
    receivers.new(link, {"butler@example.com": f"New: {about_en}"}, f"新请求：{about_zh}")

    # The butler dispatches a technician on the ticket's page: the technician is told.
    assert fire_form(people["butler"], ticket, "dispatch",
                     technician_id=str(estate.technician)).status_code == 302
    assert unread(people["technician"]) == 1
    assert f"{about_zh}：已派工" in notices_page(people["technician"])
    assert in_context(app, delivery.deliver) == 2
    receivers.new(link, {"technician@example.com": f"{about_zh}：已派工"}, f"{about_zh}：已派工")

    # Ten minutes before the on-site limit (20 minutes after the report), the sweeper warns
    # the butler and the technician.
    clock.move_to(T0 + timedelta(minutes=10))
    assert in_context(app, sweeper.sweep) == 0
    assert (unread(people["butler"]), unread(people["technician"])) == (2, 2)
    assert f"Due in 10 min: Arrival on site, {about_en}" in notices_page(people["butler"])
    assert f"还剩 10 分钟：到场，{about_zh}" in notices_page(people["technician"])  # in Chinese
    assert in_context(app, delivery.deliver) == 3
    warned_zh = f"还剩 10 分钟：到场，{about_zh}"
    texts = receivers.new(link, {
        "butler@example.com": f"Due in 10 min: Arrival on site, {about_en}",
        "technician@example.com": warned_zh}, warned_zh)
    assert "is due at 2026-11-16 09:20" in texts["butler@example.com"]  # the property's time
    assert "将于 2026-11-16 09:20 到期" in texts["technician@example.com"]

    # Past the limit: the miss is recorded against the butler and the supervisor is told.
    clock.move_to(T0 + timedelta(minutes=21))
    assert in_context(app, sweeper.sweep) == 1
    with app.app_context():
        [miss] = deductions(ticket)
        assert (miss.butler_id, miss.missed_at) == (estate.butler, T0 + timedelta(minutes=20))
    assert unread(people["supervisor"]) == 1
    assert f"Missed: Arrival on site, {about_en}" in notices_page(people["supervisor"])
    assert in_context(app, delivery.deliver) == 2
    texts = receivers.new(link, {"supervisor@example.com": f"Missed: Arrival on site, {about_en}"},
                          f"已超时：到场，{about_zh}")
    assert ("was due at 2026-11-16 09:20 and is not done. Butler: Butler."
            in texts["supervisor@example.com"])

    assert in_context(app, delivery.deliver) == 0  # each was sent once
