"""The "Misses and fixes" part of results.md: what the first runs found and what was changed, and
why each goal still missed is missed, with the figures of this run."""
from __future__ import annotations

# Measured while the benchmarks were written (same machine, load average 15-20 from other work),
# before the fixes; kept here because a run after the fixes cannot measure them again.
BEFORE = """\
### Fixed after the first runs

The first runs (same machine, 10 k and 1 M tickets, before the changes below) found three plans
that read whole tables:

- **Butler queue** (`workflows.queries.queue`, `queue_counts`, `queue_buildings`): the scope is
  `(kind = 'repair' AND state IN (…open…)) OR (kind = 'complaint' AND …) OR …`; SQLite (no
  ANALYZE statistics, as the app never runs it) searched each branch through `ix_tickets_kind`
  (kind=?) and so read every ticket of every kind: the three queue queries took **7.4 s at 1 M
  against 0.13 s at 10 k (57×)**. Fix, in `models/tickets.py`: `Index("ix_tickets_kind_state",
  "kind", "state")`, replacing the index on `kind` alone (a prefix of it); each branch now reads
  only the open tickets of its kind (0.10 s at 1 M against 0.06 s at 10 k in the same
  development run). Migration `72f38224b59b`.
- **Supervisor's overdue list** (`workflows.queries.overdue_deadlines`): `OUTSTANDING OR (running
  AND due_at <= now)` cannot use the two partial indexes that hold exactly those rows (SQLite uses
  an index for an OR only when every branch constrains an indexed column) and scanned all
  deadlines: **1.1 s at 1 M against 0.09 s at 10 k (13×)**. Fix, in `workflows/queries.py`:
  `Deadline.id IN (… UNION ALL …)`, each half through its own partial index
  (`ix_deadlines_outstanding`, `ix_deadlines_running_due`).
- **Staff lists** (`queries.staff(role)`, run by every scorecard and so by the overdue page):
  `SCAN users`; users grow with the residents (7,225 here), not with the tickets, so this did not
  show in the ratios. Fix, in `models/people.py`: `role` gets `index=True` (`ix_users_role`).
"""

CRASH = """\
### An interpreter crash, found and guarded against (not a benchmark figure)

Serving `/supervisor/overdue` repeatedly on the 10 k data set killed the Python process within a
few requests (SIGSEGV, a corrupted heap), on CPython 3.11.2 and 3.11.7, not on 3.12.1. valgrind
found the cause: a CPython 3.11 bug, reproduced in 30 lines without SQLAlchemy by
`.venv/bin/python -m bench.crash_repro`. When the cyclic garbage collector starts while an
object's inline attributes are being moved into a dict, and a weakref callback it runs stores an
attribute on that same object, the attribute values are freed twice. SQLAlchemy's
`InstanceState` is such an object (its `_cleanup` callback), met when a session closes over
thousands of objects in reference cycles. Fix (`models/collector.py`): the collector is paused
while an app context, a session's lifetime, is open, and runs between requests (and between the
sweeper's passes); `tests/test_collector.py` makes the collector eager and checks that it never
starts while a session is open. `.venv/bin/python -m bench.crash_repro --app` serves the page
that crashed 30 times without a crash.
"""


