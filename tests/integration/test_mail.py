"""The mailer and the "you received money" notice: MAIL_URL, real SMTP (with and without a login), the
console and dummy backends, failures that never reach the person, and the notice after a transfer, inline
and through a real RQ worker."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiosmtpd.smtp import AuthResult
from redis import Redis
from rq import SimpleWorker

from tests.conftest import PASSWORD, REDIS_URL, make_test_app
from tests.mailbox import SmtpServer, body, free_port
from webapp import mail
from webapp.errors import ConfigurationError

EWALLET = str(Path(sys.executable).parent / "ewallet")
SENDER = "E-Wallet <no-reply@localhost>"


@pytest.mark.parametrize(("url", "expected"), [
    ("", {"MAIL_BACKEND": "console"}),
    ("dummy:", {"MAIL_BACKEND": "dummy"}),
    ("smtp://mail.example.com:2525", {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "mail.example.com", "MAIL_PORT": 2525,
                                      "MAIL_USERNAME": None, "MAIL_PASSWORD": None, "MAIL_USE_TLS": False,
                                      "MAIL_USE_SSL": False}),
    ("smtp://apikey:s3cr%3At@smtp.example.com:587?starttls=1", {"MAIL_SERVER": "smtp.example.com", "MAIL_PORT": 587,
                                                               "MAIL_USERNAME": "apikey", "MAIL_PASSWORD": "s3cr:t",
                                                               "MAIL_USE_TLS": True, "MAIL_USE_SSL": False}),
    ("smtp://me%40example.com:pw@localhost", {"MAIL_USERNAME": "me@example.com", "MAIL_PORT": 25}),
    ("smtps://u:p@smtp.example.com", {"MAIL_PORT": 465, "MAIL_USE_SSL": True, "MAIL_USE_TLS": False}),
])
def test_mail_url_becomes_flask_mailman_settings(url, expected):
    settings = mail.settings(url, SENDER)
    assert settings["MAIL_DEFAULT_SENDER"] == SENDER
    assert {key: settings[key] for key in expected} == expected


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtps://h:465?starttls=1", "mailhost:25"])
def test_a_mail_url_that_makes_no_sense_is_refused(url):
    with pytest.raises(ConfigurationError):
        mail.settings(url, SENDER)


@contextmanager
def logged() -> Iterator[list[str]]:
    """The messages logged inside the block. (caplog's handler is gone once a test builds an app: the app
    installs its own JSON handler on the root logger.)"""
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


def message(to: str = "someone@example.com") -> mail.Message:
    return mail.Message(to=to, subject="Hello", template="money_received",
                        context={"amount": "$1.00", "sender": "a•••@example.com", "receipt_url": "http://x/r"})


@pytest.fixture()
def app_with(database_url):
    made = []

    def make(**overrides):
        made.append(app := make_test_app(database_url, **overrides))
        return app

    yield make
    for app in made:
        app.extensions["ewallet.db"].dispose()


@pytest.fixture()
def login_smtp():
    """An SMTP server that wants a login (over plain SMTP on loopback, so no certificate is needed)."""

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"wallet" and auth_data.password == b"p@ss:word"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    server = SmtpServer(authenticator=authenticate, auth_required=True, auth_require_tls=False).start()
    yield server
    server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_mail_logs_in_with_the_user_and_password_in_mail_url(app_with, login_smtp):
    good = app_with(MAIL_URL=f"smtp://wallet:p%40ss%3Aword@127.0.0.1:{login_smtp.port}")
    with good.app_context():
        mail.send(message("paid@example.com"))
    assert "You received $1.00 from a•••@example.com." in body(login_smtp.wait_for("paid@example.com"))
    bad = app_with(MAIL_URL=f"smtp://wallet:wrong@127.0.0.1:{login_smtp.port}")
    with bad.app_context(), logged() as lines, pytest.raises(mail.MailError) as refused:
        mail.send(message("refused-person@example.com"))
    assert "refused-person" not in str(refused.value)
    assert "mail 'money_received' to r•••@example.com not sent: SMTPAuthenticationError" in lines
    assert not any("refused-person" in line or "wrong" in line for line in lines)


def test_without_mail_url_the_message_is_printed(app_with, capsys):
    with app_with(MAIL_URL="", MAIL_FROM=SENDER).app_context():
        mail.send(message("printed@example.com"))
    out = capsys.readouterr().out
    assert "To: printed@example.com" in out and "Subject: Hello" in out and "You received $1.00" in out


def test_dummy_drops_the_message(app_with, capsys):
    with app_with(MAIL_URL="dummy:").app_context():
        mail.send(message())
    assert capsys.readouterr().out == ""


def test_links_use_public_url_when_set(app_with):
    app = app_with(PUBLIC_URL="https://wallet.example.com")
    with app.test_request_context(base_url="http://attacker.example"):  # a forged Host header changes nothing
        assert mail.external_url("web.reset_password", token="abc") == "https://wallet.example.com/reset-password/abc"
    with app_with().app_context():
        assert mail.external_url("web.login") == "http://127.0.0.1:5000/login"


def test_the_recipient_of_a_transfer_gets_a_notice_once(app, client, wallets, smtp_server):
    alice, bob = wallets.user(balance=5_000, prefix="alice"), wallets.user(prefix="bob")
    sent = alice.send(bob, 1250, key="lunch-once")
    assert sent.status_code == 201
    notice = smtp_server.wait_for(bob.email)
    assert notice["Subject"] == "You received $12.50"
    text = body(notice)
    assert f"You received $12.50 from a•••@{alice.email.split('@')[1]}." in text and alice.email not in text
    receipt = re.search(r"http://localhost(/transactions/\S+)", text).group(1)
    assert client.post("/login", data={"email": bob.email, "password": PASSWORD}).status_code == 303
    page = client.get(receipt)
    assert page.status_code == 200 and "+$12.50" in page.get_data(as_text=True)

    replay = alice.send(bob, 1250, key="lunch-once")  # the same request again: same answer, no second notice
    assert replay.json["data"]["transaction"]["id"] == sent.json["data"]["transaction"]["id"]
    assert len(smtp_server.to(bob.email)) == 1  # inline mail is sent before the response returns
    assert smtp_server.to(alice.email) == []


def test_a_mail_server_that_is_down_does_not_fail_the_transfer(app_with, wallets):
    from webapp.extensions import new_uow
    from webapp.money import Money
    from webapp.services import transfers

    broken = app_with(MAIL_URL=f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    alice, bob = wallets.user(balance=1_000), wallets.user()
    with broken.app_context(), logged() as lines:
        tx = transfers.transfer(new_uow(), sender_id=alice.id, from_wallet_id=alice.wallet()["id"],
                                to=transfers.Recipient("email", bob.email), amount=Money(300, "USD"),
                                idempotency_key=uuid.uuid4().hex)
    assert tx.amount == 300 and alice.wallet()["balance"] == 700 and bob.wallet()["balance"] == 300
    assert "background job jobs.notices.money_received failed to run" in lines
    assert not any(bob.email in line for line in lines)


@pytest.fixture()
def queue_name():
    name = f"test-{uuid.uuid4().hex}"
    yield name
    Redis.from_url(REDIS_URL).delete(f"rq:queue:{name}")


def test_with_redis_the_notice_is_a_job_with_an_id(app_with, queue_name, wallets, smtp_server):
    from webapp.background import queue_for

    queued = app_with(REDIS_URL=REDIS_URL, JOB_QUEUE=queue_name, MAIL_URL=smtp_server.url)
    alice, bob = wallets.user(balance=1_000), wallets.user()
    client = queued.test_client()
    token = client.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD}).json["data"]
    sent = client.post("/api/v1/transfers", headers={"Authorization": f"Bearer {token['access_token']}"},
                       json={"from_wallet_id": alice.wallet()["id"], "to_email": bob.email, "amount": 250,
                             "currency": "USD", "idempotency_key": uuid.uuid4().hex})
    assert sent.status_code == 201
    queue = queue_for(queued.config)
    jobs = {job.func_name: job for job in queue.get_jobs()}  # and the risk rule's (jobs/risk.py)
    job = jobs["jobs.notices.money_received"]
    assert len(job.args) == 1  # the credit's id, nothing else
    assert smtp_server.to(bob.email) == []
    with queued.app_context():
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert "You received $2.50" in body(smtp_server.wait_for(bob.email))


def test_ewallet_worker_runs_the_queued_notices(app_with, database_url, queue_name, wallets, smtp_server):
    """The real console script in its own process: it forks a work horse per job, which sends the mail."""
    from webapp.extensions import new_uow
    from webapp.money import Money
    from webapp.services import transfers

    queued = app_with(REDIS_URL=REDIS_URL, JOB_QUEUE=queue_name)
    alice, bob = wallets.user(balance=1_000), wallets.user()
    with queued.app_context():
        transfers.transfer(new_uow(), sender_id=alice.id, from_wallet_id=alice.wallet()["id"],
                           to=transfers.Recipient("phone", bob.phone), amount=Money(199, "USD"),
                           idempotency_key=uuid.uuid4().hex)
    env = {**os.environ, "DATABASE_URL": database_url, "EWALLET_ENV": "test", "REDIS_URL": REDIS_URL,
           "JOB_QUEUE": queue_name, "MAIL_URL": smtp_server.url, "PUBLIC_URL": "https://wallet.example.com"}
    done = subprocess.run([EWALLET, "worker", "--burst"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = body(smtp_server.wait_for(bob.email))
    assert "You received $1.99" in text
    receipt = urlsplit(re.search(r"(https://wallet\.example\.com/\S+)", text).group(1)).path
    [credit] = bob.get(f"/wallets/{bob.wallet()['id']}/transactions").json["data"]["transactions"]
    assert receipt == f"/transactions/{credit['id']}"


def test_ewallet_worker_needs_redis(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "EWALLET_ENV": "test", "REDIS_URL": ""}
    done = subprocess.run([EWALLET, "worker", "--burst"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "REDIS_URL is not set" in done.stderr
