"""Operations endpoints: liveness, readiness (the database answers), Prometheus metrics."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

bp = Blueprint("ops", __name__)

REQUESTS = Counter("ewallet_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram("ewallet_http_request_seconds", "HTTP request latency", ["endpoint"])


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
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def init_metrics(app) -> None:
    @app.before_request
    def _clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        endpoint = request.endpoint or "unknown"  # the route name, never the raw path (unbounded labels)
        REQUESTS.labels(request.method, endpoint, response.status_code).inc()
        LATENCY.labels(endpoint).observe(time.perf_counter() - g.get("metrics_started", time.perf_counter()))
        return response
