"""Password reset by email, through the web pages and the real SMTP server: the link's life cycle, the
same answer for every address, rate limits, signing out everywhere, and the audit trail."""

from __future__ import annotations

import hashlib
import logging
import re
import statistics
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select, update

from tests.conftest import PASSWORD, REDIS_URL, make_test_app, unique_email
from tests.mailbox import body
from webapp.extensions import limiter, new_uow
from webapp.models import AuditLog, PasswordResetToken
from webapp.models.base import utcnow
from webapp.services import audit

NEW_PASSWORD = "a-brand-new-passphrase"
LINK = re.compile(r"(https?://\S+/reset-password/\S+)")


def ask_for_link(client, email: str):
    response = client.post("/forgot-password", data={"email": email})
    assert response.status_code == 303 and response.location == "/forgot-password?sent=1", response.location
    return response


def mailed_link(smtp_server, email: str, count: int = 1) -> str:
    """The reset link in the newest mail to `email`, as an absolute URL."""
    return LINK.search(body(smtp_server.wait_for(email, count=count))).group(1)


def path_of(url: str) -> str:
    return urlsplit(url).path


def set_password(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(path_of(link), data={"password": password, "confirm": password if confirm is None else confirm})


def events(app, user_id: str | None = None) -> list[tuple[str, dict]]:
    stream = audit.user_stream(user_id) if user_id else audit.SYSTEM
    with app.app_context(), new_uow() as uow:
        rows = uow.session.scalars(select(AuditLog).where(AuditLog.stream == stream).order_by(AuditLog.seq))
        return [(row.event, row.data) for row in rows if row.event.startswith("password_reset")]


def test_the_mailed_link_sets_a_new_password_that_signs_in(app, client, wallets, smtp_server):
    user = wallets.user()
    ask_for_link(client, user.email)
    message = smtp_server.wait_for(user.email)
    assert message["To"] == user.email and message["From"] == app.config["MAIL_FROM"]
    assert message["Subject"] == "Reset your E-Wallet password" and "60 minutes" in body(message)
    link = mailed_link(smtp_server, user.email)
    assert link.startswith("http://localhost/reset-password/")  # the host the request came to (no PUBLIC_URL)

    page = client.get(path_of(link))
    assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    done = set_password(client, link)
    assert done.status_code == 303 and done.location == "/login"
    assert "Your password has been changed" in client.get("/login").get_data(as_text=True)

    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).location == "/login"
    assert client.post("/login", data={"email": user.email, "password": NEW_PASSWORD}).location == "/"
    assert [event for event, _ in events(app, user.id)] == ["password_reset_requested", "password_reset"]


def test_a_known_and_an_unknown_address_get_the_same_answer(app, wallets, smtp_server):
    known, unknown = wallets.user().email, unique_email("nobody")
    answers = []
    for email in (known, unknown):
        client = app.test_client()
        response = ask_for_link(client, email)
        page = client.get(response.location)
        html = re.sub(r'"csrf_token"[^>]*|"X-CSRFToken": "[^"]*"', "", page.get_data(as_text=True))
        answers.append((response.status_code, response.location, page.status_code, html))
    assert answers[0] == answers[1]
    assert "If an account exists for that address" in answers[0][3]
    smtp_server.wait_for(known)
    assert smtp_server.to(unknown) == []
    assert ("password_reset_requested", {"reason": "unknown_email"}) in events(app)


def test_a_malformed_address_is_the_only_thing_refused(client):
    response = client.post("/forgot-password", data={"email": "not-an-email"})
    assert response.status_code == 303 and response.location == "/forgot-password"
    html = client.get(response.location).get_data(as_text=True)
    assert 'id="e-email" aria-live="polite">Enter a valid email address.</p>' in html


def test_a_link_works_once(app, client, wallets, smtp_server):
    user = wallets.user()
    ask_for_link(client, user.email)
    link = mailed_link(smtp_server, user.email)
    assert set_password(client, link).status_code == 303
    again = set_password(client, link, "yet-another-passphrase")
    assert again.status_code == 303 and again.location == path_of(link)
    dead = client.get(again.location)
    assert dead.status_code == 410 and "expired or has already been used" in dead.get_data(as_text=True)
    assert client.post("/login", data={"email": user.email, "password": NEW_PASSWORD}).location == "/"
    assert ("password_reset_refused", {"reason": "used"}) in events(app, user.id)


