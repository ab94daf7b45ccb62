"""Identifiers mean exactly one thing (issue 8, point 1): an email is one account whatever its case, never
another account that differs by an accent; an idempotency key is exactly the bytes sent."""

from __future__ import annotations

import unicodedata
import uuid

import pytest

from tests.conftest import PASSWORD
from tests.integration.test_api_support import assert_error, assert_field_error, assert_success, registration


def body_for(sender, to_email: str, amount: int = 100, **overrides) -> dict:
    return {"from_wallet_id": sender.wallet()["id"], "to_email": to_email, "amount": amount, "currency": "USD",
            "idempotency_key": uuid.uuid4().hex, **overrides}


def accented(email: str) -> str:
    """jose-…@example.com → jóse-…@example.com: another address, and nobody's."""
    assert email.startswith("jose-")
    return "jóse-" + email.removeprefix("jose-")


# --- Emails ---------------------------------------------------------------------------------------------


def test_an_accented_variant_of_a_registered_address_pays_nobody(wallets):
    alice, jose = wallets.user(balance=1_000), wallets.user(prefix="jose")
    for variant in (accented(jose.email), accented(jose.email).upper()):
        response = alice.post("/transfers", json=body_for(alice, variant))
        assert assert_error(response, 404, "NOT_FOUND")["message"] == "No wallet user matches that recipient."
    assert alice.wallet()["balance"] == 1_000 and jose.wallet()["balance"] == 0


@pytest.mark.parametrize("spell", [str.upper, str.title, lambda e: e.replace("example.com", "EXAMPLE.com"),
                                   lambda e: f"  {e}  "])
def test_case_variants_of_one_address_find_the_same_account(wallets, spell):
    alice, jose = wallets.user(balance=1_000), wallets.user(prefix="jose")
    tx = assert_success(alice.post("/transfers", json=body_for(alice, spell(jose.email))), 201)["transaction"]
    assert tx["counterparty"]["user_id"] == jose.id and jose.wallet()["balance"] == 100


def test_an_accent_typed_composed_or_decomposed_is_one_letter(client, wallets):
    """NFC: "ó" as one code point and as "o" + a combining acute accent are the same address."""
    alice = wallets.user(balance=1_000)
    composed = f"jóse-{uuid.uuid4().hex[:8]}@example.com"
    form = registration(email=unicodedata.normalize("NFD", composed))
    user = assert_success(client.post("/api/v1/auth/register", json=form), 201)["user"]
    assert user["email"] == composed
    _verify(client, form)
    assert_success(alice.post("/transfers", json=body_for(alice, composed)), 201)
    login = client.post("/api/v1/auth/login", json={"email": composed, "password": PASSWORD})
    assert login.status_code == 200


def test_an_international_domain_is_stored_once_in_its_ascii_form(client, wallets):
    alice = wallets.user(balance=1_000)
    local = f"ana-{uuid.uuid4().hex[:8]}"
    form = registration(email=f"{local}@Bücher.DE")
    assert assert_success(client.post("/api/v1/auth/register", json=form), 201)["user"]["email"] == \
        f"{local}@xn--bcher-kva.de"
    taken = client.post("/api/v1/auth/register", json=registration(email=f"{local}@xn--bcher-kva.de"))
    assert assert_field_error(taken, "email")["details"]["fields"]["email"] == "This email is already registered."
    _verify(client, form)
    assert_success(alice.post("/transfers", json=body_for(alice, f"{local}@bücher.de")), 201)


def test_an_accented_variant_is_a_new_person_at_sign_up_and_a_case_variant_is_not(client, wallets):
    jose = wallets.user(prefix="jose")
    upper = client.post("/api/v1/auth/register", json=registration(email=jose.email.upper()))
    assert_field_error(upper, "email")
    assert_success(client.post("/api/v1/auth/register", json=registration(email=accented(jose.email))), 201)


@pytest.mark.parametrize("email", ["jose@example.com.", "jose@exa mple.com", "jose@-example.com", "jose@@example.com",
                                   "jose@example", "@example.com"])
def test_addresses_that_are_no_address_are_field_errors(client, email):
    assert_field_error(client.post("/api/v1/auth/register", json=registration(email=email)), "email")


def test_the_web_send_form_pays_no_accented_variant(client, wallets):
    alice, jose = wallets.user(balance=1_000), wallets.user(prefix="jose")
    client.post("/login", data={"email": alice.email, "password": PASSWORD})
    response = client.post("/send", data={"wallet": alice.wallet()["id"], "to": accented(jose.email), "amount": "1"})
    assert response.status_code == 303 and response.location == "/send"
    html = client.get("/send").get_data(as_text=True)
    assert 'id="e-to" aria-live="polite">No wallet user matches that recipient.</p>' in html
    review = client.post("/send", data={"wallet": alice.wallet()["id"], "to": jose.email.upper(), "amount": "1"})
    assert review.location.startswith("/send/review/")
    assert client.post(review.location).status_code == 303
    assert alice.wallet()["balance"] == 900 and jose.wallet()["balance"] == 100


# --- Idempotency keys -----------------------------------------------------------------------------------


def test_keys_that_differ_only_in_case_are_two_transfers(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    first = assert_success(alice.post("/transfers", json=body_for(alice, bob.email, idempotency_key="Key-AbC-x")),
                           201)["transaction"]
    second = assert_success(alice.post("/transfers", json=body_for(alice, bob.email, idempotency_key="kEY-aBc-X")),
                            201)["transaction"]
    assert first["id"] != second["id"]
    assert alice.wallet()["balance"] == 800 and bob.wallet()["balance"] == 200
    page = alice.get(f"/wallets/{alice.wallet()['id']}/transactions").json["data"]["transactions"]
    assert [t["direction"] for t in page] == ["debit", "debit", "credit"]


@pytest.mark.parametrize("key", ["café-x", "cafe x", " cafe-x", "cafe-x\n", "cafe.x", "k/1", "ｋ1", "k" * 256])
def test_keys_outside_letters_digits_dash_and_underscore_are_field_errors(wallets, key):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    assert_field_error(alice.post("/transfers", json=body_for(alice, bob.email, idempotency_key=key)),
                       "idempotency_key")
    assert alice.wallet()["balance"] == 1_000 and bob.wallet()["balance"] == 0


def test_the_header_key_follows_the_same_rule(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    body = body_for(alice, bob.email)
    del body["idempotency_key"]
    refused = alice.client.post("/api/v1/transfers", json=body, headers={**alice.headers, "Idempotency-Key": "café-x"})
    assert_field_error(refused, "idempotency_key")
    accepted = alice.client.post("/api/v1/transfers", json=body, headers={**alice.headers, "Idempotency-Key": "cafe-x"})
    assert_success(accepted, 201)
    assert alice.wallet()["balance"] == 900


def _verify(client, form: dict) -> None:
    """Confirm the email of a user registered through the API (only confirmed addresses receive money)."""
    from tests.integration.test_verification import confirm_email_of

    confirm_email_of(client.application, form["email"])
