"""Reading an owner sheet (业主信息表) as an office keeps it: xlsx or CSV (UTF-8 with or without its
BOM, GB18030), Chinese or English headings; every problem named by row and column, so nothing
is imported from a file with any.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale

from tests.helpers import xlsx_of
from workflows.sheets import MAX_BYTES, read_owner_sheet

CHINESE = ["楼栋", "房号", "业主姓名", "手机号", "片区", "单元", "楼层", "面积", "备注"]
ROWS = [["1栋", "1201", "王芳", "138 0013 8000", "东区", "1单元", 12, 89.5, "业主"],
        ["1栋", "1202", "李雷", "13900001111", "东区", "1单元", 12, 90, None]]


def xlsx(rows: list[list], build=None) -> bytes:
    return xlsx_of(rows, headings=None, build=build)


def csv_text(rows: list[list]) -> str:
    return "\r\n".join(",".join("" if v is None else str(v) for v in row) for row in rows)


def said(sheet, language: str = "en") -> list[tuple]:
    with force_locale(language):
        return [(p.row, p.column, str(p.message)) for p in sheet.problems]


def test_an_xlsx_with_chinese_headings_reads_every_row(ctx):
    sheet = read_owner_sheet("业主信息表.xlsx", xlsx([CHINESE, *ROWS]))
    assert sheet.ok, said(sheet)
    first, second = sheet.rows
    assert (first.row, first.building, first.unit, first.name, first.phone, first.area,
            first.entrance, first.floor, first.size, first.note) == (
        2, "1栋", "1201", "王芳", "13800138000", "东区", "1单元", 12, Decimal("89.5"), "业主")
    assert (second.row, second.note, second.size) == (3, None, Decimal("90"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_saved_by_excel_in_any_of_its_encodings_reads_the_same(ctx, encoding):
    data = csv_text([CHINESE, *ROWS]).encode(encoding)
    sheet = read_owner_sheet("owners.csv", data)
    assert sheet.ok, said(sheet)
    assert [(r.building, r.unit, r.name, r.phone) for r in sheet.rows] == [
        ("1栋", "1201", "王芳", "13800138000"), ("1栋", "1202", "李雷", "13900001111")]


def test_english_headings_in_any_order_and_only_the_required_ones(ctx):
    data = csv_text([["Phone", "Name", "Unit", "Building"],
                     ["13800138000", "Wang Fang", "1201", "1"]]).encode()
    [row] = read_owner_sheet("owners.csv", data).rows
    assert (row.building, row.unit, row.name, row.phone, row.area) == (
        "1", "1201", "Wang Fang", "13800138000", None)


def test_a_phone_excel_stored_as_a_number_reads_as_typed(ctx):
    sheet = read_owner_sheet("a.xlsx", xlsx([CHINESE[:4], ["2栋", 301, "赵丽", 13800138000]]))
    assert [(r.unit, r.phone) for r in sheet.rows] == [("301", "13800138000")]


def test_every_bad_row_is_named_by_row_and_column_and_nothing_is_taken(ctx):
    rows = [CHINESE,
            ["1栋", "", "王芳", "13800138000", "东区", None, 12, 80, None],   # row 2: no unit
            ["1栋", "1202", "李雷", "12345", "东区", None, 12, 80, None],     # row 3: phone
            ["1栋", "1203", "韩梅", "13900001111", "东区", None, "十二", 80, None],  # row 4
            ["1栋", "1203", "韩梅", "13900002222", "东区", None, 12, -3, None],  # 5: twice, size
            ["1栋", "1204", "", "13900003333", "东区", None, 12, 80, None]]   # row 6: no name
    sheet = read_owner_sheet("owners.xlsx", xlsx(rows))
    assert not sheet.ok
    assert said(sheet) == [
        (2, "房号", "is empty"),
        (3, "手机号", "12345 is not a mainland mobile number: 11 digits, like 13800138000"),
        (4, "楼层", "十二 is not a floor number"),
        (5, "面积", "-3 is not a floor area in square metres"),
        (6, "业主姓名", "is empty")]
    assert [row for _r, _c, row in said(sheet, "zh_CN")][0] == "为空"


def test_a_unit_twice_in_the_file_names_the_first_row(ctx):
    sheet = read_owner_sheet("owners.csv", csv_text([CHINESE[:4], ROWS[0][:4], ROWS[1][:4],
                                                     ROWS[0][:4]]).encode())
    assert said(sheet) == [(4, "房号", "1栋 1201 is already in row 2")]


@pytest.mark.parametrize("name, data, message", [
    ("owners.pdf", b"%PDF-1.4", "is not an Excel workbook (.xlsx) or a CSV file"),
    ("owners.xlsx", b"PK\x03\x04 not really a zip", "cannot be read as an Excel workbook"),
    ("owners.csv", b"", "the sheet is empty"),
    ("owners.csv", b"\r\n,,\r\n", "the sheet is empty"),
    ("owners.csv", "楼栋,房号,业主姓名,手机号\r\n".encode(),
     "the sheet has its headers but no rows"),
    ("owners.csv", "楼栋,房号,电话\r\n1栋,101,138\r\n".encode(),
     "the sheet needs the columns 业主姓名, 手机号 (in Chinese or English: name, phone)"),
    ("owners.csv", b"\xff\xfe\x00\x00" + "楼栋".encode("utf-32-le"),
     "is not UTF-8 or GB18030 text"),
    ("owners.csv", b"x" * (MAX_BYTES + 1), "the file is larger than 10 MB"),
])
def test_a_file_that_is_not_an_owner_sheet_says_why(ctx, name, data, message):
    sheet = read_owner_sheet(name, data)
    assert sheet.rows == [] and len(sheet.problems) == 1
    problem = sheet.problems[0]
    with force_locale("en"):
        assert str(problem.message).startswith(message)


def test_merged_cells_and_formulas_are_refused_naming_the_cells(ctx):
    def merge_and_sum(sheet):
        sheet.merge_cells("A2:A3")
        sheet["H3"] = "=H2*2"

    sheet = read_owner_sheet("owners.xlsx", xlsx([CHINESE, *ROWS], merge_and_sum))
    assert said(sheet) == [(2, None, "cells A2:A3 are merged: unmerge them and fill every row"),
                           (3, None, "cell H3 holds a formula: paste its value instead")]
    assert sheet.rows == []
