"""Sign-up, login, rotating refresh tokens, logout, and every way a bearer token can be wrong."""

from __future__ import annotations

import contextlib
import threading
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import event

from tests.conftest import PASSWORD, make_test_app
from tests.integration.test_api_support import (
    assert_error,
    assert_field_error,
    assert_success,
    registration,
    unique_email,
)


def post(client, path, json=None, **kwargs):
    return client.post(f"/api/v1{path}", json=json, **kwargs)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_register_returns_the_user_and_a_working_token_pair(client):
    form = registration(email=" New.Person@Example.COM ", phone="+1 (646) 555-0199")
    data = assert_success(post(client, "/auth/register", form), 201)
    assert set(data) == {"user", "access_token", "refresh_token"}
    assert data["user"]["email"] == "new.person@example.com"
    assert data["user"]["phone"] == "+16465550199"
    assert data["user"]["kyc_status"] == "unverified"
    wallets = assert_success(client.get("/api/v1/wallets", headers=bearer(data["access_token"])))["wallets"]
    assert [(w["currency"], w["balance"]) for w in wallets] == [("USD", 0)]


def test_duplicate_email_and_phone_are_field_errors(client):
    form = registration()
    assert_success(post(client, "/auth/register", form), 201)
    again = post(client, "/auth/register", registration(email=form["email"].upper()))
    assert_field_error(again, "email")
    assert_field_error(post(client, "/auth/register", registration(phone=form["phone"])), "phone")


