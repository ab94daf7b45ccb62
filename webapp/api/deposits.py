"""Add money by card: the pending deposit and the client secret Stripe.js pays it with (DESIGN §8)."""

from __future__ import annotations

from flask import g

from webapp.api import bp, serializers
from webapp.api.envelope import amount_field, idempotency_key, json_body, login_required, ok, require_fields
from webapp.extensions import limiter, new_uow
from webapp.money import Money, check_currency
from webapp.services import deposits


@bp.post("/wallets/<wallet_id>/deposit")
@login_required
@limiter.limit("30 per minute")
def create_deposit(wallet_id: str):
    body = json_body()
    require_fields(body, "amount", "currency")
    deposit = deposits.start(new_uow(), user_id=g.user_id, wallet_id=wallet_id,
                             amount=Money(amount_field(body), check_currency(body["currency"])),
                             idempotency_key=idempotency_key(body))
    return ok({"client_secret": deposit.client_secret, "transaction": serializers.transaction(deposit.transaction)},
              201)
