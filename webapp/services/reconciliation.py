"""Proof that the caches tell the truth: every wallet's balance equals the sum of its postings, its
reserved amount equals its pending holds, and all postings sum to zero per currency."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from webapp.db import UnitOfWork
from webapp.models import Hold, Posting, Wallet


@dataclass(frozen=True)
class Drift:
    wallet_id: str
    currency: str
    what: str  # "balance" | "reserved"
    cached: int
    ledger: int


@dataclass
class Report:
    wallets_checked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    currency_totals: dict[str, int] = field(default_factory=dict)  # Σ postings; each must be 0

    @property
    def unbalanced_currencies(self) -> dict[str, int]:
        return {c: total for c, total in self.currency_totals.items() if total != 0}

    @property
    def ok(self) -> bool:
        return not self.drifts and not self.unbalanced_currencies


def reconcile(uow: UnitOfWork) -> Report:
    report = Report()
    with uow:
        posted = dict(uow.session.execute(select(Posting.account_id, func.sum(Posting.amount))
                                          .group_by(Posting.account_id)).all())
        held = dict(uow.session.execute(select(Hold.wallet_id, func.sum(Hold.amount))
                                        .where(Hold.status == "pending").group_by(Hold.wallet_id)).all())
        for wallet in uow.session.scalars(select(Wallet).order_by(Wallet.id)):
            report.wallets_checked += 1
            for what, cached, truth in (("balance", wallet.balance, int(posted.get(wallet.account_id) or 0)),
                                        ("reserved", wallet.reserved, int(held.get(wallet.id) or 0))):
                if cached != truth:
                    report.drifts.append(Drift(wallet.id, wallet.currency, what, cached, truth))
        totals = uow.session.execute(select(Posting.currency, func.sum(Posting.amount)).group_by(Posting.currency))
        report.currency_totals = {currency: int(total) for currency, total in totals}
    return report
