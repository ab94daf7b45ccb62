"""Card payments, as the services see them: a PaymentIntent made and read, webhook events verified. The
real adapter is webapp/providers/stripe.py (the official SDK); nothing else in the app imports `stripe`.

Services depend only on these plain types, so a test or another provider can stand in behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class PaymentProviderError(Exception):
    """The provider refused the call (a 4xx that is not ours to retry: a bad key, a bad parameter)."""


class ProviderDown(PaymentProviderError):
    """The provider could not be reached, timed out, or failed on its side (5xx, 429): retry later."""


class BadSignature(Exception):
    """A webhook whose signature is missing, wrong, stale, or whose body changed after signing."""


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    amount: int  # minor units
    currency: str  # upper case, as everywhere in the wallet (Stripe sends lower case)
    status: str  # Stripe's: requires_payment_method, processing, succeeded, canceled, …
    client_secret: str | None = None
    metadata: dict = field(default_factory=dict)
    created: datetime | None = None  # naive UTC
    failure: str | None = None  # last_payment_error.message: why the last attempt to pay failed, in Stripe's words


@dataclass(frozen=True)
class WebhookEvent:
    id: str  # "evt_…": the idempotency key of the event
    type: str  # "payment_intent.succeeded", …
    object: dict  # event.data.object as plain JSON: a PaymentIntent, Charge, Refund or Dispute
    created: int = 0  # Unix seconds


class CardPayments(Protocol):
    def create_payment_intent(self, *, amount: int, currency: str, metadata: dict[str, str],
                              idempotency_key: str) -> PaymentIntent:
        """Raise ProviderDown when it may work later, PaymentProviderError when it never will."""

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent: ...

    def cancel_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        """Cancel one that is still unpaid; PaymentProviderError once it succeeded or is processing."""

    def list_payment_intents(self, *, since: datetime, until: datetime | None = None):
        """Every PaymentIntent created in [since, until), all pages (an iterator of PaymentIntent)."""

    def verify_event(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """The event, if `signature` is the provider's for `payload`; else BadSignature."""
