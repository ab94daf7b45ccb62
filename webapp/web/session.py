"""Who is signed in. The session cookie holds only the random secret of a server-side web session
(services/sessions.py); every request looks it up, so a session ends on the server when its person signs
out, idles too long, outlives its maximum age or changes the password, and a deleted user is signed out
on their next click."""

from __future__ import annotations

from flask import flash, g, redirect, session, url_for
from flask_login import UserMixin, login_user, logout_user
from htmx_flask import request

from webapp.extensions import login_manager, new_uow
from webapp.services import sessions


class WebUser(UserMixin):
    """The little the pages need about the signed-in person; never the password hash."""

    def __init__(self, user_id: str, email: str, role: str, secret: str):
        self.id, self.email, self.role, self.secret = user_id, email, role, secret

    @classmethod
    def of(cls, user, secret: str) -> WebUser:
        return cls(user.id, user.email, user.role, secret)

    def get_id(self) -> str:
        """What login_user keeps in the signed session cookie: the web session's secret, not the user id
        (Flask-Login's "alternative token"), so the cookie names a session that the server can end."""
        return self.secret

    @property
    def first_name(self) -> str:
        """A friendly handle for greetings: the part of the email before the @, capitalised."""
        return self.email.split("@", 1)[0].split(".")[0].capitalize()


def sign_in(user) -> None:
    """Start a fresh web session for someone who just proved who they are. Whatever the cookie held before
    goes first: a session id or CSRF token planted before sign-in (session fixation) must not survive it."""
    session.clear()
    login_user(WebUser.of(user, sessions.start(new_uow(), user_id=user.id)))


def sign_out() -> None:
    """End this browser's session on the server, then forget the cookie's contents."""
    secret = session.get("_user_id")  # where login_user put WebUser.get_id()
    if secret:
        sessions.end(new_uow(), secret=secret)
    logout_user()
    session.clear()


@login_manager.user_loader
def load_user(secret: str) -> WebUser | None:
    """The signed-in person, or None (signed out) when the web session has ended or the account is gone."""
    user = sessions.resume(new_uow(), secret=secret)
    if user is None:
        return None
    g.user_id = user.id  # the JSON logs carry the user id for web requests too
    return WebUser.of(user, secret)


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
