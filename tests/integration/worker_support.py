"""Apps whose jobs go to the real Redis, on queues of their own (the Redis is shared by every test run),
and real RQ workers for them: in this process (rq's SimpleWorker) or as `ewallet worker` subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from rq import SimpleWorker

from tests.conftest import REDIS_URL, make_test_app
from webapp.background import QUEUES, queue_for

EWALLET = str(Path(sys.executable).parent / "ewallet")


@contextmanager
def queued_app(database_url: str, **overrides) -> Iterator:
    """An app that queues its jobs on Redis under a JOB_QUEUE of its own; its keys are removed after."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    app = make_test_app(database_url, REDIS_URL=REDIS_URL, JOB_QUEUE=prefix, **overrides)
    try:
        yield app
    finally:
        app.extensions["ewallet.db"].dispose()
        _forget(prefix)


def work(app, *, scheduler: bool = False) -> None:
    """Run every queued job of `app` in this process until its queues are empty (burst mode). With
    `scheduler`, first move the scheduled jobs that are due (retries) onto their queues."""
    queues = [queue_for(app.config, name) for name in QUEUES]
    with app.app_context():
        SimpleWorker(queues, connection=queues[0].connection).work(burst=True, with_scheduler=scheduler)


def worker_env(app, **extra) -> dict[str, str]:
    """The environment of an `ewallet worker` subprocess for `app`'s database and queues."""
    config = app.config
    env = {**os.environ, "DATABASE_URL": config["DATABASE_URL"], "EWALLET_ENV": "test", "REDIS_URL": REDIS_URL,
           "JOB_QUEUE": config["JOB_QUEUE"], "SECRET_KEY": config["SECRET_KEY"]}
    for name in ("PAYOUT_RETRY_MAX", "PAYOUT_RETRY_BASE", "PAYOUT_LEASE"):
        env[name] = str(config[name])
    return {**env, **{name: str(value) for name, value in extra.items()}}


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    """`ewallet worker` in a session of its own, so the test can kill it with its work horse."""
    return subprocess.Popen([EWALLET, "worker", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _forget(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    for key in list(redis.scan_iter(f"rq:*{prefix}*")):
        kind = redis.type(key)
        members = (redis.zrange(key, 0, -1) if kind == b"zset" else redis.lrange(key, 0, -1) if kind == b"list"
                   else [])
        for member in members:
            redis.delete(f"rq:job:{member.decode().split(':')[0]}")
        redis.delete(key)
    for key in redis.scan_iter(f"{prefix}-periodic-*"):
        redis.delete(key)
