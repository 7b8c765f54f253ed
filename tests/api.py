"""Driving the JSON API in tests: tokens, opening tickets, firing triggers, reading errors."""
from __future__ import annotations

import secrets
from datetime import timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import select

from models import Credential, CredentialKind, User, db
from workflows.clock import now as clock_now

API = "/api/v1"


def log_in(client, username: str) -> dict[str, str]:
    """Log in through POST /tokens; returns the Authorization header to send."""
    reply = client.post(f"{API}/tokens", json={"username": username, "password": "secret"})
    assert reply.status_code == 201, reply.json
    return {"Authorization": f"Bearer {reply.json['token']}"}


_issued: WeakKeyDictionary = WeakKeyDictionary()


def token_for(client, username: str) -> dict[str, str]:
    """The Authorization header of a token issued straight into the test's database.

    Most tests need several people logged in; checking a password costs a tenth of a second, so
    they skip it (POST /tokens itself is tested with `log_in`). One token per user and app.
    """
    app = client.application
    issued = _issued.setdefault(app, {})
    if username not in issued:
        token = secrets.token_urlsafe(32)
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.username == username))
            now = clock_now()
            db.session.add(Credential(user_id=user_id, kind=CredentialKind.API,
                                      token_hash=Credential.hash(token), created_at=now,
                                      expires_at=now + timedelta(days=30)))
            db.session.commit()
        issued[username] = {"Authorization": f"Bearer {token}"}
    return issued[username]


def open_ticket(client, headers, kind="repair", title="Tap leaking", **extra) -> dict:
    reply = client.post(f"{API}/tickets", headers=headers,
                        json={"kind": kind, "title": title, **extra})
    assert reply.status_code == 201, reply.json
    return reply.json


def fire(client, headers, ticket_id: int, trigger: str, version: int | None = None, **data):
    """Fire a trigger; with no version given, read the ticket's current one first."""
    if version is None:
        version = client.get(f"{API}/tickets/{ticket_id}", headers=headers).json["version"]
    return client.post(f"{API}/tickets/{ticket_id}/fire", headers=headers,
                       json={"trigger": trigger, "version": version, **data})


def assert_error(reply, status: int, code: str | None = None, field: str | None = None):
    """The reply is the API's JSON error with this status (and code, and a message for field)."""
    assert reply.status_code == status, (reply.status_code, reply.get_data(as_text=True)[:500])
    assert reply.is_json, reply.get_data(as_text=True)[:200]
    err = reply.json["error"]
    assert set(err) == {"code", "message", "fields"}
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["fields"], dict)
    if code is not None:
        assert err["code"] == code
    if field is not None:
        assert field in err["fields"], err
        assert err["fields"][field]
    return err
