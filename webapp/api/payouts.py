"""Withdrawals to a bank account (DESIGN §9): hold the money now, pay it out in a job; poll for the end."""

from __future__ import annotations

from uuid import UUID

from flask import g

from webapp.api import bp
from webapp.api.envelope import (
    amount_field,
    idempotency_key,
    json_body,
    login_required,
    ok,
    require_fields,
    require_strings,
)
from webapp.api.serializers import timestamp
from webapp.extensions import limiter, new_uow
from webapp.models import Payout
from webapp.money import check_currency
from webapp.services import payouts


def payout(p: Payout) -> dict:
    return {"id": p.id, "wallet_id": p.wallet_id, "bank_account_id": p.bank_account_id, "amount": p.amount,
            "currency": p.currency, "status": p.status, "failure_reason": p.failure_reason, "retries": p.retries,
            "created_at": timestamp(p.created_at), "updated_at": timestamp(p.updated_at)}


@bp.post("/payouts/bank")
@login_required
@limiter.limit("30 per minute")
def create_payout():
    body = json_body()
    require_fields(body, "wallet_id", "bank_account_id", "amount")
    require_strings(body, "wallet_id", "bank_account_id", "pin")
    made = payouts.request(new_uow(), user_id=g.user_id, wallet_id=body["wallet_id"],
                           bank_account_id=body["bank_account_id"], amount=amount_field(body),
                           currency=check_currency(body["currency"]) if "currency" in body else None,
                           idempotency_key=idempotency_key(body), pin=body.get("pin"))
    return ok({"payout": payout(made)}, 201)


# The id is a UUID (as the OpenAPI document says), so this route never matches /payouts/bank: an OPTIONS
# there answers `Allow: POST`, and anything else under /payouts/ is the API's 404.
@bp.get("/payouts/<uuid:payout_id>")
@login_required
def get_payout(payout_id: UUID):
    return ok({"payout": payout(payouts.get(new_uow(), user_id=g.user_id, payout_id=str(payout_id)))})
