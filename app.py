"""ButlerDesk: a service desk for residential property management (物业客服)."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_migrate import Migrate

from config import Config
from models import SQLiteConnection, collector, db
from workflows.rules import RulesError, load_rules


def create_app(config: dict | None = None) -> Flask:
    """The application factory: settings, rules, extensions, blueprints, CLI commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    try:
        app.extensions["butlerdesk.rules"] = load_rules(app.config["RULES_FILE"])
        app.config["TZ"] = ZoneInfo(app.config["TIMEZONE"])
    except RulesError as exc:
        raise SystemExit(f"ButlerDesk cannot start: {exc}") from None
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(f"ButlerDesk cannot start: TIMEZONE {app.config['TIMEZONE']!r} "
                         "is not a time zone like Asia/Shanghai") from None

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options["connect_args"] = {**options.get("connect_args", {}), "factory": SQLiteConnection}
    db.init_app(app)
    collector.init_app(app)
    # Batch mode lets migrations alter SQLite tables (which cannot ALTER a constraint in place).
    Migrate(app, db, directory=str(Path(__file__).resolve().parent / "migrations"),
            render_as_batch=True)

    import commands
    from views import init_app as init_views

    init_views(app)
    commands.init_app(app)
    return app
