"""`make bench` (python -m bench): run every benchmark, print the figures and write
bench/results.md.

    python -m bench                          # everything, SQLite (temporary copies of cached data)
    python -m bench --only sweep,pages       # some of: sweep, pages, misses, http, logins,
                                             # detection, notices, import
    python -m bench --sizes 10000,100000     # other data set sizes (the first is the baseline)
    DATABASE_URL=postgresql+psycopg://... python -m bench   # on PostgreSQL (schemas bench_*),
                                                            # into bench/results-postgresql.md

On PostgreSQL the data sets are written into schemas named bench_* of the database DATABASE_URL
names, which are dropped first and at the end; nothing else in that database is touched. A SQLite
DATABASE_URL is ignored: SQLite runs always use temporary files, never the dev database.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.common import BENCH, NOW, REPO, SCORECARD_MONTH, cpu_speed_reference, machine, ms

ALL = ("sweep", "pages", "misses", "http", "logins", "detection", "notices", "import")


def log(message: str) -> None:
    print(message, flush=True)


class Report:
    def __init__(self):
        self.summary: list[tuple] = []
        self.sections: list[str] = []
        self.notes: list[str] = []
        self.data: dict = {}  # each benchmark's results, for the notes

    def figure(self, number: str, name: str, value: str, goal: str, ok: bool | None, why: str = ""):
        verdict = "PASS" if ok else ("MISS" if ok is not None else "info")
        self.summary.append((number, name, value, goal, verdict, why))
        log(f"  [{verdict}] {name}: {value}   (goal {goal})"
            + (f" — {why}" if why and not ok else ""))

    def section(self, text: str, order: str = "") -> None:
        """A part of the report; parts are written in `order` (then as added)."""
        self.sections.append((order, len(self.sections), text.rstrip() + "\n"))

    def write(self, path: Path, header: dict) -> None:
        lines = ["# ButlerDesk benchmarks", "",
                 "Written by `make bench` (`python -m bench`, see bench/__main__.py); every run "
                 "replaces this file.", ""]
        lines += ["| machine | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in header.items()]
        lines += ["", "## Summary", "",
                  "| # | figure | measured | goal | result |", "|---|---|---|---|---|"]
        for number, name, value, goal, verdict, why in self.summary:
            shown = f"**{verdict}**" if verdict == "MISS" else verdict
            lines.append(f"| {number} | {name} | {value} | {goal} | {shown}"
                         + (f": {why}" if why and verdict == "MISS" else "") + " |")
        lines.append("")
        if self.notes:
            lines += ["## Misses and fixes", ""] + self.notes + [""]
        lines += [text for _order, _n, text in sorted(self.sections)]
        path.write_text("\n".join(lines))


# -- data sets --------------------------------------------------------------------------------

class Backend:
    """Where the data sets live: temporary SQLite copies of cached files, or PostgreSQL schemas."""

    def __init__(self, workdir: Path):
        url = os.environ.get("DATABASE_URL", "")
        self.postgres = url.startswith("postgresql")
        self.base_url, self.workdir, self.schemas = url, workdir, []

    @property
    def name(self) -> str:
        return "PostgreSQL" if self.postgres else "SQLite"

    def dataset(self, size: int, purpose: str) -> tuple[str, dict, str]:
        """(url, info, how it was obtained) of a private copy of the `size` data set."""
        from bench import generate

        if self.postgres:
            schema = f"bench_{purpose}"
            started = time.perf_counter()
            info = generate.generate(size, generate.PostgresWriter(self.base_url, schema))
            self.schemas.append(schema)
            sep = "&" if "?" in self.base_url else "?"
            url = f"{self.base_url}{sep}options=-csearch_path%3D{schema}"
            return url, info, f"generated in {time.perf_counter() - started:.0f} s (COPY)"
        path, info, built = generate.sqlite_dataset(size, log=log)
        copy = self.workdir / f"{purpose}.sqlite3"
        started = time.perf_counter()
        shutil.copyfile(path, copy)
        how = (f"generated in {info['seconds']:.0f} s" if built else "cached") + \
              f", copied in {time.perf_counter() - started:.1f} s"
        return f"sqlite:///{copy}", info, how

    def server_version(self) -> str | None:
        if not self.postgres:
            return None
        from sqlalchemy import create_engine, text

        engine = create_engine(self.base_url)
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar()
            fsync = connection.execute(text("SHOW fsync")).scalar()
        engine.dispose()
        return f"{version}, fsync {fsync}"

    def cleanup(self) -> None:
        if self.postgres and self.schemas:
            from sqlalchemy import create_engine, text

            engine = create_engine(self.base_url)
            with engine.begin() as connection:
                for schema in self.schemas:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


# -- the benchmarks ---------------------------------------------------------------------------

def ratio_text(value: float) -> str:
    return f"{value:.2f}×"


PAGE_FIGURE = re.compile(r"^\| 4 \| (.+): ([\d,]+) / ([\d,]+) \| ([\d.]+)× \(([^)]*)\)")
NOISE = 0.25  # how far a page's ratio moved between runs of the same code on this machine


def last_page_ratios(path: Path) -> dict:
    """Figure 4's ratios in the results file a run is about to replace: {(page, large, small):
    (ratio, "its times")}, and the file's date under "date"."""
    found = {}
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        if line.startswith("| date | "):
            found["date"] = line.split("|")[2].strip()
        match = PAGE_FIGURE.match(line)
        if match:
            name, large, small, ratio, times = match.groups()
            found[(name, int(large.replace(",", "")), int(small.replace(",", "")))] = (
                float(ratio), times)
    return found


