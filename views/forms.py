"""Page forms. The engine checks what the rules demand; these carry CSRF and parse the inputs."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from workflows.rules import TriggerRule

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class TicketForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    title = StringField(_l("What is it about"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Details"), validators=[Length(max=2000)])
    # Staff only: the unit, and the time of the call when registering it afterwards (事后补单).
    unit_id = SelectField(_l("Unit"), coerce=lambda value: int(value) if value not in (None, "") else None,
                          validators=[Optional()])
    reported_at = DateTimeLocalField(_l("Time of the call (property time)"), format=LOCAL_FORMAT,
                                     validators=[Optional()])


def as_utc(local: datetime | None) -> datetime | None:
    """A naive wall-clock time typed in a form, read in the property's time zone."""
    return local.replace(tzinfo=current_app.config["TZ"]) if local else None


class _TriggerForm(FlaskForm):
    version = HiddenField()


def trigger_form(rule: TriggerRule, choices: dict[str, list[tuple[int, str]]], **kwargs) -> FlaskForm:
    """A form with one input per field the trigger takes; `choices` lists people to pick from."""
    def pick(label, options):
        return SelectField(label, choices=[SelectChoice("", "—")] + [
            SelectChoice(str(value), text) for value, text in options], validators=[Optional()])

    inputs = {
        "note": lambda: TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)]),
        "reason": lambda: TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)]),
        "rating": lambda: pick(_l("Rating (1–5)"), [(i, "★" * i) for i in range(5, 0, -1)]),
        "promised_at": lambda: DateTimeLocalField(_l("Next reply by (property time)"),
                                                  format=LOCAL_FORMAT, validators=[Optional()]),
        "result": lambda: pick(_l("Result"), [(value, value) for value in rule.dest_choices]),
        "technician_id": lambda: pick(_l("Technician"), choices.get("technician_id", [])),
        "assignee_id": lambda: pick(_l("Butler"), choices.get("assignee_id", [])),
    }
    form_class = type(f"{rule.name}_form", (_TriggerForm,),
                      {name: inputs[name]() for name in rule.fields})
    return form_class(prefix=rule.name, **kwargs)


def trigger_data(form: FlaskForm, rule: TriggerRule) -> dict:
    """What the form sends to the engine: every field of the trigger, times made aware."""
    data = {name: getattr(form, name).data for name in rule.fields}
    if data.get("promised_at"):
        data["promised_at"] = as_utc(data["promised_at"])
    return data
