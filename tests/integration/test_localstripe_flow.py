"""The whole card flow against localstripe over HTTP: our deposit, the PaymentIntent confirmed the way a
browser's Stripe.js would (payment method set by an update, then confirm: DESIGN §8), and the real
signed webhook localstripe sends to the app served on a free port. Then `ewallet reconcile --stripe`."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import stripe
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.integration.test_deposits import deposit_row, start
from webapp.cli import cli
from webapp.extensions import new_uow
from webapp.models import StripeEvent
from webapp.models.base import utcnow
from webapp.providers import stripe as stripe_provider
from webapp.services import deposits, reconciliation

DECLINED_ON_CHARGE = "4000000000000341"  # localstripe 1.15.10 declines this card when charged; 0002 only on attach
ASKS_3DS = "4000002760003184"


@pytest.fixture(scope="module")
def webhooks_to_app(app, localstripe_server):
    """The app on a free loopback port, registered with localstripe as its webhook endpoint."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="webhook-server", daemon=True)
    thread.start()
    localstripe_server.register_webhook(f"http://127.0.0.1:{server.server_port}/api/v1/webhooks/stripe",
                                        app.config["STRIPE_WEBHOOK_SECRET"], name="integration-tests")
    yield
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture()
def stripe_client(app):
    return stripe_provider.from_config(app.config).client


def pay(stripe_client, payment_intent_id: str, card: str | None = None):
    """What Stripe.js does with the card form: attach a payment method, then confirm."""
    method = "pm_card_visa"
    if card:
        method = stripe_client.v1.payment_methods.create(params={
            "type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}).id
    stripe_client.v1.payment_intents.update(payment_intent_id, params={"payment_method": method})
    return stripe_client.v1.payment_intents.confirm(payment_intent_id)


def wait_for(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "localstripe's webhook never arrived"
        time.sleep(0.1)


def status_of(person, transaction_id):
    return person.get(f"/transactions/{transaction_id}").json["data"]["transaction"]


def events_for(app, payment_intent_id):
    with app.app_context(), new_uow() as uow:
        return uow.session.scalars(select(StripeEvent.type).where(
            StripeEvent.payment_intent_id == payment_intent_id)).all()


def test_paid_with_the_success_card_credited_once_by_localstripes_signed_webhook(
        app, wallets, stripe_client, webhooks_to_app):
    person = wallets.user()
    tx_id = start(person, 2_500).json["data"]["transaction"]["id"]
    intent_id = deposit_row(app, tx_id).payment_intent_id

    assert pay(stripe_client, intent_id).status == "succeeded"

    wait_for(lambda: status_of(person, tx_id)["status"] == "completed")
    time.sleep(1.5)  # anything else localstripe had to send has arrived by now
    assert person.wallet()["balance"] == 2_500
    assert events_for(app, intent_id) == ["payment_intent.succeeded"]
    with app.app_context():
        assert reconciliation.reconcile(new_uow()).ok


def test_a_declined_card_fails_the_deposit_and_credits_nothing(app, wallets, stripe_client, webhooks_to_app):
    person = wallets.user()
    tx_id = start(person, 2_500).json["data"]["transaction"]["id"]
    intent_id = deposit_row(app, tx_id).payment_intent_id

    with pytest.raises(stripe.CardError):
        pay(stripe_client, intent_id, card=DECLINED_ON_CHARGE)

    wait_for(lambda: status_of(person, tx_id)["status"] == "failed")
    assert status_of(person, tx_id)["metadata"]["reason"] == "Your card was declined."
    assert person.wallet()["balance"] == 0
    assert events_for(app, intent_id) == ["payment_intent.payment_failed"]


def test_a_failed_3d_secure_check_fails_the_deposit_and_credits_nothing(app, wallets, stripe_client,
                                                                       webhooks_to_app):
    """localstripe sends no event when the bank's check fails (Stripe sends payment_intent.payment_failed),
    so the card page has the server ask Stripe: the deposit ends failed in Stripe's words."""
    person = wallets.user()
    tx_id = start(person, 2_500).json["data"]["transaction"]["id"]
    intent_id = deposit_row(app, tx_id).payment_intent_id
    intent = pay(stripe_client, intent_id, card=ASKS_3DS)
    assert intent.status == "requires_action"

    stripe_client.raw_request("post", f"/v1/payment_intents/{intent_id}/_authenticate",
                              client_secret=intent.client_secret, success="false")  # the "Fail" button
    time.sleep(1.5)  # anything localstripe had to send has arrived by now: nothing
    assert status_of(person, tx_id)["status"] == "pending"
    with app.test_request_context():
        deposits.check(new_uow(), user_id=person.id, transaction_id=tx_id)

    settled = status_of(person, tx_id)
    assert (settled["status"], settled["metadata"]["reason"]) == (
        "failed", "The provided PaymentMethod has failed authentication.")
    assert person.wallet()["balance"] == 0
    with app.app_context():
        assert reconciliation.reconcile(new_uow()).ok


def test_reconcile_with_stripe_is_clean_then_finds_a_planted_missing_credit(app, wallets, stripe_client,
                                                                           webhooks_to_app, runner):
    since = utcnow().replace(microsecond=0)
    time.sleep(1)  # PaymentIntents of earlier tests fall before `since` (Stripe counts whole seconds)
    person = wallets.user()
    tx_id = start(person, 1_500).json["data"]["transaction"]["id"]
    pay(stripe_client, deposit_row(app, tx_id).payment_intent_id)
    wait_for(lambda: status_of(person, tx_id)["status"] == "completed")
    args = ["reconcile", "--stripe", "--since", since.strftime("%Y-%m-%dT%H:%M:%S")]

    clean = runner.invoke(cli, args)
    assert clean.exit_code == 0, clean.output
    assert "reconciliation: clean" in clean.output

    # Planted: money Stripe took for one of our wallets that never reached the ledger (the webhook is
    # answered "ignored": its metadata names a transaction we do not have).
    planted = stripe_client.v1.payment_intents.create(params={
        "amount": 4_200, "currency": "usd", "payment_method_types": ["card"],
        "metadata": {"transaction_id": str(uuid.uuid4()), "wallet_id": person.wallet()["id"], "user_id": person.id}})
    pay(stripe_client, planted.id)
    wait_for(lambda: events_for(app, planted.id) == ["payment_intent.succeeded"])

    drift = runner.invoke(cli, args)
    assert drift.exit_code == 1
    assert f"MISSING_CREDIT {planted.id}" in drift.output and "stripe 4200, ledger None USD" in drift.output
    assert "reconciliation: DRIFT FOUND" in drift.output
