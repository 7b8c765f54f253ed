"""gunicorn settings for `make serve` and production; every value can be set from the environment.

    gunicorn --config gunicorn.conf.py "app:create_app()"
"""
import multiprocessing
import os

bind = os.environ.get("BIND",
                      f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
# On PostgreSQL requests mostly wait on the database, so a couple of processes per core keep the
# cores busy. SQLite lets one writer in at a time (the others queue, models.SQLiteConnection), so
# more processes than cores only add switching (bench/results.md, section 3).
_cores = multiprocessing.cpu_count()
_sqlite = os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite")
workers = int(os.environ.get("WEB_CONCURRENCY", _cores if _sqlite else 2 * _cores + 1))
# Each worker opens its own connections; nothing is shared across a fork.
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"

# App servers behind one load balancer must sign cookies with one shared key: refuse to start
# without a real one (create_app checks again in each worker, for a gunicorn run without this file).
from config import secret_key_problem  # noqa: E402

_problem = secret_key_problem(os.environ.get("SECRET_KEY"))
if _problem:
    raise SystemExit(f"ButlerDesk cannot start: {_problem}")
