"""Registering a ticket, a ticket's page with a form per trigger the viewer may fire, and the
ticket's photos and documents (served only to people who may see the ticket).

A resident gets their own version of the page: where the request stands and what happens next in
plain words, the times promised without any scoring, and the forms for their turn.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields import SelectChoice

from models import Role
from views import extension_forms, local_time, uploads
from views.forms import (
    FILE_KIND_LABELS,
    add_files_form,
    as_utc,
    details_as_typed,
    details_typed,
    show_refusal,
    ticket_form,
    trigger_data,
    trigger_form,
)
from views.resident import next_step
from workflows import attachments as ticket_files
from workflows import clock, cover, engine, queries
from workflows.details import names as detail_names
from workflows.errors import (
    AlreadyRegistered,
    InvalidData,
    NotFound,
    StaleVersion,
    WorkflowError,
)
from workflows.residents import rated_by
from workflows.rules import KindRules
from workflows.rules import current as current_rules
from workflows.words import label

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

# Where a field the engine names is shown on the registration form.
TICKET_FIELD_FOR = {"attachments": "photos"}


@bp.app_template_filter("fromiso")
def from_iso(value: str | None) -> datetime | None:
    """A time kept as ISO text in an event's data, as a datetime (for the localtime filter)."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@bp.app_template_global("file_kind_label")
def file_kind_label(kind: str | None) -> str:
    """What files added on their own are (floor_plan: Floor plan), as the sender said."""
    return str(FILE_KIND_LABELS.get(kind, kind or ""))


def _people_choices() -> dict[str, list[tuple[int, str]]]:
    return {"technician_id": [(u.id, u.name) for u in queries.staff(Role.TECHNICIAN)],
            "assignee_id": [(u.id, u.name) for u in cover.butlers(current_user)]}


def _is_resident() -> bool:
    return current_user.role == Role.RESIDENT


def _trigger_form(kind: KindRules, rule, **kwargs):
    """The form of one trigger for the current user: staff may add photos to any step, a
    resident documents to a step that changes the details (a new floor plan)."""
    resident = _is_resident()
    return trigger_form(kind, rule, {} if resident else _people_choices(), resident=resident,
                        photos=not resident or "details" in rule.fields, **kwargs)


def _detail(ticket_id: int, failed: tuple[str, object] | None = None, status: int = 200,
            adding=None, asking=None):
    """Render the ticket page; `failed` is the trigger form that was refused, with its errors,
    `adding` the form adding files, when it was refused, `asking` (deadline, form) the request
    for more time (views.extensions)."""
    ticket = queries.ticket_detail(ticket_id, current_user)
    if ticket is None:
        abort(404)
    g.page_url = url_for("tickets.detail", ticket_id=ticket_id)
    kind = current_rules().kind(ticket.kind)
    if adding is None and not kind.states[ticket.state].final:
        adding = add_files_form(formdata=None)
    forms, windows = [], {}
    for rule in engine.allowed_triggers(ticket, current_user):
        ends = engine.window_ends(ticket, rule)
        if ends is not None:
            windows[rule.name] = ends
        if failed and failed[0] == rule.name:
            form = failed[1]
        else:
            form = _trigger_form(kind, rule, formdata=None, data={
                **details_as_typed(ticket.details), "title": ticket.title,
                "description": ticket.description})
        form.version.data = ticket.version
        forms.append((rule, form))
    # A refused step that is no longer possible has no form to show: keep its text on the page.
    unsent = {}
    if failed and failed[0] not in {rule.name for rule, _form in forms}:
        typed = {name: getattr(failed[1], name, None) for name in ("note", "reason")}
        unsent = {name: field.data for name, field in typed.items() if field and field.data}

    # The files sent with the request or added on their own (a floor plan sent later) are shown
    # with it; those of a step at their step in the timeline.
    documents = {e.id for e in ticket.events
                 if e.trigger in (engine.CREATE_TRIGGER, ticket_files.ATTACH_TRIGGER)}
    by_event: dict[int | None, list] = {}
    for f in ticket.attachments:
        by_event.setdefault(f.event_id, []).append(f)
    files = [f for f in ticket.attachments if f.event_id in documents or f.event_id is None]
    current, earlier = queries.deadline_rounds(ticket)
    context = dict(ticket=ticket, kind=kind, forms=forms, unsent=unsent, files=files,
                   deadlines=current, earlier_deadlines=earlier, adding=adding,
                   rating_given=queries.rating_given(ticket),
                   # A browser cannot refill a file input: say so only if files were chosen.
                   files_again=adding is not None and bool(adding.errors)
                   and uploads.any_chosen(adding.files),
                   by_event=by_event, windows=windows, detail_keys=detail_names(kind),
                   photos_again=bool(failed) and uploads.any_chosen(
                       getattr(failed[1], "photos", None)))
    if _is_resident():
        rated = rated_by([ticket.id], current_user.id).get(ticket.id)
        # The message that brought the ticket to where it is (a reply, a reason, a finding).
        latest = next((e for e in reversed(ticket.events)
                       if e.to_state == ticket.state and e.from_state != e.to_state), None)
        return render_template("resident/ticket.html", next=next_step(ticket, clock.now(), rated),
                               rated=rated, latest=latest, **context), status
    return render_template("tickets/detail.html", **context,
                           **extension_forms.for_ticket(ticket, asking)), status


