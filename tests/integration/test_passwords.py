"""Passwords worth the name (issue 8, point 7): changing one on the web and through the API needs the
current one and ends every other session, and every new password (sign-up, reset, change) is checked by
zxcvbn against common and breached passwords and the person's own email and phone, the reason shown next
to the field."""

from __future__ import annotations

import pytest
from markupsafe import escape

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.integration.test_api_support import assert_error, assert_field_error, assert_success, rate_limited_app
from tests.integration.test_web_auth import error_slot, submit

NEW_PASSWORD = "pelican-marmalade-orbit"
COMMON = ("password1234", "This is a very common password. Choose a harder one.")


def change(user, **body):
    return user.post("/auth/password", json=body)


def test_the_api_changes_the_password_and_ends_every_earlier_token(client, wallets):
    user = wallets.user()
    other_device = assert_success(client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}))
    pair = assert_success(change(user, current_password=PASSWORD, new_password=NEW_PASSWORD))
    assert set(pair) == {"access_token", "refresh_token"}

    assert_success(client.get("/api/v1/wallets", headers={"Authorization": f"Bearer {pair['access_token']}"}))
    for token in (user.token, other_device["access_token"]):
        assert_error(client.get("/api/v1/wallets", headers={"Authorization": f"Bearer {token}"}), 401, "UNAUTHORIZED")
    for refresh in (user.refresh_token, other_device["refresh_token"]):
        assert_error(client.post("/api/v1/auth/refresh", json={"refresh_token": refresh}), 401, "UNAUTHORIZED")
    assert_success(client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}))

    old = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert_error(old, 401, "UNAUTHORIZED")
    assert_success(client.post("/api/v1/auth/login", json={"email": user.email, "password": NEW_PASSWORD}))


def test_the_api_needs_the_current_password_and_says_every_problem(client, wallets):
    user = wallets.user()
    error = assert_field_error(change(user, current_password="not-my-password", new_password=COMMON[0]),
                               "current_password", "new_password")
    assert error["details"]["fields"] == {"current_password": "This is not your current password.",
                                          "new_password": COMMON[1]}
    assert_field_error(change(user), "current_password", "new_password")
    assert_field_error(change(user, current_password=PASSWORD, new_password=12345678901), "new_password")
    assert_success(client.get("/api/v1/wallets", headers=user.headers))  # nothing changed, nothing ended
    assert_error(client.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                            "new_password": NEW_PASSWORD}), 401, "UNAUTHORIZED")


def test_changing_the_password_is_rate_limited_per_user(database_url, wallets):
    user = wallets.user()
    with rate_limited_app(database_url) as app:
        client = app.test_client()
        body = {"current_password": "guess-number-1", "new_password": NEW_PASSWORD}
        statuses = [client.post("/api/v1/auth/password", headers=user.headers, json=body,
                                environ_base={"REMOTE_ADDR": f"10.1.1.{n}"}).status_code for n in range(6)]
    assert statuses == [422] * 5 + [429]  # from any address: the budget is the user's


def test_the_web_form_shows_every_problem_next_to_its_field(client, wallets):
    user = wallets.user()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    form = {"current_password": "not-my-password", "new_password": COMMON[0], "confirm": "something-else"}
    response, html = submit(client, "/profile/password", form)
    assert response.location == "/profile#security"
    assert error_slot("current_password", "This is not your current password.") in html
    assert error_slot("new_password", COMMON[1]) in html
    assert 'role="alert"' in html and 'type="password" value=""' in html
    _, html = submit(client, "/profile/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                   "confirm": "pelican-marmalade-orbiT"})
    assert error_slot("confirm", "The two passwords do not match.") in html
    assert client.get("/").status_code == 200  # refused changes leave the session alone


def test_the_profile_has_the_security_section(client, wallets):
    user = wallets.user()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    html = client.get("/profile").get_data(as_text=True)
    for name in ("current_password", "new_password", "confirm"):
        assert f'id="f-{name}"' in html
    assert 'autocomplete="current-password"' in html and 'autocomplete="new-password"' in html
    assert "Sign out everywhere" in html


@pytest.mark.parametrize(("password", "message"), [
    COMMON,
    ("qwertyuiop12", "This is similar to a commonly used password. Choose a harder one."),
    ("abcabcabcabc", 'Repeats like "abcabcabc" are only slightly harder to guess than "abc". Choose a harder one.'),
])
def test_sign_up_refuses_guessable_passwords_with_the_reason(client, password, message):
    _, html = submit(client, "/signup", {"email": unique_email(), "phone": unique_phone(), "password": password})
    assert error_slot("password", escape(message)) in html


def test_sign_up_refuses_a_password_built_from_the_own_email_or_phone(client):
    email, phone = unique_email("marguerite.oyelaran"), unique_phone()
    for password in (f"{email.split('@')[0]}1", f"{phone[2:]}ab!"):
        response = client.post("/api/v1/auth/register", json={"email": email, "phone": phone, "password": password})
        error = assert_field_error(response, "password")
        assert error["details"]["fields"]["password"] == "Don't build your password from your email or phone number."
    assert client.post("/api/v1/auth/register", json={"email": email, "phone": phone,
                                                      "password": PASSWORD}).status_code == 201


def test_a_reset_refuses_a_guessable_password_and_keeps_the_link(client, wallets, smtp_server):
    from tests.integration.test_password_reset import ask_for_link, mailed_link, set_password

    user = wallets.user()
    ask_for_link(client, user.email)
    link = mailed_link(smtp_server, user.email)
    refused = set_password(client, link, COMMON[0])
    assert error_slot("password", COMMON[1]) in client.get(refused.location).get_data(as_text=True)
    assert set_password(client, link, NEW_PASSWORD).location == "/login"
