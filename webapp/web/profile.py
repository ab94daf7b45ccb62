"""Profile: who you are to the wallet (photo, email, masked phone, KYC status), your wallets, and opening
a wallet in another currency."""

from __future__ import annotations

from babel.numbers import get_currency_name
from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp import money
from webapp.errors import DomainError
from webapp.extensions import limiter, new_uow
from webapp.services import accounts, pins, profile_photos, wallets
from webapp.web import bp
from webapp.web.forms import errors_for, redirect_back, restore, text


def currency_choices(owned: set[str]) -> list[tuple[str, str]]:
    """(code, "code — name") for every currency a wallet can hold and the user does not hold yet."""
    return [(code, f"{code} — {get_currency_name(code, locale='en_US')}")
            for code in money.currency_choices() if code not in owned]


@bp.get("/profile")
@login_required
def profile():
    user = accounts.get_user(new_uow(), current_user.id)
    mine = wallets.list_wallets(new_uow(), user_id=current_user.id)
    _, errors = restore("open-wallet", {})
    _, password_errors = restore("password", {})  # the change-password form (web/security.py)
    _, pin_errors = restore("pin", {})  # the transaction PIN form (web/security.py)
    contact_values, contact_errors = restore("contacts", {})  # name and phone code (web/verification.py)
    _, photo_errors = restore("photo", {})  # the profile photo form (web/profile_photo.py)
    photo = profile_photos.current(new_uow(), user_id=current_user.id)
    choices = currency_choices({w.currency for w in mine})
    return render_template("profile/page.html", user=user, wallets=mine, choices=choices, errors=errors,
                           password_errors=password_errors, pin_errors=pin_errors,
                           pin=pins.status(new_uow(), user_id=current_user.id), contact_values=contact_values,
                           contact_errors=contact_errors, photo=photo, photo_errors=photo_errors)


@bp.post("/profile/wallets")
@login_required
@limiter.limit("30 per minute")
def profile_open_wallet():
    try:
        wallet = wallets.open_wallet(new_uow(), user_id=current_user.id, currency=text("currency", 3))
    except DomainError as error:
        return redirect_back("open-wallet", url_for("web.profile"), {}, errors_for(error, {}, "currency"))
    flash(f"Your {wallet.currency} wallet is open.", "success")
    return redirect(url_for("web.profile"), 303)
