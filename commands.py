"""CLI commands: `flask --app app <command>`."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import click
import flask_migrate
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import OperationalError, SAWarning

from models import Estate, EstateSupervisor, Role, Unit, User, collector, db
from models.transaction import write
from workflows import accounts, audit, clock, delivery, estate_import, people, sweeper
from workflows.errors import InvalidData, WorkflowError
from workflows.fields import record_id
from workflows.sheets import MAX_BYTES


@click.command("init-db")
@with_appcontext
@click.option("--drop", is_flag=True, help="Drop every table first (all data is lost).")
def init_db_command(drop: bool) -> None:
    """Create the tables, or bring them up to date (runs the migrations)."""
    if drop:
        _drop_all()
    upgrade_schema()
    click.echo("Database ready.")


def upgrade_schema() -> None:
    """Run the migrations not yet applied (`flask db upgrade`), refusing a database that was made
    without them: its tables would clash with the first migration."""
    tables = set(inspect(db.engine).get_table_names())
    if tables and "alembic_version" not in tables:
        raise click.ClickException(
            "this database was created before migrations existed; start it afresh with "
            "`flask --app app init-db --drop` (all data is lost)")
    flask_migrate.upgrade()


def _drop_all() -> None:
    """Drop every table, data and all, with the migrations' own record.

    Users, units and areas refer to each other in a cycle (a resident's unit, an area's butler).
    PostgreSQL drops those constraints first; SQLite cannot, and with foreign keys enforced a
    DROP of a table still referred to fails. So on SQLite enforcement is off while tables go.
    """
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.driver_connection  # autocommit: the PRAGMA takes effect
        if sqlite:
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Can't sort tables for DROP", SAWarning)
                db.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            connection.commit()
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys=ON")


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo estate: areas, buildings, units, staff, residents and some tickets."""
    import demo

    upgrade_schema()
    if db.session.scalar(select(User.id).limit(1)) is not None:
        if not if_empty:
            raise click.ClickException("the database is not empty; run `init-db --drop` first")
        click.echo("Demo estate already loaded.")
    else:
        # The demo's past happened before any channel existed: its history goes to the bells
        # only, never in a burst to a real mailbox or group.
        channels = ("MAIL_SERVER", "WEBHOOK_URL", "SMS_WEBHOOK_URL")
        kept = {name: current_app.config[name] for name in channels}
        current_app.config.update(dict.fromkeys(channels))
        try:
            demo.seed()
        finally:
            current_app.config.update(kept)
        click.echo("Demo estate loaded.")
    click.echo(demo.LOGINS)


@click.command("sweep")
@with_appcontext
@click.option("--every", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="Keep sweeping: at least this often, and as soon as a deadline falls due.")
def sweep_command(every: float | None) -> None:
    """Record every deadline that has passed unmet, with its deduction."""
    def one_pass() -> tuple[int, float | None]:
        return sweeper.sweep(), every and _until_next_due(every)

    # A database briefly out of reach leaves nothing half-written: try next round.
    _passes(every, one_pass, "Recorded {} missed deadline(s).", "Sweep failed", OperationalError)


COLLECT_EVERY = 30.0


def _passes(every: float | None, one_pass, done: str, failed: str,
            survives: type[Exception]) -> None:
    """Run `one_pass` (which returns how much it did and how long to wait), once, or with
    `every` as a loop: a pass that fails with `survives` is logged and the next one comes; the
    session is cleared between passes, and the collector runs (models.collector) after a pass
    that did something or at least every COLLECT_EVERY seconds: a full collection costs tens of
    milliseconds, which a loop of idle passes every 0.1 s would spend a core on."""
    collected = time.monotonic()
    while True:
        try:
            count, pause = one_pass()
        except survives:
            if every is None:
                raise
            current_app.logger.exception("%s, retrying in %g s", failed, every)
            db.session.rollback()
            count, pause = 0, every
        if count or every is None:
            click.echo(done.format(count))
        if every is None:
            return
        db.session.remove()
        if count or time.monotonic() - collected >= COLLECT_EVERY:
            collector.collect()
            collected = time.monotonic()
        time.sleep(pause)


