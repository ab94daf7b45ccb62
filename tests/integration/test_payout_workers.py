"""Payouts on the real Redis with real RQ workers: in this process (rq's SimpleWorker, burst mode) and as
`ewallet worker` subprocesses, one of them killed with SIGKILL while the bank call is in flight."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.integration.payout_scenarios import bank_account, in_flight_postings, reconciled, row, withdraw
from tests.integration.worker_support import queued_app, start_worker, work, worker_env
from webapp import background
from webapp.extensions import new_uow
from webapp.logs import JsonFormatter, RequestContextFilter
from webapp.services import payout_runs, payouts


def as_client_of(app, user):
    """`user` (an ApiUser of the session's app) talking to `app` instead: same database, same token."""
    user.client = app.test_client()
    return user


@contextmanager
def json_logs() -> Iterator[list[dict]]:
    lines: list[dict] = []
    handler = logging.Handler(logging.INFO)
    handler.addFilter(RequestContextFilter())
    handler.emit = lambda record: lines.append(json.loads(JsonFormatter().format(record)))
    logging.getLogger().addHandler(handler)
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(handler)


def test_the_request_queues_the_payout_and_a_worker_pays_it_with_the_request_id_in_its_logs(database_url, wallets):
    with queued_app(database_url) as app:
        alice = as_client_of(app, wallets.user(balance=5_000, kyc="verified"))
        made = alice.client.post("/api/v1/payouts/bank", headers={**alice.headers, "X-Request-ID": "req-payout-1"},
                                 json={"wallet_id": alice.wallet()["id"], "bank_account_id": bank_account(alice),
                                       "amount": 1_200, "idempotency_key": "w-1"}).json["data"]["payout"]
        assert made["status"] == "pending" and alice.wallet()["reserved"] == 1_200
        [job] = background.queue_for(app.config, background.PAYOUTS).get_jobs()
        assert job.func_name == payouts.JOB and job.args == (made["id"],)  # the id, nothing else
        assert job.meta == {"request_id": "req-payout-1"} and job.retries_left == app.config["PAYOUT_RETRY_MAX"]
        with json_logs() as lines:
            work(app)
        assert {"msg": f"payout {made['id']}: paid", "request_id": "req-payout-1"}.items() <= \
            next(line for line in lines if line["msg"].startswith("payout ")).items()
        assert row(app, made["id"]).status == "paid" and alice.wallet()["balance"] == 3_800
        assert reconciled(app)


def test_a_bank_that_times_out_is_retried_with_backoff_and_pays_once_though_the_job_runs_twice(database_url, wallets):
    with queued_app(database_url, PAYOUT_RETRY_BASE=1) as app:
        alice = as_client_of(app, wallets.user(balance=5_000, kyc="verified"))
        payout_id = withdraw(alice, bank_account(alice, "0005"), 2_000).json["data"]["payout"]["id"]
        background.run(app.config, payouts.JOB, payout_id, queue=background.PAYOUTS)  # a twin of its job
        started, seen = time.monotonic(), []
        while row(app, payout_id).status != "paid" and time.monotonic() - started < 30:
            work(app, scheduler=True)
            seen.append((row(app, payout_id).status, row(app, payout_id).retries))
            time.sleep(0.3)
        payout = row(app, payout_id)
        assert (payout.status, payout.retries) == ("paid", 2), seen
        assert ("pending", 2) in seen  # the second timeout waited for its backoff (2 s)
        work(app, scheduler=True)  # whatever retries are left run and find nothing to do
        background.run(app.config, payouts.JOB, payout_id, queue=background.PAYOUTS)
        work(app)
        assert in_flight_postings(app, payout_id) == 1 and alice.wallet()["balance"] == 3_000
        assert alice.wallet()["reserved"] == 0 and reconciled(app)


def test_a_worker_killed_during_the_bank_call_leaves_the_payout_to_be_paid_once_after_a_restart(database_url, wallets):
    """The bank has the payout when the worker dies (SANDBOX_PAYOUT_DELAY: its answer is slow). The payout
    stays processing with its money held until its lease runs out; the sweep queues it again, the next
    worker calls the bank with the same key, and it is paid once."""
    with queued_app(database_url, PAYOUT_LEASE=2) as app:
        alice = as_client_of(app, wallets.user(balance=5_000, kyc="verified"))
        payout_id = withdraw(alice, bank_account(alice), 2_500).json["data"]["payout"]["id"]
        doomed = start_worker(worker_env(app, SANDBOX_PAYOUT_DELAY=60), "--burst")
        try:
            deadline = time.monotonic() + 60
            while row(app, payout_id).status != "processing" and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # inside the bank call
        finally:
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.communicate()
        assert row(app, payout_id).status == "processing"
        assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (5_000, 2_500)  # held, not lost
        with app.app_context():
            assert payout_runs.sweep(new_uow()) == 0  # its lease has not run out: it may still be working
            time.sleep(2)
            assert payout_runs.sweep(new_uow()) == 1
        again = start_worker(worker_env(app), "--burst")
        _, errors = again.communicate(timeout=120)
        assert again.returncode == 0, errors
        assert row(app, payout_id).status == "paid" and in_flight_postings(app, payout_id) == 1
        assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (2_500, 0) and reconciled(app)
