"""Detection latency: from the moment a deadline falls due to its recorded deduction, with the real
sweeper loop (`flask --app app sweep --every 5`) running as a separate process, on real time.

A few hundred repairs are registered through the engine as calls taken earlier (事后补单: a
back-dated `reported_at`), so that their on-site deadline (20 minutes in rules.toml) falls due at
spread-out moments over the next minute and a half. Nobody acts on them; the sweeper must record
each miss. The latency of each is `recorded_at - missed_at` of its Deduction row (missed_at is
the due time).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from bench.common import REPO, SECRET_KEY, make_app, percentile
from workflows.rules import current as current_rules

BIN = Path(sys.executable).parent


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path):
    """A `flask --app app COMMAND` loop as its own process for the block, stopped as Ctrl-C
    stops it."""
    with log.open("w") as output:
        process = subprocess.Popen([str(BIN / "flask"), "--app", "app", *command], cwd=REPO,
                                   stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, **env})
        try:
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def register_falling_due(butler, units: list[int], tickets: int, spread_s: float, lead_s: float,
                         words: str, log=print, seed: int = 5):
    """Register `tickets` repairs as calls taken earlier (a back-dated `reported_at`), so that
    their on-site deadlines fall due at random moments from `lead_s` to `lead_s + spread_s`
    seconds from now. Returns their ids, the due times and how many were registered after their
    own due time."""
    from workflows import clock, engine

    rng = random.Random(seed)
    within = current_rules().kind("repair").deadlines["on_site"].within
    first_due = clock.now() + timedelta(seconds=lead_s)
    dues = sorted(first_due + timedelta(seconds=rng.uniform(0, spread_s))
                  for _ in range(tickets))
    log(f"  registering {tickets} back-dated repairs, due over {spread_s:.0f} s ...")
    ids, late = [], 0
    for n, due in enumerate(dues):  # each its own words: a repeat would be refused
        ids.append(engine.open_ticket(butler, "repair", f"{words} {n}", "", rng.choice(units),
                                      (due - within).isoformat()).id)
        late += clock.now() >= due
    return ids, dues, late


def run(database_url: str, info: dict, workdir: Path, log=print, *, tickets: int = 300,
        spread_s: float = 90.0, lead_s: float = 15.0, every: float = 5.0) -> dict:
    from sqlalchemy import select

    from models import Deadline, Deduction, User, db
    from workflows import clock, sweeper

    app = make_app(database_url)
    with app.app_context():
        start = time.perf_counter()
        caught_up = sweeper.sweep()  # the data set's own misses, due long ago (real time now)
        catch_up_s = time.perf_counter() - start
        db.session.remove()
    log(f"  caught up {caught_up:,} old misses in {catch_up_s:.1f} s; starting the sweeper loop")

    env = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY}
    with running(["sweep", "--every", f"{every:g}"], env, workdir / "sweeper.log"):
        time.sleep(2.0)
        with app.app_context():
            butler = db.session.get(User, info["subject_butler"])
            ids, dues, late_registrations = register_falling_due(
                butler, info["units_of_subject"], tickets, spread_s, lead_s,
                "补单 Detection latency", log=log)
            db.session.remove()
            wait = (dues[-1] - clock.now()).total_seconds() + 2 * every + 3
        log(f"  waiting {wait:.0f} s for the last one to fall due and be swept ...")
        time.sleep(max(0.0, wait))

    with app.app_context():
        rows = db.session.execute(
            select(Deduction.missed_at, Deduction.recorded_at)
            .join(Deadline, Deduction.deadline_id == Deadline.id)
            .where(Deadline.ticket_id.in_(ids), Deadline.name == "on_site")).all()
        db.session.remove()
        db.engine.dispose()
    latencies = [(r.recorded_at - r.missed_at).total_seconds() for r in rows]
    return {
        "tickets": tickets, "recorded": len(rows), "spread_s": spread_s, "every": every,
        "late_registrations": late_registrations, "caught_up": caught_up,
        "catch_up_s": catch_up_s,
        "p50_s": percentile(latencies, 50), "p99_s": percentile(latencies, 99),
        "max_s": max(latencies) if latencies else float("nan"),
        "min_s": min(latencies) if latencies else float("nan"),
    }
