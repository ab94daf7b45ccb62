"""Server-rendered pages (Jinja + HTMX), phone-first. One module per area; every view parses the form,
calls one service function through a fresh unit of work, and maps domain errors back onto the page."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from webapp.web import (  # noqa: E402,F401  (the modules register their routes, filters and loader on import)
    auth,
    bank_accounts,
    dashboard,
    deposit,
    filters,
    history,
    kyc,
    password_reset,
    pay,
    profile,
    profile_photo,
    security,
    send,
    session,
    topup,
    uploads,
    verification,
    withdraw,
)
