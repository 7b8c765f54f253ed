"""The month's assessment as files: xlsx (summary + every line) and CSV (the summary).

The builders take (month, cards) as `workflows.assessment.scorecards` returns them, so the pages
and the JSON API (`?format=xlsx|csv`) export exactly the figures they show. `download` wraps
either file in a response with a filename like butlerdesk-2026-11.xlsx.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime

from flask import Response, current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from workflows.engine import current_rules

SUMMARY_SHEET = "考核汇总"
LINES_SHEET = "扣分明细"
SUMMARY_HEADERS = ["月份", "管家", "基础分", "扣分", "加分", "已免除", "得分", "等级"]
LINES_HEADERS = ["日期", "管家", "来源", "条款", "事项", "分值", "工单", "状态", "申诉理由",
                 "处理意见"]
SOURCES = {"deadline": "超时", "finding": "检查"}
STATUSES = {"counted": "计分", "appealed": "申诉中", "held": "待审核", "waived": "已免除",
            "upheld": "维持"}
OUTCOMES = {"waived": "免除", "upheld": "维持"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filename(month: str, ext: str) -> str:
    return f"butlerdesk-{month}.{ext}"


def _safe(value):
    """CSV text that a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def summary_rows(month: str, cards: list[dict]) -> list[list]:
    full = current_rules().assessment.full_score
    return [[month, card["butler"]["name"], full, card["deductions"], card["bonuses"],
             card["waived"], card["score"], card["grade"]["zh"]] for card in cards]


def _local(iso: str) -> datetime:
    """A stored ISO time as the property's wall-clock time, naive (spreadsheets have no zones)."""
    return datetime.fromisoformat(iso).astimezone(current_app.config["TZ"]).replace(tzinfo=None)


def line_rows(cards: list[dict]) -> list[list]:
    rows = []
    for card in cards:
        for line in card["lines"]:
            review = line.get("review")
            decision = (f"{OUTCOMES.get(review['outcome'], review['outcome'])}"
                        f"（{review['by']}）：{review['reason']}") if review else ""
            rows.append([
                _local(line["missed_at"]), card["butler"]["name"],
                SOURCES.get(line["source"], line["source"]), line["article"],
                line["what"]["zh"], line["points"], line["ticket_id"],
                STATUSES.get(line["status"], line["status"]),
                line["appeal"]["reason"] if line.get("appeal") else "", decision])
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


def xlsx_bytes(month: str, cards: list[dict]) -> bytes:
    """Two sheets: 考核汇总 (one row per butler) and 扣分明细 (every line of every card)."""
    book = Workbook()
    summary = book.active
    summary.title = SUMMARY_SHEET
    _sheet(summary, SUMMARY_HEADERS, summary_rows(month, cards))
    _sheet(book.create_sheet(LINES_SHEET), LINES_HEADERS, line_rows(cards))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(month: str, cards: list[dict]) -> bytes:
    """The summary as CSV in UTF-8 with a BOM, so that Excel shows the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SUMMARY_HEADERS)
    writer.writerows([_safe(v) for v in row] for row in summary_rows(month, cards))
    return out.getvalue().encode("utf-8-sig")


def download(month: str, cards: list[dict], fmt: str) -> Response:
    """The month's file (fmt: xlsx or csv) as an attachment."""
    if fmt == "xlsx":
        body, mimetype = xlsx_bytes(month, cards), XLSX_TYPE
    elif fmt == "csv":
        body, mimetype = csv_bytes(month, cards), "text/csv; charset=utf-8"
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(month, fmt)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
