"""The one way below zero: money a card network has taken back (services/deposit_ledger.py). Everything
else still refuses to overdraw, and a wallet below zero sends nothing until it is back at zero."""

import pytest

from webapp.errors import BelowZero, InsufficientFunds
from webapp.models import User
from webapp.money import Money
from webapp.services import ledger, reconciliation, wallets


def _wallet(uow, balance):
    with uow:
        user = User(email="card@example.com", phone="+14155550199", password_hash="not-a-hash")
        uow.session.add(user)
        uow.session.flush()
        wallet = wallets.open_wallet_in_uow(uow, user_id=user.id, currency="USD")
        clearing = ledger.house_account(uow, "stripe_clearing", "USD")
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        ledger.post_entry(uow, kind="deposit", legs=[ledger.Leg(Money(-balance, "USD"), account_id=clearing.id),
                                                     ledger.Leg(Money(balance, "USD"), wallet=locked)])
        uow.commit()
    return wallet.id, clearing.id


def _take_back(uow, wallet_id, clearing_id, amount, **leg):
    with uow:
        locked = ledger.lock_wallets(uow, [wallet_id])[wallet_id]
        ledger.post_entry(uow, kind="deposit_refund", legs=[ledger.Leg(Money(-amount, "USD"), wallet=locked, **leg),
                                                            ledger.Leg(Money(amount, "USD"), account_id=clearing_id)])
        uow.commit()
        return locked


def test_only_a_leg_marked_may_overdraw_goes_below_zero(uow):
    wallet_id, clearing_id = _wallet(uow, 500)
    with pytest.raises(InsufficientFunds):
        _take_back(uow, wallet_id, clearing_id, 800)
    assert _take_back(uow, wallet_id, clearing_id, 800, may_overdraw=True).balance == -300
    assert reconciliation.reconcile(uow).ok


def test_a_wallet_below_zero_sends_nothing_until_it_is_back_at_zero(uow):
    wallet_id, clearing_id = _wallet(uow, 500)
    _take_back(uow, wallet_id, clearing_id, 800, may_overdraw=True)
    with pytest.raises(BelowZero) as refused:
        _take_back(uow, wallet_id, clearing_id, 1, sent=True)
    assert refused.value.code == "ACCOUNT_FROZEN" and "below zero" in refused.value.message


def test_a_disputed_amount_may_be_held_beyond_what_is_available(uow):
    wallet_id, _ = _wallet(uow, 500)
    with uow:
        locked = ledger.lock_wallets(uow, [wallet_id])[wallet_id]
        with pytest.raises(InsufficientFunds):
            ledger.reserve(uow, locked, Money(800, "USD"), reason="card dispute")
        ledger.reserve(uow, locked, Money(800, "USD"), reason="card dispute", may_overdraw=True)
        uow.commit()
    assert (locked.balance, locked.reserved, locked.available) == (500, 800, Money(-300, "USD"))
    assert reconciliation.reconcile(uow).ok
