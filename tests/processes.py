"""Starting the `flask` command line as processes of their own, against a test's database."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def flask_command() -> list[str]:
    script = Path(sys.executable).parent / "flask"
    return [str(script)] if script.exists() else [sys.executable, "-m", "flask"]


def app_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a process of the app on the test's database, with these settings."""
    env = {**os.environ, "DATABASE_URL": database_url, **settings}
    env.pop("FLASK_APP", None)
    return env


# Importing the app takes seconds on a busy machine, much longer than a delivery pass. This
# process imports it once and forks a `flask` command line on demand, so a test can start and
# SIGKILL workers in milliseconds.
_FORKER = """
import os, signal, sys
from flask.cli import main
from app import create_app
create_app()  # no connection is opened before a fork: each child has its own
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they end
log = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
print("ready", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.argv = ["flask", "--app", "app", *line.split()]
        try:
            main()
        finally:
            os._exit(0)
    print(pid, flush=True)
"""


class Forker:
    """Starts `flask --app app ARGS...` processes at once; their output goes to `log`."""

    def __init__(self, env: dict[str, str], log: Path):
        self.process = subprocess.Popen([sys.executable, "-c", _FORKER, str(log)], cwd=REPO,
                                        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout.readline() == "ready\n"

    def start(self, *args: str) -> int:
        """The pid of a new `flask` process running ARGS."""
        self.process.stdin.write(" ".join(args) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)
