"""The cyclic garbage collector never runs while a database session is open: on CPython 3.11 a
collection inside SQLAlchemy's bookkeeping can corrupt the heap (see models/collector.py)."""
import gc

import pytest

from models import db
from tests.api import API, fire, open_ticket, token_for


@pytest.fixture
def collections():
    """For each collection the collector starts, whether a session was open; the collector is
    made eager (a collection at nearly every allocation) so any unguarded moment would show."""
    seen, sessions = [], db.session.registry.registry  # the open sessions, by app context

    def record(phase, _info):
        if phase == "start":
            seen.append(bool(sessions))

    threshold = gc.get_threshold()
    gc.set_threshold(1)
    gc.callbacks.append(record)
    yield seen
    gc.callbacks.remove(record)
    gc.set_threshold(*threshold)


def test_requests_leave_collection_to_the_moments_between_them(client, browser, estate,
                                                               collections):
    butler, supervisor = token_for(client, "butler"), browser("supervisor")
    for n in range(3):
        ticket = open_ticket(client, butler, title=f"Tap {n}", unit_id=estate.unit_a)
        fired = fire(client, butler, ticket["id"], "dispatch", ticket["version"],
                     technician_id=estate.technician)
        assert fired.status_code == 200, fired.json
        assert client.get(f"{API}/tickets", headers=butler).status_code == 200
        assert supervisor.get("/supervisor/overdue").status_code == 200

    assert collections, "the collector ran between the requests"
    assert not any(collections), "no collection started while a session was open"
    assert gc.isenabled()


def test_nested_contexts_resume_collection_only_when_the_last_one_closes(app, collections):
    with app.app_context():
        db.session.execute(db.select(1))
        with app.app_context():
            db.session.execute(db.select(1))
        assert not gc.isenabled()
        db.session.execute(db.select(1))
    assert gc.isenabled()
    assert not any(collections)


def test_a_collector_turned_off_by_the_host_stays_off(app):
    gc.disable()
    try:
        with app.app_context():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