def test_an_expired_link_is_refused(app, client, wallets, smtp_server):
    user = wallets.user()
    ask_for_link(client, user.email)
    link = mailed_link(smtp_server, user.email)
    with app.app_context(), new_uow() as uow:
        uow.session.execute(update(PasswordResetToken).where(PasswordResetToken.user_id == user.id)
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert client.get(path_of(link)).status_code == 410
    assert set_password(client, link).location == path_of(link)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).location == "/"
    assert ("password_reset_refused", {"reason": "expired"}) in events(app, user.id)


def test_a_newer_link_replaces_the_older_one(app, client, wallets, smtp_server):
    user = wallets.user()
    ask_for_link(client, user.email)
    older = mailed_link(smtp_server, user.email)
    ask_for_link(client, user.email)
    newer = mailed_link(smtp_server, user.email, count=2)
    assert older != newer
    assert client.get(path_of(older)).status_code == 410
    assert set_password(client, older).location == path_of(older)
    assert set_password(client, newer).location == "/login"
    assert ("password_reset_refused", {"reason": "replaced"}) in events(app, user.id)


def test_unknown_links_are_refused_and_audited(app, client):
    made_up = "x" * 43
    assert client.get(f"/reset-password/{made_up}").status_code == 410
    assert set_password(client, f"/reset-password/{made_up}").status_code == 303
    assert ("password_reset_refused", {"reason": "unknown_link"}) in events(app)


def test_links_are_stored_only_as_hashes(app, client, wallets, smtp_server):
    user = wallets.user()
    ask_for_link(client, user.email)
    token = path_of(mailed_link(smtp_server, user.email)).rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes
    with app.app_context(), new_uow() as uow:
        stored = uow.session.scalars(select(PasswordResetToken).where(PasswordResetToken.user_id == user.id)).one()
        columns = [str(getattr(stored, c.key)) for c in PasswordResetToken.__table__.columns]
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in value for value in columns)


@pytest.mark.parametrize(("password", "confirm", "problems"), [
    ("short", "short", {"password": "Use at least 10 characters."}),
    (NEW_PASSWORD, "something-else-entirely", {"confirm": "The two passwords do not match."}),
])
def test_the_new_password_is_checked_and_the_link_kept(client, wallets, smtp_server, password, confirm, problems):
    user = wallets.user()
    ask_for_link(client, user.email)
    link = mailed_link(smtp_server, user.email)
    refused = set_password(client, link, password, confirm)
    assert refused.status_code == 303 and refused.location == path_of(link)
    html = client.get(refused.location).get_data(as_text=True)
    for field, message in problems.items():
        assert f'id="e-{field}" aria-live="polite">{message}</p>' in html
    assert set_password(client, link).location == "/login"  # a typo does not spend the link


def test_a_reset_signs_out_everywhere(app, wallets, smtp_server):
    user = wallets.user()  # signed in to the API: it holds a refresh token
    other_device = app.test_client()
    assert other_device.post("/login", data={"email": user.email, "password": PASSWORD}).location == "/"
    assert other_device.get("/").status_code == 200

    resetting = app.test_client()
    ask_for_link(resetting, user.email)
    assert set_password(resetting, mailed_link(smtp_server, user.email)).location == "/login"

    assert other_device.get("/").status_code == 302  # its session cookie predates the reset
    refresh = other_device.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refresh.status_code == 401 and refresh.json["error"]["code"] == "UNAUTHORIZED"
    assert resetting.post("/login", data={"email": user.email, "password": NEW_PASSWORD}).location == "/"
    assert resetting.get("/").status_code == 200
    assert other_device.post("/login", data={"email": user.email, "password": NEW_PASSWORD}).location == "/"
    assert other_device.get("/").status_code == 200  # signing in again is a new session


