"""Exactly-once deductions and no lost updates under concurrency, on the suite's database.

Several sweeper processes (`flask --app app sweep`) start at once against a database full of
deadlines that passed while nothing ran; some tests also fire engine triggers from threads of the
test process meanwhile. Whoever gets to a missed deadline first records it; every deadline that
passed has exactly one deduction, no deadline id is repeated, and a last sweep finds nothing.

The tickets are registered with the clock turned back (time-machine), then the clock is released:
the sweeper processes live in real time, in which those deadlines are all due.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlalchemy import func, select

from models import Deadline, DeadlineStatus, Deduction, Event, Notice, Ticket, db
from tests.api import token_for
from tests.conftest import PASSWORD, Desk
from tests.processes import REPO, app_env, flask_command
from workflows import deadlines, sweeper

DAY = timedelta(days=1)
PER_KIND = 30


@dataclass
class Backlog:
    """Tickets registered `back` ago, and how many deadlines of theirs are due by now."""

    back: timedelta
    repairs: list[int] = field(default_factory=list)
    complaints: list[int] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)       # renovation permits awaiting review
    renovating: list[int] = field(default_factory=list)    # renovation works in progress

    @property
    def inspection_misses(self) -> int:
        """Days of a renovation without an inspection: one miss per full day since it started."""
        return self.back // DAY

    @property
    def expected_misses(self) -> int:
        # A repair misses on_site (20 min) and completion (24 h); a complaint its reply (48 h);
        # an application its review (48 h); works in progress one inspection per day.
        assert self.back > 2 * DAY + timedelta(hours=1)
        return (2 * len(self.repairs) + len(self.complaints) + len(self.applied)
                + self.inspection_misses * len(self.renovating))


def register_backlog(app, estate, back: timedelta, *, per_kind: int = PER_KIND,
                     dispatch: bool = False, applied_share: float = 0.5) -> Backlog:
    """Register tickets of every kind at `now - back`, then hand the database to other processes.

    `back` should be a whole number of days less an hour, so that no deadline falls due within
    the seconds the test takes.
    """
    backlog = Backlog(back=back)
    then = datetime.now(UTC) - back
    n_applied = int(per_kind * applied_share)
    with app.app_context(), time_machine.travel(then, tick=False):
        desk = Desk(estate)
        residents = ["resident", "neighbour", "west_resident"]
        for i in range(per_kind):
            who = residents[i % 3]
            butler = "other_butler" if who == "west_resident" else "butler"
            repair = desk.open(who, "repair", title=f"Repair {i}")
            if dispatch:
                desk.fire(repair, "dispatch", butler, technician_id=estate.technician)
            backlog.repairs.append(repair.id)
            backlog.complaints.append(desk.open(who, "complaint", title=f"Complaint {i}").id)
            permit = desk.open(who, "renovation", title=f"Renovation {i}")
            if i < n_applied:
                backlog.applied.append(permit.id)
            else:
                desk.fire(permit, "approve", butler)
                desk.fire(permit, "start_works", who)
                backlog.renovating.append(permit.id)
        db.session.remove()
        db.engine.dispose()  # no connection of ours stays open while the sweepers run
    return backlog


def start_sweepers(database_url: str, count: int, *args: str) -> list[subprocess.Popen]:
    """`flask --app app sweep` processes, started one after the other as a shell would."""
    return [
        subprocess.Popen([*flask_command(), "--app", "app", "sweep", *args], cwd=REPO,
                         env=app_env(database_url), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]


# Starting Python and importing the app takes a second or so, much longer than a sweep, so
# processes started one after the other hardly overlap. These run the very `flask` command line
# (flask.cli.main, as the `flask` script does) but only once every one of them is ready.
_AT_THE_LINE = """
import sys, time
from pathlib import Path
from flask.cli import main
from app import create_app
create_app()  # the slow part (imports, rules), done once before the start line
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
give_up = time.monotonic() + 600  # the test failed before the start: don't linger
while not go.exists():
    if time.monotonic() > give_up:
        sys.exit("never started")
    time.sleep(0.002)
