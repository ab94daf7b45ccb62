"""Bank accounts to withdraw to (DESIGN §9): list, add, remove. Responses name an account by its bank and
last four digits only; the number someone sent is never echoed."""

from __future__ import annotations

from flask import g

from webapp.api import bp
from webapp.api.envelope import json_body, login_required, ok, require_strings
from webapp.api.serializers import timestamp
from webapp.extensions import limiter, new_uow
from webapp.models import BankAccount
from webapp.services import bank_accounts

FIELDS = ("account_holder_name", "iban", "account_number", "routing_number", "currency", "country")


def bank_account(account: BankAccount) -> dict:
    return {"id": account.id, "account_holder_name": account.account_holder_name, "bank_name": account.bank_name,
            "last4": account.last4, "currency": account.currency, "country": account.country,
            "created_at": timestamp(account.created_at)}


@bp.get("/bank-accounts")
@login_required
def list_bank_accounts():
    mine = bank_accounts.list_for(new_uow(), user_id=g.user_id)
    return ok({"bank_accounts": [bank_account(account) for account in mine]})


@bp.post("/bank-accounts")
@login_required
@limiter.limit("20 per minute")
def add_bank_account():
    body = json_body()
    require_strings(body, *FIELDS)
    account = bank_accounts.add(new_uow(), user_id=g.user_id, **{name: body.get(name) for name in FIELDS})
    return ok({"bank_account": bank_account(account)}, 201)


@bp.delete("/bank-accounts/<bank_account_id>")
@login_required
def remove_bank_account(bank_account_id: str):
    bank_accounts.remove(new_uow(), user_id=g.user_id, bank_account_id=bank_account_id)
    return ok({})
