"""Real threads against MariaDB: the properties money depends on when requests race."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

from sqlalchemy import func, select

from webapp.config import limit_table
from webapp.extensions import new_uow
from webapp.models import Transaction
from webapp.services import reconciliation


def race(app, count: int, call):
    """Run `call(client, i)` on `count` threads released together; return the responses in order."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(i):
        client = app.test_client()
        barrier.wait()
        results[i] = call(client, i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def transfer_body(sender, recipient, amount, key=None):
    return {"from_wallet_id": sender.wallet()["id"], "to_email": recipient.email, "amount": amount,
            "currency": "USD", "idempotency_key": key or uuid.uuid4().hex}


def post(client, user, body):
    return client.post("/api/v1/transfers", json=body, headers=user.headers)


def test_fifty_racing_transfers_from_a_wallet_holding_ten(app, wallets):
    sender = wallets.user(balance=10 * 700)
    recipients = [wallets.user() for _ in range(5)]
    bodies = [transfer_body(sender, recipients[i % 5], 700) for i in range(50)]

    responses = race(app, 50, lambda client, i: post(client, sender, bodies[i]))

    outcomes = Counter((r.status_code, r.json["status"] == "success" or r.json["error"]["code"]) for r in responses)
    assert outcomes == {(201, True): 10, (422, "INSUFFICIENT_FUNDS"): 40}
    assert sender.wallet()["balance"] == 0
    assert sum(r.wallet()["balance"] for r in recipients) == 7_000
    with app.app_context():
        report = reconciliation.reconcile(new_uow())
    assert report.ok, report.drifts


def test_opposite_transfers_at_once_never_fail_on_deadlock(app, wallets):
    alice, bob = wallets.user(balance=100_000), wallets.user(balance=100_000)
    bodies = [transfer_body(alice, bob, 100) if i % 2 else transfer_body(bob, alice, 100) for i in range(40)]
    senders = [alice if i % 2 else bob for i in range(40)]

    responses = race(app, 40, lambda client, i: post(client, senders[i], bodies[i]))

    assert [r.status_code for r in responses] == [201] * 40, [r.json for r in responses if r.status_code != 201]
    assert alice.wallet()["balance"] == bob.wallet()["balance"] == 100_000


def test_twenty_copies_of_one_request_make_one_transfer(app, wallets):
    alice, bob = wallets.user(balance=50_000), wallets.user()
    body = transfer_body(alice, bob, 1_234, key="pay-bob-once")

    responses = race(app, 20, lambda client, i: post(client, alice, body))

    assert {r.status_code for r in responses} == {201}
    assert len({r.get_data() for r in responses}) == 1  # byte-identical answers
    assert alice.wallet()["balance"] == 50_000 - 1_234
    assert bob.wallet()["balance"] == 1_234
    with app.app_context(), new_uow() as uow:
        debits = uow.session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.user_id == alice.id, Transaction.kind == "transfer"))
    assert debits == 1


def test_same_key_with_a_different_request_is_a_conflict(app, wallets):
    alice, bob = wallets.user(balance=50_000), wallets.user()
    first = post(app.test_client(), alice, transfer_body(alice, bob, 500, key="k-1"))
    again = post(app.test_client(), alice, transfer_body(alice, bob, 500, key="k-1"))
    changed = post(app.test_client(), alice, transfer_body(alice, bob, 501, key="k-1"))
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert changed.status_code == 409
    assert changed.json["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert bob.wallet()["balance"] == 500


def test_racing_different_bodies_on_one_key_move_money_once(app, wallets):
    alice, bob = wallets.user(balance=50_000), wallets.user()
    bodies = [transfer_body(alice, bob, 100 + (i % 2), key="contested") for i in range(10)]

    responses = race(app, 10, lambda client, i: post(client, alice, bodies[i]))

    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {201, 409} and codes[201] >= 1
    assert bob.wallet()["balance"] in (100, 101)


def test_racing_transfers_never_pass_the_daily_limit(database_url, wallets):
    """Thirty racing transfers from one wallet against a $50 daily limit: the day's total is read and
    written under the wallet's lock, so exactly as many get through as fit."""
    from tests.conftest import make_test_app

    app = make_test_app(database_url, LIMITS=limit_table({"LIMIT_VERIFIED_SEND_DAILY": "*:50"}))  # $50 a day
    try:
        limited = type(wallets)(app, app.test_client())
        sender = limited.user(balance=100_000, kyc="verified")
        recipients = [limited.user() for _ in range(3)]
        bodies = [transfer_body(sender, recipients[i % 3], 700) for i in range(30)]

        responses = race(app, 30, lambda client, i: post(client, sender, bodies[i]))

        outcomes = Counter((r.status_code, r.json["status"] == "success" or r.json["error"]["code"]) for r in responses)
        assert outcomes == {(201, True): 7, (422, "LIMIT_EXCEEDED"): 23}  # 7 × $7 = $49
        assert sender.wallet()["balance"] == 100_000 - 4_900
        with app.app_context():
            assert reconciliation.reconcile(new_uow()).ok
    finally:
        app.extensions["ewallet.db"].dispose()
