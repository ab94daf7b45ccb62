"""The only writer of postings. Every movement of money is one journal entry whose postings sum to zero
per currency; user wallets cache their balance in the same transaction (DESIGN §5)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.db import UnitOfWork
from webapp.errors import InsufficientFunds, LedgerError, UnbalancedEntryError
from webapp.models import HOUSE_ACCOUNTS, Account, Hold, JournalEntry, Posting, Wallet
from webapp.models.base import new_id, utcnow
from webapp.money import Money


@dataclass(frozen=True)
class Leg:
    """One side of an entry: a wallet (whose cached balance moves too) or a house account."""

    money: Money  # + credits the account, - debits it
    wallet: Wallet | None = None
    account_id: int | None = None

    @property
    def target_account_id(self) -> int:
        return self.wallet.account_id if self.wallet is not None else self.account_id


def check_balanced(amounts: Iterable[Money]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for money in amounts:
        totals[money.currency] += money.amount
    off = {currency: total for currency, total in totals.items() if total != 0}
    if off:
        raise UnbalancedEntryError(f"postings do not sum to zero: {off}")


def open_wallet_account(uow: UnitOfWork, *, wallet_id: str, currency: str) -> Account:
    account = Account(code=f"wallet:{wallet_id}", kind="wallet", currency=currency)
    uow.session.add(account)
    uow.session.flush()
    return account


def house_account(uow: UnitOfWork, name: str, currency: str) -> Account:
    """Get or create the house account `name` in `currency`; safe when two transactions race to create."""
    if name not in HOUSE_ACCOUNTS:
        raise LedgerError(f"unknown house account {name!r}")
    code = f"house:{name}:{currency}"
    found = uow.session.scalar(select(Account).where(Account.code == code))
    if found:
        return found
    try:
        with uow.session.begin_nested():
            account = Account(code=code, kind="house", currency=currency)
            uow.session.add(account)
        return account
    except IntegrityError:
        return uow.session.scalars(select(Account).where(Account.code == code)).one()


def lock_wallets(uow: UnitOfWork, wallet_ids: Iterable[str]) -> dict[str, Wallet]:
    """SELECT … FOR UPDATE in ascending id order, so two movements never wait on each other in a cycle.

    Lock order across the wallet: idempotency key, then audit stream head, then wallets. Take wallet
    locks last, right before posting, so they are held for as short a time as possible."""
    ids = sorted(set(wallet_ids))
    rows = uow.session.scalars(
        select(Wallet).where(Wallet.id.in_(ids)).order_by(Wallet.id).with_for_update().execution_options(
            populate_existing=True
        )
    ).all()
    return {wallet.id: wallet for wallet in rows}


def open_entry(uow: UnitOfWork, *, kind: str, description: str = "", reverses_id: str | None = None) -> JournalEntry:
    """The entry's header alone, so rows that refer to it can be written before the wallets are locked."""
    # The id is made here so others can refer to the entry before the next flush writes it, and
    # postings=[] spares a lazy SELECT when the first posting is appended (wallets are locked by then).
    entry = JournalEntry(id=new_id(), kind=kind, description=description[:255], reverses_id=reverses_id,
                         postings=[])
    uow.session.add(entry)
    return entry


def post_entry(
    uow: UnitOfWork,
    *,
    legs: list[Leg],
    entry: JournalEntry | None = None,
    kind: str = "",
    description: str = "",
    reverses_id: str | None = None,
) -> JournalEntry:
    """Write one balanced entry (into `entry`, or a new one of `kind`). Wallet legs must be locked by the
    caller; a debit never takes a wallet below its reserved amount (`post_hold` releases the reserve first)."""
    check_balanced(leg.money for leg in legs)
    if entry is None:
        entry = open_entry(uow, kind=kind, description=description, reverses_id=reverses_id)
    for leg in legs:
        if leg.wallet is not None:
            _move_wallet_balance(leg.wallet, leg.money)
        entry.postings.append(
            Posting(account_id=leg.target_account_id, amount=leg.money.amount, currency=leg.money.currency)
        )
    return entry  # written by the caller's commit; the before_flush guard checks the sum once more