def _until_next_due(every: float) -> float:
    """How long the loop may sleep: until the next deadline falls due, at most `every` seconds.

    A deadline is armed minutes to days ahead, so one armed during the nap is never due before
    the next wake-up; waking at the due time records a miss within milliseconds.
    """
    due = sweeper.next_due()
    if due is None:
        return every
    seconds = (due - clock.now()).total_seconds() + 0.01  # just past it, not just before
    return min(every, max(seconds, 0.05))


@click.command("notify")
@with_appcontext
@click.option("--every", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="Keep sending: look for notices due this often.")
@click.option("--batch", type=click.IntRange(min=1), default=delivery.BATCH, show_default=True,
              help="Notices claimed at a time.")
def notify_command(every: float | None, batch: int) -> None:
    """Send the notices due: emails and the group webhook (the bell needs no sending)."""
    # Whatever the failure (the database out of reach, say), what was claimed comes back when
    # its lease runs out, so the loop carries on.
    _passes(every, lambda: (delivery.deliver(batch_size=batch), every),
            "Sent {} notice(s).", "Delivery failed", Exception)


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default=None, help="Full name (defaults to the username).")
@click.option("--unit-id", type=int, default=None, help="A resident's unit.")
@click.option("--estate", "estates", multiple=True, metavar="NAME",
              help="An estate a supervisor supervises (again for several; left out: the only "
                   "estate, when there is one).")
@click.password_option()
def create_user_command(username: str, role: str, name: str | None, unit_id: int | None,
                        estates: tuple[str, ...], password: str) -> None:
    """Create a user who can log in."""
    _create_user(username, role, name, unit_id, password, estates)


@click.command("create-admin")
@with_appcontext
@click.argument("username")
@click.option("--name", default=None, help="Full name (defaults to the username).")
@click.password_option(envvar="ADMIN_PASSWORD",
                       help="Asked twice unless ADMIN_PASSWORD is set.")
def create_admin_command(username: str, name: str | None, password: str) -> None:
    """Create the company's administrator, the first login of an empty installation; everything
    else is then set up through the pages."""
    _create_user(username, Role.ADMIN, name, None, password)


def _create_user(username: str, role: str, name: str | None, unit_id: int | None,
                 password: str, estates: tuple[str, ...] = ()) -> None:
    username = username.strip()
    if not username:
        raise click.ClickException("the username must not be empty")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise click.ClickException(f"user {username!r} exists already")
    if role == Role.RESIDENT and unit_id is None:
        raise click.ClickException("a resident needs --unit-id")
    if role != Role.RESIDENT and unit_id is not None:
        raise click.ClickException("only residents live in a unit; leave out --unit-id")
    problem = accounts.password_problems(password, "password").get("password")
    if problem:
        raise click.ClickException(f"the password {problem}")
    if unit_id is not None and (record_id(unit_id) is None
                                or db.session.get(Unit, unit_id) is None):
        raise click.ClickException(f"there is no unit with id {unit_id}")
    if estates and role != Role.SUPERVISOR:
        raise click.ClickException("only supervisors are given estates; leave out --estate")
    supervised = _supervised(estates) if role == Role.SUPERVISOR else []
    with write():
        user = User(username=username, name=name or username, role=role, unit_id=unit_id)
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
        db.session.add_all(EstateSupervisor(estate_id=estate.id, supervisor_id=user.id)
                           for estate in supervised)
        audit.record(None, "created", user, None, people.shown(user))
    click.echo(f"Created {role} {username!r} (id {user.id}).")


def _supervised(names: tuple[str, ...]) -> list[Estate]:
    """The estates named (the only one when none is named and there is one)."""
    if not names:
        every = db.session.scalars(select(Estate).limit(2)).all()
        return every if len(every) == 1 else []
    found = []
    for name in names:
        estate = db.session.scalar(select(Estate).where(Estate.name == name.strip()))
        if estate is None:
            raise click.ClickException(f"there is no estate {name!r}")
        found.append(estate)
    return found


