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


def error_slot(field: str, message: str) -> str:
    return f'id="e-{field}" aria-live="polite">{message}</p>'


def submit(client, path, data):
    """Post a form the way a browser does: a form with problems answers 303 back to its own page (Post/
    Redirect/Get, so a reload never resubmits), and that page shows the problems."""
    response = client.post(path, data=data)
    assert response.status_code == 303, response.status_code
    return response, client.get(response.location).get_data(as_text=True)


@pytest.mark.parametrize(("email", "phone", "password", "problems"), [
    ("not-an-email", "12", "short", {"email": "Enter a valid email address.",
                                     "phone": "Enter a valid mobile number with its country code.",
                                     "password": "Use at least 10 characters."}),
    ("not-an-email", None, PASSWORD, {"email": "Enter a valid email address."}),
    (None, "12", PASSWORD, {"phone": "Enter a valid mobile number with its country code."}),
    (None, None, "short", {"password": "Use at least 10 characters."}),
    ("", "", "", {"email": "Enter a valid email address.",
                  "phone": "Enter a valid mobile number with its country code.",
                  "password": "Use at least 10 characters."}),
])
def test_signup_shows_every_problem_at_once_next_to_its_field(client, email, phone, password, problems):
    data = {"email": unique_email() if email is None else email,
            "phone": unique_phone() if phone is None else phone, "password": password}
    response, html = submit(client, "/signup", data)
    assert response.location == "/signup"
    for field, message in problems.items():
        assert error_slot(field, message) in html
        assert f'href="#f-{field}">{message}</a>' in html  # and in the summary at the top, linked to it
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', html)
    for field in {"email", "phone", "password"} - set(problems):
        assert error_slot(field, "") in html
    assert 'role="alert" tabindex="-1" autofocus' in html  # focus lands on the summary, JavaScript or not
    assert 'type="password" value=""' in html  # a password is never echoed back
    if email:
        assert f'value="{email}"' in html  # what they typed comes back for them to fix
    assert client.get("/signup").get_data(as_text=True).count('aria-invalid="true"') == 0  # shown once only


def test_signup_with_a_taken_email_and_phone_says_both(client, wallets):
    taken = wallets.user()
    _, html = submit(client, "/signup", {"email": taken.email, "phone": taken.phone, "password": PASSWORD})
    assert error_slot("email", "This email is already registered.") in html
    assert error_slot("phone", "This phone is already registered.") in html


def test_login_failure_shows_a_message_and_keeps_the_email(client, wallets):
    user = wallets.user()
    response, html = submit(client, "/login", {"email": user.email, "password": "wrong-password-123"})
    assert response.location == "/login"
    assert "Email or password is incorrect." in html and 'role="alert"' in html
    assert f'value="{user.email}"' in html
    assert client.get("/").status_code == 302  # still signed out


def test_pages_have_one_h1_and_hints_tied_to_their_fields(client):
    for path in ("/login", "/signup"):
        html = client.get(path).get_data(as_text=True)
        assert html.count("<h1") == 1, path
    signup = client.get("/signup").get_data(as_text=True)
    assert 'id="h-phone"' in signup and 'aria-describedby="h-phone e-phone"' in signup
    assert 'href="/forgot-password"' in client.get("/login").get_data(as_text=True)


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
        assert statuses[:10] == [303] * 10 and statuses[10] == 429
        slow = client.post("/login", data={"email": "nobody@example.com", "password": "x"})
        assert "Slow down" in slow.get_data(as_text=True)
    finally:
        limiter.enabled = was_enabled
        app.extensions["ewallet.db"].dispose()
