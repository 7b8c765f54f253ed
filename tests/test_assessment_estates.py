"""The assessment per estate (issue 13): a month is closed per estate, a supervisor reads and
closes only their estates' months, and the admin reads the company's roll-up.

Two estates: the suite's Garden (its supervisor, butlers East and West, and the relief butler,
who has no area and so is assessed in every estate) and Harbour, built here
(`harbour_assessment`): one area with its own butler and its own supervisor, who supervises
Harbour only. October is over at T0 (November 2026), so it can be closed.
"""
from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from models import Area, AreaButler, Building, Estate, Role, Unit, User, db
from models.estate import SINCE_RECORDS
from tests.api import API, token_for
from workflows import assessment
from workflows.errors import Conflict, InvalidData, NotFound

OCTOBER, NOVEMBER = "2026-10", "2026-11"
IN_OCTOBER = "2026-10-20T10:00:00+08:00"


def harbour_assessment() -> dict[str, int]:
    """A second estate, Harbour: area Pier with its butler, a unit, and a supervisor of Harbour
    only. Returns the ids: estate, garden, harbour_butler, harbour_supervisor."""
    hashed = db.session.scalar(select(User.password_hash).where(User.username == "butler"))

    def person(username: str, role: str) -> User:
        user = User(username=username, name=username.title(), role=role)
        user.password_hash = hashed
        db.session.add(user)
        return user

    butler = person("harbour_butler", Role.BUTLER)
    supervisor = person("harbour_supervisor", Role.SUPERVISOR)
    harbour = Estate(name="Harbour")
    pier = Area(estate=harbour, name="Pier", butler=butler)
    building = Building(area=pier, name="A栋")
    db.session.add_all([harbour, pier, building, Unit(building=building, number="101"),
                        AreaButler(area=pier, butler=butler, starts_at=SINCE_RECORDS)])
    harbour.supervisors.append(supervisor)
    db.session.commit()
    garden = db.session.scalar(select(Estate.id).where(Estate.name == "Garden"))
    return {"estate": harbour.id, "garden": garden, "harbour_butler": butler.id,
            "harbour_supervisor": supervisor.id}


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def finding(supervisor: str, butler: str, code: str, estate_id: int, **kwargs):
    return assessment.record_finding(user(supervisor), user(butler).id, code, "Seen on patrol",
                                     estate_id=estate_id, **kwargs)


def scores(cards: list[dict]) -> dict[str, int]:
    return {card["butler"]["username"]: card["score"] for card in cards}


def test_closing_one_estates_month_freezes_its_lines_only(ctx, estate, clock):
    harbour = harbour_assessment()
    garden_line = finding("supervisor", "butler", "5", harbour["garden"], occurred_at=IN_OCTOBER)
    finding("harbour_supervisor", "harbour_butler", "5", harbour["estate"],
            occurred_at=IN_OCTOBER)

    closed = assessment.close_month(user("supervisor"), OCTOBER, "Garden's month-end")

    assert closed.estate_id == harbour["garden"]
    assert assessment.is_closed(OCTOBER, harbour["garden"])
    assert not assessment.is_closed(OCTOBER, harbour["estate"])
    # Harbour's October still takes lines and decisions; Garden's refuses them.
    late = finding("harbour_supervisor", "harbour_butler", "2", harbour["estate"],
                   occurred_at=IN_OCTOBER)
    assessment.waive(user("harbour_supervisor"), late.id, "Visited after all")
    with pytest.raises(Conflict):
        finding("supervisor", "butler", "2", harbour["garden"], occurred_at=IN_OCTOBER)
    with pytest.raises(Conflict):
        assessment.waive(user("admin"), garden_line.id, "Too harsh")

    garden, frozen = assessment.scorecards(OCTOBER, estate_id=harbour["garden"])
    harbours, live = assessment.scorecards(OCTOBER, estate_id=harbour["estate"])
    assert frozen is not None and live is None
    # Each estate shows its butlers (the relief butler in both) and its lines only.
    assert scores(garden) == {"butler": 98, "other_butler": 100, "relief_butler": 100}
    assert scores(harbours) == {"harbour_butler": 98, "relief_butler": 100}
    assert {c["estate"]["name"] for c in garden} == {"Garden"}


