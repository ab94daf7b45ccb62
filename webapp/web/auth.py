"""Sign up, sign in and sign out. The accounts service does the hashing, lockout and auditing; these views
only carry the form to it and the messages back."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.errors import DomainError, ValidationError
from webapp.extensions import account_and_address_key, address_key, client_address, limiter, new_uow
from webapp.services import accounts
from webapp.web import bp
from webapp.web.forms import FORM, errors_for, redirect_back, restore, safe_next, text
from webapp.web.session import sign_in, sign_out

AUTH_LIMIT = "10 per minute"  # per account and client address together
ADDRESS_LIMIT = "60 per minute;600 per hour"  # per client address, whatever the account


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, key_func=account_and_address_key, methods=["POST"])
@limiter.limit(ADDRESS_LIMIT, key_func=address_key, methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    if request.method == "GET":
        values, errors = restore("signup", {"display_name": "", "email": "", "phone": ""})
        return render_template("auth/signup.html", values=values, errors=errors)
    values = {"display_name": text("display_name", 200), "email": text("email", 254), "phone": text("phone", 32)}
    try:
        user = accounts.register(new_uow(), email=values["email"], phone=values["phone"],
                                 password=request.form.get("password", ""), display_name=values["display_name"])
    except ValidationError as error:
        return redirect_back("signup", url_for("web.signup"), values, errors_for(error))
    sign_in(user)
    flash(f"Welcome! Your wallet is ready. We sent a link to {user.email}: open it to confirm your email, so "
          "people can send you money by typing it.", "success")
    return redirect(url_for("web.dashboard"), 303)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, key_func=account_and_address_key, methods=["POST"])
@limiter.limit(ADDRESS_LIMIT, key_func=address_key, methods=["POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("web.dashboard"))
    if request.method == "GET":
        values, errors = restore("login", {"email": ""})
        return render_template("auth/login.html", values=values, errors=errors, next_url=next_url)
    values = {"email": text("email", 254)}
    try:
        user = accounts.authenticate(new_uow(), email=values["email"], password=request.form.get("password", ""),
                                     client_address=client_address())
    except DomainError as error:  # unknown, wrong and blocked say the same thing on purpose
        return redirect_back("login", url_for("web.login", next=next_url), values, {FORM: error.message})
    sign_in(user)
    return redirect(next_url or url_for("web.dashboard"), 303)


@bp.post("/logout")
def logout():
    """A POST with a CSRF token: a GET link could sign people out from any other site."""
    sign_out()
    flash("You have signed out.", "info")
    return redirect(url_for("web.login"), 303)
