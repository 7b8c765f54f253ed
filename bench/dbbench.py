"""In-process benchmarks on the generated data sets: the sweeper, and the pages of the butler's
queue, the supervisor's overdue list and the monthly scorecards, with their query plans.

Every data set is written as of bench.common.NOW; the one clock (workflows.clock) is set there,
frozen, with `clock.replaying_at(NOW)`, so each data set is read exactly as it stood (the app
reads no other clock, so time-machine is not needed). Timings of different sizes are taken turn
about (10 k, 1 M, 10 k, 1 M, ...) so that a noisy neighbour slows them alike.
"""
from __future__ import annotations

import gc
import random
import re
import time
from datetime import timedelta

from sqlalchemy import event, insert, select, text

from bench.common import NOW, SCORECARD_MONTH, collected_between, interleaved, make_app, median
from workflows import clock

PAGES = {
    # name: (who, path template); "supervisor" supervises one estate of the 20, "admin" all
    "butler queue": ("butler", "/queue/"),
    "supervisor queue (one estate)": ("supervisor", "/queue/"),
    "admin queue (20 estates)": ("admin", "/queue/"),
    "supervisor overdue list": ("supervisor", "/supervisor/overdue"),
    "admin overdue list (20 estates)": ("admin", "/supervisor/overdue"),
    "monthly scorecard (one butler)": ("supervisor", "/assessment/butlers/{butler}?month={month}"),
    "monthly scorecard (one butler), admin": ("admin",
                                              "/assessment/butlers/{butler}?month={month}"),
    "monthly scorecards (all butlers)": ("supervisor", "/assessment/?month={month}"),
    "monthly scorecards (all butlers), admin": ("admin", "/assessment/?month={month}"),
}
WHO = {"butler": "subject_butler", "supervisor": "supervisor", "admin": "admin"}  # keys of info
BIG_TABLES = ("tickets", "events", "deadlines", "deductions")


class Site:
    """One data set: its app, logged-in test clients and the functions the pages call."""

    def __init__(self, size: int, url: str, info: dict):
        self.size, self.url, self.info = size, url, info
        self.app = make_app(url)
        self.app.config["WTF_CSRF_ENABLED"] = False
        self.clients = {}
        for who, key in WHO.items():
            from models import User, db

            with self.app.app_context():
                username = db.session.get(User, info[key]).username
            client = self.app.test_client()  # logged in as a person is: a login is a credential
            answer = client.post("/login", data={"username": username,
                                                 "password": info["password"]})
            if answer.status_code != 302:
                raise RuntimeError(f"login as {username} on {size:,}: {answer.status_code}")
            self.clients[who] = client

    def path(self, template: str) -> str:
        return template.format(butler=self.info["subject_butler"], month=SCORECARD_MONTH)

    def get(self, who: str, path: str) -> int:
        response = self.clients[who].get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} as {who} on {self.size:,}: {response.status_code}")
        return len(response.data)

    def call(self, fn):
        """Run fn() in an app context (as the views do, one request's worth of session)."""
        from models import db

        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    def dispose(self):
        from models import db

        with self.app.app_context():
            db.engine.dispose()


def functions(site: Site) -> dict[str, callable]:
    """The workflow functions behind each page, timed alone (no template). The overdue list and
    the scorecards take no actor (yet): they are the same call for the supervisor and the admin."""
    from models import User, db
    from workflows import assessment, queries
    from workflows.rules import current as current_rules

    def queue(who):
        actor = db.session.get(User, site.info[WHO[who]])
        queries.queue(actor, NOW, current_rules())
        queries.queue_counts(actor, NOW, current_rules())
        queries.queue_buildings(actor, current_rules())

    def overdue():
        queries.overdue_deadlines(NOW)
        queries.deadlines_due(NOW, timedelta(0), queries.NEEDS_NOW)
        queries.deadlines_due(NOW, queries.NEEDS_NOW, queries.AT_RISK)

    def card():
        assessment.scorecards(SCORECARD_MONTH, site.info["subject_butler"])

    def cards():
        assessment.scorecards(SCORECARD_MONTH)

    by_path = {"/queue/": queue, "/supervisor/overdue": overdue,
               "/assessment/butlers/{butler}?month={month}": card,
               "/assessment/?month={month}": cards}
    def of_page(who, template):
        fn = by_path[template]
        return (lambda: fn(who)) if fn is queue else fn

    return {name: of_page(who, template) for name, (who, template) in PAGES.items()}


# -- the sweeper --------------------------------------------------------------------------------

def sweep_nothing_due(sites: list[Site], repeat: int = 30) -> dict:
    from workflows import sweeper

    with clock.replaying_at(NOW):
        counts = {s.size: s.call(sweeper.sweep) for s in sites}  # anything due is recorded first
        samples = interleaved({s.size: (lambda s=s: s.call(sweeper.sweep)) for s in sites},
                              repeat=repeat)
    return {"first_sweep_recorded": counts,
            "seconds": {size: median(v) for size, v in samples.items()},
            "samples": samples}


