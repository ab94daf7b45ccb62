"""OpenAPI 3.1 description of /api/v1, served bare at GET /api/v1/openapi.json.

Kept honest by tests/integration/test_api_spec.py: every route is documented with its methods, every
documented status is produced by a test, and real responses are checked against these schemas. When a
handler gains a failure mode, add its status here, or that test fails."""

from __future__ import annotations

from webapp.api.errors import ERROR_CODES, STATUS
from webapp.money import MAX_MINOR
from webapp.services.history import MAX_PAGE
from webapp.services.idempotency import KEY_PATTERN, MAX_KEY_LENGTH
from webapp.services.profiles import MAX_NAME
from webapp.services.transfers import MAX_NOTE

JSON = "application/json"
UUID = {"type": "string", "format": "uuid"}
TIMESTAMP = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with microseconds."}
CURRENCY = {"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217 code, e.g. USD.",
            "examples": ["USD"]}
MINOR = {"type": "integer", "description": "Minor units (cents); never a float or a string."}
AMOUNT = {**MINOR, "minimum": 1, "maximum": MAX_MINOR}
PIN = {"type": "string", "pattern": "^[0-9]{4}$", "examples": ["4829"],
       "description": "Your 4-digit transaction PIN: required once you have set one (PUT /pin). Replaying an "
       "idempotency key that already went through needs none."}
PIN_CODES = ("PIN_REQUIRED", "PIN_INVALID")
PIN_REFUSED = ("PIN_REQUIRED when you have set a transaction PIN and sent no `pin`; PIN_INVALID when it is wrong "
               "(`details.attempts_left`: wrong PINs in a row, five by default, lock outgoing money for 15 "
               "minutes), and while that lock runs, even for the right PIN (`details.locked_until`).")
PIN_DETAILS = {"type": "object", "properties": {
    "attempts_left": {"type": "integer", "minimum": 1, "description": "PIN_INVALID: wrong PINs left before the lock."},
    "locked_until": {**TIMESTAMP, "description": "PIN_INVALID: when outgoing money is unlocked again."}}}


KEY_HEADER = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "pattern": KEY_PATTERN},
              "description": "Same as `idempotency_key` in the body: send either, or both with the same value "
                             "(two different keys are a 422 VALIDATION_ERROR)."}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: dict, optional: dict | None = None, *, closed: bool = False, **extra) -> dict:
    """An object schema: `required` properties must be present; `closed` forbids anything else."""
    schema = {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}
    if closed:
        schema["additionalProperties"] = False
    return {**schema, **extra}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def success(description: str, data: dict) -> dict:
    envelope = obj({"status": {"const": "success"}, "data": data}, closed=True)
    return {"description": description, "content": {JSON: {"schema": envelope}}}


def failure(description: str, *codes: str, headers: dict | None = None, details: dict | None = None) -> dict:
    """An error envelope whose `code` is one of `codes`: exactly what this operation can answer."""
    narrowed = {"properties": {"error": {"properties": {"code": {"enum": list(codes)}}}}}
    if details:
        narrowed["properties"]["error"]["properties"]["details"] = details
    response = {"description": description, "content": {JSON: {"schema": {"allOf": [ref("Error"), narrowed]}}}}
    return {**response, "headers": headers} if headers else response


def body(schema: dict, description: str = "") -> dict:
    return {"required": True, "description": description, "content": {JSON: {"schema": schema}}}


