"""Bank accounts people withdraw to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, Uuid, new_id, utcnow


class BankAccount(Base):
    """A bank account payouts can go to. We keep what tells a person which account it is (holder, bank,
    last four) and the payout provider's token for it, never its number (DESIGN §12). Removing one stamps
    `removed_at`: the payouts made to it keep pointing at it."""

    __tablename__ = "bank_accounts"
    __table_args__ = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "iban" | "us_ach" (webapp/providers/bank.py)
    account_holder_name: Mapped[str] = mapped_column(String(100))
    bank_name: Mapped[str | None] = mapped_column(String(140), nullable=True)  # where schwifty knows the bank
    last4: Mapped[str] = mapped_column(String(4))  # of the IBAN or the account number
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217: what payouts to it are paid in
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    provider_token: Mapped[str] = mapped_column(String(255))  # opaque: PAYOUT_PROVIDER's name for the account
    # HMAC-SHA256 of the number under a key derived from SECRET_KEY: finds the same account added twice
    # without keeping the number (services/bank_accounts.py).
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