def sweep_misses(site: Site, misses: int = 10_000, rounds: int = 3) -> dict:
    """Add `misses` open repairs whose on-site deadline passed a few minutes ago (and the sweeper
    has not run since), then time one sweep that records them all; `rounds` times."""
    from models import Deadline, Event, Ticket, db
    from workflows import sweeper

    repair = site.app.extensions["butlerdesk.rules"].kind("repair")
    rule, completion = repair.deadlines["on_site"], repair.deadlines["completion"]
    rng = random.Random(7)
    units = site.info["units_of_subject"]
    results = []

    def add_due_tickets():
        first = db.session.scalar(select(text("max(id)")).select_from(Ticket.__table__)) + 1
        tickets, deadlines, events = [], [], []
        for n in range(misses):
            reported = NOW - rule.within - timedelta(seconds=rng.randint(60, 3600))
            tickets.append(dict(id=first + n, kind="repair", state="reported",
                                unit_id=rng.choice(units), resident_id=None,
                                assignee_id=site.info["subject_butler"],
                                created_by_id=site.info["subject_butler"],
                                title="补单 Late registration", description="",
                                reported_at=reported, created_at=reported, updated_at=reported,
                                details={}, version=1))
            for r in (rule, completion):
                deadlines.append(dict(ticket_id=first + n, name=r.name, seq=1, status="running",
                                      armed_at=reported, due_at=reported + r.within,
                                      points=r.points, article=r.article))
            events.append(dict(ticket_id=first + n, actor_id=site.info["subject_butler"],
                               trigger="create", from_state=None, to_state="reported", note="",
                               data={}, at=reported))
        db.session.execute(insert(Ticket), tickets)
        db.session.execute(insert(Deadline), deadlines)
        db.session.execute(insert(Event), events)
        db.session.commit()

    with clock.replaying_at(NOW):
        for _ in range(rounds):
            site.call(add_due_tickets)
            start = time.perf_counter()
            recorded = site.call(sweeper.sweep)
            results.append((time.perf_counter() - start, recorded))
    return {"seconds": [r[0] for r in results], "recorded": [r[1] for r in results],
            "median": median([r[0] for r in results]), "misses": misses, "size": site.size}


# -- pages and their plans ----------------------------------------------------------------------

def pages(sites: list[Site], repeat: int = 15) -> dict:
    result: dict = {"pages": {}, "functions": {}, "bytes": {}}
    with clock.replaying_at(NOW):
        for name, (who, template) in PAGES.items():
            for site in sites:
                with collected_between():
                    result["bytes"][(name, site.size)] = site.get(who, site.path(template))
                gc.collect()
            samples = interleaved(
                {site.size: (lambda site=site, who=who, template=template:
                             site.get(who, site.path(template))) for site in sites},
                repeat=repeat)
            result["pages"][name] = {size: median(v) for size, v in samples.items()}
        for name in PAGES:
            samples = interleaved(
                {site.size: (lambda site=site, name=name: site.call(functions(site)[name]))
                 for site in sites}, repeat=repeat)
            result["functions"][name] = {size: median(v) for size, v in samples.items()}
    return result


def plans(site: Site) -> dict[str, dict]:
    """The statements each page runs on `site` ("executed": how many; "entries": each distinct
    SELECT once, with its plan and its own time)."""
    from models import db

    found: dict[str, list[dict]] = {}
    with clock.replaying_at(NOW):
        for name, (who, template) in PAGES.items():
            captured = []

            def capture(conn, cursor, statement, parameters, context, executemany,
                        captured=captured):
                captured.append((statement, parameters))

            with site.app.app_context():
                engine = db.engine
            event.listen(engine, "before_cursor_execute", capture)
            try:
                with collected_between():
                    site.get(who, site.path(template))
                gc.collect()
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            entries, seen = [], set()
            with site.app.app_context():
                connection = db.session.connection()
                dialect = connection.dialect.name
                for statement, parameters in captured:
                    if not statement.lstrip().upper().startswith("SELECT"):
                        continue
                    key = re.sub(r"\s+", " ", statement)
                    if key in seen:
                        continue
                    seen.add(key)
                    start = time.perf_counter()
                    connection.exec_driver_sql(statement, parameters).all()
                    took = time.perf_counter() - start
                    if dialect == "sqlite":
                        plan = [row[3] for row in connection.exec_driver_sql(
                            "EXPLAIN QUERY PLAN " + statement, parameters)]
                    else:
                        plan = [row[0] for row in connection.exec_driver_sql(
                            "EXPLAIN " + statement, parameters)]
                    entries.append({"sql": statement, "plan": plan, "seconds": took,
                                    "scans": full_scans(plan, dialect)})
                db.session.remove()
            found[name] = {"entries": entries, "executed": len(captured)}
    return found


def partial_indexes() -> set[str]:
    from models import db

    names = set()
    for table in db.metadata.tables.values():
        for index in table.indexes:
            if index.dialect_options["sqlite"].get("where") is not None:
                names.add(index.name)
    return names


def full_scans(plan: list[str], dialect: str) -> list[str]:
    """Lines of a plan that read a whole big table (or a whole index of it).

    A scan of a partial index is not one: it holds only the live rows (running deadlines,
    outstanding misses)."""
    partial = partial_indexes()
    scans = []
    for line in plan:
        if dialect == "sqlite":
            match = re.match(r"\s*SCAN (\w+)(?: AS \w+)?(?: USING (?:COVERING )?INDEX (\w+))?",
                             line)
            table = re.sub(r"_\d+$", "", match.group(1)) if match else None
            if match and table in BIG_TABLES and match.group(2) not in partial:
                scans.append(line.strip())
        else:
            match = re.search(r"Seq Scan on (\w+)", line)
            if match and match.group(1) in BIG_TABLES:
                scans.append(line.strip())
    return scans
