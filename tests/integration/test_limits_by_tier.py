"""Limits by KYC tier (issue 12, points 6 and 8): one table in config, tier × operation × kind
(webapp/config.limit_table), read only by services/limits.py. Each tier's daily deposit and send limits
hold at the limit and refuse one minor unit above it; an unverified person cannot withdraw at all; and a
reviewer's approval moves the person to the verified tier's limits at once. The defaults are what is
tested, so the README's table is what these tests prove."""

from __future__ import annotations

import pytest

from tests.integration import kyc_support as shots
from tests.integration.payout_scenarios import bank_account, reconciled, withdraw
from tests.integration.test_backoffice import staff
from tests.integration.test_deposits import start
from webapp.config import limit_table
from webapp.extensions import new_uow
from webapp.services import kyc

DAILY_SEND = {"unverified": 100_000, "verified": 2_500_000}  # $1,000 and $25,000 (LIMIT_<TIER>_SEND_DAILY)
PER_TX_SEND = {"unverified": 100_000, "verified": 1_000_000}
DAILY_DEPOSIT = {"unverified": 50_000, "verified": 1_000_000}  # $500 and $10,000
PER_TX_DEPOSIT = {"unverified": 50_000, "verified": 500_000}


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json["error"]["code"]


def in_pieces(total: int, most: int) -> list[int]:
    """`total` minor units in amounts no larger than `most`."""
    return [most] * (total // most) + ([total % most] if total % most else [])


def test_the_defaults_are_one_table_by_tier_and_operation(app):
    table = app.config["LIMITS"]
    assert set(table) == {"unverified", "verified"}
    assert table["unverified"]["payout"] is None  # no payouts without a verified identity
    assert table["unverified"]["send"]["daily"] == {"*": 1_000} and table["verified"]["send"]["daily"] == {"*": 25_000}
    assert limit_table({"LIMIT_UNVERIFIED_SEND_DAILY": "USD:800,*:900"})["unverified"]["send"]["daily"] == \
        {"USD": 800, "*": 900}
    assert limit_table({"LIMIT_VERIFIED_PAYOUT_DAILY": ""})["verified"]["payout"]["daily"] == {}  # no limit


@pytest.mark.parametrize("tier", ["unverified", "verified"])
def test_each_tiers_daily_send_limit_holds_at_the_limit_and_refuses_one_cent_more(wallets, tier):
    sender, recipient = wallets.user(balance=DAILY_SEND[tier] + 100, kyc=tier), wallets.user()
    for amount in in_pieces(DAILY_SEND[tier], PER_TX_SEND[tier]):
        assert sender.send(recipient, amount).status_code == 201
    over = sender.send(recipient, 1)
    assert error_of(over) == (422, "LIMIT_EXCEEDED")
    assert over.json["error"]["details"] == {"limit": DAILY_SEND[tier], "currency": "USD", "period": "day",
                                             "tier": tier}
    assert ("Verify your identity to send more." in over.json["error"]["message"]) == (tier == "unverified")
    assert recipient.wallet()["balance"] == DAILY_SEND[tier]


@pytest.mark.parametrize("tier", ["unverified", "verified"])
def test_each_tiers_daily_deposit_limit_holds_at_the_limit_and_refuses_one_cent_more(wallets, tier):
    """Pending deposits count. The last one is the $1 minimum: $1.01 would be one cent over, $1 exactly it."""
    person = wallets.user(kyc=tier)
    for amount in in_pieces(DAILY_DEPOSIT[tier] - 100, PER_TX_DEPOSIT[tier]):
        assert start(person, amount).status_code == 201
    over = start(person, 101)
    assert error_of(over) == (422, "LIMIT_EXCEEDED")
    assert over.json["error"]["details"] == {"limit": DAILY_DEPOSIT[tier], "currency": "USD", "period": "day",
                                             "tier": tier}
    assert ("Verify your identity to add more." in over.json["error"]["message"]) == (tier == "unverified")
    assert start(person, 100).status_code == 201


def test_above_the_unverified_per_transaction_limit_is_kyc_required_above_the_verified_one_limit_exceeded(wallets):
    unverified, recipient = wallets.user(balance=2_000_000), wallets.user()
    kyc_only = unverified.send(recipient, PER_TX_SEND["unverified"] + 1)
    assert error_of(kyc_only) == (403, "KYC_REQUIRED")
    assert kyc_only.json["error"]["details"]["limit"] == PER_TX_SEND["unverified"]
    assert error_of(unverified.send(recipient, PER_TX_SEND["verified"] + 1)) == (422, "LIMIT_EXCEEDED")
    assert error_of(start(unverified, PER_TX_DEPOSIT["unverified"] + 1)) == (403, "KYC_REQUIRED")
    assert error_of(start(unverified, PER_TX_DEPOSIT["verified"] + 1)) == (422, "LIMIT_EXCEEDED")


def test_a_payout_by_an_unverified_person_is_kyc_required(wallets):
    for status in ("unverified", "pending", "rejected"):
        person = wallets.user(balance=10_000, kyc=status)
        refused = withdraw(person, bank_account(person), 1_000)
        assert error_of(refused) == (403, "KYC_REQUIRED"), status
        assert person.wallet()["reserved"] == 0


def test_payouts_have_their_own_daily_limit_and_do_not_use_up_the_days_sending(app, wallets):
    person, recipient = wallets.user(balance=6_000_000, kyc="verified"), wallets.user(kyc="verified")
    account = bank_account(person)
    for amount in in_pieces(2_500_000, 1_000_000):  # $25,000 a day (LIMIT_VERIFIED_PAYOUT_DAILY)
        assert withdraw(person, account, amount).status_code == 201
    over = withdraw(person, account, 1)
    assert error_of(over) == (422, "LIMIT_EXCEEDED") and over.json["error"]["details"]["period"] == "day"
    assert error_of(withdraw(person, account, 1_000_001)) == (422, "LIMIT_EXCEEDED")  # per payout
    assert person.send(recipient, 1_000_000).status_code == 201  # the day's sending is untouched
    assert reconciled(app)


def test_a_reviewers_approval_raises_the_limits(app, wallets):
    """Refused at the unverified daily send limit; a reviewer approves the identity check through
    services/kyc; the very same send then goes through."""
    person, recipient = wallets.user(balance=500_000), wallets.user()
    assert person.send(recipient, DAILY_SEND["unverified"]).status_code == 201
    body_key = "after-approval"
    refused = person.send(recipient, 50_000, key=body_key)
    assert error_of(refused) == (422, "LIMIT_EXCEEDED") and refused.json["error"]["details"]["tier"] == "unverified"
    reviewer = staff(app, wallets)
    with app.app_context():
        submission = kyc.submit(new_uow(), user_id=person.id, document_type="passport", id_front=shots.jpeg(),
                                id_back=None, selfie=shots.jpeg(color=(30, 30, 200)))
        kyc.approve(new_uow(), reviewer_id=reviewer.id, submission_id=submission.id)
    assert person.send(recipient, 50_000, key=body_key).status_code == 201  # the refusal stored nothing
    assert recipient.wallet()["balance"] == DAILY_SEND["unverified"] + 50_000
    assert reconciled(app)
