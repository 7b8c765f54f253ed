"""Reading an estate's owner sheet (业主信息表): buildings, units and their residents, from the
xlsx or CSV a property office keeps, checked row by row before anything is imported.

`read_owner_sheet` turns a file into rows and problems. A problem names the row (as Excel numbers
it) and the column (as the file heads it) and says what is wrong, in the reader's language, so
the office can put the file right; one problem with the file as a whole (not a sheet, no header,
a formula) has no row. The import itself (estate + building + unit as the key, a resident by
phone) takes the rows only when there is no problem at all: all or nothing.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook

from workflows.accounts import MOBILE

# The columns, by the names a sheet may head them with (Chinese as an office types them, or
# English); the first four must be there.
COLUMNS: dict[str, tuple[str, ...]] = {
    "building": ("楼栋", "楼号", "building"),
    "unit": ("房号", "房间号", "unit"),
    "name": ("业主姓名", "姓名", "name"),
    "phone": ("手机号", "手机", "phone"),
    "area": ("片区", "area"),
    "entrance": ("单元", "entrance"),
    "floor": ("楼层", "floor"),
    "size": ("面积", "size"),
    "note": ("备注", "note"),
}
REQUIRED = ("building", "unit", "name", "phone")
LONGEST = {"building": 100, "unit": 20, "name": 100, "area": 100, "entrance": 20, "note": 500}
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000


@dataclass(frozen=True)
class Problem:
    row: int | None      # as Excel numbers it (the header is row 1); None: the whole file
    column: str | None   # as the file heads it
    message: Any         # a lazy string, in the reader's language when shown


@dataclass
class OwnerRow:
    row: int
    building: str
    unit: str
    name: str
    phone: str
    area: str | None = None
    entrance: str | None = None
    floor: int | None = None
    size: Decimal | None = None
    note: str | None = None


@dataclass
class OwnerSheet:
    rows: list[OwnerRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_owner_sheet(filename: str, data: bytes) -> OwnerSheet:
    """The rows of an owner sheet and every problem in it (none: it may be imported)."""
    sheet = OwnerSheet()
    if len(data) > MAX_BYTES:
        sheet.problems.append(Problem(None, None, _l(
            "the file is larger than %(size)d MB: split it into several", size=MAX_BYTES >> 20)))
        return sheet
    cells = _cells(filename, data, sheet.problems)
    if cells is None:
        return sheet
    rows = [(number, values) for number, values in cells if any(_blank(v) is False
                                                                for v in values)]
    if not rows:
        sheet.problems.append(Problem(None, None, _l("the sheet is empty")))
        return sheet
    (header_row, header), body = rows[0], rows[1:]
    columns = _columns(header, header_row, sheet.problems)
    if columns is None:
        return sheet
    if not body:
        sheet.problems.append(Problem(None, None, _l("the sheet has its headers but no rows")))
        return sheet
    if len(body) > MAX_ROWS:
        sheet.problems.append(Problem(None, None, _l(
            "the sheet has more than %(count)d rows: split it into several", count=MAX_ROWS)))
        return sheet
    first_seen: dict[tuple[str, str], int] = {}
    for number, values in body:
        row = _row(number, values, columns, sheet.problems)
        if row is None:
            continue
        key = (row.building, row.unit)
        if key in first_seen:
            sheet.problems.append(Problem(number, columns["unit"][1], _l(
                "%(building)s %(unit)s is already in row %(row)d", building=row.building,
                unit=row.unit, row=first_seen[key])))
            continue
        first_seen[key] = number
        sheet.rows.append(row)
    return sheet


# -- the file --------------------------------------------------------------------------------------

def _cells(filename: str, data: bytes, problems: list[Problem]):
    """(row number, values) of the file's first sheet, or None with a problem."""
    name = filename.lower()
    if data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        return _xlsx(data, problems)
    if name.endswith((".csv", ".txt")):
        return _csv(data, problems)
    problems.append(Problem(None, None, _l(
        "is not an Excel workbook (.xlsx) or a CSV file: save it as one of those")))
    return None


