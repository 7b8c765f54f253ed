"""Duty pages: a supervisor enters an estate's rota a week at a time (or repeats last week's);
staff read and sign the hand-overs at the end of duty shifts, and print them. Thin: the checks
and the changes are workflows.duty's."""
from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, FieldList, FormField, SelectField, TextAreaField
from wtforms import Form as RowForm
from wtforms.fields import SelectChoice
from wtforms.validators import Optional

from views.forms import LOCAL_FORMAT, Form, as_utc, show_refusal
from views.roles import role_required
from workflows import clock, cover, duty, estates
from workflows.errors import WorkflowError
from workflows.words import local

bp = Blueprint("duty", __name__, url_prefix="/duty")
STAFF = ("butler", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
AREA_BUTLERS = "area"  # the choice "each area's own butler" (a day shift)
BLANK_ROWS = 3
WEEK_ROWS = 14  # a day shift and a night shift for each day: a week's rota fits without saving


class ShiftRow(RowForm):
    starts_at = DateTimeLocalField(_l("Starts (property time)"), format=LOCAL_FORMAT,
                                   validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends (property time)"), format=LOCAL_FORMAT,
                                 validators=[Optional()])
    on_duty = SelectField(_l("Who answers"), validate_choice=False)

    def hidden_tag(self) -> str:
        """None: the page's form carries the CSRF token (the error summary reads a row as a form
        of its own)."""
        return ""

    @property
    def blank(self) -> bool:
        return not (self.starts_at.data or self.ends_at.data or self.on_duty.data)


class RotaForm(Form):
    shifts = FieldList(FormField(ShiftRow))


class SignForm(Form):
    note = TextAreaField(_l("Note (optional)"))


def _week(value: str | None) -> datetime:
    """The week asked for (any day of it, YYYY-MM-DD), or the week holding now."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return duty.week_of(clock.now())
    return duty.week_of(as_utc(datetime.combine(day, datetime.min.time())))


def _typed(at: datetime) -> datetime:
    """A stored time as its input shows it: the property's wall-clock time."""
    return at.astimezone(current_app.config["TZ"]).replace(tzinfo=None)


def _rota_form(shifts, **kwargs) -> RotaForm:
    if "formdata" in kwargs:  # a fresh page: the week's shifts, then rows to add
        kwargs["data"] = {"shifts": [
            {"starts_at": _typed(s.starts_at), "ends_at": _typed(s.ends_at),
             "on_duty": str(s.on_duty_id or AREA_BUTLERS)} for s in shifts]
            + [{}] * max(BLANK_ROWS, WEEK_ROWS - len(shifts))}
    form = RotaForm(**kwargs)
    relief = duty.relief_butlers()
    people = [SelectChoice("", "—"), SelectChoice(AREA_BUTLERS, _("Each area's own butler"))] + [
        SelectChoice(str(u.id), _("%(name)s on duty (relief butler)", name=u.name)
                     if u.id in relief else _("%(name)s on duty", name=u.name))
        for u in cover.butlers(current_user)]
    for number, row in enumerate(form.shifts, start=1):
        row.on_duty.choices = people
        row.starts_at.label.text = _("Shift %(number)s starts (property time)", number=number)
        row.ends_at.label.text = _("Shift %(number)s ends", number=number)
        row.on_duty.label.text = _("Shift %(number)s: who answers", number=number)
    return form


def _rota_page(estate_id: int, week: datetime, form: RotaForm | None = None, status: int = 200):
    place = estates.get(estate_id, current_user)
    form = form or _rota_form(duty.shifts(place.id, week, week + duty.WEEK), formdata=None)
    return render_template(
        "duty/rota.html", estate=place, estates=estates.every(current_user), week=week,
        week_end=week + duty.WEEK, form=form, now_shift=duty.shift_at(place.id, clock.now()),
        previous=local(week - duty.WEEK, "%Y-%m-%d"), next=local(week + duty.WEEK, "%Y-%m-%d"),
        rows=[row.form for row in form.shifts]), status


@bp.get("/")
@role_required(*SUPERVISORS)
def index():
    every = estates.every(current_user)
    if not every:
        return redirect(url_for(".handovers"))
    return redirect(url_for(".rota", estate_id=every[0].id))


@bp.get("/<int:estate_id>/rota")
@role_required(*SUPERVISORS)
def rota(estate_id: int):
    """The estate's rota of one week, Monday to Monday: who answers for which hours."""
    return _rota_page(estate_id, _week(request.args.get("week")))


@bp.post("/<int:estate_id>/rota")
@role_required(*SUPERVISORS)
def save_rota(estate_id: int):
    """Save the week's rota as typed: its rows in order, blank ones left out."""
    week = _week(request.args.get("week"))
    form = _rota_form(None)
    if not form.validate():
        return _rota_page(estate_id, week, form, 422)
    sent = [row.form for row in form.shifts if not row.form.blank]
    given = [{"starts_at": as_utc(row.starts_at.data), "ends_at": as_utc(row.ends_at.data),
              "on_duty_id": None if row.on_duty.data == AREA_BUTLERS else row.on_duty.data}
             for row in sent]
    try:
        duty.set_rota(current_user, estate_id, week, week + duty.WEEK, given)
    except WorkflowError as exc:
        _show_on_rows(form, sent, exc)
        return _rota_page(estate_id, week, form, exc.status)
    flash(_("The rota of the week from %(day)s is saved.", day=local(week, "%Y-%m-%d")),
          "success")
    return redirect(url_for(".rota", estate_id=estate_id, week=local(week, "%Y-%m-%d")))


def _show_on_rows(form: RotaForm, sent: list[ShiftRow], exc: WorkflowError) -> None:
    """A refusal's `shifts.N.field` next to the input of the row sent as shift N."""
    rest = {}
    for key, message in exc.fields.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "shifts" and parts[1].isdigit():
            field = getattr(sent[int(parts[1])], "on_duty" if parts[2] == "on_duty_id"
                            else parts[2])
            field.errors = [*field.errors, str(message)]
        else:
            rest[key] = message
    exc.fields = rest
    show_refusal(form, exc)


@bp.post("/<int:estate_id>/rota/repeat")
@role_required(*SUPERVISORS)
def repeat(estate_id: int):
    """The week's rota made the same as last week's."""
    week = _week(request.args.get("week"))
    form = _rota_form(None)
    if not form.validate():
        return _rota_page(estate_id, week, status=422)
    try:
        duty.repeat_last_week(current_user, estate_id, week)
    except WorkflowError as exc:
        show_refusal(form, exc)
        return _rota_page(estate_id, week, status=exc.status)
    flash(_("Last week's rota is repeated for the week from %(day)s.",
            day=local(week, "%Y-%m-%d")), "success")
    return redirect(url_for(".rota", estate_id=estate_id, week=local(week, "%Y-%m-%d")))


@bp.get("/handovers")
@role_required(*STAFF)
def handovers():
    """The hand-overs at the end of duty shifts: one's own (a supervisor's: all), newest first."""
    return render_template("duty/handovers.html", records=duty.handovers(current_user))


def _handover_page(handover_id: int, form: SignForm | None = None, status: int = 200):
    record = duty.handover(current_user, handover_id)
    signer = ((current_user.id == record.leaving_id and record.signed_by_leaving_at is None)
              or (current_user.id == record.taking_over_id
                  and record.signed_by_taking_over_at is None))
    work = [{**w, "next_due_at": w["next_due_at"] and datetime.fromisoformat(w["next_due_at"])}
            for w in record.open_work]
    return render_template("duty/handover.html", record=record, signer=signer, work=work,
                           form=form or SignForm(formdata=None)), status


@bp.get("/handovers/<int:handover_id>")
@role_required(*STAFF)
def handover(handover_id: int):
    """A hand-over record (工作移交表): what passed, as it was then, and who signed; prints."""
    return _handover_page(handover_id)


@bp.post("/handovers/<int:handover_id>/sign")
@role_required(*STAFF)
def sign(handover_id: int):
    form = SignForm()
    if not form.validate():
        return _handover_page(handover_id, form, 422)
    try:
        duty.sign(current_user, handover_id, form.note.data)
    except WorkflowError as exc:
        show_refusal(form, exc)
        return _handover_page(handover_id, form, exc.status)
    flash(_("Hand-over signed."), "success")
    return redirect(url_for(".handover", handover_id=handover_id))
