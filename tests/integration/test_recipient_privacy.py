"""Recipients stay private (issue 8, point 3): someone found by phone, wallet id or user id shows as their
display name (or "E-Wallet user") and a masked email, never their full email, on the review step, in the
API's transfer answer and on receipts; only the email the sender typed may be shown in full. The inline
recipient check is limited per user like sending."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import PASSWORD
from tests.integration.test_api_support import assert_field_error, assert_success, rate_limited_app, registration
from webapp.models.users import mask_email


def sign_in(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


def transfer(sender, **recipient) -> dict:
    body = {"from_wallet_id": sender.wallet()["id"], "amount": 125, "currency": "USD",
            "idempotency_key": uuid.uuid4().hex, **recipient}
    return assert_success(sender.post("/transfers", json=body), 201)["transaction"]


def named_by(kind: str, user) -> dict:
    value = {"phone": user.phone, "wallet_id": user.wallet()["id"], "user_id": user.id}[kind]
    return {f"to_{kind}": value}


@pytest.mark.parametrize("kind", ["phone", "wallet_id", "user_id"])
@pytest.mark.parametrize("name", ["Bob Builder", None])
def test_the_api_answer_masks_an_email_the_sender_did_not_type(wallets, kind, name):
    alice, bob = wallets.user(balance=1_000), wallets.user(name=name)
    tx = transfer(alice, **named_by(kind, bob))
    assert tx["counterparty"] == {"type": "user", "user_id": bob.id, "wallet_id": bob.wallet()["id"],
                                  "name": name or "E-Wallet user", "email": mask_email(bob.email),
                                  "phone": f"{bob.phone[:3]}•••{bob.phone[-2:]}"}
    history = alice.get(f"/wallets/{alice.wallet()['id']}/transactions").get_data(as_text=True)
    receipt = alice.get(f"/transactions/{tx['id']}").get_data(as_text=True)
    for text in (json.dumps(tx), history, receipt):
        assert bob.email not in text


def test_typing_the_email_shows_it_in_full(wallets):
    alice, bob, carol = wallets.user(balance=1_000), wallets.user(), wallets.user(name="Carol C")
    assert transfer(alice, to_email=bob.email.upper())["counterparty"] == {
        "type": "user", "user_id": bob.id, "wallet_id": bob.wallet()["id"], "name": bob.email, "email": bob.email,
        "phone": f"{bob.phone[:3]}•••{bob.phone[-2:]}"}
    shown = transfer(alice, to_email=carol.email)["counterparty"]
    assert (shown["name"], shown["email"]) == ("Carol C", carol.email)


def test_the_recipient_sees_the_senders_name_and_a_masked_email(wallets):
    alice, bob = wallets.user(balance=1_000, name="Alice A"), wallets.user()
    transfer(alice, to_email=bob.email)  # alice typed bob's address; bob typed nothing of alice's
    [credit] = bob.get(f"/wallets/{bob.wallet()['id']}/transactions").json["data"]["transactions"]
    assert credit["direction"] == "credit"
    assert (credit["counterparty"]["name"], credit["counterparty"]["email"]) == ("Alice A", mask_email(alice.email))
    assert alice.email not in json.dumps(credit)


def test_the_review_step_and_the_receipts_show_a_name_and_a_masked_email(client, wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user(name="Bob Builder")
    sign_in(client, alice)
    review = client.post("/send", data={"wallet": alice.wallet()["id"], "to": bob.phone, "amount": "2"})
    page = client.get(review.location).get_data(as_text=True)
    assert 'data-testid="confirm-recipient">Bob Builder<' in page
    assert mask_email(bob.email).replace("@", "<wbr>@") in page and bob.email not in page
    done = client.post(review.location)
    receipt = client.get(done.location).get_data(as_text=True)
    assert "Bob Builder" in receipt and "Sent $2.00 to Bob Builder." in receipt and bob.email not in receipt
    saved = client.get(f"{done.location}/receipt.html").get_data(as_text=True)
    history = client.get("/history").get_data(as_text=True)
    for text in (saved, history, client.get("/").get_data(as_text=True)):
        assert "Bob Builder" in text and bob.email not in text


def test_someone_without_a_name_is_an_e_wallet_user(client, wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    sign_in(client, alice)
    review = client.post("/send", data={"wallet": alice.wallet()["id"], "to": bob.phone, "amount": "2"})
    page = client.get(review.location).get_data(as_text=True)
    assert 'data-testid="confirm-recipient">E-Wallet user<' in page and bob.email not in page


# --- Display names ------------------------------------------------------------------------------------------


def test_a_name_is_given_at_sign_up_and_changed_on_the_profile(app, client, wallets):
    from tests.conftest import unique_email, unique_phone

    email = unique_email("named")
    client.post("/signup", data={"display_name": " Zoë  Quist ", "email": email, "phone": unique_phone(),
                                 "password": PASSWORD})
    profile = client.get("/profile").get_data(as_text=True)
    assert 'value="Zoë Quist"' in profile and 'name="display_name"' in profile
    changed = client.post("/profile/name", data={"display_name": "Zoë Q."})
    assert changed.status_code == 303 and changed.location == "/profile#contacts"
    assert 'value="Zoë Q."' in client.get("/profile").get_data(as_text=True)
    cleared = client.post("/profile/name", data={"display_name": ""})
    assert "E-Wallet user" in client.get(cleared.location).get_data(as_text=True)


@pytest.mark.parametrize(("name", "message"), [
    ("bob@example.com", "Use letters, spaces and punctuation, without @."),
    ("Bob\u202eresu", "Use letters, spaces and punctuation, without @."),
    ("x" * 81, "Keep your name under 81 characters."),
])
def test_names_that_could_pass_for_someone_else_are_refused(client, wallets, name, message):
    alice = wallets.user(name="Alice")
    sign_in(client, alice)
    refused = client.post("/profile/name", data={"display_name": name})
    assert refused.location == "/profile#contacts"
    html = client.get("/profile").get_data(as_text=True)
    assert f'id="e-display_name" aria-live="polite">{message}</p>' in html and 'role="alert"' in html
    assert 'value="Alice"' in client.get("/profile").get_data(as_text=True)  # unchanged
    api = client.post("/api/v1/auth/register", json=registration(display_name=name))
    assert assert_field_error(api, "display_name")["details"]["fields"]["display_name"] == message


def test_sign_up_keeps_a_refused_name_to_fix(client):
    response = client.post("/signup", data={"display_name": "me@evil.example", "email": "nope", "phone": "1",
                                            "password": PASSWORD})
    html = client.get(response.location).get_data(as_text=True)
    assert 'id="e-display_name" aria-live="polite">Use letters, spaces and punctuation, without @.</p>' in html
    assert 'value="me@evil.example"' in html


# --- The inline check is a lookup: limited like sending ------------------------------------------------------


def test_the_inline_recipient_check_is_rate_limited_per_user(database_url, wallets):
    from webapp.web.send import MONEY_LIMIT

    allowed = int(MONEY_LIMIT.split()[0])
    alice, bob, carol = wallets.user(balance=100), wallets.user(), wallets.user(balance=100)
    with rate_limited_app(database_url) as app:
        prober, other = app.test_client(), app.test_client()
        sign_in(prober, alice)
        sign_in(other, carol)
        answers = [prober.post("/send/check/to", data={"to": f"+1415555{n:04d}", "wallet": alice.wallet()["id"]})
                   for n in range(allowed + 1)]
        assert [r.status_code for r in answers] == [200] * allowed + [429]
        assert prober.post("/send/check/amount", data={"amount": "1", "wallet": alice.wallet()["id"]}).status_code \
            == 200  # the amount check looks nobody up: its own, looser limit
        fine = other.post("/send/check/to", data={"to": bob.email, "wallet": carol.wallet()["id"]})
        assert fine.status_code == 200 and fine.get_data(as_text=True) == ""  # another user is not affected
