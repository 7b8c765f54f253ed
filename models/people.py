"""People: users with one role each, the logins they hold, and the counters that limit tries."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from models import db

if TYPE_CHECKING:
    from models.estate import Unit


class Role(StrEnum):
    RESIDENT = "resident"
    BUTLER = "butler"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# How an unusable password hash starts: no hash werkzeug makes does, so no password matches it.
UNUSABLE_PASSWORD = "!"

STAFF_ROLES = frozenset({Role.BUTLER, Role.TECHNICIAN, Role.SUPERVISOR, Role.ADMIN})

# The kinds of notice a person chooses to have emailed: a new request, a step on a ticket, a
# warning before a deadline, a miss (its escalation and reminders), a leave (asked for, approved
# with its substitute, withdrawn).
NOTICE_KINDS = ("new", "step", "warning", "missed", "leave")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), index=True)  # staff lists by role
    password_hash: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    # Where notices go besides the bell (None: the bell only), which kinds of them, and in
    # which language they are written (the language last chosen on the pages; None: the
    # installation's default).
    email: Mapped[str | None] = mapped_column(String(254))
    email_for: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(NOTICE_KINDS))
    # The kinds texted to the phone, when the company has an SMS gateway (each text costs it).
    sms_for: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Local times between which emails that can wait are held until the end (None: never);
    # from 22:00 until 07:00 spans midnight.
    quiet_from: Mapped[time | None]
    quiet_until: Mapped[time | None]
    language: Mapped[str | None] = mapped_column(String(10))
    # A supervisor marked as manager hears of a miss still outstanding after a while.
    is_manager: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A resident's home; staff have none.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # When a resident got in with their unit's invitation code and chose a password (None: not
    # through an invitation: staff, or a resident imported who has not yet activated).
    activated_at: Mapped[datetime | None]

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def set_unusable_password(self) -> None:
        """No password logs in (a resident imported, who activates with their unit's code)."""
        self.password_hash = UNUSABLE_PASSWORD + secrets.token_hex(16)

    @property
    def has_usable_password(self) -> bool:
        return not self.password_hash.startswith(UNUSABLE_PASSWORD)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class CredentialKind(StrEnum):
    BROWSER = "browser"  # a page login: the secret travels in the signed session cookie
    API = "api"          # a bearer token from POST /api/v1/tokens


class Credential(db.Model):
    """A login that is in use: a browser session or an API token. Only the secret's SHA-256 is
    stored. Logging out, revoking a token, a password change or deactivating the person ends it
    at once (`revoked_at`), so a copied cookie or token stops working too."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class RateLimitCounter(db.Model):
    """A rate limit's counter for one key in its current window (views.limits): in the database,
    so every app server and worker counts the same attempts."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(index=True)  # old windows are cleared by it
