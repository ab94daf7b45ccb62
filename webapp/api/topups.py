"""Mobile airtime top-ups (DESIGN §9): hold the money now, buy the airtime in a job; poll for the end."""

from __future__ import annotations

from flask import g, request

from webapp.api import bp
from webapp.api.envelope import idempotency_key, json_body, login_required, ok, require_fields, require_strings
from webapp.api.serializers import timestamp
from webapp.errors import ValidationError
from webapp.extensions import limiter, new_uow
from webapp.models import Topup
from webapp.providers import airtime
from webapp.services import topups


def topup(t: Topup) -> dict:
    operator = airtime.BY_ID.get(t.operator)
    return {"id": t.id, "wallet_id": t.wallet_id, "mobile_number": t.mobile_number,
            "operator": {"id": t.operator, "name": operator.name if operator else t.operator},
            "amount": t.amount, "currency": t.currency, "status": t.status, "provider_ref": t.provider_ref,
            "failure_reason": t.failure_reason, "retries": t.retries,
            "created_at": timestamp(t.created_at), "updated_at": timestamp(t.updated_at)}


@bp.get("/topup/operators")
@login_required
def list_operators():
    """The operators on sale, for a picker when the number's operator can't be detected."""
    country = request.args.get("country")
    if country is not None and country not in airtime.COUNTRIES:
        raise ValidationError.field("country", f"Choose one of {', '.join(airtime.COUNTRIES)}.")
    return ok({"operators": [operator.as_dict() for operator in airtime.operators_in(country)]})


@bp.post("/topup/mobile")
@login_required
@limiter.limit("30 per minute")
def create_topup():
    body = json_body()
    require_fields(body, "wallet_id", "mobile_number", "amount")
    require_strings(body, "wallet_id", "mobile_number", "operator", "pin")
    made = topups.request(new_uow(), user_id=g.user_id, wallet_id=body["wallet_id"],
                          mobile_number=body["mobile_number"], operator=body.get("operator"), amount=body["amount"],
                          idempotency_key=idempotency_key(body), pin=body.get("pin"))
    return ok({"topup": topup(made)}, 201)


@bp.get("/topup/mobile/<topup_id>")
@login_required
def get_topup(topup_id: str):
    return ok({"topup": topup(topups.get(new_uow(), user_id=g.user_id, topup_id=topup_id))})