def test_a_finding_belongs_to_its_tickets_estate_or_the_one_picked(ctx, estate, clock, desk):
    harbour = harbour_assessment()
    ticket = desk.open("resident", "repair", "Tap leaking")

    line = assessment.record_finding(user("supervisor"), estate.butler, "5", "No visit",
                                     ticket_id=ticket.id)
    assert line.estate_id == harbour["garden"]
    # The admin has two estates: a finding without a ticket names one.
    with pytest.raises(InvalidData) as refused:
        assessment.record_finding(user("admin"), estate.butler, "5", "No patrol")
    assert "estate_id" in refused.value.fields
    with pytest.raises(InvalidData) as refused:
        assessment.record_finding(user("admin"), estate.butler, "5", "No visit",
                                  ticket_id=ticket.id, estate_id=harbour["estate"])
    assert "Garden" in str(refused.value.fields["estate_id"])
    # Harbour's supervisor does not see Garden's ticket, nor Garden itself.
    with pytest.raises(InvalidData) as refused:
        finding("harbour_supervisor", "relief_butler", "5", harbour["garden"])
    assert "estate_id" in refused.value.fields
    with pytest.raises(NotFound):
        assessment.close_month(user("harbour_supervisor"), OCTOBER, "", harbour["garden"])


def test_a_supervisor_never_reads_closes_or_exports_another_estates_month(app, client, estate,
                                                                          browser):
    with app.app_context():
        harbour = harbour_assessment()
        garden_line = finding("supervisor", "butler", "5", harbour["garden"]).id
    headers = token_for(client, "harbour_supervisor")
    garden = harbour["garden"]

    def get(path, **query):
        return client.get(API + path, headers=headers, query_string=query)

    assert get("/scorecards", estate_id=garden).status_code == 404
    assert get("/scorecards", estate_id=garden, format="xlsx").status_code == 404
    assert get(f"/months/{OCTOBER}", estate_id=garden).status_code == 404
    assert get("/spot-checks", estate_id=garden).status_code == 404
    for path, body in ((f"/months/{OCTOBER}/close", {"estate_id": garden}),
                       (f"/deductions/{garden_line}/waive", {"reason": "Too harsh"})):
        assert client.post(API + path, headers=headers, json=body).status_code == 404
    own = get("/scorecards").json  # their only estate, implied
    assert own["estate"] == {"id": harbour["estate"], "name": "Harbour"}
    assert scores(own["scorecards"]) == {"harbour_butler": 100, "relief_butler": 100}
    assert get("/assessment/company").status_code == 403
    # The admin has both estates, and names one.
    admin = client.get(API + "/scorecards", headers=token_for(client, "admin"))
    assert admin.status_code == 422 and "estate_id" in admin.json["error"]["fields"]

    pages = browser("harbour_supervisor")
    for path in (f"/assessment/?estate={garden}", f"/assessment/export.xlsx?estate={garden}",
                 f"/assessment/spot-checks?estate={garden}",
                 f"/assessment/butlers/{estate.butler}?estate={garden}"):
        assert pages.get(path).status_code == 404, path
    page = pages.get("/assessment/").text
    assert "<h1>Assessment · Harbour · 2026-11</h1>" in page
    assert "estate-picker" not in page  # one estate: nothing to pick
    assert pages.get("/assessment/company").status_code == 403
    # The butler reads only their own card.
    butler = browser("butler")
    assert butler.get(f"/assessment/butlers/{harbour['harbour_butler']}").status_code == 403


