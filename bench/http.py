"""HTTP create + fire under gunicorn, beside a bare Flask app served the same way.

Both servers run at once with the project's gunicorn.conf.py (the settings of `make serve`), on
their own ports; load runs take turns (bare, ButlerDesk, bare, ButlerDesk, ...) so a noisy
neighbour hits both alike. The load generator (bench/loadgen.py) is one asyncio process.
"""
from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import REPO, SECRET_KEY, median

BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_settings() -> dict[str, str]:
    """The settings both servers get, as gunicorn reports them (from gunicorn.conf.py)."""
    config = REPO / "gunicorn.conf.py"
    settings = {"config": "gunicorn.conf.py" if config.exists() else "(none: gunicorn defaults)"}
    if config.exists():
        namespace: dict = {}
        env = dict(os.environ)
        try:
            os.environ["ACCESS_LOG"] = os.devnull
            os.environ["SECRET_KEY"] = SECRET_KEY
            exec(compile(config.read_text(), str(config), "exec"), namespace)
        finally:
            os.environ.clear()
            os.environ.update(env)
        for key in ("workers", "worker_class", "threads", "preload_app", "timeout", "keepalive",
                    "accesslog"):
            if key in namespace:
                settings[key] = str(namespace[key])
    settings.setdefault("worker_class", "sync (the default)")
    settings.setdefault("workers", "1 (the default)")
    return settings


class Server:
    def __init__(self, name: str, app_spec: str, env: dict[str, str], log: Path):
        self.name, self.port = name, free_port()
        config = REPO / "gunicorn.conf.py"
        args = [str(BIN / "gunicorn")]
        if config.exists():
            args += ["--config", str(config)]
        args.append(app_spec)
        self.log = log.open("w")
        self.process = subprocess.Popen(
            args, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, **env, "BIND": f"127.0.0.1:{self.port}",
                 "HOST": "127.0.0.1", "PORT": str(self.port), "ACCESS_LOG": os.devnull})
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /__ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    # every worker must have booted, not just the first
                    if s.recv(12).startswith(b"HTTP/1.") and len(self.workers()) >= 1:
                        time.sleep(1.0)
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} server did not start; see {self.log.name}")

    def workers(self) -> list[int]:
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    children.append(int(entry.name))
        return children

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its workers."""
        total = 0.0
        for pid in [self.process.pid, *self.workers()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        return total

    def stop(self) -> None:
        if self.log.closed:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def load(server: Server, *, mode: str, duration: float, warmup: float, clients: int,
         token: str | None, units: list[int], technician: int, rate: float = 0.0) -> dict:
    """One load run; adds the server's CPU seconds used while measuring."""
    args = [sys.executable, "-m", "bench.loadgen", "--url", server.url, "--mode", mode,
            "--clients", str(clients), "--duration", str(duration), "--warmup", str(warmup),
            "--units", ",".join(map(str, units)), "--technician", str(technician)]
    if token:
        args += ["--token", token]
    if mode == "paced":
        args += ["--rate", f"{rate:.1f}"]
    cpu: dict[str, float] = {}

    def sample():
        time.sleep(warmup + 0.5)  # the client's start-up, then its warm-up
        cpu["start"], cpu["t0"] = server.cpu_seconds(), time.perf_counter()
        time.sleep(max(0.0, duration - 1.0))
        cpu["end"], cpu["t1"] = server.cpu_seconds(), time.perf_counter()

    sampler = threading.Thread(target=sample)
    sampler.start()
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True,
                         timeout=duration + warmup + 120)
    sampler.join()
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout)
    result["server_cpu_s"] = cpu["end"] - cpu["start"]
    result["server_cpu_share"] = result["server_cpu_s"] / (cpu["t1"] - cpu["t0"])
    result["server_cpu_ms_per_request"] = (
        1000 * result["server_cpu_s"] / (result["throughput_rps"] * (cpu["t1"] - cpu["t0"]))
        if result["throughput_rps"] else float("nan"))
    return result


def logins_during_writes(database_url: str, info: dict, workdir: Path, log=print, *,
                         duration: float = 30.0, clients: int = 32) -> dict:
    """`clients` clients log in over and over while as many others create and fire tickets, for
    `duration` seconds, under gunicorn with the settings of `make serve`. The login limit per
    address is lifted (every client comes from 127.0.0.1); the counters are still written."""
    env = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PYTHONPATH": str(REPO),
           "LOGIN_LIMIT_PER_ADDRESS": "10000000 per minute",
           "LOGIN_LIMIT_PER_USERNAME": "10000000 per minute"}
    server = Server("ButlerDesk", "app:create_app()", env, workdir / "gunicorn-logins.log")
    try:
        server.wait_ready()
        token = get_token(server.url, "butler01", info["password"])
        base = [sys.executable, "-m", "bench.loadgen", "--url", server.url, "--clients",
                str(clients), "--duration", str(duration), "--warmup", "2"]
        writers = subprocess.Popen(
            base + ["--mode", "closed", "--token", token, "--technician", str(info["technician"]),
                    "--units", ",".join(map(str, info["units_of_subject"][:200]))],
            cwd=REPO, stdout=subprocess.PIPE, text=True)
        log(f"  {clients} clients logging in while {clients} create and fire, {duration:.0f} s ...")
        logins = subprocess.run(base + ["--mode", "login", "--username", "butler02",
                                        "--password", info["password"]],
                                cwd=REPO, capture_output=True, text=True, timeout=duration + 180)
        written, _ = writers.communicate(timeout=duration + 180)
        if logins.returncode or writers.returncode:
            raise RuntimeError(f"load generator failed: {logins.stderr[-2000:]}")
        return {"logins": json.loads(logins.stdout), "writes": json.loads(written),
                "clients": clients, "duration": duration}
    finally:
        server.stop()


