"""Flask extensions and the per-app database handle, created once and bound in create_app."""

from __future__ import annotations

import hashlib
import json

from flask import Flask, Request, current_app, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy.orm import sessionmaker

from webapp.db import UnitOfWork
from webapp.engine import make_engine

csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"


def client_address() -> str:
    """The client's address. Behind proxies, ProxyFix (PROXY_FIX_HOPS, see create_app) has already put the
    address the nearest trusted proxy saw here; without it every client would be the proxy."""
    return request.remote_addr or "unknown"


def rate_limit_key() -> str:
    """Per user when we know who it is, per client address otherwise. Route limits run inside the view
    wrapper, so API views put `@limiter.limit` under `@login_required`, which has set g.user_id by then."""
    if has_request_context():
        user_id = g.get("user_id")
        if not user_id and not request.path.startswith("/api/") and current_user and current_user.is_authenticated:
            user_id = current_user.id  # not get_id(): that is the web session's secret
        if user_id:
            return f"user:{user_id}"
    return f"ip:{client_address()}"


def address_key() -> str:
    return f"ip:{client_address()}"


def account_and_address_key() -> str:
    """For sign-in, sign-up, refresh and reset links: the account asked about and the client address
    together. Someone hammering one account from one address is stopped without stopping its owner (or
    anyone else) at another address; a looser limit per address (`address_key`) stops one address trying
    many accounts. The account is hashed, so the limiter's storage holds no emails or tokens."""
    subject = _account_in_request().strip().lower()
    return f"account:{hashlib.sha256(subject.encode()).hexdigest()[:32]}|ip:{client_address()}"


def _account_in_request() -> str:
    """The email (or, for refresh, the refresh token) in a form or a small JSON body. The body is read with
    cache=True, so the view's own parsing reads the same bytes; a large or unreadable one names no account."""
    if not request.is_json:
        return request.form.get("email") or ""
    if not 0 < (request.content_length or 0) <= 64 * 1024:
        return ""
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        return ""
    subject = (body.get("email") or body.get("refresh_token")) if isinstance(body, dict) else None
    return subject if isinstance(subject, str) else ""


class AppLimiter(Limiter):
    """Flask-Limiter, switched on and off by each app's own RATELIMIT_ENABLED.

    Flask-Limiter keeps its switch on this one module-level object, so the last app set up in a process
    would decide for all of them; here only an app with limits on is set up. And with limits off, every
    `@limiter.limit` view still ran Flask-Limiter's exemption checks (~15 µs a call) only to find nothing
    to apply. Route checks and the before_request check both come through _check_request_limit."""

    def init_app(self, app: Flask) -> None:
        if app.config.get("RATELIMIT_ENABLED", True):
            super().init_app(app)

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if current_app.config.get("RATELIMIT_ENABLED", True):
            super()._check_request_limit(callable_name, in_middleware)


limiter = AppLimiter(key_func=rate_limit_key, headers_enabled=True)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, for the HTML side only.

    The JSON API authenticates with bearer tokens and never reads or writes the cookie session, so its
    requests get Flask's null session: no cookie parsing, no Vary: Cookie, no save at the end. Flask also
    builds a new itsdangerous serializer on every request; it depends only on the secret keys, so it is
    built once per set of keys here (a changed SECRET_KEY or SECRET_KEY_FALLBACKS builds a new one)."""

    def __init__(self) -> None:
        self._serializer: tuple = (None, None)  # (keys, serializer) in one tuple: threads see a whole pair

    def open_session(self, app: Flask, incoming: Request):
        if incoming.path.startswith("/api/"):
            return None  # Flask then uses make_null_session(), which refuses writes
        return super().open_session(app, incoming)

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached_keys, serializer = self._serializer
        if keys != cached_keys:
            serializer = super().get_signing_serializer(app)
            self._serializer = (keys, serializer)
        return serializer


class Database:
    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


def init_database(app) -> Database:
    database = Database(app.config["DATABASE_URL"])
    app.extensions["ewallet.db"] = database
    return database


def new_uow() -> UnitOfWork:
    """A fresh unit of work for this app; views, API handlers, jobs and the CLI all start here."""
    return UnitOfWork(current_app.extensions["ewallet.db"].session_factory, current_app.config)
