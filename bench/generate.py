"""Bulk data for the benchmarks: a company of 20 estates and N tickets with their events, deadlines,
deductions, findings, appeals and reviews, written with executemany (SQLite) or COPY (PostgreSQL).

The shape, identical for every N so that a 10 k and a 1 M data set differ only in history:

- the company: 20 estates (4 of 600 units in two areas, 16 of 300 units in one), 24 areas of 3
  buildings of 100 units (7,200 units, one resident each); 12 butlers, each answering for two
  areas (600 units), so a butler's share of the tickets is what it was with one estate of 12
  areas of 6 buildings; 2 relief butlers without an area, 8 technicians; a supervisor of each
  estate (20, in estate_supervisors) and the company's admin, who sees every estate;
- the present, as of bench.common.NOW: OPEN_TICKETS open tickets spread over every non-final
  state of the three workflows in workflows/rules.toml, so about a thousand running deadlines,
  some due within minutes, and about 12 % of the open work overdue (missed, recorded by the
  sweeper, step still not done); nothing is due that the sweeper has not recorded yet;
- the history: N - OPEN_TICKETS closed (a few cancelled) tickets reported over the 12 months
  before NOW, kinds 66 % repair, 30 % complaint, 4 % renovation, their deadlines met, except
  MISSES_PER_MONTH missed ones a month (a butler's scorecard has about 8 lines a month whatever
  N is, as it would with the same staff), plus FINDINGS_PER_MONTH findings and bonuses a month,
  appeals on 10 % of the lines and reviews on most appeals.

Deadlines are not written by hand: a small simulator applies the deadline rules of
workflows/rules.toml (starts_in, met_in, paused_in, cancelled_in, rearmed_by, due_from, repeats,
calendar: office time by the default office hours) exactly as workflows/deadlines.py does, so
the rows are what the engine would have written.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import BENCH, NOW, REPO
from workflows.rules import OFFICE

OPEN_TICKETS = 1200
MISSES_PER_MONTH = 90
FINDINGS_PER_MONTH = 8
# Estates: the first LARGE_ESTATES hold two areas each, the others one.
ESTATES, LARGE_ESTATES = 20, 4
AREAS, BUILDINGS_PER_AREA, FLOORS, DOORS = 24, 3, 25, 4
AREAS_PER_BUTLER = 2
RELIEF_BUTLERS, TECHNICIANS = 2, 8
HISTORY_DAYS = 365
PASSWORD = "bench"
CHUNK = 20_000  # tickets per executemany round
CACHE = BENCH / ".cache"

M, H, D = 60, 3600, 86400
NOW_TS = int(NOW.timestamp())
KIND_MIX = (("repair", 0.66), ("complaint", 0.30), ("renovation", 0.04))
LATE_CHOICES = {
    "repair": (("on_site", 0.6), ("completion", 0.2), ("follow_up", 0.2)),
    "complaint": (("reply", 0.7), ("follow_up", 0.3)),
    "renovation": (("review", 0.2), ("inspection", 0.6), ("acceptance", 0.2)),
}
OPEN_MIX = {  # kind share, then the weight of each open state
    "repair": (0.55, {"reported": 8, "dispatched": 10, "on_site": 20, "completed": 35,
                      "visited": 27}),
    "complaint": (0.35, {"submitted": 10, "accepted": 30, "waiting_resident": 10, "escalated": 5,
                         "replied": 15, "resolved": 20, "visited": 10}),
    "renovation": (0.10, {"applied": 15, "approved": 10, "rejected": 5, "in_progress": 45,
                          "rectifying": 5, "completion_requested": 10, "accepted": 10}),
}
OPEN_OVERDUE_SHARE = 0.12
TITLES = {
    "repair": ["水管漏水 Leaking pipe", "门铃不响 Doorbell dead", "空调不制冷 AC not cooling",
               "窗户关不严 Window does not close", "插座没电 Socket dead", "下水堵塞 Drain blocked",
               "灯不亮 Light out", "门锁损坏 Lock broken"],
    "complaint": ["夜间噪音 Noise at night", "电梯停运 Lift out of service",
                  "楼道堆放杂物 Clutter in the hall", "垃圾清运不及时 Rubbish not collected",
                  "停车位被占 Parking space taken"],
    "renovation": ["厨房翻新 Kitchen renovation", "更换地板 New floors",
                   "卫生间改造 Bathroom refit", "墙面粉刷 Repainting"],
}
FINDING_CODES = ("1", "2", "3-bonus", "5", "7")
EVERY_KIND = '["new", "step", "warning", "missed"]'  # each person's emailed kinds, as stored
SINCE_RECORDS = "2000-01-01 00:00:00.000000"  # models.estate.SINCE_RECORDS, as stored

# -- times ------------------------------------------------------------------------------------

_days: dict[int, str] = {}


def ts(t: int) -> str:
    """A UTC epoch second as SQLAlchemy stores a DateTime in SQLite (and PostgreSQL reads)."""
    day, second = divmod(t, 86400)
    prefix = _days.get(day)
    if prefix is None:
        prefix = _days[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d ")
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.000000"


def iso(t: int) -> str:
    """As the engine writes times into an event's JSON data."""
    return ts(t)[:19].replace(" ", "T") + "+00:00"


