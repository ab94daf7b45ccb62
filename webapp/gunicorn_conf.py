"""gunicorn settings for production: `gunicorn -c python:webapp.gunicorn_conf ... 'webapp:create_app()'`.

Metrics under several workers: each worker is a process with its own counters, so a scrape answered by
one worker would see only its share. With PROMETHEUS_MULTIPROC_DIR set (before gunicorn starts, so every
process imports prometheus-client in multiprocess mode), each process writes its values to files there
and /metrics adds them up (webapp/ops.py). The master clears the old files at start, because counters
from a previous run would otherwise be added to this run's, and tells prometheus-client when a worker
exits, so the dead worker's live gauges drop out while its counts stay in the totals.

Server header: since gunicorn 20.1 the header is a bare `Server: gunicorn`, with no version (the version
only reaches the WSGI environ's SERVER_SOFTWARE, which the app never echoes), so nothing needs setting
here; tests/integration/test_http.py starts a real gunicorn and checks the header has no digits.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# The file names prometheus-client gives its per-process files: counter_123.db, gauge_livesum_123.db, ...
# Only these are removed, in case the variable points at a directory that also holds something else.
_METRIC_FILE = re.compile(r"^(counter|histogram|summary|gauge_[a-z]+)_\d+\.db$")


def _multiproc_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def on_starting(server) -> None:
    """In the master, before any worker forks: start this run's counters from zero."""
    directory = _multiproc_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        if _METRIC_FILE.match(path.name):
            path.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """In the master, after a worker has exited (crash, timeout, max_requests or a reload)."""
    if _multiproc_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
