"""The issue's "done when": a missed on-site deadline becomes exactly one deduction."""
from datetime import timedelta

from models import Deduction, db
from tests.api import log_in


def test_missed_arrival_is_one_deduction_for_the_butler(app, client, runner, clock):
    resident = log_in(client, "resident")
    created = client.post("/api/v1/tickets", json={"kind": "repair", "title": "Tap"},
                          headers=resident)
    assert created.status_code == 201, created.json

    clock.shift(timedelta(minutes=25))
    assert runner.invoke(args=["sweep"]).output.startswith("Recorded 1 ")
    assert runner.invoke(args=["sweep"]).output.startswith("Recorded 0 ")

    deductions = client.get("/api/v1/deductions?month=2026-11",
                            headers=log_in(client, "supervisor"))
    assert [(d["points"], d["article"], d["butler"]["username"], d["deadline"])
            for d in deductions.json["deductions"]] == [(-2, 4, "butler", "on_site")]

    stale = client.post(f"/api/v1/tickets/{created.json['id']}/fire", headers=resident,
                        json={"trigger": "cancel", "version": created.json["version"] - 1})
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "stale_version"
    with app.app_context():
        assert db.session.query(Deduction).count() == 1
    assert client.get(f"/api/v1/tickets/{created.json['id']}",
                      headers=resident).json["state"] == "reported"
