from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, Uuid, new_id, utcnow

ROLES = ("user", "reviewer", "admin")
KYC_STATUSES = ("unverified", "pending", "verified", "rejected")


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    phone: Mapped[str] = mapped_column(String(16), unique=True)  # E.164, e.g. +14155550123
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id encoded hash
    role: Mapped[str] = mapped_column(String(16), default="user")
    kyc_status: Mapped[str] = mapped_column(String(16), default="unverified")
    is_frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    # Access tokens carry the epoch they were issued at (services/tokens.py); a password change or reset
    # and "sign out everywhere" bump it, so every access token issued before stops working at once.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # NULL until the person proves they receive mail at the address / texts on the number. Only confirmed
    # identifiers find a wallet when someone sends money "to this email / phone".
    email_verified_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    phone_verified_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(80), nullable=True)  # shown to who pays them
    # The transaction PIN (services/pins.py): an argon2id hash, NULL until set; wrong tries in a row, and
    # the end of the lock on outgoing money that PIN_MAX_FAILURES of them start.
    pin_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


def mask_phone(phone: str) -> str:
    """What logs and other users may see: the country code and the last two digits."""
    return f"{phone[:3]}•••{phone[-2:]}"


def mask_email(email: str) -> str:
    """What logs and notices may show of an address: its first letter and its domain, "a•••@example.com"."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


class RefreshToken(Base):
    """A rotating refresh token. Only its hash is stored; a reused (spent) token revokes its family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[str] = mapped_column(Uuid, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class PasswordResetToken(Base):
    """A mailed password-reset link. Only the SHA-256 of its secret is stored, so a copy of the database
    cannot reset anyone's password. Single use (`used_at`), short-lived (`expires_at`), and replaced by
    the next request for a link (`revoked_at`)."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
