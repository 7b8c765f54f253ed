"""Who covers an area: a butler asks for leave; a supervisor approves it with a substitute,
hands over the tickets still held by the butler away, and changes an area's butler (its history
kept). Thin: the checks and the changes are workflows.cover's."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from models import Leave, Role, db
from views.cover_forms import approve_form, area_butler_form, hand_over_form, leave_form
from views.forms import Form, as_utc, show_refusal
from views.roles import role_required
from workflows import clock, cover
from workflows.errors import WorkflowError

bp = Blueprint("cover", __name__, url_prefix="/cover")
STAFF = ("butler", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")


def _leave_page(form=None, failed: tuple[int, str, object] | None = None, status: int = 200):
    """The leave page; `failed` is (leave id, "approve" or "hand_over", its form sent back)."""
    now = clock.now()
    supervisor = current_user.role in SUPERVISORS
    rows = []
    for leave in cover.leaves(current_user):
        state = cover.status(leave, now)
        row = {"leave": leave, "status": state, "forms": {},
               "left_with": cover.left_with(leave) if supervisor and state in ("approved",
                                                                                "running")
               else []}
        if supervisor and state == "requested":
            row["forms"]["approve"] = approve_form(
                leave.id, leave.butler_id, formdata=None,
                substitute_id=str(leave.substitute_id or ""))
        if row["left_with"]:
            row["forms"]["hand_over"] = hand_over_form(leave.id, formdata=None)
        if failed and failed[0] == leave.id:
            row["forms"][failed[1]] = failed[2]
        rows.append(row)
    form = form or leave_form(formdata=None)
    return render_template("cover/leave.html", form=form, rows=rows, supervisor=supervisor,
                           failed=[failed[2]] if failed else []), status


@bp.get("/leave")
@role_required(*STAFF)
def leave():
    """Leave: ask for it (a supervisor for any butler); approve it with a substitute, cancel it,
    hand over what the butler away still holds."""
    return _leave_page()


def _sent(form, act, again, done, to: str = ".leave"):
    """A form sent: if it reads, `act()`; its refusal shown next to the fields (`again(status)`
    renders the page with the form); else the message `done(result)` and back to the page."""
    if not form.validate():
        return again(422)
    try:
        result = act()
    except WorkflowError as exc:
        show_refusal(form, exc)
        return again(exc.status)
    flash(done(result), "success")
    return redirect(url_for(to))


@bp.post("/leave")
@role_required(*STAFF)
def request_leave():
    form = leave_form()
    butler = form.butler_id.data if current_user.role != Role.BUTLER else current_user.id
    return _sent(form, lambda: cover.request_leave(
        current_user, butler, as_utc(form.starts_at.data), as_utc(form.ends_at.data),
        form.substitute_id.data, form.reason.data),
        lambda status: _leave_page(form, status=status),
        lambda _leave: _("Leave recorded: it waits for a supervisor's approval."))


@bp.post("/leave/<int:leave_id>/approve")
@role_required(*SUPERVISORS)
def approve(leave_id: int):
    form = approve_form(leave_id)
    return _sent(form, lambda: cover.approve_leave(current_user, leave_id,
                                                   form.substitute_id.data),
                 lambda status: _leave_page(failed=(leave_id, "approve", form), status=status),
                 lambda _leave: _("Leave approved: the substitute covers it."))


@bp.post("/leave/<int:leave_id>/cancel")
@role_required(*STAFF)
def cancel(leave_id: int):
    return _sent(Form(), lambda: cover.cancel_leave(current_user, leave_id),
                 lambda status: _leave_page(status=status), lambda _leave: _("Leave cancelled."))


@bp.post("/leave/<int:leave_id>/hand-over")
@role_required(*SUPERVISORS)
def hand_over(leave_id: int):
    form = hand_over_form(leave_id)

    def done(handed: list[int]) -> str:
        substitute = db.session.get(Leave, leave_id).substitute
        return ngettext("%(num)d ticket handed over to %(name)s.",
                        "%(num)d tickets handed over to %(name)s.", len(handed),
                        name=substitute.name)

    return _sent(form, lambda: cover.hand_over_leave(current_user, leave_id, form.note.data),
                 lambda status: _leave_page(failed=(leave_id, "hand_over", form),
                                            status=status), done)


def _areas_page(failed: tuple[int, object] | None = None, status: int = 200):
    rows = [{"area": area, "periods": cover.periods(area.id),
             "form": failed[1] if failed and failed[0] == area.id
             else area_butler_form(area.id, formdata=None)}
            for area in cover.areas(current_user)]
    return render_template("cover/areas.html", rows=rows, away=cover.away_now(),
                           failed=[failed[1]] if failed else []), status


@bp.get("/areas")
@role_required(*SUPERVISORS)
def areas():
    """Each area's butler now and before; give an area another butler from now."""
    return _areas_page()


@bp.post("/areas/<int:area_id>/butler")
@role_required(*SUPERVISORS)
def set_butler(area_id: int):
    form = area_butler_form(area_id)
    return _sent(form, lambda: cover.set_area_butler(current_user, area_id, form.butler_id.data,
                                                     form.note.data),
                 lambda status: _areas_page((area_id, form), status=status),
                 lambda _period: _("The area has its new butler from now; its open tickets "
                                   "went with it."), to=".areas")
