from __future__ import annotations

from flask import g

from webapp.api import bp, serializers
from webapp.api.envelope import (
    amount_field,
    idempotency_key,
    json_body,
    login_required,
    missing_fields,
    ok,
    raise_for,
    require_strings,
)
from webapp.extensions import limiter, new_uow
from webapp.money import Money, check_currency
from webapp.services import transfers

RECIPIENT_FIELDS = {f"to_{kind}": kind for kind in transfers.RECIPIENT_KINDS}


@bp.post("/transfers")
@login_required
@limiter.limit("60 per minute")
def create_transfer():
    body = json_body()
    fields = missing_fields(body, "from_wallet_id", "amount", "currency")
    named = [name for name in RECIPIENT_FIELDS if body.get(name) not in (None, "")]
    if len(named) != 1:
        fields["to"] = "Send exactly one of " + ", ".join(RECIPIENT_FIELDS) + "."
    raise_for(fields)
    require_strings(body, "from_wallet_id", named[0], "note", "pin")
    tx = transfers.transfer(
        new_uow(),
        sender_id=g.user_id,
        from_wallet_id=body["from_wallet_id"],
        to=transfers.Recipient(RECIPIENT_FIELDS[named[0]], body[named[0]]),
        amount=Money(amount_field(body), check_currency(body["currency"])),
        idempotency_key=idempotency_key(body),
        note=body.get("note") or "",
        pin=body.get("pin"),
    )
    return ok({"transaction": serializers.transaction(tx)}, 201)
