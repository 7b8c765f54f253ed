"""The butler's queue and hand-over, the supervisor's overdue and at-risk lists and the workflow
diagrams (issue 3), through the Flask test client with CSRF on, the clock stopped at T0.

Tickets are opened and moved through the engine in an app context of their own; each person reads
the pages with their own client, as in tests/test_pages.py.
"""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from models import Ticket, Unit, User, db
from tests.conftest import T0
from workflows import engine, sweeper

# -- helpers --------------------------------------------------------------------------------------


def user(username: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == username))


def open_ticket(app, who: str, kind: str = "repair", title: str = "Tap leaking", **kwargs) -> int:
    with app.app_context():
        return engine.open_ticket(user(who), kind, title, **kwargs).id


def fire(app, ticket_id: int, trigger: str, who: str, **data) -> None:
    with app.app_context():
        version = db.session.get(Ticket, ticket_id).version
        engine.fire(ticket_id, trigger, user(who), version, **data)


def complaint_due_in(app, minutes: int, title: str, who: str = "resident") -> int:
    """A complaint whose reply is due `minutes` after T0: accepted, and the next reply promised
    for then (progress_update re-arms the reply deadline at the promised time)."""
    ticket = open_ticket(app, who, kind="complaint", title=title)
    butler = "other_butler" if who == "west_resident" else "butler"
    fire(app, ticket, "accept", butler)
    fire(app, ticket, "progress_update", butler, note="Waiting for the contractor",
         promised_at=T0 + timedelta(minutes=minutes))
    return ticket


def building_of(app, unit_id: int) -> int:
    with app.app_context():
        return db.session.get(Unit, unit_id).building_id


def rows(html: str, css_class: str) -> list[str]:
    return re.findall(r'<tr class="' + css_class + r'[^"]*"[^>]*>.*?</tr>', html, re.S)


def row_of(html: str, ticket_id: int) -> str:
    found = re.search(r'<tr [^>]*data-ticket="' + str(ticket_id) + r'".*?</tr>', html, re.S)
    assert found, f"no row for ticket {ticket_id}"
    return found.group(0)


def order_on(html: str) -> list[int]:
    return [int(t) for t in re.findall(r'<tr [^>]*data-ticket="(\d+)"', html)]


def section(html: str, section_id: str) -> str:
    found = re.search(r'<section id="' + section_id + r'".*?</section>', html, re.S)
    assert found, f"no section {section_id}"
    return found.group(0)


def text_of(html: str) -> str:
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()
    return re.sub(r" ([:,.;)])", r"\1", text)


# -- the queue ------------------------------------------------------------------------------------

def test_queue_puts_overdue_first_longest_overdue_first_then_the_nearest_deadline(app, estate,
                                                                               browser):
    later = open_ticket(app, "resident", title="Due in twenty minutes")
    complaint = open_ticket(app, "neighbour", kind="complaint", title="Reply in two days")
    late = open_ticket(app, "butler", title="Five minutes late", unit_id=estate.unit_b,
                       reported_at=T0 - timedelta(minutes=25))
    later_late = open_ticket(app, "butler", title="Twenty minutes late", unit_id=estate.unit_a,
                             reported_at=T0 - timedelta(minutes=40))
    sooner = open_ticket(app, "butler", title="Due in ten minutes", unit_id=estate.unit_a,
                         reported_at=T0 - timedelta(minutes=10))
    renovation = open_ticket(app, "resident", kind="renovation", title="New kitchen")
    fire(app, renovation, "approve", "butler")  # no clock runs while it waits to start

    html = browser("butler").get("/queue/").text

    assert order_on(html) == [later_late, late, sooner, later, complaint, renovation]
    overdue = row_of(html, late)
    assert 'class="queue-row is-overdue"' in overdue
    assert re.search(r'<p class="step overdue"><strong>Arrival on site</strong>', overdue)
    assert "5 min 00 s overdue" in overdue and "was due" in overdue and "11-16 08:55" in overdue
    assert "20 min 00 s overdue" in row_of(html, later_late)
    assert "is-overdue" not in row_of(html, sooner)
    assert "10 min 00 s left" in row_of(html, sooner) and "is-soon" in row_of(html, sooner)
    assert "2 d 0 h left" in row_of(html, complaint)
    assert "No deadline running" in row_of(html, renovation)


