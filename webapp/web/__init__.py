"""Server-rendered pages (Jinja + HTMX), phone-first."""

from flask import Blueprint

from webapp.extensions import login_manager

bp = Blueprint("web", __name__)


@login_manager.user_loader
def _load_user(user_id: str):
    return None  # placeholder until the web sign-in lands
