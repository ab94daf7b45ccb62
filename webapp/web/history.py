"""Activity and receipts. One URL serves the history page and, for HTMX "Load more", only the next rows."""

from __future__ import annotations

from flask import make_response, render_template, request
from flask_login import current_user, login_required
from htmx_flask import request as htmx_request

from webapp.extensions import new_uow
from webapp.services import history as history_service
from webapp.services import payouts, topups
from webapp.web import bp

PAGE_SIZE = 20


@bp.get("/history")
@login_required
def history():
    rows, cursor = history_service.page(new_uow(), user_id=current_user.id, limit=PAGE_SIZE,
                                        cursor=request.args.get("cursor") or None)
    if htmx_request.htmx:
        return render_template("history/_rows.html", rows=rows, cursor=cursor)
    return render_template("history/page.html", rows=rows, cursor=cursor, older=bool(request.args.get("cursor")))


@bp.get("/transactions/<transaction_id>")
@login_required
def transaction_detail(transaction_id: str):
    """The receipt. Someone else's transaction raises NotFound, which renders the calm 404 page."""
    tx = history_service.get(new_uow(), user_id=current_user.id, transaction_id=transaction_id)
    payout = payouts.get(new_uow(), user_id=current_user.id, payout_id=tx.id) if tx.kind == "payout" else None
    topup = topups.get(new_uow(), user_id=current_user.id, topup_id=tx.id) if tx.kind == "topup" else None
    return render_template("transactions/page.html", tx=tx, payout=payout, topup=topup)


@bp.get("/transactions/<transaction_id>/receipt.html")
@login_required
def transaction_receipt_file(transaction_id: str):
    """The receipt as one self-contained file to keep: saving and printing it need no JavaScript (the page's
    own Print button does), and it opens in any browser, offline, years from now."""
    tx = history_service.get(new_uow(), user_id=current_user.id, transaction_id=transaction_id)
    response = make_response(render_template("transactions/receipt_file.html", tx=tx))
    response.headers["Content-Disposition"] = f'attachment; filename="e-wallet-receipt-{tx.id[:8]}.html"'
    return response
