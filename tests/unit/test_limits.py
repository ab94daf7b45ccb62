"""The limit table (webapp/config.limit_table) and how services/limits.py answers a breach: KYC_REQUIRED
only when a verified identity alone would let the request through, LIMIT_EXCEEDED otherwise, with the
limit, its period and the tier in the details. And the risk rules' settings (config.risk_rules)."""

from __future__ import annotations

import pytest

from webapp.config import limit_table, risk_rules
from webapp.errors import KycRequired, LimitExceeded
from webapp.money import Money
from webapp.services import limits

CONFIG = {"LIMITS": limit_table({})}


def usd(cents: int) -> Money:
    return Money(cents, "USD")


@pytest.mark.parametrize("status, tier", [("unverified", "unverified"), ("pending", "unverified"),
                                          ("rejected", "unverified"), ("verified", "verified")])
def test_only_a_verified_identity_is_the_verified_tier(status, tier):
    assert limits.tier_of(status) == tier


def test_the_table_reads_each_cell_from_its_variable_with_safe_defaults():
    table = limit_table({"LIMIT_VERIFIED_SEND_DAILY": "usd:30000,*:20000", "LIMIT_UNVERIFIED_DEPOSIT_MIN": ""})
    assert table["verified"]["send"]["daily"] == {"USD": 30_000, "*": 20_000}
    assert table["unverified"]["deposit"]["min"] == {}  # set but empty: no minimum
    assert table["unverified"]["deposit"]["daily"] == {"*": 500}  # unset: the default
    assert table["unverified"]["payout"] is None
    assert limit_table({"LIMIT_UNVERIFIED_PAYOUT_DAILY": "*:100"})["unverified"]["payout"] is None  # not a setting


def test_in_a_currency_without_its_own_figure_the_star_applies_in_its_minor_units():
    assert limits.limit(CONFIG, "verified", "send", "daily", "JPY") == Money(25_000, "JPY")  # 0 decimals
    assert limits.limit(CONFIG, "verified", "send", "daily", "KWD") == Money(25_000_000, "KWD")  # 3 decimals
    assert limits.limit({}, "verified", "send", "daily", "USD") is None  # no table, no limit


def test_above_the_unverified_per_transaction_limit_but_within_the_verified_one_is_kyc_required():
    with pytest.raises(KycRequired) as refused:
        limits.check(CONFIG, "send", usd(100_001), kyc_status="pending")
    assert refused.value.details == {"limit": 100_000, "currency": "USD", "period": "transaction",
                                     "tier": "unverified"}
    with pytest.raises(LimitExceeded):  # above what even a verified person may send at once
        limits.check(CONFIG, "send", usd(1_000_001), kyc_status="unverified")
    limits.check(CONFIG, "send", usd(100_000), kyc_status="unverified")


def test_a_daily_total_is_limit_exceeded_with_a_hint_only_when_verifying_raises_it():
    with pytest.raises(LimitExceeded) as unverified:
        limits.check(CONFIG, "deposit", usd(100), kyc_status="unverified", done_today=49_901)
    assert unverified.value.message == "You can add at most $500.00 a day. Verify your identity to add more."
    assert unverified.value.details["period"] == "day"
    same = {"LIMITS": limit_table({"LIMIT_UNVERIFIED_SEND_DAILY": "*:50", "LIMIT_VERIFIED_SEND_DAILY": "*:50"})}
    with pytest.raises(LimitExceeded) as no_hint:
        limits.check(same, "send", usd(2), kyc_status="unverified", done_today=4_999)
    assert no_hint.value.message == "You can send at most $50.00 a day."


def test_below_the_minimum_is_limit_exceeded_for_everyone():
    for status in ("unverified", "verified"):
        with pytest.raises(LimitExceeded) as low:
            limits.check(CONFIG, "deposit", usd(99), kyc_status=status)
        assert low.value.message == "Add at least $1.00." and low.value.details["period"] == "minimum"


def test_no_payout_without_a_verified_identity_even_without_a_table():
    for config in (CONFIG, {}):
        with pytest.raises(KycRequired):
            limits.check(config, "payout", usd(1), kyc_status="pending")
    limits.check(CONFIG, "payout", usd(1_000_000), kyc_status="verified", done_today=1_500_000)
    with pytest.raises(LimitExceeded):
        limits.check(CONFIG, "payout", usd(1), kyc_status="verified", done_today=2_500_000)


def test_risk_rules_default_on_and_each_can_be_switched_off():
    rules = risk_rules({})
    assert rules == {"new_recipients": {"count": 5, "minutes": 10}, "lockouts": {"count": 2, "hours": 24},
                     "negative_balance": {"enabled": True}}
    off = risk_rules({"RISK_NEW_RECIPIENTS_COUNT": "0", "RISK_LOCKOUTS_COUNT": "0", "RISK_NEGATIVE_BALANCE": "false"})
    assert off["new_recipients"]["count"] == off["lockouts"]["count"] == 0
    assert off["negative_balance"] == {"enabled": False}
