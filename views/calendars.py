"""An estate's office calendar: its office hours by weekday, the public holidays and its closed
days, which deadlines counted in office time count (workflows.calendars). Thin: the checks and
the change are workflows.calendars'."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from views.calendar_forms import ALIASES, calendar_form, typed
from views.forms import show_refusal
from views.roles import role_required
from workflows import calendars, clock, estates
from workflows.errors import WorkflowError
from workflows.rules import OFFICE
from workflows.rules import current as current_rules
from workflows.words import span

bp = Blueprint("calendars", __name__, url_prefix="/estates")
SUPERVISORS = ("supervisor", "admin")


@bp.get("/calendars")
@role_required(*SUPERVISORS)
def index():
    """Every estate, each to its calendar (the only one's straight away)."""
    every = estates.every(current_user)
    if len(every) == 1:
        return redirect(url_for(".calendar", estate_id=every[0].id))
    return render_template("calendars/index.html", estates=every)


def _page(estate_id: int, form=None, status: int = 200):
    estate = estates.get(estate_id, current_user)
    settings = calendars.settings_of(estate.id)
    today = clock.now().astimezone(calendars.zone()).date()
    office = [(kind, rule) for kind in current_rules().kinds.values()
              for rule in kind.deadlines.values() if rule.calendar == OFFICE]
    return render_template(
        "calendars/calendar.html", estate=estate, settings=settings, office=office,
        form=form or calendar_form(settings, formdata=None),
        upcoming=calendars.upcoming(today), weekdays=calendars.WEEKDAYS, duration=span,
        holidays_until=calendars.HOLIDAYS_UNTIL, today=today), status


@bp.get("/<int:estate_id>/calendar")
@role_required(*SUPERVISORS)
def calendar(estate_id: int):
    """The estate's office hours, holiday switch and closed days, and the coming holidays."""
    return _page(estate_id)


@bp.post("/<int:estate_id>/calendar")
@role_required(*SUPERVISORS)
def save(estate_id: int):
    form = calendar_form()
    if not form.validate():
        return _page(estate_id, form, 422)
    given = typed(form)
    try:
        calendars.set_calendar(current_user, estate_id, given["hours"],
                               given["public_holidays"], given["closed_days"])
    except WorkflowError as exc:
        show_refusal(form, exc, ALIASES)
        return _page(estate_id, form, exc.status)
    flash(_("Office calendar saved: deadlines counted in office time use it from now on."),
          "success")
    return redirect(url_for(".calendar", estate_id=estate_id))
