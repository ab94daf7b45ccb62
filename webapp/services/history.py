"""What users see of their money: history rows written beside each movement, pages of them with an opaque
cursor, and single receipts."""

from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy import and_, insert, inspect, or_, select

from webapp.db import UnitOfWork
from webapp.errors import NotFound, ValidationError
from webapp.models import Transaction, Wallet
from webapp.models.base import new_id, utcnow
from webapp.prepared import Prepared

MAX_PAGE = 100
_INSERT = Prepared(insert(Transaction.__table__))
_FIELDS = [(prop.key, prop.columns[0].key) for prop in inspect(Transaction).column_attrs]  # meta -> "metadata"


def new_record(**fields) -> dict:
    """A complete history row, by attribute name. Defaults are filled in here, not at flush, because
    `record` writes it with Core. A dict, not a Transaction: a transfer writes two rows and returns one,
    and building an ORM object costs more than the row's INSERT parameters (see `receipt`)."""
    defaults = {"id": new_id(), "status": "completed", "counterparty": {}, "meta": {}, "journal_entry_id": None,
                "created_at": utcnow()}
    return {**defaults, **fields}


def record(uow: UnitOfWork, rows: list[dict]) -> None:
    """Write the rows of one movement (a transfer's two sides) in a single INSERT."""
    uow.execute(_INSERT, [{column: row[attr] for attr, column in _FIELDS} for row in rows])


def receipt(row: dict) -> Transaction:
    """A written row as a Transaction outside the session: what a service returns to its caller."""
    return Transaction(**row)


def encode_cursor(tx: Transaction) -> str:
    raw = f"{tx.created_at.isoformat(timespec='microseconds')}|{tx.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, tx_id = raw.split("|", 1)
        return datetime.fromisoformat(stamp), tx_id
    except (ValueError, UnicodeDecodeError):
        raise ValidationError.field("cursor", "This cursor is not valid.") from None


def page(
    uow: UnitOfWork, *, user_id: str, wallet_id: str | None = None, limit: int = 50, cursor: str | None = None
) -> tuple[list[Transaction], str | None]:
    """Newest first. `wallet_id` narrows to one of the user's wallets; a foreign wallet is NOT_FOUND."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError.field("limit", f"Ask for 1 to {MAX_PAGE} transactions.")
    query = select(Transaction).where(Transaction.user_id == user_id)
    with uow:
        if wallet_id is not None:
            wallet = uow.session.get(Wallet, wallet_id)
            if wallet is None or wallet.user_id != user_id:
                raise NotFound("Wallet not found.")
            query = query.where(Transaction.wallet_id == wallet_id)
        if cursor:
            stamp, tx_id = decode_cursor(cursor)
            query = query.where(or_(Transaction.created_at < stamp,
                                    and_(Transaction.created_at == stamp, Transaction.id < tx_id)))
        query = query.order_by(Transaction.created_at.desc(), Transaction.id.desc()).limit(limit + 1)
        rows = list(uow.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more else None)


def get(uow: UnitOfWork, *, user_id: str, transaction_id: object) -> Transaction:
    with uow:
        tx = uow.session.get(Transaction, transaction_id) if isinstance(transaction_id, str) else None
        if tx is None or tx.user_id != user_id:
            raise NotFound("Transaction not found.")
        return tx
