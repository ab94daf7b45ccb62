"""One attempt at paying a payout out, as the job `jobs.payouts.send` makes it, and the sweep that finds
payouts whose job was lost.

The attempt is the held-movement run of services/held_runs.py (claim with a lease and commit; call the
bank outside any transaction with the key `ewallet-payout-<id>`; settle under the row lock), with what
is a payout's own: the bank account's token, the bank's words for its answers, and the house
`payouts_in_flight` account. A bank that times out is tried again after a backoff until PAYOUT_RETRY_MAX
(PAYOUT_RETRY_BASE, PAYOUT_LEASE); a payout Stripe accepted but has not paid waits for its webhook
(services/payout_events.py), which settles it under the same lock with the functions below.
"""

from __future__ import annotations

from datetime import datetime

from webapp import background
from webapp.db import UnitOfWork
from webapp.models import BankAccount, Payout
from webapp.money import Money
from webapp.providers import bank
from webapp.services import held_runs, ledger

PAID = "paid"
FAILED, RETRY, SKIPPED, ACCEPTED = held_runs.FAILED, held_runs.RETRY, held_runs.SKIPPED, held_runs.ACCEPTED
GAVE_UP = "The bank could not be reached after several tries. Nothing was sent; the money is back in your wallet."
PAYOUT = held_runs.Movement(kind="payout", model=Payout, done=PAID, house="payouts_in_flight", settings="PAYOUT",
                            job="jobs.payouts.send", queue=background.PAYOUTS, gave_up=GAVE_UP)


def attempt(uow: UnitOfWork, *, payout_id: str) -> str:
    """One attempt: PAID, FAILED, ACCEPTED (the provider's webhook will settle it), RETRY (the caller
    should run again after the backoff) or SKIPPED (final already, or another attempt holds it)."""
    return held_runs.attempt(uow, PAYOUT, payout_id, order=_order, send=lambda order: _send(uow.config, order))


def _order(uow: UnitOfWork, payout: Payout) -> bank.PayoutOrder:
    token = uow.session.get(BankAccount, payout.bank_account_id).provider_token
    return bank.PayoutOrder(payout_id=payout.id, token=token, amount=payout.amount, currency=payout.currency,
                            idempotency_key=f"ewallet-payout-{payout.id}")


def _send(config: dict, order: bank.PayoutOrder) -> held_runs.Answer:
    try:
        receipt = bank.provider(config).send_payout(order)
    except bank.PayoutRejected as refused:
        raise held_runs.Refused(str(refused)) from None
    except bank.ProviderDown as down:
        raise held_runs.Unreachable(str(down)) from None
    return held_runs.Answer(receipt.ref, held_runs.DONE if receipt.paid else held_runs.ACCEPTED)


def sweep(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Queue again the payouts whose job was lost (held_runs.sweep). Run by the worker's scheduler."""
    return held_runs.sweep(uow, PAYOUT, now=now)


# --- Under the payout's row lock: shared with the provider's webhooks (services/payout_events.py). ---


def mark_paid_locked(uow: UnitOfWork, payout: Payout) -> None:
    """The money has left: post the hold from the wallet to the house payouts-in-flight account."""
    held_runs.mark_done_locked(uow, PAYOUT, payout)


def fail_locked(uow: UnitOfWork, payout: Payout, reason: str) -> None:
    """Nothing left: release the hold, so the money is available again."""
    held_runs.fail_locked(uow, PAYOUT, payout, reason)


def return_locked(uow: UnitOfWork, payout: Payout, reason: str) -> None:
    """The bank sent a paid payout back: a reversing entry from payouts in flight to the wallet."""
    held_runs.audit_event(uow, PAYOUT, payout, "payout_returned", reason=reason)
    wallet = ledger.lock_wallets(uow, [payout.wallet_id])[payout.wallet_id]
    money = Money(payout.amount, payout.currency)
    in_flight = ledger.house_account_id(uow, "payouts_in_flight", payout.currency)
    payout.returned_entry_id = ledger.post_entry(
        uow, kind="payout_return", reverses_id=payout.paid_entry_id, description=f"payout {payout.id} returned",
        legs=[ledger.Leg(money, wallet=wallet), ledger.Leg(-money, account_id=in_flight)])
    held_runs.end_failed(uow, payout, reason)