def get_token(url: str, username: str, password: str) -> str:
    import urllib.request

    request = urllib.request.Request(
        f"{url}/api/v1/tokens",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["token"]


def test_client(database_url: str, info: dict):
    """(app, Flask test client, headers with butler01's bearer token) on the data set."""
    from bench.common import make_app

    app = make_app(database_url)
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"username": "butler01",
                                                "password": info["password"]}).json["token"]
    return app, client, {"Authorization": f"Bearer {token}"}


def in_process(database_url: str, info: dict, repeat: int = 60) -> dict:
    """create + fire through the Flask test client, one at a time (no HTTP, no concurrency): the
    SQL statements each call runs and the time the application itself takes."""
    from sqlalchemy import event

    from bench.common import collected_between
    from models import db

    serial = itertools.count()
    app, client, headers = test_client(database_url, info)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    counts = {}

    def one(n: int) -> tuple[float, float]:
        start = time.perf_counter()
        answer = client.post("/api/v1/tickets", headers=headers, json={
            "kind": "repair", "title": f"压测 in-process {n} {next(serial)}",  # never a repeat
            "unit_id": info["units_of_subject"][n % 100]})
        created = time.perf_counter()
        counts["create"] = len(statements)
        ticket = answer.json
        answer = client.post(f"/api/v1/tickets/{ticket['id']}/fire", headers=headers, json={
            "trigger": "dispatch", "version": ticket["version"],
            "technician_id": info["technician"]})
        assert answer.status_code == 200, answer.data
        counts["fire"] = len(statements) - counts["create"]
        return created - start, time.perf_counter() - created

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    for n in range(5):
        one(n)
    event.listen(engine, "before_cursor_execute", record)
    try:
        samples = []
        with collected_between():
            for n in range(repeat):
                statements.clear()
                samples.append(one(n))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with app.app_context():
        db.engine.dispose()
    return {"statements_create": counts["create"], "statements_fire": counts["fire"],
            "create_ms": median([a for a, _ in samples]) * 1000,
            "fire_ms": median([b for _, b in samples]) * 1000}


def run(database_url: str, info: dict, workdir: Path, log=print, *, duration: float = 15.0,
        rounds: int = 2, clients: int = 32) -> dict:
    log("  create + fire in-process (test client), for the statements and the app's own time ...")
    alone = in_process(database_url, info)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PYTHONPATH": str(REPO)}
    bare = Server("bare", "bench.bare_app:create_app()", env, workdir / "gunicorn-bare.log")
    desk = Server("ButlerDesk", "app:create_app()", env, workdir / "gunicorn-butlerdesk.log")
    try:
        bare.wait_ready()
        desk.wait_ready()
        token = get_token(desk.url, f"butler{1:02d}", info["password"])
        common = dict(clients=clients, token=token, units=info["units_of_subject"][:200],
                      technician=info["technician"])
        closed: dict[str, list[dict]] = {"bare": [], "ButlerDesk": []}
        for round_ in range(rounds):
            for server in (bare, desk):
                log(f"  closed loop, {clients} clients, {server.name} "
                    f"(round {round_ + 1}/{rounds}) ...")
                closed[server.name].append(load(server, mode="closed", duration=duration,
                                                warmup=3.0, **common))
        desk_rps = median([r["throughput_rps"] for r in closed["ButlerDesk"]])
        rate = round(desk_rps * 0.5, 1)
        paced = {}
        for server in (bare, desk):
            log(f"  paced at {rate:.0f} requests/s, {clients} clients, {server.name} ...")
            paced[server.name] = load(server, mode="paced", rate=rate, duration=2 * duration,
                                      warmup=3.0, **common)
        bare.stop()
        desk.stop()
        # Informational: ButlerDesk with the worker count gunicorn.conf.py gives the other
        # database (2 x cores + 1 on SQLite, cores on PostgreSQL), to show why each has its own.
        cores = os.cpu_count() or 1
        other = 2 * cores + 1 if database_url.startswith("sqlite") else cores
        compared = Server(f"ButlerDesk, {other} workers", "app:create_app()",
                          {**env, "WEB_CONCURRENCY": str(other)},
                          workdir / "gunicorn-butlerdesk-compared.log")
        try:
            compared.wait_ready()
            log(f"  closed loop and paced, {clients} clients, ButlerDesk with {other} workers ...")
            other_workers = {
                "closed": load(compared, mode="closed", duration=duration, warmup=3.0, **common),
                "paced": load(compared, mode="paced", rate=rate, duration=2 * duration, warmup=3.0,
                              **common),
                "workers": other}
        finally:
            compared.stop()
        return {"closed": closed, "paced": paced, "paced_rate": rate, "alone": alone,
                "other_workers": other_workers,
                "settings": gunicorn_settings(), "clients": clients, "duration": duration,
                "rounds": rounds}
    finally:
        bare.stop()
        desk.stop()
