"""Stripe Payouts (PAYOUT_PROVIDER=stripe): the adapter's calls, and the `payout.paid` / `payout.failed`
webhooks, signed by the test, that end a payout Stripe accepted: paid once, released, or returned after
being paid with a reversing entry. localstripe's payouts are EUR-only with a field of its own (DESIGN §8),
so the adapter is checked against a stand-in for the SDK client instead."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
import stripe

from tests import stripe_events as ev
from tests.conftest import make_test_app
from tests.integration.payout_scenarios import bank_account, in_flight_postings, reconciled, row, withdraw
from webapp.models import Payout
from webapp.providers import bank
from webapp.providers.stripe_payouts import StripePayoutProvider


class AcceptingStripe(bank.SandboxPayouts):
    """Stripe as the payout job meets it: it accepts each payout and answers later, by webhook."""

    def send_payout(self, order: bank.PayoutOrder) -> bank.PayoutReceipt:
        return bank.PayoutReceipt(ref=f"po_{order.payout_id.replace('-', '')[:24]}", paid=False)


@pytest.fixture()
def stripe_app(database_url, stripe_settings):
    app = make_test_app(database_url, PAYOUT_PROVIDER=f"{__name__}:AcceptingStripe", **stripe_settings)
    yield app
    app.extensions["ewallet.db"].dispose()


@pytest.fixture()
def accepted(stripe_app, wallets):
    """A $30 payout Stripe has accepted: (person, Payout row)."""
    person = wallets.user(balance=10_000, kyc="verified")
    person.client = stripe_app.test_client()
    made = withdraw(person, bank_account(person), 3_000)
    assert made.status_code == 201, made.json
    return person, row(stripe_app, made.json["data"]["payout"]["id"])


def deliver(app, kind: str, payout: Payout, event_id: str | None = None, **changes) -> str:
    obj = {"id": payout.provider_ref, "object": "payout", "amount": payout.amount,
           "currency": payout.currency.lower(), "status": kind.split(".")[1], "metadata": {"payout_id": payout.id},
           "failure_code": "account_closed" if kind == "payout.failed" else None,
           "failure_message": "The bank account has been closed." if kind == "payout.failed" else None, **changes}
    payload = json.dumps(ev.event(kind, obj, event_id)).encode()
    response = app.test_client().post(ev.WEBHOOK, data=payload, content_type="application/json", headers={
        "Stripe-Signature": ev.signature(payload, app.config["STRIPE_WEBHOOK_SECRET"])})
    assert response.status_code == 200, response.json
    return response.json["data"]["outcome"]


def test_accepted_by_stripe_it_waits_for_the_webhook_with_the_money_held(stripe_app, accepted):
    person, payout = accepted
    assert (payout.status, payout.next_attempt_at) == ("processing", None) and payout.provider_ref.startswith("po_")
    assert (person.wallet()["balance"], person.wallet()["reserved"]) == (10_000, 3_000)


def test_payout_paid_posts_the_hold_once(stripe_app, accepted):
    person, payout = accepted
    assert deliver(stripe_app, "payout.paid", payout, "evt_paid_1") == "applied"
    assert deliver(stripe_app, "payout.paid", payout, "evt_paid_1") == "duplicate"
    assert deliver(stripe_app, "payout.paid", payout) == "applied"  # a second event id: nothing left to do
    assert row(stripe_app, payout.id).status == "paid" and in_flight_postings(stripe_app, payout.id) == 1
    assert (person.wallet()["balance"], person.wallet()["reserved"]) == (7_000, 0) and reconciled(stripe_app)


def test_payout_failed_before_paid_releases_the_hold(stripe_app, accepted):
    person, payout = accepted
    assert deliver(stripe_app, "payout.failed", payout) == "applied"
    assert deliver(stripe_app, "payout.paid", payout) == "applied"  # late and out of order: changes nothing
    ended = row(stripe_app, payout.id)
    assert ended.status == "failed" and "has been closed" in ended.failure_reason
    assert (person.wallet()["balance"], person.wallet()["reserved"]) == (10_000, 0)
    assert in_flight_postings(stripe_app, payout.id) == 0 and reconciled(stripe_app)


def test_a_payout_returned_after_it_was_paid_comes_back_with_a_reversing_entry(stripe_app, accepted):
    person, payout = accepted
    deliver(stripe_app, "payout.paid", payout)
    assert deliver(stripe_app, "payout.failed", payout) == "applied"
    assert deliver(stripe_app, "payout.failed", payout) == "applied"  # a redelivery under a new id: once only
    ended = row(stripe_app, payout.id)
    assert ended.status == "failed" and ended.returned_entry_id and "returned" in ended.failure_reason
    assert (person.wallet()["balance"], person.wallet()["reserved"]) == (10_000, 0)
    receipt = person.get(f"/transactions/{payout.id}").json["data"]["transaction"]
    assert receipt["status"] == "failed" and "back in your wallet" in receipt["metadata"]["reason"]
    assert reconciled(stripe_app)


@pytest.mark.parametrize("changes", [{"amount": 1}, {"currency": "eur"}, {"metadata": {}, "id": "po_unknown"}],
                         ids=["amount", "currency", "not-ours"])
def test_an_event_that_is_not_about_one_of_our_payouts_changes_nothing(stripe_app, accepted, changes):
    person, payout = accepted
    assert deliver(stripe_app, "payout.paid", payout, **changes) == "ignored"
    assert row(stripe_app, payout.id).status == "processing" and person.wallet()["reserved"] == 3_000


# --- The adapter, against a stand-in for the SDK client ---------------------------------------------------


class Payouts:
    def __init__(self, error: Exception | None = None):
        self.calls, self.error = [], error

    def create(self, params, options):
        self.calls.append((params, options))
        if self.error:
            raise self.error
        return SimpleNamespace(id="po_123", status="pending")


def adapter(payouts: Payouts) -> StripePayoutProvider:
    provider = StripePayoutProvider({"STRIPE_SECRET_KEY": "sk_test_x"})
    provider.client = SimpleNamespace(v1=SimpleNamespace(payouts=payouts))
    return provider


def order() -> bank.PayoutOrder:
    payout_id = str(uuid.uuid4())
    return bank.PayoutOrder(payout_id=payout_id, token="ba_123", amount=4_200, currency="EUR",
                            idempotency_key=f"ewallet-payout-{payout_id}")


def test_the_adapter_asks_for_one_payout_per_key_and_waits_for_the_webhook():
    payouts, sent = Payouts(), order()
    receipt = adapter(payouts).send_payout(sent)
    assert receipt == bank.PayoutReceipt(ref="po_123", paid=False)
    assert payouts.calls == [({"amount": 4_200, "currency": "eur", "destination": "ba_123",
                               "metadata": {"payout_id": sent.payout_id}}, {"idempotency_key": sent.idempotency_key})]


@pytest.mark.parametrize(("error", "raised"), [
    (stripe.APIConnectionError("down"), bank.ProviderDown),
    (stripe.RateLimitError("slow down", http_status=429), bank.ProviderDown),
    (stripe.APIError("oops", http_status=502), bank.ProviderDown),
    (stripe.InvalidRequestError("No such external account: ba_123", "destination", http_status=400),
     bank.PayoutRejected),
], ids=["network", "429", "5xx", "4xx"])
def test_the_adapter_tells_a_retry_from_a_refusal(error, raised):
    with pytest.raises(raised) as caught:
        adapter(Payouts(error)).send_payout(order())
    assert "ba_123" not in str(caught.value)  # Stripe's message may quote the account: not passed on