def path_id(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": UUID, "description": f"The {what} id."}


UNAUTHORIZED = {"401": failure("No bearer token, or one that is invalid, expired, of the wrong type, signed "
                               "with another key or algorithm, for another issuer or audience, or issued "
                               "before the account's last password change, reset or sign-out everywhere.",
                               "UNAUTHORIZED")}
TOO_LARGE = {"413": failure("The body is over 64 KiB (API_MAX_JSON_BYTES).", "VALIDATION_ERROR")}
RATE_LIMITED = {"429": failure("Too many requests; retry after the number of seconds in Retry-After.",
                               "RATE_LIMITED", headers={"Retry-After": {"schema": {"type": "integer"}}})}
CORRELATION = obj({"correlation_id": {"type": "string"}})
RETRY_AFTER_SECONDS = {"Retry-After": {"schema": {"type": "integer"},
                                       "description": "Seconds to wait before retrying."}}
DATABASE_DOWN = ("SERVICE_UNAVAILABLE: our database could not be reached, or stayed busy, past a few seconds of "
                 "retries. Resend after Retry-After seconds, with the same idempotency key where the request "
                 "has one: nothing happens twice. `details.correlation_id` is the X-Request-ID.")
INTERNAL = {"default": failure("An unexpected failure (500). `details.correlation_id` equals the "
                               "X-Request-ID response header; there is never a stack trace.", "INTERNAL_ERROR",
                               details=obj({"correlation_id": {"type": "string"}}))}


def invalid(what: str) -> dict:
    fields = obj({"fields": {"type": "object", "additionalProperties": {"type": "string"}}})
    return {"422": failure(f"VALIDATION_ERROR with `details.fields` naming each bad field: {what}",
                           "VALIDATION_ERROR", details=fields)}


def not_found(what: str) -> dict:
    return {"404": failure(f"{what} does not exist or is not yours (the two look the same).", "NOT_FOUND")}


def unavailable(provider: dict | None = None) -> dict:
    """503 SERVICE_UNAVAILABLE, which every operation that uses the database can answer; an operation
    that also calls a provider keeps its PROVIDER_UNAVAILABLE under the same status."""
    if provider is None:
        return failure(DATABASE_DOWN, "SERVICE_UNAVAILABLE", headers=RETRY_AFTER_SECONDS, details=CORRELATION)
    codes = provider["content"][JSON]["schema"]["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
    return failure(f"{provider['description']} {DATABASE_DOWN}", *codes, "SERVICE_UNAVAILABLE",
                   headers=provider.get("headers", RETRY_AFTER_SECONDS), details=CORRELATION)


def operation(op_id: str, summary: str, responses: dict, *, public: bool = False, tag: str = "wallets",
              request: dict | None = None, parameters: list | None = None, database: bool = True) -> dict:
    if database:
        responses = {**responses, "503": unavailable(responses.get("503"))}
    op = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": {**responses, **INTERNAL}}
    if public:
        op["security"] = []
    if request:
        op["requestBody"] = request
    if parameters:
        op["parameters"] = parameters
    return op


def schemas() -> dict:
    error = obj({"code": {"type": "string", "enum": ERROR_CODES},
                 "message": {"type": "string", "description": "For people; do not parse."},
                 "details": {"type": "object", "description": "VALIDATION_ERROR: `fields` maps field to "
                             "message. INTERNAL_ERROR, PROVIDER_UNAVAILABLE, SERVICE_UNAVAILABLE: "
                             "`correlation_id`. LIMIT_EXCEEDED and KYC_REQUIRED for a limit: `limit`, `currency`, "
                             "`period` (minimum, transaction, day) and `tier` (unverified, verified). PIN_INVALID: "
                             "`attempts_left` or `locked_until`."}},
                closed=True)
    return {
        "Error": obj({"status": {"const": "error"}, "error": error}, closed=True),
        "User": obj({"id": UUID, "email": {"type": "string", "format": "email"},
                     "phone": {"type": "string", "description": "E.164, e.g. +14155550123."},
                     "display_name": {"type": ["string", "null"], "maxLength": MAX_NAME,
                                      "description": "What people you pay, or who pay you, see instead of "
                                      "your email; null when none is set."},
                     "email_verified": {"type": "boolean", "description": "Confirmed by the mailed link. "
                                        "Until then nobody can send you money by typing your email."},
                     "phone_verified": {"type": "boolean", "description": "Confirmed by the texted code. "
                                        "Until then nobody can send you money by typing your number."},
                     "kyc_status": {"enum": ["unverified", "pending", "verified", "rejected"]},
                     "created_at": TIMESTAMP}, closed=True),
        "TokenPair": obj({"access_token": {"type": "string", "description": "JWT (HS256), short-lived."},
                          "refresh_token": {"type": "string", "description": "Opaque; single use, rotating."}},
                         closed=True),
        "Wallet": obj({"id": UUID, "currency": CURRENCY, "balance": MINOR,
                       "reserved": {**MINOR, "description": "Held by pending payouts and top-ups."},
                       "available": {**MINOR, "description": "balance − reserved: what can be spent."}},
                      closed=True),
        "Transaction": obj({"id": UUID, "wallet_id": UUID,
                            "kind": {"type": "string", "examples": ["transfer", "adjustment"]},
                            "direction": {"enum": ["debit", "credit"]}, "amount": AMOUNT, "currency": CURRENCY,
                            "status": {"type": "string", "examples": ["completed", "pending", "failed"]},
                            "counterparty": {"type": "object", "description": "Who is on the other side. "
                                             "A person: `name` (their display name; else the email you typed "
                                             "to pay them; else \"E-Wallet user\"), `email` (in full only "
                                             "if you typed it, otherwise masked: \"j•••@example.com\"), "
                                             "`phone` (masked), `user_id`, `wallet_id`. An institution: `type` "
                                             "\"institution\", `institution_id`, `name`, `kind`."},
                            "metadata": {"type": "object", "description": "e.g. `note`; an institution "
                                         "payment's `reference` and `reference_labels`."},
                            "created_at": TIMESTAMP}, closed=True),
        "Drift": obj({"wallet_id": UUID, "currency": CURRENCY, "what": {"enum": ["balance", "reserved"]},
                      "cached": MINOR, "ledger": MINOR}, closed=True),
        "ReconciliationReport": obj({"ok": {"type": "boolean"}, "wallets_checked": {"type": "integer"},
                                     "drifts": array(ref("Drift")),
                                     "currency_totals": {"type": "object", "additionalProperties": MINOR},
                                     "unbalanced_currencies": {"type": "object", "additionalProperties": MINOR}},
                                    closed=True),
        "TransferRequest": transfer_request(),
    }


def transfer_request() -> dict:
    recipients = {"to_wallet_id": UUID, "to_user_id": UUID, "to_email": {"type": "string", "format": "email"},
                  "to_phone": {"type": "string", "minLength": 1,
                               "description": "E.164, or national in the default region."}}
    schema = obj({"from_wallet_id": UUID, "amount": AMOUNT, "currency": CURRENCY},
                 {**recipients,
                  "idempotency_key": {"type": "string", "pattern": KEY_PATTERN,
                                      "description": "Required here or as the Idempotency-Key header: 1–"
                                      f"{MAX_KEY_LENGTH} ASCII letters, digits, _ or -, compared exactly."},
                  "note": {"type": "string", "maxLength": MAX_NOTE}, "pin": PIN})
    schema["oneOf"] = [{"required": [name]} for name in recipients]
    schema["description"] = "Exactly one of to_wallet_id, to_user_id, to_email, to_phone names the recipient."
    return schema


def auth_paths() -> dict:
    credentials = {"email": {"type": "string", "format": "email"}, "password": {"type": "string", "minLength": 10}}
    refresh = body(obj({"refresh_token": {"type": "string", "minLength": 1}}))
    return {
        "/auth/register": {"post": operation(
            "register", "Sign up; opens a wallet in the default currency and starts a session.",
            {"201": success("Signed up.", obj({"user": ref("User"), "access_token": {"type": "string"},
                                               "refresh_token": {"type": "string"}}, closed=True)),
             **TOO_LARGE, **invalid("missing fields, a bad email, phone or password, or an email or phone "
                                    "already registered."), **RATE_LIMITED},
            public=True, tag="auth", request=body(obj({**credentials, "phone": {"type": "string", "minLength": 1}}, {
                "display_name": {"type": "string", "maxLength": MAX_NAME, "description": "Optional: the name "
                                 "others see instead of your email. No @."}})))},
        "/auth/login": {"post": operation(
            "login", "Exchange email and password for a token pair.",
            {"200": success("Signed in.", ref("TokenPair")),
             "401": failure("Wrong email or password, no such account, or this email blocked from this "
                            "client address after repeated failures: one answer for all three.", "UNAUTHORIZED"),
             **TOO_LARGE, **invalid("missing fields or a body that is not a JSON object."), **RATE_LIMITED},
            public=True, tag="auth", request=body(obj(credentials)))},
        "/auth/refresh": {"post": operation(
            "refresh", "Rotate: spend a refresh token for a new pair. Presenting a spent one revokes its family.",
            {"200": success("A new pair; the presented refresh token is now spent.", ref("TokenPair")),
             "401": failure("Unknown, expired, revoked or already spent refresh token.", "UNAUTHORIZED"),
             **TOO_LARGE, **invalid("a body that is not a JSON object."), **RATE_LIMITED},
            public=True, tag="auth", request=refresh)},
        "/auth/logout": {"post": operation(
            "logout", "Revoke the refresh token and every token rotated from the same sign-in.",
            {"200": success("Signed out.", obj({}, closed=True)),
             "401": failure("Unknown refresh token.", "UNAUTHORIZED"),
             **TOO_LARGE, **invalid("a body that is not a JSON object.")},
            public=True, tag="auth", request=refresh)},
        "/auth/password": {"post": operation(
            "changePassword", "Change the password; the current one is required. Every access and refresh "
            "token and web session of the account ends, this caller's too: the answer is a fresh pair.",
            {"200": success("Changed; carry on with the new pair.", ref("TokenPair")),
             **UNAUTHORIZED, **TOO_LARGE,
             **invalid("missing fields, a wrong `current_password`, or a `new_password` too short or too easy "
                       "to guess (common, breached, or built from your email or phone; the reason is the "
                       "message)."), **RATE_LIMITED},
            tag="auth", request=body(obj({"current_password": {"type": "string", "minLength": 1},
                                          "new_password": {"type": "string", "minLength": 10}})))},
    }


def wallet_paths() -> dict:
    wallet_id = path_id("wallet_id", "wallet")
    page = [wallet_id,
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                                        "default": 50}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"},
             "description": "`next_cursor` from the previous page; omit for the newest transactions."}]
    return {
        "/wallets": {
            "get": operation("listWallets", "Your wallets.",
                             {"200": success("Your wallets, oldest first.", obj({"wallets": array(ref("Wallet"))},
                                                                                closed=True)),
                              **UNAUTHORIZED}),
            "post": operation("openWallet", "Open a wallet in another currency.",
                              {"201": success("Opened.", obj({"wallet": ref("Wallet")}, closed=True)),
                               **UNAUTHORIZED, **TOO_LARGE,
                               **invalid("an unknown currency, or one you already hold.")},
                              request=body(obj({"currency": CURRENCY}))),
        },
        "/wallets/{wallet_id}": {"get": operation(
            "getWallet", "One of your wallets.",
            {"200": success("The wallet.", obj({"wallet": ref("Wallet")}, closed=True)),
             **UNAUTHORIZED, **not_found("The wallet")}, parameters=[wallet_id])},
        "/wallets/{wallet_id}/transactions": {"get": operation(
            "listWalletTransactions", "A page of the wallet's transactions, newest first.",
            {"200": success("One page; `next_cursor` is null on the last.",
                            obj({"transactions": array(ref("Transaction")),
                                 "next_cursor": {"type": ["string", "null"]}}, closed=True)),
             **UNAUTHORIZED, **not_found("The wallet"),
             **invalid(f"limit outside 1–{MAX_PAGE}, or a cursor this API did not issue.")},
            parameters=page)},
    }


