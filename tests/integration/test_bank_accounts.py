"""Bank accounts to withdraw to: real validation (IBAN, ABA routing), the provider's token and the last
four digits kept instead of the number, soft removal, and the number never in a response, a log line or a row."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, make_test_app
from tests.integration.bank_account_scenarios import IBAN, US
from webapp.extensions import new_uow
from webapp.models import AuditLog, BankAccount
from webapp.providers.bank import AccountRejected, SandboxPayouts
from webapp.services import bank_details

GB = {**IBAN, "iban": "GB82WEST12345698765432", "country": "GB", "currency": "GBP"}


def add(user, body):
    return user.post("/bank-accounts", json=body)


def fields(response) -> set[str]:
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    return set(response.json["error"]["details"]["fields"])


def rows(app, user_id) -> list[BankAccount]:
    with app.app_context(), new_uow() as uow:
        return list(uow.session.scalars(select(BankAccount).where(BankAccount.user_id == user_id)))


# --- API --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "bank_name", "last4"), [
    (IBAN, "Commerzbank", "3000"),
    ({**IBAN, "iban": "de89370400440532013000"}, "Commerzbank", "3000"),  # typed in lower case, no spaces
    (GB, None, "5432"),  # schwifty's registry does not name this (test) bank
    (US, None, "6789"),
    ({**US, "account_number": "0001-2345-6789", "routing_number": "021000021"}, None, "6789"),
], ids=["de", "de-lower", "gb", "us", "us-chase"])
def test_a_valid_account_is_added_with_its_bank_and_last_four_only(app, wallets, body, bank_name, last4):
    alice = wallets.user()
    response = add(alice, body)
    assert response.status_code == 201, response.json
    account = response.json["data"]["bank_account"]
    assert account == {"id": account["id"], "account_holder_name": "Alice Example", "bank_name": bank_name,
                       "last4": last4, "currency": body["currency"], "country": body["country"],
                       "created_at": account["created_at"]}
    [row] = rows(app, alice.id)
    assert row.provider_token.startswith(SandboxPayouts.PREFIX)
    assert SandboxPayouts.last4_of(row.provider_token) == last4  # what the sandbox's payouts go by


@pytest.mark.parametrize(("overrides", "bad"), [
    ({"iban": "DE89370400440532013001"}, {"iban"}),  # the IBAN's checksum
    ({"iban": "DE72120300000000202052"}, {"iban"}),  # checksum fixed up, but the German bank's own digits fail
    ({"iban": "DE8937040044053201300"}, {"iban"}),  # one character short
    ({"iban": "XX89370400440532013000"}, {"iban"}),  # no such country
    ({"iban": "MA64011519000001205000534921", "country": "MA"}, {"iban"}),  # not in the official registry
    ({"iban": GB["iban"]}, {"country"}),  # a British IBAN said to be German
    ({"country": "XY"}, {"country"}),
    ({"currency": "ZZZ"}, {"currency"}),
    ({"account_number": "000123456789"}, {"iban"}),  # an IBAN and US numbers: one or the other
    ({"iban": None}, {"iban"}),  # neither
    ({"iban": 12345}, {"iban"}),  # not text
    ({"account_holder_name": " "}, {"account_holder_name"}),
    ({"account_holder_name": "A" * 101}, {"account_holder_name"}),
    ({"account_holder_name": "", "iban": "DE89370400440532013001", "currency": "", "country": ""},
     {"account_holder_name", "iban", "currency", "country"}),  # every problem at once
], ids=lambda value: str(value)[:40])
def test_a_bad_iban_account_is_refused_field_by_field(app, wallets, overrides, bad):
    alice = wallets.user()
    assert fields(add(alice, {**IBAN, **overrides})) == bad
    assert rows(app, alice.id) == []


@pytest.mark.parametrize(("overrides", "bad"), [
    ({"routing_number": "110000001"}, {"routing_number"}),  # the ABA checksum
    ({"routing_number": "11000000"}, {"routing_number"}),  # 8 digits
    ({"routing_number": "000000000"}, {"routing_number"}),  # passes the checksum, routes nowhere
    ({"account_number": "123"}, {"account_number"}),
    ({"account_number": "12345678901234567890"}, {"account_number"}),
    ({"account_number": "12345678x"}, {"account_number"}),
    ({"routing_number": ""}, {"routing_number"}),
    ({"country": "DE"}, {"country"}),  # US numbers are for US banks
    ({"currency": "EUR"}, {"currency"}),  # which take US dollars
    ({"account_number": "1", "routing_number": "110000001", "country": "CA", "currency": "CAD"},
     {"account_number", "routing_number", "country", "currency"}),
], ids=lambda value: str(value)[:40])
def test_a_bad_us_account_is_refused_field_by_field(app, wallets, overrides, bad):
    alice = wallets.user()
    assert fields(add(alice, {**US, **overrides})) == bad
    assert rows(app, alice.id) == []


def test_the_aba_checksum():
    assert bank_details.aba_checksum_ok("021000021") and bank_details.aba_checksum_ok("110000000")
    assert not bank_details.aba_checksum_ok("021000022")


def test_the_same_account_twice_is_refused_until_it_is_removed(wallets):
    alice, bob = wallets.user(), wallets.user()
    first = add(alice, IBAN).json["data"]["bank_account"]
    again = add(alice, {**IBAN, "iban": "DE89370400440532013000", "account_holder_name": "A. Example"})
    assert fields(again) == {"iban"} and "already added" in again.json["error"]["message"]
    assert add(bob, IBAN).status_code == 201  # someone else's list is their own
    assert alice.client.delete(f"/api/v1/bank-accounts/{first['id']}", headers=alice.headers).status_code == 200
    assert add(alice, IBAN).status_code == 201


def test_list_shows_only_your_accounts_that_are_not_removed_oldest_first(wallets):
    alice, bob = wallets.user(), wallets.user()
    ids = [add(alice, body).json["data"]["bank_account"]["id"] for body in (IBAN, GB, US)]
    add(bob, IBAN)
    assert alice.client.delete(f"/api/v1/bank-accounts/{ids[1]}", headers=alice.headers).status_code == 200
    listed = alice.get("/bank-accounts").json["data"]["bank_accounts"]
    assert [account["id"] for account in listed] == [ids[0], ids[2]]
    assert [account["last4"] for account in listed] == ["3000", "6789"]


def test_remove_is_soft_audited_and_only_for_the_owner(app, wallets):
    alice, bob = wallets.user(), wallets.user()
    account_id = add(alice, IBAN).json["data"]["bank_account"]["id"]
    url = f"/api/v1/bank-accounts/{account_id}"
    as_bob = bob.client.delete(url, headers=bob.headers)
    assert as_bob.status_code == 404 and as_bob.json["error"]["code"] == "NOT_FOUND"
    removed = alice.client.delete(url, headers=alice.headers)
    assert removed.status_code == 200 and removed.json == {"status": "success", "data": {}}
    assert alice.client.delete(url, headers=alice.headers).status_code == 404  # once
    assert alice.client.delete("/api/v1/bank-accounts/not-a-uuid", headers=alice.headers).status_code == 404
    [row] = rows(app, alice.id)
    assert row.removed_at is not None and row.last4 == "3000"  # kept, for the payouts made to it
    with app.app_context(), new_uow() as uow:
        audited = uow.session.scalars(select(AuditLog).where(AuditLog.stream == f"user:{alice.id}",
                                                             AuditLog.event.like("bank_account_%"))).all()
    assert [(log.event, log.data["last4"], log.data["bank_account_id"]) for log in audited] == [
        ("bank_account_added", "3000", account_id), ("bank_account_removed", "3000", account_id)]


@pytest.mark.parametrize(("method", "path"), [("get", "/bank-accounts"), ("post", "/bank-accounts"),
                                              ("delete", "/bank-accounts/x")])
def test_unauthenticated_is_401(client, method, path):
    response = client.open(f"/api/v1{path}", method=method.upper(), json=IBAN)
    assert response.status_code == 401 and response.json["error"]["code"] == "UNAUTHORIZED"


class ClosedBank:
    def __init__(self, config):
        pass

    def tokenize_account(self, account):
        raise AccountRejected("The bank says this account is closed.")


def test_a_provider_that_refuses_the_account_is_a_field_error_and_one_that_is_down_a_503(database_url, wallets):
    for provider, status, code in ((f"{__name__}:ClosedBank", 422, "VALIDATION_ERROR"),
                                   ("tests.integration.bank_account_scenarios:UnreachableBank", 503,
                                    "PROVIDER_UNAVAILABLE")):
        app = make_test_app(database_url, PAYOUT_PROVIDER=provider)
        try:
            alice = wallets.user()
            response = app.test_client().post("/api/v1/bank-accounts", json=IBAN, headers=alice.headers)
            assert response.status_code == status and response.json["error"]["code"] == code, response.json
            assert rows(app, alice.id) == []
        finally:
            app.extensions["ewallet.db"].dispose()


def test_no_full_number_in_a_response_a_log_line_or_a_row(app, wallets, client, caplog):
    """Only the last four leave the request that carries the number: not in answers (also refusals), not in
    logs at any level, not in the database (the audit trail included)."""
    caplog.set_level(logging.DEBUG)
    alice = wallets.user()
    numbers = ["DE89370400440532013000", "370400440532013000", "000123456789"]
    responses = [add(alice, IBAN), add(alice, US), add(alice, {**IBAN, "iban": "DE89370400440532013001"}),
                 add(alice, IBAN), add(alice, {**US, "routing_number": "110000001", "country": "DE"}),
                 alice.get("/bank-accounts")]
    sign_in(client, alice)
    responses += [client.post("/bank-accounts", data={**IBAN, "iban": "DE89370400440532013001", "country": ""}),
                  client.get("/bank-accounts"), client.post("/bank-accounts/check/iban", data={"iban": "DE8937"})]
    seen = "\n".join([caplog.text] + [r.get_data(as_text=True) + str(r.headers) for r in responses])
    stored = [str(column) for row in rows(app, alice.id) for column in row.__dict__.values()]
    with app.app_context(), new_uow() as uow:
        stored += [str(log.data) for log in uow.session.scalars(select(AuditLog).where(
            AuditLog.stream == f"user:{alice.id}"))]
    for number in numbers + ["DE89370400440532013001"]:
        assert number not in seen and all(number not in value for value in stored), number
    assert "3000" in seen and "6789" in seen


# --- Web --------------------------------------------------------------------------------------------------


def sign_in(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


def error_of(html: str, name: str) -> str:
    return re.search(rf'id="e-{name}" aria-live="polite">([^<]*)<', html).group(1)


def test_the_page_needs_a_sign_in(client):
    response = client.get("/bank-accounts")
    assert response.status_code == 302 and "/login" in response.location


def test_a_form_with_problems_shows_each_next_to_its_field_without_the_numbers(client, wallets):
    alice = wallets.user()
    sign_in(client, alice)
    form = client.get("/bank-accounts").get_data(as_text=True)
    assert 'name="iban"' in form and 'autocomplete="off"' in form and 'inputmode="numeric"' in form
    assert 'for="f-account_holder_name"' in form and "No bank accounts yet" in form
    response = client.post("/bank-accounts", data={**IBAN, "iban": "DE89370400440532013001", "country": "GB",
                                                   "account_holder_name": "Alice Example"})
    assert response.status_code == 303 and response.location == "/bank-accounts"
    with client.session_transaction() as session:
        kept = session["form:bank-account"]["values"]
    assert "iban" not in kept and kept["account_holder_name"] == "Alice Example"  # the cookie holds no number
    html = client.get("/bank-accounts").get_data(as_text=True)
    assert error_of(html, "iban") == "This IBAN&#39;s check digits do not match: look for a typo."
    assert error_of(html, "account_holder_name") == "" and 'value="Alice Example"' in html
    assert "DE89370400440532013001" not in html and "enter them once more" in html

    client.post("/bank-accounts", data={**US, "routing_number": "110000001", "country": "US", "currency": "EUR"})
    html = client.get("/bank-accounts").get_data(as_text=True)
    assert error_of(html, "routing_number").startswith("This is not a valid routing number")
    assert error_of(html, "currency") == "US bank accounts receive US dollars (USD)."
    assert "<details open>" in html  # the US numbers' section opens on their errors


def test_add_and_remove_from_the_page(client, wallets):
    alice, bob = wallets.user(), wallets.user()
    sign_in(client, alice)
    response = client.post("/bank-accounts", data=IBAN)
    assert response.status_code == 303
    html = client.get(response.location).get_data(as_text=True)
    assert "Added Commerzbank ending 3000." in html and "•••• 3000" in html
    account_id = alice.get("/bank-accounts").json["data"]["bank_accounts"][0]["id"]
    assert f'action="/bank-accounts/{account_id}/remove"' in html

    bobs = add(bob, US).json["data"]["bank_account"]["id"]
    refused = client.post(f"/bank-accounts/{bobs}/remove")
    assert "Bank account not found." in client.get(refused.location).get_data(as_text=True)
    assert len(bob.get("/bank-accounts").json["data"]["bank_accounts"]) == 1

    removed = client.post(f"/bank-accounts/{account_id}/remove")
    html = client.get(removed.location).get_data(as_text=True)
    assert "Removed the account ending 3000." in html and "No bank accounts yet" in html


def test_inline_checks_answer_only_the_message(client, wallets):
    sign_in(client, wallets.user())
    assert client.post("/bank-accounts/check/iban", data={"iban": "DE89370400440532013001"}).get_data(
        as_text=True) == "This IBAN&#39;s check digits do not match: look for a typo."
    assert client.post("/bank-accounts/check/iban", data={"iban": "DE89 3704 0044 0532 0130 00"}).data == b""
    assert client.post("/bank-accounts/check/routing_number", data={"routing_number": "021000021"}).data == b""
    assert client.post("/bank-accounts/check/account_number", data={"account_number": "12"}).data != b""
    assert client.post("/bank-accounts/check/iban", data={"iban": ""}).data == b""
    assert client.post("/bank-accounts/check/country", data={}).status_code == 404


def test_profile_links_to_the_page(client, wallets):
    sign_in(client, wallets.user())
    assert 'href="/bank-accounts"' in client.get("/profile").get_data(as_text=True)
