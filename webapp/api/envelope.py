"""The response envelope, request parsing helpers and the bearer-token guard shared by API handlers."""

from __future__ import annotations

import functools

from flask import current_app, g, jsonify, request

from webapp.errors import Unauthorized, ValidationError
from webapp.money import MAX_MINOR
from webapp.services import tokens


def ok(data: dict, status: int = 200):
    return jsonify({"status": "success", "data": data}), status


def fail(code: str, message: str, status: int, details: dict | None = None):
    body = {"status": "error", "error": {"code": code, "message": message, "details": details or {}}}
    return jsonify(body), status


def json_body() -> dict:
    """The request's JSON object. Anything else (no body, malformed, an array) is a validation error."""
    if request.content_length and request.content_length > current_app.config["API_MAX_JSON_BYTES"]:
        raise PayloadTooLarge()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object in the request body.", details={"fields": {}})
    return body


class PayloadTooLarge(ValidationError):
    default_message = "The request body is too large."


def require_fields(body: dict, *names: str) -> None:
    missing = {name: "This field is required." for name in names if body.get(name) in (None, "")}
    if missing:
        raise ValidationError("Some required fields are missing.", details={"fields": missing})


def amount_field(body: dict, name: str = "amount") -> int:
    """Amounts are JSON integers of minor units: not floats, strings, booleans, zero or negatives."""
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError.field(name, "Send the amount as an integer number of minor units (cents).")
    if value <= 0:
        raise ValidationError.field(name, "The amount must be greater than zero.")
    if value > MAX_MINOR:
        raise ValidationError.field(name, "The amount is too large.")
    return value


def idempotency_key(body: dict) -> object:
    return body.get("idempotency_key") or request.headers.get("Idempotency-Key")


def login_required(view):
    """Bearer JWT access token → g.user_id; anything else is 401."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Send an access token: Authorization: Bearer <token>.")
        g.user_id = tokens.verify_access(current_app.config, token.strip())
        return view(*args, **kwargs)

    return wrapper
