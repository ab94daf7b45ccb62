"""Mobile airtime top-ups. Inline (no REDIS_URL, as under `ewallet dev`): the hold, the sandbox's three
behaviours, the number and operator checks, who may top up, limits and idempotency. Then on the real Redis
with real RQ workers (burst mode): queued on `topups`, pending once and then completed, exactly once.
The ledger is reconciled after each."""

from __future__ import annotations

import time

import pytest

from tests.integration.payout_scenarios import reconciled
from tests.integration.test_api_support import set_user
from tests.integration.test_payouts import _below_zero
from tests.integration.topup_scenarios import KENYA, airtime_postings, made, row, topup
from tests.integration.worker_support import queued_app, work
from webapp import background
from webapp.extensions import new_uow
from webapp.providers import airtime
from webapp.services import topup_runs


def test_a_topup_is_delivered_and_leaves_the_balance_with_the_providers_reference(app, wallets):
    alice = wallets.user(balance=10_000)
    sent = made(topup(alice, "0123", 2_500))
    assert (sent["mobile_number"], sent["operator"]) == ("+14155550123", {"id": "us-att", "name": "AT&T"})
    shown = alice.get(f"/topup/mobile/{sent['id']}").json["data"]["topup"]
    assert shown["status"] == "completed" and shown["provider_ref"].startswith("sandbox_tu_")
    wallet = alice.wallet()
    assert (wallet["balance"], wallet["reserved"], wallet["available"]) == (7_500, 0, 7_500)
    receipt = alice.get(f"/transactions/{sent['id']}").json["data"]["transaction"]
    assert (receipt["kind"], receipt["direction"], receipt["status"]) == ("topup", "debit", "completed")
    assert receipt["counterparty"]["phone"] == "+1 415-555-0123"
    assert receipt["metadata"]["provider_ref"] == shown["provider_ref"]
    assert airtime_postings(app, sent["id"]) == 1 and reconciled(app)


def test_the_operator_is_detected_from_the_number_and_the_number_normalized(app, wallets):
    kes = wallets.user(balance=500_000, currency="KES")
    sent = made(topup(kes, "+254 (0)712 340001", 10_000, operator=None, currency="KES"))
    assert (sent["mobile_number"], sent["operator"]["id"]) == ("+254712340001", "ke-safaricom")
    ported = made(topup(kes, "+254712340001", 10_000, operator="ke-airtel", currency="KES"))
    assert ported["operator"]["id"] == "ke-airtel"  # their word wins: numbers move between operators
    assert kes.wallet("KES")["balance"] == 480_000 and reconciled(app)


def test_a_refused_number_fails_and_the_money_and_the_days_allowance_come_back(app, wallets):
    kes = wallets.user(balance=4_000_000, currency="KES", kyc="verified")
    failed = made(topup(kes, KENYA.format("0002"), 1_000_000, operator=None, currency="KES"))
    shown = row(app, failed["id"])
    assert shown.status == "failed" and "can't receive top-ups" in shown.failure_reason
    assert (kes.wallet("KES")["balance"], kes.wallet("KES")["reserved"]) == (4_000_000, 0)
    receipt = kes.get(f"/transactions/{failed['id']}").json["data"]["transaction"]
    assert receipt["status"] == "failed" and "can't receive" in receipt["metadata"]["reason"]
    assert airtime_postings(app, failed["id"]) == 0
    # KES 25,000 a day (LIMIT_VERIFIED_SEND_DAILY): the failed KES 10,000 no longer counts toward it.
    for amount in (1_000_000, 1_000_000, 500_000):
        made(topup(kes, KENYA.format("0001"), amount, operator=None, currency="KES"))
    over = topup(kes, KENYA.format("0001"), 1_000, operator=None, currency="KES")
    assert (over.status_code, over.json["error"]["code"]) == (422, "LIMIT_EXCEEDED")
    assert kes.wallet("KES")["balance"] == 1_500_000 and reconciled(app)


def test_pending_once_then_delivered_exactly_once(app, wallets):
    """Inline, the runner asks again after a short pause (webapp/background.py), so the request that made
    the top-up already sees it end."""
    alice = wallets.user(balance=10_000)
    sent = made(topup(alice, "0005", 1_000))
    shown = row(app, sent["id"])
    assert (shown.status, shown.retries, shown.next_attempt_at) == ("completed", 1, None)
    with app.app_context():  # the job once more, as a duplicate or a sweep would run it: nothing happens
        assert topup_runs.attempt(new_uow(), topup_id=sent["id"]) == topup_runs.SKIPPED
    assert alice.wallet()["balance"] == 9_000 and airtime_postings(app, sent["id"]) == 1 and reconciled(app)


