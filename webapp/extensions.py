"""Flask extensions and the per-app database handle, created once and bound in create_app."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy.orm import sessionmaker

from webapp.db import UnitOfWork, make_engine

csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"


def rate_limit_key() -> str:
    """Per user when we know who it is, per client address otherwise. Route limits run inside the view
    wrapper, so API views put `@limiter.limit` under `@login_required`, which has set g.user_id by then."""
    if has_request_context():
        user_id = g.get("user_id")
        if not user_id and not request.path.startswith("/api/"):
            user_id = current_user.get_id() if current_user else None
        if user_id:
            return f"user:{user_id}"
    return f"ip:{get_remote_address()}"


limiter = Limiter(key_func=rate_limit_key, headers_enabled=True)


@limiter.request_filter
def _rate_limits_off_for_this_app() -> bool:
    """Flask-Limiter keeps its on/off switch on the one module-level object; honour each app's own setting."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


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
