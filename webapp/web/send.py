"""Send money in two taps: fill the form → review who and how much → confirm, then Post/Redirect/Get to
the receipt. The confirm form carries an idempotency key made when it was rendered, so a double tap or a
resubmitted page moves the money once."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import escape

from webapp.errors import DomainError
from webapp.extensions import limiter, new_uow
from webapp.services import recipients, transfers, wallets
from webapp.web import bp
from webapp.web.forms import errors_for, text
from webapp.web.send_form import (
    ALIASES,
    CODE_FIELDS,
    SendForm,
    check_amount,
    check_recipient,
    chosen_wallet,
    parse,
)

MONEY_LIMIT = "30 per minute"
CHECK_LIMIT = "120 per minute"


def _mine():
    return wallets.list_wallets(new_uow(), user_id=current_user.id)


def _form_page(form: SendForm, mine, errors: dict | None = None, status: int = 200):
    wallet = chosen_wallet(form, mine) or (mine[0] if mine else None)
    return render_template("send/page.html", form=form, wallets=mine, wallet=wallet, errors=errors or {}), status


def _place(error: DomainError) -> dict[str, str]:
    return errors_for(error, ALIASES, CODE_FIELDS.get(error.code, "_form"))


@bp.get("/send")
@login_required
def send_form():
    mine = _mine()
    currency = (request.args.get("currency") or "").upper()
    wallet = next((w for w in mine if w.currency == currency), mine[0] if mine else None)
    return _form_page(SendForm(wallet=wallet.id if wallet else ""), mine)


@bp.post("/send")
@login_required
@limiter.limit(MONEY_LIMIT)
def send_review():
    """Check the form and show who the money would reach; nothing moves yet."""
    form, mine = SendForm.from_request(), _mine()
    if request.form.get("action") == "edit":
        return _form_page(form, mine)
    try:
        draft = parse(form, mine)
        who = recipients.preview(new_uow(), sender_id=current_user.id, to=draft.to, currency=draft.amount.currency)
    except DomainError as error:
        return _form_page(form, mine, _place(error), 422)
    return render_template("send/confirm.html", form=form, draft=draft, who=who, key=uuid.uuid4().hex)


@bp.post("/send/confirm")
@login_required
@limiter.limit(MONEY_LIMIT)
def send_confirm():
    form, mine = SendForm.from_request(), _mine()
    try:
        draft = parse(form, mine, courtesy=False)
        tx = transfers.transfer(new_uow(), sender_id=current_user.id, from_wallet_id=draft.wallet.id, to=draft.to,
                                amount=draft.amount, idempotency_key=text("idempotency_key", 255), note=draft.note)
    except DomainError as error:
        return _form_page(form, mine, _place(error), 422)
    flash(f"Sent {draft.amount.format()} to {tx.counterparty.get('email', form.to)}.", "success")
    return redirect(url_for("web.transaction_detail", transaction_id=tx.id), 303)


@bp.post("/send/check/<field>")
@login_required
@limiter.limit(CHECK_LIMIT)
def send_check(field: str):
    """Inline validation for HTMX: the response is only the message for that field, or nothing."""
    form = SendForm.from_request()
    if field == "amount":
        _, message = check_amount(form.amount, chosen_wallet(form, _mine()))
    elif field == "to":
        message = check_recipient(form.to) or _recipient_problem(form)
    else:
        abort(404)
    return str(escape(message or ""))


def _recipient_problem(form: SendForm) -> str | None:
    wallet = chosen_wallet(form, _mine())
    if wallet is None:
        return None
    try:
        recipients.preview(new_uow(), sender_id=current_user.id, to=recipients.Recipient.from_text(form.to),
                           currency=wallet.currency)
    except DomainError as error:
        return error.message
    return None
