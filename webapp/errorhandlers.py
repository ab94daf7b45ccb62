"""One place that turns every failure into what the caller can read: the JSON envelope under /api/,
a calm HTML page (or an inline message for HTMX) everywhere else."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from webapp.api import errors as api_errors
from webapp.db import is_retryable
from webapp.errors import DomainError, ServiceUnavailable
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

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError):
        """A lost connection or a deadlock outside a retried unit of work (the check of a token or a web
        session, a page's reads) is no bug: the next try will likely work, so 503, never 500."""
        if not is_retryable(error):
            return unexpected(error)
        current_app.logger.warning("database unavailable: %s", error.orig, extra={"event": "db.unavailable"})
        if not _is_api() and "_login_user" not in g:
            # The web session could not be checked (Flask-Login keeps its user in g._login_user): draw the
            # page as signed out, or drawing it would ask the database again and fail the same way.
            g._login_user = current_app.login_manager.anonymous_user()
        return domain_error(ServiceUnavailable())

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        return api_errors.unexpected(error) if _is_api() else web_errors.unexpected(error)
