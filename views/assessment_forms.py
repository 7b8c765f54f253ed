"""The forms of the assessment pages. The workflow checks what they carry (workflows.assessment)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Optional

from models import Role, SpotCheckResult
from views.forms import LOCAL_FORMAT, Form, file_input_kw
from workflows import assessment, queries
from workflows.rules import current as current_rules
from workflows.words import label, name


class ReasonForm(Form):
    """Close, reopen, appeal, waive, uphold: the workflow says whether a reason is required."""

    reason = TextAreaField(_l("Reason"))


class FindingForm(Form):
    estate_id = SelectField(_l("Estate"), validate_choice=False)
    butler_id = SelectField(_l("Butler"), validate_choice=False)
    code = SelectField(_l("Finding"), validate_choice=False)
    note = TextAreaField(_l("What was found (evidence)"))
    ticket_id = StringField(_l("Ticket number (optional)"), validators=[Optional()],
                            render_kw={"inputmode": "numeric"})
    occurred_at = DateTimeLocalField(_l("When it happened (property time; empty: now)"),
                                     format=LOCAL_FORMAT, validators=[Optional()])
    photo = FileField(_l("Photo or PDF (optional, at most 10 MB)"),
                      render_kw=file_input_kw(1))


def finding_form(**kwargs) -> FindingForm:
    """The finding form, offering the supervisor's estates (none to pick from when they have
    one), the active butlers and the catalog (deductions, then bonuses)."""
    form = FindingForm(**kwargs)
    estates = assessment.estates_of(current_user)
    if len(estates) > 1:
        form.estate_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(str(e.id), e.name) for e in estates]
    else:
        del form.estate_id
    form.butler_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(b.id), b.name) for b in queries.staff(Role.BUTLER)]
    findings = sorted(current_rules().assessment.findings.values(),
                      key=lambda f: (f.points > 0, f.article, f.code))
    form.code.choices = [SelectChoice("", "—")] + [
        SelectChoice(f.code, _("art. %(article)s", article=f.article)
                     + f" · {f.points:+d} · {label(f.label)}",
                     optgroup=_("Bonuses") if f.points > 0 else _("Deductions"))
        for f in findings]
    return form


class SpotCheckForm(Form):
    result = SelectField(_l("Follow-up result"), validate_choice=False)
    note = TextAreaField(_l("Note"))
    make_finding = BooleanField(_l("Record a finding against the butler (unsatisfied only)"))


def spot_check_form(item_id: int, **kwargs) -> SpotCheckForm:
    form = SpotCheckForm(prefix=f"item_{item_id}", **kwargs)
    form.result.choices = [SelectChoice("", "—")] + [
        SelectChoice(result.value, str(name(result.value))) for result in SpotCheckResult]
    return form
