"""The administration pages: the company's accounts (staff made, their role, contact and areas
changed, a password reset, a person deactivated with their open tickets listed to reassign), the
units' invitation codes printed for a building or issued again for a unit, and the audit log.
Accounts and the log are the admin's; invitation codes the office's (supervisors too). Thin: the
checks and the changes are workflows.people's and workflows.invitations'."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields import SelectChoice

from models import Role
from views.admin_forms import (
    ActiveForm,
    AuditFilterForm,
    IssueForm,
    account_form,
    areas_form,
    building_form,
    details_form,
    estates_form,
    name_form,
    new_area_form,
    reset_form,
    supervisors_form,
    unit_form,
)
from views.cover_forms import area_butler_form
from views.forms import Form, show_refusal
from views.roles import role_required
from workflows import audit, invitations, people, places
from workflows.errors import InvalidData, NotFound, WorkflowError
from workflows.fields import record_id

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN = ("admin",)
OFFICE = ("supervisor", "admin")


# -- people ----------------------------------------------------------------------------------------

@bp.get("/people")
@role_required(*ADMIN)
def accounts():
    """The company's accounts: staff by default, or one role; active, deactivated or both."""
    role = request.args.get("role", "")
    active = {"yes": True, "no": False}.get(request.args.get("active", "yes"))
    try:
        found = people.people(current_user, role or None, active)
    except InvalidData:
        abort(404)  # no such role: no such list
    return render_template("admin/people.html", people=found, role=role,
                           active=request.args.get("active", "yes"), roles=list(Role))


@bp.route("/people/new", methods=["GET", "POST"])
@role_required(*ADMIN)
def new_account():
    """Make a staff account; a password made for them is shown once, here."""
    form = account_form()
    if request.method == "GET" or not form.validate():
        return render_template("admin/new.html", form=form), 200 if request.method == "GET" else 422
    try:
        user, password = people.create(
            current_user, form.username.data, form.name.data, form.role.data, form.phone.data,
            form.email.data, form.password.data,
            form.estate_ids.data if form.role.data == Role.SUPERVISOR else None)
    except WorkflowError as exc:
        show_refusal(form, exc)
        return render_template("admin/new.html", form=form), exc.status
    if password is None:
        flash(_("The account of %(name)s is made.", name=user.name), "success")
        return redirect(url_for(".account", user_id=user.id))
    return _account_page(user.id, shown_password=password)


def _account_page(user_id: int, status: int = 200, shown_password: str | None = None, **forms):
    try:
        user = people.person(current_user, user_id)
    except NotFound:
        abort(404)
    forms.setdefault("details", details_form(user, formdata=None, name=user.name,
                                             role=user.role, phone=user.phone or "",
                                             email=user.email or ""))
    areas = people.areas_of(user.id)
    forms.setdefault("areas", areas_form(formdata=None, area_ids=[str(a.id) for a in areas]))
    forms.setdefault("reset", reset_form(formdata=None))
    forms.setdefault("estates", estates_form(formdata=None, estate_ids=[
        str(e.id) for e in places.estates_of(user.id)]))
    failed = [f for f in forms.values() if f.errors]
    return render_template("admin/person.html", person=user, areas=areas,
                           tickets=people.open_tickets(user.id), forms=forms,
                           shown_password=shown_password, failed=failed), status


@bp.get("/people/<int:user_id>")
@role_required(*ADMIN)
def account(user_id: int):
    """One account: change their details, their areas, reset their password, deactivate them
    (their open tickets listed to reassign) or let them back in."""
    return _account_page(user_id)


def _sent(user_id: int, name: str, form, act, done):
    """A form of the account page sent: if it reads, `act()`; a refusal shown next to its
    fields; else `done(result)` (a message, or a page of its own) and back to the page."""
    if not form.validate():
        return _account_page(user_id, 422, **{name: form})
    try:
        result = act()
    except NotFound:
        abort(404)
    except WorkflowError as exc:
        show_refusal(form, exc)
        return _account_page(user_id, exc.status, **{name: form})
    answer = done(result)
    if not isinstance(answer, str):
        return answer
    flash(answer, "success")
    return redirect(url_for(".account", user_id=user_id))


