"""CLI commands: `flask --app app <command>`."""
from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from models import Role, User, db
from workflows import sweeper


@click.command("init-db")
@with_appcontext
@click.option("--drop", is_flag=True, help="Drop every table first (all data is lost).")
def init_db_command(drop: bool) -> None:
    """Create the tables that do not exist yet."""
    if drop:
        db.drop_all()
    db.create_all()
    click.echo("Database ready.")


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo estate: areas, buildings, units, staff, residents and some tickets."""
    import demo

    db.create_all()
    if db.session.scalar(select(User.id).limit(1)) is not None:
        if not if_empty:
            raise click.ClickException("the database is not empty; run `init-db --drop` first")
        click.echo("Demo estate already loaded.")
    else:
        demo.seed()
        click.echo("Demo estate loaded.")
    click.echo(demo.LOGINS)


@click.command("sweep")
@with_appcontext
@click.option("--every", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="Keep sweeping, pausing this long between sweeps.")
def sweep_command(every: float | None) -> None:
    """Record every deadline that has passed unmet, with its deduction."""
    while True:
        try:
            recorded = sweeper.sweep()
        except OperationalError as exc:
            if every is None:
                raise
            # The database was briefly out of reach; nothing was half-written. Try next round.
            click.echo(f"Sweep failed, retrying in {every:g} s: {exc.orig}", err=True)
            recorded = 0
        if recorded or every is None:
            click.echo(f"Recorded {recorded} missed deadline(s).")
        if every is None:
            return
        time.sleep(every)


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default=None, help="Full name (defaults to the username).")
@click.option("--unit-id", type=int, default=None, help="A resident's unit.")
@click.password_option()
def create_user_command(username: str, role: str, name: str | None, unit_id: int | None,
                        password: str) -> None:
    """Create a user who can log in."""
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise click.ClickException(f"user {username!r} exists already")
    if role == Role.RESIDENT and unit_id is None:
        raise click.ClickException("a resident needs --unit-id")
    user = User(username=username, name=name or username, role=role, unit_id=unit_id)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {username!r} (id {user.id}).")


def init_app(app: Flask) -> None:
    for command in (init_db_command, seed_demo_command, sweep_command, create_user_command):
        app.cli.add_command(command)