def _move_wallet_balance(wallet: Wallet, money: Money) -> None:
    if money.currency != wallet.currency:
        raise LedgerError(f"{money.currency} posting on a {wallet.currency} wallet")
    if wallet.balance + money.amount - wallet.reserved < 0:
        raise InsufficientFunds()
    wallet.balance += money.amount  # version_id_col turns the flush into a checked conditional UPDATE


def reserve(
    uow: UnitOfWork, wallet: Wallet, money: Money, *, reason: str, expires_at: datetime | None = None
) -> Hold:
    """Hold funds on a locked wallet: available drops now, the balance moves only when the hold posts."""
    if money.amount <= 0 or money.currency != wallet.currency:
        raise LedgerError("a hold needs a positive amount in the wallet's currency")
    if wallet.available < money:
        raise InsufficientFunds()
    wallet.reserved += money.amount
    hold = Hold(
        wallet_id=wallet.id, amount=money.amount, currency=money.currency, reason=reason, expires_at=expires_at
    )
    uow.session.add(hold)
    uow.session.flush()
    return hold


def post_hold(uow: UnitOfWork, hold: Hold, wallet: Wallet, *, kind: str, to_account_id: int) -> JournalEntry:
    """Turn a pending hold into a real debit of the wallet, credited to `to_account_id`."""
    _settle_hold(hold, wallet, "posted")
    money = Money(hold.amount, hold.currency)
    legs = [Leg(-money, wallet=wallet), Leg(money, account_id=to_account_id)]
    return post_entry(uow, kind=kind, legs=legs, description=f"hold {hold.id}")


def release_hold(uow: UnitOfWork, hold: Hold, wallet: Wallet, *, status: str = "released") -> None:
    """Give held funds back (the outside work failed, or the hold expired). No entry: nothing moved."""
    _settle_hold(hold, wallet, status)
    uow.session.flush()


def expire_holds(uow: UnitOfWork, *, now: datetime | None = None, batch: int = 100) -> int:
    """Release pending holds whose time has passed (a payout or top-up that never settled). Run from
    the worker's scheduler; each hold is settled under its wallet's lock, so a late post can't race it."""
    now = now or utcnow()
    with uow:
        due = uow.session.scalars(
            select(Hold.id).where(Hold.status == "pending", Hold.expires_at <= now).limit(batch)
        ).all()
    for hold_id in due:
        with uow:
            hold = uow.session.get(Hold, hold_id)
            wallet = lock_wallets(uow, [hold.wallet_id])[hold.wallet_id]
            hold = uow.session.get(Hold, hold_id, populate_existing=True)
            if hold.status == "pending":
                release_hold(uow, hold, wallet, status="expired")
                uow.commit()
    return len(due)


def _settle_hold(hold: Hold, wallet: Wallet, status: str) -> None:
    if hold.status != "pending":
        raise LedgerError(f"hold {hold.id} is already {hold.status}")
    if hold.wallet_id != wallet.id:
        raise LedgerError("hold belongs to another wallet")
    wallet.reserved -= hold.amount
    hold.status = status
    hold.settled_at = utcnow()


@event.listens_for(Session, "before_flush")
def _refuse_unbalanced_postings(session: Session, _context, _instances) -> None:
    """A guard under `post_entry`: MySQL has no deferred constraints, so the zero sum is checked here,
    before any posting reaches the database, whoever added it."""
    by_entry: dict[int, list[Money]] = defaultdict(list)
    for obj in session.new:
        if isinstance(obj, Posting):
            key = id(obj.entry) if obj.entry is not None else obj.entry_id
            by_entry[key].append(Money(obj.amount, obj.currency))
    for amounts in by_entry.values():
        check_balanced(amounts)