# -- the deadline simulator -------------------------------------------------------------------

@cache
def office_time():
    """The office calendar of an estate without one of its own (workflows.calendars.of_estate),
    in the installation's time zone."""
    from config import Config
    from workflows.calendars import DEFAULT_HOURS, OfficeCalendar

    return OfficeCalendar(DEFAULT_HOURS, True, frozenset(), ZoneInfo(Config.TIMEZONE))


class Row:
    __slots__ = ("id", "name", "seq", "status", "armed", "due", "remaining", "points", "article",
                 "closed")


class Ids:
    def __init__(self):
        self.deadline = self.event = self.deduction = 0


class Sim:
    """One ticket's deadlines and events, as workflows/engine.py and deadlines.py write them."""

    def __init__(self, kind, ticket_id: int, butler: int | None, ids: Ids, rng: random.Random):
        self.kind, self.ticket_id, self.butler, self.ids, self.rng = (
            kind, ticket_id, butler, ids, rng)
        self.state = kind.initial
        self.rows: list[Row] = []
        self.open: dict[str, Row] = {}
        self.seqs: dict[str, int] = {}
        self.events: list[tuple] = []
        self.deductions: list[tuple] = []

    def _arm(self, rule, armed: int, due: int) -> None:
        self.ids.deadline += 1
        row = Row()
        row.id, row.name = self.ids.deadline, rule.name
        row.seq = self.seqs[rule.name] = self.seqs.get(rule.name, 0) + 1
        row.status, row.armed, row.due, row.remaining = "running", armed, due, None
        row.points, row.article, row.closed = rule.points, rule.article, None
        self.rows.append(row)
        self.open[rule.name] = row

    @staticmethod
    def _due(rule, start: int, length: int | None = None) -> int:
        """As workflows.calendars.due_at: `length` (the rule's `within`) after `start`, or after
        that much office time: the generated estates keep the default office hours."""
        length = int(rule.within.total_seconds()) if length is None else length
        if rule.calendar != OFFICE:
            return start + length
        return int(office_time().add(datetime.fromtimestamp(start, UTC),
                                     timedelta(seconds=length)).timestamp())

    @staticmethod
    def _left(rule, now: int, due: int) -> int:
        """As workflows.calendars.left: what is left at `now` of a clock due at `due`."""
        if rule.calendar != OFFICE:
            return max(0, due - now)
        return int(office_time().between(datetime.fromtimestamp(now, UTC),
                                         datetime.fromtimestamp(due, UTC)).total_seconds())

    def create(self, reported: int, created: int, actor: int) -> None:
        self.event(actor, "create", None, self.state, created, {"reported_at": iso(reported)})
        for rule in self.kind.deadlines.values():
            if self.kind.initial in rule.starts_in:
                self._arm(rule, reported, self._due(rule, reported))
        self.settle(created)

    def event(self, actor, trigger, from_state, to_state, at, data=None, note=""):
        self.ids.event += 1
        self.events.append((self.ids.event, self.ticket_id, actor, trigger, from_state, to_state,
                            note, json.dumps(data) if data else "{}", ts(at)))

    def settle(self, now: int) -> None:
        """Record every running deadline due by `now` as missed (the sweeper, every 5 s)."""
        while True:
            due = [r for r in self.open.values() if r.status == "running" and r.due <= now]
            if not due:
                return
            for row in sorted(due, key=lambda r: r.due):
                row.status = "missed"
                del self.open[row.name]
                self.ids.deduction += 1
                recorded = min(now, row.due + self.rng.randint(0, 5))
                self.deductions.append((self.ids.deduction, row.id, self.ticket_id, self.butler,
                                        row.points, row.article, None, "", None, None,
                                        ts(row.due), ts(recorded), None))
                self.event(None, "deadline_missed", self.state, self.state, row.due,
                           {"deadline": row.name, "seq": row.seq, "points": row.points,
                            "article": row.article, "butler_id": self.butler,
                            "recorded_at": iso(recorded)})
                rule = self.kind.deadlines[row.name]
                if rule.repeats:
                    self._arm(rule, row.due, self._due(rule, row.due))

    def _close(self, name: str, status: str, at: int) -> None:
        current = self.open.pop(name, None)
        if current is not None:
            current.status, current.closed = status, at
        for row in self.rows:
            if row.name == name and row.status == "missed" and row.closed is None:
                row.closed = at

    def _outstanding(self, name: str) -> bool:
        return any(r.name == name and r.status == "missed" and r.closed is None for r in self.rows)

    def fire(self, trigger: str, to_state: str, at: int, actor, data=None, note="") -> None:
        self.settle(at)
        from_state, self.state = self.state, to_state
        entered = to_state != from_state
        final = self.kind.states[to_state].final
        for rule in self.kind.deadlines.values():
            current = self.open.get(rule.name)
            if trigger in rule.rearmed_by:
                self._close(rule.name, "met", at)
                due = data["_due"] if rule.due_from else self._due(rule, at)
                self._arm(rule, at, due)
                continue
            if not entered:
                continue
            if to_state in rule.met_in:
                self._close(rule.name, "met", at)
                current = None
            elif to_state in rule.cancelled_in or final:
                self._close(rule.name, "cancelled", at)
                current = None
            elif current is not None and to_state in rule.paused_in and current.status == "running":
                current.remaining = self._left(rule, at, current.due)
                current.due, current.status = None, "paused"
            elif (current is not None and current.status == "paused"
                  and to_state not in rule.paused_in):
                current.due = self._due(rule, at, current.remaining)
                current.remaining, current.status = None, "running"
            if to_state in rule.starts_in and current is None and not self._outstanding(rule.name):
                self._arm(rule, at, self._due(rule, at))
        if data:
            data = {k: v for k, v in data.items() if not k.startswith("_")}
        self.event(actor, trigger, from_state, to_state, at, data, note)

    def running_due(self) -> list[int]:
        return [r.due for r in self.open.values() if r.status == "running"]


