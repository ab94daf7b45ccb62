"""Bank accounts to withdraw to: the list, the form that adds one, and removing one after a confirm.

Post/Redirect/Get like every form here, with one difference: when a submit has problems, the account and
routing numbers do not come back with the messages. Whatever `redirect_back` keeps rides in the signed
(readable, not encrypted) session cookie, and a full account number must not be in any response. Inline
checks (HTMX) catch most typos before the submit instead."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import escape

from webapp import money
from webapp.errors import DomainError, ValidationError
from webapp.extensions import limiter, new_uow
from webapp.services import bank_accounts, bank_details, wallets
from webapp.web import bp
from webapp.web.forms import errors_for, redirect_back, restore, text

FORM = "bank-account"
KEPT = ("account_holder_name", "currency", "country")  # never the numbers: see the module docstring
NUMBERS = ("iban", "account_number", "routing_number")
CHECKS = {"iban": bank_details.check_iban, "account_number": bank_details.check_account_number,
          "routing_number": bank_details.check_routing_number}


def _currencies() -> list[str]:
    """The user's wallet currencies first: that is what they will withdraw in."""
    held = [wallet.currency for wallet in wallets.list_wallets(new_uow(), user_id=current_user.id)]
    return [*held, *(code for code in money.currency_choices() if code not in held)]


@bp.get("/bank-accounts")
@login_required
def bank_accounts_page():
    currencies = _currencies()
    values, errors = restore(FORM, {"account_holder_name": "", "currency": currencies[0], "country": ""})
    mine = bank_accounts.list_for(new_uow(), user_id=current_user.id)
    return render_template("bank_accounts/page.html", accounts=mine, form=values, errors=errors,
                           currencies=currencies, countries=bank_details.account_countries(),
                           us_open=any(name in errors for name in NUMBERS[1:]))


@bp.post("/bank-accounts")
@login_required
@limiter.limit("20 per minute")
def bank_accounts_add():
    fields = {name: text(name, 140) for name in (*KEPT, *NUMBERS)}
    try:
        account = bank_accounts.add(new_uow(), user_id=current_user.id, **fields)
    except DomainError as error:
        kept = {name: fields[name] for name in KEPT}
        return redirect_back(FORM, url_for("web.bank_accounts_page"), kept, errors_for(error))
    flash(f"Added {account.bank_name or 'your account'} ending {account.last4}.", "success")
    return redirect(url_for("web.bank_accounts_page"), 303)


@bp.post("/bank-accounts/<bank_account_id>/remove")
@login_required
@limiter.limit("30 per minute")
def bank_accounts_remove(bank_account_id: str):
    try:
        account = bank_accounts.remove(new_uow(), user_id=current_user.id, bank_account_id=bank_account_id)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"Removed the account ending {account.last4}.", "success")
    return redirect(url_for("web.bank_accounts_page"), 303)


@bp.post("/bank-accounts/check/<field>")
@login_required
@limiter.limit("120 per minute")
def bank_accounts_check(field: str):
    """Inline check of one number for HTMX: only the message, or nothing. An empty field is not nagged
    about until the form is submitted."""
    if field not in CHECKS:
        abort(404)
    raw = text(field, 140)
    if not raw:
        return ""
    try:
        CHECKS[field](raw)
    except ValidationError as error:
        return str(escape(error.message))
    return ""
