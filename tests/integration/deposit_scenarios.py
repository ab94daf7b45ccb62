"""The documented responses of the deposit, Stripe webhook and reconciliation endpoints, produced for
tests/integration/test_api_spec.py (which merges these into its SCENARIOS)."""

from __future__ import annotations

import json
import uuid

from tests import stripe_events as ev
from tests.conftest import make_test_app
from webapp.extensions import new_uow
from webapp.services import staff

DEPOSIT = "/wallets/{wallet_id}/deposit"


def deposit(world, amount=2_500, currency="USD", key=None):
    """Alice adds money to her USD wallet."""
    body = {"amount": amount, "currency": currency, "idempotency_key": key or uuid.uuid4().hex}
    return world.call("post", DEPOSIT, json=body)


def stripe_down(world, path="/admin/reconciliation?stripe=1", method="get", **kwargs):
    """The same request to an app whose SDK points at a loopback port where nothing listens."""
    app = make_test_app(world.database_url, **{**_stripe(world.app.config), "STRIPE_API_BASE": "http://127.0.0.1:9"})
    try:
        return world.call(method, path, client=app.test_client(), **kwargs)
    finally:
        app.extensions["ewallet.db"].dispose()


def _stripe(config) -> dict:
    return {key: config[key] for key in ("STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")}


def signed(world, body: bytes, secret: str | None = None):
    secret = secret or world.app.config["STRIPE_WEBHOOK_SECRET"]
    return world.client.post("/api/v1/webhooks/stripe", data=body, content_type="application/json",
                             headers={"Stripe-Signature": ev.signature(body, secret)})


def as_admin(world):
    with world.app.app_context():
        staff.make_admin(new_uow(), email=world.bob.email, password="correct-horse-battery", phone=world.bob.phone)
    return world.bob


def conflicting_deposit(world):
    assert deposit(world, key="same-deposit").status_code == 201
    return [deposit(world, amount=2_501, key="same-deposit")]


def webhook_event(world):
    event = ev.event("customer.created", {"id": "cus_1", "object": "customer"})
    return [signed(world, json.dumps(event).encode())]


SCENARIOS = {
    ("post", DEPOSIT, "201"): lambda w: [deposit(w)],
    ("post", DEPOSIT, "404"): lambda w: [w.alice.post(f"/wallets/{w.bob.wallet()['id']}/deposit", json={
        "amount": 2_500, "currency": "USD", "idempotency_key": "not-mine"})],
    # Above an unverified person's most per deposit ($500), within a verified one's (services/limits.py).
    ("post", DEPOSIT, "403"): lambda w: [deposit(w, amount=50_001)],
    ("post", DEPOSIT, "409"): conflicting_deposit,
    ("post", DEPOSIT, "422"): lambda w: [deposit(w, amount="25"), deposit(w, currency="EUR"), deposit(w, amount=10)],
    ("post", DEPOSIT, "503"): lambda w: [stripe_down(w, DEPOSIT, "post", json={
        "amount": 2_500, "currency": "USD", "idempotency_key": uuid.uuid4().hex})],
    ("post", "/webhooks/stripe", "200"): webhook_event,
    ("post", "/webhooks/stripe", "400"): lambda w: [signed(w, b'{"id": "evt_1"}', secret="whsec_not_ours")],
    ("post", "/webhooks/stripe", "413"): lambda w: [signed(w, b'{"pad": "' + b"x" * (256 * 1024) + b'"}')],
    ("post", "/webhooks/stripe", "422"): lambda w: [signed(w, b'{"hello": "world"}'), signed(w, b"[1, 2")],
    ("get", "/admin/reconciliation", "200"): lambda w: [as_admin(w).get("/admin/reconciliation"),
                                                        w.bob.get("/admin/reconciliation?stripe=1&since=2026-01-01")],
    ("get", "/admin/reconciliation", "422"): lambda w: [as_admin(w).get("/admin/reconciliation?stripe=1&since=soon")],
    ("get", "/admin/reconciliation", "503"): lambda w: [stripe_down(w, headers=as_admin(w).headers)],
}
