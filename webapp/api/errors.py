"""Map domain errors and HTTP failures to the envelope. Nothing escapes as an HTML page or a stack trace.

Registered app-wide (see webapp/errorhandlers.py): routing failures such as an unknown /api/v1 path
never reach the blueprint's own handlers."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from webapp.api.envelope import PayloadTooLarge, fail
from webapp.errors import DomainError

STATUS = {
    "VALIDATION_ERROR": 422,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "INSUFFICIENT_FUNDS": 422,
    "CURRENCY_MISMATCH": 422,
    "LIMIT_EXCEEDED": 422,
    "KYC_REQUIRED": 403,
    "ACCOUNT_FROZEN": 403,
    "IDEMPOTENCY_CONFLICT": 409,
    "RATE_LIMITED": 429,
    "PROVIDER_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}
HTTP_CODES = {400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
              405: "METHOD_NOT_ALLOWED", 413: "VALIDATION_ERROR", 415: "VALIDATION_ERROR",
              429: "RATE_LIMITED"}


def domain_error(error: DomainError):
    status = 413 if isinstance(error, PayloadTooLarge) else STATUS.get(error.code, 422)
    return fail(error.code, error.message, status, error.details)


def http_error(error: HTTPException):
    code = HTTP_CODES.get(error.code, "VALIDATION_ERROR" if error.code < 500 else "INTERNAL_ERROR")
    messages = {413: "The request body is too large.", 429: "Too many requests; slow down and retry.",
                404: "Not found.", 405: "This method is not allowed here."}
    return fail(code, messages.get(error.code, error.description or error.name), error.code)


def unexpected(error: Exception):
    current_app.logger.exception("unhandled error in %s %s", request.method, request.path)
    return fail("INTERNAL_ERROR", "Something went wrong on our side.", 500,
                {"correlation_id": g.get("request_id")})
