"""The monthly assessment (考核): scorecard lines, appeals, reviews, closed months, spot-checks.

Everything here is append-only. A waiver does not edit or delete a deduction: it is a Review row
that references it, and the score follows.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db
from models.deadlines import Deadline
from models.estate import Estate
from models.people import User
from models.tickets import Ticket


class Deduction(db.Model):
    """One line of a butler's scorecard.

    Either a missed deadline (recorded by the system, one per deadline, enforced by the unique
    key) or a finding a supervisor recorded from the catalog: a deduction, or with positive
    points a bonus (特约服务).
    """

    __tablename__ = "deductions"
    __table_args__ = (Index("ix_deductions_butler_missed", "butler_id", "missed_at"),
                      Index("ix_deductions_missed", "missed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id"), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Who answered for the ticket when the deadline fell due (workflows.access.responsibility:
    # its holder, or the substitute covering them; None: nobody did), or
    # the butler a finding is about.
    butler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A miss charged to a substitute: the butler on leave they were covering for (顶岗).
    covering_for_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    points: Mapped[int]  # negative: a deduction; positive: a bonus
    article: Mapped[int]
    finding_code: Mapped[str | None] = mapped_column(String(20))  # None: a missed deadline
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str | None] = mapped_column(String(80))  # a stored upload's name
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: system
    missed_at: Mapped[datetime]    # when it happened (a deadline: its due time); decides the month
    recorded_at: Mapped[datetime]  # when it was written down
    # A miss already due when its ticket was registered (a call registered afterwards, 事后补单):
    # nobody could have acted in time, so it counts only once a supervisor charges it (a Review,
    # upheld) and not at all if they waive it.
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The estate a finding is about (the supervisor's pick, or its ticket's); None for a missed
    # deadline, whose estate is its ticket's (workflows.assessment.line_estate).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)

    deadline: Mapped[Deadline | None] = relationship(back_populates="deduction")
    ticket: Mapped[Ticket | None] = relationship()
    butler: Mapped[User | None] = relationship(foreign_keys=[butler_id])
    covering_for: Mapped[User | None] = relationship(foreign_keys=[covering_for_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    appeal: Mapped[Appeal | None] = relationship(back_populates="deduction")
    review: Mapped[Review | None] = relationship(back_populates="deduction")
    # The spot-check follow-up that became this finding, if one did.
    spot_check_item: Mapped[SpotCheckItem | None] = relationship(
        primaryjoin="SpotCheckItem.finding_id == Deduction.id", viewonly=True, uselist=False)

    @property
    def waived(self) -> bool:
        return self.status == "waived"

    @property
    def status(self) -> str:
        """waived, upheld (for a held line: charged), held (for a supervisor's review), appealed
        or counted."""
        if self.review is not None:
            return self.review.outcome
        return "held" if self.held else "appealed" if self.appeal is not None else "counted"

    @property
    def counts(self) -> bool:
        """Whether the line counts in the score: not waived, and not held without a decision."""
        return self.status in COUNTING


# The statuses of a line that count in the score.
COUNTING = frozenset({"counted", "appealed", "upheld"})


class Appeal(db.Model):
    """A butler's reasoned request to waive a line of their scorecard. One per line."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    deduction_id: Mapped[int] = mapped_column(ForeignKey("deductions.id"), unique=True)
    butler_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    deduction: Mapped[Deduction] = relationship(back_populates="appeal")
    butler: Mapped[User] = relationship()


class ReviewOutcome(StrEnum):
    WAIVED = "waived"
    UPHELD = "upheld"


class Review(db.Model):
    """A supervisor's decision on a line: waived (it no longer counts) or upheld. Final."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    deduction_id: Mapped[int] = mapped_column(ForeignKey("deductions.id"), unique=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    deduction: Mapped[Deduction] = relationship(back_populates="review")
    supervisor: Mapped[User] = relationship()


class MonthAction(StrEnum):
    CLOSE = "close"
    REOPEN = "reopen"


class MonthClosing(db.Model):
    """Closing or reopening an estate's assessment month (YYYY-MM, local). The estate's latest
    row rules.

    Closing stores the estate's scorecards as they stood, so a closed month reads the same
    forever.
    """

    __tablename__ = "month_closings"

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    action: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]
    scorecards: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    actor: Mapped[User] = relationship()
    estate: Mapped[Estate] = relationship()


class SpotCheck(db.Model):
    """An estate's random sample (抽查) of a month's closed complaints and repairs. Drawn once
    per estate and month."""

    __tablename__ = "spot_checks"
    __table_args__ = (UniqueConstraint("estate_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    month: Mapped[str] = mapped_column(String(7))
    # The draw is random.Random(seed).sample(population, size); a 32-bit seed needs a BIGINT.
    seed: Mapped[int] = mapped_column(BigInteger)
    population_size: Mapped[int]
    sample_size: Mapped[int]
    drawn_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[datetime]

    drawn_by: Mapped[User] = relationship()
    estate: Mapped[Estate] = relationship()
    items: Mapped[list[SpotCheckItem]] = relationship(back_populates="spot_check",
                                                        order_by="SpotCheckItem.position")


class SpotCheckResult(StrEnum):
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    UNREACHABLE = "unreachable"


class SpotCheckItem(db.Model):
    """One sampled ticket and the result of the supervisor's follow-up call."""

    __tablename__ = "spot_check_items"
    __table_args__ = (UniqueConstraint("spot_check_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_checks.id"), index=True)
    position: Mapped[int]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    result: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None]
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("deductions.id"))

    spot_check: Mapped[SpotCheck] = relationship(back_populates="items")
    ticket: Mapped[Ticket] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    finding: Mapped[Deduction | None] = relationship()
