"""OpenAPI paths for withdrawals to a bank (webapp/api/payouts.py), kept apart from spec.py, which adds them
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
    body,
    failure,
    not_found,
    obj,
    operation,
    path_id,
    success,
)
from webapp.services.idempotency import KEY_PATTERN, MAX_KEY_LENGTH

PAYOUT = obj({"id": {**UUID, "description": "Also the id of the `payout` transaction in your history."},
              "wallet_id": UUID, "bank_account_id": UUID, "amount": {**MINOR, "minimum": 1},
              "currency": CURRENCY,
              "status": {"enum": ["pending", "processing", "paid", "failed"],
                         "description": "pending → processing → paid | failed. A payout the bank returns after "
                         "`paid` ends `failed`, its money back in the wallet."},
              "failure_reason": {"type": ["string", "null"], "description": "Why it failed, for people."},
              "retries": {"type": "integer", "minimum": 0,
                          "description": "Attempts that the bank did not answer; they are tried again."},
              "created_at": TIMESTAMP, "updated_at": TIMESTAMP}, closed=True)
NEW_PAYOUT = obj(
    {"wallet_id": UUID, "bank_account_id": UUID,
     "amount": {**AMOUNT, "description": "Minor units of the wallet's currency."}},
    {"currency": {**CURRENCY, "description": "Optional: when sent, it must be the wallet's currency."},
     "idempotency_key": {"type": "string", "pattern": KEY_PATTERN,
                         "description": "Required here or as the Idempotency-Key header: 1–"
                         f"{MAX_KEY_LENGTH} ASCII letters, digits, _ or -, compared exactly."},
     "pin": PIN})


def payout_paths() -> dict:
    return {
        "/payouts/bank": {"post": operation(
            "createPayout", "Withdraw to one of your bank accounts. The amount is held at once and paid out "
            "in the background; poll GET /payouts/{payout_id} until `paid` or `failed`. Replaying a key "
            "returns the first payout unchanged.",
            {"201": success("Held and queued (or replayed): the payout as it stood then.",
                            obj({"payout": PAYOUT}, closed=True)),
             **UNAUTHORIZED,
             "403": failure("KYC_REQUIRED until your identity is verified; ACCOUNT_FROZEN when your account is "
                            "frozen, or your wallet is below zero after a card refund; " + PIN_REFUSED,
                            "KYC_REQUIRED", "ACCOUNT_FROZEN", *PIN_CODES, details=PIN_DETAILS),
             **not_found("The wallet or the bank account"),
             "409": failure("This idempotency key was used with a different request.", "IDEMPOTENCY_CONFLICT"),
             **TOO_LARGE,
             "422": failure("VALIDATION_ERROR (`details.fields`: missing fields, an amount that is not a positive "
                            "integer, a bad key); INSUFFICIENT_FUNDS; CURRENCY_MISMATCH (`currency` is not the "
                            "wallet's, or the bank account takes another currency); LIMIT_EXCEEDED (above the "
                            "most per payout, or the day's payouts, of the verified tier, `details.limit`).",
                            "VALIDATION_ERROR", "INSUFFICIENT_FUNDS", "CURRENCY_MISMATCH", "LIMIT_EXCEEDED"),
             **RATE_LIMITED},
            tag="payouts", request=body(NEW_PAYOUT), parameters=[KEY_HEADER])},
        "/payouts/{payout_id}": {"get": operation(
            "getPayout", "One of your payouts, to follow its status.",
            {"200": success("The payout.", obj({"payout": PAYOUT}, closed=True)),
             **UNAUTHORIZED, **not_found("The payout")},
            tag="payouts", parameters=[path_id("payout_id", "payout")])},
    }