@bp.post("/people/<int:user_id>")
@role_required(*ADMIN)
def change_details(user_id: int):
    try:
        user = people.person(current_user, user_id)
    except NotFound:
        abort(404)
    form = details_form(user)
    return _sent(user_id, "details", form, lambda: people.change(current_user, user_id, {
        "name": form.name.data, "role": form.role.data, "phone": form.phone.data,
        "email": form.email.data}), lambda _done: _("The account is saved."))


@bp.post("/people/<int:user_id>/areas")
@role_required(*ADMIN)
def change_areas(user_id: int):
    form = areas_form()
    return _sent(user_id, "areas", form, lambda: people.set_areas(
        current_user, user_id, form.area_ids.data, form.note.data),
        lambda _areas: _("The areas are saved; their open tickets went with them."))


@bp.post("/people/<int:user_id>/estates")
@role_required(*ADMIN)
def change_estates(user_id: int):
    form = estates_form()
    return _sent(user_id, "estates", form, lambda: people.change(
        current_user, user_id, {"estate_ids": form.estate_ids.data}),
        lambda _done: _("The estates they supervise are saved."))


@bp.post("/people/<int:user_id>/password")
@role_required(*ADMIN)
def reset_password(user_id: int):
    form = reset_form()
    typed = form.password.data

    def act():
        return people.change(current_user, user_id,
                             {"password": typed} if typed else {"reset_password": True})

    def done(result):
        user, made = result
        if made is None:
            return _("The password is set; every login of theirs has ended.")
        return _account_page(user.id, shown_password=made)

    return _sent(user_id, "reset", form, act, done)


@bp.post("/people/<int:user_id>/active")
@role_required(*ADMIN)
def set_active(user_id: int):
    form = ActiveForm()
    active = form.active.data == "yes"

    def done(result):
        user, _made = result
        if user.active:
            return _("%(name)s can log in again.", name=user.name)
        return _("%(name)s is deactivated: they cannot log in, and every login of theirs has "
                 "ended.", name=user.name)

    return _sent(user_id, "active", form,
                 lambda: people.change(current_user, user_id, {"active": active}), done)


# -- the company's places: estates, areas, buildings, units --------------------------------------

def _estates_page(status: int = 200, form=None):
    return render_template("admin/estates.html", estates=places.estates(current_user),
                           form=form or name_form("estate", formdata=None)), status


@bp.get("/estates")
@role_required(*OFFICE)
def estates():
    """The estates: every one for the admin (who makes new ones here), a supervisor's own."""
    return _estates_page()


@bp.post("/estates")
@role_required(*ADMIN)
def create_estate():
    form = name_form("estate")
    if not form.validate():
        return _estates_page(422, form)
    try:
        made = places.create_estate(current_user, form.name.data)
    except WorkflowError as exc:
        show_refusal(form, exc)
        return _estates_page(exc.status, form)
    flash(_("The estate %(name)s is made: give it its areas next.", name=made.name), "success")
    return redirect(url_for(".estate", estate_id=made.id))


def _estate_page(estate_id: int, status: int = 200, **forms):
    """The estate's page; `forms`: one sent back with what is wrong with it (and as typed)."""
    try:
        found = places.estate(current_user, estate_id)
    except NotFound:
        abort(404)
    forms.setdefault("rename", name_form("estate", formdata=None, name=found.name))
    forms.setdefault("supervisors", supervisors_form(
        formdata=None, supervisor_ids=[str(s.id) for s in found.supervisors]))
    forms.setdefault("new_area", new_area_form(formdata=None))
    for area in found.areas:
        forms.setdefault(f"area-{area.id}", name_form(f"area-{area.id}", formdata=None,
                                                      name=area.name))
        forms.setdefault(f"butler-{area.id}", area_butler_form(area.id, formdata=None))
        forms.setdefault(f"building-{area.id}", name_form(f"new-building-{area.id}",
                                                          formdata=None))
    counts = places.unit_counts([b.id for a in found.areas for b in a.buildings])
    return render_template("admin/estate.html", estate=found, forms=forms, counts=counts,
                           failed=[f for f in forms.values() if f.errors]), status


def _place_sent(page, back: str, name: str, form, act, done):
    """A form of a place's page sent: if it reads, `act()`; a refusal shown next to its fields
    (`page(status, **{name: form})`); else the message `done(result)` and back to `back`."""
    if not form.validate():
        return page(422, **{name: form})
    try:
        result = act()
    except NotFound:
        abort(404)
    except WorkflowError as exc:
        show_refusal(form, exc)
        return page(exc.status, **{name: form})
    flash(done(result), "success")
    return redirect(back)


