"""Structured JSON logs with the request id and user id on every line, and the request id on responses.

What we never log: passwords, tokens, card data, full phone numbers or account numbers. Request lines carry
the path without the query string, and nothing reads bodies or headers other than X-Request-ID.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, g, has_request_context, request

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("ewallet.access")
_encode = json.JSONEncoder(default=str).encode  # one encoder: json.dumps(default=...) builds one per line
# The request id a background job carries from the request that asked for it (webapp/background.py).
_carried: ContextVar[str | None] = ContextVar("carried_request_id", default=None)


class JsonFormatter(logging.Formatter):
    converter = time.gmtime  # the timestamp ends in Z, so UTC (the default is the host's local time)

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for key in ("method", "path", "status", "duration_ms", "event"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _encode(line)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            record.user_id = g.get("user_id")
        elif not hasattr(record, "request_id"):
            record.request_id = _carried.get()
        return True


def current_request_id() -> str | None:
    """The id of the request being served, or the one a running job carries; None elsewhere."""
    return g.get("request_id") if has_request_context() else _carried.get()


@contextmanager
def carried_request_id(request_id: str | None) -> Iterator[None]:
    """Log lines inside carry `request_id`: a job's lines name the request that asked for it."""
    token = _carried.set(request_id)
    try:
        yield
    finally:
        _carried.reset(token)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our access line replaces werkzeug's
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def init_request_logging(app: Flask) -> None:
    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        duration = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access_log.info("request", extra={"method": request.method, "path": _loggable_path(),
                                          "status": response.status_code, "duration_ms": round(duration, 1)})
        return response


def _loggable_path() -> str:
    """The path, unless its route carries a secret in a `<token>` part (a password-reset link): then the
    route's pattern, "/reset-password/<token>", so the access log never holds a usable link."""
    rule = request.url_rule
    return rule.rule if rule is not None and "<token>" in rule.rule else request.path
