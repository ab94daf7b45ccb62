"""Operator endpoints of the back office: the reconciliation report and the automatic risk flags (list,
clear with a reason). Only role admin; everyone else gets 403 FORBIDDEN."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from flask import g, request

from webapp.api import bp, serializers
from webapp.api.envelope import json_body, login_required, ok, require_strings, role_required
from webapp.errors import ValidationError
from webapp.extensions import new_uow
from webapp.models.base import utcnow
from webapp.models.risk import RiskFlag
from webapp.services import card_reconciliation, reconciliation, risk_flags


@bp.get("/admin/reconciliation")
@login_required
@role_required("admin")
def reconciliation_report():
    """`?stripe=1` adds the card deposits against Stripe (`&since=YYYY-MM-DD`, default 7 days ago)."""
    data = {"report": serializers.reconciliation(reconciliation.reconcile(new_uow()))}
    if request.args.get("stripe") in ("1", "true"):
        since = _since(request.args.get("since"))
        data["stripe"] = _card_report(card_reconciliation.reconcile_stripe(new_uow(), since=since))
    return ok(data)


def _since(raw: str | None) -> datetime:
    if not raw:
        return utcnow() - timedelta(days=7)
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=None)
    except ValueError:
        raise ValidationError.field("since", "Send a UTC date or time, e.g. 2026-12-01.") from None


def _card_report(report: card_reconciliation.CardReport) -> dict:
    return {"ok": report.ok, "since": serializers.timestamp(report.since), "until": serializers.timestamp(report.until),
            "payment_intents_checked": report.payment_intents_checked, "credits_checked": report.credits_checked,
            "findings": [asdict(finding) for finding in report.findings]}


@bp.get("/admin/risk-flags")
@login_required
@role_required("admin")
def open_risk_flags():
    """The flagged list: open flags, oldest first, with whose account each is."""
    rows = risk_flags.open_flags(new_uow(), staff_id=g.user_id)
    return ok({"risk_flags": [{**_flag(row.flag), "email": row.email, "is_frozen": row.is_frozen} for row in rows]})


@bp.post("/admin/risk-flags/<flag_id>/clear")
@login_required
@role_required("admin")
def clear_risk_flag(flag_id: str):
    """Takes the account off the flagged list (audited); it stays frozen until an admin unfreezes it."""
    body = json_body()
    require_strings(body, "reason")
    return ok({"risk_flag": _flag(risk_flags.clear(new_uow(), admin_id=g.user_id, flag_id=flag_id,
                                                    reason=body.get("reason")))})


def _flag(flag: RiskFlag) -> dict:
    return {"id": flag.id, "user_id": flag.user_id, "rule": flag.rule, "details": flag.details,
            "created_at": serializers.timestamp(flag.created_at),
            "resolved_at": serializers.timestamp(flag.resolved_at) if flag.resolved_at else None,
            "resolved_by": flag.resolved_by, "resolution": flag.resolution}
