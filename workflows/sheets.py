"""Reading an estate's owner sheet (业主信息表): buildings, units and their residents, from the
xlsx or CSV a property office keeps, checked row by row before anything is imported.

`read_owner_sheet` turns a file into rows and problems. A problem names the row (as Excel numbers
it) and the column (as the file heads it) and says what is wrong, in the reader's language, so
the office can put the file right; one problem with the file as a whole (not a sheet, no header,
a formula) has no row. The import itself (workflows.estate_import: estate + building + unit
as the key, a resident by phone) takes the rows only when there is no problem at all: all or
nothing.

One row is one resident of a unit: a unit where several people live (owner, family, tenant) has
a row for each, and those rows must not contradict each other about the unit (its area,
entrance, floor, size, note: a blank says nothing). A row with neither name nor phone is a unit
with nobody listed on it (a vacant one). A phone is one resident's, so it is on one row only.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
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
    "estate": ("项目", "小区", "estate"),
}
REQUIRED = ("building", "unit", "name", "phone")
# The template's example row, by column (the estate left blank: the template is any estate's).
EXAMPLE = {"building": "1栋", "unit": "1201", "name": "王芳", "phone": "13800138000",
           "area": "东区", "entrance": "1单元", "floor": 12, "size": Decimal("89.50"),
           "note": "业主", "estate": None}
# What a row says of its unit rather than of its resident.
UNIT_COLUMNS = ("area", "entrance", "floor", "size", "note", "estate")
LONGEST = {"building": 100, "unit": 20, "name": 100, "area": 100, "entrance": 20, "note": 500,
           "estate": 100}
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 50
# What a workbook may unpack to: 50,000 rows of an owner sheet take about a third of it, and a
# "zip bomb" (a small file that unpacks to gigabytes) is refused before anything is unpacked.
MAX_UNPACKED = 80 * 1024 * 1024
HUNDREDTH = Decimal("0.01")


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
    name: str | None    # None with the phone: nobody is listed on this row
    phone: str | None
    area: str | None = None
    entrance: str | None = None
    floor: int | None = None
    size: Decimal | None = None
    note: str | None = None
    estate: str | None = None


@dataclass
class OwnerSheet:
    rows: list[OwnerRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    headings: dict[str, str] = field(default_factory=dict)  # each column found, as headed

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
    sheet.headings = {key: heading for key, (_index, heading) in columns.items()}
    if not body:
        sheet.problems.append(Problem(None, None, _l("the sheet has its headers but no rows")))
        return sheet
    if len(body) > MAX_ROWS:
        sheet.problems.append(Problem(None, None, _l(
            "the sheet has more than %(count)d rows: split it into several", count=MAX_ROWS)))
        return sheet
    seen = _Seen(columns, sheet.problems)
    for number, values in body:
        row = _row(number, values, columns, sheet.problems)
        if row is not None and seen.agrees(row):
            sheet.rows.append(row)
    return sheet


class _Seen:
    """The rows read so far, to find what a row repeats or contradicts: the same resident of a
    unit twice, a phone on two rows, a unit said to be on another floor than before."""

    def __init__(self, columns: dict[str, tuple[int, str]], problems: list[Problem]):
        self.columns, self.problems = columns, problems
        self.residents: dict[tuple[str, str, str | None], int] = {}
        self.phones: dict[str, OwnerRow] = {}
        self.units: dict[tuple[str, str], dict[str, tuple[Any, int]]] = {}

    def agrees(self, row: OwnerRow) -> bool:
        before = len(self.problems)
        resident = (row.building, row.unit, row.phone)
        if resident in self.residents:
            self._refuse(row, "unit", _l("%(building)s %(unit)s is already in row %(row)d",
                                         building=row.building, unit=row.unit,
                                         row=self.residents[resident]))
            return False
        other = self.phones.get(row.phone) if row.phone else None
        if other is not None:
            self._refuse(row, "phone", _l(
                "%(phone)s is already the phone of row %(row)d (%(building)s %(unit)s): a "
                "resident is listed once, in one unit", phone=row.phone, row=other.row,
                building=other.building, unit=other.unit))
        said = self.units.setdefault((row.building, row.unit), {})
        for key in UNIT_COLUMNS:
            value = getattr(row, key)
            if value is None:
                continue
            if key in said and said[key][0] != value:
                self._refuse(row, key, _l(
                    "row %(row)d gives %(building)s %(unit)s as %(value)s", row=said[key][1],
                    building=row.building, unit=row.unit, value=str(said[key][0])))
            said.setdefault(key, (value, row.row))
        if len(self.problems) > before:
            return False
        self.residents[resident] = row.row
        if row.phone:
            self.phones[row.phone] = row
        return True

    def _refuse(self, row: OwnerRow, key: str, message) -> None:
        self.problems.append(Problem(row.row, self.columns[key][1], message))


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
    unreadable = Problem(None, None, _l(
        "cannot be read as an Excel workbook: open it in Excel and save it as .xlsx"))
    try:
        # What each part unpacks to, as the archive declares it: zipfile never unpacks more.
        unpacked = sum(part.file_size for part in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        problems.append(unreadable)
        return None
    if unpacked > MAX_UNPACKED:
        problems.append(Problem(None, None, _l(
            "the workbook unpacks to more than %(size)d MB: it is not an owner sheet, or split it "
            "into several", size=MAX_UNPACKED >> 20)))
        return None
    try:
        book = load_workbook(io.BytesIO(data), data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        problems.append(unreadable)
        return None
    sheet = book.worksheets[0]
    # Rows and columns are walked cell by cell: a sheet with one cell far out (XFD1048576)
    # would be billions of them.
    if sheet.max_column > MAX_COLUMNS:
        problems.append(Problem(None, None, _l(
            "the sheet has cells in %(count)d columns (at most %(most)d): delete the columns "
            "on the right of the table", count=sheet.max_column, most=MAX_COLUMNS)))
    if sheet.max_row > MAX_ROWS + 1:
        problems.append(Problem(None, None, _l(
            "the sheet has more than %(count)d rows: split it into several", count=MAX_ROWS)))
    if problems:
        return None
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
    return [(number, [_unquoted(cell) for cell in cells])
            for number, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1)]


def _unquoted(cell: str) -> str:
    """A cell as it was meant: an apostrophe before =, +, - or @ is how a CSV (ButlerDesk's own
    exports among them) keeps a spreadsheet from taking text for a formula."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@") else cell


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
    def cell(key: str) -> Any:
        index = columns[key][0]
        return values[index] if index < len(values) else None

    before = len(problems)
    nobody = _blank(cell("name")) and _blank(cell("phone"))
    cleaned = {key: _value(key, cell(key), number, heading, problems, nobody)
               for key, (_index, heading) in columns.items()}
    return OwnerRow(row=number, **cleaned) if len(problems) == before else None


def _value(key: str, value: Any, row: int, heading: str, problems: list[Problem],
           nobody: bool) -> Any:
    """The cell of column `key`, read; `nobody`: the row leaves both name and phone blank."""
    def refuse(message) -> None:
        problems.append(Problem(row, heading, message))

    if _blank(value):
        if key in REQUIRED and not (key in ("name", "phone") and nobody):
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
            return None
        return size.quantize(HUNDREDTH, ROUND_HALF_UP)  # as the unit keeps it
    text = _text(value)
    if len(text) > LONGEST[key]:
        refuse(_l("must be at most %(count)d characters", count=LONGEST[key]))
    return text


def read_value(key: str, value: Any) -> tuple[Any, Any]:
    """One value as column `key` reads it, outside a file (a unit typed on a page or sent to the
    API): (the clean value, None) or (None, what is wrong with it)."""
    problems: list[Problem] = []
    clean = _value(key, value, 0, key, problems, nobody=False)
    return (None, problems[0].message) if problems else (clean, None)


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
