"""Bringing in an estate on the pages (admin and supervisors): upload the owner sheet → the
preview (every problem by row and column, or what would be created and changed) → import. The
uploaded file is kept server-side (`Pending`) under a random reference that the preview's form
carries, so "Import" imports exactly the file previewed, and only while the plan is still the
one previewed (workflows.estate_import: `expect`). Also the template and the export.
Thin: the reading, the checks and the writing are workflows.estate_import's.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.fields import SelectChoice

from views import estate_files, uploads
from views.forms import Form, show_refusal
from views.roles import role_required
from workflows import clock, estate_import, estates
from workflows.errors import Conflict, WorkflowError
from workflows.fields import record_id
from workflows.sheets import COLUMNS, MAX_BYTES

bp = Blueprint("estates", __name__, url_prefix="/estates")
IMPORTERS = tuple(estate_import.IMPORTERS)
KEPT_HOURS = 24
_REFERENCE = re.compile(r"^[0-9a-f]{32}$")


class ImportForm(Form):
    estate_id = SelectField(_l("Estate"), validate_choice=False)
    new_estate = StringField(_l("Or a new estate, by its name"))
    sheet = FileField(_l("Owner sheet (xlsx or CSV, at most 10 MB)"),
                      render_kw={"accept": ".xlsx,.csv,text/csv,application/vnd.openxmlformats-"
                                           "officedocument.spreadsheetml.sheet"})


def import_form(**kwargs) -> ImportForm:
    form = ImportForm(**kwargs)
    form.estate_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(e.id), e.name) for e in estates.every(current_user)]
    return form


def _language() -> str:
    return "zh" if get_locale().language == "zh" else "en"


# -- the file kept between the preview and the import ---------------------------------------------

@dataclass
class Pending:
    """An uploaded sheet waiting to be imported: whose, into which estate, and the digest of the
    plan previewed."""

    actor_id: int
    estate: int | str
    create: bool
    filename: str
    digest: str
    kept_at: float

    @staticmethod
    def folder() -> Path:
        path = uploads.folder() / "imports"
        path.mkdir(exist_ok=True)
        return path

    def keep(self, data: bytes) -> str:
        """Store the file and this record; returns its reference. Those older than a day go."""
        folder = self.folder()
        for old in folder.glob("*.json"):
            try:
                stale = json.loads(old.read_text())["kept_at"] < self.kept_at - KEPT_HOURS * 3600
            except (OSError, ValueError, KeyError, TypeError):
                stale = True
            if stale:
                _discard(old.stem)
        reference = secrets.token_hex(16)
        (folder / f"{reference}.sheet").write_bytes(data)
        (folder / f"{reference}.json").write_text(json.dumps(asdict(self)))
        return reference

    @classmethod
    def of(cls, reference: str) -> tuple[Pending, bytes]:
        """The caller's own pending import by its reference, else 404."""
        if not _REFERENCE.match(reference):
            abort(404)
        folder = cls.folder()
        try:
            pending = cls(**json.loads((folder / f"{reference}.json").read_text()))
            data = (folder / f"{reference}.sheet").read_bytes()
        except (OSError, ValueError, TypeError):
            abort(404)
        if pending.actor_id != current_user.id:
            abort(404)
        return pending, data


def _discard(reference: str) -> None:
    for ending in (".sheet", ".json"):
        (Pending.folder() / f"{reference}{ending}").unlink(missing_ok=True)


# -- the pages -------------------------------------------------------------------------------------

def _page(form: ImportForm | None = None, report=None, reference: str | None = None,
          status: int = 200):
    zh = _language() == "zh"
    return render_template(
        "estates/import.html", form=form or import_form(formdata=None), report=report,
        reference=reference, estates=estates.every(current_user),
        column_names={key: COLUMNS[key][0] if zh else COLUMNS[key][-1]
                      for key in (*estate_import.UNIT_FIELDS, "name", "phone")},
        change_words={"changed": _("changed"), "moved": _("moved in"),
                      "moved out": _("moved out")}), status


@bp.get("/import")
@role_required(*IMPORTERS)
def start():
    """Upload an owner sheet; the template to fill in; each estate's export."""
    return _page()


def _chosen_estate(form: ImportForm) -> tuple[int | str | None, bool]:
    """(the estate chosen: its id, or the name of a new one; whether to make it)."""
    new = (form.new_estate.data or "").strip()
    if new:
        return new, True
    return record_id(form.estate_id.data), False


@bp.post("/import")
@role_required(*IMPORTERS)
def preview():
    """The preview: every problem of the file, or what importing it would do."""
    form = import_form()
    if not form.validate():
        return _page(form, status=422)
    estate, create = _chosen_estate(form)
    upload = form.sheet.data
    if estate is None:
        form.estate_id.errors = [_("Choose the estate, or name a new one.")]
    if not uploads.given(upload):
        form.sheet.errors = [_("Choose the owner sheet to import (xlsx or CSV).")]
    if form.estate_id.errors or form.sheet.errors:
        return _page(form, status=422)
    data = upload.stream.read(MAX_BYTES + 1)
    filename = uploads.display_name(upload.filename or "")
    try:
        report = estate_import.import_owner_sheet(current_user, estate, filename, data,
                                                  dry_run=True, create=create)
    except WorkflowError as exc:
        show_refusal(form, exc, {"estate": "new_estate" if create else "estate_id"})
        return _page(form, status=exc.status)
    if not report.ok:
        form.sheet.errors = [_("The file has problems (below): nothing was imported. Put them "
                               "right and send it again.")]
        return _page(form, report, status=422)
    reference = Pending(current_user.id, estate, create, filename, report.digest,
                        clock.now().timestamp()).keep(data)
    return _page(form, report, reference)


@bp.post("/import/<reference>")
@role_required(*IMPORTERS)
def confirm(reference: str):
    """Import the file previewed, if the plan is still the one previewed."""
    pending, data = Pending.of(reference)
    form = Form()
    if not form.validate():
        return _page(status=422)
    try:
        report = estate_import.import_owner_sheet(
            current_user, pending.estate, pending.filename, data, create=pending.create,
            expect=pending.digest)
    except Conflict as exc:
        flash(str(exc.message), "error")
        report = estate_import.import_owner_sheet(current_user, pending.estate,
                                                  pending.filename, data, dry_run=True,
                                                  create=pending.create)
        _discard(reference)
        if not report.ok:
            return _page(report=report, status=409)
        pending.digest = report.digest
        return _page(report=report, reference=pending.keep(data), status=409)
    except WorkflowError as exc:
        flash(str(exc.message), "error")
        return _page(status=exc.status)
    _discard(reference)
    if not report.ok:  # the estate changed into one the file no longer fits
        return _page(report=report, status=422)
    flash(_("%(estate)s imported: %(summary)s.", estate=report.estate_name,
            summary=report.summary), "success")
    return redirect(url_for(".start"))


@bp.get("/template.xlsx")
@role_required(*IMPORTERS)
def template():
    """The owner sheet to fill in, headed in the page's language (or ?language=zh|en)."""
    language = request.args.get("language") or _language()
    if language not in estate_files.LANGUAGES:
        abort(404)
    return estate_files.template(language).response()


@bp.get("/<int:estate_id>/export.<fmt>")
@role_required(*IMPORTERS)
def export(estate_id: int, fmt: str):
    """The estate's units and residents as an owner sheet (xlsx or csv), to import again."""
    if fmt not in estate_files.FORMATS:
        abort(404)
    return estate_files.export(current_user, estate_id, fmt, _language()).response()
