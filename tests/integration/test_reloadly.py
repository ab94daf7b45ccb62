"""Reloadly's adapter (webapp/providers/reloadly.py) against a fake Reloadly on a loopback port
(tests/integration/fake_reloadly.py): the token, delivered, pending then delivered, a lost answer found
by its key with exactly one top-up made, a refused number, trouble that may pass, an expired token
renewed once, and production's refusals. Then a top-up end to end through the API, services/topups and
the job run inline, with balances, the top-up's status and reconciliation checked."""

from __future__ import annotations

import dataclasses
import logging
import socket
import uuid

import pytest

from tests.conftest import Wallets, make_test_app
from tests.integration.fake_reloadly import CLIENT_SECRET, LATE, OPERATOR_MAP, FakeReloadly
from tests.integration.payout_scenarios import reconciled
from tests.integration.topup_scenarios import airtime_postings, made, row, topup
from tests.unit.test_config import production, refusal
from webapp import config as settings
from webapp.errors import ConfigurationError
from webapp.providers import reloadly
from webapp.providers.airtime import (
    COMPLETED,
    OPERATORS,
    PENDING,
    ProviderDown,
    TopupOrder,
    TopupReceipt,
    TopupRejected,
)
from webapp.providers.reloadly import NAME, ReloadlyTopups

TOPUPS, REPORT = "/topups", "/topups/reports/transactions"


@pytest.fixture()
def fake():
    server = FakeReloadly().start()
    yield server
    server.stop()


def order(ending: str = "0123", *, operator: str = "us-att", amount: int = 2_500, currency: str = "USD",
          number: str | None = None) -> TopupOrder:
    """A first attempt, as services/topup_runs.py builds it, at the US number ending in `ending`."""
    topup_id = str(uuid.uuid4())
    return TopupOrder(topup_id=topup_id, mobile_number=number or f"+1415555{ending}", operator=operator,
                      amount=amount, currency=currency, idempotency_key=f"ewallet-topup-{topup_id}", attempt=1)


def again(first: TopupOrder, attempt: int) -> TopupOrder:
    """The same top-up asked again, as the job does after a retry (attempt > 1) or after its worker died
    (the row's count did not move, so attempt 1 once more)."""
    return dataclasses.replace(first, attempt=attempt)


def test_a_topup_is_delivered_with_one_token_for_many_calls(fake):
    adapter = ReloadlyTopups(fake.config())
    first, kenya = order(), order(number="+254712340001", operator="ke-safaricom", amount=10_050, currency="KES")
    receipt = adapter.send(first)
    assert receipt == TopupReceipt(ref=str(fake.transactions[0]["transactionId"]), status=COMPLETED)
    assert ReloadlyTopups(fake.config()).send(kenya).status == COMPLETED  # a new adapter per attempt, as the job
    assert fake.tokens_issued == 1 and fake.calls("POST", TOPUPS) == [200, 200]
    assert fake.topup_bodies == [
        {"operatorId": 150, "amount": 25.0, "useLocalAmount": True, "customIdentifier": first.idempotency_key,
         "recipientPhone": {"countryCode": "US", "number": "14155550123"}},
        {"operatorId": 265, "amount": 100.5, "useLocalAmount": True, "customIdentifier": kenya.idempotency_key,
         "recipientPhone": {"countryCode": "KE", "number": "254712340001"}}]


def test_pending_is_asked_again_and_then_delivered(fake):
    adapter, first = ReloadlyTopups(fake.config()), order("0005")
    pending = adapter.send(first)
    assert pending.status == PENDING and fake.transactions[0]["status"] == "PROCESSING"
    delivered = adapter.send(again(first, 2))
    assert delivered == TopupReceipt(ref=pending.ref, status=COMPLETED)
    assert len(fake.transactions) == 1 and fake.calls("POST", TOPUPS) == [200]  # looked up, never sent twice
    assert fake.calls("GET", f"/topups/{pending.ref}/status") == [200]


@pytest.mark.parametrize("attempt", [2, 1], ids=["retried", "worker-died"])
def test_a_lost_answer_is_found_by_its_key_and_the_topup_is_made_once(fake, attempt):
    adapter, first = ReloadlyTopups(fake.config()), order()
    fake.lose_next_answer(TOPUPS, LATE)  # Reloadly tops up, but answers after our timeout
    with pytest.raises(ProviderDown):
        adapter.send(first)
    receipt = adapter.send(again(first, attempt))
    assert len(fake.transactions) == 1
    assert receipt == TopupReceipt(ref=str(fake.transactions[0]["transactionId"]), status=COMPLETED)
    # A retry looks the key up first; a rerun at attempt 1 posts, is refused as a reused key, then looks it up.
    assert fake.calls("POST", TOPUPS) == ([200] if attempt == 2 else [200, 400])
    assert fake.calls("GET", REPORT) == [200]


def test_a_refused_number_is_rejected_for_good_with_a_message_for_the_person(fake, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TopupRejected) as refused:
        ReloadlyTopups(fake.config()).send(order("0002"))
    assert str(refused.value) == reloadly.NUMBER_REFUSED and fake.transactions == []
    assert "4155550002" not in caplog.text and CLIENT_SECRET not in caplog.text


def test_a_topup_the_operator_gave_back_is_rejected_when_asked_again(fake):
    adapter, first = ReloadlyTopups(fake.config()), order("0005")
    adapter.send(first)
    fake.transactions[0]["status"] = "REFUNDED"
    with pytest.raises(TopupRejected, match="Nothing was charged"):
        adapter.send(again(first, 2))