def one_estate_comparison(report: Report, pages: dict, small: int, large: int) -> list[str]:
    """Each page's ratio against the one in the last results file (one estate, until the run
    that brought in 20): unchanged is within NOISE of it."""
    last = report.data["last"]
    before = {name: last[(name, large, small)] for name in pages if (name, large, small) in last}
    if not before:
        return []
    now = {name: pages[name][large] / pages[name][small] for name in before}
    worse = [name for name in before if now[name] > before[name][0] + NOISE]
    report.figure("4", f"pages' {large:,} / {small:,} ratios against the last results.md "
                  f"({last.get('date', '?')})",
                  ", ".join(f"{name} {ratio_text(now[name])} (was {ratio_text(before[name][0])})"
                            for name in before),
                  f"unchanged: each within +{NOISE:.2f}× of its last ratio (noise)", not worse,
                  "worse: " + ", ".join(worse) if worse else "")
    return ["", f"The pages of the last run (results.md of {last.get('date', '?')}) with their "
            f"{large:,} / {small:,} ratios then and now; between runs of the same code on this "
            f"machine a ratio moved by up to about {NOISE:.2f}×.", "",
            "| page | last run | this run |", "|---|---|---|",
            *[f"| {name} | {ratio_text(before[name][0])} ({before[name][1]}) | "
              f"{ratio_text(now[name])} ({ms(pages[name][large])} / {ms(pages[name][small])}) |"
              for name in before]]


