"""gunicorn settings for `make serve` and production; every value can be set from the environment.

    gunicorn --config gunicorn.conf.py "app:create_app()"
"""
import multiprocessing
import os

bind = os.environ.get("BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
# Requests mostly wait on the database, so a couple of processes per core keep the cores busy.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Each worker opens its own connections; nothing is shared across a fork.
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
