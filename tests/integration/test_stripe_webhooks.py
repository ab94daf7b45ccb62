"""Stripe's webhook, with events signed by the test: exactly one credit per payment however often and in
whatever order Stripe delivers, refunds and disputes as linked entries and holds, and nothing written
for a signature that does not check out."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest
from sqlalchemy import func, select

from tests import stripe_events as ev
from tests.integration.test_concurrency import race
from tests.integration.test_deposits import deposit_row, start
from webapp.extensions import new_uow
from webapp.models import AuditLog, CardDeposit, Hold, JournalEntry, Posting, StripeEvent, Transaction
from webapp.services import reconciliation


@pytest.fixture()
def secret(app):
    return app.config["STRIPE_WEBHOOK_SECRET"]


@pytest.fixture()
def pending(app, wallets):
    """A person with a fresh $25 deposit waiting for Stripe: (person, CardDeposit row)."""

    def make(amount=2_500, balance=0):
        person = wallets.user(balance=balance)
        response = start(person, amount)
        assert response.status_code == 201, response.json
        return person, deposit_row(app, response.json["data"]["transaction"]["id"])

    return make


def ledger_of(app, deposit: CardDeposit) -> dict:
    """What the ledger and history say about one deposit: comparable between delivery orders."""
    with app.app_context(), new_uow() as uow:
        row = uow.session.get(CardDeposit, deposit.transaction_id)
        wallet_account = select(func.min(Posting.account_id)).where(Posting.entry_id == row.credit_entry_id,
                                                                    Posting.amount > 0).scalar_subquery()
        entries = uow.session.execute(
            select(JournalEntry.kind, Posting.amount, JournalEntry.reverses_id.is_not(None))
            .join(Posting, Posting.entry_id == JournalEntry.id)
            .where(Posting.account_id == wallet_account).order_by(JournalEntry.created_at, Posting.id)).all()
        history = uow.session.execute(select(Transaction.kind, Transaction.direction, Transaction.amount,
                                             Transaction.status).where(Transaction.wallet_id == row.wallet_id)
                                      .order_by(Transaction.created_at)).all()
        holds = uow.session.execute(select(Hold.amount, Hold.status).where(Hold.wallet_id == row.wallet_id)).all()
    return {"status": row.status, "refunded": row.refunded, "entries": [tuple(e) for e in entries],
            "history": [tuple(h) for h in history], "holds": sorted(tuple(h) for h in holds)}


def clean(app) -> bool:
    with app.app_context():
        report = reconciliation.reconcile(new_uow())
    return report.ok


def counts(app) -> tuple[int, ...]:
    with app.app_context(), new_uow() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(model))
                     for model in (StripeEvent, Posting, AuditLog, Transaction, Hold))


def test_succeeded_credits_the_wallet_once_from_stripe_clearing(app, client, pending, secret):
    person, deposit = pending(2_500)
    event = ev.event("payment_intent.succeeded", ev.intent(deposit))

    first, again = ev.deliver(client, event, secret), ev.deliver(client, event, secret)

    assert (first.status_code, first.json["data"]["outcome"]) == (200, "applied")
    assert (again.status_code, again.json["data"]["outcome"]) == (200, "duplicate")
    assert person.wallet()["balance"] == 2_500
    tx = person.get(f"/transactions/{deposit.transaction_id}").json["data"]["transaction"]
    assert (tx["status"], tx["kind"], tx["amount"]) == ("completed", "deposit", 2_500)
    with app.app_context(), new_uow() as uow:
        accounts = uow.session.execute(select(Posting.amount).where(
            Posting.entry_id == deposit_row(app, deposit.transaction_id).credit_entry_id)).scalars().all()
    assert sorted(accounts) == [-2_500, 2_500]
    assert clean(app)


def test_five_copies_of_one_event_at_once_credit_once(app, pending, secret):
    person, deposit = pending(1_234)
    event = ev.event("payment_intent.succeeded", ev.intent(deposit))

    responses = race(app, 5, lambda client, i: ev.deliver(client, event, secret))

    assert [r.status_code for r in responses] == [200] * 5
    assert sorted(r.json["data"]["outcome"] for r in responses) == ["applied"] + ["duplicate"] * 4
    assert person.wallet()["balance"] == 1_234
    assert ledger_of(app, deposit)["entries"] == [("deposit", 1_234, False)]
    assert clean(app)


def test_distinct_succeeded_events_for_one_payment_still_credit_once(app, client, pending, secret):
    person, deposit = pending(700)
    for _ in range(3):
        assert ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(deposit)), secret).status_code == 200
    assert person.wallet()["balance"] == 700


@pytest.mark.parametrize("problem", ["no header", "wrong secret", "stale", "body changed", "garbage header"])
def test_a_signature_that_does_not_check_out_is_400_and_writes_nothing(app, client, pending, secret, problem):
    person, deposit = pending(900)
    event = ev.event("payment_intent.succeeded", ev.intent(deposit))
    payload = ev.json.dumps(event).encode()
    before = counts(app)
    if problem == "body changed":
        tampered = ev.json.dumps({**event, "data": {"object": ev.intent(deposit, amount=90_000)}}).encode()
        response = client.post(ev.WEBHOOK, data=tampered, content_type="application/json",
                               headers={"Stripe-Signature": ev.signature(payload, secret)})
    else:
        header = {"no header": "", "wrong secret": ev.signature(payload, "whsec_not_ours"),
                  "stale": ev.signature(payload, secret, int(time.time()) - 301),
                  "garbage header": "t=abc,v1=zzz"}[problem]
        response = ev.deliver(client, event, secret, header=header)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    assert counts(app) == before
    assert person.wallet()["balance"] == 0


def test_an_amount_currency_or_metadata_mismatch_is_flagged_for_review_never_credited(app, client, pending, secret):
    for wrong in ({"amount": 2_501}, {"currency": "eur"}, {"metadata": {"transaction_id": None}}):
        person, deposit = pending(2_500)
        body = ev.intent(deposit)
        if "metadata" in wrong:
            body["metadata"] = {**body["metadata"], "user_id": str(uuid.uuid4())}
        else:
            body.update(wrong)
        assert ev.deliver(client, ev.event("payment_intent.succeeded", body), secret).status_code == 200
        assert person.wallet()["balance"] == 0
        tx = person.get(f"/transactions/{deposit.transaction_id}").json["data"]["transaction"]
        assert tx["status"] == "review"
        # the right event afterwards does not credit a deposit under review either
        ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(deposit)), secret)
        assert person.wallet()["balance"] == 0
    with app.app_context(), new_uow() as uow:
        flagged = uow.session.scalars(select(AuditLog).where(AuditLog.event == "deposit_review")
                                      .order_by(AuditLog.id.desc())).first()
    assert flagged.data["problems"]["user_id"]["got"] != flagged.data["problems"]["user_id"]["expected"]
    assert clean(app)


def test_a_declined_or_canceled_payment_fails_with_a_reason_and_credits_nothing(client, pending, secret):
    person, deposit = pending()
    declined = ev.intent(deposit, status="requires_payment_method", error="Your card was declined.")
    ev.deliver(client, ev.event("payment_intent.payment_failed", declined), secret)
    tx = person.get(f"/transactions/{deposit.transaction_id}").json["data"]["transaction"]
    assert (tx["status"], tx["metadata"]["reason"]) == ("failed", "Your card was declined.")
    # The person tries another card on the same PaymentIntent, and that one goes through.
    ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(deposit)), secret)
    assert person.wallet()["balance"] == 2_500
    # A late failure report never undoes the credit.
    ev.deliver(client, ev.event("payment_intent.payment_failed", declined), secret)
    assert person.get(f"/transactions/{deposit.transaction_id}").json["data"]["transaction"]["status"] == "completed"

    other, canceled = pending()
    ev.deliver(client, ev.event("payment_intent.canceled", ev.intent(canceled, status="canceled")), secret)
    tx = other.get(f"/transactions/{canceled.transaction_id}").json["data"]["transaction"]
    assert (tx["status"], tx["metadata"]["reason"]) == ("failed", "The payment was canceled.")


def test_unknown_events_and_payments_that_are_not_ours_are_acknowledged_and_ignored(client, secret):
    unknown = ev.deliver(client, ev.event("customer.created", {"id": "cus_1", "object": "customer"}), secret)
    assert (unknown.status_code, unknown.json["data"]["outcome"]) == (200, "ignored")
    foreign = {"id": "pi_not_ours", "object": "payment_intent", "amount": 100, "currency": "usd", "metadata": {}}
    response = ev.deliver(client, ev.event("payment_intent.succeeded", foreign), secret)
    assert (response.status_code, response.json["data"]["outcome"]) == (200, "ignored")


def test_a_signed_body_that_is_not_an_event_is_422(client, secret):
    payload = b'{"hello": "world"}'
    response = client.post(ev.WEBHOOK, data=payload, content_type="application/json",
                           headers={"Stripe-Signature": ev.signature(payload, secret)})
    assert response.status_code == 422 and response.json["error"]["code"] == "VALIDATION_ERROR"


def refund_story(deposit):
    """A $10 refund told three ways (refund.created, charge.refunded with its total), then a $5 one."""
    first = ev.refund(deposit, 1_000, refund_id=f"re_a_{deposit.payment_intent_id}")
    second = ev.refund(deposit, 500, refund_id=f"re_b_{deposit.payment_intent_id}")
    return [ev.event("payment_intent.succeeded", ev.intent(deposit)),
            ev.event("refund.created", first),
            ev.event("charge.refunded", ev.charge(deposit, amount_refunded=1_000)),
            ev.event("charge.refunded", ev.charge(deposit, amount_refunded=1_500, refunds=[first, second]))]


def test_refunds_in_any_order_and_any_number_of_times_leave_the_same_ledger(app, client, pending, secret):
    outcomes = []
    orders = [(0, 1, 2, 3), (3, 2, 1, 0), (1, 0, 0, 3, 2), (2, 3, 0, 0, 1, 3)]  # in order, reversed, duplicates
    for order in orders:
        person, deposit = pending(2_500)
        story = refund_story(deposit)
        for index in order:
            assert ev.deliver(client, story[index], secret).status_code == 200
        outcomes.append(ledger_of(app, deposit))
        assert person.wallet()["balance"] == 1_000
    assert all(outcome == outcomes[0] for outcome in outcomes), outcomes
    assert outcomes[0]["entries"] == [("deposit", 2_500, False), ("deposit_refund", -1_000, True),
                                      ("deposit_refund", -500, True)]
    assert outcomes[0]["refunded"] == 1_500
    assert clean(app)


def test_a_refund_before_the_payment_then_the_payment_twice(app, client, pending, secret):
    """The issue's case: refund first, then succeeded delivered twice (two event ids)."""
    person, deposit = pending(2_500)
    ev.deliver(client, ev.event("charge.refunded", ev.charge(deposit, amount_refunded=2_500)), secret)
    assert person.wallet()["balance"] == 0
    for _ in range(2):
        ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(deposit)), secret)
    assert person.wallet()["balance"] == 0
    assert ledger_of(app, deposit)["entries"] == [("deposit", 2_500, False), ("deposit_refund", -2_500, True)]
    assert clean(app)


