"""An estate's own values for deadlines of the rules file (a premium estate's 15 minutes on
site): only a deadline's duration and its points may differ (workflows.overrides checks them as
the rules loader would). A deadline without a row here keeps the file's values."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models import db


class EstateRuleOverride(db.Model):
    __tablename__ = "estate_rule_overrides"

    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    deadline: Mapped[str] = mapped_column(String(40), primary_key=True)
    # As the rules write it ("15m"); None: the file's. Kept as text so that it reads back as typed.
    within: Mapped[str | None] = mapped_column(String(20))
    points: Mapped[int | None]  # negative, as in the rules; None: the file's
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
