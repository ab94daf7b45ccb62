"""The only writer of postings and of the wallets' cached balances. Every movement of money is one journal
entry whose postings sum to zero per currency; user wallets cache their balance in the same transaction
(DESIGN §5).

Money movements are written with SQLAlchemy Core statements built once at import, inside the caller's
unit of work. A transfer runs these on every request, and the ORM's flush bookkeeping cost several times
the SQL itself (bench/README.md has the figures). Accounts and holds, written rarely, stay ORM objects.
"""

from __future__ import annotations

import functools
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, bindparam, case, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.db import UnitOfWork, numbered, numbered_in
from webapp.errors import BelowZero, InsufficientFunds, LedgerError, UnbalancedEntryError
from webapp.models import HOUSE_ACCOUNTS, Account, Hold, JournalEntry, Posting, Wallet
from webapp.models.base import new_id, utcnow
from webapp.money import Money
from webapp.prepared import Prepared

_wallets = Wallet.__table__
_INSERT_ENTRY = Prepared(insert(JournalEntry.__table__))
_INSERT_POSTINGS = Prepared(insert(Posting.__table__))  # a list of rows goes in as one multi-row INSERT


@dataclass
class LockedWallet:
    """A wallet row read under its row lock. The ledger keeps it current as it writes, so later checks in
    the same transaction see the new balance."""

    id: str
    account_id: int
    currency: str
    balance: int  # minor units
    reserved: int  # minor units held by pending holds
    version: int  # bumped by every write of the cache
    daily_sent: int  # minor units sent as transfers on daily_sent_day
    daily_sent_day: date | None

    @property
    def available(self) -> Money:
        return Money(self.balance - self.reserved, self.currency)

    def sent_on(self, day: date) -> int:
        """Minor units sent as transfers on `day` (UTC): nothing if the counter is from an earlier day. A
        counter from a later day (a server whose clock is behind) still counts, so it can't reopen a
        limit that another server already filled."""
        return self.daily_sent if self.daily_sent_day is not None and self.daily_sent_day >= day else 0


@dataclass(frozen=True)
class Leg:
    """One side of an entry: a locked wallet (whose cached balance moves too) or a house account."""

    money: Money  # + credits the account, - debits it
    wallet: LockedWallet | None = None
    account_id: int | None = None
    sent: bool = False  # a debit the wallet's holder sent: it counts toward their daily sending limit
    # Money the card network has already taken back (a refund or a lost chargeback, services/deposits.py):
    # it leaves whether or not the wallet still holds it, so this one kind of debit may go below zero.
    may_overdraw: bool = False

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


def open_derived_account(uow: UnitOfWork, *, code: str, kind: str, currency: str) -> Account:
    """An account that caches no balance (an institution's): its balance is the sum of its postings, so
    movements into it lock no row of it and never wait on one another (DESIGN §5)."""
    account = Account(code=code, kind=kind, currency=currency)
    uow.session.add(account)
    uow.session.flush()
    return account


def derived_balance(uow: UnitOfWork, account_id: int) -> int:
    """Σ postings of the account, in minor units: read without locks, as of the last commit."""
    return int(uow.execute(select(func.coalesce(func.sum(Posting.amount), 0))
                           .where(Posting.account_id == account_id)).scalar_one())


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


_house_ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine → {code: account id}


def house_account_id(uow: UnitOfWork, name: str, currency: str) -> int:
    """`house_account(...).id`, remembered per database once a transaction that saw it has committed
    (accounts are never deleted or renumbered): every card credit looked its clearing account up, 12 % of
    a webhook's CPU (bench/README.md). Never remembered from a transaction that might roll back."""
    known = _house_ids.setdefault(uow.engine, {})
    code = f"house:{name}:{currency}"
    if code not in known:
        account_id = house_account(uow, name, currency).id
        uow.after_commit.append(lambda: known.setdefault(code, account_id))
        return account_id
    return known[code]


@functools.cache
def _lock(count: int) -> Prepared:
    return Prepared(
        select(_wallets.c.id, _wallets.c.account_id, _wallets.c.currency, _wallets.c.balance, _wallets.c.reserved,
               _wallets.c.version, _wallets.c.daily_sent, _wallets.c.daily_sent_day)
        .where(numbered_in(_wallets.c.id, count))
        .order_by(_wallets.c.id)
        .with_for_update()
    )


