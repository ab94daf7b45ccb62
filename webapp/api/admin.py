"""Operator reads for the back office. Only role admin; everyone else gets 403 FORBIDDEN."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from flask import request

from webapp.api import bp, serializers
from webapp.api.envelope import login_required, ok, role_required
from webapp.errors import ValidationError
from webapp.extensions import new_uow
from webapp.models.base import utcnow
from webapp.services import card_reconciliation, reconciliation


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
