"""/healthz: the database answers, a sweeper has swept lately and no notice due waits long for
a worker; the sweeper loop's timing."""
from __future__ import annotations

from datetime import timedelta

from models import db
from tests.conftest import T0, make_app
from workflows import sweeper


def test_healthy_after_a_sweep(client, runner, clock):
    assert runner.invoke(args=["sweep"]).exit_code == 0
    clock.shift(timedelta(seconds=12))

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok",
                             "last_sweep_at": T0.isoformat(), "seconds_since_last_sweep": 12.0,
                             "seconds_oldest_notice_waiting": None}


def test_unhealthy_when_no_sweeper_ever_ran(client, clock):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json["status"] == "stale sweeper"
    assert response.json["database"] == "ok"
    assert response.json["seconds_since_last_sweep"] is None


def test_unhealthy_when_the_sweeper_stalls(app, client, runner, clock):
    runner.invoke(args=["sweep"])
    clock.shift(timedelta(seconds=app.config["SWEEP_STALE_SECONDS"] + 1))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json["status"] == "stale sweeper"


def test_a_notice_due_waiting_for_a_worker_is_reported_and_unhealthy_past_its_limit(
        app, client, runner, desk, clock):
    app.config.update(WEBHOOK_URL="http://127.0.0.1:9/hook", NOTIFY_STALE_SECONDS=300)
    desk.open("resident")  # its butler is told, and so is the group webhook: a notice due now
    clock.shift(timedelta(seconds=300))
    runner.invoke(args=["sweep"])

    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["seconds_oldest_notice_waiting"] == 300.0

    clock.shift(timedelta(seconds=1))
    runner.invoke(args=["sweep"])
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "notices waiting"


def test_a_notice_between_tries_is_not_waiting_for_a_worker(app, client, runner, desk, clock):
    app.config.update(WEBHOOK_URL="http://127.0.0.1:9/hook", NOTIFY_TIMEOUT_SECONDS=1)
    desk.open("resident")
    assert runner.invoke(args=["notify"]).output == "Sent 0 notice(s).\n"  # nothing listens
    runner.invoke(args=["sweep"])

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json["seconds_oldest_notice_waiting"] is None


def test_unhealthy_when_the_database_is_out_of_reach(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}")

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    with app.app_context():
        db.engine.dispose()


def test_the_loop_knows_when_the_next_deadline_falls_due(desk, clock):
    assert sweeper.next_due() is None
    desk.open("resident", "complaint")          # reply within 48 h
    repair = desk.open("resident", "repair")    # on site within 20 min

    assert sweeper.next_due() == T0 + timedelta(minutes=20)

    desk.fire(repair, "cancel", "butler", reason="Called twice")
    assert sweeper.next_due() == T0 + timedelta(hours=48)


def test_a_sweep_from_the_future_is_a_clock_running_ahead(client, runner, clock):
    """A sweeper whose clock is 25 minutes ahead wrote its heartbeat; this server knows better."""
    clock.shift(timedelta(minutes=25))
    assert runner.invoke(args=["sweep"]).exit_code == 0
    clock.shift(timedelta(minutes=-25))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json["status"] == "sweeper clock ahead"
    assert response.json["seconds_since_last_sweep"] == -1500.0


def test_a_sweep_a_moment_ahead_is_within_the_clocks_tolerance(client, runner, clock):
    clock.shift(timedelta(seconds=2))
    runner.invoke(args=["sweep"])
    clock.shift(timedelta(seconds=-2))
    assert client.get("/healthz").status_code == 200