def test_queue_countdown_carries_the_due_time_and_the_servers_now(app, browser):
    ticket = open_ticket(app, "resident")
    html = browser("butler").get("/queue/").text
    countdown = re.search(r'<span class="countdown[^"]*"[^>]*>[^<]*</span>', row_of(html, ticket))
    assert countdown, "no countdown"
    tag = countdown.group(0)
    assert 'data-countdown' in tag
    assert 'data-due="2026-11-16T01:20:00+00:00"' in tag     # UTC, the script reads it
    assert 'data-now="2026-11-16T01:00:00+00:00"' in tag     # the server's now, not the phone's
    assert 'data-left="{time} left"' in tag and 'data-over="{time} overdue"' in tag
    assert tag.endswith(">20 min 00 s left</span>")          # what shows without the script
    assert "11-16 09:20" in row_of(html, ticket)              # the due time in property time
    assert '<script src="/static/js/countdown.js"' in html
    assert "console" not in html


def test_the_countdown_script_is_served_from_static(app, browser):
    reply = browser("butler").get("/static/js/countdown.js")
    assert reply.status_code == 200
    assert "data-countdown" in reply.text or "[data-countdown]" in reply.text
    reply.close()


def test_queue_counts_what_needs_the_butler_now(app, estate, browser):
    open_ticket(app, "butler", title="Late", unit_id=estate.unit_a,
                reported_at=T0 - timedelta(minutes=30))          # overdue
    open_ticket(app, "resident", title="On site in 20 min")         # due within 30 min
    complaint_due_in(app, 29, "Reply in 29 min")                    # due within 30 min
    complaint_due_in(app, 31, "Reply in 31 min")                    # not yet
    open_ticket(app, "west_resident", title="Not mine")             # another butler's

    html = browser("butler").get("/queue/").text
    needs = re.search(r'<p class="needs-now[^"]*">(.*?)</p>', html, re.S).group(1)
    assert text_of(needs) == "3 requests need you now: 1 overdue, 2 due within 30 min"
    assert re.search(r'<p class="needs-now has-overdue">', html)

    west = browser("other_butler").get("/queue/").text
    needs = re.search(r'<p class="needs-now[^"]*">(.*?)</p>', west, re.S).group(1)
    assert text_of(needs) == "1 request needs you now: 1 due within 30 min"


def test_queue_says_when_nothing_needs_the_butler_now(app, browser):
    open_ticket(app, "resident", kind="complaint", title="Reply in two days")
    html = browser("butler").get("/queue/").text
    assert "Nothing is overdue or due within 30 min." in html
    assert '<p class="needs-now is-clear">' in html


def test_queue_filters_by_kind_state_and_building_and_keeps_them_in_the_form(app, estate, browser):
    repair = open_ticket(app, "resident", title="Open repair")
    dispatched = open_ticket(app, "neighbour", title="Dispatched repair")
    fire(app, dispatched, "dispatch", "butler", technician_id=estate.technician)
    complaint = open_ticket(app, "neighbour", kind="complaint", title="Open complaint")
    # 首问负责制: a call the butler took for a West unit stays in their queue.
    west = open_ticket(app, "butler", title="West call", unit_id=estate.unit_w)
    client = browser("butler")
    b1, b4 = building_of(app, estate.unit_a), building_of(app, estate.unit_w)

    assert set(order_on(client.get("/queue/").text)) == {repair, dispatched, complaint, west}

    html = client.get("/queue/?kind=complaint").text
    assert order_on(html) == [complaint]
    assert '<option value="complaint" selected>' in html

    html = client.get("/queue/?kind=repair&state=dispatched").text
    assert order_on(html) == [dispatched]
    assert '<option value="repair" selected>' in html
    assert '<option value="dispatched" selected>' in html
    # with a kind chosen, only its states are offered
    assert 'value="submitted"' not in html.split('id="filter-state"')[1].split("</select>")[0]

    html = client.get(f"/queue/?building={b4}").text
    assert order_on(html) == [west]
    assert f'<option value="{b4}" selected>West · 4栋</option>' in html
    assert set(order_on(client.get(f"/queue/?building={b1}&kind=repair").text)) == {
        repair, dispatched}
    assert "Clear the filters" in html

    # the form is GET, labelled, and the filters are plain links
    form = html[html.index('<form class="queue-filters"'):]
    form = form[:form.index("</form>")]
    assert 'method="get"' in form
    for name in ("kind", "state", "building"):
        assert (f'<label for="filter-{name}">' in form
                and f'id="filter-{name}" name="{name}"' in form)


