from __future__ import annotations

from flask import g

from webapp.api import bp, serializers
from webapp.api.envelope import amount_field, idempotency_key, json_body, login_required, ok, require_fields
from webapp.errors import ValidationError
from webapp.extensions import limiter, new_uow
from webapp.money import Money, check_currency
from webapp.services import transfers

RECIPIENT_FIELDS = {f"to_{kind}": kind for kind in transfers.RECIPIENT_KINDS}


@bp.post("/transfers")
@login_required
@limiter.limit("60 per minute")
def create_transfer():
    body = json_body()
    require_fields(body, "from_wallet_id", "currency")
    named = [name for name in RECIPIENT_FIELDS if body.get(name) not in (None, "")]
    if len(named) != 1:
        raise ValidationError("Name exactly one recipient.",
                              details={"fields": {"to": "Send one of " + ", ".join(RECIPIENT_FIELDS) + "."}})
    recipient = body[named[0]]
    note = body.get("note") or ""
    if not isinstance(recipient, str) or not isinstance(body["from_wallet_id"], str) or not isinstance(note, str):
        raise ValidationError("Wallet ids, recipients and notes are strings.", details={"fields": {}})
    tx = transfers.transfer(
        new_uow(),
        sender_id=g.user_id,
        from_wallet_id=body["from_wallet_id"],
        to=transfers.Recipient(RECIPIENT_FIELDS[named[0]], recipient),
        amount=Money(amount_field(body), check_currency(body["currency"])),
        idempotency_key=idempotency_key(body),
        note=note,
    )
    return ok({"transaction": serializers.transaction(tx)}, 201)
