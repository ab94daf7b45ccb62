"""The transfer service on SQLite (the `ewallet dev` database): both sides, the ledger and the refusals."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from webapp.config import limit_table
from webapp.errors import (
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    LimitExceeded,
    NotFound,
    ValidationError,
)
from webapp.models import AuditLog, JournalEntry, Posting, Transaction, Wallet
from webapp.models.base import utcnow
from webapp.money import Money
from webapp.services import accounts, adjustments, audit, reconciliation, transfers
from webapp.services.transfers import Recipient

FIFTY_A_DAY = limit_table({"LIMIT_UNVERIFIED_SEND_DAILY": "USD:50", "LIMIT_VERIFIED_SEND_DAILY": "USD:50"})


@pytest.fixture()
def alice_and_bob(uow):
    alice = accounts.register(uow, email="alice@example.com", password="long-enough-pass", phone="+14155550100",
                              verified=True)
    bob = accounts.register(uow, email="bob@example.com", password="long-enough-pass", phone="+14155550101",
                            verified=True)
    adjustments.credit(uow, email="alice@example.com", amount=Money(10_000, "USD"), reason="opening balance")
    with uow:
        wallets = {w.user_id: w.id for w in uow.session.scalars(select(Wallet))}
    return (alice.id, wallets[alice.id]), (bob.id, wallets[bob.id])


def _send(uow, sender, to, cents, key="k1", currency="USD"):
    return transfers.transfer(uow, sender_id=sender[0], from_wallet_id=sender[1], to=to,
                              amount=Money(cents, currency), idempotency_key=key, note="lunch")


def test_a_transfer_moves_money_and_records_both_sides(uow, alice_and_bob):
    alice, bob = alice_and_bob
    debit = _send(uow, alice, Recipient("email", "BOB@example.com"), 2_550)
    assert (debit.direction, debit.amount, debit.meta) == ("debit", 2_550, {"note": "lunch"})
    assert debit.counterparty["email"] == "bob@example.com"
    with uow:
        balances = {w.id: (w.balance, w.version) for w in uow.session.scalars(select(Wallet))}
        sides = {t.direction: t for t in uow.session.scalars(select(Transaction).where(Transaction.kind == "transfer"))}
        entry = uow.session.get(JournalEntry, debit.journal_entry_id)
        legs = sorted(p.amount for p in uow.session.scalars(select(Posting).where(Posting.entry_id == entry.id)))
        audited = uow.session.scalar(select(AuditLog).where(AuditLog.event == "transfer"))
    assert balances[alice[1]][0] == 7_450 and balances[bob[1]][0] == 2_550
    assert sides["credit"].wallet_id == bob[1] and sides["credit"].counterparty["wallet_id"] == alice[1]
    assert legs == [-2_550, 2_550]
    assert audited.data["entry_id"] == entry.id
    assert reconciliation.reconcile(uow).ok
    assert audit.verify(uow) is None


def test_a_replayed_key_answers_the_same_and_moves_nothing(uow, alice_and_bob):
    alice, bob = alice_and_bob
    first = _send(uow, alice, Recipient("wallet_id", bob[1]), 1_000)
    again = _send(uow, alice, Recipient("wallet_id", bob[1]), 1_000)
    assert again.id == first.id
    with pytest.raises(IdempotencyConflict):
        _send(uow, alice, Recipient("wallet_id", bob[1]), 1_001)
    with uow:
        assert uow.session.get(Wallet, alice[1]).balance == 9_000
        transfers_written = select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == "transfer")
        assert uow.session.scalar(transfers_written) == 1


@pytest.mark.parametrize(("to", "cents", "currency", "error"), [
    (Recipient("email", "nobody@example.com"), 100, "USD", NotFound),
    (Recipient("phone", "+1 415 555 0101"), 10_001, "USD", InsufficientFunds),
    (Recipient("user_id", "me"), 100, "USD", ValidationError),
    (Recipient("email", "bob@example.com"), 100, "EUR", CurrencyMismatch),
])
def test_refused_transfers_leave_no_trace(uow, alice_and_bob, to, cents, currency, error):
    alice, _ = alice_and_bob
    if to.value == "me":
        to = Recipient("user_id", alice[0])
    with pytest.raises(error):
        _send(uow, alice, to, cents, currency=currency)
    with uow:
        assert uow.session.get(Wallet, alice[1]).balance == 10_000
        assert uow.session.scalar(select(func.count()).select_from(Transaction)) == 1  # the opening credit
        assert uow.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.event == "transfer")) == 0
    assert reconciliation.reconcile(uow).ok


def test_expired_idempotency_keys_are_purged_and_live_ones_kept(uow, alice_and_bob):
    from datetime import timedelta

    from webapp.models import IdempotencyKey
    from webapp.services import idempotency

    alice, bob = alice_and_bob
    _send(uow, alice, Recipient("wallet_id", bob[1]), 100, key="old")
    _send(uow, alice, Recipient("wallet_id", bob[1]), 100, key="new")
    with uow:
        old = uow.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "old"))
        old.expires_at -= idempotency.KEY_TTL + timedelta(seconds=1)
        uow.commit()
    assert idempotency.purge_expired(uow) == 1
    with uow:
        assert uow.session.scalars(select(IdempotencyKey.key)).all() == ["new"]


def test_the_daily_limit_counts_todays_transfers_and_starts_again_each_day(uow, alice_and_bob):
    alice, bob = alice_and_bob
    uow.config = {**uow.config, "LIMITS": FIFTY_A_DAY}
    _send(uow, alice, Recipient("wallet_id", bob[1]), 3_000, key="a")
    with pytest.raises(LimitExceeded):
        _send(uow, alice, Recipient("wallet_id", bob[1]), 2_001, key="b")  # $30 + $20.01 > $50
    _send(uow, alice, Recipient("wallet_id", bob[1]), 2_000, key="c")  # exactly $50
    with uow:
        sent = {w.id: (w.daily_sent, w.daily_sent_day) for w in uow.session.scalars(select(Wallet))}
    assert sent[alice[1]] == (5_000, utcnow().date())
    assert sent[bob[1]][0] == 0  # receiving is not sending

    with uow:  # the counter is from yesterday: today starts at zero
        uow.session.execute(update(Wallet).where(Wallet.id == alice[1])
                            .values(daily_sent_day=utcnow().date() - timedelta(days=1)))
        uow.commit()
    _send(uow, alice, Recipient("wallet_id", bob[1]), 4_000, key="d")
    with uow:
        assert uow.session.get(Wallet, alice[1]).daily_sent == 4_000
    assert reconciliation.reconcile(uow).ok


def test_a_server_whose_clock_is_behind_cannot_reopen_a_full_day(uow, alice_and_bob):
    """Another server, a little ahead, already filled today's limit and dated the counter tomorrow:
    this one still counts it, and leaves the date where it was."""
    alice, bob = alice_and_bob
    uow.config = {**uow.config, "LIMITS": FIFTY_A_DAY}
    tomorrow = utcnow().date() + timedelta(days=1)
    with uow:
        uow.session.execute(update(Wallet).where(Wallet.id == alice[1]).values(daily_sent=5_000,
                                                                              daily_sent_day=tomorrow))
        uow.commit()
    with pytest.raises(LimitExceeded):
        _send(uow, alice, Recipient("wallet_id", bob[1]), 1, key="late")
    adjustments.credit(uow, email="alice@example.com", amount=Money(100, "USD"), reason="a write today")
    with uow:
        wallet = uow.session.get(Wallet, alice[1])
        assert (wallet.daily_sent, wallet.daily_sent_day) == (5_000, tomorrow)
