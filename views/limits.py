"""Rate limits on logging in (Flask-Limiter), counted in the database by default.

The login page and POST /api/v1/tokens share two limits: tries per address, and failed tries per
username (a lockout of that username until the window ends, whichever address the tries come
from). Past either, the answer is 429 with Retry-After. Changing one's password counts failed
tries per person the same way; activating with an invitation code counts tries per address and
failed tries (a wrong code, a unit that is not there) per unit named.

`DatabaseStorage` keeps the counters in `rate_limit_counters`, so every worker and every app
server counts the same tries with nothing else to run; `RATELIMIT_STORAGE_URI` may name any other
storage of the `limits` library instead (redis://..., memory:// for one process).
"""
from __future__ import annotations

import hashlib
import time
from datetime import timedelta

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_login import current_user
from limits.storage import Storage
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from models import RateLimitCounter, db
from models.transaction import WRITE
from views.inputs import json_body
from workflows import clock

ADDRESS_SCOPE, USERNAME_SCOPE, PASSWORD_SCOPE = "login-address", "login-username", "password"
ACTIVATION_ADDRESS_SCOPE, ACTIVATION_UNIT_SCOPE = "activation-address", "activation-unit"


class DatabaseStorage(Storage):
    """Fixed-window counters in the app's database (`RATELIMIT_STORAGE_URI=database://`)."""

    STORAGE_SCHEME = ["database"]

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = clock.now()
        table = RateLimitCounter.__table__
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.engine.dialect.name]
        statement = dialect.insert(table).values(key=key, count=amount,
                                                 expires_at=now + timedelta(seconds=expiry))
        expired = table.c.expires_at <= now
        statement = statement.on_conflict_do_update(index_elements=[table.c.key], set_={
            "count": case((expired, amount), else_=table.c.count + amount),
            "expires_at": case((expired, statement.excluded.expires_at),
                               else_=table.c.expires_at),
        }).returning(table.c.count)
        with db.engine.connect().execution_options(**WRITE) as connection, connection.begin():
            count = connection.execute(statement).scalar_one()
            if count == amount:  # a new window: clear away the counters of windows long over
                connection.execute(delete(table)
                                   .where(table.c.expires_at <= now - timedelta(days=1)))
        return count

    def _row(self, key: str):
        with db.engine.connect() as connection:
            return connection.execute(
                select(RateLimitCounter.count, RateLimitCounter.expires_at)
                .where(RateLimitCounter.key == key, RateLimitCounter.expires_at > clock.now())
            ).first()

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires_at.timestamp() if row else time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with db.engine.connect().execution_options(**WRITE) as connection, connection.begin():
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.connect().execution_options(**WRITE) as connection, connection.begin():
            connection.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))


def address() -> str:
    """Where a request comes from (behind a proxy: see the PROXY_COUNT setting)."""
    return request.remote_addr or "unknown"


def _sent(name: str) -> str:
    """What a form or JSON body sent as `name`, as text trimmed and lower-cased ("" if none)."""
    value = request.form.get(name)
    if value is None:
        body = json_body()
        value = body.get(name) if isinstance(body, dict) else None
    return str(value).strip().lower() if isinstance(value, str | int) else ""


def _digest(typed: str) -> str:
    """Whatever was typed (any length, any character) as a key the storage can hold."""
    return hashlib.sha256(typed.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def username() -> str:
    """The username a login try names, from the form or the JSON body, as a digest."""
    return _digest(_sent("username"))


def unit_named() -> str:
    """The unit an activation names (estate, building, unit number as typed), as a digest."""
    return _digest("\n".join(_sent(name) for name in ("estate_id", "building", "unit")))


def person() -> str:
    return str(current_user.get_id() or address())


def failed() -> None:
    """Say that this request was a failed try (a wrong password): it counts against the limits
    that count failures."""
    g.butlerdesk_failed_try = True


def _failed(_response) -> bool:
    return bool(g.get("butlerdesk_failed_try"))


limiter = Limiter(key_func=address, strategy="fixed-window")

login_limits = [
    limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], ADDRESS_SCOPE,
                         methods=["POST"]),
    limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_USERNAME"], USERNAME_SCOPE,
                         key_func=username, methods=["POST"], deduct_when=_failed),
]
password_limit = limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_USERNAME"],
                                      PASSWORD_SCOPE, key_func=person, methods=["POST"],
                                      deduct_when=_failed)


activation_limits = [
    limiter.shared_limit(lambda: current_app.config["ACTIVATION_LIMIT_PER_ADDRESS"],
                         ACTIVATION_ADDRESS_SCOPE, methods=["POST"]),
    limiter.shared_limit(lambda: current_app.config["ACTIVATION_LIMIT_PER_UNIT"],
                         ACTIVATION_UNIT_SCOPE, key_func=unit_named, methods=["POST"],
                         deduct_when=_failed),
]


def _limited(view, limits):
    for limit in limits:
        view = limit(view)
    return view


def limit_activations(view):
    """Put both activation limits on a view (the activation page, POST /api/v1/activations)."""
    return _limited(view, activation_limits)


def limit_logins(view):
    """Put both login limits on a view (the login page, POST /api/v1/tokens)."""
    return _limited(view, login_limits)


def retry_after() -> int:
    """Seconds until the limit this request broke lets tries through again."""
    breached = limiter.current_limit
    return max(1, int(breached.reset_at - time.time())) if breached else 60