sys.argv = ["flask", "--app", "app", *sys.argv[3:]]
sys.exit(main())
"""


class StartingLine:
    """Sweeper processes that wait at a starting line until `go()`."""

    def __init__(self, database_url: str, workdir: Path, count: int, *args: str):
        self.ready = [workdir / f"ready-{i}" for i in range(count)]
        self.flag = workdir / "go"
        self.processes = [
            subprocess.Popen([sys.executable, "-c", _AT_THE_LINE, str(ready), str(self.flag),
                              "sweep", *args], cwd=REPO, env=app_env(database_url),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for ready in self.ready
        ]

    def go(self, timeout: float = 180) -> None:
        limit = time.monotonic() + timeout
        try:
            while not all(r.exists() for r in self.ready):
                failed = [p for p in self.processes if p.poll() is not None]
                assert not failed, failed[0].communicate()
                assert time.monotonic() < limit, "the sweepers never got ready"
                time.sleep(0.005)
        except BaseException:
            for process in self.processes:
                process.kill()
            raise
        self.flag.touch()


def finish(processes: list[subprocess.Popen], timeout: float = 180) -> list[int]:
    """Wait for every sweeper; each must succeed. Returns how many misses each recorded.
    (They take some 25 s on two cores; the timeout only catches one that hangs, so it leaves room
    for a machine busy with other work.)"""
    counts = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, err
        match = re.fullmatch(r"Recorded (\d+) missed deadline\(s\)\.\n", out)
        assert match, (out, err)
        counts.append(int(match.group(1)))
    return counts


def assert_exactly_once(expected: int) -> None:
    """One deduction (and one timeline event) per missed deadline, none for any other."""
    db.session.commit()
    repeated = db.session.execute(
        select(Deduction.deadline_id, func.count()).group_by(Deduction.deadline_id)
        .having(func.count() > 1)
    ).all()
    assert repeated == []
    missed = db.session.scalar(select(func.count()).select_from(Deadline)
                               .where(Deadline.status == DeadlineStatus.MISSED))
    deductions = db.session.scalar(select(func.count()).select_from(Deduction))
    events = db.session.scalar(select(func.count()).select_from(Event)
                               .where(Event.trigger == deadlines.MISS_TRIGGER))
    assert deductions == missed == events == expected
    not_missed = db.session.scalar(
        select(func.count()).select_from(Deduction).join(Deadline)
        .where(Deadline.status != DeadlineStatus.MISSED))
    assert not_missed == 0
    wrong_time = db.session.scalar(
        select(func.count()).select_from(Deduction).join(Deadline)
        .where(Deduction.missed_at != Deadline.due_at))
    assert wrong_time == 0
    open_twice = db.session.execute(
        select(Deadline.ticket_id, Deadline.name).where(
            Deadline.status.in_([DeadlineStatus.RUNNING, DeadlineStatus.PAUSED]))
        .group_by(Deadline.ticket_id, Deadline.name).having(func.count() > 1)
    ).all()
    assert open_twice == []


def assert_escalated_once() -> None:
    """Each miss still undone told to the supervisor once (the first level of the ladder), by
    whichever sweeper got there; none told twice, none left out."""
    keys = db.session.scalars(select(Notice.key).where(Notice.cause == "escalation")).all()
    first_level = [key.split(":") for key in keys if key.split(":")[2] == "0"]
    assert sorted(int(parts[1]) for parts in first_level) == sorted(
        db.session.scalars(select(Deadline.id).where(Deadline.outstanding)))


def _assert_inspections_chained(backlog: Backlog) -> None:
    """Each day's inspection period starts when the last one fell due: no gap, no overlap."""
    days = backlog.inspection_misses
    for permit in backlog.renovating:
        inspections = db.session.scalars(
            select(Deadline).where(Deadline.ticket_id == permit, Deadline.name == "inspection")
            .order_by(Deadline.seq)).all()
        assert [d.seq for d in inspections] == list(range(1, days + 2))
        assert [d.status for d in inspections] == ["missed"] * days + ["running"]
        assert all(a.due_at == b.armed_at
                   for a, b in zip(inspections, inspections[1:], strict=False))


def test_four_sweep_commands_at_once_record_each_miss_once(app, estate, database_url):
    """The issue's "four at once", with the `flask` script itself."""
    backlog = register_backlog(app, estate, back=10 * DAY - timedelta(hours=1))
    assert backlog.expected_misses == 2 * 30 + 30 + 15 + 9 * 15

    counts = finish(start_sweepers(database_url, 4))

    assert sum(counts) == backlog.expected_misses  # each miss was recorded by exactly one of them
    with app.app_context():
        assert_exactly_once(backlog.expected_misses)
        assert sweeper.sweep() == 0
        _assert_inspections_chained(backlog)
        assert_escalated_once()


def test_eight_sweepers_released_together_record_each_miss_once(app, estate, database_url,
                                                                tmp_path):
    """Eight sweep commands let go at the same moment share the catch-up, each miss once."""
    backlog = register_backlog(app, estate, back=20 * DAY - timedelta(hours=1))
    assert backlog.expected_misses == 2 * 30 + 30 + 15 + 19 * 15

    line = StartingLine(database_url, tmp_path, 8)
    line.go()
    counts = finish(line.processes)

    assert sum(counts) == backlog.expected_misses
    with app.app_context():
        assert_exactly_once(backlog.expected_misses)
        assert sweeper.sweep() == 0
        _assert_inspections_chained(backlog)
        assert_escalated_once()


