"""Settling institutions: what payers paid goes to the institution's bank as a payout through the sandbox
bank, and comes back to its account when the bank refuses. Jobs run inline here (no REDIS_URL); the
worker runs the same job from its scheduler (jobs/periodic.py)."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.institution_scenarios import PAY, add_institution, payment
from tests.integration.test_cli import ewallet
from tests.integration.test_concurrency import race
from tests.integration.test_institutions import assert_reconciled, institution_balance
from webapp.extensions import new_uow
from webapp.models import Institution, InstitutionSettlement, Posting
from webapp.services import institutions, ledger, settlements

ROUTING = "110000000"


def college_with_bank(app, last4: str) -> str:
    college = add_institution(app)
    with app.app_context():
        institutions.set_bank_account(new_uow(), institution_id=college, account_holder_name="Riverside College",
                                      account_number=f"00012345{last4}", routing_number=ROUTING)
    return college


def paid_in(app, wallets, college: str, *amounts: int) -> None:
    payer = wallets.user(balance=sum(amounts))
    for amount in amounts:
        assert payer.post(PAY, json=payment(payer, college, amount)).status_code == 201


def settlements_of(app, college: str) -> list[InstitutionSettlement]:
    with app.app_context(), new_uow() as uow:
        return list(uow.session.scalars(select(InstitutionSettlement).where(
            InstitutionSettlement.institution_id == college).order_by(InstitutionSettlement.created_at)))


def in_flight(app, currency: str = "USD") -> int:
    with app.app_context(), new_uow() as uow:
        return ledger.derived_balance(uow, ledger.house_account_id(uow, "institution_settlement", currency))


def settle(app, college: str) -> str | None:
    with app.app_context():
        return settlements.open_settlement(new_uow(), institution_id=college)


def test_the_balance_is_paid_out_once_and_only_once_a_day(app, wallets):
    college = college_with_bank(app, "6789")
    paid_in(app, wallets, college, 1_000, 2_500)
    before = in_flight(app)
    assert settle(app, college) is not None
    [done] = settlements_of(app, college)
    assert (done.status, done.amount, done.retries) == ("paid", 3_500, 0)
    assert done.provider_reference.startswith("sandbox_po_")
    assert institution_balance(app, college) == 0 and in_flight(app) - before == 3_500
    paid_in(app, wallets, college, 700)
    assert settle(app, college) is None  # SETTLEMENT_INTERVAL: one payout a day
    assert institution_balance(app, college) == 700
    assert_reconciled(app)


def test_a_refused_account_puts_the_money_back_and_stops_settling(app, wallets):
    college = college_with_bank(app, "0002")  # the sandbox bank: "account closed"
    paid_in(app, wallets, college, 4_000)
    before = in_flight(app)
    assert settle(app, college) is not None
    [failed] = settlements_of(app, college)
    assert failed.status == "failed" and "closed" in failed.failure_reason
    assert institution_balance(app, college) == 4_000 and in_flight(app) == before
    with app.app_context(), new_uow() as uow:
        assert uow.session.get(Institution, college).payout_token is None  # until an operator sets one again
        reversal = sorted(uow.session.scalars(select(Posting.amount).where(
            Posting.entry_id == failed.reversal_entry_id)))
    assert reversal == [-4_000, 4_000]
    assert settle(app, college) is None
    assert_reconciled(app)


def test_a_bank_that_times_out_twice_is_paid_once_after_retries(app, wallets):
    college = college_with_bank(app, "0005")  # the sandbox bank times out twice, then pays
    paid_in(app, wallets, college, 1_200)
    assert settle(app, college) is not None
    [done] = settlements_of(app, college)
    assert (done.status, done.retries, done.amount) == ("paid", 2, 1_200)
    assert institution_balance(app, college) == 0
    assert_reconciled(app)


def test_nothing_to_settle_without_a_bank_account_or_a_balance(app, wallets):
    no_bank = add_institution(app)
    paid_in(app, wallets, no_bank, 500)
    assert settle(app, no_bank) is None
    empty = college_with_bank(app, "4321")
    assert settle(app, empty) is None
    assert settlements_of(app, no_bank) == settlements_of(app, empty) == []


def test_payments_during_a_settlement_wait_for_the_next_one(app, wallets):
    """Twenty payers pay while the settlement runs: none waits on it, and each cent is either in the
    settlement or still in the institution's account."""
    college = college_with_bank(app, "1111")
    payers = [wallets.user(balance=1_000) for _ in range(20)]
    bodies = [payment(payer, college, 100 + i) for i, payer in enumerate(payers)]

    def one(client, i):
        if i == 0:
            return settle(app, college)
        return client.post(f"/api/v1{PAY}", json=bodies[i], headers=payers[i].headers).status_code

    results = race(app, 20, one)

    assert results[1:] == [201] * 19
    settled = sum(s.amount for s in settlements_of(app, college) if s.status == "paid")
    assert settled + institution_balance(app, college) == sum(100 + i for i in range(1, 20))
    assert_reconciled(app)


