"""The institution directory and paying an institution with a structured reference (DESIGN §9)."""

from __future__ import annotations

from flask import g, request

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
from webapp.errors import ValidationError
from webapp.extensions import limiter, new_uow
from webapp.models import Institution
from webapp.money import Money, check_currency
from webapp.services import institution_payments, institutions
from webapp.services.institutions import KINDS, fields_of


def institution(found: Institution) -> dict:
    return {"id": found.id, "name": found.name, "kind": found.kind, "country": found.country,
            "currency": found.currency, "reference_fields": [field.as_dict() for field in fields_of(found)]}


@bp.get("/institutions")
@login_required
def list_institutions():
    kind = request.args.get("kind")
    if kind is not None and kind not in KINDS:
        raise ValidationError.field("kind", f"Choose one of {', '.join(KINDS)}.")
    found = institutions.directory(new_uow(), kinds=(kind,) if kind else None)
    return ok({"institutions": [institution(each) for each in found]})


@bp.post("/institution-payments")
@login_required
@limiter.limit("60 per minute")
def pay_institution():
    body = json_body()
    raise_for(missing_fields(body, "wallet_id", "institution_id", "amount", "currency", "reference"))
    require_strings(body, "wallet_id", "institution_id", "pin")
    tx = institution_payments.pay(
        new_uow(),
        payer_id=g.user_id,
        wallet_id=body["wallet_id"],
        institution_id=body["institution_id"],
        amount=Money(amount_field(body), check_currency(body["currency"])),
        reference=body["reference"],
        idempotency_key=idempotency_key(body),
        pin=body.get("pin"),
    )
    return ok({"transaction": serializers.transaction(tx)}, 201)
