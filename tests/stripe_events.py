"""Stripe webhook events as a test makes them: the JSON Stripe would send, signed the way Stripe signs
(https://docs.stripe.com/webhooks#verify-manually): HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's
secret, sent as `Stripe-Signature: t=<timestamp>,v1=<hex>`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

WEBHOOK = "/api/v1/webhooks/stripe"


def signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event(kind: str, obj: dict, event_id: str | None = None) -> dict:
    return {"id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "type": kind,
            "created": int(time.time()), "api_version": "2024-06-20", "data": {"object": obj}}


def intent(deposit, *, status: str = "succeeded", amount: int | None = None, currency: str | None = None,
           metadata: dict | None = None, error: str | None = None) -> dict:
    """The PaymentIntent object of `deposit` (a CardDeposit row), as Stripe would describe it."""
    meta = {"transaction_id": deposit.transaction_id, "wallet_id": deposit.wallet_id, "user_id": deposit.user_id}
    return {"id": deposit.payment_intent_id, "object": "payment_intent",
            "amount": deposit.amount if amount is None else amount,
            "currency": (currency or deposit.currency).lower(), "status": status,
            "metadata": meta if metadata is None else metadata,
            "last_payment_error": {"message": error} if error else None}


def charge(deposit, *, amount_refunded: int, refunds: list[dict] | None = None) -> dict:
    body = {"id": f"ch_{deposit.payment_intent_id[3:]}", "object": "charge", "amount": deposit.amount,
            "amount_refunded": amount_refunded, "currency": deposit.currency.lower(),
            "payment_intent": deposit.payment_intent_id, "refunded": amount_refunded >= deposit.amount}
    if refunds is not None:
        body["refunds"] = {"object": "list", "data": refunds}
    return body


def refund(deposit, amount: int, *, refund_id: str | None = None, status: str = "succeeded") -> dict:
    return {"id": refund_id or f"re_{uuid.uuid4().hex[:14]}", "object": "refund", "amount": amount,
            "currency": deposit.currency.lower(), "payment_intent": deposit.payment_intent_id,
            "charge": f"ch_{deposit.payment_intent_id[3:]}", "status": status}


def dispute(deposit, *, status: str = "needs_response", amount: int | None = None, dispute_id: str = "dp_1") -> dict:
    return {"id": f"{dispute_id}_{deposit.payment_intent_id}", "object": "dispute",
            "amount": deposit.amount if amount is None else amount, "currency": deposit.currency.lower(),
            "payment_intent": deposit.payment_intent_id, "charge": f"ch_{deposit.payment_intent_id[3:]}",
            "status": status}


def deliver(client, body: dict, secret: str, *, timestamp: int | None = None, header: str | None = None):
    """POST one event the way Stripe does; `header` overrides the signature."""
    payload = json.dumps(body).encode()
    sig = signature(payload, secret, timestamp) if header is None else header
    headers = {"Stripe-Signature": sig} if sig else {}
    return client.post(WEBHOOK, data=payload, headers=headers, content_type="application/json")
