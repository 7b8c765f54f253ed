"""Notices: who is told what, by which channel, and how its delivery went (the outbox).

A notice is made in the same transaction as its cause (a step, a new ticket, a nudge) or by the
sweeper for what time causes (a warning before a deadline, an escalation or a reminder after a
miss). Its `key` names the cause, the level, the recipient and the channel, and is unique, so a
notice is made once however many engines and sweepers run. The delivery worker
(workflows.delivery) sends the pending ones; an in-app notice is delivered by being a row.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db

if TYPE_CHECKING:
    from models.people import User
    from models.tickets import Ticket


class Channel(StrEnum):
    IN_APP = "inapp"      # the bell and the notices page
    EMAIL = "email"       # to the person's address, over SMTP
    WEBHOOK = "webhook"   # a group robot (WeCom, DingTalk) or a signed gateway
    SMS = "sms"           # a text to the person's mobile, through the company's SMS gateway


class NoticeStatus(StrEnum):
    PENDING = "pending"   # to be sent at next_try_at
    SENDING = "sending"   # claimed by a worker until lease_until; a killed worker's comes back
    SENT = "sent"
    FAILED = "failed"     # gave up after the last try; on the delivery log


class Notice(db.Model):
    __tablename__ = "notices"
    __table_args__ = (
        # The bell: a person's unread in-app notices.
        Index("ix_notices_unread", "user_id",
              sqlite_where=text("channel = 'inapp' AND read_at IS NULL"),
              postgresql_where=text("channel = 'inapp' AND read_at IS NULL")),
        # The delivery worker's query: what is to be sent, in the order it fell due.
        Index("ix_notices_to_send", "next_try_at",
              sqlite_where=text("status IN ('pending', 'sending')"),
              postgresql_where=text("status IN ('pending', 'sending')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # None: a group webhook, which tells a group rather than a person.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(10))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    cause: Mapped[str] = mapped_column(String(20))
    # What the words are made from when it is shown or sent, in the reader's language.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()

    def __repr__(self) -> str:
        return f"<Notice {self.key} {self.status}>"
