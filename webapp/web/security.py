"""Security on the profile: change the password (the current one required), and sign out everywhere.
Both end every web session, refresh token and access token of the person (services/sessions.py)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp.errors import ValidationError
from webapp.extensions import limiter, new_uow
from webapp.services import passwords, sessions
from webapp.web import bp
from webapp.web.forms import errors_for, redirect_back
from webapp.web.session import sign_in, sign_out

PASSWORD_LIMIT = "5 per minute;20 per hour"  # per user: the current password must not be guessable here
SECURITY = "security"  # the profile section's anchor


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


@bp.post("/profile/sign-out-everywhere")
@login_required
@limiter.limit("10 per minute")
def sign_out_everywhere():
    sessions.sign_out_everywhere(new_uow(), user_id=current_user.id)
    sign_out()
    flash("You were signed out on every device, this one too.", "info")
    return redirect(url_for("web.login"), 303)
