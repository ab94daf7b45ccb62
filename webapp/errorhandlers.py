"""One place that turns every failure into what the caller can read: the JSON envelope under /api/,
a calm HTML page (or an inline message for HTMX) everywhere else."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from webapp.api import errors as api_errors
from webapp.errors import DomainError
from webapp.web import errors as web_errors


def _is_api() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return api_errors.domain_error(error) if _is_api() else web_errors.domain_error(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return api_errors.http_error(error) if _is_api() else web_errors.http_error(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        return api_errors.unexpected(error) if _is_api() else web_errors.unexpected(error)
