"""Logging in and the logins in use: passwords, browser sessions, API tokens, and ending them.

A login is a `Credential` row holding the SHA-256 of a random secret: a page login keeps the
secret in the signed session cookie, an API client sends it as a bearer token. Every request
looks its secret up (`holder`), so ending a login — logging out, revoking a token, changing the
password, deactivating the person (workflows.people) — takes effect at once, even for a copied
cookie or token.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import contains_eager
from werkzeug.security import check_password_hash, generate_password_hash

from models import Credential, CredentialKind, Notice, NoticeStatus, User, db
from models.people import NOTICE_KINDS
from models.transaction import write
from workflows import audit, clock
from workflows.errors import InvalidData, NotFound

MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_EMAIL = 254
# One @, something before it, and a domain with a dot after it, no spaces: enough to catch a
# slip of the finger; whether the address works shows when a notice is sent to it.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# A mainland mobile number (11 digits from 13..19), optionally after +86.
MOBILE = re.compile(r"(\+86)?1[3-9]\d{9}")


@cache
def _dummy_hash() -> str:
    """A hash to check a password against when the username is unknown, so that the answer
    takes as long as for a known user and does not tell which usernames exist."""
    return generate_password_hash(secrets.token_hex(16))


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, else None (in the same time either way)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def lifetime(kind: str) -> timedelta:
    config = current_app.config
    if kind == CredentialKind.API:
        return timedelta(days=config["TOKEN_TTL_DAYS"])
    return timedelta(hours=config["SESSION_TTL_HOURS"])


def sign_in(user: User, kind: str) -> tuple[str, Credential]:
    """A new login for `user`: (its secret, to hand out once, and the stored credential)."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    with write():
        credential = Credential(user_id=user.id, kind=kind, token_hash=Credential.hash(secret),
                                created_at=now, expires_at=now + lifetime(kind))
        db.session.add(credential)
    return secret, credential


def holder(secret: str | None, kind: str) -> tuple[User, Credential] | None:
    """Who holds this secret, if it is a live login of `kind` of an active person (one query)."""
    if not secret:
        return None
    found = db.session.execute(
        select(Credential, User).join(Credential.user)
        .where(Credential.token_hash == Credential.hash(secret), Credential.kind == kind,
               Credential.revoked_at.is_(None), Credential.expires_at > clock.now(),
               User.active.is_(True))
        .options(contains_eager(Credential.user))
    ).first()
    return (found.User, found.Credential) if found else None


def live(user: User) -> list[Credential]:
    """The person's logins in use, newest first."""
    return list(db.session.scalars(
        select(Credential).where(Credential.user_id == user.id, Credential.revoked_at.is_(None),
                                 Credential.expires_at > clock.now())
        .order_by(Credential.created_at.desc(), Credential.id.desc())))


def revoke(user: User, credential_id: Any) -> None:
    """End one of the person's own logins (a token, a session on another device)."""
    with write():
        ended = db.session.execute(
            update(Credential).where(Credential.id == credential_id,
                                     Credential.user_id == user.id,
                                     Credential.revoked_at.is_(None))
            .values(revoked_at=clock.now())).rowcount
    if not ended:
        raise NotFound(_l("no such login of yours"))


def sign_out(secret: str | None) -> None:
    """End the login this secret belongs to (logging out; DELETE /api/v1/tokens/current)."""
    if not secret:
        return
    with write():
        db.session.execute(update(Credential)
                           .where(Credential.token_hash == Credential.hash(secret),
                                  Credential.revoked_at.is_(None))
                           .values(revoked_at=clock.now()))


def end_all(user_id: int, now: datetime, keep: int | None = None) -> None:
    """End every login of the person (but `keep`); the caller's transaction commits."""
    query = update(Credential).where(Credential.user_id == user_id,
                                     Credential.revoked_at.is_(None))
    if keep is not None:
        query = query.where(Credential.id != keep)
    db.session.execute(query.values(revoked_at=now))


def sign_out_elsewhere(user: User, keep: int | None) -> None:
    """End the person's logins everywhere but this one."""
    with write():
        end_all(user.id, clock.now(), keep)


def change_password(user: User, current: Any, new: Any, again: Any = None,
                    keep: int | None = None) -> None:
    """Change one's own password; every other login of the person ends (a stolen session or
    token with it). `again` is the new password typed twice (None: not asked, the API)."""
    errors: dict[str, str] = {}
    if not isinstance(current, str) or not current:
        errors["current_password"] = _l("is required")
    elif not user.check_password(current):
        errors["current_password"] = _l("is not your password")
    errors.update(password_problems(new, "new_password"))
    if again is not None and "new_password" not in errors and again != new:
        errors["new_password_again"] = _l("does not match the new password")
    if errors:
        raise InvalidData(_l("the password was not changed"), errors)
    with write():
        person = db.session.get(User, user.id)
        person.password_hash = generate_password_hash(new)
        end_all(user.id, clock.now(), keep)
        audit.record(person, "password_changed", person)


