"""`Idempotency-Key` on the API's POSTs: a request sent again with the same key (a client that
retries after a timeout) gets the first answer back instead of being done twice.

The key is the caller's, per user, kept for a day. The first request with it is recorded before
it is handled and its answer after, each in a transaction of its own; meanwhile the same key is
answered 409 (the first is still being handled). An answer of 5xx is not kept, so the request
may be tried again with the same key. The same key with another request (another path or body)
is refused with 422: it is a mistake in the client.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Blueprint, Response, g, request
from flask_login import current_user
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from models import IdempotentRequest, db
from models.transaction import WRITE
from views.errors import api_error
from workflows import clock

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
# A first request still "being handled" after this long was cut off (its worker died): its key
# may be used again. Every request is answered well within it (gunicorn's timeout is 30 s).
ABANDONED = timedelta(minutes=2)
REPLAYED = "Idempotent-Replayed"


def init_app(bp: Blueprint) -> None:
    bp.before_request(begin)
    bp.after_request(finish)
    bp.teardown_request(abandon)


def _digest() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.mimetype == "multipart/form-data":
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(f"{name}={value}\n".encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            digest.update(f"{name}:{upload.filename}:".encode())
            digest.update(hashlib.sha256(upload.stream.read()).digest())
            upload.stream.seek(0)
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _key_problem(key: str) -> str | None:
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        return "must be 1 to 255 printable ASCII characters (a UUID, say)"
    return None


def begin():
    """Before a POST with the header: replay the answer kept for its key, or record the key."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or not current_user.is_authenticated:
        return None
    if problem := _key_problem(key):
        return api_error(422, "invalid", f"bad {HEADER} header", {HEADER: problem})
    digest, now = _digest(), clock.now()
    table = IdempotentRequest.__table__
    mine = (table.c.user_id == current_user.id) & (table.c.key == key)
    try:
        with db.engine.connect().execution_options(**WRITE) as connection, connection.begin():
            row = connection.execute(select(table).where(mine)).first()
            if row is not None and (row.created_at <= now - KEPT or (
                    row.status is None and row.created_at <= now - ABANDONED)):
                row = None
            if row is None:
                connection.execute(delete(table).where(mine | (table.c.created_at <= now - KEPT)))
                recorded = connection.execute(
                    insert(table).values(user_id=current_user.id, key=key,
                                         request_digest=digest, created_at=now)
                    .returning(table.c.id)).scalar_one()
    except IntegrityError:  # the same key, sent at the same moment (PostgreSQL)
        return _in_progress()
    if row is None:
        g.idempotent_request = recorded
        return None
    if row.request_digest != digest:
        return api_error(422, "invalid", f"this {HEADER} was used for another request",
                         {HEADER: "send a new key with each new request"})
    if row.status is None:
        return _in_progress()
    response = Response(row.body, status=row.status, mimetype="application/json")
    if row.location:
        response.headers["Location"] = row.location
    response.headers[REPLAYED] = "true"
    return response


def _in_progress():
    return api_error(409, "conflict", f"the first request with this {HEADER} is still being "
                                      "handled; try again in a moment")


def finish(response: Response) -> Response:
    """After the first request with a key: keep its answer (not a 5xx: that one may be tried
    again)."""
    row_id = g.pop("idempotent_request", None)
    if row_id is None:
        return response
    table = IdempotentRequest.__table__
    with db.engine.connect().execution_options(**WRITE) as connection, connection.begin():
        if response.status_code >= 500:
            connection.execute(delete(table).where(table.c.id == row_id))
        else:
            connection.execute(update(table).where(table.c.id == row_id).values(
                status=response.status_code, body=response.get_data(as_text=True),
                location=response.headers.get("Location")))
    return response


def abandon(_exc=None) -> None:
    """A request that ended without an answer to keep frees its key at once."""
    row_id = g.pop("idempotent_request", None)
    if row_id is not None:
        table = IdempotentRequest.__table__
        with db.engine.connect().execution_options(**WRITE) as connection, connection.begin():
            connection.execute(delete(table).where(table.c.id == row_id))
