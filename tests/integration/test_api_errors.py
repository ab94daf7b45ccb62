"""Whatever goes wrong, a client gets the JSON envelope with a stable code: never HTML, never a traceback."""

from __future__ import annotations

import io

import pytest

from tests.conftest import PASSWORD, make_test_app
from tests.integration.test_api_support import (
    assert_error,
    assert_json,
    assert_success,
    fresh_address,
    rate_limited_app,
    registration,
)
from webapp.extensions import new_uow
from webapp.services import staff

LOGIN = "/api/v1/auth/login"


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/wallets/a/b/c", "/api/v1/", "/api/v2/wallets"])
def test_unknown_api_path_is_a_404_envelope(client, path):
    assert_error(client.get(path), 404, "NOT_FOUND")
    assert_error(client.post(path, json={}), 404, "NOT_FOUND")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("delete", "/api/v1/wallets", {"GET", "POST"}),
    ("get", "/api/v1/transfers", {"POST"}),
    ("put", "/api/v1/auth/login", {"POST"}),
    ("patch", "/api/v1/openapi.json", {"GET"}),
])
def test_wrong_method_is_a_405_envelope_with_allow(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("data", [
    b"{bad json", b"", b"[]", b'"a string"', b"null", b"42", b"\xff\xfe\x00", b"{\"email\": NaN",
    b"[" * 10_000 + b"]" * 10_000,  # deeper than the decoder's recursion limit
])
def test_a_body_that_is_not_a_json_object_is_422(client, data):
    response = client.post(LOGIN, data=data, content_type="application/json")
    assert_error(response, 422, "VALIDATION_ERROR")


def test_form_encoded_body_is_422(client):
    assert_error(client.post(LOGIN, data={"email": "a@b.co", "password": "x"}), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("field", ["email", "password", "phone"])
def test_lone_surrogates_in_strings_are_422_not_a_database_error(client, field):
    form = registration()
    form[field] = "\\ud800"  # JSON allows it; UTF-8 (and so MariaDB) does not
    raw = "{" + ", ".join(f'"{k}": "{v}"' for k, v in form.items()) + "}"
    assert_error(client.post("/api/v1/auth/register", data=raw, content_type="application/json"), 422,
                 "VALIDATION_ERROR")


def test_a_surrogate_pair_is_fine(client):
    form = registration(password="emoji-\\ud83d\\ude00-password")
    raw = "{" + ", ".join(f'"{k}": "{v}"' for k, v in form.items()) + "}"
    assert_success(client.post("/api/v1/auth/register", data=raw, content_type="application/json"), 201)


def test_body_over_the_api_json_limit_is_413(app, client, wallets):
    limit = app.config["API_MAX_JSON_BYTES"]
    assert limit == 64 * 1024
    padding = "x" * limit
    assert_error(client.post(LOGIN, json={"email": "a@example.com", "password": padding}), 413, "VALIDATION_ERROR")
    user = wallets.user(balance=100)
    big = {"from_wallet_id": user.wallet()["id"], "to_email": "a@example.com", "amount": 1, "currency": "USD",
           "idempotency_key": "k", "note": padding}
    assert_error(user.post("/transfers", json=big), 413, "VALIDATION_ERROR")
    assert user.wallet()["balance"] == 100


def test_a_body_of_exactly_the_limit_is_read(app, client):
    limit = app.config["API_MAX_JSON_BYTES"]
    head = b'{"email": "a@example.com", "password": "'
    data = head + b"x" * (limit - len(head) - 2) + b'"}'
    assert len(data) == limit
    assert_error(client.post(LOGIN, data=data, content_type="application/json"), 401, "UNAUTHORIZED")
    assert_error(client.post(LOGIN, data=data[:-2] + b'x"}', content_type="application/json"), 413,
                 "VALIDATION_ERROR")


def test_chunked_body_over_the_limit_is_413_too(client):
    """No Content-Length to check up front: the limit applies while reading. wsgi.input_terminated is what
    gunicorn sets for a chunked request it has de-chunked."""
    stream = io.BytesIO(b'{"email": "' + b"x" * (70 * 1024) + b'"}')
    response = client.post(LOGIN, input_stream=stream, content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert_error(response, 413, "VALIDATION_ERROR")


def test_body_over_max_content_length_is_413(database_url):
    """MAX_CONTENT_LENGTH below the API limit, so Werkzeug's own 413 is the one raised."""
    app = make_test_app(database_url, MAX_CONTENT_LENGTH=1024)
    try:
        response = app.test_client().post(LOGIN, json={"email": "a@example.com", "password": "x" * 2048})
        assert_error(response, 413, "VALIDATION_ERROR")
    finally:
        app.extensions["ewallet.db"].dispose()


def test_body_over_the_default_max_content_length_is_413(app, client):
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    response = client.post("/api/v1/auth/register", data=b"x" * size, content_type="application/json")
    assert_error(response, 413, "VALIDATION_ERROR")


def test_unexpected_exception_is_a_500_with_a_correlation_id_and_no_internals(database_url):
    app = make_test_app(database_url)

    def explode():
        raise RuntimeError("db password is hunter2 at /srv/secret.py line 42")

    app.add_url_rule("/api/v1/_explode", "explode", explode)
    client = app.test_client()
    try:
        for headers in ({}, {"X-Request-ID": "trace-500-abc"}):
            response = client.get("/api/v1/_explode", headers=headers)
            error = assert_error(response, 500, "INTERNAL_ERROR")
            assert error["details"] == {"correlation_id": response.headers["X-Request-ID"]}
            assert response.headers["X-Request-ID"] == headers.get("X-Request-ID", response.headers["X-Request-ID"])
            text = response.get_data(as_text=True)
            for leak in ("hunter2", "RuntimeError", "secret.py", "Traceback", "line 42"):
                assert leak not in text
    finally:
        app.extensions["ewallet.db"].dispose()


def test_rate_limited_login_is_a_429_envelope(database_url):
    with rate_limited_app(database_url) as app:
        client = app.test_client()
        address = fresh_address()
        body = {"email": "nobody@example.com", "password": PASSWORD}
        responses = [client.post(LOGIN, json=body, environ_base=address) for _ in range(12)]
        assert [r.status_code for r in responses[:10]] == [401] * 10
        for response in responses[10:]:
            assert_error(response, 429, "RATE_LIMITED")
            assert int(response.headers["Retry-After"]) > 0
        other = client.post(LOGIN, json=body, environ_base=fresh_address())  # the limit is per client
        assert_error(other, 401, "UNAUTHORIZED")


def test_transfers_are_rate_limited_per_user(database_url, wallets):
    alice = wallets.user()
    with rate_limited_app(database_url) as app:
        client = app.test_client()
        statuses = [client.post("/api/v1/transfers", json={}, headers=alice.headers).status_code for _ in range(61)]
        assert statuses == [422] * 60 + [429]
        other = wallets.user()
        assert client.post("/api/v1/transfers", json={}, headers=other.headers).status_code == 422


def test_reconciliation_report_is_for_admins_only(app, wallets):
    user, admin = wallets.user(balance=100), wallets.user()
    assert_error(user.get("/admin/reconciliation"), 403, "FORBIDDEN")
    with app.app_context():
        staff.make_admin(new_uow(), email=admin.email, password=PASSWORD, phone=admin.phone)
    report = assert_success(admin.get("/admin/reconciliation"))["report"]
    assert report["wallets_checked"] >= 2
    assert set(report) == {"ok", "wallets_checked", "drifts", "currency_totals", "unbalanced_currencies"}
    assert report["unbalanced_currencies"] == {}
    assert_error(user.get("/admin/reconciliation"), 403, "FORBIDDEN")  # the grant was for one user only


def test_error_responses_are_never_html(client, wallets):
    """Every failure above, one more time, from the content type alone."""
    user = wallets.user()
    responses = [client.get("/api/v1/nope"), client.delete("/api/v1/wallets"), client.get("/api/v1/wallets"),
                 client.post(LOGIN, data=b"<html>", content_type="text/html"), user.get("/wallets/x"),
                 user.get("/admin/reconciliation")]
    for response in responses:
        assert assert_json(response)["status"] == "error"
        assert b"<html" not in response.data.lower() and b"<!doctype" not in response.data.lower()
