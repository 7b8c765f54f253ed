"""Page forms. They carry CSRF and take the inputs apart; the engine checks what the rules
demand (the forms add no checks of their own but one: text nobody types), so a page says what
the API says."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app, flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields import Field, SelectChoice
from wtforms.validators import InputRequired, Optional

from views.uploads import MAX_BYTES
from workflows.attachments import MAX_FILES
from workflows.errors import InvalidData, WorkflowError
from workflows.fields import STAFF_ONLY, untypable
from workflows.rules import DetailRule, KindRules, TriggerRule
from workflows.words import label, name, sentence

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# What a file input offers to pick; the content is checked on arrival (views.uploads).
ACCEPT_FILES = "image/jpeg,image/png,image/webp,application/pdf"

# What files added on their own may be (workflows.attachments.FILE_KINDS),
# as people read it.
FILE_KIND_LABELS = {
    "photo": _l("Photo"),
    "floor_plan": _l("Floor plan"),
    "licence": _l("Contractor's licence"),
    "document": _l("Document"),
}


class Form(FlaskForm):
    """Every form of the pages: besides its own checks, text that nobody types (control
    characters, broken Unicode) is refused next to its input."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            problem = untypable(field.data) if isinstance(field.data, str) else None
            if problem:
                field.errors = [*field.errors, str(problem)]
                valid = False
        return valid


def show_refusal(form: FlaskForm, exc: WorkflowError, aliases: dict[str, str] | None = None):
    """A refusal shown on the form it answers: each field's message next to its input; a field
    the form has no input for, and a refusal that names no field, as a message at the top."""
    if not exc.fields or not isinstance(exc, InvalidData):  # a refusal says why as a whole
        flash(sentence(exc.message), "error")
    for field_name, message in exc.fields.items():
        field = getattr(form, (aliases or {}).get(field_name, field_name), None)
        if field is not None and field_name != "csrf_token" and field.type != "HiddenField":
            field.errors = [*field.errors, str(message)]
        else:
            flash(_("%(field)s: %(message)s", field=name(field_name), message=message), "error")


def as_utc(local: datetime | None) -> datetime | None:
    """A naive wall-clock time typed in a form, read in the property's time zone."""
    return local.replace(tzinfo=current_app.config["TZ"]) if local else None


def file_input_kw(most: int = MAX_FILES) -> dict[str, Any]:
    """A file input's attributes: what it offers to pick, and the limits that static/js/uploads.js
    checks before sending (views.uploads checks them again on arrival)."""
    return {"accept": ACCEPT_FILES, "data-max-files": most, "data-max-bytes": MAX_BYTES}


def _title():
    # No maxlength: a pasted title too long is said by the server, not cut short in silence.
    return StringField(_l("What is it about"))


def _description():
    return TextAreaField(_l("Details"))


def _files(text):
    return MultipleFileField(text, render_kw=file_input_kw())


# -- a kind's details (workflows.details checks them) ----------------------------------------------

def _detail_inputs(detail: DetailRule) -> dict[str, Field]:
    """The inputs of one detail, by the key its value is kept under."""
    hint = {"description": label(detail.hint)} if detail.hint else {}
    text = label(detail.label)
    if detail.type == "date range":
        return {key: StringField(label(part), render_kw={"type": "date"}, **hint)
                for key, part in zip(detail.keys, (detail.start, detail.end), strict=True)}
    if detail.type == "phone":
        made = TelField(text, render_kw={"autocomplete": "off"}, **hint)
    elif detail.type == "number":
        bounds = {k: v for k, v in (("min", detail.minimum), ("max", detail.maximum))
                  if v is not None}
        made = StringField(text, render_kw={"inputmode": "numeric", **bounds}, **hint)
    elif detail.type == "date":
        made = StringField(text, render_kw={"type": "date"}, **hint)
    elif detail.type == "choice":
        made = SelectField(text, choices=[SelectChoice("", "—")] + [
            SelectChoice(value, label(choice)) for value, choice in detail.choices.items()],
            validate_choice=False, **hint)
    elif detail.type == "people":
        made = TextAreaField(text, description=label(detail.hint) if detail.hint else
                             _("One person a line: the name, then the phone number."))
    else:
        made = StringField(text, **hint)
    return {detail.name: made}


def detail_inputs(details: Iterable[DetailRule]) -> dict[str, Field]:
    inputs: dict[str, Field] = {}
    for detail in details:
        inputs.update(_detail_inputs(detail))
    return inputs


def details_typed(form: FlaskForm, kind: KindRules) -> dict[str, Any] | None:
    """The details of `kind` as typed on `form` (None: the kind asks for none)."""
    keys = [key for detail in kind.details for key in detail.keys]
    return {key: getattr(form, key).data for key in keys} if keys else None


def details_as_typed(details: dict[str, Any] | None) -> dict[str, Any]:
    """A ticket's stored details as the inputs show them, to prefill a form (people one a
    line)."""
    return {key: "\n".join(f"{p['name']} {p['phone']}" for p in value)
            if isinstance(value, list) else value for key, value in (details or {}).items()}


# -- registering a ticket ---------------------------------------------------------------------

