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
from views.cover_forms import area_butler_form
from views.forms import Form
from workflows import cover, invitations, places
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
    estate_ids = SelectMultipleField(_l("Estates they supervise (a supervisor only)"),
                                     coerce=str, widget=ListWidget(prefix_label=False),
                                     option_widget=CheckboxInput(), validate_choice=False)


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
    """A new account; with one estate, a supervisor's is that one unless unticked."""
    estates = invitations.estates()
    form = AccountForm(prefix="account", **kwargs)
    _roles(form.role, STAFF)
    _estates(form.estate_ids, estates)
    if len(estates) == 1 and not form.is_submitted():
        form.estate_ids.data = [str(estates[0].id)]
    return form


def _estates(field: SelectMultipleField, estates) -> None:
    field.choices = [SelectChoice(str(e.id), e.name) for e in estates]


class EstatesForm(Form):
    estate_ids = SelectMultipleField(_l("Estates they supervise"), coerce=str,
                                     widget=ListWidget(prefix_label=False),
                                     option_widget=CheckboxInput(), validate_choice=False)


def estates_form(**kwargs) -> EstatesForm:
    form = EstatesForm(prefix="estates", **kwargs)
    _estates(form.estate_ids, invitations.estates())
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
        SelectChoice("unit", _l("Unit")), SelectChoice("building", _l("Building")),
        SelectChoice("area", _l("Area")),
        SelectChoice("estate", _l("Estate"))])
    by = SelectField(_l("Changed by"), validate_choice=False)
    since = StringField(_l("From (date)"), render_kw={"type": "date"})
    until = StringField(_l("Until (date, inclusive)"), render_kw={"type": "date"})


# -- the company's places (views.admin: estates, areas, buildings, units) ------------------------

class NameForm(Form):
    name = StringField(_l("Name"))


class NewAreaForm(Form):
    name = StringField(_l("Name of the new area"))
    butler_id = SelectField(_l("Its butler (optional: give one later)"), validate_choice=False)


class SupervisorsForm(Form):
    supervisor_ids = SelectMultipleField(_l("Supervisors of the estate"), coerce=str,
                                         widget=ListWidget(prefix_label=False),
                                         option_widget=CheckboxInput(), validate_choice=False)


class BuildingForm(Form):
    name = StringField(_l("Name"))
    area_id = SelectField(_l("Area"), validate_choice=False)


class UnitForm(Form):
    number = StringField(_l("Unit number (e.g. 1201)"))
    entrance = StringField(_l("Entrance (optional, e.g. 1)"))
    floor = StringField(_l("Floor (optional)"), render_kw={"inputmode": "numeric"})
    size = StringField(_l("Floor area in m² (optional)"), render_kw={"inputmode": "decimal"})
    note = StringField(_l("Note (optional)"))


def name_form(prefix: str, **kwargs) -> NameForm:
    return NameForm(prefix=prefix, **kwargs)


def new_area_form(**kwargs) -> NewAreaForm:
    form = NewAreaForm(prefix="new-area", **kwargs)
    form.butler_id.choices = area_butler_form(0).butler_id.choices
    return form


def supervisors_form(**kwargs) -> SupervisorsForm:
    form = SupervisorsForm(prefix="supervisors", **kwargs)
    form.supervisor_ids.choices = [SelectChoice(str(s.id), f"{s.name} ({s.username})")
                                   for s in places.supervisors()]
    return form


def building_form(building, **kwargs) -> BuildingForm:
    form = BuildingForm(prefix="building", **kwargs)
    form.area_id.choices = [SelectChoice(str(a.id), a.name) for a in building.area.estate.areas]
    return form


def unit_form(**kwargs) -> UnitForm:
    return UnitForm(prefix="unit", **kwargs)
