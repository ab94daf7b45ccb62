"""Profile: who you are to the wallet (email, masked phone, KYC status), your wallets, and opening a
wallet in another currency."""

from __future__ import annotations

from babel.numbers import get_currency_name
from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.errors import DomainError
from webapp.extensions import limiter, new_uow
from webapp.money import currencies
from webapp.services import accounts, wallets
from webapp.web import bp
from webapp.web.forms import errors_for, text

# Offered first in the picker: the currencies most wallets are opened in.
POPULAR = ("USD", "EUR", "GBP", "KES", "NGN", "GHS", "ZAR", "INR", "CAD", "AUD", "JPY", "AED")


def currency_choices(owned: set[str]) -> list[tuple[str, str]]:
    """(code, "code — name") for every currency a wallet can hold and the user does not hold yet."""
    rest = sorted(currencies() - set(POPULAR))
    return [(code, f"{code} — {get_currency_name(code, locale='en_US')}")
            for code in (*POPULAR, *rest) if code not in owned]


def _page(errors: dict | None = None, status: int = 200):
    user = accounts.get_user(new_uow(), current_user.id)
    mine = wallets.list_wallets(new_uow(), user_id=current_user.id)
    choices = currency_choices({w.currency for w in mine})
    return render_template("profile/page.html", user=user, wallets=mine, choices=choices,
                           errors=errors or {}), status


@bp.get("/profile")
@login_required
def profile():
    return _page()


@bp.post("/profile/wallets")
@login_required
@limiter.limit("30 per minute")
def profile_open_wallet():
    try:
        wallet = wallets.open_wallet(new_uow(), user_id=current_user.id, currency=text("currency", 3))
    except DomainError as error:
        return _page(errors_for(error, {}, "currency"), 422)
    flash(f"Your {wallet.currency} wallet is open.", "success")
    return redirect(url_for("web.profile"), 303)
