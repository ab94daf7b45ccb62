"""Operator reads for the back office. Only role admin; everyone else gets 403 FORBIDDEN."""

from __future__ import annotations

from webapp.api import bp, serializers
from webapp.api.envelope import login_required, ok, role_required
from webapp.extensions import new_uow
from webapp.services import reconciliation


@bp.get("/admin/reconciliation")
@login_required
@role_required("admin")
def reconciliation_report():
    return ok({"report": serializers.reconciliation(reconciliation.reconcile(new_uow()))})
