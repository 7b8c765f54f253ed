"""What waits for the supervisor: appealed and held lines of any month, escalated complaints."""
from __future__ import annotations

from datetime import timedelta

from models import Notice, User, db
from tests.pages import fire, open_ticket, section, user_id
from workflows import assessment, sweeper


def test_an_appealed_line_and_an_escalated_complaint_wait_for_the_supervisor(app, estate,
                                                                             browser, clock):
    repair = open_ticket(app, "resident")
    complaint = open_ticket(app, "resident", kind="complaint", title="Noise at night")
    fire(app, complaint, "accept", "butler", note="Recorded")
    fire(app, complaint, "escalate", "butler", note="Needs the property manager")
    clock.shift(timedelta(minutes=21))
    with app.app_context():
        sweeper.sweep()
        assert assessment.undecided() == []  # a miss charged at once waits for nobody
        [card] = assessment.live_scorecards("2026-11", user_id("butler"))
        line_id = card.lines[0]["id"]
        assessment.appeal(db.session.get(User, user_id("butler")), line_id, "The lift was broken")

    page = browser("supervisor").get("/supervisor/waiting").text
    lines = section(page, 'id="lines-title"', "</section>")
    assert "The lift was broken" in lines and f"#{repair}" in lines
    assert f'href="/assessment/butlers/{estate.butler}?month=2026-11#line-{line_id}"' in lines
    escalated = section(page, 'id="escalated-title"', "</section>")
    assert "Noise at night" in escalated and "138 0000 0101" in escalated

    with app.app_context():
        assessment.waive(db.session.get(User, user_id("supervisor")), line_id, "Lift log seen")
    page = browser("supervisor").get("/supervisor/waiting").text
    assert "No appeal or held line is waiting." in page


def test_the_butler_may_not_open_the_supervisors_list(app, browser):
    assert browser("butler").get("/supervisor/waiting").status_code == 403


def test_the_delivery_log_shows_what_failed_and_whom_it_was_for(app, estate, browser, clock):
    with app.app_context():
        butler = db.session.get(User, estate.butler)
        butler.email = "butler@example.test"
        db.session.commit()
    app.config["MAIL_SERVER"] = "127.0.0.1"  # notices by email are made; none is sent here
    ticket = open_ticket(app, "resident")
    with app.app_context():
        notice = db.session.scalar(db.select(Notice).where(Notice.channel == "email"))
        notice.status, notice.attempts, notice.last_error = "failed", 10, "connection refused"
        db.session.commit()
        notice_id = notice.id
    client = browser("supervisor")
    page = client.get("/supervisor/deliveries?status=failed").text
    row = section(page, f'data-notice="{notice_id}"', "</tr>")
    assert "Butler" in row and "butler@example.test" in row and f"#{ticket}" in row
    assert "failed" in row and "connection refused" in row
    assert f'data-notice="{notice_id}"' in client.get(
        f"/supervisor/deliveries?person={estate.butler}").text
    assert f'data-notice="{notice_id}"' not in client.get(
        "/supervisor/deliveries?status=sent").text
    assert client.get("/supervisor/deliveries?status=bogus&person=x").status_code == 200
