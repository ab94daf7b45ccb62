"""Work that follows a commit: the emails about what just happened, payouts to banks (DESIGN §11).

With REDIS_URL set the work is an RQ job, enqueued by name with ids only, so a request pays one Redis
round trip and the worker (`ewallet worker`) does the rest. Without Redis (`ewallet dev`, most tests) the
same job function runs right here, once the transaction has committed.

Queues: `payouts`, `topups` and `default`, taken in that order by every worker. JOB_QUEUE names the
default queue ("default" unless several deployments, or test runs, share a Redis); when it is not
"default" it also prefixes the others ("test-1a2b" → "test-1a2b-payouts"), so each keeps to its own.

Either way a failure to enqueue or to run is logged and swallowed: the change it follows is already
committed, and the person must still get their answer (a receipt, the "check your email" page). What a
job leaves undone is found again by the scheduler's sweeps (jobs/periodic.py).
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from rq import Queue, Retry
from werkzeug.utils import import_string

from webapp import logs
from webapp.db import UnitOfWork

log = logging.getLogger(__name__)
DEFAULT_QUEUE, PAYOUTS, TOPUPS = "default", "payouts", "topups"
QUEUES = (PAYOUTS, TOPUPS, DEFAULT_QUEUE)  # a worker takes money leaving the wallet first
# An SMTP server that is down now is often up in a few minutes; the worker's scheduler runs the retries.
RETRY = Retry(max=3, interval=[30, 300, 1800])
INLINE_PAUSE = 0.05  # seconds before the first inline retry, doubled for each next one
_redis: dict[str, Redis] = {}  # one client (and connection pool) per URL, shared by the threads


class RetryLater(Exception):  # noqa: N818 - it names what happens next, not a fault
    """Raised by a job whose outside call failed in a way worth trying again (a bank that timed out). RQ
    runs the job again after its Retry interval; run inline (no Redis), it runs again here after a short
    pause, up to the same number of times, so `ewallet dev` still sees the outcome within the request."""


def after_commit(uow: UnitOfWork, job: str, *ids: str, queue: str = DEFAULT_QUEUE, retry: Retry = RETRY,
                 timeout: int | None = None) -> None:
    """Run `job` (a dotted name, e.g. "jobs.notices.money_received") with `ids` once `uow` commits. The
    request id of the request that asked for it rides along in the job's meta, for its log lines."""
    config, meta = uow.config, {"request_id": logs.current_request_id()}
    uow.after_commit.append(lambda: run(config, job, *ids, queue=queue, retry=retry, meta=meta, timeout=timeout))


def run(config: dict, job: str, *ids: str, queue: str = DEFAULT_QUEUE, retry: Retry = RETRY,
        meta: dict | None = None, timeout: int | None = None) -> None:
    """Enqueue `job` now (or, without Redis, run it now)."""
    try:
        if config.get("REDIS_URL"):
            queue_for(config, queue).enqueue(job, *ids, retry=retry, meta=meta or {}, job_timeout=timeout)
        else:
            _run_inline(import_string(job), ids, retry)
    except Exception:  # noqa: BLE001 - see the module docstring; jobs log nothing secret in their errors
        log.exception("background job %s failed to %s", job, "enqueue" if config.get("REDIS_URL") else "run")


def _run_inline(function, ids: tuple, retry: Retry) -> None:
    for attempt in range(retry.max + 1):
        try:
            return function(*ids)
        except RetryLater:
            if attempt == retry.max:
                raise
            time.sleep(INLINE_PAUSE * 2**attempt)


def queue_name(config: dict, name: str = DEFAULT_QUEUE) -> str:
    base = config.get("JOB_QUEUE") or DEFAULT_QUEUE
    if name == DEFAULT_QUEUE:
        return base
    return name if base == DEFAULT_QUEUE else f"{base}-{name}"


def redis_for(config: dict) -> Redis:
    url = config["REDIS_URL"]
    connection = _redis.get(url)
    if connection is None:
        connection = _redis[url] = Redis.from_url(url)
    return connection


def queue_for(config: dict, name: str = DEFAULT_QUEUE) -> Queue:
    """The RQ queue `name` ("payouts", "topups", "default") of this deployment (see the module docstring)."""
    return Queue(queue_name(config, name), connection=redis_for(config))
