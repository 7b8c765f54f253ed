"""JSON API v1 for the monthly assessment: scorecards, appeals, waivers, findings, spot-checks,
closing months, per estate (`estate_id`: one of the supervisor's estates; implied when they have
one), and the company's roll-up for the admin. Same error format and status codes as the rest of
the API."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from models import Deduction, MonthClosing, db
from views import exports, schemas
from views.api import body, bp, int_arg
from views.exports import XLSX_TYPE
from views.openapi import documented
from workflows import assessment
from workflows.access import scorecard_of
from workflows.errors import Forbidden, InvalidData
from workflows.rules import current as current_rules


def _month_arg() -> str:
    month = request.args.get("month")
    return assessment.current_month() if month in (None, "") else assessment.parse_month(month)


def _closing_json(closing) -> dict | None:
    if closing is None:
        return None
    return {"action": closing.action, "by": closing.actor.name, "at": closing.at.isoformat(),
            "reason": closing.reason}


def _estate_arg(source: dict | None = None):
    """The estate named by `estate_id` (the query's, or the body's), one of the user's."""
    return assessment.estate_for(current_user, (source or request.args).get("estate_id"))


def _line_json(entry_id: int) -> dict:
    db.session.expire_all()
    return assessment.line(db.session.get(Deduction, entry_id))


@bp.get("/assessment")
@documented(responses={200: schemas.AssessmentRules})
def assessment_rules():
    """The catalog of findings, the grades and the spot-check share, as loaded from the rules."""
    rules = current_rules().assessment
    return jsonify({
        "full_score": rules.full_score,
        "grades": [{"min": g.minimum, "label": g.label} for g in rules.grades],
        "findings": [{"code": f.code, "article": f.article, "points": f.points, "label": f.label}
                     for f in rules.findings.values()],
        "spot_check": {"share": rules.spot_check_share,
                       "findings": {kind: spot.finding
                                    for kind, spot in current_rules().spot_checked.items()}},
    })


@bp.get("/scorecards")
@documented(query=schemas.ScorecardQuery, errors=(403, 404, 422), responses={200: {
    "application/json": schemas.Scorecards, XLSX_TYPE: None, "text/csv": None}})
def scorecards():
    """The scorecards of an estate's butlers for a month (butlers: their own card, in an estate
    they have one in); ?format=xlsx, csv (the summary) or lines-csv (every line) for files."""
    month = _month_arg()
    butler_id = scorecard_of(current_user, int_arg("butler_id"))
    file_format = _file_format()
    theirs = None if current_user.role in assessment.SUPERVISORS else \
        assessment.card_estates(current_user, butler_id, month)
    estate = assessment.estate_for(current_user, request.args.get("estate_id"), theirs)
    cards, closed = assessment.scorecards(month, butler_id, estate.id)
    if file_format != "json":
        return exports.download(month, cards, file_format, estate.name)
    late = assessment.entries_after_closing(month, closed) if closed else []
    return jsonify({"month": month, "estate": {"id": estate.id, "name": estate.name},
                    "closed": closed is not None,
                    "closing": _closing_json(closed or assessment.closing(month, estate.id)),
                    "scorecards": cards,
                    "recorded_after_closing": [ln for ln in late
                                               if butler_id in (None, ln.get("butler_id"))]})


def _file_format() -> str:
    file_format = request.args.get("format") or "json"
    if file_format != "json" and file_format not in exports.FORMATS:
        raise InvalidData("bad format", {"format": "must be json, xlsx, csv or lines-csv"})
    return file_format


@bp.get("/assessment/company")
@documented(query=schemas.ScorecardQuery, errors=(403, 422), responses={200: {
    "application/json": schemas.Company, XLSX_TYPE: None, "text/csv": None}})
def company():
    """The company's roll-up of a month, for the admin: every estate's cards and average, and
    each butler's company line (the sum of their estate cards); ?format= as for scorecards."""
    file_format = _file_format()
    rolled = assessment.company_of(current_user, _month_arg())
    if file_format != "json":
        return exports.download_company(rolled, file_format)
    return jsonify(rolled)


@bp.post("/deductions/<int:entry_id>/appeal")
@documented(body=schemas.Reason, responses={201: schemas.Line}, errors=(403, 404, 409, 422))
def appeal(entry_id: int):
    """The butler charged asks for a waiver: {reason}."""
    made = assessment.appeal(current_user, entry_id, body().get("reason"))
    return jsonify(_line_json(made.deduction_id)), 201


@bp.post("/deductions/<int:entry_id>/waive")
@documented(body=schemas.Reason, responses={201: schemas.Line}, errors=(403, 404, 409, 422))
def waive(entry_id: int):
    """A supervisor waives a line: {reason}. The line stays, marked waived; the score follows."""
    made = assessment.waive(current_user, entry_id, body().get("reason"))
    return jsonify(_line_json(made.deduction_id)), 201


@bp.post("/deductions/<int:entry_id>/uphold")
@documented(body=schemas.Reason, responses={201: schemas.Line}, errors=(403, 404, 409, 422))
def uphold(entry_id: int):
    """A supervisor upholds a line after an appeal: {reason}."""
    made = assessment.uphold(current_user, entry_id, body().get("reason"))
    return jsonify(_line_json(made.deduction_id)), 201


