"""The audit log: a change to an area (its butler, its robot) is one entry, who, when, before →
after, never its secrets; entries are never changed or deleted; only the admin reads them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Area, AuditEntry, db
from tests.conftest import T0
from workflows import areas, audit, cover
from workflows.errors import Forbidden


def east() -> Area:
    return db.session.scalar(select(Area).where(Area.name == "East"))


def test_changing_an_areas_butler_is_an_entry_with_before_and_after(desk, estate, clock):
    cover.set_area_butler(estate.user("supervisor"), east().id, estate.relief_butler,
                          note="Butler moved to West")

    [entry] = audit.entries(estate.user("admin"))
    assert (entry.at, entry.actor_id, entry.action, entry.subject_type, entry.subject_id) == (
        T0, estate.supervisor, "changed", "area", east().id)
    assert (entry.before, entry.after, entry.note) == (
        {"butler_id": estate.butler}, {"butler_id": estate.relief_butler}, "Butler moved to West")
    assert entry.estate_id == east().estate_id


def test_a_robot_is_logged_without_its_key_or_secret(desk, estate, clock, app):
    app.config["ALLOW_PRIVATE_WEBHOOKS"] = True
    url = "https://qyapi.example.com/cgi-bin/webhook/send?key=SECRET-KEY"
    areas.set_webhook(estate.user("supervisor"), east().id, url, "wecom", "s3cret")
    areas.set_webhook(estate.user("supervisor"), east().id, url, "wecom", "")  # no change

    [entry] = audit.entries(estate.user("admin"), subject_type="area")
    assert entry.after["webhook_host"] == "qyapi.example.com"
    assert entry.after["webhook_secret_set"] is True
    assert "SECRET-KEY" not in str(entry.after) and "s3cret" not in str(entry.after)


def test_entries_are_never_changed_or_deleted(desk, estate, clock):
    cover.set_area_butler(estate.user("supervisor"), east().id, estate.relief_butler)
    entry = db.session.scalar(select(AuditEntry))
    entry.note = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(AuditEntry)))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()


def test_only_the_admin_reads_the_log(desk, estate):
    with pytest.raises(Forbidden):
        audit.entries(estate.user("supervisor"))
