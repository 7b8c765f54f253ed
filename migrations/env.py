"""Alembic's environment for ButlerDesk, run by Flask-Migrate (`flask --app app db ...`)."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from models import UTCDateTime

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate = current_app.extensions["migrate"]
config.set_main_option(
    "sqlalchemy.url",
    migrate.db.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def render_item(type_, obj, autogen_context):
    """Write UTC timestamps as plain `timestamptz` columns, so migrations never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def skip_empty_revisions(context, revision, directives):
    """`flask db migrate` with no model change writes no empty migration."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=migrate.db.metadata, literal_binds=True,
                      render_item=render_item, **migrate.configure_args)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    arguments = {"process_revision_directives": skip_empty_revisions, "render_item": render_item,
                 **migrate.configure_args}
    with migrate.db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table and drops the old one, which other tables refer
            # to (attachments to events): SQLite refuses the drop while it enforces foreign
            # keys. They are checked once the migrations are done instead. (On the driver's
            # connection: inside the transaction SQLAlchemy would begin, the pragma does nothing.)
            raw = connection.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=migrate.db.metadata, **arguments)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migrations left broken references: {broken[:5]}")
            raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