# -- the paths tickets take (offsets in seconds from the call) ---------------------------------

def repair_path(u, late, variant):
    steps = []
    d = u(1 * M, 8 * M)
    if variant == "cancel":
        if u(0, 1) < 0.5:
            steps.append(("dispatch", "dispatched", d, "butler", {"technician_id": None}, ""))
        steps.append(("cancel", "cancelled", d + u(1 * M, 8 * M), "resident",
                      {"reason": "不需要了"}, ""))
        return steps
    steps.append(("dispatch", "dispatched", d, "butler", {"technician_id": None}, ""))
    a = u(21 * M, 2 * H) if late == "on_site" else u(max(d + M, 8 * M), 19 * M)
    steps.append(("arrive", "on_site", a, "technician", None, ""))
    c = u(24 * H + 10 * M, 40 * H) if late == "completion" else a + u(20 * M, 8 * H)
    steps.append(("complete", "completed", c, "technician", None, ""))
    v = c + (u(48 * H + 10 * M, 72 * H) if late == "follow_up" else u(2 * H, 46 * H))
    steps.append(("visit", "visited", v, "butler", {"rating": None}, ""))
    steps.append(("close", "closed", v + u(5 * M, 3 * H), "butler", None, ""))
    return steps


def complaint_path(u, late, variant):
    steps = []
    ac = u(5 * M, 4 * H)
    steps.append(("accept", "accepted", ac, "butler", None, "已登记。"))
    due, base, replier = 48 * H, ac, "butler"
    if variant == "pause":
        w = ac + u(1 * H, 6 * H)
        steps.append(("wait_resident", "waiting_resident", w, "butler", None, "等业主回复。"))
        rs = w + u(2 * H, 30 * H)
        steps.append(("resume", "accepted", rs, "resident", None, ""))
        due, base = rs + (48 * H - w), rs
    elif variant == "escalate":
        e = ac + u(1 * H, 10 * H)
        steps.append(("escalate", "escalated", e, "butler", None, "需要主管协调。"))
        base, replier = e, "supervisor"
    elif variant == "progress":
        pu = ac + u(1 * H, 30 * H)
        promised = pu + u(4 * H, 47 * H)
        steps.append(("progress_update", "accepted", pu, "butler",
                      {"promised_at": promised, "_due": promised}, "正在协调。"))
        due, base = promised, pu
    r = (due + u(10 * M, 24 * H) if late == "reply"
         else base + max(M, int((due - base) * u(5, 90) / 100)))
    steps.append(("reply", "replied", r, replier, None, "已联系相关部门处理。"))
    cf = r + u(1 * H, 30 * H)
    steps.append(("confirm", "resolved", cf, "resident", None, ""))
    v = cf + (u(48 * H + 10 * M, 72 * H) if late == "follow_up" else u(2 * H, 46 * H))
    steps.append(("visit", "visited", v, "butler", {"rating": None}, ""))
    steps.append(("close", "closed", v + u(5 * M, 3 * H), "butler", None, ""))
    return steps


