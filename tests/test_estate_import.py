"""Bringing in an estate from the office's owner sheet (issue 13, part 3): through the workflow,
the command line, the API and the pages. All or nothing, each problem by row and column; the same
file twice changes nothing; a changed phone or owner changes that one unit, in the audit log; an
export imported again changes nothing.
"""
from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select

from models import Area, AuditEntry, Building, Estate, Role, Unit, User, db
from tests.api import API, token_for
from tests.helpers import OWNER_HEADINGS, csv_of, owner_rows, xlsx_of
from tests.pages import csrf_token, field_html, flashes
from views import estate_files
from workflows import accounts, invitations
from workflows.errors import Conflict, Forbidden, NotFound
from workflows.estate_import import import_owner_sheet

UNITS = 2000


@pytest.fixture(scope="module")
def good_rows() -> list[list]:
    return owner_rows(UNITS)


@pytest.fixture(scope="module")
def good_file(good_rows) -> bytes:
    return xlsx_of(good_rows)


def counts() -> dict[str, int]:
    """How many of each thing the database holds (what a refused import must leave alone)."""
    db.session.expire_all()
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Estate, Area, Building, Unit, User, AuditEntry)}


def snapshot(estate_name: str) -> list[tuple]:
    """Every unit of the estate with its values and its residents as they stand."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Building.name, Unit.number, Unit.entrance, Unit.floor, Unit.size, Unit.note,
               Area.name, User.id, User.name, User.phone, User.active, User.username)
        .join(Unit.building).join(Building.area).join(Estate, Area.estate_id == Estate.id)
        .outerjoin(User, User.unit_id == Unit.id)
        .where(Estate.name == estate_name).order_by(Building.name, Unit.number, User.id))
    return [tuple(row) for row in rows]


def said(report, language: str = "en") -> list[tuple]:
    with force_locale(language):
        return [(p.row, p.column, str(p.message)) for p in report.problems]


def admin(estate) -> User:
    return estate.user("admin")


def resident_of(phone: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.phone == phone))


# -- the workflow ---------------------------------------------------------------------------------

def test_a_sheet_of_2000_units_brings_them_in_with_their_residents(ctx, estate, good_file):
    before = counts()
    report = import_owner_sheet(admin(estate), "Garden", "业主信息表.xlsx", good_file)
    assert report.ok and report.imported, said(report)
    with force_locale("en"):
        assert str(report.summary) == "2,000 rows: 2,000 created, 0 changed, 0 unchanged"
    assert (report.buildings_created, report.units_created, report.residents_created) == (
        20, 2000, 2000)
    after = counts()
    assert after["units"] - before["units"] == 2000 and after["users"] - before["users"] == 2000
    # one audit entry for all that was created
    assert after["audit_log"] - before["audit_log"] == 1
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert (entry.action, entry.subject_type, entry.after["units"], entry.actor_id) == (
        "imported", "estate", 2000, estate.admin)
    # the rows as they were typed, in the areas they name
    unit = db.session.scalar(select(Unit).join(Building).where(Building.name == "12栋",
                                                               Unit.number == "101"))
    assert (unit.area.name, unit.entrance, unit.floor, unit.size) == (
        "West", "1单元", 1, Decimal("89.50"))
    person = resident_of("13700000100")
    assert (person.name, person.role, person.unit_id, person.active) == (
        "业主100", Role.RESIDENT, unit.id, True)
    assert person.username == f"r{unit.estate.id}-13700000100"
    # no password works until they get in with the unit's invitation code
    assert not person.has_usable_password and not person.check_password("")
    assert accounts.authenticate(person.username, person.password_hash) is None
    _, code = invitations.issue_for_unit(admin(estate), unit.id)
    invitations.activate(unit.estate.id, "12栋", "101", "137 0000 0100", code, "owner's secret")
    assert accounts.authenticate(resident_of("13700000100").username, "owner's secret")


def test_the_same_file_again_changes_nothing_and_says_so(ctx, estate, good_file):
    import_owner_sheet(admin(estate), "Garden", "a.xlsx", good_file)
    before, state = counts(), snapshot("Garden")
    again = import_owner_sheet(admin(estate), "Garden", "a.xlsx", good_file)
    with force_locale("en"):
        assert str(again.summary) == "2,000 rows: 0 created, 0 changed, 2,000 unchanged"
    with force_locale("zh_CN"):
        assert str(again.summary) == "共 2,000 行：新建 0，更改 0，未变 2,000"
    assert again.changes == [] and counts() == before and snapshot("Garden") == state


def test_a_changed_phone_updates_that_units_resident_in_the_audit_log(ctx, estate, good_rows):
    import_owner_sheet(admin(estate), "Garden", "a.xlsx", xlsx_of(good_rows))
    person = resident_of("13700000007")
    rows = [list(row) for row in good_rows]
    rows[7][3] = "136 0000 0007"
    last = db.session.scalar(select(func.max(AuditEntry.id)))
    report = import_owner_sheet(admin(estate), "Garden", "b.xlsx", xlsx_of(rows))
    with force_locale("en"):
        assert str(report.summary) == "2,000 rows: 0 created, 1 changed, 1,999 unchanged"
    assert resident_of("13600000007").id == person.id  # the same account, its phone changed
    changed, summary = db.session.scalars(select(AuditEntry).where(AuditEntry.id > last)
                                          .order_by(AuditEntry.id))
    assert (summary.action, summary.after["residents_changed"]) == ("imported", 1)
    entry = changed
    assert (entry.action, entry.subject_type, entry.subject_id, entry.before, entry.after) == (
        "changed", "user", person.id, {"phone": "13700000007"}, {"phone": "13600000007"})
    assert "b.xlsx" in entry.note


def test_a_new_owner_moves_the_old_one_out(ctx, estate, good_rows):
    import_owner_sheet(admin(estate), "Garden", "a.xlsx", xlsx_of(good_rows))
    old = resident_of("13700000009")
    rows = [list(row) for row in good_rows]
    rows[9][2:4] = ["新业主", "13500000009"]
    report = import_owner_sheet(admin(estate), "Garden", "b.xlsx", xlsx_of(rows))
    assert (report.residents_created, report.moved_out, report.rows_created) == (1, 1, 1)
    assert resident_of("13700000009").active is False
    assert resident_of("13500000009").unit_id == old.unit_id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.subject_id == old.id,
                                                       AuditEntry.subject_type == "user"))
    assert (entry.action, entry.before, entry.after) == (
        "moved out", {"active": True}, {"active": False})


def test_several_residents_of_one_unit_and_a_move_within_the_estate(ctx, estate):
    rows = [["1栋", "101", "Resident", "13800000101", None, None, None, None, None],
            ["1栋", "101", "家属", "13800009999", None, None, None, None, None],
            ["1栋", "102", "Neighbour", "13800000102", None, None, None, None, None]]
    report = import_owner_sheet(admin(estate), "Garden", "a.csv", csv_of(rows))
    # the test estate's residents, phones typed with spaces, are the same people
    assert (report.residents_created, report.residents_changed) == (1, 0), report.changes
    # the neighbour moves into 1栋 101; 1栋 102 is listed with nobody
    rows[2][1] = "101"
    rows.append(["1栋", "102", None, None, None, None, None, None, None])
    report = import_owner_sheet(admin(estate), "Garden", "b.csv", csv_of(rows))
    assert report.ok, said(report)
    assert [(c.action, c.after) for c in report.changes] == [
        ("moved", {"unit_id": estate.unit_a})]
    assert estate.user("neighbour").unit_id == estate.unit_a


def _bad(rows):
    return [OWNER_HEADINGS + ["项目"]] + rows


BAD_CASES = {
    "missing unit": (["2栋", "", "王芳", "13800138000", "East", None, None, None, None, None],
                     (2, "房号", "is empty")),
    "bad phone": (["2栋", "201", "王芳", "1380013", "East", None, None, None, None, None],
                  (2, "手机号", "1380013 is not a mainland mobile number: 11 digits, like "
                                "13800138000")),
    "a building of another estate": (
        ["2栋", "201", "王芳", "13800138000", "East", None, None, None, None, "翠湖苑"],
        (2, "项目", "the row is of the estate 翠湖苑, not of Garden: import it there")),
    "an area that does not exist": (
        ["2栋", "201", "王芳", "13800138000", "North", None, None, None, None, None],
        (2, "片区", "the estate has no area North; its areas are East, West")),
    "no area for a new building": (
        ["2栋", "201", "王芳", "13800138000", None, None, None, None, None, None],
        (2, "楼栋", "say which area 2栋 is in: the estate has East, West")),
    "a building in another area": (
        ["1栋", "201", "王芳", "13800138000", "West", None, None, None, None, None],
        (2, "片区", "1栋 is in area East, not West: an import does not move buildings")),
    "a phone already taken": (
        ["2栋", "201", "王芳", "139 0000 0401", "East", None, None, None, None, None],
        (2, "手机号", "13900000401 is the phone of West_Resident of 4栋 101, which the file "
                      "does not list: list that unit too (without them), or give another "
                      "phone")),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_a_bad_row_imports_nothing_and_names_row_and_column(ctx, estate, case):
    bad, expected = BAD_CASES[case]
    good = ["3栋", "301", "李雷", "13900001111", "East", None, None, None, None, None]
    before = counts()
    report = import_owner_sheet(admin(estate), "Garden", "a.xlsx", xlsx_of(_bad([bad, good]),
                                                                            headings=None))
    assert said(report) == [expected]
    assert not report.imported and counts() == before


def test_a_unit_twice_and_a_phone_twice_in_the_file(ctx, estate):
    rows = [["2栋", "201", "王芳", "13800138000", "East", None, 2, None, None],
            ["2栋", "201", "王芳", "13800138000", "East", None, 2, None, None],
            ["2栋", "202", "李雷", "13800138000", "East", None, 2, None, None],
            ["2栋", "201", "韩梅", "13900001111", "East", None, 3, None, None]]
    report = import_owner_sheet(admin(estate), "Garden", "a.csv", csv_of(rows))
    assert said(report) == [
        (3, "房号", "2栋 201 is already in row 2"),
        (4, "手机号", "13800138000 is already the phone of row 2 (2栋 201): a resident is "
                      "listed once, in one unit"),
        (5, "楼层", "row 2 gives 2栋 201 as 2")]
    assert said(report, "zh_CN")[0][2] == "2栋 201 已在第 2 行出现"


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_a_csv_as_excel_saves_it_imports_as_the_workbook_does(ctx, estate, encoding):
    rows = owner_rows(50)
    import_owner_sheet(admin(estate), "Garden", "a.csv", csv_of(rows, encoding=encoding))
    state = snapshot("Garden")
    again = import_owner_sheet(admin(estate), "Garden", "a.xlsx", xlsx_of(rows))
    assert again.rows_unchanged == 50 and snapshot("Garden") == state
    assert ("11栋", "101", "1单元", 1, Decimal("89.50"), None, "East") in [s[:7] for s in state]


def test_a_dry_run_writes_nothing_and_plans_what_the_import_does(ctx, estate, good_file):
    before = counts()
    preview = import_owner_sheet(admin(estate), "Garden", "a.xlsx", good_file, dry_run=True)
    assert preview.ok and not preview.imported and counts() == before
    done = import_owner_sheet(admin(estate), "Garden", "a.xlsx", good_file,
                              expect=preview.digest)
    assert done.imported and done.digest == preview.digest
    assert done.counts() == preview.counts()


def test_an_import_refuses_when_the_estate_changed_since_its_preview(ctx, estate):
    data = xlsx_of(owner_rows(10))
    preview = import_owner_sheet(admin(estate), "Garden", "a.xlsx", data, dry_run=True)
    import_owner_sheet(admin(estate), "Garden", "b.xlsx", xlsx_of(owner_rows(1)))
    before = counts()
    with pytest.raises(Conflict):
        import_owner_sheet(admin(estate), "Garden", "a.xlsx", data, expect=preview.digest)
    assert counts() == before


def test_a_new_estate_gets_the_areas_the_file_names_or_one_of_its_name(ctx, estate):
    rows = owner_rows(8, per_building=4, areas=("东区", "西区"))
    with pytest.raises(NotFound):
        import_owner_sheet(admin(estate), "翠湖苑", "a.xlsx", xlsx_of(rows))
    report = import_owner_sheet(admin(estate), "翠湖苑", "a.xlsx", xlsx_of(rows), create=True)
    assert report.estate_created and report.areas_created == ["东区", "西区"]
    for row in rows:
        row[4] = None
        row[3] = "135" + row[3][3:]
    report = import_owner_sheet(admin(estate), "新苑", "b.xlsx", xlsx_of(rows), create=True)
    assert report.areas_created == ["新苑"]


def test_only_the_admin_and_supervisors_bring_in_an_estate(ctx, estate, good_file):
    with pytest.raises(Forbidden):
        import_owner_sheet(estate.user("butler"), "Garden", "a.xlsx", good_file)
    assert import_owner_sheet(estate.user("supervisor"), "Garden", "a.xlsx",
                              xlsx_of(owner_rows(3))).imported


def test_an_export_imported_again_changes_nothing(ctx, estate, good_rows):
    rows = [list(row) for row in good_rows[:300]]
    rows[0][8], rows[1][7] = "=cheeky", 101.256  # a note like a formula, an area to round
    assert import_owner_sheet(admin(estate), "Garden", "a.csv", csv_of(rows)).imported
    state = snapshot("Garden")
    for fmt in ("xlsx", "csv"):
        for language in ("zh", "en"):
            made = estate_files.export(admin(estate), db.session.scalar(
                select(Estate.id).where(Estate.name == "Garden")), fmt, language)
            again = import_owner_sheet(admin(estate), None, made.filename, made.body)
            assert again.ok, said(again)
            assert (again.rows_created, again.rows_changed) == (0, 0), (fmt, again.changes)
            assert snapshot("Garden") == state
    # the test estate's own units (one with nobody in it) came along too
    assert again.rows == 300 + 3


def test_the_template_reads_as_an_owner_sheet(ctx, estate):
    for language in ("zh", "en"):
        made = estate_files.template(language)
        book = load_workbook(io.BytesIO(made.body))
        assert len(book.worksheets) == 2  # the rows, and what each column takes
        report = import_owner_sheet(admin(estate), "Garden", made.filename, made.body,
                                    dry_run=True)
        assert said(report) == [(2, "片区" if language == "zh" else "area",
                                 "1栋 is in area East, not 东区: an import does not move "
                                 "buildings")]


# -- files that are not owner sheets --------------------------------------------------------------

def _zip_bomb() -> bytes:
    """An xlsx whose parts unpack to 81 MB (of zeros) from a few hundred kilobytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_of(owner_rows(2)))) as real, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for part in real.infolist():
            bomb.writestr(part, real.read(part))
        bomb.writestr("xl/media/padding.bin", bytes(81 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("owners.pdf", b"%PDF-1.4", "is not an Excel workbook (.xlsx) or a CSV file"),
    ("owners.csv", b"", "the sheet is empty"),
    ("owners.csv", "楼栋,房号,业主姓名,手机号\r\n".encode(),
     "the sheet has its headers but no rows"),
    ("bomb.xlsx", None, "the workbook unpacks to more than 80 MB"),
    ("far.xlsx", "far", "the sheet has more than 50000 rows"),
])
def test_a_file_that_is_not_an_owner_sheet_is_refused_saying_why(ctx, estate, name, data,
                                                                  message):
    if data is None:
        data = _zip_bomb()
    elif data == "far":
        data = xlsx_of(owner_rows(2), build=lambda sheet: sheet.cell(1_048_576, 1, "x"))
    report = import_owner_sheet(admin(estate), "Garden", name, data)
    [problem] = said(report)
    assert problem[2].startswith(message)


