"""Top-ups as the tests make them (sandbox numbers ending in chosen digits), and the documented responses
of the top-up endpoints for tests/integration/test_api_spec.py."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from tests.integration.test_api_support import set_user
from webapp.extensions import new_uow
from webapp.models import Account, Posting, Topup

TOPUPS = "/topup/mobile"
ONE = "/topup/mobile/{topup_id}"
OPERATORS = "/topup/operators"
US = "+1 415 555 {}"  # US numbers: no carrier data, so the operator is chosen (us-att)
KENYA = "+254 712 34{}"  # Safaricom's range: detected


def topup(user, number: str = "0123", amount: int = 1_000, *, operator: str | None = "us-att", currency="USD",
          key: str | None = None, **extra):
    """Top up the US number ending in the four digits `number` (or any other `number` as written) from the
    `currency` wallet."""
    ending = len(number) == 4 and number.isdigit()
    body = {"wallet_id": user.wallet(currency)["id"], "mobile_number": US.format(number) if ending else number,
            "amount": amount, "idempotency_key": key or uuid.uuid4().hex, **extra}
    if operator:
        body["operator"] = operator
    return user.post(TOPUPS, json=body)


def made(response) -> dict:
    assert response.status_code == 201, response.json
    return response.json["data"]["topup"]


def row(app, topup_id: str) -> Topup:
    with app.app_context(), new_uow() as uow:
        return uow.session.get(Topup, topup_id)


def airtime_postings(app, topup_id: str) -> int:
    """Postings of this top-up's money into airtime in flight: 1 when completed, never 2."""
    with app.app_context(), new_uow() as uow:
        topup_row = uow.session.get(Topup, topup_id)
        if topup_row.paid_entry_id is None:
            return 0
        return uow.session.scalar(select(func.count()).select_from(Posting).join(Account).where(
            Account.code == f"house:airtime_in_flight:{topup_row.currency}",
            Posting.entry_id == topup_row.paid_entry_id, Posting.amount > 0)) or 0


def frozen(world):
    user = world.wallets.user(balance=10_000)
    set_user(world.app, user.id, is_frozen=True)
    return topup(user)


def over_the_daily_limit(world):
    """KES 25,000 a day (the verified tier's LIMIT_VERIFIED_SEND_DAILY) in top-ups of KES 10,000, Safaricom's most."""
    user = world.wallets.user(balance=5_000_000, currency="KES", kyc="verified")
    for _ in range(2):
        made(topup(user, KENYA.format("0001"), 1_000_000, operator=None, currency="KES"))
    return topup(user, KENYA.format("0001"), 1_000_000, operator=None, currency="KES")


def _conflict(world):
    user = world.wallets.user(balance=10_000)
    assert topup(user, amount=1_000, key="same").status_code == 201
    return [topup(user, amount=2_000, key="same")]


def _invalid(world):
    user = world.wallets.user(balance=10_000)
    poor = world.wallets.user(balance=500)
    return [world.call("post", TOPUPS, json={}), topup(user, "12", 1), topup(user, KENYA.format("0001"), operator=None),
            topup(user, amount=20_000), topup(poor, amount=1_000), over_the_daily_limit(world)]


def _completed(world):
    user = world.wallets.user(balance=10_000)
    response = topup(user)
    return [user.get(f"{TOPUPS}/{made(response)['id']}")]


SCENARIOS = {
    ("get", OPERATORS, "200"): lambda w: [w.call("get", OPERATORS), w.call("get", f"{OPERATORS}?country=KE")],
    ("get", OPERATORS, "422"): lambda w: [w.call("get", f"{OPERATORS}?country=FR")],
    ("post", TOPUPS, "201"): lambda w: [topup(w.alice)],
    ("post", TOPUPS, "403"): lambda w: [frozen(w)],
    ("post", TOPUPS, "404"): lambda w: [w.alice.post(TOPUPS, json={"wallet_id": str(uuid.uuid4()), "amount": 500,
                                                                   "mobile_number": US.format("0123"),
                                                                   "operator": "us-att", "idempotency_key": "k"})],
    ("post", TOPUPS, "409"): _conflict,
    ("post", TOPUPS, "422"): _invalid,
    ("get", ONE, "200"): _completed,
    ("get", ONE, "404"): lambda w: [w.alice.get(f"{TOPUPS}/{uuid.uuid4()}")],
}
