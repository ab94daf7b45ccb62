"""A JSON body means one thing (issue 8, point 9): a key named twice, at any depth, is a 422, not "the last
one wins" (a proxy or log in front of us may keep the first)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import PASSWORD
from tests.integration.test_api_support import assert_field_error, assert_success


def raw_transfer(sender, recipient, tail: str) -> str:
    head = json.dumps({"from_wallet_id": sender.wallet()["id"], "to_email": recipient.email, "currency": "USD",
                       "idempotency_key": uuid.uuid4().hex})
    return head[:-1] + ", " + tail + "}"


@pytest.mark.parametrize(("tail", "field"), [
    ('"amount": 1, "amount": 200', "amount"),
    ('"amount": 200, "amount": 1', "amount"),
    ('"amount": 1, "note": {"a": 1, "b": {"c": 1, "c": 2}}', "c"),  # at any depth
    ('"amount": 1, "extra": [{"x": 1, "x": 1}]', "x"),  # even when both say the same
])
def test_a_body_that_names_a_field_twice_is_422_and_moves_nothing(wallets, tail, field):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    response = alice.client.post("/api/v1/transfers", data=raw_transfer(alice, bob, tail),
                                 content_type="application/json", headers=alice.headers)
    error = assert_field_error(response, field)
    assert error["details"]["fields"][field] == "Send this field only once."
    assert alice.wallet()["balance"] == 1_000 and bob.wallet()["balance"] == 0
    again = alice.client.post("/api/v1/transfers", data=raw_transfer(alice, bob, '"amount": 200'),
                              content_type="application/json", headers=alice.headers)
    assert_success(again, 201)  # the same body with each field once goes through


def test_a_duplicated_key_at_sign_in_is_422_too(client, wallets):
    user = wallets.user()
    raw = f'{{"email": "{user.email}", "password": "wrong-password", "password": "{PASSWORD}"}}'
    assert_field_error(client.post("/api/v1/auth/login", data=raw, content_type="application/json"), "password")
