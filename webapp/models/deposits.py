"""Card deposits through Stripe: our side of each PaymentIntent, and the webhook events already applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, utcnow


class CardDeposit(Base):
    """One "Add money" attempt: the pending `deposit` transaction it shows as, the PaymentIntent that pays
    it, and what the webhooks have told us so far. Every event about it locks this row first, so events
    for one deposit apply one at a time, in whatever order they arrive (services/deposit_events.py)."""

    __tablename__ = "card_deposits"
    __table_args__ = (Index("ix_card_deposits_stale", "status", "created_at"),  # the sweep of stale ones
                      {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"})

    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units asked for; the PaymentIntent's amount
    currency: Mapped[str] = mapped_column(String(3))
    # pending → completed | failed | review (amount, currency or metadata did not match: never credited)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    client_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)  # for the card page only
    credit_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units already reversed in the ledger
    charge_refunded: Mapped[int] = mapped_column(BigInteger, default=0)  # largest `amount_refunded` seen
    refunds: Mapped[dict] = mapped_column(JSON, default=dict)  # refund id → {amount, created, live, applied}
    dispute: Mapped[dict] = mapped_column(JSON, default=dict)  # {id, amount, status, hold_id, applied}
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class StripeEvent(Base):
    """A webhook event applied, stored in the same transaction as its effect: a redelivery finds it and
    changes nothing (DESIGN §7: the provider's event id is the idempotency key)."""

    __tablename__ = "stripe_events"
    __table_args__ = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # "evt_…"
    type: Mapped[str] = mapped_column(String(64))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