def lock_wallets(uow: UnitOfWork, wallet_ids: Iterable[str]) -> dict[str, LockedWallet]:
    """SELECT … FOR UPDATE in ascending id order, so two movements never wait on each other in a cycle.

    Lock order across the wallet: idempotency key, then audit stream head, then wallets. Take wallet
    locks last, right before posting, so they are held for as short a time as possible."""
    ids = sorted(set(wallet_ids))
    rows = uow.execute(_lock(len(ids)), numbered(ids))
    return {row.id: LockedWallet(*row) for row in rows}


def open_entry(uow: UnitOfWork, *, kind: str, description: str = "", reverses_id: str | None = None) -> str:
    """Write the entry's header alone and return its id, so rows that refer to it (the audit row) can be
    written before the wallets are locked."""
    entry_id = new_id()
    uow.execute(_INSERT_ENTRY, {"id": entry_id, "kind": kind, "description": description[:255],
                                "reverses_id": reverses_id, "created_at": utcnow()})
    return entry_id


def post_entry(
    uow: UnitOfWork,
    *,
    legs: list[Leg],
    entry_id: str | None = None,
    kind: str = "",
    description: str = "",
    reverses_id: str | None = None,
) -> str:
    """Write one balanced entry (into the opened `entry_id`, or a new one of `kind`) and return its id.
    Wallet legs must be locked by the caller; a debit never takes a wallet below its reserved amount
    (`post_hold` releases the reserve first). Nothing is written unless every check passes."""
    check_balanced(leg.money for leg in legs)
    moves: dict[str, int] = defaultdict(int)
    sent: dict[str, int] = defaultdict(int)
    wallets: dict[str, LockedWallet] = {}
    for leg in legs:
        if leg.wallet is not None:
            _check_leg(leg, moves[leg.wallet.id])
            moves[leg.wallet.id] += leg.money.amount
            sent[leg.wallet.id] -= leg.money.amount if leg.sent else 0
            wallets[leg.wallet.id] = leg.wallet
    if entry_id is None:
        entry_id = open_entry(uow, kind=kind, description=description, reverses_id=reverses_id)
    uow.execute(_INSERT_POSTINGS, [
        {"entry_id": entry_id, "account_id": leg.target_account_id, "amount": leg.money.amount,
         "currency": leg.money.currency} for leg in legs
    ])
    _write_wallets(uow, [Change(wallets[wallet_id], balance=delta, sent=sent[wallet_id])
                         for wallet_id, delta in moves.items()])
    return entry_id


def _check_leg(leg: Leg, already_moved: int) -> None:
    wallet, money = leg.wallet, leg.money
    if leg.sent and money.amount > 0:
        raise LedgerError("only a debit can count as money sent")
    if money.currency != wallet.currency:
        raise LedgerError(f"{money.currency} posting on a {wallet.currency} wallet")
    if leg.sent and wallet.balance - wallet.reserved < 0:
        raise BelowZero()  # a refund or chargeback left it below zero: a clearer answer than "not enough"
    if wallet.balance + already_moved + money.amount - wallet.reserved < 0 and not leg.may_overdraw:
        raise InsufficientFunds()


@dataclass(frozen=True)
class Change:
    """What one write does to a locked wallet's cached row, in minor units."""

    wallet: LockedWallet
    balance: int = 0
    reserved: int = 0
    sent: int = 0  # added to today's sending total (Leg.sent)


@functools.cache
def _wallet_update(count: int):
    """One UPDATE for `count` wallets: each row gets its own deltas through CASE on its id, so a transfer
    writes both caches in a single round trip. Deltas rather than absolute values: the row is locked, and
    a delta can't overwrite a change it did not see. The daily total starts again from 0 on a new day, and
    the day never moves backwards (see LockedWallet.sent_on).

    The SET order is fixed: MySQL evaluates assignments left to right, each seeing the ones before it, so
    `daily_sent` must read `daily_sent_day` before that is assigned. (SQLite reads the old row for all.)"""

    def per_row(name: str):
        return case(*((_wallets.c.id == bindparam(f"id{n}"), bindparam(f"{name}{n}", type_=BigInteger))
                      for n in range(count)))

    today, day = bindparam("today", type_=Date), _wallets.c.daily_sent_day
    return Prepared(update(_wallets).where(numbered_in(_wallets.c.id, count))
            .ordered_values(
                (_wallets.c.balance, _wallets.c.balance + per_row("balance")),
                (_wallets.c.reserved, _wallets.c.reserved + per_row("reserved")),
                (_wallets.c.version, _wallets.c.version + 1),
                (_wallets.c.daily_sent, case((day >= today, _wallets.c.daily_sent), else_=0) + per_row("sent")),
                (day, case((day > today, day), else_=today)),
            ))


