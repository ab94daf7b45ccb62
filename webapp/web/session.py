"""Who is signed in: Flask-Login keeps only the user id and its session epoch in the session cookie; every
request reloads the user through the accounts service, so a deleted user is signed out on their next
click, and so is every session signed in before a password reset (which bumps the epoch)."""

from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_login import UserMixin
from htmx_flask import request

from webapp.extensions import login_manager, new_uow
from webapp.services import accounts


class WebUser(UserMixin):
    """The little the pages need about the signed-in person; never the password hash."""

    def __init__(self, user_id: str, email: str, role: str, epoch: int = 0):
        self.id, self.email, self.role, self.epoch = user_id, email, role, epoch

    @classmethod
    def of(cls, user) -> WebUser:
        return cls(user.id, user.email, user.role, user.session_epoch)

    def get_id(self) -> str:
        """What login_user puts in the signed session cookie: the user id and the epoch it was signed in
        at (Flask-Login's "alternative token"). The cookie itself cannot be revoked, so load_user compares
        the epoch with the user's current one on every request."""
        return f"{self.id}:{self.epoch}"

    @property
    def first_name(self) -> str:
        """A friendly handle for greetings: the part of the email before the @, capitalised."""
        return self.email.split("@", 1)[0].split(".")[0].capitalize()


@login_manager.user_loader
def load_user(session_id: str) -> WebUser | None:
    """The signed-in person, or None (signed out) if the account is gone or the session predates the
    account's last password reset. A cookie from before epochs existed holds a bare id: epoch 0."""
    user_id, _, epoch = session_id.partition(":")
    user = accounts.get_user(new_uow(), user_id)
    if user is None or str(user.session_epoch) != (epoch or "0"):
        return None
    g.user_id = user.id  # the JSON logs carry the user id for web requests too
    return WebUser.of(user)


@login_manager.unauthorized_handler
def sign_in_first():
    """Send people to the sign-in page and back to where they were going. An HTMX request would otherwise
    follow the redirect and paste a whole sign-in page into a field's error slot, so it is told to
    navigate instead (htmx reads HX-Redirect before deciding whether to swap)."""
    target = url_for("web.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if request.htmx:
        return "", 401, {"HX-Redirect": url_for("web.login")}
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(target)