def money_paths() -> dict:
    return {
        "/transactions/{transaction_id}": {"get": operation(
            "getTransaction", "One of your transactions (a receipt).",
            {"200": success("The transaction.", obj({"transaction": ref("Transaction")}, closed=True)),
             **UNAUTHORIZED, **not_found("The transaction")},
            parameters=[path_id("transaction_id", "transaction")])},
        "/transfers": {"post": operation(
            "createTransfer", "Send money to another user. Replaying a key returns the first result unchanged.",
            {"201": success("Sent (or replayed): the sender's side of the transfer.",
                            obj({"transaction": ref("Transaction")}, closed=True)),
             **UNAUTHORIZED,
             "403": failure("KYC_REQUIRED above the unverified limit; ACCOUNT_FROZEN when the sender is frozen; "
                            + PIN_REFUSED, "KYC_REQUIRED", "ACCOUNT_FROZEN", *PIN_CODES, details=PIN_DETAILS),
             **not_found("The source wallet or the recipient"),
             "409": failure("This idempotency key was used with a different request.", "IDEMPOTENCY_CONFLICT"),
             **TOO_LARGE,
             "422": failure("VALIDATION_ERROR (`details.fields`: missing or mistyped fields, an amount that is not "
                            "a positive integer, an unknown currency, a note too long, sending to yourself); "
                            "INSUFFICIENT_FUNDS; CURRENCY_MISMATCH (the wallet or the recipient holds another "
                            "currency); LIMIT_EXCEEDED (per transfer or per day, `details.limit`).",
                            "VALIDATION_ERROR", "INSUFFICIENT_FUNDS", "CURRENCY_MISMATCH", "LIMIT_EXCEEDED"),
             **RATE_LIMITED},
            tag="transfers", request=body(ref("TransferRequest")), parameters=[KEY_HEADER])},
    }


