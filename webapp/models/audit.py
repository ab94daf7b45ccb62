from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, BigId, Timestamp, Uuid, utcnow


class AuditLog(Base):
    """Append-only. Each row carries the hash of the previous row of its stream (one stream per user,
    plus "system"), so edits, insertions and deletions show, and no global row serializes the wallet."""

    __tablename__ = "audit_logs"
    __table_args__ = (UniqueConstraint("stream", "seq", name="uq_audit_stream_seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    stream: Mapped[str] = mapped_column(String(48))
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(48))
    actor_id: Mapped[str | None] = mapped_column(Uuid, nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditStream(Base):
    """The head of one audit stream: locking it orders appends; its seq and hash reveal a deleted tail."""

    __tablename__ = "audit_streams"

    stream: Mapped[str] = mapped_column(String(48), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
