"""Registering a ticket, and a ticket's page with a form per trigger the viewer may fire."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields import SelectChoice

from models import Role
from views.forms import TicketForm, as_utc, trigger_data, trigger_form
from workflows import engine, queries
from workflows.errors import InvalidData, NotFound, StaleVersion, WorkflowError

bp = Blueprint("tickets", __name__, url_prefix="/tickets")


def _people_choices() -> dict[str, list[tuple[int, str]]]:
    return {"technician_id": [(u.id, u.name) for u in queries.staff(Role.TECHNICIAN)],
            "assignee_id": [(u.id, u.name) for u in queries.staff(Role.BUTLER)]}


def _detail(ticket_id: int, failed: tuple[str, object] | None = None, status: int = 200):
    """Render the ticket page; `failed` is the trigger form that was refused, with its errors."""
    ticket = queries.ticket_detail(ticket_id, current_user)
    if ticket is None:
        abort(404)
    choices = _people_choices()
    forms = []
    for rule in engine.allowed_triggers(ticket, current_user):
        if failed and failed[0] == rule.name:
            form = failed[1]
        else:
            form = trigger_form(rule, choices, formdata=None)
        form.version.data = ticket.version
        forms.append((rule, form))
    # A refused step that is no longer possible has no form to show: keep its text on the page.
    unsent = {}
    if failed and failed[0] not in {rule.name for rule, _form in forms}:
        typed = {name: getattr(failed[1], name, None) for name in ("note", "reason")}
        unsent = {name: field.data for name, field in typed.items() if field and field.data}
    return render_template("tickets/detail.html", ticket=ticket, forms=forms,
                           unsent=unsent), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Submit a request (residents) or register one from a call (staff)."""
    if current_user.role == Role.TECHNICIAN:
        abort(403)
    rules = engine.current_rules()
    form = TicketForm()
    form.kind.choices = [SelectChoice(k.name, f"{k.label['zh']} {k.label['en']}")
                         for k in rules.kinds.values()]
    staff = current_user.role != Role.RESIDENT
    if staff:
        form.unit_id.choices = [SelectChoice("", _("— choose the unit —"))] + [
            SelectChoice(u.id, u.label, optgroup=u.building.area.name) for u in queries.all_units()]
    else:
        # A resident files for their own unit, now: those inputs are not theirs (and a select
        # without choices cannot even be validated).
        del form.unit_id, form.reported_at
    if form.validate_on_submit():
        try:
            ticket = engine.open_ticket(
                current_user, form.kind.data, form.title.data, form.description.data,
                form.unit_id.data if staff else None,
                as_utc(form.reported_at.data) if staff else None)
        except InvalidData as exc:
            for name, message in exc.fields.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
        except WorkflowError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Ticket #{ticket.id} registered.", "success")
            return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    return render_template("tickets/new.html", form=form, staff=staff), (
        422 if form.errors else 200)


@bp.get("/<int:ticket_id>")
@login_required
def detail(ticket_id: int):
    """The ticket: where it stands, its deadlines, its timeline, and what I may do next."""
    return _detail(ticket_id)


@bp.post("/<int:ticket_id>/fire/<trigger>")
@login_required
def fire(ticket_id: int, trigger: str):
    """Fire one trigger from its form; on a mistake show the form again with what was typed."""
    ticket = queries.ticket_detail(ticket_id, current_user)
    if ticket is None:
        abort(404)
    rule = engine.current_rules().kind(ticket.kind).triggers.get(trigger)
    if rule is None:
        abort(404)
    form = trigger_form(rule, _people_choices())
    if not form.validate_on_submit():
        return _detail(ticket_id, (trigger, form), 422)
    try:
        engine.fire(ticket_id, trigger, current_user, form.version.data, **trigger_data(form, rule))
    except InvalidData as exc:
        for name, message in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None and field.type != "HiddenField":
                field.errors = [*field.errors, message]
            else:
                flash(message, "error")
        return _detail(ticket_id, (trigger, form), 422)
    except NotFound:
        abort(404)
    except StaleVersion:
        flash(_("This ticket changed while you were working on it. Check it below and send again: "
                "what you typed is kept."), "error")
        return _detail(ticket_id, (trigger, form), 409)
    except WorkflowError as exc:
        flash(exc.message, "error")
        return _detail(ticket_id, (trigger, form), exc.status)
    else:
        flash(f"{rule.label['en']} / {rule.label['zh']}: done.", "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))