def other_paths() -> dict:
    from webapp.api.spec_admin import admin_risk_paths  # builds on the helpers above

    return {
        "/openapi.json": {"get": operation(
            "getOpenApi", "This document (not wrapped in the envelope).",
            {"200": {"description": "The OpenAPI 3.1 document.", "content": {JSON: {"schema": obj(
                {"openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"}})}}}},
            public=True, tag="meta", database=False)},
        "/admin/reconciliation": {"get": admin_reconciliation()},
        **admin_risk_paths(),
    }


def admin_reconciliation() -> dict:
    from webapp.api.spec_deposits import CARD_REPORT, UNAVAILABLE, reconciliation_parameters

    return operation(
        "getReconciliationReport", "Prove the cached balances against the ledger (role admin); with "
        "`stripe=1`, also card deposits against Stripe.",
        {"200": success("The report; `ok` is false on any drift. `stripe` only when asked for.",
                        obj({"report": ref("ReconciliationReport")}, {"stripe": CARD_REPORT}, closed=True)),
         **UNAUTHORIZED, "403": failure("You are not an admin.", "FORBIDDEN"),
         **invalid("`since` is not a date."), **UNAVAILABLE},
        tag="admin", parameters=reconciliation_parameters())


DESCRIPTION = f"""JSON API of the e-wallet mobile app.

Every response is an envelope: `{{"status": "success", "data": {{…}}}}` or
`{{"status": "error", "error": {{"code", "message", "details"}}}}`. Codes and their statuses:
{", ".join(f"{code} {status}" for code, status in STATUS.items())}; METHOD_NOT_ALLOWED 405 for a wrong
method on a known path, NOT_FOUND 404 for an unknown path. Amounts are JSON integers of minor units.
A request body is one JSON object naming each field once, at any depth: a repeated key is a 422
VALIDATION_ERROR (`details.fields` names it), never "the last one wins".
A wallet or transaction that is not yours is 404, exactly like one that does not exist."""


def build_spec() -> dict:
    from webapp.api.spec_bank_accounts import bank_account_paths  # these build on the helpers above
    from webapp.api.spec_deposits import deposit_paths
    from webapp.api.spec_institutions import institution_paths
    from webapp.api.spec_kyc import kyc_paths
    from webapp.api.spec_payouts import payout_paths
    from webapp.api.spec_pins import pin_paths
    from webapp.api.spec_topups import topup_paths
    from webapp.api.spec_verification import verification_paths

    paths = {**auth_paths(), **verification_paths(), **wallet_paths(), **money_paths(), **deposit_paths(),
             **bank_account_paths(), **institution_paths(), **payout_paths(), **topup_paths(), **kyc_paths(),
             **pin_paths(), **other_paths()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "E-Wallet API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name} for name in ("auth", "verification", "pin", "wallets", "transfers", "deposits",
                                             "bank-accounts", "payouts", "topups", "institutions", "kyc", "webhooks",
                                             "admin", "meta")],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas(),
        },
    }