def _write_wallets(uow: UnitOfWork, changes: list[Change]) -> None:
    """Apply the changes to the cached rows and to the locked snapshots."""
    if not changes:
        return
    today = utcnow().date()
    params = {"today": today}
    for n, change in enumerate(changes):
        params.update({f"id{n}": change.wallet.id, f"balance{n}": change.balance,
                       f"reserved{n}": change.reserved, f"sent{n}": change.sent})
    written = uow.execute(_wallet_update(len(changes)), params).rowcount
    if written != len(changes):  # a wallet vanished under its lock: never post half an entry
        raise LedgerError(f"{len(changes)} wallet caches to update, {written} found")
    for change in changes:
        wallet = change.wallet
        wallet.balance += change.balance
        wallet.reserved += change.reserved
        wallet.daily_sent = wallet.sent_on(today) + change.sent
        wallet.daily_sent_day = max(wallet.daily_sent_day or today, today)
        wallet.version += 1


def reserve(
    uow: UnitOfWork, wallet: LockedWallet, money: Money, *, reason: str, expires_at: datetime | None = None,
    may_overdraw: bool = False, sent: bool = False,
) -> Hold:
    """Hold funds on a locked wallet: available drops now, the balance moves only when the hold posts.
    `may_overdraw` is for a disputed card payment only: the bank holds it whatever the wallet has left.
    `sent` counts the hold toward today's sending total now (a top-up), so racing holds can't pass the
    daily limit together; `release_hold(..., unsend=True)` gives it back."""
    if money.amount <= 0 or money.currency != wallet.currency:
        raise LedgerError("a hold needs a positive amount in the wallet's currency")
    if wallet.available < money and not may_overdraw:
        raise InsufficientFunds()
    _write_wallets(uow, [Change(wallet, reserved=money.amount, sent=money.amount if sent else 0)])
    hold = Hold(
        wallet_id=wallet.id, amount=money.amount, currency=money.currency, reason=reason, expires_at=expires_at
    )
    uow.session.add(hold)
    uow.session.flush()
    return hold


def post_hold(uow: UnitOfWork, hold: Hold, wallet: LockedWallet, *, kind: str, to_account_id: int,
              reverses_id: str | None = None, may_overdraw: bool = False) -> str:
    """Turn a pending hold into a real debit of the wallet, credited to `to_account_id`."""
    _settle_hold(uow, hold, wallet, "posted")
    money = Money(hold.amount, hold.currency)
    legs = [Leg(-money, wallet=wallet, may_overdraw=may_overdraw), Leg(money, account_id=to_account_id)]
    return post_entry(uow, kind=kind, legs=legs, description=f"hold {hold.id}", reverses_id=reverses_id)


def release_hold(uow: UnitOfWork, hold: Hold, wallet: LockedWallet, *, status: str = "released",
                 unsend: bool = False) -> None:
    """Give held funds back (the outside work failed, or the hold expired). No entry: nothing moved.
    `unsend`: the hold counted toward the sending total of the day it was made (reserve's `sent`); on that
    same day, it counts no more. On a later day the total has started again from zero anyway."""
    given_back = hold.amount if unsend and hold.created_at.date() == utcnow().date() else 0
    _settle_hold(uow, hold, wallet, status, sent=-given_back)
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


def _settle_hold(uow: UnitOfWork, hold: Hold, wallet: LockedWallet, status: str, *, sent: int = 0) -> None:
    if hold.status != "pending":
        raise LedgerError(f"hold {hold.id} is already {hold.status}")
    if hold.wallet_id != wallet.id:
        raise LedgerError("hold belongs to another wallet")
    _write_wallets(uow, [Change(wallet, reserved=-hold.amount, sent=sent)])
    hold.status = status
    hold.settled_at = utcnow()


@event.listens_for(Session, "before_flush")
def _refuse_unbalanced_postings(session: Session, _context, _instances) -> None:
    """A guard beside `post_entry`: MySQL has no deferred constraints, so postings added as ORM objects
    (by anyone but this module) are checked here, before any of them reaches the database."""
    by_entry: dict[int, list[Money]] = defaultdict(list)
    for obj in session.new:
        if isinstance(obj, Posting):
            key = id(obj.entry) if obj.entry is not None else obj.entry_id
            by_entry[key].append(Money(obj.amount, obj.currency))
    for amounts in by_entry.values():
        check_balanced(amounts)
