from __future__ import annotations

from flask import g

from webapp.api import bp, serializers
from webapp.api.envelope import login_required, ok
from webapp.extensions import new_uow
from webapp.services import history


@bp.get("/transactions/<transaction_id>")
@login_required
def get_transaction(transaction_id: str):
    tx = history.get(new_uow(), user_id=g.user_id, transaction_id=transaction_id)
    return ok({"transaction": serializers.transaction(tx)})
