"""Work that follows a commit, such as the emails about what just happened (DESIGN §11).

With REDIS_URL set the work is an RQ job on the `default` queue, enqueued by name with ids only, so a
request pays one Redis round trip and the worker (`ewallet worker`) does the rest. Without Redis
(`ewallet dev`, most tests) the same job function runs right here, once the transaction has committed.

Either way a failure to enqueue or to run is logged and swallowed: the change it follows is already
committed, and the person must still get their answer (a receipt, the "check your email" page).
"""

from __future__ import annotations

import logging

from redis import Redis
from rq import Queue, Retry
from werkzeug.utils import import_string

from webapp.db import UnitOfWork

log = logging.getLogger(__name__)
DEFAULT_QUEUE = "default"
# An SMTP server that is down now is often up in a few minutes; the worker's scheduler runs the retries.
RETRY = Retry(max=3, interval=[30, 300, 1800])
_redis: dict[str, Redis] = {}  # one client (and connection pool) per URL, shared by the threads


def after_commit(uow: UnitOfWork, job: str, *ids: str) -> None:
    """Run `job` (a dotted name, e.g. "jobs.notices.money_received") with `ids` once `uow` commits."""
    config = uow.config
    uow.after_commit.append(lambda: run(config, job, *ids))


def run(config: dict, job: str, *ids: str) -> None:
    try:
        if config.get("REDIS_URL"):
            queue_for(config).enqueue(job, *ids, retry=RETRY)
        else:
            import_string(job)(*ids)
    except Exception:  # noqa: BLE001 - see the module docstring; jobs log nothing secret in their errors
        log.exception("background job %s failed to %s", job, "enqueue" if config.get("REDIS_URL") else "run")


def queue_for(config: dict) -> Queue:
    """The queue jobs go to (JOB_QUEUE, "default" unless several deployments, or test runs, share a Redis)."""
    url = config["REDIS_URL"]
    connection = _redis.get(url)
    if connection is None:
        connection = _redis[url] = Redis.from_url(url)
    return Queue(config.get("JOB_QUEUE", DEFAULT_QUEUE), connection=connection)
