"""The Stripe.js stand-in's server half (webapp/devtools/stripe_standin.py) against the real localstripe over
HTTP: a browser holding only the publishable key may create a PaymentMethod and confirm its own
PaymentIntent with the client secret, as on Stripe, and nothing more; every outcome is localstripe's."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from webapp.devtools.stripe_standin import STANDIN_PATH

PK, SK = "pk_test_standin", "sk_test_standin"


def call(base: str, path: str, data: dict, *, secret: str | None = None) -> tuple[int, dict]:
    """A form-encoded POST, as Stripe.js and the SDK send them (nested keys as card[number])."""
    flat = {}
    for key, value in data.items():
        for sub, inner in (value.items() if isinstance(value, dict) else [(None, value)]):
            flat[f"{key}[{sub}]" if sub else key] = inner
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    request = urllib.request.Request(base + path, urllib.parse.urlencode(flat).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture()
def intent(localstripe):
    status, body = call(localstripe, "/v1/payment_intents", {"amount": 2500, "currency": "usd"}, secret=SK)
    assert status == 200, body
    return body


def card(number: str) -> dict:
    return {"type": "card", "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}}


def pay(base: str, intent: dict, number: str, secret: str | None = None) -> tuple[int, dict]:
    status, method = call(base, "/v1/payment_methods", {"key": PK, **card(number)})
    assert status == 200, method
    return call(base, f"/v1/payment_intents/{intent['id']}/confirm",
                {"key": PK, "client_secret": secret or intent["client_secret"], "payment_method": method["id"]})


def test_the_script_is_served_without_a_key(localstripe):
    with urllib.request.urlopen(localstripe + STANDIN_PATH, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("application/javascript")
        assert b"confirmPayment" in response.read()


def test_the_success_card_is_charged(localstripe, intent):
    status, body = pay(localstripe, intent, "4242424242424242")
    assert (status, body["status"]) == (200, "succeeded")


def test_the_decline_is_localstripes_own(localstripe, intent):
    status, body = pay(localstripe, intent, "4000000000000341")
    assert status == 402 and body["error"]["code"] == "card_declined"


def test_3d_secure_waits_for_the_bank(localstripe, intent):
    status, body = pay(localstripe, intent, "4000002760003184")
    assert (status, body["status"]) == (200, "requires_action")
    status, body = call(localstripe, f"/v1/payment_intents/{intent['id']}/_authenticate?success=true",
                        {"key": PK, "client_secret": intent["client_secret"]})
    assert (status, body["status"]) == (200, "succeeded")


def test_the_publishable_key_needs_the_client_secret(localstripe, intent):
    status, _ = pay(localstripe, intent, "4242424242424242", secret=intent["id"] + "_secret_wrong")
    assert status == 401


def test_without_a_publishable_key_localstripe_refuses_as_before(localstripe, intent):
    status, _ = call(localstripe, "/v1/payment_methods", card("4242424242424242"))
    assert status == 401
    status, _ = call(localstripe, f"/v1/payment_intents/{intent['id']}/confirm",
                     {"key": "sk_not_a_publishable_key", "client_secret": intent["client_secret"]})
    assert status == 401
