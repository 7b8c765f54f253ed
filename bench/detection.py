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
from datetime import timedelta
from pathlib import Path

from bench.common import REPO, SECRET_KEY, make_app, percentile
from workflows.rules import current as current_rules

BIN = Path(sys.executable).parent


def run(database_url: str, info: dict, workdir: Path, log=print, *, tickets: int = 300,
        spread_s: float = 90.0, lead_s: float = 15.0, every: float = 5.0) -> dict:
    from sqlalchemy import select

    from models import Deadline, Deduction, User, db
    from workflows import clock, engine, sweeper

    app = make_app(database_url)
    rng = random.Random(5)
    with app.app_context():
        start = time.perf_counter()
        caught_up = sweeper.sweep()  # the data set's own misses, due long ago (real time now)
        catch_up_s = time.perf_counter() - start
        db.session.remove()
    log(f"  caught up {caught_up:,} old misses in {catch_up_s:.1f} s; starting the sweeper loop")

    sweeper_log = (workdir / "sweeper.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "flask"), "--app", "app", "sweep", "--every", f"{every:g}"], cwd=REPO,
        stdout=sweeper_log, stderr=subprocess.STDOUT,
        env={**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY})
    ids: list[int] = []
    late_registrations = 0
    try:
        time.sleep(2.0)
        with app.app_context():
            butler = db.session.get(User, info["subject_butler"])
            within = current_rules().kind("repair").deadlines["on_site"].within
            first_due = clock.now() + timedelta(seconds=lead_s)
            dues = sorted(first_due + timedelta(seconds=rng.uniform(0, spread_s))
                          for _ in range(tickets))
            log(f"  registering {tickets} back-dated repairs, due over {spread_s:.0f} s ...")
            for n, due in enumerate(dues):  # each its own words: a repeat would be refused
                ticket = engine.open_ticket(butler, "repair", f"补单 Detection latency {n}", "",
                                            rng.choice(info["units_of_subject"]),
                                            (due - within).isoformat())
                ids.append(ticket.id)
                if clock.now() >= due:
                    late_registrations += 1
            db.session.remove()
            wait = (dues[-1] - clock.now()).total_seconds() + 2 * every + 3
        log(f"  waiting {wait:.0f} s for the last one to fall due and be swept ...")
        time.sleep(max(0.0, wait))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        sweeper_log.close()

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