@pytest.mark.parametrize("query", ["kind=teleport", "state=nowhere", "building=abc",
                                   "building=99999", "building=-1", "state=closed",
                                   "kind=complaint&state=dispatched"])
def test_queue_ignores_filters_that_make_no_sense(app, estate, browser, query):
    open_ticket(app, "resident", title="Open repair")
    complaint = open_ticket(app, "neighbour", kind="complaint", title="Open complaint")
    reply = browser("butler").get(f"/queue/?{query}")
    assert reply.status_code == 200
    shown = order_on(reply.text)
    assert complaint in shown
    if not query.startswith("kind=complaint"):
        assert len(shown) == 2


def test_a_butler_cannot_filter_by_a_building_of_another_area(app, estate, browser):
    open_ticket(app, "resident", title="Mine")
    open_ticket(app, "west_resident", title="West")
    html = browser("butler").get(f"/queue/?building={building_of(app, estate.unit_w)}").text
    assert "Mine" in html and "West" not in html
    assert "4栋" not in html


def test_technician_sees_only_where_they_have_something_to_do(app, estate, browser):
    to_reach = open_ticket(app, "resident", title="To reach")
    fire(app, to_reach, "dispatch", "butler", technician_id=estate.technician)
    to_finish = open_ticket(app, "resident", title="To finish")
    fire(app, to_finish, "dispatch", "butler", technician_id=estate.technician)
    fire(app, to_finish, "arrive", "technician")
    finished = open_ticket(app, "neighbour", title="Finished")
    fire(app, finished, "dispatch", "butler", technician_id=estate.technician)
    fire(app, finished, "arrive", "technician")
    fire(app, finished, "complete", "technician")
    someone_else = open_ticket(app, "neighbour", title="Someone else's")
    fire(app, someone_else, "dispatch", "butler", technician_id=estate.other_technician)
    open_ticket(app, "resident", title="Not dispatched")

    html = browser("technician").get("/queue/").text
    assert order_on(html) == [to_reach, to_finish]   # arrival is due first, completion tomorrow
    assert "Finished" not in html and "Someone else's" not in html
    assert "Not dispatched" not in html
    assert "Hand-over" not in html
    states = html.split('id="filter-state"')[1].split("</select>")[0]
    assert re.findall(r'value="(\w+)"', states) == ["dispatched", "on_site"]
    assert order_on(browser("other_technician").get("/queue/").text) == [someone_else]


def test_supervisor_queue_holds_every_area(app, browser):
    open_ticket(app, "resident", title="East")
    open_ticket(app, "west_resident", title="West")
    html = browser("supervisor").get("/queue/").text
    assert "East" in html and "West" in html


# -- the hand-over --------------------------------------------------------------------------------

def test_handover_groups_open_work_by_building_with_next_step_and_due_time(app, estate, browser):
    tap = open_ticket(app, "resident", title="Tap leaking")
    noise = open_ticket(app, "neighbour", kind="complaint", title="Noise at night")
    fire(app, noise, "accept", "butler", note="Spoke to 103")
    west = open_ticket(app, "butler", title="West call", unit_id=estate.unit_w)
    late = open_ticket(app, "butler", title="Nobody went", unit_id=estate.unit_b,
                       reported_at=T0 - timedelta(minutes=30))
    open_ticket(app, "west_resident", title="Other butler's")
    done = open_ticket(app, "resident", title="Cancelled")
    fire(app, done, "cancel", "resident", reason="Fixed it myself")

    html = browser("butler").get("/queue/handover").text

    assert "Other butler's" not in html and "Cancelled" not in html
    headings = re.findall(r'<h2 id="building-\d+">(.*?) <small>\((\d+)\)</small></h2>', html)
    assert headings == [("East · 1栋", "3"), ("West · 4栋", "1")]
    east, west_part = html.split('<h2 id="building-')[1:3]
    assert order_on(east) == [late, tap, noise]
    assert order_on(west_part) == [west]

    row = text_of(row_of(html, tap))
    assert "Arrival on site: due 11-16 09:20" in row and "Completion: due 11-17 09:00" not in row
    assert "Can be done: Dispatch a technician, Cancel" in row
    row = text_of(row_of(html, late))
    assert "Arrival on site: overdue since 11-16 08:50" in row
    assert 'class="handover-row is-overdue"' in row_of(html, late)
    row = text_of(row_of(html, noise))
    assert "Reply with a solution: due 11-18 09:00" in row
    assert "Record and accept (Butler): Spoke to 103" in row   # the last step, for the next shift
    assert "Handed over by" in html and "Taken over by" in html
    assert "data-print" in html and '<script src="/static/js/print.js"' in html


