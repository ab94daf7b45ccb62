"""Automatic risk holds: what fired, on whom, and who cleared it (services/risk.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, Uuid, new_id, utcnow


class RiskFlag(Base):
    """One firing of a risk rule. It froze the account's outgoing money when it was written; it stays
    open (resolved_at NULL, on the back office's flagged list) until an operator clears it."""

    __tablename__ = "risk_flags"
    __table_args__ = (Index("ix_risk_flags_open", "resolved_at", "created_at"),
                      {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"})

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))  # a name from RISK_RULES in config
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # what the rule saw: counts, window, amounts
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(500), nullable=True)  # the operator's reason