def test_the_commands_set_the_account_and_settle(app, database_url, wallets):
    college = add_institution(app)
    paid_in(app, wallets, college, 900)
    done = ewallet(database_url, "institution", "bank-account", college, "--holder", "Riverside College",
                   "--account-number", "000123456789", "--routing-number", "110000001")
    assert done.returncode != 0 and "routing" in done.stderr and "Traceback" not in done.stderr
    done = ewallet(database_url, "institution", "bank-account", college, "--holder", "Riverside College",
                   "--account-number", "000123456789", "--routing-number", ROUTING)
    assert done.returncode == 0 and "ending 6789" in done.stdout, done.stderr
    assert "000123456789" not in done.stdout + done.stderr
    done = ewallet(database_url, "institution", "settle", college)
    assert done.returncode == 0 and done.stdout.startswith("settlement "), done.stderr
    assert [s.status for s in settlements_of(app, college)] == ["paid"]
    assert institution_balance(app, college) == 0


def test_the_periodic_tick_opens_it_and_a_real_rq_worker_pays_it(database_url, app, wallets):
    """On Redis: the scheduler's tick opens the settlement and queues its job by id; a worker pays it."""
    from jobs import periodic
    from tests.integration.worker_support import queued_app, work
    from webapp import background

    college = college_with_bank(app, "2468")
    paid_in(app, wallets, college, 3_300)
    with queued_app(database_url) as queued:
        with queued.app_context():
            assert periodic.tick()["settle_institutions"] >= 1
        [pending] = settlements_of(app, college)
        jobs = background.queue_for(queued.config, background.PAYOUTS).get_jobs()
        assert pending.status == "pending" and any(job.args == (pending.id,) for job in jobs)
        assert {job.func_name for job in jobs} == {settlements.JOB}
        work(queued)
    [done] = settlements_of(app, college)
    assert (done.status, done.amount) == ("paid", 3_300) and institution_balance(app, college) == 0
    assert_reconciled(app)


def test_stripe_accepts_it_and_its_webhooks_end_it(database_url, stripe_settings, app, wallets):
    """With Stripe Payouts the answer comes later: payout.paid ends it paid; a payout.failed after that is
    the bank returning the money, which goes back to the institution's account."""
    import json

    from tests import stripe_events as ev
    from tests.conftest import make_test_app

    stripe_app = make_test_app(database_url, PAYOUT_PROVIDER="tests.integration.test_payout_webhooks:AcceptingStripe",
                               **stripe_settings)
    try:
        college = college_with_bank(app, "1357")
        paid_in(app, wallets, college, 2_200)
        with stripe_app.app_context():
            settlements.open_settlement(new_uow(), institution_id=college)
        [accepted] = settlements_of(app, college)
        assert (accepted.status, accepted.next_attempt_at) == ("processing", None)

        def deliver(kind: str) -> str:
            obj = {"id": accepted.provider_reference, "object": "payout", "amount": 2_200, "currency": "usd",
                   "metadata": {"payout_id": accepted.id}, "failure_message": "The account is closed."}
            payload = json.dumps(ev.event(kind, obj)).encode()
            response = stripe_app.test_client().post(ev.WEBHOOK, data=payload, content_type="application/json",
                                                     headers={"Stripe-Signature": ev.signature(
                                                         payload, stripe_app.config["STRIPE_WEBHOOK_SECRET"])})
            return response.json["data"]["outcome"]

        assert deliver("payout.paid") == "applied"
        assert settlements_of(app, college)[0].status == "paid" and institution_balance(app, college) == 0
        assert deliver("payout.failed") == "applied"  # returned by the bank
        assert settlements_of(app, college)[0].status == "failed" and institution_balance(app, college) == 2_200
        assert_reconciled(app)
    finally:
        stripe_app.extensions["ewallet.db"].dispose()
