"""Reproduce the interpreter crash found by the benchmarks (not part of `make bench`):

    .venv/bin/python -m bench.crash_repro            # CPython 3.11: "Segmentation fault" after a few requests
    .venv/bin/python -m bench.crash_repro --no-gc    # the same requests, collector off: no crash

GET /supervisor/overdue on the generated 10,000-ticket data set (as of its "now", where it lists
about a hundred overdue deadlines and the deadlines due soon), through the Flask test client,
30 times. On CPython 3.11.2 (Debian) and 3.11.7 (pyenv) the process dies of a heap corruption
(SIGSEGV in pymalloc) within the first ten requests, also with SQLAlchemy's C extensions,
greenlet and markupsafe's speedups all disabled; on CPython 3.12.1 with the same packages and
the same SQLite (3.40.1) it does not. With the cyclic garbage collector disabled, or run between
requests, it does not either. A gunicorn worker serving that page is exposed to the same crash.
"""
from __future__ import annotations

import faulthandler
import gc
import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import NOW


def main() -> None:
    faulthandler.enable()
    from bench import dbbench, generate
    from workflows import clock

    path, info, _built = generate.sqlite_dataset(10_000)
    work = Path(tempfile.mkdtemp(prefix="butlerdesk-crash-")) / "data.sqlite3"
    shutil.copyfile(path, work)
    site = dbbench.Site(10_000, f"sqlite:///{work}", info)
    if "--no-gc" in sys.argv:
        gc.disable()
    print(f"Python {sys.version.split()[0]}: GET /supervisor/overdue x 30", flush=True)
    with clock.replaying_at(NOW):
        for n in range(30):
            site.get("supervisor", "/supervisor/overdue")
            if "--no-gc" in sys.argv:
                gc.collect()
            print(n + 1, end=" ", flush=True)
    print("\nno crash")
    shutil.rmtree(work.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
