"""OpenAPI paths for card deposits and the Stripe webhook (webapp/api/deposits.py, webapp/webhooks/stripe.py),
kept apart from spec.py, which adds them in build_spec."""

from __future__ import annotations

from webapp.api.spec import (
    AMOUNT,
    CURRENCY,
    JSON,
    KEY_HEADER,
    RATE_LIMITED,
    TOO_LARGE,
    UNAUTHORIZED,
    body,
    failure,
    invalid,
    not_found,
    obj,
    operation,
    path_id,
    ref,
    success,
)
from webapp.services.idempotency import KEY_PATTERN, MAX_KEY_LENGTH

RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}
UNAVAILABLE = {"503": failure(
    "PROVIDER_UNAVAILABLE: Stripe could not be reached or failed on its side. Nothing was charged; the "
    "deposit's transaction is `failed`. `details.correlation_id` is the X-Request-ID. Retry after "
    "Retry-After seconds with a new idempotency key (the same key answers this again).",
    "PROVIDER_UNAVAILABLE", headers=RETRY_AFTER, details=obj({"correlation_id": {"type": "string"}}))}
DEPOSIT = obj({"amount": AMOUNT, "currency": CURRENCY},
              {"idempotency_key": {"type": "string", "pattern": KEY_PATTERN,
                                   "description": "Required here or as the Idempotency-Key header: 1–"
                                   f"{MAX_KEY_LENGTH} ASCII letters, digits, _ or -, compared exactly."}})
FINDING = obj({"problem": {"enum": ["missing_credit", "credit_without_payment", "amount_mismatch"]},
               "payment_intent_id": {"type": ["string", "null"]}, "transaction_id": {"type": ["string", "null"]},
               "currency": CURRENCY, "stripe_amount": {"type": ["integer", "null"]},
               "ledger_amount": {"type": ["integer", "null"]}}, closed=True)
CARD_REPORT = obj({"ok": {"type": "boolean"}, "since": {"type": "string"}, "until": {"type": "string"},
                   "payment_intents_checked": {"type": "integer"}, "credits_checked": {"type": "integer"},
                   "findings": {"type": "array", "items": FINDING}}, closed=True)


def deposit_paths() -> dict:
    return {
        "/wallets/{wallet_id}/deposit": {"post": operation(
            "createDeposit", "Add money by card: a pending `deposit` transaction and the PaymentIntent's "
            "client secret, for Stripe.js to pay it with. The wallet is credited only when Stripe's webhook "
            "says it was paid; the transaction then reads `completed` (or `failed`, with "
            "`metadata.reason`). Replaying a key returns the same answer, without a second PaymentIntent.",
            {"201": success("Started (or replayed).", obj({"client_secret": {"type": "string"},
                                                           "transaction": ref("Transaction")}, closed=True)),
             **UNAUTHORIZED, **not_found("The wallet"),
             "403": failure("KYC_REQUIRED: above the most an unverified person may add at a time, and within "
                            "what a verified one may.", "KYC_REQUIRED"),
             "409": failure("This idempotency key was used with a different request.", "IDEMPOTENCY_CONFLICT"),
             **TOO_LARGE,
             "422": failure("VALIDATION_ERROR (`details.fields`); CURRENCY_MISMATCH (the wallet holds another "
                            "currency); LIMIT_EXCEEDED (below the minimum, above the maximum per deposit of "
                            "every tier, or over the daily total for your KYC tier, `details.limit`).",
                            "VALIDATION_ERROR", "CURRENCY_MISMATCH", "LIMIT_EXCEEDED"),
             **RATE_LIMITED, **UNAVAILABLE},
            tag="deposits", request=body(DEPOSIT), parameters=[path_id("wallet_id", "wallet"), KEY_HEADER])},
        "/webhooks/stripe": {"post": operation(
            "stripeWebhook", "Stripe's events, signed (Stripe-Signature, 300 s tolerance). Each event id is "
            "applied once; unknown events are acknowledged and ignored.",
            {"200": success("Received: `outcome` is applied, duplicate or ignored.",
                            obj({"received": {"type": "string"},
                                 "outcome": {"enum": ["applied", "duplicate", "ignored"]}}, closed=True)),
             "400": failure("The signature is missing, wrong, older than 300 s, or the body changed after "
                            "signing. Nothing is written.", "VALIDATION_ERROR"),
             "413": failure("The body is over 256 KiB.", "VALIDATION_ERROR"),
             **invalid("correctly signed, but not a Stripe event object.")},
            public=True, tag="webhooks",
            request={"required": True, "description": "A Stripe Event, exactly as Stripe sent it.",
                     "content": {JSON: {"schema": obj({"id": {"type": "string"}, "type": {"type": "string"},
                                                       "data": {"type": "object"}})}}},
            parameters=[{"name": "Stripe-Signature", "in": "header", "required": True,
                         "schema": {"type": "string"}}])},
    }


def reconciliation_parameters() -> list[dict]:
    return [{"name": "stripe", "in": "query", "schema": {"enum": ["1", "true"]},
             "description": "Add `stripe`: card deposits against Stripe's PaymentIntents."},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"},
             "description": "With `stripe`: PaymentIntents created from this UTC date or time (default 7 days ago)."}]
