"""JSON API for the mobile app (DESIGN §9): every response is in the envelope, every failure has a code."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.api import (  # noqa: E402,F401  (the modules register their routes on import)
    admin,
    auth,
    bank_accounts,
    deposits,
    institutions,
    kyc,
    openapi,
    payouts,
    pins,
    topups,
    transactions,
    transfers,
    verification,
    wallets,
)
from webapp.webhooks import stripe as stripe_webhooks  # noqa: E402,F401
