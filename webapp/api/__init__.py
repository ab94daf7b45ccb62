"""JSON API for the mobile app (DESIGN §9): every response is in the envelope, every failure has a code."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.api import admin, auth, deposits, openapi, transactions, transfers, verification, wallets  # noqa: E402,F401
from webapp.webhooks import stripe as stripe_webhooks  # noqa: E402,F401
