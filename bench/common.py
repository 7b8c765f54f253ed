"""What every benchmark shares: the repository on sys.path, the dataset's "now", the apps,
timing helpers and a description of the machine."""
from __future__ import annotations

import gc
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The generated data sets are written as of this moment; benchmarks that read them move the
# clock (workflows.clock.replaying_at) here, so a cached data set never goes stale.
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
SCORECARD_MONTH = "2026-05"                                # the last complete month before NOW


# The servers a benchmark starts share one key, as a deployment's would (gunicorn needs a real one).
SECRET_KEY = secrets.token_hex(32)


def make_app(url: str, **config):
    """A ButlerDesk app on `url` (never the dev database: callers give a temporary one)."""
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY, **config})


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0..100), nearest-rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


@contextmanager
def collected_between():
    """The cyclic garbage collector off while timing, run between samples instead (as `timeit`
    does), for steadier figures."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def timed(fn, repeat: int, warmup: int = 2) -> list[float]:
    return interleaved({"": fn}, repeat, warmup)[""]


def interleaved(fns: dict, repeat: int, warmup: int = 2) -> dict[str, list[float]]:
    """Time several functions turn about (A B A B ...), so that a noisy neighbour slows them
    alike; returns each one's samples in seconds."""
    samples: dict = {name: [] for name in fns}
    with collected_between():
        for fn in fns.values():
            for _ in range(warmup):
                fn()
                gc.collect()
        for _ in range(repeat):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
                gc.collect()
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def cpu_speed_reference() -> float:
    """Seconds for a fixed pure-Python workload: printed beside the figures, so runs on different
    (or differently loaded) machines can be told apart."""
    def work():
        total = 0
        for i in range(300_000):
            total += i * i % 7
        return total
    return median(timed(work, repeat=5, warmup=1))


def machine() -> dict[str, str]:
    info: dict[str, str] = {}
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["CPU"] = cpu
    info["cores"] = str(os.cpu_count())
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["RAM"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    info["OS"] = f"{platform.system()} {platform.release()}"
    info["Python"] = platform.python_version()
    import sqlite3

    import sqlalchemy

    info["SQLite"] = sqlite3.sqlite_version
    info["SQLAlchemy"] = sqlalchemy.__version__
    try:
        import gunicorn

        info["gunicorn"] = gunicorn.__version__
    except ImportError:
        pass
    try:
        out = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=10)
        found = re.search(r"(\d+\.\d+)", out.stdout) if out.returncode == 0 else None
        info["PostgreSQL (client)"] = found.group(1) if found else "not installed"
    except (OSError, subprocess.TimeoutExpired):
        info["PostgreSQL (client)"] = "not installed"
    info["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with suppress(OSError):
        info["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info
