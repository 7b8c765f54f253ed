"""The forms of the administration pages (views.admin) and of activating (views.activation):
they take the inputs apart; the checks are workflows.people's and workflows.invitations', shown
next to the inputs they name."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from models import Role
from views.forms import Form
from workflows import cover, invitations
from workflows.people import STAFF
from workflows.words import name


def _roles(field: SelectField, roles) -> None:
    field.choices = [SelectChoice(role.value, str(name(role.value))) for role in roles]


class AccountForm(Form):
    username = StringField(_l("Username (to log in with)"), render_kw={"autocomplete": "off"})
    name = StringField(_l("Full name"))
    role = SelectField(_l("Role"), validate_choice=False)
    phone = TelField(_l("Mobile phone (optional)"), render_kw={"autocomplete": "off"})
    email = EmailField(_l("Email address (optional)"), render_kw={"autocomplete": "off"})
    password = PasswordField(_l("Initial password (leave blank: one is made and shown once)"),
                             render_kw={"autocomplete": "new-password"})


class DetailsForm(Form):
    name = StringField(_l("Full name"))
    role = SelectField(_l("Role"), validate_choice=False)
    phone = TelField(_l("Mobile phone (optional)"), render_kw={"autocomplete": "off"})
    email = EmailField(_l("Email address (optional)"), render_kw={"autocomplete": "off"})


class AreasForm(Form):
    area_ids = SelectMultipleField(_l("Areas they are butler of"), coerce=str,
                                   widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput(), validate_choice=False)
    note = TextAreaField(_l("Note for the timeline of each ticket handed over (optional)"))


class ResetForm(Form):
    password = PasswordField(_l("New password (leave blank: one is made and shown once)"),
                             render_kw={"autocomplete": "new-password"})


class ActiveForm(Form):
    active = HiddenField()


def account_form(**kwargs) -> AccountForm:
    form = AccountForm(prefix="account", **kwargs)
    _roles(form.role, STAFF)
    return form


def details_form(user, **kwargs) -> DetailsForm:
    form = DetailsForm(prefix="details", **kwargs)
    _roles(form.role, [Role.RESIDENT] if user.role == Role.RESIDENT else STAFF)
    return form


def areas_form(**kwargs) -> AreasForm:
    form = AreasForm(prefix="areas", **kwargs)
    form.area_ids.choices = [SelectChoice(str(area.id), f"{area.estate.name} · {area.name}"
                                          + (f" ({area.butler.name})" if area.butler else ""))
                             for area in cover.areas(current_user)]
    return form


def reset_form(**kwargs) -> ResetForm:
    return ResetForm(prefix="reset", **kwargs)


class ActivationForm(Form):
    estate_id = SelectField(_l("Estate"), validate_choice=False)
    building = StringField(_l("Building (as on the slip)"))
    unit = StringField(_l("Unit (e.g. 1201)"))
    phone = TelField(_l("Mobile phone"), render_kw={"autocomplete": "tel"})
    invitation_code = StringField(_l("Invitation code (from the slip, e.g. ABCD-2345)"),
                                  render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                             "spellcheck": "false"})
    name = StringField(_l("Your name (if the office does not have your phone: family, a tenant)"),
                       render_kw={"autocomplete": "name"})
    password = PasswordField(_l("Choose a password (at least 8 characters)"),
                             render_kw={"autocomplete": "new-password"})
    password_again = PasswordField(_l("The password again"),
                                   render_kw={"autocomplete": "new-password"})


def activation_form(**kwargs) -> ActivationForm:
    form = ActivationForm(**kwargs)
    form.estate_id.choices = [SelectChoice(str(e.id), e.name) for e in invitations.estates()]
    return form


class IssueForm(Form):
    every_unit = BooleanField(_l("Also units that have a code (their old codes stop working)"))


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter changes nothing

    estate_id = SelectField(_l("Estate"), validate_choice=False)
    subject_type = SelectField(_l("Kind of record"), validate_choice=False, choices=[
        SelectChoice("", _l("All")), SelectChoice("user", _l("Person")),
        SelectChoice("unit", _l("Unit")), SelectChoice("area", _l("Area")),
        SelectChoice("estate", _l("Estate"))])
    by = SelectField(_l("Changed by"), validate_choice=False)
    since = StringField(_l("From (date)"), render_kw={"type": "date"})
    until = StringField(_l("Until (date, inclusive)"), render_kw={"type": "date"})
