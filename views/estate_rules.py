"""An estate's own durations and points of the deadlines of the rules file (workflows.overrides):
every deadline with the file's value and the estate's, which the company's admin changes. Thin:
the checks and the change are workflows.overrides'."""
from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import StringField

from views.forms import Form, show_refusal
from views.roles import role_required
from workflows import overrides
from workflows.errors import WorkflowError
from workflows.rules import duration_text
from workflows.words import label, span

bp = Blueprint("estate_rules", __name__, url_prefix="/estates")
SUPERVISORS = ("supervisor", "admin")
WHOLE = re.compile(r"-?[0-9]{1,9}")


def _form(lines: list[overrides.Line], **kwargs) -> Form:
    """Two inputs a deadline, in the order of `lines`: within_<n> and points_<n>, filled in
    with the estate's values (empty: the file's)."""

    class RulesForm(Form):
        pass

    for n, line in enumerate(lines):
        name = _("%(kind)s, %(deadline)s", kind=label(line.kind.label),
                 deadline=label(line.rule.label))
        setattr(RulesForm, f"within_{n}", StringField(_("%(deadline)s: within", deadline=name),
                                                      default=line.within or ""))
        setattr(RulesForm, f"points_{n}", StringField(_("%(deadline)s: points", deadline=name),
                                                      default="" if line.points is None
                                                      else str(line.points)))
    return RulesForm(**kwargs)


def _page(estate_id: int, form=None, status: int = 200):
    estate, lines, ignored = overrides.of_estate(current_user, estate_id)
    editable = current_user.role == "admin"
    return render_template(
        "estates/rules.html", estate=estate, lines=lines, ignored=ignored, editable=editable,
        form=form or (_form(lines, formdata=None) if editable else None),
        duration=span, written=duration_text), status


@bp.get("/<int:estate_id>/rules")
@role_required(*SUPERVISORS)
def rules(estate_id: int):
    """Every deadline of the rules file with the file's and the estate's duration and points."""
    return _page(estate_id)


@bp.post("/<int:estate_id>/rules")
@role_required("admin")
def save(estate_id: int):
    _estate, lines, _ignored = overrides.of_estate(current_user, estate_id)
    form = _form(lines)
    if not form.validate():
        return _page(estate_id, form, 422)
    given, aliases = [], {}
    for n, line in enumerate(lines):
        within = form[f"within_{n}"].data.strip()
        points = form[f"points_{n}"].data.strip()
        if not (within or points):
            continue
        at = f"overrides.{len(given)}"
        aliases.update({at: f"within_{n}", f"{at}.within": f"within_{n}",
                        f"{at}.points": f"points_{n}"})
        given.append({"kind": line.kind.name, "deadline": line.rule.name,
                      "within": within or None,
                      # Not a number: given as typed, for the check to say so.
                      "points": (int(points) if WHOLE.fullmatch(points) else points)
                      if points else None})
    try:
        overrides.set_overrides(current_user, estate_id, given)
    except WorkflowError as exc:
        show_refusal(form, exc, aliases)
        return _page(estate_id, form, exc.status)
    flash(_("The estate's deadlines are saved: clocks started from now on use them."), "success")
    return redirect(url_for(".rules", estate_id=estate_id))
