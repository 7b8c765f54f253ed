"""JSON API v1 for an estate's own durations and points of the deadlines of the rules file
(workflows.overrides). Same error format and status codes as the rest of the API."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from views import schemas
from views.api import body, bp
from views.openapi import documented
from workflows import overrides
from workflows.rules import DeadlineRule, duration_text


def _values(rule: DeadlineRule) -> dict:
    return {"within": duration_text(rule.within),
            "within_seconds": int(rule.within.total_seconds()), "points": rule.points}


def _rules_json(estate_id: int) -> dict:
    estate, lines, ignored = overrides.of_estate(current_user, estate_id)
    return {
        "estate": {"id": estate.id, "name": estate.name},
        "deadlines": [{"kind": line.kind.name, "deadline": line.rule.name,
                       "label": line.rule.label, "calendar": line.rule.calendar,
                       "file": _values(line.rule), "in_force": _values(line.in_force),
                       "within": line.within, "points": line.points,
                       "overridden": line.overridden} for line in lines],
        "ignored": [{"kind": i.kind, "deadline": i.deadline, "within": i.within,
                     "points": i.points, "problems": {k: str(v) for k, v in i.problems.items()}}
                    for i in ignored],
    }


@bp.get("/estates/<int:estate_id>/rules")
@documented(responses={200: schemas.EstateRules}, errors=(403, 404))
def estate_rules(estate_id: int):
    """Every deadline of the rules file in the estate: the file's duration and points, the
    estate's own (null: the file's) and those in force; overrides the file no longer allows are
    listed as ignored. The estate's supervisors and the company's admin."""
    return jsonify(_rules_json(estate_id))


@bp.put("/estates/<int:estate_id>/rules")
@documented(body=schemas.EstateRulesChange, responses={200: schemas.EstateRules},
            errors=(403, 404, 422))
def set_estate_rules(estate_id: int):
    """Replace the estate's overrides (the company's admin): {overrides: [{kind, deadline,
    within, points}]}, within as the rules write it ("15m"), points negative. An unknown kind or
    deadline, a duration that is not one or that the deadline cannot take (days in office time,
    not longer than its warning), points not negative or beyond the full score: 422 naming the
    field (overrides.0.within), nothing changed. Clocks running keep their due times."""
    overrides.set_overrides(current_user, estate_id, body().get("overrides"))
    return jsonify(_rules_json(estate_id))
