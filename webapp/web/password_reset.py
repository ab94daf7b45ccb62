"""Forgot password: ask for a link by email, then set a new password through it. The passwords service
does the tokens, the mail, the sign-out everywhere and the audit; these views carry the form to it."""

from __future__ import annotations

import hashlib

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import logout_user

from webapp.errors import ValidationError
from webapp.extensions import account_and_address_key, address_key, limiter, new_uow
from webapp.services import passwords
from webapp.web import bp
from webapp.web.forms import errors_for, redirect_back, restore, text

# Asking for links: per client address (someone probing many addresses); per address asked about and
# client address together, so one stranger asking for someone's links never uses up the owner's; and per
# address asked about, whoever asks, loosely (a cap on how many mails one inbox can be sent in a day).
# None of them says whether the address has an account.
PER_CLIENT_LIMIT = "5 per minute;20 per hour"
PER_ADDRESS_AND_CLIENT_LIMIT = "5 per hour"
PER_ADDRESS_LIMIT = "20 per day"
RESET_LIMIT = "10 per minute"


def _address_key() -> str:
    """The address as the service will look it up, hashed: the limiter's storage holds no emails."""
    email = text("email", 254).lower()
    return "reset-for:" + hashlib.sha256(email.encode()).hexdigest()[:32]


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(PER_CLIENT_LIMIT, key_func=address_key, methods=["POST"])
@limiter.limit(PER_ADDRESS_AND_CLIENT_LIMIT, key_func=account_and_address_key, methods=["POST"])
@limiter.limit(PER_ADDRESS_LIMIT, key_func=_address_key, methods=["POST"])
def forgot_password():
    """A known and an unknown address get the same redirect to the same page: nothing here tells anyone
    who has an account."""
    if request.method == "GET":
        values, errors = restore("forgot", {"email": ""})
        return render_template("auth/forgot.html", values=values, errors=errors,
                               sent=request.args.get("sent") == "1", minutes=_link_minutes())
    values = {"email": text("email", 254)}
    try:
        passwords.request_reset(new_uow(), email=values["email"])
    except ValidationError as error:  # only a malformed address: that says nothing about accounts
        return redirect_back("forgot", url_for("web.forgot_password"), values, errors_for(error))
    return redirect(url_for("web.forgot_password", sent=1), 303)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(RESET_LIMIT, methods=["POST"])
def reset_password(token: str):
    """The mailed link. After a reset the person signs in again with the new password, here too: it proves
    they know it, and lets a password manager save it."""
    if request.method == "GET":
        return _reset_page(token)
    try:
        passwords.reset_password(new_uow(), token=token, password=request.form.get("password", ""),
                                 confirm=request.form.get("confirm", ""))
    except passwords.ResetLinkInvalid:
        return redirect(url_for("web.reset_password", token=token), 303)  # the page says the link is dead
    except ValidationError as error:
        return redirect_back("reset", url_for("web.reset_password", token=token), {}, errors_for(error))
    logout_user()
    flash("Your password has been changed and you were signed out everywhere. Sign in with your new password.",
          "success")
    return redirect(url_for("web.login"), 303)


def _reset_page(token: str):
    try:
        passwords.check_link(new_uow(), token=token)
    except passwords.ResetLinkInvalid as error:
        response = make_response(render_template("auth/reset.html", invalid=error.message, errors={}), 410)
    else:
        _, errors = restore("reset", {})
        response = make_response(render_template("auth/reset.html", token=token, errors=errors, invalid=None))
    response.headers["Cache-Control"] = "no-store"  # the page's address is a password until it is used
    return response


def _link_minutes() -> int:
    return current_app.config.get("PASSWORD_RESET_TTL", 3600) // 60
