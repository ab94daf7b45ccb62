"""Only confirmed identifiers receive money by lookup (issue 8, point 2): a new email is confirmed by a mailed
link, a phone by a texted code; until then sending to either says no wallet user matches (exactly as for a
stranger), and sending by wallet id still works. Through the web pages, the API, the real SMTP server and
the SMS sandbox."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.integration.test_api_support import assert_error, assert_field_error, assert_success, registration
from tests.mailbox import body
from webapp.extensions import new_uow
from webapp.models import AuditLog, User, VerificationCode, Wallet
from webapp.models.base import utcnow
from webapp.providers.sms import SandboxSms
from webapp.services import accounts, audit, verification

LINK = re.compile(r"https?://\S+(/verify-email/\S+)")
NO_MATCH = "No wallet user matches that recipient."


def confirm_email_of(app, email: str) -> None:
    """Confirm an address through the service, as its owner pressing the mailed link's button would."""
    with app.app_context():
        with new_uow() as uow:
            user_id = uow.session.scalar(select(User.id).where(User.email == accounts.normalize_email(email)))
        link = verification.issue(new_uow(), user_id=user_id, channel=verification.EMAIL)
        verification.confirm_email(new_uow(), user_id=user_id, token=link.value)


def mailed_link(smtp_server, email: str, count: int = 1) -> str:
    """The path of the confirmation link in the newest mail to `email`."""
    return LINK.search(body(smtp_server.wait_for(email, count=count))).group(1)


def texted_code(phone: str) -> str:
    return re.search(r"\b(\d{6})\b", SandboxSms.last_to(phone)).group(1)


def sign_up(client, **extra) -> dict:
    form = {"email": unique_email("new"), "phone": unique_phone(), "password": PASSWORD, **extra}
    response = client.post("/signup", data=form)
    assert response.status_code == 303 and response.location == "/", response.location
    return form


def send(sender, **recipient):
    body_ = {"from_wallet_id": sender.wallet()["id"], "amount": 100, "currency": "USD",
             "idempotency_key": uuid.uuid4().hex, **recipient}
    return sender.post("/transfers", json=body_)


def user_row(app, email: str) -> User:
    with app.app_context(), new_uow() as uow:
        return uow.session.scalar(select(User).where(User.email == email))


def events(app, user_id: str) -> list[str]:
    with app.app_context(), new_uow() as uow:
        rows = uow.session.scalars(select(AuditLog).where(AuditLog.stream == audit.user_stream(user_id))
                                   .order_by(AuditLog.seq))
        return [row.event for row in rows if "verif" in row.event]


# --- Until confirmed, lookups find nobody -----------------------------------------------------------------


def test_a_new_account_receives_by_wallet_id_but_not_by_email_or_phone_until_confirmed(app, client, wallets,
                                                                                       smtp_server):
    alice = wallets.user(balance=1_000)
    form = sign_up(client)
    new = user_row(app, form["email"])
    assert (new.email_verified_at, new.phone_verified_at) == (None, None)
    stranger = send(alice, to_email=unique_email("nobody"))
    for refused in (send(alice, to_email=form["email"]), send(alice, to_phone=form["phone"])):
        error = assert_error(refused, 404, "NOT_FOUND")
        assert error == assert_error(stranger, 404, "NOT_FOUND")  # the same answer as for nobody at all
        assert error["message"] == NO_MATCH
    with app.app_context(), new_uow() as uow:
        wallet_id = uow.session.scalar(select(Wallet.id).where(Wallet.user_id == new.id))
    by_wallet = assert_success(send(alice, to_wallet_id=wallet_id), 201)["transaction"]
    by_user = assert_success(send(alice, to_user_id=new.id), 201)["transaction"]
    assert by_wallet["counterparty"]["user_id"] == by_user["counterparty"]["user_id"] == new.id
    assert alice.wallet()["balance"] == 800


def test_the_web_form_and_its_inline_check_say_no_match_for_an_unconfirmed_address(client, wallets):
    alice, fresh = wallets.user(balance=1_000), wallets.user(verified=False)
    client.post("/login", data={"email": alice.email, "password": PASSWORD})
    for to in (fresh.email, fresh.phone):
        check = client.post("/send/check/to", data={"to": to, "wallet": alice.wallet()["id"]})
        assert check.get_data(as_text=True) == NO_MATCH
        review = client.post("/send", data={"wallet": alice.wallet()["id"], "to": to, "amount": "1"})
        assert review.location == "/send"
        assert f'id="e-to" aria-live="polite">{NO_MATCH}</p>' in client.get("/send").get_data(as_text=True)
    assert alice.wallet()["balance"] == 1_000


# --- Email: the mailed link ---------------------------------------------------------------------------------