class SlowOperator:
    """An aggregator whose operator confirms only once `delivered` is set: pending until then, and out of
    reach while `down` is set."""

    delivered = down = False

    def __init__(self, config):
        pass

    def send(self, order):
        if SlowOperator.down:
            raise airtime.ProviderDown("timed out")
        return airtime.TopupReceipt(ref=f"slow_{order.topup_id[:8]}",
                                    status=airtime.COMPLETED if SlowOperator.delivered else airtime.PENDING)


def test_pending_past_the_last_retry_is_never_given_up_and_delivered_once_it_confirms(app, wallets):
    """Releasing the hold of a top-up the aggregator still has would pay it twice once the operator
    delivers: a pending one keeps being asked, at the longest backoff, until it ends."""
    alice = wallets.user(balance=10_000)
    app.config.update(TOPUP_PROVIDER=f"{__name__}:SlowOperator", TOPUP_RETRY_MAX=2)
    SlowOperator.delivered = SlowOperator.down = False
    try:
        sent = made(topup(alice, "0123", 1_000))
        with app.app_context():
            for _ in range(3):  # past TOPUP_RETRY_MAX, as the sweep would run it
                assert topup_runs.attempt(new_uow(), topup_id=sent["id"]) == topup_runs.RETRY
        SlowOperator.down = True  # the aggregator out of reach now changes nothing: it has the order
        with app.app_context():
            assert topup_runs.attempt(new_uow(), topup_id=sent["id"]) == topup_runs.RETRY
        SlowOperator.down = False
        waiting = row(app, sent["id"])
        assert (waiting.status, waiting.retries) == ("pending", 7)
        assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (10_000, 1_000)

        SlowOperator.delivered = True
        with app.app_context():
            assert topup_runs.attempt(new_uow(), topup_id=sent["id"]) == "completed"
    finally:
        app.config.update(TOPUP_PROVIDER="sandbox", TOPUP_RETRY_MAX=5)
    assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (9_000, 0)
    assert airtime_postings(app, sent["id"]) == 1 and reconciled(app)


@pytest.mark.parametrize(("number", "operator", "amount", "fields"), [
    (" ", "us-att", 1_000, {"mobile_number"}),
    ("12345", "us-att", 1_000, {"mobile_number"}),
    ("+254 20 2123456", None, 1_000, {"mobile_number"}),  # a Nairobi landline
    ("+33 6 12 34 56 78", None, 1_000, {"mobile_number"}),  # a country we don't serve
    ("+1 415 555 0123", None, 1_000, {"operator"}),  # US ranges have no carrier data
    ("+1 415 555 0123", "ke-safaricom", 1_000, {"operator"}),  # another country's operator
    ("+1 415 555 0123", "nope", 1_000, {"operator"}),
    ("+1 415 555 0123", "us-att", 499, {"amount"}),  # AT&T: $5.00 to $100.00
    ("+1 415 555 0123", "us-att", 10_001, {"amount"}),
    ("+1 415 555 0123", "us-att", 12.5, {"amount"}),
    ("+254 712 340001", None, 10_000, {"wallet_id"}),  # Safaricom is paid in KES
    ("not a number", "us-att", "10", {"mobile_number", "amount"}),  # every problem at once
])
def test_bad_requests_name_every_bad_field(app, wallets, number, operator, amount, fields):
    alice = wallets.user(balance=10_000)
    response = alice.post("/topup/mobile", json={"wallet_id": alice.wallet()["id"], "mobile_number": number,
                                                 "operator": operator, "amount": amount, "idempotency_key": "bad"})
    assert (response.status_code, response.json["error"]["code"]) == (422, "VALIDATION_ERROR"), response.json
    assert set(response.json["error"]["details"]["fields"]) == fields
    assert alice.wallet()["reserved"] == 0


@pytest.mark.parametrize(("setup", "status", "code"), [
    ("frozen", 403, "ACCOUNT_FROZEN"),
    ("below_zero", 403, "ACCOUNT_FROZEN"),
    ("too_much", 422, "INSUFFICIENT_FUNDS"),
    ("not_mine", 404, "NOT_FOUND"),
])
def test_who_may_top_up_what(app, wallets, setup, status, code):
    alice = wallets.user(balance=1_000)
    if setup == "frozen":
        set_user(app, alice.id, is_frozen=True)
    if setup == "below_zero":
        _below_zero(app, alice)
    body_wallet = wallets.user(balance=1_000).wallet()["id"] if setup == "not_mine" else alice.wallet()["id"]
    response = topup(alice, amount=2_000 if setup == "too_much" else 500, wallet_id=body_wallet)
    assert (response.status_code, response.json["error"]["code"]) == (status, code), response.json
    assert alice.wallet()["reserved"] == 0 and reconciled(app)


