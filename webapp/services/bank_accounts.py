"""Bank accounts a user can withdraw to: checked for real (services/bank_details.py), registered with the
payout provider, kept as its token and the last four digits; listed; removed, softly, so payouts made to
an account keep their history. Each addition and removal is audited on the user's stream."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import NotFound, ProviderUnavailable, ValidationError
from webapp.models import BankAccount, User
from webapp.models.base import utcnow
from webapp.providers import bank
from webapp.services import audit, bank_details

NUMBER_FIELD = {bank.IBAN: "iban", bank.US_ACH: "account_number"}


class BankUnavailable(ProviderUnavailable):
    default_message = "Bank accounts cannot be added right now. Try again in a minute."


def add(uow: UnitOfWork, *, user_id: str, account_holder_name: object, iban: object = None,
        account_number: object = None, routing_number: object = None, currency: object,
        country: object) -> BankAccount:
    """Check the details, have the provider tokenize the account (outside any transaction: DESIGN §6), then
    keep the token. The same account twice is refused, also when two submits race."""
    details = bank_details.check(account_holder_name=account_holder_name, iban=iban, account_number=account_number,
                                 routing_number=routing_number, currency=currency, country=country)
    fingerprint = _fingerprint(uow.config, details)
    with uow:
        _refuse_duplicate(uow, user_id, fingerprint, details.kind)
    token = _tokenize(uow.config, details)
    return _keep(uow, user_id=user_id, details=details, token=token, fingerprint=fingerprint)


def list_for(uow: UnitOfWork, *, user_id: str) -> list[BankAccount]:
    """The user's accounts that payouts can go to, oldest first."""
    with uow:
        return list(uow.session.scalars(select(BankAccount).where(
            BankAccount.user_id == user_id, BankAccount.removed_at.is_(None)).order_by(BankAccount.created_at)))


def owned(uow: UnitOfWork, *, user_id: str, bank_account_id: object, lock: bool = False) -> BankAccount:
    """Inside an open unit of work: the user's account, not removed. Another user's is NotFound, as if it
    did not exist."""
    account = (uow.session.get(BankAccount, bank_account_id, with_for_update=lock)
               if isinstance(bank_account_id, str) else None)
    if account is None or account.user_id != user_id or account.removed_at is not None:
        raise NotFound("Bank account not found.")
    return account


@retry_on_conflict
def remove(uow: UnitOfWork, *, user_id: str, bank_account_id: object) -> BankAccount:
    with uow:
        account = owned(uow, user_id=user_id, bank_account_id=bank_account_id, lock=True)
        account.removed_at = utcnow()
        audit.append(uow, stream=audit.user_stream(user_id), event="bank_account_removed", actor_id=user_id,
                     data={"bank_account_id": account.id, "last4": account.last4})
        uow.commit()
    return account


def _tokenize(config: dict, details: bank.AccountDetails) -> str:
    try:
        return bank.provider(config).tokenize_account(details)
    except bank.AccountRejected as rejected:
        raise ValidationError.field(NUMBER_FIELD[details.kind], str(rejected)) from None
    except bank.ProviderDown:
        raise BankUnavailable() from None


@retry_on_conflict
def _keep(uow: UnitOfWork, *, user_id: str, details: bank.AccountDetails, token: str,
          fingerprint: str) -> BankAccount:
    with uow:
        uow.session.get(User, user_id, with_for_update=True)  # one addition at a time per user: see add()
        _refuse_duplicate(uow, user_id, fingerprint, details.kind)
        account = BankAccount(user_id=user_id, kind=details.kind, account_holder_name=details.holder_name,
                              bank_name=(details.bank_name or "")[:140] or None, last4=details.last4,
                              currency=details.currency, country=details.country, provider_token=token,
                              fingerprint=fingerprint)
        uow.session.add(account)
        uow.session.flush()
        audit.append(uow, stream=audit.user_stream(user_id), event="bank_account_added", actor_id=user_id,
                     data={"bank_account_id": account.id, "kind": account.kind, "last4": account.last4})
        uow.commit()
    return account


def _refuse_duplicate(uow: UnitOfWork, user_id: str, fingerprint: str, kind: str) -> None:
    same = uow.session.scalar(select(BankAccount.id).where(
        BankAccount.user_id == user_id, BankAccount.fingerprint == fingerprint, BankAccount.removed_at.is_(None)))
    if same is not None:
        raise ValidationError.field(NUMBER_FIELD[kind], "You have already added this account.")


def _fingerprint(config: dict, details: bank.AccountDetails) -> str:
    """A keyed hash, not a plain one: account numbers are short enough to guess from an unkeyed hash."""
    key = hmac.new(config["SECRET_KEY"].encode(), b"bank-account-fingerprint", hashlib.sha256).digest()
    number = f"{details.kind}:{details.routing_number or ''}:{details.number}"
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
