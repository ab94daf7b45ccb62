"""Security on the profile: change the password (the current one required), set or change the transaction
PIN (the password required), and sign out everywhere. Changing the password and signing out everywhere end
every web session, refresh token and access token of the person (services/sessions.py)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp.errors import ValidationError
from webapp.extensions import limiter, new_uow
from webapp.services import passwords, pins, sessions
from webapp.web import bp
from webapp.web.forms import errors_for, redirect_back
from webapp.web.session import sign_in, sign_out

PASSWORD_LIMIT = "5 per minute;20 per hour"  # per user: the current password must not be guessable here
SECURITY = "security"  # the profile section's anchor
PIN = "pin"  # the PIN form's anchor, and its key for redirect_back
PIN_FIELDS = {"password": "pin_password", "pin": "new_pin", "confirm": "confirm_pin"}  # unique on the page


@bp.post("/profile/password")
@login_required
@limiter.limit(PASSWORD_LIMIT)
def change_password():
    """A changed password signs this browser in afresh (the person just proved it) and every other
    device out."""
    try:
        user = passwords.change_password(new_uow(), user_id=current_user.id,
                                         current=request.form.get("current_password", ""),
                                         new=request.form.get("new_password", ""),
                                         confirm=request.form.get("confirm", ""))
    except ValidationError as error:
        return redirect_back("password", url_for("web.profile", _anchor=SECURITY), {}, errors_for(error))
    sign_in(user)
    flash("Your password is changed. Every other device was signed out.", "success")
    return redirect(url_for("web.profile", _anchor=SECURITY), 303)


@bp.post("/profile/pin")
@login_required
@limiter.shared_limit(pins.SET_LIMIT, scope="pin-set")  # with PUT /api/v1/pin: the password is guessed here
def set_pin():
    try:
        pins.set_pin(new_uow(), user_id=current_user.id, password=request.form.get("pin_password", ""),
                              pin=request.form.get("new_pin", "").strip(),
                              confirm=request.form.get("confirm_pin", "").strip())
    except ValidationError as error:
        return redirect_back(PIN, url_for("web.profile", _anchor=PIN), {}, errors_for(error, PIN_FIELDS))
    flash("Your transaction PIN is saved. Sending, paying, top-ups and withdrawals ask for it.", "success")
    return redirect(url_for("web.profile", _anchor=PIN), 303)


@bp.post("/profile/sign-out-everywhere")
@login_required
@limiter.limit("10 per minute")
def sign_out_everywhere():
    sessions.sign_out_everywhere(new_uow(), user_id=current_user.id)
    sign_out()
    flash("You were signed out on every device, this one too.", "info")
    return redirect(url_for("web.login"), 303)