def notes(report) -> list[str]:
    data = report.data
    out = [BEFORE]
    misses = []
    http = data.get("http")
    if http:
        alone = http["alone"]
        fewer = http["per_core"]
        per_core_text = (
            f"With one worker per core ({fewer['workers']}) instead, for comparison: "
            f"{fewer['closed']['throughput_rps']:.0f} requests/s at saturation (p99 "
            f"{fewer['closed']['all']['p99_ms']:.0f} ms), p99 {fewer['paced']['all']['p99_ms']:.0f} "
            "ms paced (section 3).")
        if http["share"] < 0.40:
            misses.append(
                f"- **Throughput {http['share']:.0%} of bare Flask (goal ≥ 40%)**, "
                f"{http['desk_rps']:.0f} against {http['bare_rps']:.0f} requests/s: ButlerDesk "
                f"spends {http['cpu_ratio']:.0f}× the server CPU per request. The bare endpoint does "
                "nothing but parse and answer JSON; a create runs "
                f"{alone['statements_create']} SQL statements and a fire "
                f"{alone['statements_fire']} ({alone['create_ms']:.0f} ms and "
                f"{alone['fire_ms']:.0f} ms in-process, one at a time), each a write transaction "
                "(BEGIN IMMEDIATE, so SQLite writers queue one at a time), then reads the whole "
                "ticket back for the answer (ticket, people, deadlines, events, attachments: about "
                "a third of the time in a profile). The goal would need ButlerDesk to cost at most "
                "2.5× an empty endpoint; no tuning of these paths gets there. Where time could be "
                "saved (not changed here: views/api.py and workflows/engine.py are not the "
                "benchmark's): answering from the objects the engine already holds instead of "
                "re-reading the ticket, and fewer lazy loads of the same users.")
        if http["desk_p99"] > 50:
            misses.append(
                f"- **p99 {http['desk_p99']:.0f} ms with 32 clients at saturation (goal ≤ 50 ms)**: "
                "with 32 requests always in flight, the mean latency is 32 / throughput (Little's "
                f"law): 32 / {http['desk_rps']:.0f} requests/s = {32 / http['desk_rps'] * 1000:.0f} ms"
                ". A p99 of 50 ms with 32 clients that never pause needs a server answering at "
                f"least 640 requests/s, {640 / http['desk_rps']:.0f} times what ButlerDesk answered "
                "here. The paced "
                "run (half the throughput) shows the latency when requests do not queue behind "
                "each other.")
        paced = http["paced"]["ButlerDesk"]["all"]
        if paced["p99_ms"] > 50:
            misses.append(
                f"- **p99 {paced['p99_ms']:.0f} ms paced at half the throughput (goal ≤ 50 ms)**, "
                f"p50 {paced['p50_ms']:.0f} ms: even unqueued, a create takes "
                f"{alone['create_ms']:.0f} ms and a fire {alone['fire_ms']:.0f} ms in-process on "
                "this machine, and concurrent writers wait for SQLite's write lock (its busy "
                "handler sleeps in steps of up to 100 ms), so the tail is a few service times "
                "long. " + per_core_text)
    if http:
        fewer, configured = http["per_core"], http["desk_rps"]
        if fewer["closed"]["throughput_rps"] > configured:
            misses.append(
                f"- **Worker count on SQLite.** With one worker per core ({fewer['workers']}) "
                f"ButlerDesk answered {fewer['closed']['throughput_rps']:.0f} requests/s at "
                f"saturation against {configured:.0f} with the configured "
                f"{http['settings'].get('workers', '?')}, at "
                f"{fewer['closed']['server_cpu_ms_per_request']:.0f} ms of CPU a request "
                "instead of "
                f"{http['closed']['ButlerDesk'][0]['server_cpu_ms_per_request']:.0f}"
                f"–{http['closed']['ButlerDesk'][-1]['server_cpu_ms_per_request']:.0f} (one run "
                "each, not taken turn about: indicative). Every request here writes, SQLite takes "
                "one writer at a time, and more processes than cores only add waiting in its busy "
                "handler and switching. gunicorn.conf.py's 2 × cores + 1 suits PostgreSQL; on "
                "SQLite `WEB_CONCURRENCY` = cores looks better (not changed here: gunicorn.conf.py "
                "is not the benchmark's).")
    missed = data.get("misses")
    if missed and missed["median"] > 1.0:
        per = missed["median"] / missed["misses"] * 1e6
        misses.append(
            f"- **{missed['misses']:,} misses in {missed['median']:.1f} s (goal ≤ 1 s)**, "
            f"{per:.0f} µs a miss, in 20 transactions of 500. The writes already go straight "
            "into the tables (Core executemany, commit 2974248). In a profile of this path the "
            "database's own work (per batch: the candidates, the owners, the UPDATE … RETURNING, "
            "two executemany INSERTs, the commit) is about a third; the rest is Python per row: "
            "building each deduction's and event's dict and the event's JSON "
            "(workflows/deadlines.py `_write_misses`), and SQLAlchemy turning every value into "
            "its SQLite parameter (the UTCDateTime bind processor and the DATETIME string format, "
            "three times per miss, about a sixth). Nothing there reads more than the rows due "
            "(the candidates come through the partial index on running deadlines), so the cost is "
            "per miss, not per ticket. What is left to win is Python per row; not changed here, "
            "workflows/deadlines.py is not the benchmark's.")
    if misses:
        out += ["### Goals missed in this run", ""] + misses + [""]
    out.append(CRASH)
    return out
