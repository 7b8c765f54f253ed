"""JSON API v1 for bringing in an estate: import an owner sheet (or see what it would do) and
export the estate as one (workflows.estate_import). Same error format as the rest of the API; a
file with problems is a 422 whose `problems` name each row and column."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import force_locale
from flask_login import current_user

from views import estate_files, schemas, uploads
from views.api import bp
from views.errors import api_error
from views.openapi import documented
from workflows import estate_import, estates
from workflows.errors import Forbidden, InvalidData
from workflows.sheets import MAX_BYTES

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")
SHOWN_IN_FIELDS = 20


def report_json(report: estate_import.ImportReport) -> dict:
    return {"estate": {"id": report.estate_id, "name": report.estate_name},
            "estate_created": report.estate_created, "dry_run": report.dry_run,
            "imported": report.imported, "summary": str(report.summary),
            "counts": report.counts(), "areas_created": report.areas_created,
            "changes": [{"row": c.row, "subject": c.subject, "id": c.subject_id,
                         "label": c.label, "action": c.action,
                         "before": estate_import.as_json(c.before),
                         "after": estate_import.as_json(c.after)} for c in report.changes],
            "digest": report.digest}


def _refused(report: estate_import.ImportReport):
    problems = [{"row": p.row, "column": p.column, "message": str(p.message)}
                for p in report.problems]
    said = "; ".join((f"row {p['row']}" if p["row"] else "the file")
                     + (f", {p['column']}" if p["column"] else "") + f": {p['message']}"
                     for p in problems[:SHOWN_IN_FIELDS])
    more = len(problems) - SHOWN_IN_FIELDS
    return api_error(422, "invalid", f"the file has {len(problems)} problem(s); nothing was "
                     "imported", {"file": said + (f"; and {more} more" if more > 0 else "")},
                     problems=problems)


@bp.post("/estates/<int:estate_id>/import")
@documented(form=schemas.EstateImport, responses={200: schemas.ImportReport},
            errors=(403, 404, 422))
def import_estate(estate_id: int):
    """Import an owner sheet (xlsx or CSV) into the estate, all or nothing: multipart/form-data
    with `file` and `dry_run` (true: only say what it would do). Rows are keyed by building +
    unit, residents by phone, so the same file again changes nothing; a file with any problem
    is a 422 listing each (`problems`: row, column, message) and imports nothing."""
    if not estate_import.may_import(current_user):
        raise Forbidden("only the admin and supervisors bring in an estate")
    estates.get(estate_id, current_user)  # 404 for none, 403 for another's
    dry_run = (request.form.get("dry_run") or "").strip().lower()
    if dry_run not in TRUE + FALSE:
        raise InvalidData("bad dry_run", {"dry_run": "must be true or false"})
    upload = request.files.get("file")
    if not uploads.given(upload):
        raise InvalidData("no file was sent", {"file": "is required (multipart/form-data)"})
    data = upload.stream.read(MAX_BYTES + 1)
    with force_locale("en"):  # the API speaks English
        report = estate_import.import_owner_sheet(
            current_user, estate_id, uploads.display_name(upload.filename or ""), data,
            dry_run=dry_run in TRUE)
        if not report.ok:
            return _refused(report)
        return jsonify(report_json(report))


@bp.get("/estates/<int:estate_id>/export")
@documented(query=schemas.EstateExportQuery, errors=(403, 404, 422), responses={200: {
    estate_files.FORMATS["xlsx"]: None, "text/csv": None}})
def export_estate(estate_id: int):
    """The estate's units and residents as an owner sheet: ?format=xlsx (default) or csv,
    ?language=zh (default) or en for the headers. Importing it again changes nothing."""
    fmt = request.args.get("format") or "xlsx"
    language = request.args.get("language") or "zh"
    if fmt not in estate_files.FORMATS:
        raise InvalidData("bad format", {"format": "must be xlsx or csv"})
    if language not in estate_files.LANGUAGES:
        raise InvalidData("bad language", {"language": "must be zh or en"})
    return estate_files.export(current_user, estate_id, fmt, language).response()
