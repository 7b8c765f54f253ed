"""Reading the database back in workflow tests, and checking that a refusal changed nothing."""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from models import Deadline, Deduction, Event, Notice, NoticeStatus, Ticket, db


def fresh(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def all_deadlines(ticket_id: int, name: str) -> list[Deadline]:
    """Every arming of `name` on the ticket, in order."""
    db.session.expire_all()
    return list(db.session.scalars(
        select(Deadline).where(Deadline.ticket_id == ticket_id, Deadline.name == name)
        .order_by(Deadline.seq)))


def deadline(ticket_id: int, name: str) -> Deadline | None:
    """The latest arming of `name` on the ticket."""
    rows = all_deadlines(ticket_id, name)
    return rows[-1] if rows else None


def deductions(ticket_id: int | None = None) -> list[Deduction]:
    query = select(Deduction).order_by(Deduction.missed_at, Deduction.id)
    if ticket_id is not None:
        query = query.where(Deduction.ticket_id == ticket_id)
    db.session.expire_all()
    return list(db.session.scalars(query))


def events(ticket_id: int) -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(Event).where(Event.ticket_id == ticket_id).order_by(Event.at, Event.id)))


def told(ticket_id: int | None = None, channel: str = "inapp") -> list[tuple[str, int | None]]:
    """Who was told what, as (the cause's key without person and channel, person), in order."""
    query = select(Notice).where(Notice.channel == channel).order_by(Notice.id)
    if ticket_id is not None:
        query = query.where(Notice.ticket_id == ticket_id)
    db.session.expire_all()
    return [(n.key.rsplit(":", 2)[0], n.user_id) for n in db.session.scalars(query)]


def snapshot(ticket_id: int) -> tuple:
    """Everything a refusal must leave as it was."""
    ticket = fresh(ticket_id)
    rows = db.session.scalars(
        select(Deadline).where(Deadline.ticket_id == ticket_id).order_by(Deadline.id))
    return (
        ticket.state, ticket.version, ticket.assignee_id, ticket.technician_id, ticket.rating,
        db.session.scalar(select(func.count()).select_from(Event)),
        db.session.scalar(select(func.count()).select_from(Deduction)),
        tuple((d.name, d.seq, d.status, d.due_at, d.remaining_seconds, d.closed_at) for d in rows),
    )


def refused(ticket_id: int, error: type, call):
    """Run `call`, expect `error`, and check that nothing about the ticket changed."""
    before = snapshot(ticket_id)
    with pytest.raises(error) as caught:
        call()
    assert snapshot(ticket_id) == before
    return caught.value


def notices_of(channel: str) -> list[Notice]:
    """Every notice of a channel, in the order they were made."""
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).where(Notice.channel == channel)
                                   .order_by(Notice.id)))


def unsent(app) -> int:
    """How many notices are not sent yet, read in an app context of its own (while other
    processes deliver them)."""
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Notice)
                                  .where(Notice.status != NoticeStatus.SENT))
        db.session.remove()
        return count


def no_horizontal_scroll(page) -> bool:
    """Whether a browser page fits its window's width (nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# -- the rules file --------------------------------------------------------------------------------

RULES = Path(__file__).resolve().parent.parent / "workflows" / "rules.toml"


def edited(tmp_path: Path, table: str, old: str, new: str | None) -> tuple[Path, int]:
    """A copy of the default rules with line `old` of [table] replaced by `new` (None: removed).

    Returns the copy and the number of the line changed (of the table's header, if removed).
    """
    lines = RULES.read_text(encoding="utf-8").splitlines()
    header = lines.index(f"[{table}]")
    for number in range(header + 1, len(lines)):
        assert not lines[number].startswith("["), f"{old!r} is not in [{table}]"
        if lines[number] == old:
            break
    if new is None:
        del lines[number]
        number = header
    else:
        lines[number] = new
    path = tmp_path / "rules.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, number + 1


def start_refused(tmp_path: Path, rules_file: Path) -> str:
    """Start the app on `rules_file`; it must refuse. Returns what it says."""
    with pytest.raises(SystemExit) as stopped:
        create_app({"TESTING": True, "RULES_FILE": str(rules_file),
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite3'}"})
    message = stopped.value.code
    assert isinstance(message, str)  # printed on stderr, exit status 1
    return message
def at_once(calls: list[Callable]) -> list:
    """Run the calls in threads released together (a barrier): their results, in order."""
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# -- owner sheets (workflows.sheets, workflows.estate_import) ----------------------------------

OWNER_HEADINGS = ["楼栋", "房号", "业主姓名", "手机号", "片区", "单元", "楼层", "面积", "备注"]


def owner_rows(count: int, per_building: int = 100, first_building: int = 11,
               areas: tuple[str, ...] = ("East", "West")) -> list[list]:
    """`count` units with one resident each, as an office types them: buildings 11栋, 12栋, …
    of `per_building` units (four a floor), in turn in each of `areas`, phones 137xxxxxxxx."""
    rows = []
    for i in range(count):
        building, place = divmod(i, per_building)
        floor, door = divmod(place, 4)
        rows.append([f"{first_building + building}栋", f"{floor + 1}{door + 1:02d}",
                     f"业主{i}", f"137{i:08d}", areas[building % len(areas)], "1单元",
                     floor + 1, 89.5, None])
    return rows


def xlsx_of(rows: list[list], headings: list[str] | None = OWNER_HEADINGS, build=None) -> bytes:
    """An xlsx workbook of one sheet: the headings (None: none), the rows, then `build(sheet)`."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in ([headings] if headings else []) + rows:
        sheet.append(row)
    if build:
        build(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_of(rows: list[list], headings: list[str] = OWNER_HEADINGS,
           encoding: str = "utf-8-sig") -> bytes:
    """The rows as Excel saves a CSV (in Chinese: GB18030; UTF-8 with its BOM)."""
    lines = [",".join("" if v is None else str(v) for v in row) for row in [headings, *rows]]
    return "\r\n".join(lines).encode(encoding)