def test_a_refund_of_money_already_spent_goes_below_zero_flags_and_blocks_sending(app, client, pending, secret,
                                                                                  wallets, monkeypatch):
    # The automatic risk hold this also sets off (it freezes the account) is test_risk_holds.py's: here, the
    # ledger's own block, which money added lifts.
    monkeypatch.setitem(app.config["RISK_RULES"], "negative_balance", {"enabled": False})
    person, deposit = pending(2_000)
    friend = wallets.user()
    ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(deposit)), secret)
    assert person.send(friend, 1_500).status_code == 201
    ev.deliver(client, ev.event("charge.refunded", ev.charge(deposit, amount_refunded=2_000)), secret)

    assert person.wallet()["balance"] == -1_500
    blocked = person.send(friend, 1)
    assert blocked.status_code == 403 and blocked.json["error"]["code"] == "ACCOUNT_FROZEN"
    assert "below zero" in blocked.json["error"]["message"]
    with app.app_context(), new_uow() as uow:
        flag = uow.session.scalars(select(AuditLog).where(AuditLog.stream == f"user:{person.id}",
                                                          AuditLog.event == "wallet_below_zero")).one()
    assert flag.data["balance"] == -1_500
    assert clean(app)
    # Money added brings it back to zero, and sending works again.
    topped_up, top_up = person, deposit_row(app, start(person, 2_000).json["data"]["transaction"]["id"])
    ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(top_up)), secret)
    assert topped_up.wallet()["balance"] == 500
    assert person.send(friend, 500).status_code == 201


