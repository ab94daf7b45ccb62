"""Web sign-up, sign-in and sign-out through the Flask test client: forms, messages and CSRF."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, make_test_app, unique_email, unique_phone
from webapp.extensions import limiter


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_signup_lands_on_the_dashboard_with_a_usd_balance(client):
    email = unique_email("web")
    response = client.post("/signup", data={"email": email, "phone": unique_phone(), "password": PASSWORD})
    assert response.status_code == 303 and response.location.endswith("/")
    home = client.get("/")
    html = home.get_data(as_text=True)
    assert home.status_code == 200
    assert "US Dollar" in html and 'data-testid="balance-USD">$0.00<' in html
    assert "Welcome! Your wallet is ready." in html


@pytest.mark.parametrize(("email", "phone", "password", "field", "message"), [
    ("not-an-email", "+14155550100", PASSWORD, "email", "Enter a valid email address."),
    (None, "12", PASSWORD, "phone", "Enter a valid mobile number with its country code."),
    (None, None, "short", "password", "Use at least 10 characters."),
])
def test_signup_shows_each_problem_next_to_its_field(client, email, phone, password, field, message):
    data = {"email": email or unique_email(), "phone": phone or unique_phone(), "password": password}
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    assert f'id="e-{field}" aria-live="polite">{message}</p>' in response.get_data(as_text=True)


def test_signup_with_a_taken_email_says_so(client, wallets):
    taken = wallets.user()
    response = client.post("/signup", data={"email": taken.email, "phone": unique_phone(), "password": PASSWORD})
    assert response.status_code == 422
    assert "This email is already registered." in response.get_data(as_text=True)


def test_login_failure_shows_a_message_and_keeps_the_email(client, wallets):
    user = wallets.user()
    response = client.post("/login", data={"email": user.email, "password": "wrong-password-123"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Email or password is incorrect." in html
    assert f'value="{user.email}"' in html
    assert client.get("/").status_code == 302  # still signed out


def test_login_follows_a_local_next_but_never_an_outside_one(client, wallets):
    user = wallets.user()
    inside = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": "/history"})
    assert inside.status_code == 303 and inside.location.endswith("/history")
    client.post("/logout")
    outside = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": "//evil.example/x"})
    assert outside.status_code == 303 and "evil" not in outside.location


def test_pages_need_a_signed_in_user(client, wallets):
    response = client.get("/send?currency=EUR")
    assert response.status_code == 302 and response.location == "/login?next=/send?currency%3DEUR"
    htmx = client.post("/send/check/amount", data={"amount": "1"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login" and htmx.data == b""
    user = wallets.user()
    back = client.post(response.location, data={"email": user.email, "password": PASSWORD})
    assert back.location == "/send?currency=EUR"


def test_logout_is_a_post_and_signs_out(client, wallets):
    user = wallets.user()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert client.get("/").status_code == 200
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 303
    assert client.get("/").status_code == 302


def test_a_post_without_a_csrf_token_is_refused(database_url):
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    try:
        client = app.test_client()
        data = {"email": unique_email("csrf"), "phone": unique_phone(), "password": PASSWORD}
        refused = client.post("/signup", data=data)
        assert refused.status_code == 400
        assert "This form expired" in refused.get_data(as_text=True)
        token = csrf_token(client.get("/signup").get_data(as_text=True))
        accepted = client.post("/signup", data={**data, "csrf_token": token})
        assert accepted.status_code == 303
        assert client.post("/logout").status_code == 400  # logging out needs the token too
    finally:
        app.extensions["ewallet.db"].dispose()


def test_login_posts_are_rate_limited_with_a_calm_page(database_url):
    # The limiter is one module-level object whose `enabled` flag every app in the process shares:
    # switch it back afterwards, or every later test would be rate limited too.
    was_enabled = limiter.enabled
    app = make_test_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.9.8.7"  # counters of its own
        statuses = [client.post("/login", data={"email": "nobody@example.com", "password": "x"}).status_code
                    for _ in range(11)]
        assert statuses[:10] == [401] * 10 and statuses[10] == 429
        slow = client.post("/login", data={"email": "nobody@example.com", "password": "x"})
        assert "Slow down" in slow.get_data(as_text=True)
    finally:
        limiter.enabled = was_enabled
        app.extensions["ewallet.db"].dispose()
