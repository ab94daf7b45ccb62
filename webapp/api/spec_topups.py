"""OpenAPI paths for mobile airtime top-ups (webapp/api/topups.py), kept apart from spec.py, which adds them
in build_spec."""

from __future__ import annotations

from webapp.api.spec import (
    AMOUNT,
    CURRENCY,
    KEY_HEADER,
    MINOR,
    PIN,
    PIN_CODES,
    PIN_DETAILS,
    PIN_REFUSED,
    RATE_LIMITED,
    TIMESTAMP,
    TOO_LARGE,
    UNAUTHORIZED,
    UUID,
    array,
    body,
    failure,
    invalid,
    not_found,
    obj,
    operation,
    path_id,
    success,
)
from webapp.providers.airtime import BY_ID, COUNTRIES
from webapp.services.idempotency import KEY_PATTERN, MAX_KEY_LENGTH

E164 = {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$", "description": "E.164, e.g. +254712345678."}
OPERATOR_ID = {"enum": sorted(BY_ID), "description": "An operator id from GET /topup/operators."}
OPERATOR = obj({"id": OPERATOR_ID, "name": {"type": "string"}, "country": {"enum": list(COUNTRIES)},
                "currency": CURRENCY, "min_amount": {**MINOR, "minimum": 1}, "max_amount": {**MINOR, "minimum": 1}},
               closed=True, description="Top-ups through this operator are paid in `currency`, from `min_amount` "
               "to `max_amount` (minor units).")
TOPUP = obj({"id": {**UUID, "description": "Also the id of the `topup` transaction in your history."},
             "wallet_id": UUID, "mobile_number": E164,
             "operator": obj({"id": OPERATOR_ID, "name": {"type": "string"}}, closed=True),
             "amount": {**MINOR, "minimum": 1}, "currency": CURRENCY,
             "status": {"enum": ["pending", "processing", "completed", "failed"],
                        "description": "pending → processing → completed | failed."},
             "provider_ref": {"type": ["string", "null"],
                              "description": "The airtime provider's reference, once it has the top-up."},
             "failure_reason": {"type": ["string", "null"], "description": "Why it failed, for people."},
             "retries": {"type": "integer", "minimum": 0,
                         "description": "Attempts that the provider did not answer, or answered `pending`; "
                         "each is asked again after a backoff."},
             "created_at": TIMESTAMP, "updated_at": TIMESTAMP}, closed=True)
NEW_TOPUP = obj(
    {"wallet_id": UUID,
     "mobile_number": {"type": "string", "description": "A mobile number, best with its country code; "
                       "without one it is read as a number of your own phone's country."},
     "amount": {**AMOUNT, "description": "Minor units of the wallet's currency, within the operator's limits."}},
    {"operator": {**OPERATOR_ID, "description": "Optional: detected from the number where its range is known; "
                  "required otherwise (every US number). When sent, it wins over the detection (ported numbers)."},
     "idempotency_key": {"type": "string", "pattern": KEY_PATTERN,
                         "description": "Required here or as the Idempotency-Key header: 1–"
                         f"{MAX_KEY_LENGTH} ASCII letters, digits, _ or -, compared exactly."},
     "pin": PIN})


def topup_paths() -> dict:
    return {
        "/topup/operators": {"get": operation(
            "listTopupOperators", "The mobile operators you can top up, optionally of one country.",
            {"200": success("The operators.", obj({"operators": array(OPERATOR)}, closed=True)),
             **UNAUTHORIZED, **invalid("`country` is not one we sell airtime in.")},
            tag="topups", parameters=[{"name": "country", "in": "query", "required": False,
                                       "schema": {"enum": list(COUNTRIES)}}])},
        "/topup/mobile": {"post": operation(
            "createTopup", "Buy airtime for a mobile number. The amount is held at once and the top-up is "
            "sent in the background; poll GET /topup/mobile/{topup_id} until `completed` or `failed`. "
            "Replaying a key returns the first top-up unchanged.",
            {"201": success("Held and queued (or replayed): the top-up as it stood then.",
                            obj({"topup": TOPUP}, closed=True)),
             **UNAUTHORIZED,
             "403": failure("ACCOUNT_FROZEN when your account is frozen, or your wallet is below zero after a "
                            "card refund; " + PIN_REFUSED, "ACCOUNT_FROZEN", *PIN_CODES, details=PIN_DETAILS),
             **not_found("The wallet"),
             "409": failure("This idempotency key was used with a different request.", "IDEMPOTENCY_CONFLICT"),
             **TOO_LARGE,
             "422": failure("VALIDATION_ERROR with `details.fields` naming every bad field at once: "
                            "`mobile_number` (not a valid mobile number, or a country we don't serve), "
                            "`operator` (unknown, of another country, or needed because it can't be detected), "
                            "`amount` (not a positive integer, or outside the operator's limits), `wallet_id` "
                            "(the operator is paid in another currency); INSUFFICIENT_FUNDS; LIMIT_EXCEEDED "
                            "(your daily sending limit, shared with transfers).",
                            "VALIDATION_ERROR", "INSUFFICIENT_FUNDS", "LIMIT_EXCEEDED"),
             **RATE_LIMITED},
            tag="topups", request=body(NEW_TOPUP), parameters=[KEY_HEADER])},
        "/topup/mobile/{topup_id}": {"get": operation(
            "getTopup", "One of your top-ups, to follow its status.",
            {"200": success("The top-up.", obj({"topup": TOPUP}, closed=True)),
             **UNAUTHORIZED, **not_found("The top-up")},
            tag="topups", parameters=[path_id("topup_id", "top-up")])},
    }
