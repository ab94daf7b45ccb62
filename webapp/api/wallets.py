from __future__ import annotations

from flask import g, request

from webapp.api import bp, serializers
from webapp.api.envelope import json_body, login_required, ok, require_fields
from webapp.errors import ValidationError
from webapp.extensions import new_uow
from webapp.services import history, wallets


@bp.get("/wallets")
@login_required
def list_wallets():
    return ok({"wallets": [serializers.wallet(w) for w in wallets.list_wallets(new_uow(), user_id=g.user_id)]})


@bp.post("/wallets")
@login_required
def open_wallet():
    body = json_body()
    require_fields(body, "currency")
    wallet = wallets.open_wallet(new_uow(), user_id=g.user_id, currency=body["currency"])
    return ok({"wallet": serializers.wallet(wallet)}, 201)


@bp.get("/wallets/<wallet_id>")
@login_required
def get_wallet(wallet_id: str):
    return ok({"wallet": serializers.wallet(wallets.get_wallet(new_uow(), user_id=g.user_id, wallet_id=wallet_id))})


@bp.get("/wallets/<wallet_id>/transactions")
@login_required
def wallet_transactions(wallet_id: str):
    limit = request.args.get("limit", "50")
    if not (limit.isascii() and limit.isdigit()):  # str.isdigit() alone accepts "²", which int() refuses
        raise ValidationError.field("limit", "Send limit as a whole number.")
    items, cursor = history.page(new_uow(), user_id=g.user_id, wallet_id=wallet_id, limit=int(limit),
                                 cursor=request.args.get("cursor") or None)
    return ok({"transactions": [serializers.transaction(t) for t in items], "next_cursor": cursor})
