"""Leave (请假) and who covers it (顶岗): a butler away for some dates or hours, and the
substitute a supervisor named when approving it."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.people import User


class LeaveStatus(StrEnum):
    REQUESTED = "requested"  # waits for a supervisor
    APPROVED = "approved"    # the substitute covers from starts_at to ends_at
    CANCELLED = "cancelled"  # withdrawn or refused: it covers nothing


class Leave(db.Model):
    """A butler's leave from `starts_at` until `ends_at` (exclusive). While an approved one runs,
    its substitute answers for what the butler would have (workflows.access.responsibility).
    Never deleted: a cancelled leave stays, with who cancelled it and when."""

    __tablename__ = "leaves"
    __table_args__ = (Index("ix_leaves_butler_starts", "butler_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    butler_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    substitute_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=LeaveStatus.REQUESTED)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]

    butler: Mapped[User] = relationship(foreign_keys=[butler_id])
    substitute: Mapped[User | None] = relationship(foreign_keys=[substitute_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