def _new_form():
    kinds = current_rules().kinds
    form = ticket_form(kinds.values())
    if not form.is_submitted():
        wanted = request.args.get("kind")
        form.kind.data = wanted if wanted in kinds else next(iter(kinds))
    staff = not _is_resident()
    if staff:
        form.unit_id.choices = [SelectChoice("", _("— choose the unit —"))] + [
            SelectChoice(u.id, u.label, optgroup=u.building.area.name)
            for u in queries.all_units(current_user)]
    else:
        # A resident files for their own unit, now: those inputs are not theirs (and a select
        # without choices cannot even be validated).
        del form.unit_id, form.reported_at
    return form, staff


def _kinds_of_inputs(kinds: list[KindRules]) -> dict[str, str]:
    """Each input of the kinds' details (and the documents) -> the kinds that ask for it."""
    asking: dict[str, list[str]] = {}
    for kind in kinds:
        for key in detail_names(kind) + (("documents",) if kind.documents else ()):
            asking.setdefault(key, []).append(kind.name)
    return {key: " ".join(names) for key, names in asking.items()}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Submit a request (residents) or register one from a call (staff), with photos and, for a
    kind that asks for them, its details and documents."""
    if current_user.role == Role.TECHNICIAN:
        abort(403)
    form, staff = _new_form()
    status = 200
    if form.is_submitted():
        status = 422
        valid = form.validate()
        kind = current_rules().kinds.get(form.kind.data)
        typed = details_typed(form, kind) if kind else None
        checked = uploads.from_inputs(form.photos, getattr(form, "documents", None))
        if valid and checked is None:
            # Some files were refused: say at once what else needs putting right.
            problems = engine.ticket_problems(
                current_user, form.kind.data, form.title.data, form.description.data,
                form.unit_id.data if staff else None,
                as_utc(form.reported_at.data) if staff else None, details=typed)
            if problems:
                show_refusal(form, InvalidData("", problems), TICKET_FIELD_FOR)
        if valid and checked is not None:
            files = uploads.store(checked)
            try:
                ticket = engine.open_ticket(
                    current_user, form.kind.data, form.title.data, form.description.data,
                    form.unit_id.data if staff else None,
                    as_utc(form.reported_at.data) if staff else None,
                    details=typed, attachments=files)
            except AlreadyRegistered as exc:
                uploads.discard(files)
                flash(_("You sent this at %(time)s: it is request #%(id)d.", id=exc.ticket_id,
                        time=local_time(exc.registered_at, "%H:%M")), "info")
                return redirect(url_for("tickets.detail", ticket_id=exc.ticket_id))
            except WorkflowError as exc:
                uploads.discard(files)
                show_refusal(form, exc, TICKET_FIELD_FOR)
                status = exc.status
            except BaseException:
                uploads.discard(files)
                raise
            else:
                flash(_("Thank you: request #%(id)d is sent to your butler.", id=ticket.id)
                      if not staff else _("Ticket #%(id)d registered.", id=ticket.id), "success")
                return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    kinds = list(current_rules().kinds.values())
    files_again = form.is_submitted() and uploads.any_chosen(
        form.photos, getattr(form, "documents", None))
    detail_keys = list(dict.fromkeys(key for kind in kinds for key in detail_names(kind)))
    return render_template(
        "tickets/new.html", form=form, staff=staff, unit=None if staff else current_user.unit,
        kinds=kinds, hints={kind.name: label(kind.hint) for kind in kinds},
        detail_keys=detail_keys, kinds_of=_kinds_of_inputs(kinds),
        documents=[kind for kind in kinds if kind.documents],
        files_again=files_again,
    ), status


@bp.get("/kinds.css")
def kinds_css():
    """The request form shows a kind's details and documents only once that kind is chosen: a
    stylesheet made from the rules (each input says which kinds ask for it, `data-kinds`)."""
    rules = [".ticket-form [data-kinds] { display: none; }"]
    for kind in current_rules().kinds:
        chosen = f'.ticket-form:has(input[name="kind"][value="{kind}"]:checked)'
        rules.append(f'{chosen} .field[data-kinds~="{kind}"] {{ display: flex; }}')
        rules.append(f'{chosen} :is(fieldset, p)[data-kinds~="{kind}"] {{ display: block; }}')
    css = "@supports selector(:has(*)) {\n  " + "\n  ".join(rules) + "\n}\n"
    response = Response(css, mimetype="text/css")
    response.set_etag(hashlib.sha256(css.encode()).hexdigest())
    response.cache_control.max_age = 3600
    return response.make_conditional(request)


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
    kind = current_rules().kind(ticket.kind)
    rule = kind.triggers.get(trigger)
    if rule is None:
        abort(404)
    form = _trigger_form(kind, rule)
    valid = form.validate_on_submit()
    checked = uploads.from_inputs(getattr(form, "photos", None))
    if not valid or checked is None:
        return _detail(ticket_id, (trigger, form), 422)
    files = uploads.store(checked)
    try:
        engine.fire(ticket_id, trigger, current_user, form.version.data,
                    attachments=files, **trigger_data(form, kind, rule))
    except BaseException as exc:
        uploads.discard(files)
        if not isinstance(exc, WorkflowError):
            raise
        return _refused(ticket_id, trigger, form, exc)
    flash(label(rule.done_for(current_user.role)), "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


def _refused(ticket_id: int, trigger: str, form, exc: WorkflowError):
    if isinstance(exc, NotFound):
        abort(404)
    if isinstance(exc, StaleVersion):
        flash(_("This ticket changed while you were working on it. Check it below and send again: "
                "what you typed is kept."), "error")
        return _detail(ticket_id, (trigger, form), 409)
    show_refusal(form, exc, TICKET_FIELD_FOR)
    return _detail(ticket_id, (trigger, form), exc.status)


@bp.post("/<int:ticket_id>/files")
@login_required
def add_files(ticket_id: int):
    """Add photos or documents to a ticket outside any step; on a mistake show the form again."""
    if queries.ticket_detail(ticket_id, current_user) is None:
        abort(404)
    form = add_files_form()
    valid = form.validate_on_submit()
    checked = uploads.from_inputs(form.files)
    if not valid or checked is None:
        return _detail(ticket_id, adding=form, status=422)
    files = uploads.store(checked)
    try:
        engine.attach(ticket_id, current_user, files, form.kind.data, form.note.data)
    except BaseException as exc:
        uploads.discard(files)
        if not isinstance(exc, WorkflowError):
            raise
        if isinstance(exc, NotFound):
            abort(404)
        show_refusal(form, exc, {"attachments": "files"})
        return _detail(ticket_id, adding=form, status=exc.status)
    flash(_("Thank you: the files are added."), "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))


@bp.get("/<int:ticket_id>/files/<int:attachment_id>")
@login_required
def attachment(ticket_id: int, attachment_id: int):
    """A photo or document of a ticket, for whoever may see the ticket (404 for anyone else)."""
    return uploads.serve(ticket_id, attachment_id, current_user)
