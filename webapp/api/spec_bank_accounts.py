"""OpenAPI paths for bank accounts (webapp/api/bank_accounts.py), kept apart from spec.py, which adds them in
build_spec."""

from __future__ import annotations

from webapp.api.spec import (
    CURRENCY,
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
from webapp.services.bank_details import MAX_HOLDER

COUNTRY = {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166-1 alpha-2 code, e.g. DE."}
BANK_ACCOUNT = obj({"id": UUID, "account_holder_name": {"type": "string"},
                    "bank_name": {"type": ["string", "null"], "description": "Where the bank registry knows it."},
                    "last4": {"type": "string", "pattern": "^[0-9A-Z]{4}$",
                              "description": "The last four characters of the IBAN or account number: all of "
                              "the number the API ever shows."},
                    "currency": CURRENCY, "country": {**COUNTRY, "pattern": "^[A-Z]{2}$"}, "created_at": TIMESTAMP},
                   closed=True)
NEW_ACCOUNT = obj(
    {"account_holder_name": {"type": "string", "minLength": 1, "maxLength": MAX_HOLDER}, "currency": CURRENCY,
     "country": {**COUNTRY, "description": "ISO 3166-1 alpha-2; the IBAN's own country, or US for an account "
                 "and routing number."}},
    {"iban": {"type": "string", "minLength": 1, "description": "Spaces allowed. Checked: checksum, the "
              "country's format, the bank's own check digits where known."},
     "account_number": {"type": "string", "minLength": 1, "description": "US: 4 to 17 digits."},
     "routing_number": {"type": "string", "minLength": 1, "description": "US: the 9-digit ABA number, checksum "
                        "checked. US accounts take USD."}},
    oneOf=[{"required": ["iban"]}, {"required": ["account_number", "routing_number"]}],
    description="An IBAN, or a US account number with its routing number: not both.")
UNAVAILABLE = {"503": failure(
    "PROVIDER_UNAVAILABLE: the payout provider could not register the account just now; nothing was added. "
    "`details.correlation_id` is the X-Request-ID. Retry after Retry-After seconds.", "PROVIDER_UNAVAILABLE",
    headers={"Retry-After": {"schema": {"type": "integer"}}}, details=obj({"correlation_id": {"type": "string"}}))}


def bank_account_paths() -> dict:
    return {
        "/bank-accounts": {
            "get": operation("listBankAccounts", "Your bank accounts, to withdraw to.",
                             {"200": success("Your accounts, oldest first; removed ones are not listed.",
                                             obj({"bank_accounts": array(BANK_ACCOUNT)}, closed=True)),
                              **UNAUTHORIZED}, tag="bank-accounts"),
            "post": operation(
                "addBankAccount", "Add a bank account. Only the provider's token, the bank name and the last four "
                "characters are kept; the number is never stored, logged or shown again.",
                {"201": success("Added.", obj({"bank_account": BANK_ACCOUNT}, closed=True)),
                 **UNAUTHORIZED, **TOO_LARGE,
                 **invalid("missing fields; an IBAN that fails its checksum or its country's format; an "
                           "account or routing number that is not valid; a country that is not the IBAN's (or "
                           "not US for an account and routing number); a currency not in use, or not USD for a "
                           "US account; both an IBAN and account numbers; an account you already added."),
                 **RATE_LIMITED, **UNAVAILABLE},
                tag="bank-accounts", request=body(NEW_ACCOUNT)),
        },
        "/bank-accounts/{bank_account_id}": {"delete": operation(
            "removeBankAccount", "Remove a bank account: it is no longer listed or paid to. Payouts already made "
            "to it keep their history.",
            {"200": success("Removed.", obj({}, closed=True)), **UNAUTHORIZED, **not_found("The bank account")},
            tag="bank-accounts", parameters=[path_id("bank_account_id", "bank account")])},
    }