def renovation_path(u, late, variant):
    steps = []
    t = 0
    if variant == "reject":
        rj = u(2 * H, 44 * H)
        steps.append(("reject", "rejected", rj, "butler", {"reason": "材料不全"}, ""))
        t = rj + u(1 * D, 5 * D)
        steps.append(("resubmit", "applied", t, "resident", None, ""))
    # Review and acceptance count office time (18 h: two working days, 33 h or more).
    ap = t + (u(48 * H + 10 * M, 72 * H) if late == "review" else u(2 * H, 32 * H))
    steps.append(("approve", "approved", ap, "butler", None, ""))
    prev = ap + u(1 * D, 4 * D)
    steps.append(("start_works", "in_progress", prev, "resident", None, ""))
    n = u(3, 15)
    late_k = u(0, n - 1) if late == "inspection" else -1
    violation_k = u(0, n - 2) if variant == "violation" else -1
    for k in range(n):
        prev += u(24 * H + 10 * M, 40 * H) if k == late_k else u(16 * H, 23 * H + 30 * M)
        result = "violation" if k == violation_k else "ok"
        steps.append(("inspect", "rectifying" if result == "violation" else "in_progress", prev,
                      "butler", {"result": result}, ""))
    rq = prev + u(2 * H, 20 * H)
    steps.append(("request_acceptance", "completion_requested", rq, "resident", None, ""))
    aw = rq + (u(48 * H + 10 * M, 72 * H) if late == "acceptance" else u(2 * H, 32 * H))
    steps.append(("accept_works", "accepted", aw, "butler", None, ""))
    steps.append(("close", "closed", aw + u(1 * H, 72 * H), "butler", None, ""))
    return steps


PATHS = {"repair": repair_path, "complaint": complaint_path, "renovation": renovation_path}
OPEN_VARIANT = {"waiting_resident": "pause", "escalated": "escalate", "rejected": "reject",
                "rectifying": "violation"}


def history_variant(kind: str, rng: random.Random, late) -> str | None:
    x = rng.random()
    if kind == "repair":
        return "cancel" if late is None and x < 0.03 else None
    if kind == "complaint":
        return "pause" if x < 0.08 else "escalate" if x < 0.15 else "progress" if x < 0.20 else None
    return "reject" if x < 0.08 else "violation" if x < 0.18 else None


def pick(rng: random.Random, choices) -> str:
    x, total = rng.random(), 0.0
    for name, share in choices:
        total += share
        if x < total:
            return name
    return choices[-1][0]


# -- the estate -------------------------------------------------------------------------------