@bp.post("/findings")
@documented(body=schemas.FindingRequest, responses={201: schemas.Line}, errors=(403, 409, 422))
def record_finding():
    """A supervisor records a finding or bonus: {butler_id, code, note, ticket_id?,
    occurred_at?, estate_id?} (the estate: the ticket's, or one of theirs)."""
    data = body()
    made = assessment.record_finding(current_user, data.get("butler_id"), data.get("code"),
                                     data.get("note"), data.get("ticket_id"),
                                     data.get("occurred_at"), estate_id=data.get("estate_id"))
    return jsonify(_line_json(made.id)), 201


def _spot_check_json(month: str, estate) -> dict:
    drawn = assessment.spot_check(month, estate.id)
    where = {"month": month, "estate": {"id": estate.id, "name": estate.name}}
    if drawn is None:
        population = len(assessment.spot_check_population(month, estate.id))
        share = current_rules().assessment.spot_check_share
        return {**where, "drawn": False, "population_size": population,
                "sample_size": assessment.sample_size(population, share), "items": []}
    items = [{
        "id": item.id, "ticket": {"id": item.ticket.id, "kind": item.ticket.kind,
                                  "title": item.ticket.title,
                                  "butler_id": item.ticket.assignee_id},
        "result": item.result, "note": item.note,
        "recorded_at": item.recorded_at.isoformat() if item.recorded_at else None,
        "finding_id": item.finding_id,
    } for item in drawn.items]
    return {**where, "drawn": True, "id": drawn.id, "seed": drawn.seed,
            "population_size": drawn.population_size, "sample_size": drawn.sample_size,
            "drawn_at": drawn.drawn_at.isoformat(), "drawn_by": drawn.drawn_by.name,
            "done": sum(1 for i in items if i["result"]), "items": items}


def _supervisors_only() -> None:
    if current_user.role not in assessment.SUPERVISORS:
        raise Forbidden("only a supervisor runs spot-checks")


@bp.get("/spot-checks")
@documented(query=schemas.EstateMonthQuery, responses={200: schemas.SpotCheck},
            errors=(403, 404, 422))
def get_spot_check():
    """The estate's spot-check of the month: the sample and its progress, or what a draw would
    take."""
    _supervisors_only()
    month = _month_arg()
    return jsonify(_spot_check_json(month, _estate_arg()))


@bp.post("/spot-checks")
@documented(body=schemas.SpotCheckDraw, responses={201: schemas.SpotCheck},
            errors=(403, 404, 409, 422))
def draw_spot_check():
    """Draw the estate's sample of the month: {month, estate_id?}."""
    data = body()
    drawn = assessment.draw_spot_check(current_user, data.get("month"), data.get("estate_id"))
    return jsonify(_spot_check_json(drawn.month, drawn.estate)), 201


@bp.post("/spot-checks/items/<int:item_id>")
@documented(body=schemas.SpotCheckCall, responses={200: schemas.SpotCheck},
            errors=(403, 404, 409, 422))
def record_spot_check(item_id: int):
    """Record a follow-up: {result: satisfied|unsatisfied|unreachable, note?, make_finding?}."""
    data = body()
    make_finding = data.get("make_finding", False)
    if not isinstance(make_finding, bool):
        raise InvalidData("bad make_finding", {"make_finding": "must be true or false"})
    item = assessment.record_spot_check_result(current_user, item_id, data.get("result"),
                                               data.get("note", ""), make_finding)
    return jsonify(_spot_check_json(item.spot_check.month, item.spot_check.estate))


def _month_json(month: str, estate) -> dict:
    history = db.session.scalars(
        db.select(MonthClosing).where(MonthClosing.month == month,
                                      MonthClosing.estate_id == estate.id)
        .order_by(MonthClosing.id)).all()
    return {"month": month, "estate": {"id": estate.id, "name": estate.name},
            "closed": assessment.is_closed(month, estate.id),
            "history": [_closing_json(c) for c in history]}


@bp.get("/months/<month>")
@documented(path=schemas.MonthPath, query=schemas.EstateQuery,
            responses={200: schemas.MonthStatus}, errors=(403, 404, 422))
def month_status(month: str):
    """Whether the estate's month is closed, and its history of closing and reopening."""
    _supervisors_only()
    month = assessment.parse_month(month)
    return jsonify(_month_json(month, _estate_arg()))


@bp.post("/months/<month>/close")
@documented(path=schemas.MonthPath, body=schemas.ClosingRequest,
            responses={201: schemas.MonthStatus}, errors=(403, 404, 409, 422))
def close_month(month: str):
    """Close the estate's month: its scorecards freeze, the other estates' stay as they are.
    {reason?, estate_id?}"""
    data = body()
    made = assessment.close_month(current_user, month, data.get("reason", ""),
                                  data.get("estate_id"))
    return jsonify(_month_json(made.month, made.estate)), 201


@bp.post("/months/<month>/reopen")
@documented(path=schemas.MonthPath, body=schemas.ReopeningRequest,
            responses={201: schemas.MonthStatus},
            errors=(403, 404, 409, 422))
def reopen_month(month: str):
    """Reopen the estate's closed month: {reason, estate_id?}."""
    data = body()
    made = assessment.reopen_month(current_user, month, data.get("reason"),
                                   data.get("estate_id"))
    return jsonify(_month_json(made.month, made.estate)), 201
