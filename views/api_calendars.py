"""JSON API v1 for an estate's office calendar (workflows.calendars): its office hours by
weekday, the holiday switch and its closed days, which deadlines counted in office time count.
Same error format and status codes as the rest of the API."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from views import schemas
from views.api import body, bp
from views.openapi import documented
from workflows import calendars, clock, estates
from workflows.words import clock_time


def _calendar_json(estate_id: int) -> dict:
    estate = estates.get(estate_id, current_user)
    settings = calendars.settings_of(estate.id)
    today = clock.now().astimezone(calendars.zone()).date()
    return {
        "estate": {"id": estate.id, "name": estate.name},
        "default": settings.default,
        "hours": {key: [{"opens": clock_time(opens), "closes": clock_time(closes)}
                        for opens, closes in spans] for key, spans in settings.hours.items()},
        "public_holidays": settings.public_holidays,
        "closed_days": [{"day": day.isoformat(), "note": note}
                        for day, note in settings.closed_days],
        "holidays_until": calendars.HOLIDAYS_UNTIL,
        "upcoming": [{"day": d.day.isoformat(), "last": d.last.isoformat(),
                      "holiday": d.holiday, "name": str(d.name)}
                     for d in calendars.upcoming(today)],
    }


@bp.get("/estates/<int:estate_id>/calendar")
@documented(responses={200: schemas.OfficeCalendar}, errors=(403, 404))
def estate_calendar(estate_id: int):
    """The estate's office calendar, and the coming holidays and make-up working days."""
    calendars.require_staff(current_user)
    return jsonify(_calendar_json(estate_id))


@bp.put("/estates/<int:estate_id>/calendar")
@documented(body=schemas.OfficeCalendarChange, responses={200: schemas.OfficeCalendar},
            errors=(403, 404, 422))
def set_estate_calendar(estate_id: int):
    """Replace the estate's office calendar (supervisors): {hours: {mon: [{opens, closes}],
    ...}, public_holidays, closed_days: [{day, note}]}. A weekday left out has no office hours.
    Hours that end before they start, overlapping hours, an unknown weekday, a closed day given
    twice or not a date: 422 naming the field (hours.mon, closed_days), nothing changed."""
    data = body()
    calendars.set_calendar(current_user, estate_id, data.get("hours"),
                           data.get("public_holidays"), data.get("closed_days"))
    return jsonify(_calendar_json(estate_id))
