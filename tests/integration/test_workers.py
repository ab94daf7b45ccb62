"""The workers' plumbing on the real Redis: the queues a worker takes work from, the periodic tick that
schedules itself once per slot, and the request id that rides along into a job."""

from __future__ import annotations

import time
import uuid

import pytest
from rq.registry import ScheduledJobRegistry

from tests.conftest import PASSWORD
from tests.integration.worker_support import queued_app
from webapp.background import QUEUES, queue_for, queue_name


@pytest.mark.parametrize(("job_queue", "expected"), [
    ("default", ["payouts", "topups", "default"]),
    ("", ["payouts", "topups", "default"]),
    ("blue", ["blue-payouts", "blue-topups", "blue"]),
])
def test_queues_keep_to_their_deployment(job_queue, expected):
    assert [queue_name({"JOB_QUEUE": job_queue}, name) for name in QUEUES] == expected


@pytest.fixture()
def app(database_url):
    with queued_app(database_url, PERIODIC_INTERVAL=30) as app:
        yield app


def test_the_periodic_tick_is_one_job_per_slot_however_often_it_is_scheduled(app):
    from jobs import periodic

    now = time.time()
    ids = {periodic.schedule(app.config, after=now) for _ in range(3)}
    registry = ScheduledJobRegistry(queue=queue_for(app.config))
    assert len(ids) == 1 and registry.get_job_ids() == list(ids)
    [job_id] = ids
    slot = int(job_id.rsplit("-", 1)[1])
    assert slot * 30 > now >= (slot - 1) * 30  # the first slot that starts after now


def test_a_tick_schedules_the_next_one_first_then_runs_each_task_once(app):
    from jobs import periodic

    with app.app_context():
        done = periodic.tick(slot=12345)
        assert set(done) == set(periodic.TASKS) and all(isinstance(n, int) for n in done.values())
        assert periodic.tick(slot=12345) == {}  # this slot ran already
    assert len(ScheduledJobRegistry(queue=queue_for(app.config)).get_job_ids()) == 1


def test_the_request_id_of_the_request_rides_into_its_job(app, wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD}).json["data"]
    body = {"from_wallet_id": alice.wallet()["id"], "to_email": bob.email, "amount": 100, "currency": "USD",
            "idempotency_key": uuid.uuid4().hex}
    headers = {"Authorization": f"Bearer {token['access_token']}", "X-Request-ID": "req-7f3a"}
    sent = client.post("/api/v1/transfers", json=body, headers=headers)
    assert sent.status_code == 201
    jobs = {job.func_name: job for job in queue_for(app.config).get_jobs()}
    assert set(jobs) == {"jobs.notices.money_received", "jobs.risk.new_recipients"}  # each after the commit
    assert all(job.meta == {"request_id": "req-7f3a"} for job in jobs.values())
    assert jobs["jobs.risk.new_recipients"].args[0] == alice.id  # ids in: the sender, and when