def test_eight_sweepers_and_api_fires_at_once_record_each_miss_once(app, estate, database_url,
                                                                    tmp_path):
    """While eight sweepers catch up on a month of missed inspections, people act through the API.

    Each fire first records the ticket's own misses, so the sweepers and the API race for the
    same deadlines; a last in-process sweep finds nothing left.
    """
    backlog = register_backlog(app, estate, back=30 * DAY - timedelta(hours=1),
                               dispatch=True, applied_share=0)
    expected = backlog.expected_misses
    assert expected == 2 * 30 + 30 + 29 * 30

    # Interleave the kinds: an inspection (a month to catch up on), an arrival, an acceptance.
    work = [item for i in range(PER_KIND) for item in (
        (backlog.renovating[i], "inspect", None, {"result": "ok"}),
        (backlog.repairs[i], "arrive", "technician", {}),
        (backlog.complaints[i], "accept", None, {}),
    )]
    with app.app_context():
        butler_of = {ticket_id: "other_butler" if unit == estate.unit_w else "butler"
                     for ticket_id, unit in db.session.execute(select(Ticket.id, Ticket.unit_id))}
        db.session.remove()
    client = app.test_client()
    headers = {name: token_for(client, name) for name in ("butler", "other_butler", "technician")}

    def act(item):
        ticket_id, trigger, who, data = item
        client = app.test_client()
        headers_of = headers[who or butler_of[ticket_id]]
        version = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers_of).json["version"]
        reply = client.post(f"/api/v1/tickets/{ticket_id}/fire", headers=headers_of,
                            json={"trigger": trigger, "version": version, **data})
        assert reply.status_code == 200, reply.json
        return reply.json["state"]

    line = StartingLine(database_url, tmp_path, 8)
    line.go()
    with ThreadPoolExecutor(max_workers=4) as pool:
        states = list(pool.map(act, work))
    counts = finish(line.processes)

    assert states == ["in_progress", "on_site", "accepted"] * PER_KIND
    assert sum(counts) <= expected  # the rest were recorded by the API's fires
    with app.app_context():
        assert_exactly_once(expected)
        assert sweeper.sweep() == 0
        # Each inspection met the day's period and armed the next; the days before were missed.
        for permit in backlog.renovating:
            statuses = db.session.scalars(
                select(Deadline.status).where(Deadline.ticket_id == permit,
                                              Deadline.name == "inspection")
                .order_by(Deadline.seq)).all()
            assert statuses == ["missed"] * 29 + ["met", "running"]


def test_twenty_fires_on_one_version_one_wins_the_rest_conflict(app, estate):
    """Twenty clients send a step for the same version at the same moment: one is applied, the
    others get 409 and change nothing; the winner's update is whole and not overwritten."""
    with app.app_context():
        desk = Desk(estate)
        ticket = desk.open("resident", "complaint")
        ticket_id, version = ticket.id, ticket.version
        db.session.remove()
    headers = token_for(app.test_client(), "butler")
    start = threading.Barrier(20)

    def reply_with(note):
        client = app.test_client()
        start.wait()
        reply = client.post(f"/api/v1/tickets/{ticket_id}/fire", headers=headers,
                            json={"trigger": "accept", "version": version, "note": note})
        return note, reply.status_code, reply.json

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(reply_with, [f"Reply {i}" for i in range(20)]))

    statuses = sorted(status for _note, status, _body in replies)
    assert statuses == [200] + [409] * 19
    winner = next(note for note, status, _body in replies if status == 200)
    assert {body["error"]["code"]
            for _note, status, body in replies if status == 409} == {"stale_version"}
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.state, ticket.version) == ("accepted", version + 1)
        accepts = db.session.scalars(select(Event).where(Event.ticket_id == ticket_id,
                                                         Event.trigger == "accept")).all()
        assert [event.note for event in accepts] == [winner]


# A process that has imported the app forks sweepers on demand, so a test can start and SIGKILL
# dozens of them in seconds (a fresh interpreter takes a second or more to import everything).
_FORKER = """
import os, signal, sys
from app import create_app
from workflows import sweeper
app = create_app()  # no connection is opened before the fork: each child has its own
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they end
log = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
print("ready", flush=True)
for line in sys.stdin:
    if line.startswith("last "):  # the last sweeper: here, to its end
        with app.app_context():
            sweeper.sweep(batch_size=int(line.split()[1]))
        print("done", flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        os.dup2(log, 2)
        with app.app_context():
            sweeper.sweep(batch_size=int(line))
        os._exit(0)
    print(pid, flush=True)
"""