def test_a_cell_far_to_the_right_is_refused_before_it_is_walked(ctx, estate):
    data = xlsx_of(owner_rows(2), build=lambda sheet: sheet.cell(1, 16_384, "x"))
    [(_row, _column, message)] = said(import_owner_sheet(admin(estate), "Garden", "a.xlsx", data))
    assert message.startswith("the sheet has cells in 16384 columns (at most 50)")


# -- the property: importing twice is importing once ----------------------------------------------

phones = st.integers(0, 99).map(lambda n: f"1360000{n:04d}")
one_row = st.tuples(st.sampled_from(["1栋", "7栋", "8栋"]), st.sampled_from(["101", "102", "201"]),
                    st.sampled_from(["王芳", "李雷", "韩梅"]), phones,
                    st.sampled_from([None, 3, -1]), st.sampled_from([None, "89.5", "120"]))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=st.lists(one_row, min_size=1, max_size=12),
       second=st.lists(one_row, min_size=1, max_size=12))
def test_any_valid_sheet_imported_twice_leaves_what_importing_it_once_does(ctx, estate, first,
                                                                           second):
    def sheet(rows):
        # keep the rows a valid sheet can hold: one row per resident and per phone
        seen_units, seen_phones, kept = {}, set(), []
        for building, unit, name, phone, floor, size in rows:
            if phone in seen_phones:
                continue
            floor, size = seen_units.setdefault((building, unit), (floor, size))
            seen_phones.add(phone)
            kept.append([building, unit, name, phone, "East" if building != "7栋" else "West",
                         None, floor, size, None])
        return xlsx_of(kept)

    db.session.rollback()
    name = f"H{db.session.scalar(select(func.count()).select_from(Estate))}"
    for rows in (first, second):  # any estate's state, then any file on it
        data, before = sheet(rows), snapshot(name)
        report = import_owner_sheet(admin(estate), name, "h.xlsx", data, create=True)
        if not report.ok:  # a phone the file gives someone else than the estate does
            assert rows is second and snapshot(name) == before
            continue
        once, entries = snapshot(name), counts()["audit_log"]
        again = import_owner_sheet(admin(estate), name, "h.xlsx", data)
        assert (again.rows_created, again.rows_changed) == (0, 0)
        assert snapshot(name) == once and counts()["audit_log"] == entries


