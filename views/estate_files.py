"""An estate's owner sheet as a file: the export (xlsx or CSV) of what ButlerDesk holds, and the
template to fill in, with the headers in Chinese or English. Importing an export again into its
estate changes nothing (workflows.estate_import). The page, the API and the CLI all use these.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Response
from flask_babel import force_locale
from flask_babel import gettext as _

from models import User
from views.exports import XLSX_TYPE, attachment, csv_bytes, table_xlsx
from workflows import estate_import
from workflows.sheets import COLUMNS, EXAMPLE, REQUIRED

LANGUAGES = ("zh", "en")
FORMATS = {"xlsx": XLSX_TYPE, "csv": "text/csv; charset=utf-8"}


@dataclass
class File:
    body: bytes
    filename: str
    mimetype: str

    def response(self) -> Response:
        return attachment(self.body, self.filename, self.mimetype)


def _built(stem: str, headers: list[str], rows: list[list], fmt: str, language: str,
           *more: tuple) -> File:
    with force_locale("zh_CN" if language == "zh" else "en"):
        title = _("Owner sheet")
        body = (table_xlsx(title, headers, rows, *more) if fmt == "xlsx"
                else csv_bytes(headers, rows))
    return File(body, f"{stem}.{fmt}", FORMATS[fmt])


def export(actor: User | None, estate_id: int, fmt: str = "xlsx", language: str = "zh") -> File:
    """The estate's units and residents, as an owner sheet to import again."""
    estate, rows = estate_import.export_rows(actor, estate_id)
    stem = re.sub(r'[\\/:*?"<>|\s]+', "-", estate.name).strip("-") or f"estate-{estate.id}"
    return _built(stem, estate_import.headers(language), rows, fmt, language)


def template(language: str = "zh") -> File:
    """An empty owner sheet with one example row, and a second sheet saying what each column
    takes (the import reads the first sheet only)."""
    with force_locale("zh_CN" if language == "zh" else "en"):
        meaning = {
            "building": _("the building's name, as people say it"),
            "unit": _("the unit's number within the building (1201)"),
            "name": _("the resident's name; one row for each resident of the unit"),
            "phone": _("the resident's mobile: 11 digits; they activate their account with it"),
            "area": _("the area of the building; needed when the estate has several"),
            "entrance": _("the entrance or stairwell"),
            "floor": _("the floor, a whole number (−2 for the second basement)"),
            "size": _("the floor area in square metres"),
            "note": _("anything the office notes about the unit"),
            "estate": _("the estate's name: a row of another estate is refused"),
        }
        help_headers = [_("Column"), _("Also headed"), _("Required"), _("What it takes")]
        help_rows = [[COLUMNS[key][0] if language == "zh" else COLUMNS[key][-1],
                      " / ".join(COLUMNS[key]), _("yes") if key in REQUIRED else "",
                      meaning[key]] for key in estate_import.EXPORTED]
        help_title = _("How to fill it in")
    example = [EXAMPLE[key] for key in estate_import.EXPORTED]
    return _built(f"owner-sheet-template-{language}", estate_import.headers(language),
                  [example], "xlsx", language, (help_title, help_headers, help_rows))
