"""Shared fixtures. Tests run against the real MariaDB (a database made for this run and dropped after)
and the real Redis; SQLite appears only in unit tests and the migration check."""

from __future__ import annotations

import itertools
import os
import random
import tempfile
import uuid
from pathlib import Path

import pymysql
import pytest
from sqlalchemy.engine import make_url

from tests.mailbox import SmtpServer
from webapp import create_app
from webapp.extensions import new_uow
from webapp.migrate import upgrade
from webapp.money import Money
from webapp.services import accounts, adjustments

MYSQL_SERVER = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Photos the tests upload land here, never in the checkout's instance/ (made on the first upload).
UPLOAD_DIR = Path(tempfile.gettempdir()) / f"ewallet-test-uploads-{os.getpid()}"
PASSWORD = "correct-horse-battery"
# Argon2id at one pass over 256 KiB (~1 ms) rather than the recommended 3 over 64 MiB (~50-300 ms): the
# suite signs up and signs in over a thousand people. Hashes stay real argon2id; what the cost is in
# production, and that the dummy check costs as much as a real one, are tested at the recommended cost
# (tests/unit/test_password_cost.py, test_login_guard.py's timing test).
CHEAP_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 256}


def _server_connection():
    url = make_url(MYSQL_SERVER)
    return pymysql.connect(host=url.host, port=url.port or 3306, user=url.username or "root",
                           password=url.password or "", autocommit=True)


@pytest.fixture(scope="session")
def database_url():
    """A fresh MariaDB database for this test run, built by the Alembic migrations, dropped at the end."""
    name = f"ewallet_test_{uuid.uuid4().hex[:10]}"
    connection = _server_connection()
    connection.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    url = f"{MYSQL_SERVER}/{name}?charset=utf8mb4"
    try:
        upgrade(url)
        yield url
    finally:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()


def make_test_app(database_url: str, **overrides):
    config = {
        "EWALLET_ENV": "test",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-" + "x" * 32,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "WTF_CSRF_ENABLED": False,
        "REDIS_URL": "",
        "UPLOAD_DIR": str(UPLOAD_DIR),
        **CHEAP_ARGON2,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on a free loopback port for the whole run; `smtp_server.wait_for(address)` returns
    the newest message to an address once it has arrived (tests/mailbox.py)."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def localstripe_server():
    """localstripe on a free loopback port, in memory only, for the whole run (webapp/devtools/localstripe.py):
    `.url`, `.register_webhook(url, secret)`, `.flush()`."""
    from webapp.devtools.localstripe import start

    server = start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def localstripe(localstripe_server):
    """localstripe's base URL, for STRIPE_API_BASE."""
    return localstripe_server.url


@pytest.fixture(scope="session")
def stripe_settings(localstripe):
    """What an app needs to take card payments on localstripe: test keys and a secret made for this run."""
    return {"STRIPE_API_BASE": localstripe, "STRIPE_SECRET_KEY": "sk_test_ewallet_tests",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_ewallet_tests", "STRIPE_WEBHOOK_SECRET": f"whsec_{uuid.uuid4().hex}"}


@pytest.fixture(scope="session")
def app(database_url, smtp_server, stripe_settings):
    app = make_test_app(database_url, MAIL_URL=smtp_server.url, **stripe_settings)
    yield app
    app.extensions["ewallet.db"].dispose()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


_phones = itertools.count(random.randrange(2_000_000, 9_000_000, 1000))


def unique_phone() -> str:
    """A valid US mobile number unused in this run (the database is new each run)."""
    return f"+1415{next(_phones)}"


class Wallets:
    """Test helper: make users straight through the services, then talk to the API as them."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def user(self, *, balance: int = 0, currency: str = "USD", kyc: str = "unverified", prefix: str = "user",
             verified: bool = True, name: str | None = None):
        """`verified`: email and phone confirmed, so others can pay this user by either (as every test
        user could before confirmation existed); False is a fresh sign-up, its link mailed."""
        from webapp.models import User

        with self.app.app_context():
            user = accounts.register(new_uow(), email=unique_email(prefix), password=PASSWORD,
                                     phone=unique_phone(), display_name=name, verified=verified)
            if kyc != "unverified":
                with new_uow() as uow:
                    uow.session.get(User, user.id).kyc_status = kyc
                    uow.commit()
            if balance:
                adjustments.credit(new_uow(), email=user.email, amount=Money(balance, currency), reason="test funding")
        return ApiUser(self.client, user.email, user.id, user.phone)


class ApiUser:
    def __init__(self, client, email, user_id, phone):
        self.client, self.email, self.id, self.phone = client, email, user_id, phone
        response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.json
        self.token = response.json["data"]["access_token"]
        self.refresh_token = response.json["data"]["refresh_token"]

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path, **kwargs):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers, **kwargs)

    def wallet(self, currency: str = "USD") -> dict:
        wallets = self.get("/wallets").json["data"]["wallets"]
        return next(w for w in wallets if w["currency"] == currency)

    def send(self, to, amount: int, *, currency: str = "USD", key: str | None = None, **extra):
        body = {"from_wallet_id": self.wallet(currency)["id"], "to_email": to.email, "amount": amount,
                "currency": currency, "idempotency_key": key or uuid.uuid4().hex, **extra}
        return self.post("/transfers", json=body)


@pytest.fixture()
def wallets(app, client):
    return Wallets(app, client)
