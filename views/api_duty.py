"""JSON API v1 for duty (workflows.duty): an estate's rota, who is on duty at an instant, and the
signed hand-overs at the end of duty shifts. Same error format and status codes as the rest."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from models import DutyShift, ShiftHandover
from views import schemas
from views.api import body, bp, iso, person
from views.openapi import documented
from workflows import clock, duty, estates
from workflows.cover import require_staff
from workflows.errors import InvalidData
from workflows.fields import parse_time


def shift_json(shift: DutyShift) -> dict:
    return {"id": shift.id, "starts_at": iso(shift.starts_at), "ends_at": iso(shift.ends_at),
            "on_duty": person(shift.on_duty), "handed_over_at": iso(shift.handed_over_at)}


def handover_json(record: ShiftHandover) -> dict:
    return {"id": record.id, "estate_id": record.estate_id, "shift": shift_json(record.shift),
            "leaving": person(record.leaving), "taking_over": person(record.taking_over),
            "handed_at": iso(record.handed_at), "open_work": record.open_work,
            "leaving_note": record.leaving_note,
            "signed_by_leaving_at": iso(record.signed_by_leaving_at),
            "taking_over_note": record.taking_over_note,
            "signed_by_taking_over_at": iso(record.signed_by_taking_over_at)}


def _rota_json(estate_id: int, starts, ends) -> dict:
    return {"estate_id": estate_id, "from": iso(starts), "until": iso(ends),
            "shifts": [shift_json(s) for s in duty.shifts(estate_id, starts, ends)]}


@bp.get("/estates/<int:estate_id>/rota")
@documented(query=schemas.RotaQuery, responses={200: schemas.Rota}, errors=(403, 404, 422))
def rota(estate_id: int):
    """The estate's duty rota: its shifts that overlap from..until (both, or neither: the week
    holding now, Monday to Monday in property time)."""
    require_staff(current_user)
    place = estates.get(estate_id, current_user)
    starts, ends = duty.period(request.args.get("from"), request.args.get("until"), clock.now())
    return jsonify(_rota_json(place.id, starts, ends))


@bp.put("/estates/<int:estate_id>/rota")
@documented(body=schemas.RotaChange, responses={200: schemas.Rota},
            errors=(403, 404, 409, 422))
def set_rota(estate_id: int):
    """Set the estate's rota from starts_at until ends_at: {starts_at, ends_at, shifts: [{
    starts_at, ends_at, on_duty_id}]}. The shifts cover the period without a gap or an overlap
    (or are none: no rota then); a gap, an overlap or an end before its start is a 422 naming
    `shifts.N.field`. Shifts that have begun stay as they were (409 if changed)."""
    data = body()
    saved = duty.set_rota(current_user, estate_id, data.get("starts_at"), data.get("ends_at"),
                          data.get("shifts"))
    starts, ends = parse_time(data["starts_at"]), parse_time(data["ends_at"])
    return jsonify({"estate_id": estate_id, "from": iso(starts), "until": iso(ends),
                    "shifts": [shift_json(s) for s in saved]})


@bp.get("/estates/<int:estate_id>/on-duty")
@documented(query=schemas.OnDutyQuery, responses={200: schemas.OnDuty}, errors=(403, 404, 422))
def on_duty(estate_id: int):
    """Who answers for the estate at `at` (now by default): the shift then, with its person on
    duty; `on_duty` null means each area's own butler (a day shift, or no rota then)."""
    require_staff(current_user)
    place = estates.get(estate_id, current_user)
    at = request.args.get("at") or clock.now()
    try:
        at = parse_time(at)
    except ValueError as exc:
        raise InvalidData("bad query parameter at", {"at": exc.args[0]}) from None
    shift = duty.shift_at(place.id, at)
    return jsonify({"estate_id": place.id, "at": iso(at),
                    "shift": shift_json(shift) if shift else None,
                    "on_duty": person(shift.on_duty) if shift else None})


@bp.get("/handovers")
@documented(responses={200: schemas.Handovers}, errors=(403,))
def list_handovers():
    """The latest duty hand-overs, newest first: a butler's own (leaving or taking over), a
    supervisor's all."""
    return jsonify({"handovers": [handover_json(r) for r in duty.handovers(current_user)]})


@bp.get("/handovers/<int:handover_id>")
@documented(responses={200: schemas.Handover}, errors=(403, 404))
def get_handover(handover_id: int):
    """One hand-over, with the open work that passed as it was then."""
    return jsonify(handover_json(duty.handover(current_user, handover_id)))


@bp.post("/handovers/<int:handover_id>/sign")
@documented(body=schemas.HandoverSignature, responses={200: schemas.Handover},
            errors=(403, 404, 409, 422))
def sign_handover(handover_id: int):
    """Sign a hand-over: {note?}. The one leaving signs first, then the one taking over (409
    before); anyone else is refused (403)."""
    record = duty.sign(current_user, handover_id, body().get("note", ""))
    return jsonify(handover_json(duty.handover(current_user, record.id)))
