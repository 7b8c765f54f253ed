"""More time for a deadline (延期) from the staff ticket page: ask for it beside a running
deadline, withdraw a request still waiting. Thin: the checks and the changes are
workflows.extensions'; a refusal shows the ticket page again with what was typed."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from views.extension_forms import ask_form
from views.forms import Form, as_utc, show_refusal
from views.roles import role_required
from views.tickets import _detail as detail_page
from workflows import extensions
from workflows.deadlines import MISS_TRIGGER
from workflows.errors import NotFound, WorkflowError

bp = Blueprint("extensions", __name__)
STAFF = ("butler", "supervisor", "admin")


@bp.app_template_global()
def hidden_from_residents(trigger: str) -> bool:
    """Whether a timeline's event is left out of a resident's: a miss (the butler's scoring),
    and asking for, refusing or withdrawing more time (between staff)."""
    return trigger == MISS_TRIGGER or trigger in extensions.STAFF_EVENTS


@bp.post("/tickets/<int:ticket_id>/extensions/<deadline>")
@role_required(*STAFF)
def ask(ticket_id: int, deadline: str):
    """Ask for more time for one running deadline of the ticket: a new due time, a reason."""
    form = ask_form(deadline)
    if not form.validate():
        return detail_page(ticket_id, asking=(deadline, form), status=422)
    try:
        extensions.request_extension(current_user, ticket_id, deadline,
                                     as_utc(form.due_at.data), form.reason.data)
    except WorkflowError as exc:
        if isinstance(exc, NotFound):
            abort(404)
        show_refusal(form, exc)
        return detail_page(ticket_id, asking=(deadline, form), status=exc.status)
    flash(_("More time asked for: a supervisor decides; the deadline runs on until then."),
          "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id, _anchor="more-time"))


@bp.post("/extensions/<int:extension_id>/cancel")
@role_required(*STAFF)
def cancel(extension_id: int):
    """Withdraw one's own request still waiting; back to its ticket."""
    ticket_id = extensions.ticket_of(extension_id)
    form = Form()
    if ticket_id is None:
        abort(404)
    if not form.validate():
        return detail_page(ticket_id, status=422)
    try:
        extensions.cancel(current_user, extension_id)
    except WorkflowError as exc:
        if isinstance(exc, NotFound):
            abort(404)
        show_refusal(form, exc)
        return detail_page(ticket_id, status=exc.status)
    flash(_("Request withdrawn: the deadline stays as it was."), "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id, _anchor="more-time"))