def test_sign_up_mails_a_link_whose_button_confirms_the_address(app, client, wallets, smtp_server):
    alice = wallets.user(balance=1_000)
    form = sign_up(client)
    message = smtp_server.wait_for(form["email"])
    assert message["Subject"] == "Confirm your email for E-Wallet" and "24 hours" in body(message)
    link = mailed_link(smtp_server, form["email"])
    assert "Not confirmed" in client.get("/profile").get_data(as_text=True)

    page = client.get(link)  # what a mail scanner does too: it must change nothing
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Confirm my email" in html and f'action="{link}"' in html
    assert user_row(app, form["email"]).email_verified_at is None
    assert_error(send(alice, to_email=form["email"]), 404, "NOT_FOUND")

    done = client.post(link)
    assert done.status_code == 303 and done.location == "/profile#contacts"
    profile = client.get(done.location).get_data(as_text=True)
    assert "Your email is confirmed." in profile and 'data-testid="email-status">Confirmed<' in profile
    assert_success(send(alice, to_email=form["email"].upper()), 201)
    assert_error(send(alice, to_phone=form["phone"]), 404, "NOT_FOUND")  # the phone is still unconfirmed
    user_id = user_row(app, form["email"]).id
    assert events(app, user_id) == ["email_verified"]


def test_a_link_works_once_only_for_its_own_account_and_only_signed_in(app, client, wallets, smtp_server):
    form = sign_up(client)
    link = mailed_link(smtp_server, form["email"])
    other, stranger = app.test_client(), wallets.user()
    other.post("/login", data={"email": stranger.email, "password": PASSWORD})
    assert other.get(link).status_code == 410  # someone else's session: the link matches nothing
    assert other.post(link).location == link
    assert user_row(app, form["email"]).email_verified_at is None
    signed_out = app.test_client().get(link)
    assert signed_out.status_code == 302 and signed_out.location.startswith("/login?next=/verify-email/")

    assert client.post(link).location == "/profile#contacts"
    again = client.get(link)
    assert again.status_code == 410 and "already confirmed" in again.get_data(as_text=True)
    assert events(app, stranger.id) == ["email_verification_refused"]  # audited as who tried


