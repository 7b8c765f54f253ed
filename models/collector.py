"""The cyclic garbage collector runs between units of work, never inside one.

CPython 3.11 (not 3.12) can free an object's attribute storage twice: when the collector starts
while an object's inline attributes are being moved into a dict, and a weakref callback it sets
off stores an attribute on that same object. SQLAlchemy's `InstanceState` is such an object (its
`_cleanup` callback stores attributes on the state of an instance that has just died), so a
session detaching objects that sit in reference cycles could crash the process: the benchmarks
hit it on the overdue page, and `bench/crash_repro.py` reproduces it without SQLAlchemy.

A unit of work is an application context, which is also a Flask-SQLAlchemy session's lifetime:
the collector is paused while any is open and resumes when the last one closes, so it runs
between requests. A loop that keeps one context open (the sweeper) calls `collect()` at its
quiet points.
"""
from __future__ import annotations

import gc
import threading

from flask import Flask, appcontext_popped, appcontext_pushed

_lock = threading.Lock()
_open = 0
_was_enabled = False


def _pause(_app: Flask, **_extra) -> None:
    global _open, _was_enabled
    with _lock:
        if _open == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _open += 1


def _resume(_app: Flask, **_extra) -> None:
    global _open
    with _lock:
        _open -= 1
        if _open == 0 and _was_enabled:
            gc.enable()


def collect() -> None:
    """Collect now: only where no ORM object is being changed, e.g. after `db.session.remove()`."""
    gc.collect()


def init_app(app: Flask) -> None:
    appcontext_pushed.connect(_pause, app)
    appcontext_popped.connect(_resume, app)