@pytest.mark.parametrize("ending", ["lost", "won"])
def test_a_dispute_holds_the_amount_then_posts_or_releases_it(app, client, pending, secret, ending):
    person, deposit = pending(3_000)
    ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(deposit)), secret)
    ev.deliver(client, ev.event("charge.dispute.created", ev.dispute(deposit)), secret)
    wallet = person.wallet()
    assert (wallet["balance"], wallet["reserved"], wallet["available"]) == (3_000, 3_000, 0)
    assert clean(app)

    ev.deliver(client, ev.event("charge.dispute.closed", ev.dispute(deposit, status=ending)), secret)
    wallet = person.wallet()
    expected = (0, 0, 0) if ending == "lost" else (3_000, 0, 3_000)
    assert (wallet["balance"], wallet["reserved"], wallet["available"]) == expected
    entries = ledger_of(app, deposit)["entries"]
    assert entries == [("deposit", 3_000, False)] + ([("chargeback", -3_000, True)] if ending == "lost" else [])
    assert clean(app)


def test_dispute_events_in_any_order_leave_the_same_ledger(app, client, pending, secret):
    outcomes = []
    for order in itertools.permutations(range(3)):
        person, deposit = pending(1_000)
        story = [ev.event("payment_intent.succeeded", ev.intent(deposit)),
                 ev.event("charge.dispute.created", ev.dispute(deposit)),
                 ev.event("charge.dispute.closed", ev.dispute(deposit, status="lost"))]
        for index in order:
            ev.deliver(client, story[index], secret)
        outcomes.append(ledger_of(app, deposit))
        assert person.wallet()["balance"] == 0 and person.wallet()["reserved"] == 0
    assert all(outcome == outcomes[0] for outcome in outcomes), outcomes
    assert outcomes[0]["holds"] == [(1_000, "posted")]
    assert clean(app)