def ticket_form(kinds: Iterable[KindRules], **kwargs) -> Form:
    """The request form: the kind, what it is about, photos, and every kind's details and
    documents (one input per detail name: workflows.rules checks that kinds sharing a name share
    the detail). Staff also give the unit and, for a call taken earlier, its time."""
    kinds = list(kinds)
    fields: dict[str, Any] = {
        "kind": RadioField(_l("What kind of request"), validators=[InputRequired()]),
        "title": _title(),
        "description": _description(),
        "photos": _files(_l("Photos (optional: JPEG, PNG, WebP or PDF, at most 10 MB each)")),
        "unit_id": SelectField(_l("Unit"), validators=[Optional()],
                               coerce=lambda value: None if value in (None, "") else int(value)),
        "reported_at": DateTimeLocalField(_l("Time of the call (property time)"),
                                          format=LOCAL_FORMAT, validators=[Optional()]),
        **detail_inputs(d for kind in kinds for d in kind.details),
    }
    if any(kind.documents for kind in kinds):
        fields["documents"] = _files(_l("Documents"))
    form = type("TicketForm", (Form,), fields)(**kwargs)
    form.kind.choices = [SelectChoice(kind.name, label(kind.label)) for kind in kinds]
    return form


# -- files added on their own ---------------------------------------------------------------------

class AddFilesForm(Form):
    """Photos or documents sent after the request (the photo the butler asked for)."""

    files = _files(_l("Photos or documents (JPEG, PNG, WebP or PDF)"))
    kind = SelectField(_l("What they are"), validate_choice=False)
    note = TextAreaField(_l("What they show (optional)"))


def add_files_form(**kwargs) -> AddFilesForm:
    form = AddFilesForm(prefix="add", **kwargs)
    form.kind.choices = [SelectChoice(kind, str(text)) for kind, text in FILE_KIND_LABELS.items()]
    return form


# -- firing a trigger -----------------------------------------------------------------------------

class _TriggerForm(Form):
    version = HiddenField()


RATINGS = {5: _l("5 – very good"), 4: _l("4 – good"), 3: _l("3 – all right"), 2: _l("2 – poor"),
           1: _l("1 – very poor")}


def trigger_form(kind: KindRules, rule: TriggerRule, choices: dict[str, list[tuple[int, str]]],
                 *, resident: bool = False, photos: bool = False, **kwargs) -> FlaskForm:
    """A form with one input per field the trigger takes; `choices` lists people to pick from.

    A resident rates with five labelled radio buttons; `photos` adds a file input for photos
    taken at the step (an inspection, a completed repair). A step that takes `details` has the
    inputs of the kind's details (prefill them with `data=details_as_typed(ticket.details)`).
    """
    def pick(text, options):
        return SelectField(text, choices=[SelectChoice("", "—")] + [
            SelectChoice(str(value), shown) for value, shown in options], validators=[Optional()])

    def rating():
        if resident:
            return RadioField(_l("Your rating"), choices=[
                SelectChoice(str(value), text) for value, text in RATINGS.items()],
                validators=[Optional()], validate_choice=False)
        return pick(_l("Rating (1–5)"), [(i, "★" * i) for i in range(5, 0, -1)])

    inputs = {
        "note": lambda: TextAreaField(_l("Comment") if resident else _l("Note"), description=(
            _l("Only staff see this note.") if rule.note_for_staff else "")),
        "reason": lambda: TextAreaField(_l("Reason")),
        "rating": rating,
        "promised_at": lambda: DateTimeLocalField(_l("Next reply by (property time)"),
                                                  format=LOCAL_FORMAT, validators=[Optional()]),
        "result": lambda: pick(_l("Result"), [(value, name(value)) for value in rule.dest_choices]),
        "technician_id": lambda: pick(_l("Technician"), choices.get("technician_id", [])),
        "assignee_id": lambda: pick(_l("Butler"), choices.get("assignee_id", [])),
        STAFF_ONLY: lambda: BooleanField(_l("Only staff see this note")),
        "title": _title,
        "description": _description,
    }
    fields = {field: inputs[field]() for field in _inputs_of(rule, resident)}
    if "details" in rule.fields:
        fields.update(detail_inputs(kind.details))
    if photos and "details" in rule.fields:
        fields["photos"] = _files(_l("New documents (optional, PDF or photos, at most 10 MB "
                                     "each)"))
    elif photos:
        fields["photos"] = _files(_l("Photos (optional, at most 10 MB each)"))
    form_class = type(f"{rule.name}_form", (_TriggerForm,), fields)
    return form_class(prefix=rule.name, **kwargs)


def _inputs_of(rule: TriggerRule, resident: bool) -> list[str]:
    """The trigger's fields that have an input of their own (a resident's notes are never
    for staff only; details have one input each)."""
    return [field for field in rule.fields
            if field != "details" and not (resident and field == STAFF_ONLY)
            # the reason asked of staff taking the step for the resident, not of the resident
            and not (resident and rule.on_behalf and field == "reason"
                     and field not in rule.requires)]


def trigger_data(form: FlaskForm, kind: KindRules, rule: TriggerRule) -> dict:
    """What the form sends to the engine: every field of the trigger, times made aware."""
    data = {field: getattr(form, field).data for field in rule.fields
            if field != "details" and hasattr(form, field)}
    if "details" in rule.fields:
        data["details"] = details_typed(form, kind)
    if data.get("promised_at"):
        data["promised_at"] = as_utc(data["promised_at"])
    return data

