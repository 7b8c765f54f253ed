"""ButlerDesk: a service desk for residential property management (物业客服)."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, secret_key_problem
from models import SQLiteConnection, collector, db
from workflows.rules import RulesError, load_rules


def create_app(config: dict | None = None, instance_path: str | Path | None = None) -> Flask:
    """The application factory: settings, rules, extensions, blueprints, CLI commands.

    `instance_path` is where this instance keeps its own files (instance/ by default).
    """
    app = Flask(__name__, instance_relative_config=True,
                instance_path=str(instance_path) if instance_path else None)
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["SECRET_KEY"] = _secret_key(app)

    try:
        app.extensions["butlerdesk.rules"] = load_rules(app.config["RULES_FILE"])
        app.config["TZ"] = ZoneInfo(app.config["TIMEZONE"])
    except RulesError as exc:
        raise SystemExit(f"ButlerDesk cannot start: {exc}") from None
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(f"ButlerDesk cannot start: TIMEZONE {app.config['TIMEZONE']!r} "
                         "is not a time zone like Asia/Shanghai") from None

    if app.config["PROXY_COUNT"]:
        proxies = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
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


def _secret_key(app: Flask) -> str:
    """The key that signs session cookies: the one configured, or one made for this instance.

    There is no built-in key (a published one lets anyone forge a login). Without SECRET_KEY the
    first start makes a random key and keeps it in instance/secret_key, which every later start
    (`make run`, `flask run`, the CLI) reads. App servers that must share a key (gunicorn) refuse
    to start without a real one.
    """
    key = app.config.get("SECRET_KEY")
    if "gunicorn" in sys.modules:
        problem = secret_key_problem(key)
        if problem:
            raise SystemExit(f"ButlerDesk cannot start: {problem}")
    if key:
        return key
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        # Written aside and linked into place, so that two processes starting at once (the
        # server and the sweeper of `make run`) end up with the same key, never half of one.
        aside = path.with_name(f"secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        with os.fdopen(os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_text().strip()
