"""Operations endpoints: liveness, readiness (the database answers), Prometheus metrics.

/metrics is not public: it answers only `Authorization: Bearer <METRICS_TOKEN>`, and with no token
configured it does not exist (404). Under gunicorn each worker is its own process with its own counters;
with PROMETHEUS_MULTIPROC_DIR set, prometheus-client keeps them in files there and /metrics adds up every
worker's, including workers that have since exited (webapp/gunicorn_conf.py).
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from sqlalchemy import text

bp = Blueprint("ops", __name__)

REQUESTS = Counter("ewallet_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram("ewallet_http_request_seconds", "HTTP request latency", ["endpoint"])
# Label values must stay a small set: a method outside this list counts as "OTHER", because gunicorn
# accepts any upper-case token as a method and each new value would be a new series kept forever.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# (method, endpoint, status) -> (counter child, histogram child). `.labels()` validates and stringifies
# its arguments and takes a lock on every call; the children it returns never change, so keep them.
_series: dict[tuple[str, str, int], tuple] = {}


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    try:
        with current_app.extensions["ewallet.db"].engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready", and the reason goes to the log
        current_app.logger.exception("readiness check failed")
        return {"status": "unavailable", "checks": {"database": "down"}}, 503
    return {"status": "ok", "checks": {"database": "up"}}


@bp.get("/metrics")
def metrics():
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the time taken must not tell a caller how much of a guessed token was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), token.encode()):
        return Response("unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    return Response(_exposition(), mimetype=CONTENT_TYPE_LATEST)


def _exposition() -> bytes:
    # Read from the environment, not app config: prometheus-client picks file-backed values when it is
    # first imported, so the variable only works if it was set before the process started.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()  # fresh: the default one would add this worker's own values again
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def init_metrics(app) -> None:
    @app.before_request
    def _clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        endpoint = request.endpoint or "unknown"  # the route name, never the raw path (unbounded labels)
        counter, histogram = _children(request.method, endpoint, response.status_code)
        counter.inc()
        histogram.observe(time.perf_counter() - g.get("metrics_started", time.perf_counter()))
        return response


def _children(method: str, endpoint: str, status: int) -> tuple:
    key = (method if method in METHODS else "OTHER", endpoint, status)
    children = _series.get(key)
    if children is None:  # two threads racing here get the same children back from .labels()
        children = _series[key] = (REQUESTS.labels(*key), LATENCY.labels(endpoint))
    return children
