"""The forms of the leave and area pages (views.cover): they take the inputs apart; the checks
are workflows.cover's, shown next to the inputs they name."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Optional

from views.forms import LOCAL_FORMAT, Form
from workflows import cover


def _butlers(field: SelectField, but: int | None = None) -> None:
    """The active butlers to choose from: those of the supervisor's estates (beside the one
    going on leave, those who may cover for them)."""
    field.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(b.id), b.name) for b in cover.butlers(current_user, beside=but)]


class LeaveForm(Form):
    butler_id = SelectField(_l("Butler going on leave"), validate_choice=False)
    starts_at = DateTimeLocalField(_l("From (property time)"), format=LOCAL_FORMAT,
                                   validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Until (property time)"), format=LOCAL_FORMAT,
                                 validators=[Optional()])
    substitute_id = SelectField(_l("Substitute (optional now: one is needed to approve the leave)"),
                                validate_choice=False)
    reason = TextAreaField(_l("Reason"))


class ApproveForm(Form):
    # The approval is refused without one (workflows.cover.approve_leave): say so, and mark it.
    substitute_id = SelectField(_l("Substitute (required to approve)"), validate_choice=False,
                                render_kw={"required": True, "aria-required": "true"})


class HandOverForm(Form):
    note = TextAreaField(_l("Note for the timeline (optional)"))


class AreaButlerForm(Form):
    butler_id = SelectField(_l("New butler"), validate_choice=False)
    note = TextAreaField(_l("Note for the timeline of each ticket handed over (optional)"))


def leave_form(**kwargs) -> LeaveForm:
    form = LeaveForm(prefix="leave", **kwargs)
    _butlers(form.butler_id)
    _butlers(form.substitute_id)
    return form


def approve_form(leave_id: int, away: int | None = None, **kwargs) -> ApproveForm:
    """Approving a leave of the butler `away`, with a substitute other than them."""
    form = ApproveForm(prefix=f"approve-{leave_id}", **kwargs)
    _butlers(form.substitute_id, but=away)
    return form


def hand_over_form(leave_id: int, **kwargs) -> HandOverForm:
    return HandOverForm(prefix=f"hand-over-{leave_id}", **kwargs)


def area_butler_form(area_id: int, **kwargs) -> AreaButlerForm:
    form = AreaButlerForm(prefix=f"area-{area_id}", **kwargs)
    _butlers(form.butler_id)
    return form
