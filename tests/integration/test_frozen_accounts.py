"""Freezing from the back office (issue 12, points 5 and 8): an admin freezes and unfreezes with a reason,
audited with the admin as actor; a frozen account cannot send, pay an institution, top up or withdraw, by
the API or on the web, and can still sign in, see its money and receive."""

from __future__ import annotations

import pytest

from tests.integration.institution_scenarios import PAY, add_institution, payment
from tests.integration.payout_scenarios import bank_account, withdraw
from tests.integration.test_backoffice import events, followed, sign_in, staff, user_row
from tests.integration.test_web_institutions import form_data

FROZEN = "This account is frozen."


@pytest.fixture()
def admin_client(app, wallets):
    admin = staff(app, wallets, "admin")
    client = app.test_client()
    sign_in(client, admin)
    client.admin = admin
    return client


def freeze(client, user, reason: str = "Card fraud reported by the issuer"):
    done = client.post(f"/admin/users/{user.id}/freeze", data={"reason": reason})
    assert done.status_code == 303 and done.location == f"/admin/users/{user.id}"
    return client.get(done.location).get_data(as_text=True)


def error_code(response) -> tuple[int, str]:
    return response.status_code, response.json["error"]["code"]


def test_an_admin_freezes_and_unfreezes_with_a_reason_both_audited(app, admin_client, wallets):
    user = wallets.user()
    page = freeze(admin_client, user)
    assert user_row(app, user.id).is_frozen
    assert 'data-testid="frozen"><span class="pill pill-bad">Frozen</span>' in page
    assert "Card fraud reported by the issuer" in page and "Unfreeze this account" in page
    assert events(app, user.id)[-1] == ("account_frozen", admin_client.admin.id,
                                        {"reason": "Card fraud reported by the issuer"})
    done = admin_client.post(f"/admin/users/{user.id}/unfreeze", data={"reason": "Issuer withdrew the report"})
    assert done.status_code == 303 and not user_row(app, user.id).is_frozen
    assert events(app, user.id)[-1] == ("account_unfrozen", admin_client.admin.id,
                                        {"reason": "Issuer withdrew the report"})
    assert "Freeze this account" in admin_client.get(done.location).get_data(as_text=True)


@pytest.mark.parametrize("reason, says", [("", "Say why, for the audit trail."), ("x" * 501, "under 501")])
def test_a_freeze_needs_a_reason(app, admin_client, wallets, reason, says):
    user = wallets.user()
    page = followed(admin_client, admin_client.post(f"/admin/users/{user.id}/freeze", data={"reason": reason}))
    assert says in page and not user_row(app, user.id).is_frozen
    assert [e for e in events(app, user.id) if e[0] == "account_frozen"] == []


def test_freezing_twice_is_told_and_changes_nothing(app, admin_client, wallets):
    user = wallets.user()
    freeze(admin_client, user)
    page = followed(admin_client, admin_client.post(f"/admin/users/{user.id}/freeze", data={"reason": "again"}))
    assert "already frozen" in page and [e[0] for e in events(app, user.id)].count("account_frozen") == 1


def test_a_frozen_account_sends_pays_and_withdraws_nothing_by_the_api(app, admin_client, wallets):
    user = wallets.user(balance=50_000, kyc="verified")
    other, college, account = wallets.user(), add_institution(app), bank_account(user)
    freeze(admin_client, user)
    assert error_code(user.send(other, 1_000)) == (403, "ACCOUNT_FROZEN")
    assert error_code(user.post(PAY, json=payment(user, college))) == (403, "ACCOUNT_FROZEN")
    assert error_code(withdraw(user, account)) == (403, "ACCOUNT_FROZEN")
    assert user.wallet()["balance"] == 50_000 and other.wallet()["balance"] == 0


def test_a_frozen_account_is_refused_on_the_web_forms(app, client, admin_client, wallets):
    user = wallets.user(balance=50_000, kyc="verified")
    other, college, account = wallets.user(), add_institution(app), bank_account(user)
    sign_in(client, user)
    wallet_id = user.wallet()["id"]
    reviews = [client.post("/send", data={"wallet": wallet_id, "to": other.email, "amount": "10"}),
               client.post(f"/pay/to/{college}", data=form_data(wallet_id, "10", student_id="S123456",
                                                                term="2026-fall")),
               client.post("/withdraw", data={"wallet": wallet_id, "account": account, "amount": "10"}),
               client.post("/topup", data={"wallet": wallet_id, "mobile_number": "+1 415 555 0123",
                                           "operator": "us-att", "amount": "10.00"})]
    assert all(review.status_code == 303 and "/review/" in review.location for review in reviews)
    freeze(admin_client, user)
    for review in reviews:  # the confirm step of each: refused at the top of the form
        html = followed(client, client.post(review.location))
        assert FROZEN in html and 'role="alert"' in html, review.location
    assert user.wallet()["balance"] == 50_000 and other.wallet()["balance"] == 0


def test_a_frozen_account_signs_in_sees_its_money_and_receives(app, client, admin_client, wallets):
    user, sender = wallets.user(balance=7_000), wallets.user(balance=5_000)
    freeze(admin_client, user)
    again = type(user)(client, user.email, user.id, user.phone)  # a fresh API sign-in works
    assert again.wallet()["balance"] == 7_000
    assert sender.send(user, 2_500).status_code == 201
    assert again.wallet()["balance"] == 9_500
    web = app.test_client()
    sign_in(web, user)
    assert "$95.00" in web.get("/").get_data(as_text=True)
    assert "Your account is frozen" in web.get("/profile").get_data(as_text=True)


def test_unfrozen_the_account_sends_again(app, admin_client, wallets):
    user, other = wallets.user(balance=5_000), wallets.user()
    freeze(admin_client, user)
    assert error_code(user.send(other, 100)) == (403, "ACCOUNT_FROZEN")
    admin_client.post(f"/admin/users/{user.id}/unfreeze", data={"reason": "Resolved with the customer"})
    assert user.send(other, 100).status_code == 201


def test_a_frozen_account_buys_no_airtime_by_the_api(app, admin_client, wallets):
    user = wallets.user(balance=5_000, kyc="verified")
    freeze(admin_client, user)
    body = {"wallet_id": user.wallet()["id"], "mobile_number": "+1 415 555 0123", "operator": "us-att",
            "amount": 500, "idempotency_key": "frozen-topup"}
    assert error_code(user.post("/topup/mobile", json=body)) == (403, "ACCOUNT_FROZEN")
    assert user.wallet()["balance"] == 5_000
