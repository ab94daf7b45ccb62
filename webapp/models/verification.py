"""Proof that a person receives mail at an address or texts on a number: a secret sent there, stored
only as a hash, spent once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, Uuid, new_id, utcnow


class VerificationCode(Base):
    __tablename__ = "verification_codes"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # "email" (a mailed link) | "phone" (an SMS code)
    target: Mapped[str] = mapped_column(String(254))  # the address or E.164 number being confirmed
    code_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the link token or the code
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # wrong codes typed against it
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
