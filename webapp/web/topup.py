"""Mobile top-up (the dashboard's Mobile top-up tile): number, operator and amount → review → receipt,
whose status follows the top-up until it is delivered or failed.

The withdraw flow's shape (web/withdraw.py): every problem at once next to its field, Post/Redirect/Get,
and a review that is a GET of a draft carrying the idempotency key, so a double tap or Back-then-confirm
holds the money once. The top-up runs in a job; its status partial polls itself while it is pending or
processing (HTMX), and works without JavaScript as a plain status line."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from htmx_flask import request as htmx_request
from markupsafe import escape

from webapp.errors import DomainError, ValidationError
from webapp.extensions import limiter, new_uow
from webapp.services import history, topups, wallets
from webapp.web import bp, drafts, pin_prompt
from webapp.web.forms import FORM, errors_for, redirect_back
from webapp.web.send_form import wallet_for_currency
from webapp.web.topup_form import ALIASES, CODE_FIELDS, COUNTRY_NAMES, TopupForm, operator_groups, review

KIND = "topup"
MONEY_LIMIT = "30 per minute"
CHECK_LIMIT = "120 per minute"
POLL_LIMIT = "240 per minute"  # the status polls once a second while a top-up is on its way


def _mine():
    return wallets.list_wallets(new_uow(), user_id=current_user.id)


def _back_to_form(form: TopupForm, error: DomainError, draft: drafts.Draft | None = None):
    placed = errors_for(error, ALIASES, CODE_FIELDS.get(error.code, FORM))
    return redirect_back(KIND, url_for("web.topup_form", draft=draft.id if draft else None), form.values(), placed)


@bp.get("/topup")
@login_required
def topup_form():
    """The form: empty, prefilled from a draft (Edit on the review page), or back with its problems."""
    mine = _mine()
    wallet = wallet_for_currency(mine, request.args.get("currency"))
    values, errors = drafts.opening(KIND, TopupForm(wallet=wallet.id if wallet else "").values())
    form = TopupForm.of(values)
    chosen = next((w for w in mine if w.id == form.wallet), wallet)
    return render_template("topup/page.html", form=form, wallets=mine, wallet=chosen, errors=errors,
                           groups=operator_groups())


@bp.post("/topup")
@login_required
@limiter.limit(MONEY_LIMIT)
def topup_review():
    form = TopupForm.from_request()
    try:
        review(form, _mine())
    except ValidationError as error:
        return _back_to_form(form, error)
    draft = drafts.save(KIND, form.values())
    return redirect(url_for("web.topup_confirm", draft_id=draft.id), 303)


@bp.route("/topup/review/<draft_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(MONEY_LIMIT, methods=["POST"])
def topup_confirm(draft_id: str):
    """GET shows the review (or the receipt, if this draft was already confirmed); POST holds the money and
    queues the top-up, then shows the receipt, whose status follows it."""
    draft = drafts.load(KIND, draft_id)
    if draft is None:
        flash("That review has expired. Check the details and review again.", "info")
        return redirect(url_for("web.topup_form"), 303)
    made = topups.made_with_key(new_uow(), user_id=current_user.id, idempotency_key=draft.key)
    if made is not None and request.method == "GET":
        return redirect(url_for("web.transaction_detail", transaction_id=made.id), 303)
    form = TopupForm.of(draft.values)
    try:
        wallet, target = review(form, _mine(), courtesy=request.method == "GET")
        if request.method == "GET":
            return render_template("topup/confirm.html", wallet=wallet, target=target, draft_id=draft.id,
                                   country=COUNTRY_NAMES.get(target.country, target.country),
                                   pin=pin_prompt.prompt(KIND))
        topup = topups.request(new_uow(), user_id=current_user.id, wallet_id=wallet.id,
                               mobile_number=target.number, operator=target.operator.id,
                               amount=target.amount.amount, idempotency_key=draft.key, pin=pin_prompt.typed())
    except pin_prompt.REFUSALS as error:  # the same review again, the message under the PIN
        return pin_prompt.back_to_review(KIND, url_for("web.topup_confirm", draft_id=draft.id), error)
    except DomainError as error:
        return _back_to_form(form, error, draft)
    return redirect(url_for("web.transaction_detail", transaction_id=topup.id), 303)


@bp.post("/topup/check/number")
@login_required
@limiter.limit(CHECK_LIMIT)
def topup_check_number():
    """Inline check of the number, for HTMX: only the message, or nothing. An empty field is not nagged
    about until the form is submitted."""
    raw = request.form.get("mobile_number", "").strip()
    if not raw:
        return ""
    try:
        topups.check_number(new_uow(), user_id=current_user.id, mobile_number=raw)
    except ValidationError as error:
        return str(escape(error.message))
    return ""


@bp.get("/topup/<topup_id>/status")
@login_required
@limiter.limit(POLL_LIMIT)
def topup_status(topup_id: str):
    """The status fragment: with a polling trigger while the top-up is on its way, without once it ended.
    Its final rendering also updates the receipt's status line (an out-of-band swap)."""
    topup = topups.get(new_uow(), user_id=current_user.id, topup_id=topup_id)
    tx = history.get(new_uow(), user_id=current_user.id, transaction_id=topup.id)
    return render_template("topup/_status.html", topup=topup, tx=tx, oob=bool(htmx_request.htmx))