def test_the_access_log_never_holds_a_link(client, wallets, smtp_server, caplog):
    user = wallets.user()
    ask_for_link(client, user.email)
    link = mailed_link(smtp_server, user.email)
    with caplog.at_level(logging.INFO):
        client.get(path_of(link))
        set_password(client, link)
    token = path_of(link).rsplit("/", 1)[1]
    logged = [str(record.__dict__) for record in caplog.records]
    assert logged and not any(token in line for line in logged)
    assert any("/reset-password/<token>" in line for line in logged)


@pytest.fixture()
def limited_app(database_url):
    # The limiter's `enabled` flag is shared by every app in the process: put it back afterwards.
    was_enabled = limiter.enabled
    app = make_test_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", MAIL_URL="dummy:")
    yield app
    limiter.enabled = was_enabled
    app.extensions["ewallet.db"].dispose()


def test_asking_for_links_is_limited_per_client_address(limited_app):
    client = limited_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.7.7.1"
    statuses = [client.post("/forgot-password", data={"email": unique_email()}).status_code for _ in range(6)]
    assert statuses == [303] * 5 + [429]
    assert "Slow down" in client.post("/forgot-password", data={"email": unique_email()}).get_data(as_text=True)


def test_one_client_asking_for_someones_links_never_uses_up_the_owners(limited_app):
    target = unique_email("target")
    stranger, owner = limited_app.test_client(), limited_app.test_client()
    stranger.environ_base["REMOTE_ADDR"], owner.environ_base["REMOTE_ADDR"] = "10.7.9.1", "10.7.9.2"
    statuses = [stranger.post("/forgot-password", data={"email": target}).status_code for _ in range(6)]
    assert statuses == [303] * 5 + [429]
    assert owner.post("/forgot-password", data={"email": target}).status_code == 303


def test_asking_for_links_is_limited_per_address_whoever_asks(limited_app):
    """Loosely: a cap on the mails one inbox can be sent in a day, from however many clients."""
    target = unique_email("target")
    statuses = []
    for n in range(21):
        client = limited_app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.7.8.{n}"
        statuses.append(client.post("/forgot-password", data={"email": target.upper()}).status_code)
    assert statuses == [303] * 20 + [429]


@pytest.fixture()
def queued_app(database_url, smtp_server):
    """An app that queues its jobs on the real Redis, on a queue of its own (the Redis is shared)."""
    app = make_test_app(database_url, REDIS_URL=REDIS_URL, JOB_QUEUE=f"test-{uuid.uuid4().hex}",
                        MAIL_URL=smtp_server.url)
    yield app
    Redis.from_url(REDIS_URL).delete(f"rq:queue:{app.config['JOB_QUEUE']}")
    app.extensions["ewallet.db"].dispose()


def test_with_redis_the_request_queues_only_an_id_and_the_worker_mails_the_link(queued_app, wallets, smtp_server):
    from webapp.background import queue_for

    user = wallets.user()
    client = queued_app.test_client()
    ask_for_link(client, user.email)
    queue = queue_for(queued_app.config)
    [job] = queue.get_jobs()
    assert job.func_name == "jobs.notices.password_reset" and job.args == (user.id,)  # no secret in Redis
    assert smtp_server.to(user.email) == []
    with queued_app.app_context():
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert set_password(client, mailed_link(smtp_server, user.email)).location == "/login"


def test_known_and_unknown_addresses_take_about_the_same_time(queued_app, wallets):
    """With Redis (as production requires) both answers do one lookup and one audit row; a known address
    adds only the enqueue. Medians of interleaved runs, with a generous bound for a busy machine."""
    known = wallets.user().email
    client = queued_app.test_client()
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for _ in range(7):
        for kind, email in (("known", known), ("unknown", unique_email("nobody"))):
            started = time.perf_counter()
            ask_for_link(client, email)
            timings[kind].append(time.perf_counter() - started)
    known_ms, unknown_ms = (statistics.median(timings[kind]) * 1000 for kind in ("known", "unknown"))
    assert abs(known_ms - unknown_ms) < 25, (known_ms, unknown_ms)