def _on_estate(estate_id: int, name: str, form, act, done):
    return _place_sent(partial(_estate_page, estate_id), url_for(".estate", estate_id=estate_id),
                       name, form, act, done)


@bp.get("/estates/<int:estate_id>")
@role_required(*OFFICE)
def estate(estate_id: int):
    """An estate: its name and supervisors (the admin's), its areas with their butler and
    buildings, a new area."""
    return _estate_page(estate_id)


@bp.post("/estates/<int:estate_id>")
@role_required(*ADMIN)
def rename_estate(estate_id: int):
    form = name_form("estate")
    return _on_estate(estate_id, "rename", form, lambda: places.change_estate(
        current_user, estate_id, {"name": form.name.data}), lambda _e: _("The name is saved."))


@bp.post("/estates/<int:estate_id>/supervisors")
@role_required(*ADMIN)
def set_supervisors(estate_id: int):
    form = supervisors_form()
    return _on_estate(estate_id, "supervisors", form, lambda: places.set_supervisors(
        current_user, estate_id, form.supervisor_ids.data),
        lambda _e: _("The estate's supervisors are saved."))


@bp.post("/estates/<int:estate_id>/areas")
@role_required(*OFFICE)
def create_area(estate_id: int):
    form = new_area_form()
    return _on_estate(estate_id, "new_area", form, lambda: places.create_area(
        current_user, estate_id, form.name.data, form.butler_id.data),
        lambda area: _("The area %(name)s is made.", name=area.name))


def _area_estate(area_id: int) -> int:
    try:
        return places.estate_of_area(current_user, area_id)
    except NotFound:
        abort(404)


@bp.post("/areas/<int:area_id>")
@role_required(*OFFICE)
def rename_area(area_id: int):
    form = name_form(f"area-{area_id}")
    return _on_estate(_area_estate(area_id), f"area-{area_id}", form, lambda: places.change_area(
        current_user, area_id, {"name": form.name.data}), lambda _a: _("The name is saved."))


@bp.post("/areas/<int:area_id>/butler")
@role_required(*OFFICE)
def set_area_butler(area_id: int):
    form = area_butler_form(area_id)
    return _on_estate(_area_estate(area_id), f"butler-{area_id}", form,
                      lambda: places.change_area(current_user, area_id, {
                          "butler_id": form.butler_id.data, "note": form.note.data}),
                      lambda _a: _("The area has its new butler from now; its open tickets "
                                   "went with it."))


@bp.post("/areas/<int:area_id>/buildings")
@role_required(*OFFICE)
def create_building(area_id: int):
    form = name_form(f"new-building-{area_id}")
    return _on_estate(_area_estate(area_id), f"building-{area_id}", form,
                      lambda: places.create_building(current_user, area_id, form.name.data),
                      lambda b: _("The building %(name)s is made.", name=b.name))


def _building_page(building_id: int, status: int = 200, **forms):
    try:
        found = places.building(current_user, building_id)
    except NotFound:
        abort(404)
    forms.setdefault("building", building_form(found, formdata=None, name=found.name,
                                               area_id=str(found.area_id)))
    forms.setdefault("unit", unit_form(formdata=None))
    return render_template("admin/places_building.html", building=found, forms=forms,
                           failed=[f for f in forms.values() if f.errors]), status


def _on_building(building_id: int, name: str, form, act, done):
    return _place_sent(partial(_building_page, building_id),
                       url_for(".building", building_id=building_id), name, form, act, done)


@bp.get("/buildings/<int:building_id>")
@role_required(*OFFICE)
def building(building_id: int):
    """A building: its name and area (to move it within its estate), its units, a new unit."""
    return _building_page(building_id)


@bp.post("/buildings/<int:building_id>")
@role_required(*OFFICE)
def change_building(building_id: int):
    try:
        form = building_form(places.building(current_user, building_id))
    except NotFound:
        abort(404)
    return _on_building(building_id, "building", form, lambda: places.change_building(
        current_user, building_id, {"name": form.name.data, "area_id": form.area_id.data}),
        lambda _b: _("The building is saved."))


def _unit_values(form) -> dict:
    return {key: getattr(form, key).data for key in places.UNIT_FIELDS}


