"""The two proofs an operator can ask for: the reconciliation (every wallet's cached balance and holds
against the ledger, and every currency's postings summing to zero) and the audit trail's hash chains.
Each runs on a button (a POST: it is work, and it is audited by services/backoffice.py) and the answer is
the page itself; a reload runs it again, which changes nothing but the audit trail."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from webapp.admin import bp
from webapp.extensions import new_uow
from webapp.services import backoffice


@bp.get("/reconciliation")
def reconciliation():
    return render_template("admin/reconciliation.html", report=None, admin_area="reconciliation")


@bp.post("/reconciliation")
def reconciliation_run():
    report = backoffice.run_reconciliation(new_uow(), staff_id=current_user.id)
    return render_template("admin/reconciliation.html", report=report, admin_area="reconciliation")


@bp.get("/audit")
def audit_log():
    return _audit_page(checked=False, finding=None)


@bp.post("/audit/verify")
def audit_verify():
    finding = backoffice.check_audit_trail(new_uow(), staff_id=current_user.id)
    return _audit_page(checked=True, finding=finding)


def _audit_page(*, checked: bool, finding):
    before = request.args.get("before", "")
    page = backoffice.audit_page(new_uow(), staff_id=current_user.id,
                                 before=int(before) if before.isdigit() and len(before) < 19 else None)
    return render_template("admin/audit.html", page=page, checked=checked, finding=finding, admin_area="audit")
