import pytest
from sqlalchemy import func, select

from webapp.errors import InsufficientFunds, LedgerError, UnbalancedEntryError
from webapp.models import Hold, JournalEntry, Posting, Wallet
from webapp.money import Money
from webapp.services import accounts, ledger, reconciliation


def _user_wallet(uow, email="a@example.com", phone="+14155550100"):
    user = accounts.register(uow, email=email, password="long-enough-pass", phone=phone, verified=True)
    with uow:
        return uow.session.scalar(select(Wallet).where(Wallet.user_id == user.id))


def _fund(uow, wallet, amount):
    with uow:
        house = ledger.house_account(uow, "adjustments", "USD")
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        ledger.post_entry(uow, kind="adjustment", legs=[ledger.Leg(Money(-amount, "USD"), account_id=house.id),
                                                        ledger.Leg(Money(amount, "USD"), wallet=locked)])
        uow.commit()


def test_unbalanced_entry_is_refused_and_nothing_is_written(uow):
    wallet = _user_wallet(uow)
    with uow, pytest.raises(UnbalancedEntryError):
        house = ledger.house_account(uow, "fees", "USD")
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        ledger.post_entry(uow, kind="bad", legs=[ledger.Leg(Money(-100, "USD"), account_id=house.id),
                                                 ledger.Leg(Money(99, "USD"), wallet=locked)])
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(Posting)) == 0
        assert uow.session.get(Wallet, wallet.id).balance == 0


def test_zero_sum_is_per_currency(uow):
    with pytest.raises(UnbalancedEntryError):
        ledger.check_balanced([Money(100, "USD"), Money(-100, "EUR")])
    ledger.check_balanced([Money(100, "USD"), Money(-100, "USD"), Money(5, "EUR"), Money(-5, "EUR")])


def test_postings_added_by_hand_are_checked_before_flush(uow):
    wallet = _user_wallet(uow)
    with uow, pytest.raises(UnbalancedEntryError):
        entry = JournalEntry(kind="sneaky")
        entry.postings.append(Posting(account_id=wallet.account_id, amount=500, currency="USD"))
        uow.session.add(entry)
        uow.session.flush()


def test_debit_beyond_available_is_refused(uow):
    wallet = _user_wallet(uow)
    _fund(uow, wallet, 1_000)
    with uow, pytest.raises(InsufficientFunds):
        house = ledger.house_account(uow, "fees", "USD")
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        ledger.post_entry(uow, kind="fee", legs=[ledger.Leg(Money(-1_001, "USD"), wallet=locked),
                                                 ledger.Leg(Money(1_001, "USD"), account_id=house.id)])


def test_only_a_debit_counts_toward_the_daily_sent_total(uow):
    wallet = _user_wallet(uow)
    with uow, pytest.raises(LedgerError):
        house = ledger.house_account(uow, "adjustments", "USD")
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        ledger.post_entry(uow, kind="adjustment", legs=[ledger.Leg(Money(-100, "USD"), account_id=house.id),
                                                        ledger.Leg(Money(100, "USD"), wallet=locked, sent=True)])
    with uow:
        assert (uow.session.get(Wallet, wallet.id).balance, uow.session.get(Wallet, wallet.id).daily_sent) == (0, 0)


def test_hold_reserves_then_posts_or_releases(uow):
    wallet = _user_wallet(uow)
    _fund(uow, wallet, 10_000)
    with uow:
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        first = ledger.reserve(uow, locked, Money(3_000, "USD"), reason="payout")
        second = ledger.reserve(uow, locked, Money(2_000, "USD"), reason="topup")
        assert locked.available == Money(5_000, "USD")
        with pytest.raises(InsufficientFunds):
            ledger.reserve(uow, locked, Money(5_001, "USD"), reason="too much")
        uow.commit()
    with uow:
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        in_flight = ledger.house_account(uow, "payouts_in_flight", "USD")
        ledger.post_hold(uow, uow.session.get(Hold, first.id), locked, kind="payout", to_account_id=in_flight.id)
        ledger.release_hold(uow, uow.session.get(Hold, second.id), locked)
        uow.commit()
    with uow:
        final = uow.session.get(Wallet, wallet.id)
        assert (final.balance, final.reserved) == (7_000, 0)
        assert {h.status for h in uow.session.scalars(select(Hold))} == {"posted", "released"}
    assert reconciliation.reconcile(uow).ok


def test_reconcile_names_a_drifting_wallet(uow):
    wallet = _user_wallet(uow)
    _fund(uow, wallet, 2_500)
    assert reconciliation.reconcile(uow).ok
    with uow:
        uow.session.get(Wallet, wallet.id).balance += 1  # a cache that lies
        uow.commit()
    report = reconciliation.reconcile(uow)
    assert not report.ok
    assert [(d.wallet_id, d.what, d.cached, d.ledger) for d in report.drifts] == [(wallet.id, "balance", 2_501, 2_500)]


def test_expired_holds_are_released(uow):
    from datetime import timedelta

    from webapp.models.base import utcnow

    wallet = _user_wallet(uow)
    _fund(uow, wallet, 1_000)
    with uow:
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        ledger.reserve(uow, locked, Money(400, "USD"), reason="stale", expires_at=utcnow() - timedelta(minutes=1))
        ledger.reserve(uow, locked, Money(100, "USD"), reason="fresh", expires_at=utcnow() + timedelta(hours=1))
        uow.commit()
    assert ledger.expire_holds(uow) == 1
    with uow:
        final = uow.session.get(Wallet, wallet.id)
        assert (final.balance, final.reserved) == (1_000, 100)
        assert sorted(h.status for h in uow.session.scalars(select(Hold))) == ["expired", "pending"]
    assert reconciliation.reconcile(uow).ok
