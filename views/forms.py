"""Page forms. The engine checks what the rules demand; these carry CSRF and parse the inputs."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app, flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    DateField, DateTimeLocalField, HiddenField, IntegerField, RadioField, SelectField, StringField,
    TelField, TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from views.messages import field_message, say, term
from workflows.details import MAX_NAME, MAX_WORKERS
from workflows.errors import InvalidData, WorkflowError
from workflows.fields import untypable
from workflows.rules import TriggerRule

class Form(FlaskForm):
    """Every form of the pages: besides its own checks, text that nobody types (control
    characters, broken Unicode) is refused next to its input."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            problem = untypable(field.data) if isinstance(field.data, str) else None
            if problem:
                field.errors = [*field.errors, say(problem)]
                valid = False
        return valid


def show_refusal(form: FlaskForm, exc: WorkflowError, aliases: dict[str, str] | None = None):
    """A refusal shown on the form it answers: each field's message next to its input; a field
    the form has no input for, and a refusal that names no field, as a message at the top."""
    if not exc.fields or not isinstance(exc, InvalidData):  # a refusal says why as a whole
        flash(say(exc.message), "error")
    for name, message in exc.fields.items():
        field = getattr(form, (aliases or {}).get(name, name), None)
        if field is not None and name != "csrf_token" and field.type != "HiddenField":
            field.errors = [*field.errors, say(message)]
        else:
            flash(field_message(name, message), "error")


LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# What a file input offers to pick; the content is checked on arrival (views.uploads).
ACCEPT_FILES = "image/jpeg,image/png,image/webp,application/pdf"

# The renovation details (workflows.details) as people read them, in the order of the form.
DETAIL_LABELS = {
    "works_start": _l("Works start"),
    "works_end": _l("Works end"),
    "contractor_name": _l("Contractor (company or person)"),
    "contractor_phone": _l("Contractor's phone"),
    "foreman_name": _l("Foreman on site"),
    "foreman_phone": _l("Foreman's phone"),
    "workers": _l("Number of workers"),
}

# What files added on their own may be (workflows.attachments.KINDS), as people read it.
FILE_KINDS = {
    "photo": _l("Photo"),
    "floor_plan": _l("Floor plan"),
    "licence": _l("Contractor's licence"),
    "document": _l("Document"),
}


def _files(label):
    return MultipleFileField(label, render_kw={"accept": ACCEPT_FILES})


class DetailInputs:
    """The renovation details as inputs: in the request form, and in the form of a step that
    changes them (resubmitting a rejected application). The engine checks the values."""

    works_start = DateField(DETAIL_LABELS["works_start"], validators=[Optional()])
    works_end = DateField(DETAIL_LABELS["works_end"], validators=[Optional()])
    contractor_name = StringField(DETAIL_LABELS["contractor_name"],
                                  validators=[Optional(), Length(max=MAX_NAME)])
    contractor_phone = TelField(DETAIL_LABELS["contractor_phone"], validators=[Optional()],
                                render_kw={"autocomplete": "off"})
    foreman_name = StringField(DETAIL_LABELS["foreman_name"],
                               validators=[Optional(), Length(max=MAX_NAME)])
    foreman_phone = TelField(DETAIL_LABELS["foreman_phone"], validators=[Optional()],
                             render_kw={"autocomplete": "off"})
    workers = IntegerField(DETAIL_LABELS["workers"], validators=[Optional()],
                           render_kw={"inputmode": "numeric", "min": 1, "max": MAX_WORKERS})

    def details(self, names: tuple[str, ...]) -> dict | None:
        """The details the kind asks for, as typed (None: the kind asks for none)."""
        return {name: getattr(self, name).data for name in names} if names else None


def details_as_typed(details: dict[str, Any] | None) -> dict[str, Any]:
    """A ticket's stored details as the inputs' values (dates as dates), to prefill a form."""
    values = dict(details or {})
    for name in ("works_start", "works_end"):
        try:
            values[name] = date.fromisoformat(values[name])
        except (KeyError, TypeError, ValueError):
            values.pop(name, None)
    return values


