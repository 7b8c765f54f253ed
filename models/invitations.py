"""Invitations: the code each unit's residents get in with (the office prints it on a slip).

Only the code's SHA-256 is kept, like a password's: the code is shown once, on the sheet or the
slip printed when it is issued, and issuing a new one (regenerating) makes the old one stop
working. One row per unit, replaced when a new code is issued; the audit log keeps who issued
which and when.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.estate import Unit
from models.people import User


class Invitation(db.Model):
    __tablename__ = "invitations"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the CLI

    unit: Mapped[Unit] = relationship()
    issued_by: Mapped[User | None] = relationship()

    @staticmethod
    def hash(code: str) -> str:
        return hashlib.sha256(code.encode()).hexdigest()
