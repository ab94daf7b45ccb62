"""The response envelope, request parsing helpers and the bearer-token guards shared by API handlers."""

from __future__ import annotations

import functools
import json

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.errors import Forbidden, Unauthorized, ValidationError
from webapp.extensions import new_uow
from webapp.money import MAX_MINOR
from webapp.services import accounts, tokens


def ok(data: dict, status: int = 200):
    return jsonify({"status": "success", "data": data}), status


def fail(code: str, message: str, status: int, details: dict | None = None):
    body = {"status": "error", "error": {"code": code, "message": message, "details": details or {}}}
    return jsonify(body), status


def json_body() -> dict:
    """The request's JSON object. Anything else (no body, malformed, an array, nesting deeper than the
    decoder allows, lone UTF-16 surrogates the database cannot store) is a validation error.

    Over the size limit is a 413, also for a chunked body with no Content-Length: Werkzeug stops reading
    a stream at max_content_length without complaint, so we read one byte more and look."""
    config = current_app.config
    limit = min(filter(None, (config["API_MAX_JSON_BYTES"], config["MAX_CONTENT_LENGTH"])))
    request.max_content_length = limit + 1
    if len(request.get_data(cache=True)) > limit:
        raise RequestEntityTooLarge()
    try:
        body = json.loads(request.get_data(cache=True), object_pairs_hook=_unique_keys) if request.is_json else None
    except DuplicateKey as duplicate:
        raise ValidationError.field(duplicate.name, "Send this field only once.") from None
    except (ValueError, RecursionError):  # malformed JSON (JSONDecodeError, bad UTF-8) or nested too deep
        body = None
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object in the request body.", details={"fields": {}})
    if not _encodable(body):
        raise ValidationError("Text in the request body must be valid Unicode.", details={"fields": {}})
    return body


class DuplicateKey(ValueError):
    """A JSON object in the body names this key twice."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """Every JSON object in the body, at any depth, with each key once. The standard decoder keeps the
    last of two equal keys; another parser in front of us (a proxy, a gateway, an audit log) may keep the
    first, so {"amount": 1, "amount": 200} would mean two things. It means nothing: a field error."""
    body = dict(pairs)
    if len(body) != len(pairs):
        names = [name for name, _ in pairs]
        raise DuplicateKey(next(name for index, name in enumerate(names) if name in names[:index]))
    return body


def _encodable(value: object) -> bool:
    """True when every string in the decoded body is valid UTF-8 (JSON allows "\\ud800"; MySQL does not)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def missing_fields(body: dict, *names: str) -> dict[str, str]:
    return {name: "This field is required." for name in names if body.get(name) in (None, "")}


def raise_for(fields: dict[str, str], message: str = "Some fields are missing or not valid.") -> None:
    if fields:
        raise ValidationError(message, details={"fields": fields})


def require_fields(body: dict, *names: str) -> None:
    raise_for(missing_fields(body, *names), "Some required fields are missing.")


def require_strings(body: dict, *names: str) -> None:
    raise_for({name: "Send this field as a string." for name in names
               if body.get(name) is not None and not isinstance(body[name], str)})


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
    """The client's key, from the body or the Idempotency-Key header (DESIGN §7). Both, and different, is
    a 422: which one the client meant can't be known, and a guess could move money twice."""
    header, key = request.headers.get("Idempotency-Key"), body.get("idempotency_key")
    if key is None:
        return header
    if header is not None and header != key:
        raise ValidationError.field("idempotency_key", "Send the key once: in the body or in the "
                                    "Idempotency-Key header, not two different ones.")
    return key


def login_required(view):
    """Bearer JWT access token → g.user_id; anything else, or a token from before the user's last password
    change or "sign out everywhere", is 401."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send an access token: Authorization: Bearer <token>.")
        g.user_id = tokens.check_access(new_uow(), token=token.strip())
        return view(*args, **kwargs)

    return wrapper


def role_required(role: str):
    """For operator endpoints: put under @login_required. Ordinary users get 403 FORBIDDEN."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = accounts.get_user(new_uow(), g.user_id)
            if user is None or user.role != role:
                raise Forbidden(f"This needs the {role} role.")
            return view(*args, **kwargs)

        return wrapper

    return decorator
