"""Sessions that end when they should (issue 8, point 6): a web session is a server-side row that sign-out,
idling, age, a password change or reset and "sign out everywhere" end; the cookie holds only its secret;
sign-in starts from an empty session; and the same events end every API access and refresh token."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import PASSWORD, make_test_app
from tests.integration.test_web_auth import csrf_token
from tests.mailbox import body
from webapp.extensions import new_uow
from webapp.models import AuditLog, WebSession
from webapp.models.base import utcnow
from webapp.services import audit

NEW_PASSWORD = "pelican-marmalade-orbit"


def sign_in(app, user):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303 and response.location == "/", response.location
    return client


def cookie_contents(app, client) -> dict:
    cookie = client.get_cookie("session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def session_row(app, client) -> WebSession:
    secret = cookie_contents(app, client)["_user_id"]
    with app.app_context(), new_uow() as uow:
        return uow.session.get(WebSession, hashlib.sha256(secret.encode()).hexdigest())


def set_row(app, row_id: str, **values) -> None:
    with app.app_context(), new_uow() as uow:
        uow.session.execute(update(WebSession).where(WebSession.id == row_id).values(**values))
        uow.commit()


def signed_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def copy_of(app, client):
    """Another browser holding a copy of this one's session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_sign_in_makes_a_server_side_session_whose_secret_only_the_cookie_holds(app, wallets):
    user = wallets.user()
    client = sign_in(app, user)
    contents = cookie_contents(app, client)
    row = session_row(app, client)
    assert row is not None and row.user_id == user.id and row.revoked_at is None
    assert len(contents["_user_id"]) >= 43  # 32 random bytes
    assert row.id not in str(contents) and user.id not in str(contents)  # neither the hash nor the user id


def test_a_cookie_copied_before_sign_out_is_refused_after(app, wallets):
    client = sign_in(app, wallets.user())
    thief = copy_of(app, client)
    assert signed_in(thief)
    assert client.post("/logout").status_code == 303
    assert not signed_in(thief)
    assert session_row(app, thief).revoked_at is not None


def test_an_idle_session_ends(app, wallets):
    client = sign_in(app, wallets.user())
    row = session_row(app, client)
    set_row(app, row.id, last_seen_at=utcnow() - timedelta(seconds=app.config["SESSION_IDLE_TIMEOUT"] - 30))
    assert signed_in(client)  # 30 s short of the limit: still alive
    set_row(app, row.id, last_seen_at=utcnow() - timedelta(seconds=app.config["SESSION_IDLE_TIMEOUT"] + 1))
    assert not signed_in(client)


def test_a_session_ends_at_its_maximum_age_however_active(app, wallets):
    client = sign_in(app, wallets.user())
    row = session_row(app, client)
    set_row(app, row.id, created_at=utcnow() - timedelta(seconds=app.config["SESSION_MAX_AGE"] + 1))
    assert not signed_in(client)


def test_the_limits_come_from_the_settings(database_url, wallets):
    short = make_test_app(database_url, SESSION_IDLE_TIMEOUT=120, SESSION_MAX_AGE=600)
    try:
        client = sign_in(short, wallets.user())
        row = session_row(short, client)
        set_row(short, row.id, last_seen_at=utcnow() - timedelta(seconds=121))
        assert not signed_in(client)
        client = sign_in(short, wallets.user())
        set_row(short, session_row(short, client).id, created_at=utcnow() - timedelta(seconds=601))
        assert not signed_in(client)
    finally:
        short.extensions["ewallet.db"].dispose()


def test_last_seen_is_written_about_once_a_minute_not_on_every_request(app, wallets):
    client = sign_in(app, wallets.user())
    row = session_row(app, client)
    for _ in range(3):
        assert signed_in(client)
    assert session_row(app, client).last_seen_at == row.last_seen_at
    set_row(app, row.id, last_seen_at=utcnow() - timedelta(seconds=61))
    assert signed_in(client)
    assert session_row(app, client).last_seen_at > utcnow() - timedelta(seconds=5)


@pytest.fixture()
def csrf_app(database_url):
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["ewallet.db"].dispose()


def test_sign_in_starts_from_an_empty_session_with_a_new_csrf_token(csrf_app, wallets):
    user = wallets.user()
    client = csrf_app.test_client()
    before = csrf_token(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as planted:
        planted["planted"] = "by someone else"
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 303 and response.location == "/"
    assert "planted" not in cookie_contents(csrf_app, client)
    after = csrf_token(client.get("/profile").get_data(as_text=True))
    assert after != before
    refused = client.post("/profile/wallets", data={"currency": "EUR", "csrf_token": before})
    assert refused.status_code == 400  # the token from before sign-in no longer works


def two_browsers_and_the_app(app, wallets):
    user = wallets.user()  # signed in to the API too: user.token, user.refresh_token
    return user, sign_in(app, user), sign_in(app, user)


def everything_ended(app, client, user, *others) -> None:
    for browser in others:
        assert not signed_in(browser)
    assert client.get("/api/v1/wallets", headers=user.headers).status_code == 401  # the access token
    refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refresh.status_code == 401


def test_sign_out_everywhere_ends_every_web_session_and_token(app, wallets):
    user, here, there = two_browsers_and_the_app(app, wallets)
    assert 'action="/profile/sign-out-everywhere"' in here.get("/profile").get_data(as_text=True)
    response = here.post("/profile/sign-out-everywhere")
    assert response.status_code == 303 and response.location == "/login"
    assert "signed out on every device" in here.get("/login").get_data(as_text=True)
    everything_ended(app, here, user, here, there)
    assert "signed_out_everywhere" in _events(app, user.id)
    assert signed_in(sign_in(app, user))  # signing in again works


def test_changing_the_password_ends_every_other_session_and_token(app, wallets):
    user, here, there = two_browsers_and_the_app(app, wallets)
    response = here.post("/profile/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD})
    assert response.status_code == 303 and response.location == "/profile#security"
    # This browser proved the password: it carries on, in a fresh session of its own.
    assert "Your password is changed" in here.get("/profile").get_data(as_text=True)
    everything_ended(app, here, user, there)
    assert "password_changed" in _events(app, user.id)


def test_a_password_reset_ends_access_tokens_too(app, wallets, smtp_server):
    user = wallets.user()
    client = app.test_client()
    client.post("/forgot-password", data={"email": user.email})
    link = re.search(r"https?://[^/\s]+(/reset-password/\S+)", body(smtp_server.wait_for(user.email))).group(1)
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).location == "/login"
    everything_ended(app, client, user)


def test_an_old_style_cookie_signs_nobody_in(app, wallets):
    """Cookies from before server-side sessions held "user id:epoch"; they find no session row."""
    user = wallets.user()
    client = app.test_client()
    with client.session_transaction() as old:
        old["_user_id"] = f"{user.id}:0"
        old["_fresh"] = True
    assert not signed_in(client)


def _events(app, user_id: str) -> list[str]:
    with app.app_context(), new_uow() as uow:
        return list(uow.session.scalars(select(AuditLog.event).where(AuditLog.stream == audit.user_stream(user_id))))
