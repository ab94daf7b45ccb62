from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, Uuid, new_id, utcnow
from webapp.money import Money


class Wallet(Base):
    """A user's balance in one currency. `balance` and `reserved` cache the ledger: they change only in
    the same transaction as the postings, and `ewallet reconcile` proves they agree."""

    __tablename__ = "wallets"
    __table_args__ = (UniqueConstraint("user_id", "currency", name="uq_wallets_user_currency"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units, Σ postings
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units held by pending holds
    version: Mapped[int] = mapped_column(Integer)  # bumped on every change of the cache
    # What the wallet sent as transfers on `daily_sent_day` (UTC), kept by the ledger beside the balance:
    # the daily limit reads it under the wallet's lock instead of summing the day's history every time.
    daily_sent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # minor units
    daily_sent_day: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    # The ledger writes the cache with its own Core UPDATE (services/ledger.py), under the row lock, with a
    # row-count check, and bumps `version` itself. Any ORM write of a wallet is still versioned: it becomes
    # "… WHERE id = ? AND version = ?" and raises StaleDataError if the row moved since it was read.
    __mapper_args__ = {"version_id_col": version}

    @property
    def available(self) -> Money:
        return Money(self.balance - self.reserved, self.currency)