def test_handover_is_for_butlers_and_supervisors(app, browser):
    open_ticket(app, "resident", title="East")
    open_ticket(app, "west_resident", title="West")
    html = browser("supervisor").get("/queue/handover").text
    assert "East · 1栋" in html and "West · 4栋" in html
    assert browser("technician").get("/queue/handover").status_code == 403
    assert browser("resident").get("/queue/handover").status_code == 403
    assert browser("butler").get("/queue/").text.count('href="/queue/handover"') >= 1


def test_handover_with_nothing_open(app, browser):
    html = browser("butler").get("/queue/handover").text
    assert "No open work to hand over." in html


def test_print_styles_hide_the_navigation_of_the_handover(app, browser):
    css = browser("butler").get("/static/style.css")
    assert re.search(r"@media print \{[^@]*body:has\(\.handover\) \.top", css.text)
    css.close()


# -- overdue and at risk --------------------------------------------------------------------------

def test_at_risk_windows_at_29_and_31_minutes_and_3h59_and_4h01(app, estate, browser):
    in_29m = complaint_due_in(app, 29, "Due in 29 minutes")
    in_31m = complaint_due_in(app, 31, "Due in 31 minutes")
    in_3h59 = complaint_due_in(app, 3 * 60 + 59, "Due in 3h59")
    in_4h01 = complaint_due_in(app, 4 * 60 + 1, "Due in 4h01")
    west = complaint_due_in(app, 10, "West, due in 10 minutes", who="west_resident")

    html = browser("supervisor").get("/supervisor/overdue").text

    soon, later = section(html, "due-soon"), section(html, "due-later")
    assert order_on(soon) == [west, in_29m]
    assert order_on(later) == [in_31m, in_3h59]
    assert "Due in 4h01" not in html and in_4h01 not in order_on(html)
    assert 'class="overdue-row"' not in html and "Nothing is overdue." in html

    row = row_of(soon, in_29m)
    assert "Reply with a solution" in row and "-5 (art. 10)" in row
    assert "<td>Butler</td>" in row
    assert "29 min 00 s left" in row and "2026-11-16 09:29" in row
    assert "<td>Other_Butler</td>" in row_of(soon, west)
    assert "3 h 59 min left" in row_of(later, in_3h59)
    counts = re.findall(r'<span class="count">(\d+)</span>', html)
    assert counts == ["0", "2", "2"]


def test_at_risk_moves_into_overdue_when_the_time_passes(app, estate, browser, clock):
    ticket = open_ticket(app, "resident", title="Tap leaking")
    html = browser("supervisor").get("/supervisor/overdue").text
    assert order_on(section(html, "due-soon")) == [ticket]

    clock.shift(timedelta(minutes=20))   # due now: overdue, not at risk
    html = browser("supervisor").get("/supervisor/overdue").text
    assert order_on(section(html, "due-soon")) == []
    [row] = rows(html, "overdue-row")
    assert "Tap leaking" in row and "<td>Butler</td>" in row and "not yet recorded" in row


def test_overdue_names_the_butler_charged_and_the_current_assignee(app, estate, browser, clock):
    ticket = open_ticket(app, "resident", title="Nobody came")
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        assert sweeper.sweep() == 1
    fire(app, ticket, "reassign", "supervisor", assignee_id=estate.relief_butler)

    html = browser("supervisor").get("/supervisor/overdue").text
    [row] = rows(html, "overdue-row")
    assert "<td>Butler</td>" in row and "recorded" in row
    [moved] = rows(html, "reassigned-row")
    assert text_of(moved) == "Charged to Butler; now assigned to Relief_Butler."


