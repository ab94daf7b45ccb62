"""The documented responses of the bank account endpoints, produced for tests/integration/test_api_spec.py
(which merges these into its SCENARIOS)."""

from __future__ import annotations

import uuid

from tests.conftest import make_test_app
from webapp.providers.bank import ProviderDown

ACCOUNTS = "/bank-accounts"
ONE = "/bank-accounts/{bank_account_id}"
IBAN = {"account_holder_name": "Alice Example", "iban": "DE89 3704 0044 0532 0130 00", "currency": "EUR",
        "country": "DE"}
US = {"account_holder_name": "Alice Example", "account_number": "000123456789", "routing_number": "110000000",
      "currency": "USD", "country": "US"}


class UnreachableBank:
    """A payout provider that is down (PAYOUT_PROVIDER="tests.integration.bank_account_scenarios:UnreachableBank")."""

    def __init__(self, config: dict):
        pass

    def tokenize_account(self, account):
        raise ProviderDown("connection refused")


def add(world, body=None, client=None):
    return world.call("post", ACCOUNTS, json=body or IBAN, client=client)


def added_id(world, user=None) -> str:
    response = (user or world.alice).post(ACCOUNTS, json=US)
    assert response.status_code == 201, response.json
    return response.json["data"]["bank_account"]["id"]


def provider_down(world):
    app = make_test_app(world.database_url, PAYOUT_PROVIDER=f"{__name__}:UnreachableBank")
    try:
        return [add(world, client=app.test_client())]
    finally:
        app.extensions["ewallet.db"].dispose()


def listed(world):
    added_id(world)
    return [world.call("get", ACCOUNTS)]


SCENARIOS = {
    ("get", ACCOUNTS, "200"): listed,
    ("post", ACCOUNTS, "201"): lambda w: [add(w), add(w, US)],
    ("post", ACCOUNTS, "422"): lambda w: [add(w, {**IBAN, "iban": "DE89370400440532013001"}),
                                          add(w, {**IBAN, "country": "GB"}), w.call("post", ACCOUNTS, json={})],
    ("post", ACCOUNTS, "503"): provider_down,
    ("delete", ONE, "200"): lambda w: [w.call("delete", f"/bank-accounts/{added_id(w)}")],
    ("delete", ONE, "404"): lambda w: [w.call("delete", f"/bank-accounts/{uuid.uuid4()}"),
                                       w.call("delete", f"/bank-accounts/{added_id(w, w.bob)}")],
}
