"""The interpreter crash the benchmarks found, and that models/collector.py guards against (not
part of `make bench`):

    .venv/bin/python -m bench.crash_repro             # the bug alone: dies on CPython 3.11
    .venv/bin/python -m bench.crash_repro --app       # GET /supervisor/overdue x 30: no crash

CPython 3.11 (3.11.2 and 3.11.7 here; not 3.12) frees an object's attribute values twice when the
cyclic garbage collector starts inside `_PyObject_StoreInstanceAttribute`, as it moves the
object's inline values into a new dict (allocating the dict is what starts the collection), and a
weakref callback run by that collection stores an attribute on the same object. Both dicts then
own one values array; the heap is corrupted and the process dies later, somewhere unrelated.

SQLAlchemy's `InstanceState` has inline values and a weakref callback (`_cleanup`) that stores
attributes on itself when its instance dies. Closing a session after the overdue page (thousands
of states, objects in reference cycles) hit it within a few requests on the 10,000-ticket data
set; `valgrind` showed the double free in `free_values` from `dictresize`, first reached from
`InstanceState._cleanup` and then from `InstanceState._detach_states`. ButlerDesk now keeps the
collector paused while an app context (a session's lifetime) is open, so it runs between
requests; `--app` serves the page that crashed to show it no longer does.
"""
from __future__ import annotations

import faulthandler
import gc
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import NOW

# The bug without SQLAlchemy: State plays InstanceState, Holder a cycle that keeps an instance.
ALONE = '''
import gc, weakref

class State:
    __slots__ = ("__dict__", "__weakref__", "obj")

    def __init__(self, obj):
        self.obj = weakref.ref(obj, self._cleanup)
        for n in range(28):   # with session_id, the 29 names that fit in inline values
            setattr(self, f"a{n}", n)
        self.session_id = 1

    def _cleanup(self, ref):
        self.session_id = self._strong_obj = None

class Instance: pass
class Holder: pass

gc.disable()
holders, states = [], []
for n in range(1000):
    instance, holder = Instance(), Holder()
    holder.me, holder.instance = holder, instance
    states.append(State(instance))
    holders.append(holder)
del instance, holder
gc.set_threshold(1)
gc.enable()
i = 0
while i < len(states):
    holders[i] = None       # the holder's cycle is garbage; collecting it frees the instance
    states[i].extra = None  # a 30th name: the values move to a dict, whose allocation collects
    i += 1
print("no crash")
'''


def alone() -> None:
    print(f"Python {sys.version.split()[0]}, the bug alone:", flush=True)
    run = subprocess.run([sys.executable, "-c", ALONE])
    print("no crash" if run.returncode == 0 else f"died: exit status {run.returncode}")


def overdue_page() -> None:
    faulthandler.enable()
    from bench import dbbench, generate
    from workflows import clock

    path, info, _built = generate.sqlite_dataset(10_000)
    work = Path(tempfile.mkdtemp(prefix="butlerdesk-crash-")) / "data.sqlite3"
    shutil.copyfile(path, work)
    site = dbbench.Site(10_000, f"sqlite:///{work}", info)
    print(f"Python {sys.version.split()[0]}: GET /supervisor/overdue x 30, collector "
          f"{'on' if gc.isenabled() else 'off'} between requests", flush=True)
    with clock.replaying_at(NOW):
        for n in range(30):
            site.get("supervisor", "/supervisor/overdue")
            print(n + 1, end=" ", flush=True)
    print("\nno crash")
    shutil.rmtree(work.parent, ignore_errors=True)


if __name__ == "__main__":
    if "--app" in sys.argv:
        overdue_page()
    else:
        alone()