class Forker:
    def __init__(self, database_url: str, log: Path):
        self.process = subprocess.Popen([sys.executable, "-c", _FORKER, str(log)], cwd=REPO,
                                        env=app_env(database_url), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline() == "ready\n"

    def sweeper(self, batch_size: int) -> int:
        self.process.stdin.write(f"{batch_size}\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def last_sweeper(self, batch_size: int) -> None:
        """One more sweeper, left to finish its work; returns when it has."""
        self.process.stdin.write(f"last {batch_size}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline() == "done\n"

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sweepers_killed_at_random_moments_lose_nothing_and_double_nothing(app, estate,
                                                                          database_url, tmp_path):
    """Sweepers in pairs, each SIGKILLed a random few milliseconds into its work, sixty times,
    then one left to finish: every miss recorded once, whatever was cut off half-way."""
    backlog = register_backlog(app, estate, back=30 * DAY - timedelta(hours=1), applied_share=0)
    expected = backlog.expected_misses
    rng = random.Random(20261122)
    log = tmp_path / "sweepers.log"
    forker = Forker(database_url, log)
    killed_with_work_left, recorded = 0, []
    try:
        for _round in range(30):
            pair = [forker.sweeper(batch_size=rng.choice([5, 10, 20])) for _ in range(2)]
            for pid in pair:
                time.sleep(rng.uniform(0, 0.04))
                if running(pid):
                    os.kill(pid, signal.SIGKILL)
                    killed_with_work_left += 1
            with app.app_context():
                recorded.append(db.session.scalar(select(func.count()).select_from(Deduction)))
                db.session.remove()
        forker.last_sweeper(batch_size=50)
    finally:
        forker.close()

    assert killed_with_work_left >= 50
    assert recorded[-1] < expected, recorded  # the kills really cut the catch-up short
    assert "Traceback" not in log.read_text()
    with app.app_context():
        assert_exactly_once(expected)
        assert sweeper.sweep() == 0
        _assert_inspections_chained(backlog)
        assert_escalated_once()


def test_sweepers_with_a_loop_and_engine_threads_agree(app, estate, database_url):
    """`sweep --every` processes keep sweeping while threads register and move new tickets."""
    backlog = register_backlog(app, estate, back=3 * DAY - timedelta(hours=1), per_kind=10)
    processes = start_sweepers(database_url, 3, "--every", "0.1")
    try:
        def register_and_move(i):
            with app.app_context():
                desk = Desk(estate)
                repair = desk.open("resident", "repair", title=f"New repair {i}")
                desk.fire(repair, "dispatch", "butler", technician_id=estate.technician)
                desk.fire(repair, "arrive", "technician")
                return repair.id

        with ThreadPoolExecutor(max_workers=3) as pool:
            fresh = list(pool.map(register_and_move, range(15)))
        # A sweep that starts now and finishes records every miss due (the backlog's were due
        # days ago): wait for its heartbeat, however slow the machine.
        moved = datetime.now(UTC)
        with app.app_context():
            while (sweeper.last_sweep() or moved) <= moved:
                assert all(p.poll() is None for p in processes), "a sweeper loop died"
                db.session.commit()
                time.sleep(0.05)
    finally:
        for process in processes:
            process.terminate()
        errors = [process.communicate(timeout=30)[1] for process in processes]
    assert not [e for e in errors if "Traceback" in e], errors

    with app.app_context():
        assert_exactly_once(backlog.expected_misses)  # the new repairs were all on time
        assert sweeper.sweep() == 0
        assert {db.session.get(Ticket, t).state for t in fresh} == {"on_site"}


def test_logins_while_others_write_all_succeed(app, estate, live_server):
    """Logging in writes a login (a credential): it takes the same write path as the engine, so
    it waits its turn behind writers instead of failing with "database is locked"."""
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "100000 per minute"  # one address for everyone here
    client = app.test_client()
    writer = token_for(client, "resident")
    statuses: list[int] = []

    def call(method: str, path: str, body: dict, headers: dict | None = None) -> dict:
        request = urllib.request.Request(f"{live_server}/api/v1{path}", method=method,
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json",
                                                  **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                statuses.append(reply.status)
                return json.loads(reply.read())
        except urllib.error.HTTPError as failed:
            statuses.append(failed.code)
            return {}

    def log_in(_n: int) -> None:
        for username in ("butler", "supervisor", "resident"):
            call("POST", "/tokens", {"username": username, "password": PASSWORD})

    def write(n: int) -> None:
        for i in range(8):
            ticket = call("POST", "/tickets", {"kind": "repair", "title": f"Tap {n}.{i}"}, writer)
            if ticket:
                call("POST", f"/tickets/{ticket['id']}/fire",
                     {"trigger": "cancel", "version": ticket["version"], "reason": "Fixed it"},
                     writer)

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda n: (log_in if n % 2 else write)(n), range(12)))

    assert len(statuses) == 6 * 3 + 6 * 8 * 2
    assert set(statuses) <= {200, 201}, sorted(set(statuses))
