"""Card deposits nobody paid end failed after DEPOSIT_PENDING_TTL: their PaymentIntent is canceled at
localstripe, they stop counting toward the day's limit, and nothing is credited. Deposits that are fresh,
or paid, are left as they are."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import update

from tests.integration import test_localstripe_flow as flow
from tests.integration.test_deposits import deposit_row, start
from tests.integration.test_localstripe_flow import pay, status_of, wait_for
from webapp.extensions import new_uow
from webapp.models import CardDeposit
from webapp.models.base import utcnow
from webapp.services import deposit_expiry, reconciliation

stripe_client, webhooks_to_app = flow.stripe_client, flow.webhooks_to_app  # the card flow's fixtures


def age(app, transaction_id, seconds):
    with app.app_context(), new_uow() as uow:
        uow.session.execute(update(CardDeposit).where(CardDeposit.transaction_id == transaction_id)
                            .values(created_at=utcnow() - timedelta(seconds=seconds)))
        uow.commit()


def sweep(app) -> int:
    with app.app_context():
        return deposit_expiry.expire_stale(new_uow())


def test_an_unpaid_deposit_past_its_time_is_canceled_at_stripe_and_ends_failed(app, wallets, stripe_client):
    person = wallets.user()
    stale = start(person, 2_500).json["data"]["transaction"]["id"]
    fresh = start(person, 1_000).json["data"]["transaction"]["id"]
    age(app, stale, app.config["DEPOSIT_PENDING_TTL"] + 60)

    assert sweep(app) == 1

    ended = status_of(person, stale)
    assert (ended["status"], ended["metadata"]["reason"]) == ("failed", deposit_expiry.EXPIRED)
    assert stripe_client.v1.payment_intents.retrieve(deposit_row(app, stale).payment_intent_id).status == "canceled"
    assert status_of(person, fresh)["status"] == "pending"
    assert person.wallet()["balance"] == 0
    assert sweep(app) == 0  # ended once; a second tick finds nothing
    with app.app_context():
        assert reconciliation.reconcile(new_uow()).ok


def test_an_expired_deposit_no_longer_counts_toward_the_days_limit(app, wallets):
    person = wallets.user()  # unverified: the daily card limit is low
    daily = app.config["LIMITS"]["unverified"]["deposit"]["daily"]["*"] * 100
    first = start(person, daily).json["data"]["transaction"]["id"]
    assert start(person, 100).json["error"]["code"] == "LIMIT_EXCEEDED"

    age(app, first, app.config["DEPOSIT_PENDING_TTL"] + 60)
    sweep(app)

    assert start(person, 100).status_code == 201


def test_deposits_paid_at_stripe_without_a_webhook_never_crowd_out_the_unpaid_ones(app, wallets, monkeypatch):
    """One deposit Stripe calls paid, whose webhook never came, stays pending (only a webhook credits) and
    goes to the back of the line, so the next tick reaches the unpaid one behind it."""
    person = wallets.user()
    paid, unpaid = (start(person, amount).json["data"]["transaction"]["id"] for amount in (1_500, 1_000))
    age(app, paid, app.config["DEPOSIT_PENDING_TTL"] + 120)
    age(app, unpaid, app.config["DEPOSIT_PENDING_TTL"] + 60)
    paid_intent = deposit_row(app, paid).payment_intent_id
    real = deposit_expiry.stripe_provider.from_config

    class PaidElsewhere:
        def __init__(self, config):
            self.real = real(config)

        def retrieve_payment_intent(self, intent_id):
            intent = self.real.retrieve_payment_intent(intent_id)
            return dataclasses.replace(intent, status="succeeded") if intent_id == paid_intent else intent

        def cancel_payment_intent(self, intent_id):
            return self.real.cancel_payment_intent(intent_id)

    monkeypatch.setattr(deposit_expiry.stripe_provider, "from_config", PaidElsewhere)
    monkeypatch.setattr(deposit_expiry, "BATCH", 1)

    assert sweep(app) == 0  # the older one first: paid at Stripe, left pending for its webhook
    assert sweep(app) == 1  # then the unpaid one, not the paid one again
    assert (status_of(person, paid)["status"], status_of(person, unpaid)["status"]) == ("pending", "failed")
    assert person.wallet()["balance"] == 0
    age(app, paid, 0)  # fresh again: the other tests count what a sweep ends


def test_a_paid_deposit_is_left_to_its_webhook(app, wallets, stripe_client, webhooks_to_app):
    person = wallets.user()
    tx_id = start(person, 2_500).json["data"]["transaction"]["id"]
    pay(stripe_client, deposit_row(app, tx_id).payment_intent_id)
    wait_for(lambda: status_of(person, tx_id)["status"] == "completed")
    age(app, tx_id, app.config["DEPOSIT_PENDING_TTL"] + 60)

    assert sweep(app) == 0
    assert status_of(person, tx_id)["status"] == "completed"
    assert person.wallet()["balance"] == 2_500
