"""Your contacts on the profile: confirm the email (a mailed link) and the mobile number (a texted code),
and the name people who pay you see. Until an address or number is confirmed, nobody can send money to
it by typing it (services/verification.py). Forms come back to the profile by Post/Redirect/Get, their
problems under the "contacts" form key (web/profile.py restores them)."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.errors import ValidationError
from webapp.extensions import limiter, new_uow
from webapp.models.users import mask_phone
from webapp.services import profiles, verification
from webapp.web import bp
from webapp.web.forms import errors_for, redirect_back, text

FORM = "contacts"
NAME_LIMIT = "20 per minute"


def _profile():
    return url_for("web.profile", _anchor=FORM)


def _back(error: ValidationError, field: str, values: dict | None = None):
    return redirect_back(FORM, _profile(), values or {}, errors_for(error, {"email": field, "phone": field}))


@bp.post("/profile/email/confirm")
@login_required
@limiter.shared_limit(verification.SEND_LIMIT, scope="verify-email-send")
def send_email_link():
    try:
        address = verification.request(new_uow(), user_id=current_user.id, channel=verification.EMAIL)
    except ValidationError as error:
        return _back(error, "email")
    flash(f"We sent a link to {address}. Open it here, signed in, to confirm your email.", "info")
    return redirect(_profile(), 303)


@bp.post("/profile/phone/code")
@login_required
@limiter.shared_limit(verification.SEND_LIMIT, scope="verify-phone-send")
def send_phone_code():
    try:
        number = verification.request(new_uow(), user_id=current_user.id, channel=verification.PHONE)
    except ValidationError as error:
        return _back(error, "code")
    flash(f"We texted a code to {mask_phone(number)}. Type it below.", "info")
    return redirect(_profile(), 303)


@bp.post("/profile/phone/confirm")
@login_required
@limiter.shared_limit(verification.CONFIRM_LIMIT, scope="verify-phone-confirm")
def confirm_phone():
    try:
        verification.confirm_phone(new_uow(), user_id=current_user.id, code=text("code", 20))
    except ValidationError as error:
        return _back(error, "code")
    flash("Your mobile number is confirmed. People can now send you money by typing it.", "success")
    return redirect(_profile(), 303)


@bp.post("/profile/name")
@login_required
@limiter.limit(NAME_LIMIT)
def set_name():
    name = text("display_name", 200)
    try:
        profiles.set_display_name(new_uow(), user_id=current_user.id, name=name)
    except ValidationError as error:
        return _back(error, "display_name", {"display_name": name})
    flash("Your name is saved." if name else "Your name is removed; people see \"E-Wallet user\".", "success")
    return redirect(_profile(), 303)


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def verify_email(token: str):
    """The mailed link. GET only shows a Confirm button; its POST confirms. Mail scanners and link previews
    fetch every GET in a message, so a GET that confirmed would confirm for whoever's scanner read it. The
    person must be signed in to the account the link was made for (see services/verification.py)."""
    if request.method == "GET":
        return _link_page(token)
    try:
        verification.confirm_email(new_uow(), user_id=current_user.id, token=token)
    except verification.LinkInvalid:
        return redirect(url_for("web.verify_email", token=token), 303)  # the page says why
    flash("Your email is confirmed. People can now send you money by typing it.", "success")
    return redirect(_profile(), 303)


def _link_page(token: str):
    try:
        address = verification.check_link(new_uow(), user_id=current_user.id, token=token)
    except verification.LinkInvalid as error:
        page, status = render_template("profile/verify_email.html", invalid=error.message), 410
    else:
        page, status = render_template("profile/verify_email.html", token=token, address=address, invalid=None), 200
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response
