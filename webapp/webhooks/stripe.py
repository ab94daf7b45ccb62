"""POST /api/v1/webhooks/stripe: verify the signature on the raw body, hand the event to the deposits
service (which passes payout events on to services/payout_events.py), answer 200. A bad signature is a
400 with nothing written; Stripe retries anything but a 2xx
(https://docs.stripe.com/webhooks#receive-events), and a duplicate is a 200 that changes nothing."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.api import bp
from webapp.api.envelope import fail, ok
from webapp.errors import ValidationError
from webapp.extensions import new_uow
from webapp.providers import stripe as stripe_provider
from webapp.providers.payments import BadSignature
from webapp.services import deposits

MAX_BYTES = 256 * 1024  # Stripe events are a few KiB; this leaves room for large metadata


@bp.post("/webhooks/stripe")
def stripe_webhook():
    request.max_content_length = MAX_BYTES + 1
    payload = request.get_data(cache=False)
    if len(payload) > MAX_BYTES:
        raise RequestEntityTooLarge()
    try:
        event = stripe_provider.from_config(current_app.config).verify_event(
            payload, request.headers.get("Stripe-Signature"))
    except BadSignature:
        return fail("VALIDATION_ERROR", "The Stripe-Signature header does not match this body.", 400)
    except (ValueError, KeyError, TypeError):  # signed by Stripe's secret, yet not an event object
        raise ValidationError("This is not a Stripe event.", details={"fields": {}}) from None
    outcome = deposits.handle_event(new_uow(), event)
    return ok({"received": event.id, "outcome": outcome})