def password_problems(password: Any, field: str) -> dict[str, str]:
    if not isinstance(password, str) or not password:
        return {field: _l("is required")}
    if len(password) < MIN_PASSWORD:
        return {field: _l("must be at least %(count)d characters", count=MIN_PASSWORD)}
    if len(password) > MAX_PASSWORD:
        return {field: _l("must be at most %(count)d characters", count=MAX_PASSWORD)}
    return {}


def set_notice_settings(user: User, email: Any, phone: Any, email_for: Any, sms_for: Any,
                        quiet_from: Any, quiet_until: Any) -> None:
    """Where one's notices go besides the bell and when: an email address (none: blank), a
    mobile, the kinds of notice emailed and texted (models.people.NOTICE_KINDS), and quiet
    hours ("22:00" until "07:00"; both blank: none) through which what can wait is held.
    Nothing is saved unless all of it is right."""
    problems: dict[str, Any] = {}
    address = email_address(email, "email", problems)
    number = mobile(phone, "phone", problems)
    chosen = {name: _kinds(value) for name, value in (("email_for", email_for),
                                                       ("sms_for", sms_for))}
    for name, kinds in chosen.items():
        if kinds is None:
            problems[name] = _l("must be a list of: %(kinds)s", kinds=", ".join(NOTICE_KINDS))
    if not problems.get("phone") and not number and chosen["sms_for"]:
        problems["phone"] = _l("is needed for the texts chosen")
    quiet = _quiet_hours(quiet_from, quiet_until, problems)
    if problems:
        raise InvalidData(_l("the settings were not saved"), problems)
    with write():
        person = db.session.get(User, user.id)
        person.email = address or None
        person.phone = number or None
        person.email_for, person.sms_for = chosen["email_for"], chosen["sms_for"]
        if (person.quiet_from, person.quiet_until) != (quiet["quiet_from"], quiet["quiet_until"]):
            _release_held(person.id)
        person.quiet_from, person.quiet_until = quiet["quiet_from"], quiet["quiet_until"]


def email_address(value: Any, field: str, problems: dict[str, Any]) -> str:
    """An email address as typed ("" for none); what is wrong with it goes into `problems`."""
    address = _typed(value)
    if len(address) > MAX_EMAIL:
        problems[field] = _l("must be at most %(count)d characters", count=MAX_EMAIL)
    elif address and not EMAIL.fullmatch(address):
        problems[field] = _l("is not an email address, like name@example.com")
    return address


def mobile(value: Any, field: str, problems: dict[str, Any]) -> str:
    """A mainland mobile number as typed, as its 11 digits ("" for none: full-width digits,
    spaces, dashes and +86 taken away); what is wrong with it goes into `problems`."""
    number = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", _typed(value)))
    if number and not MOBILE.fullmatch(number):
        problems[field] = _l("is not a mainland mobile number: 11 digits, like 138 0013 8000")
        return number
    return number.removeprefix("+86")


def _quiet_hours(quiet_from: Any, quiet_until: Any, problems: dict[str, Any]) -> dict:
    """The quiet hours as typed, both times or neither; what is wrong goes into `problems`."""
    quiet = {name: _clock_time(value) for name, value in
             (("quiet_from", quiet_from), ("quiet_until", quiet_until))}
    for name, value in quiet.items():
        if value is False:
            problems[name] = _l("must be a time of day, like 22:00")
    if False in quiet.values():
        return quiet
    if (quiet["quiet_from"] is None) != (quiet["quiet_until"] is None):
        problems["quiet_until" if quiet["quiet_until"] is None else "quiet_from"] = _l(
            "give both times of the quiet hours, or neither")
    elif quiet["quiet_from"] is not None and quiet["quiet_from"] == quiet["quiet_until"]:
        problems["quiet_until"] = _l("must differ from the start of the quiet hours")
    return quiet


def _release_held(user_id: int) -> None:
    """Quiet hours changed: what they held goes now (the next ones follow the new hours)."""
    now = clock.now()
    db.session.execute(
        update(Notice).where(Notice.user_id == user_id, Notice.status == NoticeStatus.PENDING,
                             Notice.attempts == 0, Notice.next_try_at > now)
        .values(next_try_at=now).execution_options(synchronize_session=False))


def _kinds(value: Any) -> list[str] | None:
    """Kinds of notice as chosen, in their usual order; None when that is not what was sent."""
    if not isinstance(value, list | tuple) or not all(
            isinstance(k, str) and k in NOTICE_KINDS for k in value):
        return None
    return [k for k in NOTICE_KINDS if k in value]


def _typed(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _clock_time(value: Any) -> time | None | bool:
    """A time of day as typed ("7:00", "22:30") or given (a time), None for none, False when it
    is not one."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        return False
    hours, minutes = map(int, value.strip().split(":"))
    return time(hours, minutes) if hours < 24 and minutes < 60 else False


def set_language(user: User, language: str) -> None:
    """Remember the language the person chose on the pages: their notices are written in it."""
    with write():
        db.session.get(User, user.id).language = language