def register_twins(app, form: dict) -> list[tuple[int, str]]:
    """Two sign-ups with one email, made to interleave the losing way every time: both INSERTs wait until
    both have run their duplicate-check SELECT, so the second INSERT meets the first on the unique index."""
    barrier, results = threading.Barrier(2), []

    def hold_the_insert(_conn, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO users"):
            with contextlib.suppress(threading.BrokenBarrierError):  # a fixed service may never get here twice
                barrier.wait(timeout=5)

    def sign_up():
        response = app.test_client().post("/api/v1/auth/register", json=form)
        results.append((response.status_code, response.json.get("error", {}).get("code", "")))

    engine = app.extensions["ewallet.db"].engine
    event.listen(engine, "before_cursor_execute", hold_the_insert)
    try:
        threads = [threading.Thread(target=sign_up) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(engine, "before_cursor_execute", hold_the_insert)
    return sorted(results)


def test_racing_duplicate_sign_ups_are_one_201_and_one_field_error(database_url):
    app = make_test_app(database_url)
    try:
        assert register_twins(app, registration()) == [(201, ""), (422, "VALIDATION_ERROR")]
    finally:
        app.extensions["ewallet.db"].dispose()


@pytest.mark.parametrize(("field", "value"), [
    ("phone", "12345"), ("phone", "+999 123"), ("phone", 4155550123), ("email", "not-an-email"),
    ("email", ["a@b.co"]), ("password", "short"), ("password", 1234567890123),
])
def test_register_rejects_bad_fields(client, field, value):
    assert_field_error(post(client, "/auth/register", registration(**{field: value})), field)


def test_register_reports_every_missing_field_at_once(client):
    error = assert_field_error(post(client, "/auth/register", {}), "email", "password", "phone")
    assert set(error["details"]["fields"]) == {"email", "password", "phone"}


def test_login_and_its_failures(client, wallets):
    user = wallets.user()
    pair = assert_success(post(client, "/auth/login", {"email": user.email.upper(), "password": PASSWORD}))
    assert set(pair) == {"access_token", "refresh_token"}
    assert_error(post(client, "/auth/login", {"email": user.email, "password": "wrong-password"}), 401,
                 "UNAUTHORIZED")
    assert_error(post(client, "/auth/login", {"email": unique_email(), "password": PASSWORD}), 401, "UNAUTHORIZED")
    assert_field_error(post(client, "/auth/login", {"email": user.email}), "password")


def test_refresh_rotates_and_reuse_revokes_the_whole_family(client, wallets):
    user = wallets.user()
    first = user.refresh_token
    second = assert_success(post(client, "/auth/refresh", {"refresh_token": first}))
    assert second["refresh_token"] != first
    assert_success(client.get("/api/v1/wallets", headers=bearer(second["access_token"])))
    third = assert_success(post(client, "/auth/refresh", {"refresh_token": second["refresh_token"]}))

    assert_error(post(client, "/auth/refresh", {"refresh_token": first}), 401, "UNAUTHORIZED")  # a thief's copy
    # The reuse revoked the family: the owner's newest token is dead too, so the thief's pair dies with it.
    assert_error(post(client, "/auth/refresh", {"refresh_token": third["refresh_token"]}), 401, "UNAUTHORIZED")
    # Another sign-in is another family and still works.
    assert_success(post(client, "/auth/refresh", {"refresh_token": wallets.user().refresh_token}))


@pytest.mark.parametrize("token", [None, "", 42, "not-a-token"])
def test_refresh_with_no_or_unknown_token_is_401(client, token):
    assert_error(post(client, "/auth/refresh", {"refresh_token": token}), 401, "UNAUTHORIZED")


def test_logout_revokes_the_refresh_token(client, wallets):
    user = wallets.user()
    assert assert_success(post(client, "/auth/logout", {"refresh_token": user.refresh_token})) == {}
    assert_error(post(client, "/auth/refresh", {"refresh_token": user.refresh_token}), 401, "UNAUTHORIZED")
    assert_error(post(client, "/auth/logout", {"refresh_token": "never-issued"}), 401, "UNAUTHORIZED")


def test_logout_also_revokes_tokens_rotated_from_the_same_sign_in(client, wallets):
    user = wallets.user()
    newer = assert_success(post(client, "/auth/refresh", {"refresh_token": user.refresh_token}))["refresh_token"]
    assert_success(post(client, "/auth/logout", {"refresh_token": user.refresh_token}))
    assert_error(post(client, "/auth/refresh", {"refresh_token": newer}), 401, "UNAUTHORIZED")


# --- Bearer tokens ----------------------------------------------------------------------------------------


def claims(user_id: str, **overrides) -> dict:
    """What a real access token says, so each bad token below is wrong in exactly one way."""
    now = datetime.now(UTC)
    return {"sub": user_id, "typ": "access", "iat": now, "exp": now + timedelta(minutes=5), "ep": 0,
            "iss": "ewallet", "aud": "ewallet-api", **overrides}


def unsigned(payload: dict) -> str:
    """An `alg: none` token, built by hand: PyJWT refuses to make one with a key."""
    return jwt.encode(payload, key=None, algorithm="none")


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return ".".join([header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]])


def without(payload: dict, name: str) -> dict:
    return {key: value for key, value in payload.items() if key != name}


def bad_tokens(app, user) -> dict[str, str]:
    secret = app.config["JWT_SECRET_KEY"]
    past = datetime.now(UTC) - timedelta(hours=1)
    return {
        "signed with SECRET_KEY": jwt.encode(claims(user.id), app.config["SECRET_KEY"], "HS256"),
        "another issuer": jwt.encode(claims(user.id, iss="staging-wallet"), secret, "HS256"),
        "another audience": jwt.encode(claims(user.id, aud="admin-api"), secret, "HS256"),
        "no issuer": jwt.encode(without(claims(user.id), "iss"), secret, "HS256"),
        "no audience": jwt.encode(without(claims(user.id), "aud"), secret, "HS256"),
        "no epoch": jwt.encode(without(claims(user.id), "ep"), secret, "HS256"),
        "an earlier epoch": jwt.encode(claims(user.id, ep=-1), secret, "HS256"),
        "a deleted user": jwt.encode(claims(str(uuid.uuid4())), secret, "HS256"),
        "tampered signature": tampered(user.token),
        "expired": jwt.encode(claims(user.id, iat=past - timedelta(minutes=15), exp=past), secret, "HS256"),
        "alg none": unsigned(claims(user.id)),
        "other key": jwt.encode(claims(user.id), "someone-elses-secret-" + "y" * 32, "HS256"),
        "HS512 with our key": jwt.encode(claims(user.id), secret, "HS512"),
        "refresh typ": jwt.encode(claims(user.id, typ="refresh"), secret, "HS256"),
        "no exp": jwt.encode({k: v for k, v in claims(user.id).items() if k != "exp"}, secret, "HS256"),
        "refresh token as bearer": user.refresh_token,
        "garbage": "a.b.c",
    }


@pytest.mark.filterwarnings("ignore:The HMAC key")  # the short key is the point of the HS512 case
def test_every_kind_of_bad_bearer_token_is_401(app, client, wallets):
    user = wallets.user()
    assert_success(client.get("/api/v1/wallets", headers=bearer(user.token)))  # the real one works
    made_here = jwt.encode(claims(user.id), app.config["JWT_SECRET_KEY"], "HS256")
    assert_success(client.get("/api/v1/wallets", headers=bearer(made_here)))  # so `claims` is a real token's
    for name, token in bad_tokens(app, user).items():
        response = client.get("/api/v1/wallets", headers=bearer(token))
        assert response.status_code == 401, name
        assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_missing_or_malformed_authorization_header_is_401(client, header):
    headers = {} if header is None else {"Authorization": header}
    assert_error(client.get("/api/v1/wallets", headers=headers), 401, "UNAUTHORIZED")


def test_every_protected_endpoint_needs_a_token(client, wallets):
    user = wallets.user()
    wallet_id = user.wallet()["id"]
    for method, path in [("get", "/wallets"), ("post", "/wallets"), ("get", f"/wallets/{wallet_id}"),
                         ("get", f"/wallets/{wallet_id}/transactions"), ("get", f"/transactions/{wallet_id}"),
                         ("post", "/transfers"), ("get", "/admin/reconciliation")]:
        assert_error(getattr(client, method)(f"/api/v1{path}", json={}), 401, "UNAUTHORIZED")
