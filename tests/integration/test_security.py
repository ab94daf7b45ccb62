"""Lockout, audited security events, what logs may never contain, and the operational endpoints."""

from __future__ import annotations

import logging

from sqlalchemy import select

from tests.conftest import PASSWORD, make_test_app, unique_email, unique_phone
from webapp.extensions import new_uow
from webapp.logs import JsonFormatter
from webapp.models import AuditLog
from webapp.services import audit


def _events(app, user_id):
    with app.app_context(), new_uow() as uow:
        return list(uow.session.scalars(select(AuditLog.event).where(AuditLog.stream == audit.user_stream(user_id))
                                        .order_by(AuditLog.seq)))


def test_lockout_after_repeated_failures_even_with_the_right_password(database_url):
    """From that address only, and in the same words as a wrong password (tests/integration/
    test_login_guard.py has the rest: other addresses, unknown emails, timing, proxies)."""
    app = make_test_app(database_url, LOGIN_MAX_FAILURES=3, LOGIN_LOCKOUT_SECONDS=600)
    client = app.test_client()
    email = unique_email()
    registered = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                            "phone": unique_phone()})
    user_id = registered.json["data"]["user"]["id"]
    for _ in range(3):
        bad = client.post("/api/v1/auth/login", json={"email": email, "password": "wrong-password-1"})
        assert bad.status_code == 401 and bad.json["error"]["code"] == "UNAUTHORIZED"
    locked = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert locked.status_code == 401 and locked.json == bad.json
    elsewhere = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 200
    assert _events(app, user_id) == ["register", "login_failed", "login_failed", "login_failed", "login_locked",
                                     "login_failed", "login"]


def test_refresh_token_reuse_is_audited(app, client, wallets):
    user = wallets.user()
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert rotated.status_code == 200
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert reused.status_code == 401
    assert "refresh_token_reuse" in _events(app, user.id)


def test_logs_carry_request_ids_but_no_secrets(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    email, phone = unique_email(), unique_phone()
    registered = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "phone": phone},
                             headers={"X-Request-ID": "trace-me-123"})
    tokens = registered.json["data"]
    client.post("/api/v1/auth/login", json={"email": email, "password": "not-the-password"})
    client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    client.get("/api/v1/wallets", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    lines = [JsonFormatter().format(record) for record in caplog.records]
    text = "\n".join(lines)
    assert '"request_id": "trace-me-123"' in text
    for secret in (PASSWORD, "not-the-password", tokens["access_token"], tokens["refresh_token"], phone, phone[1:]):
        assert secret not in text


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert made and made != "bad id <script>" and len(made) == 32


def test_health_readiness_and_metrics(database_url):
    client = make_test_app(database_url, METRICS_TOKEN="scrape-me").test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "up"
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})  # not public: test_http.py
    assert b"ewallet_http_requests_total" in scraped.data


def test_readyz_reports_a_dead_database():
    app = make_test_app("mysql+pymysql://root@127.0.0.1:1/nowhere")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["database"] == "down"


def test_security_headers(client):
    headers = client.get("/healthz").headers
    assert "script-src 'self' https://js.stripe.com" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