@bp.post("/buildings/<int:building_id>/units")
@role_required(*OFFICE)
def create_unit(building_id: int):
    form = unit_form()
    return _on_building(building_id, "unit", form, lambda: places.create_unit(
        current_user, building_id, _unit_values(form)),
        lambda unit: _("The unit %(unit)s is made.", unit=unit.number))


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@role_required(*OFFICE)
def unit(unit_id: int):
    """A unit's number, entrance, floor, floor area and note."""
    try:
        found = places.unit(current_user, unit_id)
    except NotFound:
        abort(404)
    if request.method == "GET":
        form = unit_form(formdata=None, **{key: "" if getattr(found, key) is None
                                           else str(getattr(found, key))
                                           for key in places.UNIT_FIELDS})
        return render_template("admin/unit.html", unit=found, form=form)

    def page(status, **forms):
        return render_template("admin/unit.html", unit=found, form=forms["unit"]), status

    form = unit_form()
    return _place_sent(page, url_for(".building", building_id=found.building_id), "unit", form,
                       lambda: places.change_unit(current_user, unit_id, _unit_values(form)),
                       lambda _u: _("The unit is saved."))


# -- invitation codes ------------------------------------------------------------------------------

@bp.get("/invitations")
@role_required(*OFFICE)
def invitation_codes():
    """Every building with how many of its units have a code and how many residents got in;
    print the codes of a building."""
    return render_template("admin/invitations.html", rows=invitations.buildings(current_user),
                           form=IssueForm(formdata=None))


@bp.post("/invitations/buildings/<int:building_id>")
@role_required(*OFFICE)
def print_building(building_id: int):
    """Issue codes for a building's units and show them as slips to print, this once."""
    form = IssueForm()
    if not form.validate():
        return redirect(url_for(".invitation_codes"))
    try:
        building, slips = invitations.issue_for_building(current_user, building_id,
                                                        form.every_unit.data)
    except NotFound:
        abort(404)
    return _sheet(building.name, building.area.estate.name, slips)


@bp.post("/invitations/units/<int:unit_id>")
@role_required(*OFFICE)
def regenerate(unit_id: int):
    """A new code for one unit (the old one stops working), as a slip to print."""
    if not Form().validate():
        return redirect(url_for(".invitation_codes"))
    try:
        unit, code = invitations.issue_for_unit(current_user, unit_id)
    except NotFound:
        abort(404)
    return _sheet(unit.building.name, unit.area.estate.name, [(unit, code)])


def _sheet(building: str, estate: str, slips):
    address = url_for("activation.activate", _external=True)
    return render_template("admin/sheet.html", building=building, estate=estate,
                           slips=[(unit, invitations.shown(code)) for unit, code in slips],
                           address=address)


@bp.get("/invitations/buildings/<int:building_id>")
@role_required(*OFFICE)
def building_units(building_id: int):
    """A building's units: whether each has a code, since when, and its residents."""
    try:
        building, units = invitations.units_of(current_user, building_id)
    except NotFound:
        abort(404)
    return render_template("admin/building.html", building=building, units=units)


# -- the audit log ---------------------------------------------------------------------------------

@bp.get("/audit")
@role_required(*ADMIN)
def audit_log():
    """The audit log, newest first, filtered by estate, kind of record, person and dates."""
    form = AuditFilterForm(request.args)
    form.estate_id.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(str(e.id), e.name) for e in invitations.estates()]
    form.by.choices = [SelectChoice("", _("Anyone"))] + [
        SelectChoice(str(u.id), f"{u.name} ({u.username})")
        for u in people.people(current_user, active=None)]
    since, until = _day(form.since), _day(form.until)
    page = record_id(request.args.get("page", "1")) or 1
    entries = audit.entries(current_user, estate_id=record_id(form.estate_id.data or ""),
                            subject_type=form.subject_type.data or None,
                            by=record_id(form.by.data or ""), page=page,
                            since=since, until=until + timedelta(days=1) if until else None)
    return render_template("admin/audit.html", form=form, entries=entries,
                           more=len(entries) == audit.PAGE_SIZE,
                           older={**request.args.to_dict(), "page": page + 1})


def _day(field) -> datetime | None:
    """A date typed in a filter, as the start of that day in the property's time zone."""
    try:
        day = datetime.strptime(field.data or "", "%Y-%m-%d")
    except ValueError:
        if field.data:
            field.errors = [_("must be a date like 2026-11-16")]
        return None
    return day.replace(tzinfo=current_app.config["TZ"])