class Estate:
    """The company: its estates, their areas, buildings, units and residents, and the staff."""

    def __init__(self, password_hash: str):
        self.staff, self.residents, self.areas, self.buildings, self.units = [], [], [], [], []
        self.area_periods: list[tuple] = []
        uid = 0

        def user(username, role, name, unit_id=None, rows=None):
            nonlocal uid
            uid += 1
            (self.staff if rows is None else rows).append(
                (uid, username, name, role, password_hash, f"138{uid:08d}", unit_id, 1,
                 EVERY_KIND, "[]"))
            return uid

        self.admin = user("admin", "admin", "系统管理员 Admin")
        self.estates = [(e + 1, f"基准小区{e + 1:02d} Bench estate {e + 1}")
                        for e in range(ESTATES)]
        self.supervisors = [user(f"supervisor{e + 1:02d}", "supervisor", f"主管 Supervisor {e + 1}")
                            for e in range(ESTATES)]  # by estate
        butlers = AREAS // AREAS_PER_BUTLER
        self.area_butlers = [user(f"butler{i + 1:02d}", "butler", f"管家 Butler {i + 1}")
                             for i in range(butlers)]
        self.relief = [user(f"butler{butlers + i + 1:02d}", "butler", f"替班管家 Relief {i + 1}")
                       for i in range(RELIEF_BUTLERS)]
        self.technicians = [user(f"technician{i + 1:02d}", "technician", f"技工 Technician {i + 1}")
                            for i in range(TECHNICIANS)]
        self.unit_butler: list[int] = []    # by unit index: the butler of its area
        self.unit_estate: list[int] = []    # by unit index: the index of its estate
        self.unit_ids: list[int] = []
        self.unit_resident: list[int] = []
        self.butler_estate: dict[int, int] = {}  # the index of the estate of a butler's areas
        building_id = unit_id = 0
        buildings_in = [0] * ESTATES
        for a in range(AREAS):
            e = a // 2 if a < 2 * LARGE_ESTATES else a - LARGE_ESTATES
            butler = self.area_butlers[a // AREAS_PER_BUTLER]
            self.butler_estate.setdefault(butler, e)
            self.areas.append((a + 1, e + 1, f"片区{a + 1:02d} Area {a + 1}", butler))
            # Each butler has answered for their area since before the records (models.estate).
            self.area_periods.append((a + 1, a + 1, butler, SINCE_RECORDS))
            for _ in range(BUILDINGS_PER_AREA):
                building_id += 1
                buildings_in[e] += 1
                self.buildings.append((building_id, a + 1, f"{buildings_in[e]}栋"))
                for floor in range(1, FLOORS + 1):
                    for door in range(1, DOORS + 1):
                        unit_id += 1
                        self.units.append((unit_id, building_id, f"{floor}{door:02d}"))
                        self.unit_ids.append(unit_id)
                        self.unit_butler.append(butler)
                        self.unit_estate.append(e)
        self.estate_supervisors = list(zip(range(1, ESTATES + 1), self.supervisors, strict=True))
        for unit in self.unit_ids:
            self.unit_resident.append(user(f"resident{unit:05d}", "resident",
                                           f"业主 Resident {unit}", unit, self.residents))
        self.subject_butler = self.area_butlers[0]  # the butler whose queue is timed
        # The supervisor whose pages are timed: of the subject butler's estate, one of 20.
        self.subject_supervisor = self.supervisors[self.butler_estate[self.subject_butler]]

    def supervisor_of(self, butler: int) -> int:
        """The supervisor of the estate of an area butler's areas."""
        return self.supervisors[self.butler_estate[butler]]


# -- writers ----------------------------------------------------------------------------------

COLUMNS = {
    "users": "id username name role password_hash phone unit_id active email_for sms_for",
    "estates": "id name",
    "estate_supervisors": "estate_id supervisor_id",
    "areas": "id estate_id name butler_id",
    "area_butlers": "id area_id butler_id starts_at",
    "buildings": "id area_id name",
    "units": "id building_id number",
    "tickets": "id kind state unit_id resident_id assignee_id technician_id created_by_id title "
               "description reported_at created_at updated_at rating details version",
    "events": "id ticket_id actor_id trigger from_state to_state note data at",
    "deadlines": "id ticket_id name seq status armed_at due_at remaining_seconds points article "
                 "closed_at",
    "deductions": "id deadline_id ticket_id butler_id points article finding_code note evidence "
                  "recorded_by_id missed_at recorded_at estate_id",
    "appeals": "id deduction_id butler_id reason created_at",
    "reviews": "id deduction_id supervisor_id outcome reason created_at",
}


def metadata():
    import models  # noqa: F401  (registers every table)
    from models import db

    return db.metadata


def schema_ddl(dialect_name: str) -> str:
    """The CREATE statements of every table and index, for the cache key."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite.dialect() if dialect_name == "sqlite" else postgresql.dialect()
    parts = []
    for name in sorted(metadata().tables):
        table = metadata().tables[name]
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        parts += sorted(str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes)
    return "\n".join(parts)


def cache_key(size: int, dialect_name: str = "sqlite") -> str:
    digest = hashlib.sha256()
    digest.update(schema_ddl(dialect_name).encode())
    digest.update(Path(__file__).read_bytes())
    digest.update((REPO / "workflows" / "rules.toml").read_bytes())
    digest.update(f"{size}".encode())
    return digest.hexdigest()[:16]


class SqliteWriter:
    """Tables from the models (SQLAlchemy DDL), rows through sqlite3 executemany, indexes last."""

    def __init__(self, path: Path):
        from sqlalchemy import create_engine

        self.path = path
        engine = create_engine(f"sqlite:///{path}")
        self.indexes = []
        with engine.begin() as connection:
            metadata().create_all(connection)
            for table in metadata().tables.values():
                for index in table.indexes:
                    index.drop(connection)
                    self.indexes.append(index)
        engine.dispose()
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-400000",
                       "temp_store=MEMORY", "locking_mode=EXCLUSIVE"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.execute("BEGIN")

    def insert(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = COLUMNS[table].split()
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            rows)

    def finish(self) -> None:
        self.connection.execute("COMMIT")
        for index in self.indexes:
            from sqlalchemy.dialects import sqlite as sqlite_dialect
            from sqlalchemy.schema import CreateIndex

            self.connection.execute(str(CreateIndex(index).compile(dialect=sqlite_dialect.dialect())))
        self.connection.execute("PRAGMA locking_mode=NORMAL")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.close()


class PostgresWriter:
    """Tables from the models in a schema of their own, rows through COPY, indexes last."""

    def __init__(self, url: str, schema: str):
        from sqlalchemy import create_engine, text

        self.url, self.schema = url, schema
        admin = create_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        self.engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        self.indexes = []
        with self.engine.begin() as connection:
            metadata().create_all(connection)
            for table in metadata().tables.values():
                for index in table.indexes:
                    index.drop(connection)
                    self.indexes.append(index)
        self.raw = self.engine.raw_connection()
        self.cursor = self.raw.cursor()
        self.cursor.execute("SET TIME ZONE 'UTC'")

    def insert(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = COLUMNS[table].split()
        quoted = ", ".join(f'"{c}"' for c in columns)
        with self.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def finish(self) -> None:
        self.raw.commit()
        with self.engine.begin() as connection:
            for index in self.indexes:
                index.create(connection)
        driver = self.raw.driver_connection
        driver.autocommit = True
        self.cursor = driver.cursor()
        for table in COLUMNS:
            self.cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"coalesce((SELECT max(id) FROM {table}), 1))")
        self.cursor.execute("VACUUM ANALYZE")
        self.raw.close()
        self.engine.dispose()


# -- the generator ----------------------------------------------------------------------------

def generate(size: int, writer, seed: int = 20260615) -> dict:
    """Write a data set of `size` tickets; returns what the benchmarks need to know about it."""
    from werkzeug.security import generate_password_hash

    from workflows.rules import load_rules

    started = time.perf_counter()
    rng = random.Random(seed * 7 + size)
    rules = load_rules(REPO / "workflows" / "rules.toml")
    estate = Estate(generate_password_hash(PASSWORD))
    writer.insert("users", estate.staff)
    writer.insert("estates", estate.estates)
    writer.insert("estate_supervisors", estate.estate_supervisors)
    writer.insert("areas", estate.areas)
    writer.insert("area_butlers", estate.area_periods)
    writer.insert("buildings", estate.buildings)
    writer.insert("units", estate.units)
    writer.insert("users", estate.residents)

    def u(a, b):
        return rng.randint(int(a), int(b))

    counts = {"tickets": 0, "events": 0, "deadlines": 0, "deductions": 0}
    ids = Ids()
    scratch = Ids()  # for trial runs of open tickets (their ids are thrown away)

    # The present: open tickets, placed so their running deadlines fall where we want them.
    open_specs = []
    for _ in range(OPEN_TICKETS):
        kind = pick(rng, [(k, v[0]) for k, v in OPEN_MIX.items()])
        weights = OPEN_MIX[kind][1]
        target = rng.choices(list(weights), weights=list(weights.values()))[0]
        steps = PATHS[kind](u, None, OPEN_VARIANT.get(target))
        cuts = [i for i, s in enumerate(steps) if s[1] == target]
        steps = steps[:rng.choice(cuts) + 1] if cuts else []
        trial = Sim(rules.kind(kind), 0, None, scratch, rng)
        trial.create(0, 0, None)
        for trigger, to_state, at, _role, data, note in steps:
            trial.fire(trigger, to_state, at, None, _with_due(data, 0), note)
        last = steps[-1][2] if steps else 0
        running = trial.running_due()
        if running and rng.random() < OPEN_OVERDUE_SHARE:
            t0 = NOW_TS - min(running) - u(M, 12 * H)
        elif running:
            t0 = NOW_TS - last - int((min(running) - last - 2 * M) * rng.random())
        else:
            t0 = NOW_TS - last - u(10 * M, 3 * D)
        open_specs.append((t0, kind, None, steps, True))
    open_specs.sort(key=lambda s: s[0])

    # The history: closed tickets over the last year, a fixed number of misses a month.
    history = size - OPEN_TICKETS
    start = NOW_TS - HISTORY_DAYS * D
    p_late = min(1.0, MISSES_PER_MONTH * 12 / max(history, 1))
    t0s = sorted(rng.randrange(start, NOW_TS - H) for _ in range(history))

    tickets, events, deadlines, deductions = [], [], [], []
    lines = []  # (deduction id, butler, recorded_at, the estate's supervisor) for appeals
    open_index = 0
    ticket_id = 0

    def flush():
        writer.insert("tickets", tickets)
        writer.insert("deadlines", deadlines)
        writer.insert("events", events)
        writer.insert("deductions", deductions)
        counts["tickets"] += len(tickets)
        counts["events"] += len(events)
        counts["deadlines"] += len(deadlines)
        counts["deductions"] += len(deductions)
        for rows in (tickets, events, deadlines, deductions):
            rows.clear()

    def write_ticket(t0: int, kind: str, steps, is_open: bool) -> None:
        nonlocal ticket_id
        ticket_id += 1
        unit = rng.randrange(len(estate.unit_ids))
        area_butler = estate.unit_butler[unit]
        butler = area_butler if rng.random() < 0.98 else rng.choice(estate.relief)
        supervisor = estate.supervisors[estate.unit_estate[unit]]
        resident = estate.unit_resident[unit]
        by_phone = rng.random() < 0.4
        created_by = butler if by_phone else resident
        created = t0 + (u(0, 3 * M) if by_phone else 0)
        created = min(created, t0 + steps[0][2] if steps else created, NOW_TS)
        technician = rng.choice(estate.technicians) if kind == "repair" else None
        actors = {"butler": butler, "technician": technician, "resident": resident,
                  "supervisor": supervisor}
        sim = Sim(rules.kind(kind), ticket_id, butler, ids, rng)
        sim.create(t0, created, created_by)
        rating = None
        dispatched = False
        for trigger, to_state, at, role, data, note in steps:
            if data is not None:
                data = dict(data)
                if "technician_id" in data:
                    data["technician_id"], dispatched = technician, True
                if "rating" in data:
                    data["rating"] = rating = rng.choice((3, 4, 5, 5, 5))
                if "promised_at" in data:
                    data["promised_at"] = iso(t0 + data["promised_at"])
                data = _with_due(data, t0)
            sim.fire(trigger, to_state, t0 + at, actors[role], data, note)
        if is_open:
            sim.settle(NOW_TS)
        updated = t0 + steps[-1][2] if steps else created
        details = "{}"
        if kind == "renovation":
            day = datetime.fromtimestamp(t0, UTC).date()
            details = json.dumps({
                "works_start": (day + timedelta(days=7)).isoformat(),
                "works_end": (day + timedelta(days=40)).isoformat(),
                "contractor_name": "安居装饰 Anju Decoration", "contractor_phone": "138 0013 8000",
                "foreman_name": "刘师傅 Master Liu", "foreman_phone": "139 0013 9000",
                "workers": rng.randint(2, 8)})
        tickets.append((ticket_id, kind, sim.state, estate.unit_ids[unit], resident, butler,
                        technician if dispatched else None, created_by, rng.choice(TITLES[kind]),
                        "", ts(t0), ts(created), ts(updated), rating, details, 1 + len(steps)))
        events.extend(sim.events)
        for row in sim.rows:
            deadlines.append((row.id, ticket_id, row.name, row.seq, row.status, ts(row.armed),
                              ts(row.due) if row.due is not None else None, row.remaining,
                              row.points, row.article,
                              ts(row.closed) if row.closed is not None else None))
        deductions.extend(sim.deductions)
        for d in sim.deductions:
            lines.append((d[0], d[3], d[11], supervisor))
        if len(tickets) >= CHUNK:
            flush()

    for t0 in t0s:
        while open_index < OPEN_TICKETS and open_specs[open_index][0] <= t0:
            spec = open_specs[open_index]
            write_ticket(spec[0], spec[1], spec[3], True)
            open_index += 1
        kind = pick(rng, KIND_MIX)
        late = pick(rng, LATE_CHOICES[kind]) if rng.random() < p_late else None
        steps = PATHS[kind](u, late, history_variant(kind, rng, late))
        end = t0 + steps[-1][2]
        if end > NOW_TS - H:  # it must be closed by now: move it back
            t0 = NOW_TS - H - steps[-1][2] - u(0, 2 * D)
        write_ticket(t0, kind, steps, False)
    for spec in open_specs[open_index:]:
        write_ticket(spec[0], spec[1], spec[3], True)
    flush()

    # Findings and bonuses, appeals and reviews.
    findings = []
    for month_start in range(start, NOW_TS, 30 * D):
        for _ in range(FINDINGS_PER_MONTH):
            at = min(NOW_TS - H, month_start + u(0, 30 * D))
            code = rng.choice(FINDING_CODES)
            finding = rules.assessment.findings[code]
            ids.deduction += 1
            butler = rng.choice(estate.area_butlers)
            findings.append((ids.deduction, None, None, butler,
                             finding.points, finding.article, code, "巡查记录 Patrol record",
                             None, estate.supervisor_of(butler), ts(at),
                             ts(min(NOW_TS, at + u(10 * M, 2 * D))),
                             estate.butler_estate[butler] + 1))
    writer.insert("deductions", findings)
    counts["deductions"] += len(findings)
    appeals, reviews = [], []
    for deduction_id, butler, recorded, supervisor in rng.sample(lines, k=len(lines) // 10):
        if butler is None:
            continue
        at = _epoch(recorded) + u(H, 3 * D)
        if at >= NOW_TS:
            continue
        appeals.append((len(appeals) + 1, deduction_id, butler, "当时已到场，系统未及时登记。",
                        ts(at)))
        if rng.random() < 0.6:
            decided = min(NOW_TS - M, at + u(H, 5 * D))
            reviews.append((len(reviews) + 1, deduction_id, supervisor,
                            rng.choice(("waived", "upheld")), "核实监控记录。", ts(decided)))
    writer.insert("appeals", appeals)
    writer.insert("reviews", reviews)
    counts.update(appeals=len(appeals), reviews=len(reviews),
                  users=len(estate.staff) + len(estate.residents), units=len(estate.units))
    writer.finish()
    return {
        "size": size, "counts": counts, "seconds": round(time.perf_counter() - started, 1),
        "now": NOW.isoformat(), "subject_butler": estate.subject_butler,
        "supervisor": estate.subject_supervisor, "admin": estate.admin,
        "estates": len(estate.estates),
        "technician": estate.technicians[0], "area_butlers": estate.area_butlers,
        "units_of_subject": [unit for unit, butler in zip(estate.unit_ids, estate.unit_butler,
                                                          strict=True)
                             if butler == estate.subject_butler],
        "password": PASSWORD,
    }


def _with_due(data, t0):
    if data and "_due" in data:
        return {**data, "_due": t0 + data["_due"]}
    return data


def _epoch(stored: str) -> int:
    return int(datetime.strptime(stored, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
               .timestamp())


# -- cached SQLite data sets ------------------------------------------------------------------

def sqlite_dataset(size: int, log=print) -> tuple[Path, dict, bool]:
    """The cached SQLite file for `size` tickets (built when the schema, the rules or this
    generator changed). Returns (path, info, whether it was built now). Copy it before writing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = cache_key(size)
    path = CACHE / f"tickets-{size}-{key}.sqlite3"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, json.loads(meta.read_text()), False
    for stale in CACHE.glob(f"tickets-{size}-*"):
        stale.unlink()
    log(f"  generating {size:,} tickets into {path.relative_to(REPO)} ...")
    partial = path.with_suffix(".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    info = generate(size, SqliteWriter(partial))
    os.replace(partial, path)
    meta.write_text(json.dumps(info, indent=1))
    return path, info, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--out", type=Path, help="a SQLite file to write (default: the cache)")
    args = parser.parse_args()
    if args.out:
        if args.out.exists():
            raise SystemExit(f"{args.out} exists")
        info = generate(args.size, SqliteWriter(args.out))
    else:
        _path, info, _built = sqlite_dataset(args.size)
    print(json.dumps({k: v for k, v in info.items() if k != "units_of_subject"}, indent=1))


if __name__ == "__main__":
    main()
