"""Send money in two taps: fill the form → review who and how much → confirm → receipt.

Post/Redirect/Get at every step. A form with problems goes back to GET /send with all of them. A form
that checks out becomes a draft (web/drafts.py) and the review is GET /send/review/<draft>, so Back and
reload show it again; once sent, the same review leads to the receipt. The draft carries the idempotency
key, so a double tap or a Back-then-send moves the money once."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import escape

from webapp.errors import DomainError, ValidationError
from webapp.extensions import limiter, new_uow
from webapp.services import recipients, transfers, wallets
from webapp.web import bp, drafts, pin_prompt
from webapp.web.forms import errors_for, redirect_back
from webapp.web.send_form import (
    ALIASES,
    CODE_FIELDS,
    SendForm,
    check_amount,
    check_recipient,
    chosen_wallet,
    parse,
    wallet_for_currency,
)
from webapp.web.send_form import review as check_review

MONEY_LIMIT = "30 per minute"
CHECK_LIMIT = "120 per minute"
KIND = "send"


def _mine():
    return wallets.list_wallets(new_uow(), user_id=current_user.id)


def _place(error: DomainError) -> dict[str, str]:
    return errors_for(error, ALIASES, CODE_FIELDS.get(error.code, "_form"))


def _back_to_form(form: SendForm, error: DomainError, draft: drafts.Draft | None = None):
    url = url_for("web.send_form", draft=draft.id if draft else None)
    return redirect_back(KIND, url, form.values(), _place(error))


def _expired():
    flash("That review has expired. Check the details and review again.", "info")
    return redirect(url_for("web.send_form"), 303)


@bp.get("/send")
@login_required
def send_form():
    """The form: empty, prefilled from a draft (Edit on the review page), or back with problems."""
    mine = _mine()
    wallet = wallet_for_currency(mine, request.args.get("currency"))
    values, errors = drafts.opening(KIND, SendForm(wallet=wallet.id if wallet else "").values())
    form = SendForm.of(values)
    wallet = chosen_wallet(form, mine) or wallet
    return render_template("send/page.html", form=form, wallets=mine, wallet=wallet, errors=errors)


@bp.post("/send")
@login_required
@limiter.limit(MONEY_LIMIT)
def send_review():
    """Check the form and every problem in it; nothing moves yet."""
    form = SendForm.from_request()
    try:
        check_review(form, _mine(), sender_id=current_user.id)
    except ValidationError as error:
        return _back_to_form(form, error)
    draft = drafts.save(KIND, form.values())
    return redirect(url_for("web.send_confirm", draft_id=draft.id), 303)


@bp.route("/send/review/<draft_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(MONEY_LIMIT, methods=["POST"])
def send_confirm(draft_id: str):
    """GET shows the review (or the receipt, if this draft was already sent); POST sends it."""
    draft = drafts.load(KIND, draft_id)
    if draft is None:
        return _expired()
    sent = transfers.sent_with_key(new_uow(), sender_id=current_user.id, idempotency_key=draft.key)
    if sent is not None and request.method == "GET":
        flash("You already sent this. Here is the receipt.", "info")
        return redirect(url_for("web.transaction_detail", transaction_id=sent.id), 303)
    form, mine = SendForm.of(draft.values), _mine()
    if request.method == "GET":
        try:
            parsed, who = check_review(form, mine, sender_id=current_user.id)
        except ValidationError as error:  # something changed since the form was checked
            return _back_to_form(form, error, draft)
        return render_template("send/confirm.html", draft=parsed, who=who, draft_id=draft.id,
                               pin=pin_prompt.prompt(KIND))
    try:
        parsed = parse(form, mine, courtesy=False)
        tx = transfers.transfer(new_uow(), sender_id=current_user.id, from_wallet_id=parsed.wallet.id,
                                to=parsed.to, amount=parsed.amount, idempotency_key=draft.key, note=parsed.note,
                                pin=pin_prompt.typed())
    except pin_prompt.REFUSALS as error:  # the same review again, the message under the PIN
        return pin_prompt.back_to_review(KIND, url_for("web.send_confirm", draft_id=draft.id), error)
    except DomainError as error:
        return _back_to_form(form, error, draft)
    flash(f"Sent {parsed.amount.format()} to {tx.counterparty.get('name') or form.to}.", "success")
    return redirect(url_for("web.transaction_detail", transaction_id=tx.id), 303)


@bp.post("/send/check/to")
@login_required
@limiter.limit(MONEY_LIMIT)
def send_check_to():
    """Inline check of the recipient, for HTMX: only the message, or nothing. It looks people up, so it is
    limited per user like sending itself: otherwise it would answer "who has this email or number?" as
    fast as anyone could ask. An empty field is not nagged about until the form is submitted."""
    form = SendForm.from_request()
    message = (check_recipient(form.to) or _recipient_problem(form)) if form.to else None
    return str(escape(message or ""))


@bp.post("/send/check/<field>")
@login_required
@limiter.limit(CHECK_LIMIT)
def send_check(field: str):
    """Inline validation of the other fields for HTMX, the same way (see send_check_to)."""
    form = SendForm.from_request()
    if field != "amount":
        abort(404)
    _, message = check_amount(form.amount, chosen_wallet(form, _mine())) if form.amount else (None, None)
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
