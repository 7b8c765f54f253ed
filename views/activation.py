"""Getting in with an invitation code: a resident names their unit as on the slip, their phone
and the code, and chooses a password (workflows.invitations). Reachable from the login page;
the slip's address opens it with the unit filled in. Tries are limited (views.limits)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import Unit, db
from views.admin_forms import activation_form
from views.api_people import GUESSES
from views.forms import show_refusal
from views.limits import failed, limit_activations
from workflows import invitations
from workflows.errors import WorkflowError
from workflows.fields import record_id

bp = Blueprint("activation", __name__)


def _prefilled() -> dict:
    """The unit of the slip's address (?unit=ID), as its fields."""
    unit = db.session.get(Unit, record_id(request.args.get("unit")) or 0)
    if unit is None:
        return {}
    return {"estate_id": str(unit.area.estate_id), "building": unit.building.name,
            "unit": unit.number}


@bp.route("/activate", methods=["GET", "POST"])
@limit_activations
def activate():
    """Get in: estate, building and unit as on the slip, phone, the code, a password twice."""
    if current_user.is_authenticated:
        return redirect(url_for("home"))
    if request.method == "GET":
        form = activation_form(formdata=None, **_prefilled())
        return render_template("activate.html", form=form)
    form = activation_form()
    if not form.validate():
        return render_template("activate.html", form=form), 422
    try:
        user = invitations.activate(form.estate_id.data, form.building.data, form.unit.data,
                                    form.phone.data, form.invitation_code.data,
                                    form.password.data, form.password_again.data or "",
                                    form.name.data)
    except WorkflowError as exc:
        if any(field in exc.fields for field in GUESSES):
            failed()
        show_refusal(form, exc)
        return render_template("activate.html", form=form), exc.status
    flash(_("You are in. Log in with your username %(username)s and the password you chose.",
            username=user.username), "success")
    return redirect(url_for("auth.login", username=user.username))
