"""Transaction PINs as the tests use them: set one straight through the service, read the user's PIN row and
audit events, and the four money paths that ask for the PIN, each with a funded sender ready to send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.integration.institution_scenarios import PAY, add_institution, payment
from tests.integration.payout_scenarios import bank_account, withdraw
from tests.integration.topup_scenarios import topup
from webapp.extensions import new_uow
from webapp.models import AuditLog, User
from webapp.services import audit, pins, reconciliation

PIN = "4829"
WRONG = "1357"


def set_pin(app, user_id: str, pin: str = PIN) -> None:
    with app.app_context():
        pins.set_pin(new_uow(), user_id=user_id, password=PASSWORD, pin=pin)


def user_row(app, user_id: str) -> User:
    with app.app_context(), new_uow() as uow:
        return uow.session.get(User, user_id)


def events(app, user_id: str) -> list[str]:
    """The user's audit events, oldest first."""
    with app.app_context(), new_uow() as uow:
        return list(uow.session.scalars(select(AuditLog.event).where(AuditLog.stream == audit.user_stream(user_id))
                                        .order_by(AuditLog.seq)))


def reconciled(app) -> bool:
    with app.app_context():
        return reconciliation.reconcile(new_uow()).ok


@dataclass
class Sender:
    """A funded user ready to move money one way; `send(**extra)` makes one request (extra: pin, key)."""

    user: object
    send: Callable[..., object]

    def balance(self) -> tuple[int, int]:
        wallet = self.user.wallet()
        return wallet["balance"], wallet["reserved"]

    def history(self) -> list[str]:
        page = self.user.get(f"/wallets/{self.user.wallet()['id']}/transactions").json["data"]
        return [tx["id"] for tx in page["transactions"]]


def _transfer(wallets, app) -> Sender:
    user, bob = wallets.user(balance=10_000), wallets.user()
    return Sender(user, lambda key=None, **extra: user.send(bob, 1_000, key=key, **extra))


def _institution_payment(wallets, app) -> Sender:
    user, college = wallets.user(balance=10_000), add_institution(app)
    return Sender(user, lambda key=None, **extra: user.post(PAY, json=payment(user, college, 1_000, key=key, **extra)))


def _payout(wallets, app) -> Sender:
    user = wallets.user(balance=10_000, kyc="verified")
    account = bank_account(user)
    return Sender(user, lambda key=None, **extra: withdraw(user, account, 1_000, key=key, **extra))


def _topup(wallets, app) -> Sender:
    user = wallets.user(balance=10_000)
    return Sender(user, lambda key=None, **extra: topup(user, "0123", 1_000, key=key, **extra))


# API path → a funded sender for it.
MONEY_PATHS = {"/transfers": _transfer, "/institution-payments": _institution_payment, "/payouts/bank": _payout,
               "/topup/mobile": _topup}