# -- the command line -----------------------------------------------------------------------------

def test_the_command_line_imports_says_what_it_did_and_exports(app, runner, estate, tmp_path):
    sheet = tmp_path / "owners.xlsx"
    sheet.write_bytes(xlsx_of(owner_rows(40, areas=("东区",))))
    dry = runner.invoke(args=["import-estate", str(sheet), "--estate", "翠湖苑", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Estate '翠湖苑' would be created." in dry.output
    assert "Dry run, nothing written: 40 rows: 40 created, 0 changed, 0 unchanged" in dry.output
    done = runner.invoke(args=["import-estate", str(sheet), "--estate", "翠湖苑"])
    assert "Estate '翠湖苑' created." in done.output and done.exit_code == 0
    again = runner.invoke(args=["import-estate", str(sheet)])  # the estate: not the only one
    assert again.exit_code == 1 and "say which estate the file is for" in again.output
    exported = tmp_path / "out.csv"
    out = runner.invoke(args=["export-estate", "翠湖苑", str(exported), "--language", "en"])
    assert out.exit_code == 0, out.output
    assert exported.read_bytes().decode("utf-8-sig").startswith(
        "building,unit,name,phone,area,entrance,floor,size,note,estate\r\n")
    back = runner.invoke(args=["import-estate", str(exported)])  # its 项目 column says where
    assert "翠湖苑: 40 rows: 0 created, 0 changed, 40 unchanged" in back.output


def test_the_command_line_lists_every_problem_and_exits_with_1(app, runner, estate, tmp_path):
    rows = owner_rows(3)
    rows[1][3] = "12345"
    rows[2][1] = None
    sheet = tmp_path / "bad.csv"
    sheet.write_bytes(csv_of(rows, encoding="gb18030"))
    with app.app_context():
        before = counts()
    result = runner.invoke(args=["import-estate", str(sheet), "--estate", "Garden"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "bad.csv: 2 problem(s); nothing was imported.",
        "  row 3, 手机号: 12345 is not a mainland mobile number: 11 digits, like 13800138000",
        "  row 4, 房号: is empty"]
    with app.app_context():
        assert counts() == before


# -- the API --------------------------------------------------------------------------------------

def _upload(client, who, data, name="owners.xlsx", estate_id=1, **form):
    return client.post(f"{API}/estates/{estate_id}/import", headers=token_for(client, who),
                       data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def test_the_api_imports_a_sheet_after_a_dry_run(client, app, estate):
    data = xlsx_of(owner_rows(30))
    dry = _upload(client, "admin", data, dry_run="true")
    assert dry.status_code == 200, dry.json
    assert (dry.json["dry_run"], dry.json["imported"], dry.json["counts"]["units_created"]) == (
        True, False, 30)
    done = _upload(client, "supervisor", data)
    assert done.json["imported"] and done.json["digest"] == dry.json["digest"]
    again = _upload(client, "admin", data)
    assert again.json["summary"] == "30 rows: 0 created, 0 changed, 30 unchanged"
    exported = client.get(f"{API}/estates/1/export?format=csv&language=en",
                          headers=token_for(client, "admin"))
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "11栋,101,业主0,13700000000,East,1单元,1,89.50,,Garden" in \
        exported.get_data().decode("utf-8-sig")


def test_the_api_refuses_a_bad_sheet_naming_rows_and_columns(client, app, estate):
    rows = owner_rows(3)
    rows[2][3] = "12345"
    reply = _upload(client, "admin", xlsx_of(rows))
    assert reply.status_code == 422
    error = reply.json["error"]
    assert error["problems"] == [{"row": 4, "column": "手机号", "message":
                                  "12345 is not a mainland mobile number: 11 digits, like "
                                  "13800138000"}]
    assert error["fields"]["file"].startswith("row 4, 手机号: 12345 is not")
    assert _upload(client, "admin", b"%PDF-1.4", "a.pdf").json["error"]["problems"][0][
        "message"].startswith("is not an Excel workbook")


@pytest.mark.parametrize("who, kwargs, status, field", [
    ("butler", {}, 403, None),
    ("admin", {"estate_id": 999}, 404, None),
    ("admin", {"estate_id": 2**70}, 404, None),  # no id a row could have
    ("admin", {"dry_run": "perhaps"}, 422, "dry_run"),
])
def test_the_api_says_who_may_import_where(client, app, estate, who, kwargs, status, field):
    reply = _upload(client, who, xlsx_of(owner_rows(2)), **kwargs)
    assert reply.status_code == status, reply.json
    if field:
        assert field in reply.json["error"]["fields"]
    no_file = client.post(f"{API}/estates/1/import", headers=token_for(client, "admin"),
                          data={}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and "file" in no_file.json["error"]["fields"]
    far = client.get(f"{API}/estates/{2**70}/export", headers=token_for(client, "admin"))
    assert far.status_code == 404
    bad = client.get(f"{API}/estates/1/export?format=pdf", headers=token_for(client, "admin"))
    assert bad.status_code == 422 and "format" in bad.json["error"]["fields"]


# -- the pages ------------------------------------------------------------------------------------

def _preview(client, data, name="owners.xlsx", **form):
    page = client.get("/estates/import")
    assert page.status_code == 200
    return client.post("/estates/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page.text), "sheet": (io.BytesIO(data), name),
        "estate_id": "1", **form})


def _reference(html: str) -> str:
    found = re.search(r'action="/estates/import/([0-9a-f]{32})"', html)
    assert found, "no Import button on the preview"
    return found.group(1)


def test_upload_preview_import_on_the_pages(browser, app, estate):
    client = browser("admin")
    assert 'href="/estates/import"' in client.get("/estates/import").text  # in the nav
    preview = _preview(client, xlsx_of(owner_rows(25)))
    assert preview.status_code == 200
    assert "25 rows: 25 created, 0 changed, 0 unchanged" in preview.text
    reference = _reference(preview.text)
    with app.app_context():
        before = counts()
    done = client.post(f"/estates/import/{reference}",
                       data={"csrf_token": csrf_token(preview.text)})
    assert done.status_code == 302
    assert flashes(client.get(done.location).text, "success") == [
        "Garden imported: 25 rows: 25 created, 0 changed, 0 unchanged."]
    with app.app_context():
        assert counts()["units"] == before["units"] + 25
    # the reference is used up
    assert client.post(f"/estates/import/{reference}",
                       data={"csrf_token": csrf_token(preview.text)}).status_code == 404


def test_the_preview_lists_every_problem_by_row_and_column_in_chinese(browser, app, estate):
    client = browser("supervisor", language="zh")
    rows = owner_rows(4, per_building=2)
    rows[1][3] = "12345"
    rows[2][4] = rows[3][4] = "北区"  # 12栋
    reply = _preview(client, xlsx_of(rows))
    assert reply.status_code == 422
    assert "第 3 行</strong> · 手机号：12345 不是大陆手机号" in reply.text
    assert "第 4 行</strong> · 片区：本项目没有片区“北区”；现有片区：East, West" in reply.text
    assert "文件有问题" in field_html(reply.text, "sheet")
    assert "estates/import/" not in reply.text.split('id="report"')[1]  # nothing to import
    assert 'class="error-summary"' in reply.text


def test_a_preview_asks_for_the_estate_and_the_file(browser, app, estate):
    client = browser("admin")
    page = client.get("/estates/import")
    reply = client.post("/estates/import", content_type="multipart/form-data",
                        data={"csrf_token": csrf_token(page.text), "estate_id": ""})
    assert reply.status_code == 422
    assert "Choose the estate, or name a new one." in field_html(reply.text, "estate_id")
    assert "Choose the owner sheet to import" in field_html(reply.text, "sheet")


def test_an_import_of_a_preview_the_estate_outran_is_refused_with_a_new_preview(
        browser, app, estate):
    client = browser("admin")
    preview = _preview(client, xlsx_of(owner_rows(5)))
    reference = _reference(preview.text)
    with app.app_context():
        import_owner_sheet(None, "Garden", "other.xlsx", xlsx_of(owner_rows(2)))
        before = counts()
    reply = client.post(f"/estates/import/{reference}",
                        data={"csrf_token": csrf_token(preview.text)})
    assert reply.status_code == 409
    assert flashes(reply.text, "error") == [
        "the estate changed since the preview: preview the file again"]
    assert "5 rows: 3 created, 0 changed, 2 unchanged" in reply.text
    assert _reference(reply.text) != reference
    with app.app_context():
        assert counts() == before


def test_someone_elses_preview_is_not_found(browser, app, estate):
    preview = _preview(browser("admin"), xlsx_of(owner_rows(2)))
    other = browser("supervisor")
    token = csrf_token(other.get("/estates/import").text)
    reply = other.post(f"/estates/import/{_reference(preview.text)}", data={"csrf_token": token})
    assert reply.status_code == 404


def test_a_new_estate_from_the_page_and_its_downloads(browser, app, estate):
    client = browser("admin")
    preview = _preview(client, xlsx_of(owner_rows(3, areas=("东区",))), estate_id="",
                       new_estate="翠湖苑")
    assert "The estate 翠湖苑 is created." in preview.text
    client.post(f"/estates/import/{_reference(preview.text)}",
                data={"csrf_token": csrf_token(preview.text)})
    page = client.get("/estates/import").text
    link = re.search(r'href="(/estates/(\d+)/export\.xlsx)"', page.split("翠湖苑:")[1]).group(1)
    exported = client.get(link)
    assert exported.status_code == 200
    assert "filename*=UTF-8''%E7%BF%A0" in exported.headers["Content-Disposition"]
    template = client.get("/estates/template.xlsx?language=en")
    assert load_workbook(io.BytesIO(template.data)).active["A1"].value == "building"
