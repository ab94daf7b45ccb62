"""Stripe through the official SDK's StripeClient: the only module that talks to Stripe.

STRIPE_API_BASE, when set, points the client's "api" base address at a local stand-in (localstripe in
development and tests, see webapp/devtools/localstripe.py); production leaves it unset. Every call is
made outside any database transaction by its caller (DESIGN §6).

Stripe docs: PaymentIntents https://docs.stripe.com/api/payment_intents, idempotent requests
https://docs.stripe.com/api/idempotent_requests, webhook signatures
https://docs.stripe.com/webhooks#verify-official-libraries, errors https://docs.stripe.com/error-handling.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import stripe

from webapp.providers.payments import (
    BadSignature,
    PaymentIntent,
    PaymentProviderError,
    ProviderDown,
    WebhookEvent,
)

TOLERANCE = 300  # seconds a webhook signature stays valid: Stripe's default, against replays
TIMEOUT = (5, 20)  # seconds to connect, to read: a person is waiting on the other end
NETWORK_RETRIES = 1  # the SDK retries connection failures once, with the same idempotency key


def from_config(config: dict) -> StripeGateway:
    return _gateway(config.get("STRIPE_SECRET_KEY") or "", config.get("STRIPE_API_BASE") or "",
                    config.get("STRIPE_WEBHOOK_SECRET") or "")


@functools.cache
def _gateway(api_key: str, api_base: str, webhook_secret: str) -> StripeGateway:
    """One client per settings: it keeps its HTTP connections (requests sessions, per thread) alive."""
    return StripeGateway(api_key, api_base, webhook_secret)


class StripeGateway:
    def __init__(self, api_key: str, api_base: str, webhook_secret: str):
        base_addresses = {"api": api_base.rstrip("/")} if api_base else {}
        self.client = stripe.StripeClient(api_key or "sk_unset", base_addresses=base_addresses,
                                          http_client=stripe.RequestsClient(timeout=TIMEOUT),
                                          max_network_retries=NETWORK_RETRIES)
        self.webhook_secret = webhook_secret

    def create_payment_intent(self, *, amount: int, currency: str, metadata: dict[str, str],
                              idempotency_key: str) -> PaymentIntent:
        # Only these parameters: they work unchanged on Stripe and on localstripe (DESIGN §8).
        params = {"amount": amount, "currency": currency.lower(), "metadata": metadata,
                  "payment_method_types": ["card"]}
        with _translated_errors():
            intent = self.client.v1.payment_intents.create(params=params,
                                                           options={"idempotency_key": idempotency_key})
        return _intent(intent)

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        with _translated_errors():
            return _intent(self.client.v1.payment_intents.retrieve(payment_intent_id))

    def cancel_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        # Refused (PaymentProviderError) once it succeeded or is processing: then it is not ours to cancel.
        with _translated_errors():
            return _intent(self.client.v1.payment_intents.cancel(payment_intent_id))

    def list_payment_intents(self, *, since: datetime, until: datetime | None = None):
        created = {"gte": _unix(since)}
        if until is not None:
            created["lt"] = _unix(until)
        with _translated_errors():
            page = self.client.v1.payment_intents.list(params={"created": created, "limit": 100})
            for intent in page.auto_paging_iter():  # follows `has_more` with starting_after
                yield _intent(intent)

    def verify_event(self, payload: bytes, signature: str | None) -> WebhookEvent:
        if not self.webhook_secret:
            raise BadSignature("STRIPE_WEBHOOK_SECRET is not set")
        # The SDK's own check, the one stripe.Webhook.construct_event runs first (HMAC-SHA256 of
        # "t.body" against every v1 signature, constant-time, timestamp within TOLERANCE). construct_event
        # would then build a StripeObject of the whole event, which we never use: 0.5 ms of CPU per
        # delivery, a sixth of a credited pair's app time (bench/README.md, "bench/deposits.py").
        try:
            stripe.WebhookSignature.verify_header(payload, signature or "", self.webhook_secret, TOLERANCE)
        except stripe.SignatureVerificationError as error:
            raise BadSignature(str(error)) from None
        data = json.loads(payload)
        return WebhookEvent(id=data["id"], type=data["type"], object=data["data"]["object"],
                            created=int(data.get("created") or 0))


class _translated_errors:
    """StripeError → ProviderDown (worth retrying later) or PaymentProviderError (it never will work)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _traceback):
        if error is None or not isinstance(error, stripe.StripeError):
            return False
        status = error.http_status or 0
        if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500 or status == 429:
            raise ProviderDown(f"Stripe unavailable: {type(error).__name__} {status or ''}".strip()) from error
        raise PaymentProviderError(f"Stripe refused the call: {type(error).__name__} {status}") from error


def _intent(resource) -> PaymentIntent:
    obj = resource.to_dict()  # StripeObject is no dict since SDK v12; this is its plain, recursive copy
    created = datetime.fromtimestamp(obj["created"], UTC).replace(tzinfo=None) if obj.get("created") else None
    return PaymentIntent(id=obj["id"], amount=int(obj["amount"]), currency=str(obj["currency"]).upper(),
                         status=obj["status"], client_secret=obj.get("client_secret"),
                         metadata={k: str(v) for k, v in (obj.get("metadata") or {}).items()}, created=created,
                         failure=(obj.get("last_payment_error") or {}).get("message"))


def _unix(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())