def _xlsx(data: bytes, problems: list[Problem]):
    try:
        book = load_workbook(io.BytesIO(data), data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        problems.append(Problem(None, None, _l(
            "cannot be read as an Excel workbook: open it in Excel and save it as .xlsx")))
        return None
    sheet = book.worksheets[0]
    for merged in sheet.merged_cells.ranges:
        problems.append(Problem(merged.min_row, None, _l(
            "cells %(cells)s are merged: unmerge them and fill every row", cells=merged.coord)))
    formulas = [(cell.row, cell.coordinate) for line in sheet.iter_rows() for cell in line
                if cell.data_type == "f"]
    for row, coordinate in formulas[:20]:
        problems.append(Problem(row, None, _l(
            "cell %(cell)s holds a formula: paste its value instead", cell=coordinate)))
    if problems:
        return None
    return [(number, list(values)) for number, values in
            enumerate(sheet.iter_rows(values_only=True), start=1)]


def _csv(data: bytes, problems: list[Problem]):
    """CSV as Excel saves it: UTF-8 (with or without its BOM) or, in Chinese, GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        problems.append(Problem(None, None, _l(
            "is not UTF-8 or GB18030 text: save it from Excel as CSV")))
        return None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return list(enumerate(csv.reader(io.StringIO(text), dialect), start=1))


# -- the columns and the rows ----------------------------------------------------------------------

def _columns(header: list, row: int, problems: list[Problem]) -> dict[str, tuple[int, str]] | None:
    """Each known column's place and heading in the file, or None with a problem."""
    known = {alias.lower(): key for key, aliases in COLUMNS.items() for alias in aliases}
    found: dict[str, tuple[int, str]] = {}
    for index, heading in enumerate(header):
        text = _text(heading)
        key = known.get(re.sub(r"\s+", "", text).lower()) if text else None
        if key is None:
            continue
        if key in found:
            problems.append(Problem(row, text, _l("the column is there twice")))
        found[key] = (index, text)
    missing = [COLUMNS[key][0] for key in REQUIRED if key not in found]
    if missing:
        problems.append(Problem(row, None, _l(
            "the sheet needs the columns %(columns)s (in Chinese or English: %(english)s)",
            columns=", ".join(missing),
            english=", ".join(COLUMNS[k][-1] for k in REQUIRED if k not in found))))
    return None if problems else found


def _row(number: int, values: list, columns: dict[str, tuple[int, str]],
         problems: list[Problem]) -> OwnerRow | None:
    before = len(problems)
    cleaned: dict[str, Any] = {}
    for key, (index, heading) in columns.items():
        value = values[index] if index < len(values) else None
        cleaned[key] = _value(key, value, number, heading, problems)
    return OwnerRow(row=number, **cleaned) if len(problems) == before else None


def _value(key: str, value: Any, row: int, heading: str, problems: list[Problem]) -> Any:
    def refuse(message) -> None:
        problems.append(Problem(row, heading, message))

    if _blank(value):
        if key in REQUIRED:
            refuse(_l("is empty"))
        return None
    if key == "phone":
        number = re.sub(r"[\s-]", "", _text(value)).removeprefix("+86")
        if not MOBILE.fullmatch(number):
            refuse(_l("%(value)s is not a mainland mobile number: 11 digits, like 13800138000",
                      value=_text(value)))
        return number
    if key == "floor":
        floor = _number(_text(value))
        if floor is None or floor != floor.to_integral_value() or not -10 <= floor <= 200:
            refuse(_l("%(value)s is not a floor number", value=_text(value)))
            return None
        return int(floor)
    if key == "size":
        size = _number(_text(value).removesuffix("㎡").removesuffix("m2").strip())
        if size is None or not 0 < size < 100_000:
            refuse(_l("%(value)s is not a floor area in square metres", value=_text(value)))
        return size
    text = _text(value)
    if len(text) > LONGEST[key]:
        refuse(_l("must be at most %(count)d characters", count=LONGEST[key]))
    return text


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    """A cell as typed: a number Excel stored as 13800138000.0 or 1201 reads without its .0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() if value is not None else ""