class TicketForm(Form, DetailInputs):
    kind = RadioField(_l("What kind of request"), validators=[InputRequired()])
    title = StringField(_l("What is it about"), validators=[DataRequired(_l("is required")), Length(max=200)],
                        render_kw={"maxlength": 200})
    description = TextAreaField(_l("Details"), validators=[Length(max=2000)])
    photos = _files(_l("Photos (optional: JPEG, PNG, WebP or PDF, at most 10 MB each)"))
    # Staff only: the unit, and the time of the call when registering it afterwards (事后补单).
    unit_id = SelectField(_l("Unit"), coerce=lambda value: int(value) if value not in (None, "") else None,
                          validators=[Optional()])
    reported_at = DateTimeLocalField(_l("Time of the call (property time)"), format=LOCAL_FORMAT,
                                     validators=[Optional()])
    # A renovation application only (the engine requires them for that kind), with the
    # details of DetailInputs.
    documents = _files(_l("Documents: floor plan, contractor's licence … "
                          "(PDF or photos, at most 10 MB each)"))


def as_utc(local: datetime | None) -> datetime | None:
    """A naive wall-clock time typed in a form, read in the property's time zone."""
    return local.replace(tzinfo=current_app.config["TZ"]) if local else None


class _TriggerForm(Form):
    version = HiddenField()


RATINGS = {5: _l("5 – very good"), 4: _l("4 – good"), 3: _l("3 – all right"), 2: _l("2 – poor"),
           1: _l("1 – very poor")}


def trigger_form(rule: TriggerRule, choices: dict[str, list[tuple[int, str]]], *,
                 resident: bool = False, photos: bool = False, **kwargs) -> FlaskForm:
    """A form with one input per field the trigger takes; `choices` lists people to pick from.

    A resident rates with five labelled radio buttons; `photos` adds a file input for photos
    taken at the step (an inspection, a completed repair). A step that takes `details` has the
    inputs of DetailInputs (prefill them with `data=details_as_typed(ticket.details)`).
    """
    def pick(label, options):
        return SelectField(label, choices=[SelectChoice("", "—")] + [
            SelectChoice(str(value), text) for value, text in options], validators=[Optional()])

    def rating():
        if resident:
            return RadioField(_l("Your rating"), choices=[
                SelectChoice(str(value), text) for value, text in RATINGS.items()],
                validators=[Optional()], validate_choice=False)
        return pick(_l("Rating (1–5)"), [(i, "★" * i) for i in range(5, 0, -1)])

    inputs = {
        "note": lambda: TextAreaField(_l("Comment") if resident else _l("Note"),
                                      validators=[Optional(), Length(max=2000)]),
        "reason": lambda: TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)]),
        "rating": rating,
        "promised_at": lambda: DateTimeLocalField(_l("Next reply by (property time)"),
                                                  format=LOCAL_FORMAT, validators=[Optional()]),
        "result": lambda: pick(_l("Result"), [(value, term(value)) for value in rule.dest_choices]),
        "technician_id": lambda: pick(_l("Technician"), choices.get("technician_id", [])),
        "assignee_id": lambda: pick(_l("Butler"), choices.get("assignee_id", [])),
    }
    fields = {name: inputs[name]() for name in rule.fields if name != "details"}
    if photos and "details" in rule.fields:
        fields["photos"] = _files(_l("New documents (optional): floor plan, contractor's licence … "
                                     "(PDF or photos, at most 10 MB each)"))
    elif photos:
        fields["photos"] = _files(_l("Photos (optional, at most 10 MB each)"))
    bases = (_TriggerForm, DetailInputs) if "details" in rule.fields else (_TriggerForm,)
    form_class = type(f"{rule.name}_form", bases, fields)
    return form_class(prefix=rule.name, **kwargs)


def trigger_data(form: FlaskForm, rule: TriggerRule) -> dict:
    """What the form sends to the engine: every field of the trigger, times made aware."""
    data = {name: getattr(form, name).data for name in rule.fields if name != "details"}
    if "details" in rule.fields:
        data["details"] = form.details(tuple(DETAIL_LABELS))
    if data.get("promised_at"):
        data["promised_at"] = as_utc(data["promised_at"])
    return data