@pytest.mark.parametrize(("status", "code", "delay"), [
    (503, None, 0), (500, "PROVIDER_INTERNAL_ERROR", 0), (429, None, 0), (504, None, LATE),  # LATE: a timeout
    (400, "PHONE_RECENTLY_RECHARGED", 0), (400, "INSUFFICIENT_BALANCE", 0), (400, None, 0),  # None: unexplained
])
def test_trouble_at_reloadly_may_work_later_and_the_next_attempt_tops_up_once(fake, status, code, delay):
    adapter, first = ReloadlyTopups(fake.config()), order()
    fake.fail_next(TOPUPS, status, code, delay)
    with pytest.raises(ProviderDown) as down:
        adapter.send(first)
    assert "4155550123" not in str(down.value) and fake.transactions == []
    assert adapter.send(again(first, 2)).status == COMPLETED and len(fake.transactions) == 1


def test_reloadly_out_of_reach_is_provider_down(fake):
    with socket.socket() as taken:  # a free loopback port, closed again: nothing listens there
        taken.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{taken.getsockname()[1]}"
    with pytest.raises(ProviderDown, match="unreachable"):
        ReloadlyTopups(fake.config(RELOADLY_API_BASE=nowhere)).send(order())


def test_an_expired_token_is_renewed_once(fake):
    adapter = ReloadlyTopups(fake.config())
    adapter.send(order())
    fake.expire_tokens()
    assert adapter.send(order()).status == COMPLETED
    assert fake.tokens_issued == 2 and fake.calls("POST", TOPUPS) == [200, 401, 200]


def test_a_token_refused_twice_or_bad_credentials_are_provider_down_and_logged_without_secrets(fake, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderDown):
        ReloadlyTopups(fake.config(RELOADLY_CLIENT_SECRET="wrong-" + CLIENT_SECRET)).send(order())
    fake.fail_next(TOPUPS, 401, "INVALID_TOKEN")
    fake.fail_next(TOPUPS, 401, "INVALID_TOKEN")
    with pytest.raises(ProviderDown, match="401"):
        ReloadlyTopups(fake.config()).send(order())
    assert fake.transactions == [] and fake.tokens_issued == 2
    assert CLIENT_SECRET not in caplog.text and "4155550123" not in caplog.text
    assert "credentials were refused" in caplog.text


def test_an_operator_without_a_reloadly_id_is_not_available(fake):
    with pytest.raises(TopupRejected, match="not available"):
        ReloadlyTopups(fake.config(RELOADLY_OPERATORS="us-att:150")).send(order(operator="us-verizon"))
    assert fake.requests == []


def test_settings_live_or_sandbox_and_the_operator_map():
    live = reloadly.settings({"RELOADLY_SANDBOX": False, "RELOADLY_OPERATORS": OPERATOR_MAP})
    assert (live.audience, live.api_base, live.token_url) == (reloadly.LIVE, reloadly.LIVE, reloadly.AUTH_URL)
    assert live.operators["ke-safaricom"] == 265 and "secret" not in repr(reloadly.settings({}))
    for bad in ("us-att", "us-att:abc", "fr-orange:12"):
        with pytest.raises(ConfigurationError, match="RELOADLY_OPERATORS"):
            reloadly.operator_ids(bad)


def test_production_refuses_reloadly_without_its_keys_live_mode_and_every_operator():
    complete = ",".join(f"{o.id}:{n}" for n, o in enumerate(OPERATORS, start=100))
    live = {"TOPUP_PROVIDER": NAME, "RELOADLY_CLIENT_ID": "id", "RELOADLY_CLIENT_SECRET": "secret",
            "RELOADLY_SANDBOX": False, "RELOADLY_API_BASE": "", "RELOADLY_OPERATORS": complete}
    settings.check_production(production(**live))
    assert "RELOADLY_CLIENT_SECRET must be set" in refusal(production(**{**live, "RELOADLY_CLIENT_SECRET": ""}))
    assert "RELOADLY_SANDBOX must be off" in refusal(production(**{**live, "RELOADLY_SANDBOX": True}))
    assert "RELOADLY_API_BASE must be unset" in refusal(production(**{**live, "RELOADLY_API_BASE": "http://x"}))
    assert "missing: in-vi" in refusal(production(**{**live, "RELOADLY_OPERATORS": complete.rsplit(",", 1)[0]}))


# --- End to end: the API, services/topups, the job (inline, no Redis) and the adapter, on the fake ---


def test_topups_go_through_reloadly_end_to_end_once_each(database_url, fake):
    app = make_test_app(database_url, **fake.config())
    try:
        alice = Wallets(app, app.test_client()).user(balance=10_000)
        delivered = made(topup(alice, "0123", 2_500))
        shown = alice.get(f"/topup/mobile/{delivered['id']}").json["data"]["topup"]
        assert shown["status"] == "completed" and shown["provider_ref"] == str(fake.transactions[0]["transactionId"])
        assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (7_500, 0)
        later = made(topup(alice, "0005", 1_000))  # pending once; the inline runner asks again
        fake.lose_next_answer(TOPUPS, LATE)
        lost = made(topup(alice, "0124", 1_000))  # made at Reloadly, its answer lost: found by its key
        refused = made(topup(alice, "0002", 1_000))
        assert [(row(app, t["id"]).status, row(app, t["id"]).retries) for t in (later, lost, refused)] == [
            ("completed", 1), ("completed", 1), ("failed", 0)]
        assert row(app, refused["id"]).failure_reason == reloadly.NUMBER_REFUSED
        made_for = [t["customIdentifier"] for t in fake.transactions]
        assert made_for == [f"ewallet-topup-{t['id']}" for t in (delivered, later, lost)]  # once each
        assert [airtime_postings(app, t["id"]) for t in (delivered, later, lost, refused)] == [1, 1, 1, 0]
        assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (5_500, 0) and reconciled(app)
    finally:
        app.extensions["ewallet.db"].dispose()
