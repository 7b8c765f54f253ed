"""The audit log: every change made on the administration pages, the API and the import (who,
when, what, before → after). Rows are only ever added."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.people import User


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    # The admin's page reads the newest first, often of one estate or one kind of record.
    __table_args__ = (Index("ix_audit_log_estate_at", "estate_id", "at"),
                      Index("ix_audit_log_subject", "subject_type", "subject_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the command line
    # The estate the record is in (None: the installation's, such as a company-wide account).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"))
    action: Mapped[str] = mapped_column(String(40))        # created, changed, deactivated, ...
    subject_type: Mapped[str] = mapped_column(String(30))  # user, estate, area, unit, ...
    subject_id: Mapped[int | None]
    # The fields that changed, as they were and as they became (None: it did not exist / was
    # removed). Secrets are never written here, only whether one was set.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500), default="")

    actor: Mapped[User | None] = relationship()


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(_mapper, _connection, entry: AuditEntry) -> None:
    raise RuntimeError(f"the audit log is append-only (entry {entry.id})")