def test_the_same_key_tops_up_once_and_another_request_with_it_conflicts(app, wallets):
    alice = wallets.user(balance=10_000)
    first = made(topup(alice, "0123", 1_000, key="airtime-1"))
    again = made(topup(alice, "(415) 555-0123", 1_000, key="airtime-1"))  # the same number, written locally
    assert first["id"] == again["id"] and alice.wallet()["balance"] == 9_000
    conflict = topup(alice, "0123", 1_500, key="airtime-1")
    assert (conflict.status_code, conflict.json["error"]["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert alice.get(f"/topup/mobile/{first['id']}").status_code == 200
    assert wallets.user().get(f"/topup/mobile/{first['id']}").status_code == 404  # not theirs
    assert reconciled(app)


def test_copies_at_once_top_up_once_and_racing_topups_never_pass_the_daily_limit(app, wallets):
    """The same key from 10 threads released together is one top-up; 8 different KES 5,000 top-ups racing
    for a KES 25,000 day hold at most five (the rest LIMIT_EXCEEDED): the hold counts toward the day at once."""
    from tests.integration.test_concurrency import race

    kes = wallets.user(balance=10_000_000, currency="KES", kyc="verified")
    wallet_id = kes.wallet("KES")["id"]

    def body(key):
        return {"wallet_id": wallet_id, "mobile_number": KENYA.format("0001"), "amount": 500_000,
                "idempotency_key": key}

    same = race(app, 10, lambda client, i: client.post("/api/v1/topup/mobile", json=body("one"), headers=kes.headers))
    assert {r.status_code for r in same} == {201} and len({r.json["data"]["topup"]["id"] for r in same}) == 1
    many = race(app, 8, lambda client, i: client.post("/api/v1/topup/mobile", json=body(f"k{i}"), headers=kes.headers))
    assert sorted(r.status_code for r in many) == [201] * 4 + [422] * 4  # KES 20,000 left after the first
    assert {r.json["error"]["code"] for r in many if r.status_code == 422} == {"LIMIT_EXCEEDED"}
    assert kes.wallet("KES")["balance"] == 10_000_000 - 5 * 500_000 and reconciled(app)


def test_the_operators_on_sale(wallets):
    alice = wallets.user()
    kenya = alice.get("/topup/operators?country=KE").json["data"]["operators"]
    assert {o["id"] for o in kenya} == {"ke-safaricom", "ke-airtel", "ke-telkom"}
    assert {o["currency"] for o in kenya} == {"KES"}


# --- On the real Redis, with real RQ workers ---


def test_a_worker_delivers_a_queued_topup_and_a_pending_one_after_its_backoff_exactly_once(database_url, wallets):
    with queued_app(database_url, TOPUP_RETRY_BASE=1) as app:
        alice = wallets.user(balance=10_000)
        alice.client = app.test_client()
        plain, later = (made(topup(alice, ending, 1_000))["id"] for ending in ("0123", "0005"))
        assert alice.wallet()["reserved"] == 2_000 and row(app, plain).status == "pending"
        jobs = background.queue_for(app.config, background.TOPUPS).get_jobs()
        assert [(job.func_name, job.args) for job in jobs] == [("jobs.topups.send", (plain,)),
                                                                ("jobs.topups.send", (later,))]
        work(app)
        assert row(app, plain).status == "completed"
        assert (row(app, later).status, row(app, later).retries) == ("pending", 1)  # the operator hasn't confirmed
        started = time.monotonic()
        while row(app, later).status != "completed" and time.monotonic() - started < 20:
            time.sleep(0.3)
            work(app, scheduler=True)  # RQ's retry is due after TOPUP_RETRY_BASE (1 s)
        assert (row(app, later).status, row(app, later).retries) == ("completed", 1)
        background.run(app.config, "jobs.topups.send", later, queue=background.TOPUPS)  # a twin of its job
        work(app, scheduler=True)
        assert airtime_postings(app, plain) == airtime_postings(app, later) == 1
        assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (8_000, 0) and reconciled(app)


def test_a_worker_fails_a_refused_topup_with_its_hold_released(database_url, wallets):
    with queued_app(database_url) as app:
        alice = wallets.user(balance=10_000)
        alice.client = app.test_client()
        refused = made(topup(alice, "0002", 3_000))["id"]
        assert alice.wallet()["reserved"] == 3_000
        work(app)
        assert row(app, refused).status == "failed" and airtime_postings(app, refused) == 0
        assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (10_000, 0) and reconciled(app)
