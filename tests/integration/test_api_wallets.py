"""Wallets, transaction history with cursors, receipts — and that nobody else's are visible."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.integration.test_api_support import assert_error, assert_field_error, assert_success


def test_list_and_open_wallets(wallets):
    user = wallets.user(balance=1_234)
    listed = assert_success(user.get("/wallets"))["wallets"]
    assert listed == [{"id": listed[0]["id"], "currency": "USD", "balance": 1_234, "reserved": 0,
                       "available": 1_234}]
    opened = assert_success(user.post("/wallets", json={"currency": "eur"}), 201)["wallet"]
    assert opened["currency"] == "EUR" and opened["balance"] == 0
    assert [w["currency"] for w in assert_success(user.get("/wallets"))["wallets"]] == ["USD", "EUR"]
    assert assert_success(user.get(f"/wallets/{opened['id']}"))["wallet"] == opened


@pytest.mark.parametrize("body", [{"currency": "ZZZ"}, {"currency": "USD"}, {"currency": 840}, {"currency": ""},
                                  {}, {"currency": "XAU"}, {"currency": "DEM"}, {"currency": "HRK"},
                                  {"currency": "USN"}, {"currency": "XTS"}])
def test_open_wallet_rejects_unknown_duplicate_or_missing_currency(wallets, body):
    assert_field_error(wallets.user().post("/wallets", json=body), "currency")


def test_someone_elses_wallet_and_transactions_are_not_found(wallets):
    alice, bob = wallets.user(balance=500), wallets.user()
    alice.send(bob, 100)
    bob_wallet = bob.wallet()["id"]
    bob_tx = assert_success(bob.get(f"/wallets/{bob_wallet}/transactions"))["transactions"][0]["id"]
    for path in (f"/wallets/{bob_wallet}", f"/wallets/{bob_wallet}/transactions", f"/transactions/{bob_tx}"):
        assert_error(alice.get(path), 404, "NOT_FOUND")
        assert_success(bob.get(path))
    for path in (f"/wallets/{uuid.uuid4()}", f"/wallets/{uuid.uuid4()}/transactions", f"/transactions/{uuid.uuid4()}",
                 "/transactions/not-a-uuid", "/wallets/" + "x" * 300):
        assert_error(alice.get(path), 404, "NOT_FOUND")


def test_a_receipt_is_your_own_side_of_the_transfer(wallets):
    alice, bob = wallets.user(balance=500), wallets.user()
    sent = assert_success(alice.send(bob, 120, note="lunch"), 201)["transaction"]
    receipt = assert_success(alice.get(f"/transactions/{sent['id']}"))["transaction"]
    assert receipt == sent
    assert (receipt["direction"], receipt["amount"], receipt["currency"], receipt["kind"]) == (
        "debit", 120, "USD", "transfer")
    assert receipt["metadata"] == {"note": "lunch"}
    assert receipt["counterparty"]["email"] == bob.email
    received = assert_success(bob.get(f"/wallets/{bob.wallet()['id']}/transactions"))["transactions"]
    assert [(t["direction"], t["amount"]) for t in received] == [("credit", 120)]
    assert received[0]["id"] != sent["id"]


def test_five_transactions_page_by_two_newest_first(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    for amount in range(1, 6):
        assert alice.send(bob, amount).status_code == 201
    path = f"/wallets/{bob.wallet()['id']}/transactions?limit=2"
    pages, cursor = [], None
    for _ in range(4):
        page = assert_success(bob.get(path + (f"&cursor={cursor}" if cursor else "")))
        pages.append(page["transactions"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [t for p in pages for t in p]
    assert len({t["id"] for t in seen}) == 5
    assert [t["amount"] for t in seen] == [5, 4, 3, 2, 1]
    assert [t["created_at"] for t in seen] == sorted((t["created_at"] for t in seen), reverse=True)
    assert assert_success(bob.get(f"/wallets/{bob.wallet()['id']}/transactions"))["next_cursor"] is None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", ["garbage!", "%00%00", _b64("no-separator"), _b64("yesterday|abc"),
                                    _b64("99999-01-01|x"), "eA", "\u00e9\u00e9"])
def test_bad_cursor_is_a_field_error(wallets, cursor):
    user = wallets.user()
    assert_field_error(user.get(f"/wallets/{user.wallet()['id']}/transactions?cursor={cursor}"), "cursor")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "2.5", "", "²", "1e3", "99999999999999999999999"])
def test_bad_limit_is_a_field_error(wallets, limit):
    user = wallets.user()
    assert_field_error(user.get(f"/wallets/{user.wallet()['id']}/transactions?limit={limit}"), "limit")


def test_bad_query_is_checked_after_ownership(wallets):
    """A foreign wallet is 404 whatever the query says: the query must not reveal that the wallet exists."""
    alice, bob = wallets.user(), wallets.user()
    assert_error(alice.get(f"/wallets/{bob.wallet()['id']}/transactions?cursor=eA"), 404, "NOT_FOUND")
