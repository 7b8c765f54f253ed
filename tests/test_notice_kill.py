"""Exactly once, with everything killed: 4 delivery workers and 8 sweepers at once, some of them
SIGKILLed at random moments and started again, while some two thousand notices fall due.

130 repairs are registered in the past (the clock turned back), at ages chosen so
that, by the real clock the processes live in, their warning points and deadlines have passed
and none passes during the run. The sweepers record the misses and make the warnings,
escalations and reminders; the workers send them by email (a real SMTP server) and to the
group webhook (a real HTTP receiver). Every notice is made once and sent; a receiver sees one
twice only where a worker was killed between sending it and recording it.
"""
from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from models import Channel, Deadline, Estate, Notice, Role, User, db
from tests.conftest import Desk
from tests.helpers import unsent
from tests.processes import Forker, app_env
from workflows import sweeper

STAFF = ("butler", "other_butler", "technician", "supervisor", "manager")

# Who each cause tells, by workflows/rules.toml: (the notice's cause, the people told). The
# butler is the ticket's (East's or West's), "supervisor" means every supervisor, and the
# manager is one of them.
NEW = ("new", ("butler",))                     # [notices] new = ["assignee"], not the resident
DISPATCHED = ("step", ("technician", "resident"))  # dispatch's notify, not the butler who did it
WARNED = ("warning", ("butler", "technician"))  # [notices] warn = ["assignee", "technician"]
MISSED = ("escalation", ("supervisor", "manager"))  # escalate, level 0: at once
STILL_MISSED = ("escalation", ("manager",))    # escalate, level 1: four hours later
REMINDED = ("reminder", ("butler", "supervisor", "manager"))  # remind_every = "24h", the latest


@dataclass(frozen=True)
class Population:
    """`count` repairs reported `age` ago (dispatched at once or not), and what they cause."""

    age: timedelta
    count: int
    dispatched: bool
    causes: tuple[tuple[str, tuple[str, ...]], ...]


# Each age is minutes to hours from the nearest point at which a repair would have something
# else to tell, so nothing falls due while the test runs (on_site: 20 min, warned 10 min
# before; completion: 24 h, warned 2 h before; a miss: escalated at once and after 4 h, reminded
# every 24 h).
POPULATIONS = (
    # on_site due in 6 min, its warning 4 min ago
    Population(timedelta(minutes=14), 45, True, (NEW, DISPATCHED, WARNED)),
    # on_site missed 1 h 40 min ago
    Population(timedelta(hours=2), 45, False, (NEW, MISSED)),
    # on_site missed 22 h 40 min ago (both levels, not yet reminded); completion due in 1 h
    Population(timedelta(hours=23), 20, True,
               (NEW, DISPATCHED, MISSED, STILL_MISSED, WARNED)),
    # on_site missed 49 h 40 min ago and completion 26 h ago: both levels and a reminder each
    Population(timedelta(hours=50), 20, True,
               (NEW, DISPATCHED, *(MISSED, STILL_MISSED, REMINDED) * 2)),
)
WORKERS, SWEEPERS, KILLS = 4, 8, 24
# A worker claims one notice at a time, under a lease of 3 timeouts (9 s: generous, as a busy
# machine may be slow to answer). A loop's pass ends with a full garbage collection (models.
# collector), tens of milliseconds: loops that look more often than this spend the test's two
# cores on it. A busy worker never waits (each pass sends until nothing is due), and each
# sweeper catches up at its first pass.
NOTIFY = ("notify", "--every", "0.5", "--batch", "1")
SWEEP = ("sweep", "--every", "2")


def notices_of_one(population: Population) -> Counter:
    """How many notices the rules make for one repair, by (cause, channel): each person told
    in the app and by email (the staff have addresses, the residents not), and the group once
    per cause that tells staff."""
    made: Counter = Counter()
    for cause, told in population.causes:
        staff = sum(person in STAFF for person in told)
        made[cause, Channel.IN_APP] += len(told)
        made[cause, Channel.EMAIL] += staff
        made[cause, Channel.WEBHOOK] += staff > 0
    return +made


def expected_notices() -> Counter:
    """How many notices the rules make for all the repairs, by (cause, channel)."""
    return sum((Counter({key: count * population.count
                         for key, count in notices_of_one(population).items()})
                for population in POPULATIONS), Counter())


def made_notices(app) -> Counter:
    with app.app_context():
        made = Counter({(cause, channel): count for cause, channel, count in db.session.execute(
            select(Notice.cause, Notice.channel, func.count()).group_by(Notice.cause,
                                                                        Notice.channel))})
        db.session.remove()
    return made


def register_repairs(app, estate) -> dict[int, Population]:
    """The staff's addresses, a manager, and the populations' repairs, each at its own time;
    returns each repair's population."""
    repairs = {}
    with app.app_context():
        for name in STAFF[:-1]:
            estate.user(name).email = f"{name}@example.com"
        manager = User(username="manager", name="Manager", role=Role.SUPERVISOR, is_manager=True,
                       email="manager@example.com")
        manager.password_hash = estate.user("supervisor").password_hash
        db.session.add(manager)
        garden = db.session.scalar(select(Estate))
        garden.supervisors.append(manager)
        db.session.commit()
        now, desk, residents = datetime.now(UTC), Desk(estate), ("resident", "west_resident")
        for population in POPULATIONS:
            with time_machine.travel(now - population.age, tick=False):
                for i in range(population.count):
                    who = residents[i % 2]
                    repair = desk.open(who, title=f"Repair {population.age} {i}")
                    repairs[repair.id] = population
                    if population.dispatched:
                        butler = "other_butler" if who == "west_resident" else "butler"
                        desk.fire(repair, "dispatch", butler, technician_id=estate.technician)
        db.session.remove()
        db.engine.dispose()  # no connection of ours stays open while the processes run
    return repairs


