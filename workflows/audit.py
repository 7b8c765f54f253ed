"""Writing and reading the audit log (models.audit). Whatever changes an estate, its places,
its people or their accounts calls `record` in the transaction of the change, so the log holds
exactly what was committed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import AuditEntry, Role, User, db
from workflows import clock
from workflows.errors import Forbidden

PAGE_SIZE = 100


def record(actor: User | None, action: str, subject: Any, before: dict | None = None,
           after: dict | None = None, *, estate_id: int | None = None, note: str = "") -> None:
    """Add one entry: `actor` (None: the command line) did `action` to `subject` (a model row),
    the fields in `before` becoming those in `after`. Fields equal on both sides are left out;
    a change that changes nothing is not an entry."""
    if before is not None and after is not None:
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        if not changed:
            return
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    db.session.add(AuditEntry(
        at=clock.now(), actor_id=actor.id if actor else None, estate_id=estate_id,
        action=action, subject_type=subject.__tablename__.removesuffix("s"),
        subject_id=subject.id, before=before, after=after, note=note[:500]))


def entries(actor: User, *, estate_id: int | None = None, subject_type: str | None = None,
            subject_id: int | None = None, by: int | None = None,
            since: datetime | None = None, until: datetime | None = None,
            page: int = 1) -> list[AuditEntry]:
    """The log, newest first, filtered; the admin's to read."""
    if actor.role != Role.ADMIN:
        raise Forbidden(_l("only the company's admin reads the audit log"))
    query = select(AuditEntry).options(joinedload(AuditEntry.actor))
    for column, value in ((AuditEntry.estate_id, estate_id),
                          (AuditEntry.subject_type, subject_type),
                          (AuditEntry.subject_id, subject_id), (AuditEntry.actor_id, by)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return list(db.session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                   .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
