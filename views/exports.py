"""The month's assessment as files: xlsx (summary + every line) and two CSV files, the summary
and the lines, in Chinese: they are the company's records (考核表), whoever downloads them.

The builders take (month, cards) as `workflows.assessment.scorecards` returns them, so the pages
and the JSON API (`?format=xlsx|csv`) export exactly the figures they show. `download` wraps
an estate's file in a response with a filename like butlerdesk-Garden-2026-11.xlsx (FORMATS);
`download_company` the company's roll-up (every estate's cards, then each butler's company
line), butlerdesk-company-2026-11.xlsx.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime
from urllib.parse import quote

from flask import Response, current_app
from flask_babel import force_locale, pgettext
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from workflows.rules import current as current_rules
from workflows.words import label, name

# The files are the company's records, in Chinese whoever downloads them (the catalog's words).
RECORD_LOCALE = "zh_CN"


def _headers() -> tuple[list[str], list[str]]:
    summary = [_("Month"), _("Butler"), _("Full score"), _("Deductions"), _("Bonuses"),
               _("Waived"), _("Score"), _("Grade"), _("Estate")]
    lines = [_("Date"), _("Butler"), _("Source"), _("Article"), _("What"), _("Points"),
             _("Ticket"), _("Status"), _("Note"), _("Appeal reason"), _("Decision"), _("Estate")]
    return summary, lines


def _source(line: dict) -> str:
    if line["source"] == "deadline":
        return pgettext("where a line comes from", "late")
    return pgettext("where a line comes from", "check")


def _status(line: dict) -> str:
    return {"counted": _("counted"), "appealed": _("appealed"), "held": _("held for review"),
            "waived": _("waived"), "upheld": _("charged") if line.get("held") else _("upheld"),
            }.get(line["status"], line["status"])


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    """CSV text that a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _estate(card: dict) -> str:
    """The estate a card is of; a company line's is the whole company."""
    return card["estate"]["name"] if card.get("estate") else _("Whole company")


def summary_rows(month: str, cards: list[dict]) -> list[list]:
    full = current_rules().assessment.full_score
    return [[month, card["butler"]["name"], full, card["deductions"], card["bonuses"],
             card["waived"], card["score"], label(card["grade"]), _estate(card)]
            for card in cards]


def _local(iso: str) -> datetime:
    """A stored ISO time as the property's wall-clock time, naive (spreadsheets have no zones)."""
    return datetime.fromisoformat(iso).astimezone(current_app.config["TZ"]).replace(tzinfo=None)


def line_rows(cards: list[dict]) -> list[list]:
    rows = []
    for card in cards:
        for line in card["lines"]:
            review = line.get("review")
            decision = _("%(outcome)s (%(name)s): %(reason)s", outcome=name(review["outcome"]),
                         name=review["by"], reason=review["reason"]) if review else ""
            rows.append([
                _local(line["missed_at"]), card["butler"]["name"], _source(line), line["article"],
                label(line["what"]), line["points"], line["ticket_id"], _status(line),
                line["note"], line["appeal"]["reason"] if line.get("appeal") else "", decision,
                _estate(card)])
    return rows


def _width(value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def _sheet(sheet, headers: list[str], rows: list[list], max_width: int = 60) -> None:
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:  # openpyxl takes text starting with = for a formula: keep it text
            if cell.data_type == "f":
                cell.data_type = "s"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        widest = max([_width(header)] + [_width(row[index - 1]) for row in rows])
        sheet.column_dimensions[letter].width = max(8, min(max_width, widest + 2))
        for cell in sheet[letter][1:]:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = sheet.dimensions


def table_xlsx(title: str, headers: list[str], rows: list[list], *more: tuple) -> bytes:
    """A workbook of one table (and of `more` sheets: (title, headers, rows) each)."""
    book = Workbook()
    book.active.title = title
    _sheet(book.active, headers, rows)
    for sheet_title, other_headers, other_rows in more:
        _sheet(book.create_sheet(sheet_title), other_headers, other_rows, max_width=100)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def attachment(body: bytes, filename: str, mimetype: str) -> Response:
    """A file to download, never cached on the way."""
    response = Response(body, content_type=mimetype)
    response.headers["Content-Disposition"] = _disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _disposition(filename: str) -> str:
    """attachment; filename=, and for a name not in ASCII (an estate's Chinese name) an ASCII
    stand-in there and the name itself in UTF-8 in filename*=."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def xlsx_bytes(month: str, summary_cards: list[dict], cards: list[dict]) -> bytes:
    """Two sheets: the summary (考核汇总, one row per card of `summary_cards`) and the lines
    (扣分明细, every line of every card of `cards`)."""
    summary_headers, line_headers = _headers()
    book = Workbook()
    summary = book.active
    summary.title = _("Assessment summary")
    _sheet(summary, summary_headers, summary_rows(month, summary_cards))
    _sheet(book.create_sheet(_("Deduction lines")), line_headers, line_rows(cards))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(headers: list[str], rows: list[list]) -> bytes:
    """A table as CSV in UTF-8 with a BOM, so that Excel shows the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([_safe(v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v)
                      for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


# format -> (what the file holds, its filename's ending, its type)
FORMATS = {
    "xlsx": (xlsx_bytes, ".xlsx", XLSX_TYPE),
    "csv": (lambda month, summary, cards: csv_bytes(_headers()[0], summary_rows(month, summary)),
            ".csv", "text/csv; charset=utf-8"),
    "lines-csv": (lambda month, summary, cards: csv_bytes(_headers()[1], line_rows(cards)),
                  "-lines.csv", "text/csv; charset=utf-8"),
}


_NOT_IN_NAMES = str.maketrans({ch: "_" for ch in '/\\:*?"<>|'})


def download(month: str, cards: list[dict], fmt: str, estate: str) -> Response:
    """The estate's month (one of FORMATS) as an attachment named after the estate."""
    return _download(month, cards, cards, fmt, estate.translate(_NOT_IN_NAMES))


def download_company(rolled: dict, fmt: str) -> Response:
    """The company's roll-up (workflows.assessment.company) as an attachment: a summary row for
    every estate card and then each butler's company line; the lines of every estate card."""
    cards = [card for estate in rolled["estates"] for card in estate["scorecards"]]
    summary = cards + [{**line, "estate": None} for line in rolled["butlers"]]
    return _download(rolled["month"], summary, cards, fmt, "company")


def _download(month: str, summary: list[dict], cards: list[dict], fmt: str,
              name: str) -> Response:
    build, ending, mimetype = FORMATS[fmt]
    with force_locale(RECORD_LOCALE):
        body = build(month, summary, cards)
    return attachment(body, f"butlerdesk-{name}-{month}{ending}", mimetype)