def test_workers_and_sweepers_killed_at_random_moments_make_and_send_each_notice_once(
        app, estate, database_url, mailbox, webhook, tmp_path):
    """The workers (`notify --every`) and sweepers (`sweep --every`) start together; one at a
    time, at random moments, one of them is SIGKILLed and another like it started. Once the
    rows the rules call for are made and sent, they are all there is, and each arrived, twice
    only where it was claimed again after its worker died."""
    started = time.monotonic()
    repairs = register_repairs(app, estate)
    expected = expected_notices()
    registered = time.monotonic()
    log = tmp_path / "processes.log"
    config = app.config
    forker = Forker(app_env(database_url, MAIL_SERVER=config["MAIL_SERVER"],
                            MAIL_PORT=str(config["MAIL_PORT"]),
                            WEBHOOK_URL=config["WEBHOOK_URL"],
                            WEBHOOK_FORMAT=config["WEBHOOK_FORMAT"],
                            WEBHOOK_SECRET=config["WEBHOOK_SECRET"],
                            NOTIFY_TIMEOUT_SECONDS="3"), log)
    rng = random.Random(20261201)
    running = {NOTIFY: [forker.start(*NOTIFY) for _ in range(WORKERS)],
               SWEEP: [forker.start(*SWEEP) for _ in range(SWEEPERS)]}
    kills: Counter = Counter()
    limit = time.monotonic() + 300  # catches a hang; a busy machine is slow

    def finished() -> bool:
        return made_notices(app) == expected and not unsent(app)

    try:
        while sum(kills.values()) < KILLS and not finished():
            time.sleep(rng.uniform(0.1, 0.6))
            command = rng.choice([NOTIFY, SWEEP])
            pids = running[command]
            os.kill(pids.pop(rng.randrange(len(pids))), signal.SIGKILL)
            kills[command] += 1
            pids.append(forker.start(*command))
        while not finished():
            assert time.monotonic() < limit, (made_notices(app), expected, unsent(app))
            time.sleep(0.1)
    finally:
        for pid in running[NOTIFY] + running[SWEEP]:
            os.kill(pid, signal.SIGTERM)
        forker.close()
    done = time.monotonic()

    assert "Traceback" not in log.read_text()
    with app.app_context():
        assert sweeper.sweep() == 0  # a last sweep finds nothing more to record or tell
        assert made_notices(app) == expected  # none made twice, none left out
        assert Counter(db.session.execute(select(Notice.ticket_id, Notice.cause,
                                                 Notice.channel)).all()) == {
            (ticket_id, *key): count for ticket_id, population in repairs.items()
            for key, count in notices_of_one(population).items()}  # for each repair
        assert db.session.scalar(select(func.count()).select_from(Deadline)
                                 .where(Deadline.notice_at <= datetime.now(UTC))) == 0
        sent = {channel: dict(db.session.execute(
            select(Notice.id, Notice.attempts).where(Notice.channel == channel)).all())
            for channel in (Channel.EMAIL, Channel.WEBHOOK)}
        assert db.session.scalar(select(func.count()).select_from(Notice)
                                 .where(Notice.last_error.is_not(None))) == 0  # no send failed
        addressed = dict(db.session.execute(
            select(Notice.id, User.email).join(User, Notice.user_id == User.id)
            .where(Notice.channel == Channel.EMAIL)).all())

    emails = Counter(int(m["Message-ID"].removeprefix("<notice-").removesuffix("@butlerdesk>"))
                     for m in mailbox.messages)
    assert {m["Message-ID"]: m["To"] for m in mailbox.messages} == {
        f"<notice-{i}@butlerdesk>": address for i, address in addressed.items()}
    arrived = {Channel.EMAIL: emails, Channel.WEBHOOK: webhook.deliveries()}
    repeats = 0
    for channel, attempts in sent.items():
        assert set(arrived[channel]) == set(attempts)  # every notice arrived
        for notice_id, count in arrived[channel].items():
            # no send failed, so a notice tried again was taken over from a killed worker
            assert count <= attempts[notice_id], (channel, notice_id, count, attempts[notice_id])
        repeats += sum(count - 1 for count in arrived[channel].values())
    taken_over = sum(a > 1 for attempts in sent.values() for a in attempts.values())
    print(f"{sum(expected.values())} notices ({sum(len(a) for a in sent.values())} sent by "
          f"email or webhook), {kills[NOTIFY]} workers and {kills[SWEEP]} sweepers killed, "
          f"{taken_over} taken over from a killed worker, {repeats} sent twice; "
          f"registered in {registered - started:.1f} s, made and sent in "
          f"{done - registered:.1f} s on {database_url.split(':')[0]}")
    assert repeats <= kills[NOTIFY]  # a worker has one send in flight when it is killed