def run_db(report: Report, backend: Backend, sizes: list[int], only: set[str]) -> None:
    from bench import dbbench
    from workflows import sweeper

    small, large = sizes[0], sizes[-1]
    datasets = {}
    section = [f"## 1. Data sets ({backend.name})", "",
               "Generated by bench/generate.py with bulk inserts (sqlite3 `executemany`; "
               "`COPY` on PostgreSQL), indexes built after the rows. The same company (20 estates, "
               "7,200 units, 12 butlers: bench/generate.py) and the same "
               "present (open tickets, running and overdue deadlines) in every size; only the "
               "history (closed tickets with their events and deadlines) grows. "
               f"Written as of {NOW.isoformat()}; the benchmarks that read them set the one "
               "clock there, frozen (`workflows.clock.replaying_at`).", "",
               "| tickets | events | deadlines | deductions | appeals | reviews | users "
               "| obtained |",
               "|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        log(f"data set of {size:,} tickets ...")
        url, info, how = backend.dataset(size, f"data_{size}")
        datasets[size] = (url, info)
        c = info["counts"]
        section.append(f"| {c['tickets']:,} | {c['events']:,} | {c['deadlines']:,} | "
                       f"{c['deductions']:,} | {c['appeals']:,} | {c['reviews']:,} | "
                       f"{c['users']:,} | {how} |")
        report.figure("1", f"generate {size:,} tickets", f"{info['seconds']:.0f} s"
                      + ("" if how.startswith("generated") else " (an earlier run; cached)"),
                      "minutes, not hours", info["seconds"] < 1800)
    report.section("\n".join(section), "1")
    sites = [dbbench.Site(size, *datasets[size]) for size in sizes]
    try:
        if "sweep" in only:
            log("sweep with nothing due ...")
            result = report.data["sweep"] = dbbench.sweep_nothing_due(sites)
            secs = result["seconds"]
            ratio = secs[large] / secs[small]
            report.figure("2", f"sweep, nothing due: {large:,} / {small:,} tickets",
                          f"{ratio_text(ratio)} ({ms(secs[large])} / {ms(secs[small])})", "≤ 2×",
                          ratio <= 2)
            report.section("\n".join([
                "## 2. The sweeper", "",
                "`workflows.sweeper.sweep()` in an app context at the data set's now, median of "
                f"{len(result['samples'][small])} sweeps, sizes taken turn about. Nothing is due "
                "(the data sets hold no unrecorded miss; the first sweep recorded "
                + ", ".join(f"{n}" for n in result["first_sweep_recorded"].values()) + ").", "",
                "| tickets | sweep, nothing due |", "|---|---|",
                *[f"| {size:,} | {ms(secs[size])} |" for size in sizes]]), "2")
        if "pages" in only:
            log("pages and query plans ...")
            result = report.data["pages"] = dbbench.pages(sites)
            rows = ["## 4. Queue, overdue list, scorecards", "",
                    "Each page through the Flask test client (session of the butler whose queue "
                    "it is, of the supervisor of that butler's estate, one of the 20, or of the "
                    "company's admin, who sees all 20; templates included), median of 15 "
                    "requests, sizes taken turn about; then the workflow functions the view "
                    "calls, alone. "
                    f"Scorecards of {SCORECARD_MONTH} (the last month before now). The overdue "
                    "list also computes this month's scorecards of every butler.", "",
                    "| page | " + " | ".join(f"{s:,}" for s in sizes) + " | ratio | functions: "
                    + " | ".join(f"{s:,}" for s in sizes) + " | ratio |",
                    "|---|" + "---|" * (2 * len(sizes) + 2)]
            for name, times in result["pages"].items():
                fn = result["functions"][name]
                ratio, fn_ratio = times[large] / times[small], fn[large] / fn[small]
                rows.append(f"| {name} | " + " | ".join(ms(times[s]) for s in sizes)
                            + f" | {ratio_text(ratio)} | " + " | ".join(ms(fn[s]) for s in sizes)
                            + f" | {ratio_text(fn_ratio)} |")
                report.figure("4", f"{name}: {large:,} / {small:,}",
                              f"{ratio_text(ratio)} ({ms(times[large])} / {ms(times[small])})",
                              "≤ 2×", ratio <= 2)
            rows += one_estate_comparison(report, result["pages"], small, large)
            rows += ["", f"### Query plans ({large:,} tickets)", "",
                     "Every SELECT each page runs, with its plan (`EXPLAIN QUERY PLAN` on SQLite, "
                     "`EXPLAIN` on PostgreSQL) and its time alone. A *full scan* is a plan line "
                     "that reads a whole big table (tickets, events, deadlines, deductions) or a "
                     "whole index of one; a partial index (live rows only) does not count."]
            found = report.data["plans"] = dbbench.plans(sites[-1])
            scans_total = 0
            for name, page in found.items():
                entries = page["entries"]
                scans = [s for e in entries for s in e["scans"]]
                scans_total += len(scans)
                rows += ["", f"#### {name}: {page['executed']} statements executed, "
                         f"{len(entries)} distinct SELECTs, "
                         + (f"**{len(scans)} full scan(s)**" if scans else "no full scan"), ""]
                for entry in entries:
                    sql = " ".join(entry["sql"].split())
                    if len(sql) > 600:
                        sql = sql[:600] + " …"
                    rows += ["```sql", sql, "```", "```"] + entry["plan"] + \
                        [f"-- {ms(entry['seconds'])}"
                         + (f"; FULL SCAN: {'; '.join(entry['scans'])}" if entry["scans"] else ""),
                         "```"]
            report.figure("4", f"full scans in the plans of these pages ({large:,})",
                          str(scans_total), "0", scans_total == 0)
            report.section("\n".join(rows), "4")
        if "misses" in only:
            log("recording 10,000 misses at once ...")
            result = report.data["misses"] = dbbench.sweep_misses(sites[-1])
            ok = all(r == result["misses"] for r in result["recorded"])
            report.figure("2",
                          f"one sweep recording {result['misses']:,} misses ({large:,} tickets)",
                          ms(result["median"]),
                          "≤ 1 s" if not backend.postgres else "≤ 1 s (set for SQLite)",
                          result["median"] <= 1.0 and ok,
                          "" if ok else f"recorded {result['recorded']}")
            report.section("\n".join([
                "### Recording 10,000 misses in one sweep", "",
                f"10,000 open repairs whose on-site deadline passed 1–60 minutes ago are added to "
                f"the {large:,} data set (bulk insert), then one `sweep()` records them all "
                f"(batches of {sweeper.BATCH:,}, each its own transaction: the UPDATE … RETURNING, "
                "the deductions and events by INSERT … SELECT). Three rounds:", "",
                "| round | recorded | time |", "|---|---|---|",
                *[f"| {i + 1} | {r:,} | {ms(s)} |"
                  for i, (r, s) in enumerate(zip(result["recorded"], result["seconds"],
                                                 strict=False))]]), "2b")
    finally:
        for site in sites:
            site.dispose()


def run_http(report: Report, backend: Backend, size: int, workdir: Path) -> None:
    from bench import http

    log("HTTP: gunicorn, ButlerDesk beside a bare Flask app ...")
    url, info, how = backend.dataset(size, "http")
    result = report.data["http"] = http.run(url, info, workdir, log=log)
    from bench.common import median as med

    bare_rps = med([r["throughput_rps"] for r in result["closed"]["bare"]])
    desk_rps = med([r["throughput_rps"] for r in result["closed"]["ButlerDesk"]])
    share = desk_rps / bare_rps
    desk_p99 = med([r["all"]["p99_ms"] for r in result["closed"]["ButlerDesk"]])
    paced = result["paced"]
    cpu_ratio = (med([r["server_cpu_ms_per_request"] for r in result["closed"]["ButlerDesk"]])
                 / med([r["server_cpu_ms_per_request"] for r in result["closed"]["bare"]]))
    report.figure("3", "throughput, ButlerDesk / bare Flask (32 clients)",
                  f"{share:.0%} ({desk_rps:.0f} / {bare_rps:.0f} requests/s)", "≥ 40%",
                  share >= 0.40, "see 3. below")
    report.figure("3", "p99 latency, ButlerDesk, 32 clients at saturation",
                  f"{desk_p99:.0f} ms (p50 "
                  f"{med([r['all']['p50_ms'] for r in result['closed']['ButlerDesk']]):.0f} ms)",
                  "≤ 50 ms", desk_p99 <= 50, "queueing: see 3. below")
    report.figure("3",
                  f"p99 latency, ButlerDesk, 32 clients paced at {result['paced_rate']:.0f} "
                  "requests/s (half its throughput)",
                  f"{paced['ButlerDesk']['all']['p99_ms']:.0f} ms "
                  f"(p50 {paced['ButlerDesk']['all']['p50_ms']:.0f} ms)",
                  "≤ 50 ms", paced["ButlerDesk"]["all"]["p99_ms"] <= 50)
    report.figure("3", "server CPU per request, ButlerDesk / bare", f"{cpu_ratio:.1f}×", "(info)",
                  None)
    result["cpu_ratio"], result["share"], result["desk_rps"], result["bare_rps"] = \
        cpu_ratio, share, desk_rps, bare_rps
    result["desk_p99"] = desk_p99

    def row(name, r):
        a, c, f = r["all"], r["create"], r["fire"]
        return (f"| {name} | {r['mode']} | {r['throughput_rps']:.0f} | {a['p50_ms']:.1f} | "
                f"{a['p99_ms']:.1f} | {c.get('p99_ms', float('nan')):.1f} | "
                f"{f.get('p99_ms', float('nan')):.1f} | {r['errors']} | "
                f"{r['server_cpu_ms_per_request']:.2f} | {r['server_cpu_share']:.0%} | "
                f"{r['client_cpu_s']:.1f} s |")

    settings = result["settings"]
    lines = ["## 3. HTTP: create + fire under gunicorn", "",
             f"Both servers run at once with the same settings, the project's "
             f"`{settings.get('config')}` (`make serve`): "
             + ", ".join(f"{k} = {v}" for k, v in settings.items() if k != "config")
             + " (the access log goes to /dev/null for both). ButlerDesk serves a copy of the "
             f"{size:,} data set ({how}); the bare app (bench/bare_app.py) answers the same two "
             "POSTs with a small JSON body and touches no database.", "",
             f"The load generator (bench/loadgen.py) is one asyncio process over raw HTTP/1.1 "
             f"sockets: {result['clients']} clients, each repeating POST /api/v1/tickets (a repair "
             "in the butler's area, bearer token) then POST …/fire (dispatch, with the version "
             "read). gunicorn's sync workers close the connection after each response, so every "
             "request includes a reconnect, for both servers alike. *closed*: each client sends "
             f"as soon as it has its answer ({result['rounds']} rounds of "
             f"{result['duration']:.0f} s per server, taken turn about, after 3 s of warm-up; "
             "throughput and latency are the "
             "median of the rounds). *paced*: each client starts an iteration on a fixed schedule "
             f"adding up to {result['paced_rate']:.0f} requests/s, latency measured from the "
             f"scheduled start, for {2 * result['duration']:.0f} s (twice as long, so that the p99 "
             "rests on some 20 slowest requests rather than 10).", "",
             "| server | mode | requests/s | p50 ms | p99 ms | create p99 | fire p99 | errors | "
             "server CPU ms/request | server CPU share | client CPU |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in ("bare", "ButlerDesk"):
        for r in result["closed"][name]:
            lines.append(row(name, r))
    for name in ("bare", "ButlerDesk"):
        lines.append(row(name, paced[name]))
    other = result["other_workers"]
    for mode in ("closed", "paced"):
        lines.append(row(f"ButlerDesk, workers = {other['workers']} (info)", other[mode]))
    errors = {name: [r["statuses"] | r["exceptions"] for r in runs if r["errors"]]
              for name, runs in result["closed"].items()}
    if any(errors.values()):
        lines += ["", f"Errors: {json.dumps(errors)}"]
    lines += ["", "Server CPU share: CPU seconds of the gunicorn master and workers per second "
              "of the run (200% would be both cores). The last two rows are ButlerDesk again with "
              f"{other['workers']} workers, the count gunicorn.conf.py gives the other database, "
              "for comparison only. On SQLite every create and fire is a write transaction and "
              "writers go one at a time (queued on a lock file, models.SQLiteConnection), so "
              "processes beyond one per core add switching, not throughput; on PostgreSQL a "
              "request mostly waits on the database and more processes keep the cores busy."]
    alone = result["alone"]
    lines += ["", f"The same create + fire through the Flask test client, one at a time (no HTTP, "
              f"no other request): create {alone['create_ms']:.1f} ms and "
              f"{alone['statements_create']} SQL statements, fire {alone['fire_ms']:.1f} ms and "
              f"{alone['statements_fire']} statements (median of 60)."]
    report.section("\n".join(lines), "3")


def run_logins(report: Report, backend: Backend, size: int, workdir: Path) -> None:
    from bench import http

    log("logins while others write, under gunicorn ...")
    url, info, how = backend.dataset(size, "logins")
    result = report.data["logins"] = http.logins_during_writes(url, info, workdir, log=log)
    logins, writes = result["logins"], result["writes"]
    errors = logins["errors"] + writes["errors"]
    report.figure("6", f"errors: {result['clients']} clients logging in while {result['clients']} "
                  f"create and fire, {result['duration']:.0f} s",
                  f"{errors} ({logins['requests']} logins, {writes['requests']} writes)",
                  "0", errors == 0)

    def row(name: str, r: dict, calls: str) -> str:
        return (f"| {name} | {r['requests']} | {r['throughput_rps']:.1f} | "
                f"{r[calls]['p50_ms']:.0f} | {r[calls]['p99_ms']:.0f} | {r['errors']} | "
                f"{json.dumps(r['statuses'] | r['exceptions']) if r['errors'] else ''} |")

    report.section("\n".join([
        "## 6. Logins while others write", "",
        f"One gunicorn server with the settings of `make serve` on a copy of the {size:,} data "
        f"set ({how}). {result['clients']} clients log in over and over (POST /api/v1/tokens, "
        "right password: a scrypt check, then a login row written) while "
        f"{result['clients']} others create and fire tickets as in section 3, for "
        f"{result['duration']:.0f} s after 2 s of warm-up. The login limit per address is lifted "
        "for the run (every client is 127.0.0.1); its counters are written all the same.", "",
        "| load | requests | per second | p50 ms | p99 ms | errors | what failed |",
        "|---|---|---|---|---|---|---|",
        row("logins", logins, "login"), row("create + fire", writes, "all"), "",
        "Before logins went through the write path, most of them answered 500 (`database is "
        "locked` at the token insert) under this load."]), "6")


def run_detection(report: Report, backend: Backend, size: int, workdir: Path) -> None:
    from bench import detection

    log("detection latency with `flask sweep --every 5` running ...")
    url, info, how = backend.dataset(size, "detection")
    result = report.data["detection"] = detection.run(url, info, workdir, log=log)
    ok = result["recorded"] == result["tickets"]
    report.figure("5", "detection latency p99 (due → deduction recorded)",
                  f"{result['p99_s']:.2f} s (p50 {result['p50_s']:.2f} s, "
                  f"max {result['max_s']:.2f} s)",
                  "≤ 5 s", result["p99_s"] <= 5 and ok,
                  "" if ok else f"only {result['recorded']} of {result['tickets']} recorded")
    report.section("\n".join([
        "## 5. Detection latency", "",
        f"`flask --app app sweep --every {result['every']:g}` runs as its own process on a copy of "
        f"the {size:,} data set ({how}; the {result['caught_up']:,} misses that data set had "
        f"accumulated by today were recorded first, in {result['catch_up_s']:.1f} s). "
        f"{result['tickets']} repairs are registered through the engine as calls taken "
        "earlier (a back-dated `reported_at`), so that their 20-minute on-site deadlines fall "
        f"due at random moments over {result['spread_s']:.0f} s of real time; nobody acts on them. "
        "Latency = `recorded_at − missed_at` of each deduction (missed_at is the due time).", "",
        "| recorded | p50 | p99 | max | min |", "|---|---|---|---|---|",
        f"| {result['recorded']} / {result['tickets']} | {result['p50_s']:.2f} s | "
        f"{result['p99_s']:.2f} s | {result['max_s']:.2f} s | {result['min_s']:.2f} s |",
        "", f"Registrations that came after their own due time (the engine then records the "
        f"miss itself): {result['late_registrations']}."]), "5")


def run_notices(report: Report, backend: Backend, size: int, workdir: Path) -> None:
    from bench import notices
    from workflows import delivery

    log("notices: the outbox's cost, a backlog of 10,000, delivery lag with the loops ...")
    url, info, how = backend.dataset(size, "notices_lag")
    backlog_url, _info, _how = backend.dataset(size, "notices_backlog")
    cost_url, _info, _how = backend.dataset(size, "notices_cost")
    result = report.data["notices"] = notices.run(url, backlog_url, cost_url, info, workdir,
                                                  log=log)
    lag, sent, cost, poll = result["lag"], result["backlog"], result["cost"], result["poll"]
    ok = lag["arrived"] == lag["notices"] > 0
    report.figure("7", "delivery lag p99 (due → at the SMTP server / webhook receiver), "
                  "loops of `make serve`, under load",
                  f"{lag['p99_s']:.2f} s (p50 {lag['p50_s']:.2f} s, max {lag['max_s']:.2f} s)",
                  "≤ 5 s", lag["p99_s"] <= 5 and ok,
                  "" if ok else f"only {lag['arrived']} of {lag['notices']} arrived")
    report.figure("7", f"{sent['count']:,} email notices due at once: ButlerDesk's worker / a "
                  "bare smtplib send of the same messages",
                  f"{sent['desk_per_s'] / sent['bare_per_s']:.0%} ({sent['desk_per_s']:.0f} / "
                  f"{sent['bare_per_s']:.0f} messages/s)", "(info: against a bare send)",
                  None if sent["received"] == sent["count"] else False,
                  f"{sent['received']:,} of {sent['count']:,} arrived")
    report.figure("7", "create + fire with notices / without",
                  f"{ratio_text(cost['ratio'])} ({cost['with_ms']:.1f} / "
                  f"{cost['without_ms']:.1f} ms)", "≤ 1.2×", cost["ratio"] <= 1.2)
    report.figure("7", "a live page's poll, nothing new (304) / reloading the queue",
                  f"{poll['poll_ms'] / poll['reload_ms']:.0%} ({poll['poll_ms']:.1f} / "
                  f"{poll['reload_ms']:.1f} ms): one core keeps {poll['tabs_per_core']:,.0f} "
                  "tabs live at a poll every 4 s", "(info: polling, not SSE)", None)
    report.section("\n".join([
        "## 7. Notices", "",
        f"Each on a copy of the {size:,} data set ({how}), SQLite's or PostgreSQL's as above.", "",
        "**Delivery lag.** `flask --app app sweep --every 5` and `flask --app app notify --every "
        "2` run as processes, as `make serve` runs them, beside one gunicorn server (its "
        "settings) that a paced create + fire load keeps busy at "
        f"{lag['rate']:.0f} requests/s (8 clients: a repair registered and dispatched every "
        f"{2 / lag['rate']:.1f} s, far more than an estate's day; each create and dispatch also "
        "tells the group webhook, so the worker has that to send too). "
        f"{lag['tickets']} back-dated repairs miss their on-site deadline at random moments over "
        f"{lag['spread_s']:.0f} s; every miss tells the supervisors (given "
        "addresses for the run) by email and the group webhook in WeCom's format. The receivers "
        "are an aiosmtpd server and an HTTP receiver (those of tests/servers.py) in the "
        "benchmark's process. Lag = arrival − the deadline's due time, of every escalation "
        "sent.", "",
        "| notices | arrived | p50 | p99 | max |", "|---|---|---|---|---|",
        f"| {lag['notices']} | {lag['arrived']} | {lag['p50_s']:.2f} s | {lag['p99_s']:.2f} s | "
        f"{lag['max_s']:.2f} s |", "",
        f"The load answered {lag['load_rps']:.0f} requests/s meanwhile, with "
        f"{lag['load_errors']} error(s); {lag['late_registrations']} repair(s) were registered "
        "after their own due time.", "",
        f"**A backlog.** {sent['count']:,} email notices (to one supervisor, of as many tickets) "
        "are made pending and due at once, then `workflows.delivery.deliver()` sends them all "
        "(one worker, in-process, batches of "
        f"{delivery.BATCH}: claim, read, send, record); then "
        "the same messages, built beforehand, are sent again with bare smtplib, one connection "
        "each as the worker does, to the same server.", "",
        "| sender | messages | time | messages/s |", "|---|---|---|---|",
        f"| ButlerDesk's worker | {sent['sent']:,} | {sent['desk_s']:.1f} s | "
        f"{sent['desk_per_s']:.0f} |",
        f"| bare smtplib | {sent['count']:,} | {sent['bare_s']:.1f} s | "
        f"{sent['bare_per_s']:.0f} |", "",
        "**What the outbox costs a step.** create + fire (a repair, then dispatch) through the "
        "Flask test client, one at a time, with the notices made as usual (`for_new`, "
        "`for_step`: the rows, in the step's transaction) and with both doing nothing, taken "
        f"turn about, median of {cost['repeat']} each: {cost['with_ms']:.1f} ms with, "
        f"{cost['without_ms']:.1f} ms without ({ratio_text(cost['ratio'])}).", "",
        "**Polling, not server-sent events.** A page is kept live by `static/js/live.js`: "
        "GET /notices/unread every 4 s with the last ETag, a 304 when nothing is new. "
        f"Median of {poll['repeat']} through the test client, turn about with the queue page it "
        f"spares reloading: {poll['poll_ms']:.1f} ms a poll, {poll['reload_ms']:.1f} ms a "
        f"queue page, so one core keeps about {poll['tabs_per_core']:,.0f} open tabs live. An "
        "event stream would hold one of gunicorn's sync workers per open tab for as long as it "
        "is open (a handful per server), so polling it is."]), "7")


def run_import(report: Report, workdir: Path) -> None:
    from bench import estate_import

    log("bringing in an estate: 10,000 rows of an owner sheet ...")
    r = report.data["import"] = estate_import.run(workdir, log=log)
    ok = r["created"] == r["unchanged"] == r["back_unchanged"] == r["rows"] and not r["problems"]
    report.figure("8", f"import of an owner sheet of {r['rows']:,} rows (xlsx), SQLite",
                  f"{r['import_s']:.1f} s ({r['import_s'] / r['read_s']:.2f}× reading the sheet "
                  f"alone, {r['read_s']:.1f} s)", "in seconds (≤ 30 s)",
                  ok and r["import_s"] <= 30,
                  "" if ok else "the figures below do not add up to the rows")
    report.figure("8", "the same file again / the estate exported (xlsx) and imported back",
                  f"{r['reimport_s']:.1f} s / {r['export_s']:.1f} s + "
                  f"{r['export_reimport_s']:.1f} s",
                  "in seconds, nothing changed", ok and max(r["reimport_s"], r["export_s"]) <= 30)
    report.section("\n".join([
        "## 8. Bringing in an estate", "",
        f"`workflows.estate_import.import_owner_sheet` on a new SQLite database (the migrations), "
        f"always SQLite: an xlsx of {r['rows']:,} units with one resident each "
        f"({r['bytes'] / 1e6:.1f} MB, `tests.helpers.owner_rows`: 100 buildings in two areas), "
        "into a new estate; then the same file again; then the estate exported as xlsx and that "
        "imported back. The baseline is reading the sheet alone (`workflows.sheets."
        "read_owner_sheet`: openpyxl and the row checks), which every import does first.", "",
        "| step | seconds | rows created / unchanged |", "|---|---|---|",
        f"| reading the sheet alone | {r['read_s']:.2f} | |",
        f"| import, all new | {r['import_s']:.2f} | {r['created']:,} created |",
        f"| the same file again | {r['reimport_s']:.2f} | {r['unchanged']:,} unchanged |",
        f"| export (xlsx) | {r['export_s']:.2f} | |",
        f"| the export imported back | {r['export_reimport_s']:.2f} | "
        f"{r['back_unchanged']:,} unchanged |", "",
        "The import's own work (five queries to load the estate, the plan, bulk inserts with "
        "RETURNING, one transaction) is the difference to the baseline; openpyxl's reading of "
        "the workbook is most of the rest."]), "8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--sizes", default="10000,1000000",
                        help="data set sizes, comma-separated; the first is the baseline")
    parser.add_argument("--only", default=",".join(ALL), help="some of " + ",".join(ALL))
    parser.add_argument("--out", type=Path, default=None,
                        help="default bench/results.md, or bench/results-postgresql.md on "
                             "PostgreSQL")
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    header = machine()
    header["CPU speed reference"] = (f"{cpu_speed_reference() * 1000:.0f} ms "
                                     "(a fixed pure-Python loop; lower is faster)")
    workdir = Path(tempfile.mkdtemp(prefix="butlerdesk-bench-"))
    backend = Backend(workdir)
    out = args.out or BENCH / ("results-postgresql.md" if backend.postgres else "results.md")
    header["database"] = backend.name + (f" {backend.server_version()}" if backend.postgres else
                                         f" {header['SQLite']} (temporary files)")
    log("ButlerDesk benchmarks: " + ", ".join(f"{k} {v}" for k, v in header.items()))
    report = Report()
    report.data["last"] = last_page_ratios(out)
    report.data["database"] = backend.name
    failed = []
    try:
        if only & {"sweep", "pages", "misses"}:
            try:
                run_db(report, backend, sizes, only)
            except Exception:
                failed.append(("sweeper / pages", traceback.format_exc()))
        if "http" in only:
            try:
                run_http(report, backend, sizes[0], workdir)
            except Exception:
                failed.append(("http", traceback.format_exc()))
        if "logins" in only:
            try:
                run_logins(report, backend, sizes[0], workdir)
            except Exception:
                failed.append(("logins", traceback.format_exc()))
        if "detection" in only:
            try:
                run_detection(report, backend, sizes[0], workdir)
            except Exception:
                failed.append(("detection", traceback.format_exc()))
        if "notices" in only:
            try:
                run_notices(report, backend, sizes[0], workdir)
            except Exception:
                failed.append(("notices", traceback.format_exc()))
        if "import" in only:
            try:
                run_import(report, workdir)
            except Exception:
                failed.append(("import", traceback.format_exc()))
    finally:
        if not args.keep:
            backend.cleanup()
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    from bench.notes import notes

    report.notes = notes(report)
    for name, trace in failed:
        report.section(f"## FAILED: {name}\n\n```\n{trace}\n```", "9")
        log(f"FAILED: {name}\n{trace}")
    header["total time"] = f"{(time.perf_counter() - started) / 60:.1f} min"
    report.write(out, header)
    log(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out} "
        f"in {(time.perf_counter() - started) / 60:.1f} min")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