def _user_named(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise click.ClickException(f"there is no user {username!r}")
    return user


@click.command("set-password")
@with_appcontext
@click.argument("username")
@click.password_option()
def set_password_command(username: str, password: str) -> None:
    """Set a person's password (a reset); every login they hold ends."""
    user = _user_named(username)
    try:
        people.change(None, user.id, {"password": password})
    except InvalidData as exc:
        raise click.ClickException(f"the password {exc.fields['password']}") from None
    click.echo(f"Password of {user.username!r} set; their logins have ended.")


@click.command("deactivate-user")
@with_appcontext
@click.argument("username")
@click.option("--activate", is_flag=True, help="Let them log in again instead.")
def deactivate_user_command(username: str, activate: bool) -> None:
    """Stop a person from logging in; their sessions and tokens stop working at once."""
    user, _password = people.change(None, _user_named(username).id, {"active": activate})
    state = "active" if activate else "deactivated; their logins have ended"
    click.echo(f"{user.username!r} is {state}.")


@click.command("import-estate")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--estate", default=None, metavar="NAME",
              help="The estate to import into, made if there is none of that name (default: "
                   "the one the file's estate column names, or the only estate there is).")
@click.option("--dry-run", is_flag=True, help="Say what importing would do; write nothing.")
def import_estate_command(file: Path, estate: str | None, dry_run: bool) -> None:
    """Import an owner sheet (xlsx or CSV): buildings, units and residents, all or nothing.
    Prints what was created and changed, or every problem (row, column); exit status 1 then."""
    with open(file, "rb") as sheet:
        data = sheet.read(MAX_BYTES + 1)
    try:
        report = estate_import.import_owner_sheet(None, estate, file.name, data, dry_run,
                                                  create=estate is not None)
    except WorkflowError as exc:
        said = "; ".join(f"{name}: {message}" for name, message in exc.fields.items())
        raise click.ClickException(f"{exc.message}" + (f" ({said})" if said else "")) from None
    if not report.ok:
        click.echo(f"{file.name}: {len(report.problems)} problem(s); nothing was imported.",
                   err=True)
        for problem in report.problems:
            where = f"row {problem.row}" if problem.row else "the file"
            column = f", {problem.column}" if problem.column else ""
            click.echo(f"  {where}{column}: {problem.message}", err=True)
        raise SystemExit(1)
    if report.estate_created:
        click.echo(f"Estate {report.estate_name!r} "
                   + ("would be created." if dry_run else "created."))
    click.echo(("Dry run, nothing written: " if dry_run else f"{report.estate_name}: ")
               + str(report.summary))
    click.echo("  " + ", ".join(f"{key.replace('_', ' ')} {value:,}"
                                for key, value in report.counts().items() if key != "rows"))
    for change in report.changes:
        row = f"row {change.row}: " if change.row else ""
        click.echo(f"  {row}{change.label} {change.action}: {change.before} -> {change.after}")


@click.command("export-estate")
@with_appcontext
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--language", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="The headers' language.")
def export_estate_command(name: str, file: Path, language: str) -> None:
    """Write an estate's units and residents to FILE (.xlsx or .csv) as an owner sheet, which
    imported again changes nothing."""
    from views import estate_files

    fmt = file.suffix.lower().removeprefix(".")
    if fmt not in estate_files.FORMATS:
        raise click.ClickException("the file must end in .xlsx or .csv")
    estate = db.session.scalar(select(Estate).where(Estate.name == name.strip()))
    if estate is None:
        raise click.ClickException(f"there is no estate {name!r}")
    made = estate_files.export(None, estate.id, fmt, language)
    file.write_bytes(made.body)
    click.echo(f"Wrote {file} ({estate.name}).")


def init_app(app: Flask) -> None:
    for command in (init_db_command, seed_demo_command, sweep_command, notify_command,
                    create_user_command, create_admin_command, set_password_command,
                    deactivate_user_command, import_estate_command, export_estate_command):
        app.cli.add_command(command)
