"""Institutions people pay with a structured reference (a college, a school, a utility, a shop), and the
settlements that pay each one's collected money out to its bank account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, Uuid, new_id, utcnow

BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


class Institution(Base):
    """A payee in the directory. Its money sits in its own ledger account, whose balance is derived from
    postings and never cached in a row: a payment locks only the payer's wallet, so any number of payers
    can pay one institution at once (DESIGN §5). Only settlement locks this row, and payments never do."""

    __tablename__ = "institutions"
    __table_args__ = (Index("ix_institutions_directory", "kind", "active", "name"), BINARY)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(140))
    kind: Mapped[str] = mapped_column(String(16))  # college | school | utility | merchant
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217: what it is paid in
    # The reference a payer must give, in the order the form asks for it: a list of
    # {"name", "label", "pattern", "example"?}; each value must fullmatch its pattern (services/institutions.py).
    reference_fields: Mapped[list] = mapped_column(JSON, default=list)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)  # "institution:<id>"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where settlements go: the payout provider's token for the institution's bank account and what tells
    # an operator which account it is. Never the number itself (DESIGN §12). NULL: nothing is settled.
    payout_token: Mapped[str | None] = mapped_column(String(255), nullable=True)
    payout_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    payout_bank_name: Mapped[str | None] = mapped_column(String(140), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class InstitutionSettlement(Base):
    """One payout of an institution's collected balance to its bank account. The money leaves the
    institution's account for payouts-in-flight in the transaction that makes this row; the provider is
    called afterwards, outside any transaction (DESIGN §6), and a permanent failure puts it back."""

    __tablename__ = "institution_settlements"
    __table_args__ = (Index("ix_institution_settlements_status", "status", "next_attempt_at"), BINARY)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units, > 0
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | processing | paid | failed
    entry_id: Mapped[str] = mapped_column(ForeignKey("journal_entries.id"))  # institution → in flight
    reversal_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    provider_reference: Mapped[str | None] = mapped_column(String(255), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    retries: Mapped[int] = mapped_column(Integer, default=0)  # provider calls that timed out
    # pending: when the next attempt is due. processing: when the attempt in flight counts as lost (its
    # worker died); NULL once the provider has accepted it and only its own word can end it.
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