def test_overdue_without_a_reassignment_has_no_second_line(app, browser, clock):
    open_ticket(app, "resident", title="Nobody came")
    clock.shift(timedelta(minutes=25))
    with app.app_context():
        sweeper.sweep()
    html = browser("supervisor").get("/supervisor/overdue").text
    assert len(rows(html, "overdue-row")) == 1 and rows(html, "reassigned-row") == []


@pytest.mark.parametrize("who", ["butler", "technician", "resident"])
def test_overdue_and_workflows_are_for_supervisors(app, browser, who):
    client = browser(who)
    assert client.get("/supervisor/overdue").status_code == 403
    assert client.get("/supervisor/workflows").status_code == 403


# -- workflows ------------------------------------------------------------------------------------

def test_workflows_page_holds_each_kinds_mermaid_source_and_the_vendored_script(app, browser):
    reply = browser("supervisor").get("/supervisor/workflows")
    assert reply.status_code == 200
    html = reply.text

    diagrams = re.findall(r'<pre class="mermaid" data-kind="(\w+)">(.*?)</pre>', html, re.S)
    assert [kind for kind, _source in diagrams] == ["repair", "complaint", "renovation"]
    repair = unescape(diagrams[0][1])
    assert repair.startswith("---\nRepair\n---\nstateDiagram-v2")
    assert "reported --> dispatched: Dispatch a technician (butler, supervisor)" in repair
    assert 'state "Technician dispatched" as dispatched' in repair
    violation = "in_progress --> rectifying: Record an inspection (butler) [violation found]"
    assert violation in unescape(diagrams[2][1])

    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == ["/static/js/live.js",  # the bell, on every page
                       "/static/js/menu.js",  # the menu folding on a phone, on every page
                       "/static/vendor/mermaid-11.17.2.min.js", "/static/js/diagrams.js"]
    assert not re.search(r"(https?:)?//[\w.-]+\.[a-z]{2,}", html)   # no CDN, no external URL
    for path in scripts:
        served = browser("supervisor").get(path)
        assert served.status_code == 200
        served.close()


def test_workflows_page_lists_steps_in_place_and_deadlines_from_the_rules(app, browser):
    html = browser("supervisor").get("/supervisor/workflows").text
    complaint = html[html.index('id="workflow-complaint"'):html.index('id="workflow-renovation"')]
    in_place = complaint[complaint.index("Steps that keep the state"):complaint.index(
        "<h3>Deadlines</h3>")]
    assert "Tell progress, promise next reply" in in_place and "note, next reply by" in in_place
    assert "Reassign to another butler" in in_place and "supervisor" in in_place

    def rule_row(part, name):
        found = re.search(r'<tr class="deadline-rule" data-deadline="' + name + r'">.*?</tr>',
                          part, re.S)
        return text_of(found.group(0))

    assert rule_row(complaint, "reply").split(" re-armed by")[0] == (
        "Reply with a solution paused in: Waiting for the resident")
    assert "48 h" in rule_row(complaint, "reply") and "-5 art. 10" in rule_row(complaint, "reply")
    repair = html[html.index('id="workflow-repair"'):html.index('id="workflow-complaint"')]
    assert rule_row(repair, "on_site") == "Arrival on site 20 min Reported On site -2 art. 4"
    assert rule_row(repair, "completion") == "Completion 24 h Reported Completed -2 art. 4"
    renovation = html[html.index('id="workflow-renovation"'):]
    assert "every missed period counts" in rule_row(renovation, "inspection")


def test_workflows_are_drawn_in_the_readers_language(app, browser):
    html = browser("supervisor", language="zh-CN,zh;q=0.9").get("/supervisor/workflows").text
    repair = unescape(re.search(r'<pre class="mermaid" data-kind="repair">(.*?)</pre>', html,
                                re.S).group(1))
    assert repair.startswith("---\n报修\n---") and 'state "已派工" as dispatched' in repair


def test_handover_says_how_much_needs_the_next_shift_now(app, estate, browser):
    open_ticket(app, "resident", title="Tap leaking")
    html = browser("butler").get("/queue/handover").text
    assert '<strong class="due">0 overdue, 1 due within 30 min.</strong>' in html
    open_ticket(app, "butler", title="Nobody went", unit_id=estate.unit_b,
                reported_at=T0 - timedelta(minutes=30))
    html = browser("butler").get("/queue/handover").text
    assert '<strong class="overdue">1 overdue, 1 due within 30 min.</strong>' in html
