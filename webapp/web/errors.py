"""HTML renderings of failures (placeholder until the web pages land)."""

from __future__ import annotations

from flask import current_app, g


def domain_error(error):
    return error.message, 422


def http_error(error):
    return error.description or error.name, error.code


def unexpected(error):
    current_app.logger.exception("unhandled error")
    return f"Something went wrong. Reference {g.get('request_id')}", 500
