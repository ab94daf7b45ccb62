"""How domain objects look on the wire (DESIGN §9). Amounts stay integers of minor units."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from webapp.models import Transaction, User, Wallet
from webapp.services.reconciliation import Report


def timestamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds") + "Z"  # stored as naive UTC


def user(u: User) -> dict:
    return {"id": u.id, "email": u.email, "phone": u.phone, "display_name": u.display_name,
            "email_verified": u.email_verified_at is not None, "phone_verified": u.phone_verified_at is not None,
            "kyc_status": u.kyc_status, "created_at": timestamp(u.created_at)}


def wallet(w: Wallet) -> dict:
    return {"id": w.id, "currency": w.currency, "balance": w.balance, "reserved": w.reserved,
            "available": w.balance - w.reserved}


def transaction(t: Transaction) -> dict:
    return {"id": t.id, "wallet_id": t.wallet_id, "kind": t.kind, "direction": t.direction,
            "amount": t.amount, "currency": t.currency, "status": t.status,
            "counterparty": t.counterparty or {}, "metadata": t.meta or {},
            "created_at": timestamp(t.created_at)}


def reconciliation(report: Report) -> dict:
    return {"ok": report.ok, "wallets_checked": report.wallets_checked,
            "drifts": [asdict(drift) for drift in report.drifts],
            "currency_totals": report.currency_totals, "unbalanced_currencies": report.unbalanced_currencies}
