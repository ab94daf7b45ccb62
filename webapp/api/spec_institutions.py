"""OpenAPI paths for the institution directory and institution payments (webapp/api/institutions.py), kept
apart from spec.py, which adds them in build_spec."""

from __future__ import annotations

from webapp.api.spec import (
    AMOUNT,
    CURRENCY,
    KEY_HEADER,
    PIN,
    PIN_CODES,
    PIN_DETAILS,
    PIN_REFUSED,
    RATE_LIMITED,
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
    ref,
    success,
)
from webapp.services.idempotency import KEY_PATTERN, MAX_KEY_LENGTH
from webapp.services.institutions import KINDS, MAX_VALUE

REFERENCE_FIELD = obj({"name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$",
                                "description": "The key to send it under in `reference`."},
                       "label": {"type": "string", "description": "What to call it on a form."},
                       "pattern": {"type": "string", "description": "A regular expression (Python syntax) the "
                                   "value must match in full."}},
                      {"example": {"type": "string", "description": "A value that matches, for a hint."}},
                      closed=True)
INSTITUTION = obj({"id": UUID, "name": {"type": "string"}, "kind": {"enum": list(KINDS)},
                   "country": {"type": "string", "pattern": "^[A-Z]{2}$"}, "currency": CURRENCY,
                   "reference_fields": {**array(REFERENCE_FIELD), "description": "Every one is required, in "
                                        "this order on a form."}}, closed=True)
PAYMENT = obj(
    {"wallet_id": UUID, "institution_id": UUID, "amount": AMOUNT, "currency": CURRENCY,
     "reference": {"type": "object", "additionalProperties": {"type": "string", "maxLength": MAX_VALUE},
                   "description": "One entry per field of the institution's `reference_fields`, and nothing "
                   "else. Each value is trimmed, then must match the field's pattern in full.",
                   "examples": [{"student_id": "S123456", "term": "2026-fall"}]}},
    {"idempotency_key": {"type": "string", "pattern": KEY_PATTERN,
                         "description": "Required here or as the Idempotency-Key header: 1–"
                         f"{MAX_KEY_LENGTH} ASCII letters, digits, _ or -, compared exactly."},
     "pin": PIN})


def institution_paths() -> dict:
    kind = {"name": "kind", "in": "query", "schema": {"enum": list(KINDS)}, "description": "Only this kind."}
    return {
        "/institutions": {"get": operation(
            "listInstitutions", "Institutions you can pay, by name, with the reference each one asks for.",
            {"200": success("The directory.", obj({"institutions": array(INSTITUTION)}, closed=True)),
             **UNAUTHORIZED, **invalid("an unknown `kind`.")},
            tag="institutions", parameters=[kind])},
        "/institution-payments": {"post": operation(
            "payInstitution", "Pay an institution from one of your wallets, with its structured reference. The "
            "answer is your side: `kind` `institution_payment`, `counterparty` the institution (`type` "
            "\"institution\", `institution_id`, `name`, `kind`), `metadata.reference` the reference as kept "
            "and `metadata.reference_labels` what each field is called. Replaying a key returns the first "
            "result unchanged.",
            {"201": success("Paid (or replayed).", obj({"transaction": ref("Transaction")}, closed=True)),
             **UNAUTHORIZED,
             "403": failure("KYC_REQUIRED above the unverified limit; ACCOUNT_FROZEN when you are frozen or "
                            "your wallet is below zero; " + PIN_REFUSED, "KYC_REQUIRED", "ACCOUNT_FROZEN",
                            *PIN_CODES, details=PIN_DETAILS),
             **not_found("The wallet or the institution"),
             "409": failure("This idempotency key was used with a different request.", "IDEMPOTENCY_CONFLICT"),
             **TOO_LARGE,
             "422": failure("VALIDATION_ERROR (`details.fields`: missing or mistyped fields, and each bad part "
                            "of the reference as `reference.<name>`: missing, not text, too long, not matching "
                            "its pattern, or not asked for); INSUFFICIENT_FUNDS; CURRENCY_MISMATCH (the wallet "
                            "or the institution uses another currency); LIMIT_EXCEEDED (per payment or per "
                            "day, shared with transfers, `details.limit`).",
                            "VALIDATION_ERROR", "INSUFFICIENT_FUNDS", "CURRENCY_MISMATCH", "LIMIT_EXCEEDED"),
             **RATE_LIMITED},
            tag="institutions", request=body(PAYMENT), parameters=[KEY_HEADER])},
    }
