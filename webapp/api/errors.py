"""Map domain errors and HTTP failures to the envelope. Nothing escapes as an HTML page or a stack trace.

Registered app-wide (see webapp/errorhandlers.py): routing failures such as an unknown /api/v1 path
never reach the blueprint's own handlers."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from webapp.api.envelope import fail
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
    "PIN_REQUIRED": 403,
    "PIN_INVALID": 403,
    "IDEMPOTENCY_CONFLICT": 409,
    "RATE_LIMITED": 429,
    "PROVIDER_UNAVAILABLE": 503,
    "SERVICE_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}
# Transport-level failures keep their HTTP status. 405 has no DESIGN code, so it gets its own;
# an oversized or unreadable body is a validation problem with the status HTTP gives it (413, 415).
HTTP_CODES = {400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
              405: "METHOD_NOT_ALLOWED", 413: "VALIDATION_ERROR", 415: "VALIDATION_ERROR",
              429: "RATE_LIMITED"}
MESSAGES = {413: "The request body is too large.", 429: "Too many requests; slow down and retry.",
            404: "Not found.", 405: "This method is not allowed here."}
ERROR_CODES = sorted(set(STATUS) | set(HTTP_CODES.values()))


def domain_error(error: DomainError):
    retry_after = getattr(error, "retry_after", None)
    if retry_after is None:
        return fail(error.code, error.message, STATUS.get(error.code, 422), error.details)
    # An outage (PROVIDER_UNAVAILABLE, SERVICE_UNAVAILABLE): when to retry, and the request id support can
    # look up.
    response, status = fail(error.code, error.message, STATUS.get(error.code, 503),
                            {**error.details, "correlation_id": g.get("request_id")})
    response.headers["Retry-After"] = str(retry_after)
    return response, status


def http_error(error: HTTPException):
    if error.code >= 500:
        return _internal(error.code)
    code = HTTP_CODES.get(error.code, "VALIDATION_ERROR")
    response, status = fail(code, MESSAGES.get(error.code, error.description or error.name), error.code)
    for name, value in error.get_headers():  # Allow on 405, Retry-After on 429
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def unexpected(error: Exception):
    current_app.logger.exception("unhandled error in %s %s", request.method, request.path)
    return _internal(500)


def _internal(status: int):
    """The correlation id is the request id, also sent as X-Request-ID and on every log line."""
    return fail("INTERNAL_ERROR", "Something went wrong on our side.", status,
                {"correlation_id": g.get("request_id")})