def test_resending_replaces_the_older_link_and_links_expire(app, client, smtp_server):
    form = sign_up(client)
    older = mailed_link(smtp_server, form["email"])
    resent = client.post("/profile/email/confirm")
    assert resent.status_code == 303 and "We sent a link to" in client.get(resent.location).get_data(as_text=True)
    newer = mailed_link(smtp_server, form["email"], count=2)
    assert newer != older
    assert client.get(older).status_code == 410
    user_id = user_row(app, form["email"]).id
    with app.app_context(), new_uow() as uow:
        uow.session.execute(update(VerificationCode).where(VerificationCode.user_id == user_id)
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert client.get(newer).status_code == 410
    client.post(newer)
    assert user_row(app, form["email"]).email_verified_at is None


def test_secrets_are_stored_only_as_keyed_hashes(app, client, smtp_server):
    form = sign_up(client)
    token = mailed_link(smtp_server, form["email"]).rsplit("/", 1)[1]
    client.post("/profile/phone/code")
    code = texted_code(form["phone"])
    with app.app_context(), new_uow() as uow:
        rows = uow.session.scalars(select(VerificationCode).where(
            VerificationCode.user_id == user_row(app, form["email"]).id)).all()
        stored = [str(getattr(row, c.key)) for row in rows for c in VerificationCode.__table__.columns]
    assert {row.channel for row in rows} == {"email", "phone"}
    assert not any(token in value or code in value for value in stored)
    assert not any(hashlib.sha256(secret.encode()).hexdigest() in stored for secret in (token, code))


# --- Phone: the texted code ---------------------------------------------------------------------------------


def test_the_texted_code_confirms_the_number(app, client, wallets):
    alice = wallets.user(balance=1_000)
    form = sign_up(client)
    sent = client.post("/profile/phone/code")
    assert sent.status_code == 303 and sent.location == "/profile#contacts"
    html = client.get(sent.location).get_data(as_text=True)
    assert "We texted a code to +14•••" in html and 'name="code"' in html
    code = texted_code(form["phone"])
    assert "expires in 10 minutes" in SandboxSms.last_to(form["phone"])
    done = client.post("/profile/phone/confirm", data={"code": f"{code[:3]} {code[3:]}"})
    assert done.status_code == 303
    assert 'data-testid="phone-status">Confirmed<' in client.get(done.location).get_data(as_text=True)
    assert_success(send(alice, to_phone=form["phone"]), 201)
    assert_error(send(alice, to_email=form["email"]), 404, "NOT_FOUND")  # the email is still unconfirmed


def test_a_code_dies_after_five_wrong_tries(app, client):
    form = sign_up(client)
    client.post("/profile/phone/code")
    code = texted_code(form["phone"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    messages = []
    for _ in range(verification.MAX_ATTEMPTS):
        response = client.post("/profile/phone/confirm", data={"code": wrong})
        assert response.status_code == 303 and response.location == "/profile#contacts"
        html = client.get(response.location).get_data(as_text=True)
        messages.append(re.search(r'id="e-code" aria-live="polite">([^<]*)<', html).group(1))
    assert messages[0] == "That code is not right. You can try 4 more times."
    assert messages[-1] == "That code is not right. Ask for a new code."
    client.post("/profile/phone/confirm", data={"code": code})  # the right one, too late
    assert user_row(app, form["email"]).phone_verified_at is None
    client.post("/profile/phone/code")
    client.post("/profile/phone/confirm", data={"code": texted_code(form["phone"])})
    assert user_row(app, form["email"]).phone_verified_at is not None


@pytest.mark.parametrize(("code", "message"), [("12345", "Enter the 6-digit code we texted you."),
                                               ("abcdef", "Enter the 6-digit code we texted you."),
                                               ("", "Enter the 6-digit code we texted you.")])
def test_a_malformed_code_is_a_field_error_that_costs_no_try(app, client, code, message):
    form = sign_up(client)
    client.post("/profile/phone/code")
    response = client.post("/profile/phone/confirm", data={"code": code})
    html = client.get(response.location).get_data(as_text=True)
    assert f'id="e-code" aria-live="polite">{message}</p>' in html and 'role="alert"' in html
    client.post("/profile/phone/confirm", data={"code": texted_code(form["phone"])})
    assert user_row(app, form["email"]).phone_verified_at is not None


def test_an_expired_code_is_refused(app, client):
    form = sign_up(client)
    client.post("/profile/phone/code")
    user_id = user_row(app, form["email"]).id
    with app.app_context(), new_uow() as uow:
        uow.session.execute(update(VerificationCode).where(VerificationCode.user_id == user_id)
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    response = client.post("/profile/phone/confirm", data={"code": texted_code(form["phone"])})
    assert "This code has expired. Ask for a new one." in client.get(response.location).get_data(as_text=True)
    assert user_row(app, form["email"]).phone_verified_at is None


# --- The API, for the mobile app ----------------------------------------------------------------------------


def test_the_app_registers_then_confirms_the_phone_by_code(client, wallets, smtp_server):
    alice = wallets.user(balance=1_000)
    form = registration(display_name="  Ana   María ")
    data = assert_success(client.post("/api/v1/auth/register", json=form), 201)
    assert {"access_token", "refresh_token"} <= set(data)  # register still starts a session
    user = data["user"]
    assert (user["email_verified"], user["phone_verified"], user["display_name"]) == (False, False, "Ana María")
    smtp_server.wait_for(form["email"])  # the link went out at sign-up, as on the web
    headers = {"Authorization": f"Bearer {data['access_token']}"}
    sent = assert_success(client.post("/api/v1/verification/phone", json={}, headers=headers), 202)
    assert sent == {"sent_to": user["phone"], "expires_in": 600}
    wrong = client.post("/api/v1/verification/phone/confirm", json={"code": "000000" if texted_code(
        user["phone"]) != "000000" else "111111"}, headers=headers)
    assert "You can try 4 more times." in assert_field_error(wrong, "code")["details"]["fields"]["code"]
    done = client.post("/api/v1/verification/phone/confirm", json={"code": texted_code(user["phone"])},
                       headers=headers)
    assert assert_success(done)["user"]["phone_verified"] is True
    assert_success(send(alice, to_phone=user["phone"]), 201)
    again = client.post("/api/v1/verification/phone", json={}, headers=headers)
    assert assert_field_error(again, "phone")["message"] == "Your mobile number is already confirmed."


def test_the_app_asks_for_a_new_email_link(client, smtp_server):
    form = registration()
    data = assert_success(client.post("/api/v1/auth/register", json=form), 201)
    headers = {"Authorization": f"Bearer {data['access_token']}"}
    sent = assert_success(client.post("/api/v1/verification/email", json={}, headers=headers), 202)
    assert sent == {"sent_to": form["email"], "expires_in": 24 * 3600}
    assert urlsplit("http://x" + mailed_link(smtp_server, form["email"], count=2)).path.startswith("/verify-email/")


# --- Operators' accounts start confirmed --------------------------------------------------------------------


def test_demo_users_and_new_admins_start_confirmed(app, wallets):
    from webapp.devserver import DEMO_USERS, seed_demo_users
    from webapp.services import staff

    with app.app_context():
        seed_demo_users()
        admin = staff.make_admin(new_uow(), email=unique_email("ops"), password=PASSWORD, phone=unique_phone())
    for email in [demo[0] for demo in DEMO_USERS] + [admin.email]:
        user = user_row(app, email)
        assert user.email_verified_at is not None and user.phone_verified_at is not None, email
    assert user_row(app, DEMO_USERS[0][0]).display_name == "Alice Demo"
    alice = wallets.user(balance=1_000)
    assert_success(send(alice, to_email="bob@example.com"), 201)
