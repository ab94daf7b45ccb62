"""Helpers shared by the test_api_* modules (named test_* only so it sits with them; it holds no tests):
what a client checks on every error, a rate-limited app, and a tiny JSON-schema checker for the OpenAPI
document (no jsonschema dependency)."""

from __future__ import annotations

import itertools
import random
import re
import uuid
from contextlib import contextmanager

from tests.conftest import PASSWORD, REDIS_URL, make_test_app
from webapp.extensions import limiter, new_uow
from webapp.models import User

RATELIMIT_KEY_PREFIX = f"ewallet-test-{uuid.uuid4().hex[:10]}"  # fresh counters in the shared Redis each run
_phones = itertools.count(random.randrange(2_000_000, 9_000_000, 1000))


def unique_phone() -> str:
    """A New York number: another area code than conftest's, so the two counters never collide."""
    return f"+1646{next(_phones)}"


def unique_email(prefix: str = "api") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def registration(**overrides) -> dict:
    return {"email": unique_email(), "password": PASSWORD, "phone": unique_phone(), **overrides}


def assert_json(response) -> dict:
    assert response.content_type == "application/json", (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def assert_error(response, status: int, code: str) -> dict:
    """The envelope a client switches on: status, code, a message and a details object. Returns `error`."""
    body = assert_json(response)
    assert response.status_code == status, body
    assert set(body) == {"status", "error"} and body["status"] == "error", body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert "Traceback" not in response.get_data(as_text=True)
    return error


def assert_field_error(response, *fields: str) -> dict:
    error = assert_error(response, 422, "VALIDATION_ERROR")
    for field in fields:
        assert field in error["details"].get("fields", {}), error
    return error


def assert_success(response, status: int = 200) -> dict:
    body = assert_json(response)
    assert response.status_code == status, body
    assert set(body) == {"status", "data"} and body["status"] == "success", body
    return body["data"]


def set_user(app, user_id: str, **values) -> None:
    """Change a user row directly, the way an operator's back office would."""
    with app.app_context(), new_uow() as uow:
        user = uow.session.get(User, user_id)
        for name, value in values.items():
            setattr(user, name, value)
        uow.commit()


@contextmanager
def rate_limited_app(database_url: str, **overrides):
    """An app with Flask-Limiter on Redis. The limiter is one module-level object whose `enabled` flag is
    shared by every app in the process (see the report on webapp/extensions.py), so switch it back after."""
    was_enabled = limiter.enabled
    app = make_test_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL,
                        RATELIMIT_KEY_PREFIX=RATELIMIT_KEY_PREFIX, **overrides)
    try:
        yield app
    finally:
        limiter.enabled = was_enabled
        app.extensions["ewallet.db"].dispose()


def fresh_address() -> dict:
    """environ_base for a client address of its own, so per-IP counters start at zero."""
    return {"REMOTE_ADDR": f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"}


# --- A tiny JSON Schema checker: the subset build_spec() uses. ---------------------------------------------

FORMATS = {
    "uuid": re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
    "date-time": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"),
    "email": re.compile(r"^[^@\s]+@[^@\s]+$"),
}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def resolve(spec: dict, pointer: str) -> dict:
    node = spec
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part]
    return node


def schema_errors(spec: dict, schema: dict, value, where: str = "$") -> list[str]:
    if "$ref" in schema:
        return schema_errors(spec, resolve(spec, schema["$ref"]), value, where)
    errors = [e for sub in schema.get("allOf", []) for e in schema_errors(spec, sub, value, where)]
    if "oneOf" in schema and sum(not schema_errors(spec, sub, value, where) for sub in schema["oneOf"]) != 1:
        errors.append(f"{where}: matches not exactly one of oneOf")
    types = schema.get("type")
    if types and not any(TYPES[t](value) for t in ([types] if isinstance(types, str) else types)):
        return [*errors, f"{where}: expected {types}, got {type(value).__name__} {value!r:.60}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: expected {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str) and schema.get("format") in FORMATS and not FORMATS[schema["format"]].match(value):
        errors.append(f"{where}: {value!r} is not a {schema['format']}")
    if TYPES["number"](value) and value < schema.get("minimum", value):
        errors.append(f"{where}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        errors += _object_errors(spec, schema, value, where)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(spec, schema["items"], item, f"{where}[{i}]")
    return errors


def _object_errors(spec: dict, schema: dict, value: dict, where: str) -> list[str]:
    errors = [f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in value]
    properties, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            errors += schema_errors(spec, properties[key], item, f"{where}.{key}")
        elif extra is False:
            errors.append(f"{where}: unexpected {key!r}")
        elif isinstance(extra, dict):
            errors += schema_errors(spec, extra, item, f"{where}.{key}")
    return errors
