"""RQ entry points (DESIGN §11): thin functions that take ids, open their own unit of work, call the same
services as the web, and send what those return. RQ imports them by name ("jobs.notices.money_received"),
so a job carries ids, never objects, and the code that runs is the code the worker has."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context
from rq import get_current_job

from webapp import logs

_app: Flask | None = None


@contextmanager
def app_context() -> Iterator[Flask]:
    """The app a job runs in, with the request id of the request that asked for the job on its log lines
    (webapp/background.py puts it in the job's meta)."""
    job = get_current_job()
    request_id = (job.meta or {}).get("request_id") if job is not None else logs.current_request_id()
    with _app_context() as app, logs.carried_request_id(request_id):
        yield app


@contextmanager
def _app_context() -> Iterator[Flask]:
    """Run inline after a commit (no Redis) or under `ewallet worker`, whose forked work horses inherit the
    command's app context, it is the one already there; anywhere else (a bare `rq worker`), one built from
    the environment once per process."""
    global _app
    if has_app_context():
        yield current_app._get_current_object()
        return
    if _app is None:
        from webapp import create_app

        _app = create_app()
    with _app.app_context():
        yield _app