def test_the_company_roll_up_shows_a_butler_per_estate_and_across_them(app, client, estate,
                                                                       browser):
    with app.app_context():
        harbour = harbour_assessment()
        finding("supervisor", "relief_butler", "5", harbour["garden"])        # -2
        finding("harbour_supervisor", "relief_butler", "3-bonus", harbour["estate"])  # +5
        finding("harbour_supervisor", "harbour_butler", "3", harbour["estate"])  # -5

    rolled = client.get(API + "/assessment/company", headers=token_for(client, "admin"),
                        query_string={"month": NOVEMBER}).json

    relief = next(b for b in rolled["butlers"] if b["butler"]["username"] == "relief_butler")
    assert relief["score"] == 103 and relief["deductions"] == -2 and relief["bonuses"] == 5
    assert {e["name"]: e["score"] for e in relief["estates"]} == {"Garden": 98, "Harbour": 105}
    assert scores(rolled["butlers"]) == {"relief_butler": 103, "butler": 100,
                                         "other_butler": 100, "harbour_butler": 95}
    averages = {e["name"]: e["average"] for e in rolled["estates"]}
    assert averages == {"Garden": round((100 + 100 + 98) / 3, 1), "Harbour": 100.0}

    admin = browser("admin")
    page = admin.get(f"/assessment/company?month={NOVEMBER}").text
    row = page[page.index(f'id="butler-{estate.relief_butler}"'):]
    row = row[:row.index("</tbody>")]
    assert "Garden" in row and "Harbour" in row and "<strong>103</strong>" in row
    reply = admin.get(f"/assessment/company.xlsx?month={NOVEMBER}")
    assert reply.headers["Content-Disposition"] == \
        'attachment; filename="butlerdesk-company-2026-11.xlsx"'
    summary = list(load_workbook(io.BytesIO(reply.data))["考核汇总"].iter_rows(values_only=True))
    assert ("2026-11", "Relief_Butler", 100, -2, 5, 0, 103, "优秀", "全公司") in summary
    assert ("2026-11", "Relief_Butler", 100, -2, 0, 0, 98, "优秀", "Garden") in summary
    # An estate's export is that estate's, named after it.
    harbour_file = admin.get(f"/assessment/export.csv?month={NOVEMBER}&estate={harbour['estate']}")
    assert harbour_file.headers["Content-Disposition"] == \
        'attachment; filename="butlerdesk-Harbour-2026-11.csv"'
    text = harbour_file.data.decode("utf-8-sig")
    assert "Harbour_Butler" in text and "Other_Butler" not in text


FINDINGS = st.lists(st.tuples(st.sampled_from(["garden", "estate"]),
                              st.sampled_from(["butler", "relief_butler", "harbour_butler"]),
                              st.sampled_from(["5", "3", "3-bonus", "2"]),
                              st.booleans()), max_size=6)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(findings=FINDINGS)
def test_the_company_line_is_the_sum_of_the_estate_cards(ctx, estate, clock, findings):
    """Whatever is recorded (and waived) in whichever estate, each butler's company line is the
    full score plus every counting line in every estate: the sum of their estate cards."""
    harbour = db.session.scalar(select(Estate).where(Estate.name == "Harbour"))
    ids = harbour_assessment() if harbour is None else {
        "estate": harbour.id, "garden": assessment.estates_of(user("admin"))[0].id}
    for where, butler, code, waived in findings:
        line = finding("admin", butler, code, ids[where])
        if waived:
            assessment.waive(user("admin"), line.id, "Seen otherwise")

    rolled = assessment.company(NOVEMBER)

    full = 100
    for company_line in rolled["butlers"]:
        cards = [card for e in rolled["estates"] for card in e["scorecards"]
                 if card["butler"]["id"] == company_line["butler"]["id"]]
        counted = [ln["points"] for card in cards for ln in card["lines"]
                   if assessment.counts(ln)]
        assert company_line["score"] == full + sum(c["score"] - full for c in cards)
        assert company_line["score"] == full + sum(counted)
        assert company_line["deductions"] == sum(p for p in counted if p < 0)
        assert company_line["bonuses"] == sum(p for p in counted if p > 0)
        assert len(company_line["lines"]) == sum(len(card["lines"]) for card in cards)
