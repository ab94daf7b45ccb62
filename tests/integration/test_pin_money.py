"""The transaction PIN on every way money leaves an account (transfers, institution payments, payouts,
top-ups), by the API: asked once set, a wrong one moves nothing and is counted, five in a row lock outgoing
money for the configured time (audited, and handed to the risk rules), also when they race."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from tests.integration.pin_support import MONEY_PATHS, PIN, WRONG, events, reconciled, set_pin, user_row
from tests.integration.test_api_support import assert_error, assert_success, set_user
from webapp.api.spec import build_spec
from webapp.models.base import utcnow
from webapp.services import pins, risk

CREATED = {"/transfers": "transaction", "/institution-payments": "transaction", "/payouts/bank": "payout",
           "/topup/mobile": "topup"}
paths = pytest.mark.parametrize("path", list(MONEY_PATHS))


@paths
def test_a_pin_once_set_is_asked_and_a_wrong_one_moves_nothing(app, wallets, path):
    sender = MONEY_PATHS[path](wallets, app)
    set_pin(app, sender.user.id)
    before, history = sender.balance(), sender.history()

    missing = assert_error(sender.send(), 403, "PIN_REQUIRED")
    assert "PIN" in missing["message"]
    wrong = assert_error(sender.send(pin=WRONG), 403, "PIN_INVALID")
    assert wrong["details"] == {"attempts_left": 4} and "4 tries left" in wrong["message"]
    assert assert_error(sender.send(pin="12"), 403, "PIN_INVALID")["details"] == {"attempts_left": 3}
    assert sender.balance() == before and sender.history() == history and reconciled(app)
    assert user_row(app, sender.user.id).pin_failures == 2

    made = assert_success(sender.send(pin=PIN), 201)[CREATED[path]]
    assert sender.balance() != before and made["id"] in sender.history()
    assert user_row(app, sender.user.id).pin_failures == 0  # a right PIN starts the count again
    assert events(app, sender.user.id).count("pin_wrong") == 2 and reconciled(app)


@paths
def test_people_without_a_pin_are_not_asked(app, wallets, path):
    sender = MONEY_PATHS[path](wallets, app)
    assert_success(sender.send(), 201)
    assert_success(sender.send(pin="0000"), 201)  # nothing to check it against: ignored
    assert "pin_wrong" not in events(app, sender.user.id)


@paths
def test_a_replay_of_a_key_that_went_through_needs_no_pin(app, wallets, path):
    """A client that lost the answer resends the same request; it gets the stored result, PIN or not."""
    sender = MONEY_PATHS[path](wallets, app)
    set_pin(app, sender.user.id)
    key = uuid.uuid4().hex
    assert_error(sender.send(key=key, pin=WRONG), 403, "PIN_INVALID")  # rolled back: the key is still free
    first = assert_success(sender.send(key=key, pin=PIN), 201)[CREATED[path]]
    again = assert_success(sender.send(key=key), 201)[CREATED[path]]
    assert again["id"] == first["id"] and sender.history().count(first["id"]) == 1


def test_five_wrong_pins_lock_outgoing_money_until_the_lock_ends(app, wallets, monkeypatch):
    lockouts = []
    monkeypatch.setattr(risk, "after_lockout", lambda uow, **seen: lockouts.append(seen))
    sender = MONEY_PATHS["/transfers"](wallets, app)
    set_pin(app, sender.user.id)
    left = [assert_error(sender.send(pin=WRONG), 403, "PIN_INVALID")["details"] for _ in range(4)]
    assert left == [{"attempts_left": n} for n in (4, 3, 2, 1)]
    fifth = assert_error(sender.send(pin=WRONG), 403, "PIN_INVALID")
    until = user_row(app, sender.user.id).pin_locked_until
    assert fifth["details"] == {"locked_until": until.isoformat(timespec="microseconds") + "Z"}
    assert timedelta(minutes=14) < until - utcnow() <= timedelta(minutes=15)
    assert f"locked until {until:%H:%M} UTC" in fifth["message"]

    sixth = assert_error(sender.send(pin=PIN), 403, "PIN_INVALID")  # the right PIN, while locked
    assert sixth["details"] == fifth["details"]
    pin_events = [e for e in events(app, sender.user.id) if e.startswith("pin_")]
    assert pin_events == ["pin_set"] + ["pin_wrong"] * 5 + ["pin_locked"]  # the locked try counts for nothing
    assert lockouts == [{"user_id": sender.user.id, "kind": "pin"}]
    assert user_row(app, sender.user.id).pin_failures == 0 and reconciled(app)

    set_user(app, sender.user.id, pin_locked_until=utcnow() - timedelta(seconds=1))  # the 15 minutes are over
    assert_success(sender.send(pin=PIN), 201)
    assert assert_error(sender.send(pin=WRONG), 403, "PIN_INVALID")["details"] == {"attempts_left": 4}


@pytest.mark.parametrize("path", ["/institution-payments", "/payouts/bank", "/topup/mobile"])
def test_a_lock_stops_the_other_money_paths_too(app, wallets, path):
    sender = MONEY_PATHS[path](wallets, app)
    set_pin(app, sender.user.id)
    set_user(app, sender.user.id, pin_locked_until=utcnow() + timedelta(minutes=5))
    before = sender.balance()
    refused = assert_error(sender.send(pin=PIN), 403, "PIN_INVALID")
    assert set(refused["details"]) == {"locked_until"} and "in 5 minutes" in refused["message"]
    assert sender.balance() == before


def at_once(app, sender, body: dict, copies: int) -> list:
    """`copies` transfers of `body`, each with its own key, sent by real threads behind a barrier."""
    barrier, results = threading.Barrier(copies), [None] * copies

    def worker(i):
        client = app.test_client()
        barrier.wait()
        results[i] = client.post("/api/v1/transfers", json={**body, "idempotency_key": uuid.uuid4().hex},
                                 headers=sender.user.headers)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_eight_wrong_pins_at_once_count_exactly(app, wallets, monkeypatch):
    lockouts = []
    monkeypatch.setattr(risk, "after_lockout", lambda uow, **seen: lockouts.append(seen))
    sender = MONEY_PATHS["/transfers"](wallets, app)
    set_pin(app, sender.user.id)
    bob = wallets.user()
    body = {"from_wallet_id": sender.user.wallet()["id"], "to_email": bob.email, "amount": 100, "currency": "USD",
            "pin": WRONG}
    results = at_once(app, sender, body, 8)

    errors = [assert_error(r, 403, "PIN_INVALID")["details"] for r in results]
    assert sorted(d["attempts_left"] for d in errors if "attempts_left" in d) == [1, 2, 3, 4]
    assert Counter("locked_until" in d for d in errors) == {True: 4, False: 4}  # the fifth, and three too late
    pin_events = Counter(e for e in events(app, sender.user.id) if e.startswith("pin_"))
    assert pin_events == {"pin_set": 1, "pin_wrong": 5, "pin_locked": 1}
    row = user_row(app, sender.user.id)
    assert row.pin_failures == 0 and row.pin_locked_until > utcnow()
    assert lockouts == [{"user_id": sender.user.id, "kind": "pin"}]
    assert sender.user.wallet()["balance"] == 10_000 and bob.wallet()["balance"] == 0 and reconciled(app)


def test_fifteen_wrong_pins_at_once_get_five_checks_then_even_the_right_one_meets_the_lock(app, wallets,
                                                                                         monkeypatch):
    """Guesses sent in parallel take turns on the person's row: five are checked, then the lock answers
    every other one, and the right PIN after them, and nothing moves."""
    sender = MONEY_PATHS["/transfers"](wallets, app)
    set_pin(app, sender.user.id)
    checked = []  # every PIN the server checks against the hash
    real_verify = pins.verify_password
    monkeypatch.setattr(pins, "verify_password",
                        lambda stored, given: checked.append(given) or real_verify(stored, given))
    bob = wallets.user()
    body = {"from_wallet_id": sender.user.wallet()["id"], "to_email": bob.email, "amount": 100, "currency": "USD",
            "pin": WRONG}
    results = at_once(app, sender, body, 15)
    right = sender.user.post("/transfers", json={**body, "pin": PIN, "idempotency_key": uuid.uuid4().hex})

    assert [r.status_code for r in results] == [403] * 15 and checked == [WRONG] * 5
    assert "locked_until" in assert_error(right, 403, "PIN_INVALID")["details"]
    pin_events = Counter(e for e in events(app, sender.user.id) if e.startswith("pin_"))
    assert pin_events == {"pin_set": 1, "pin_wrong": 5, "pin_locked": 1}
    assert sender.user.wallet()["balance"] == 10_000 and bob.wallet()["balance"] == 0 and reconciled(app)


def test_the_openapi_document_lists_the_pin_on_every_money_endpoint():
    spec = build_spec()
    for path in MONEY_PATHS:
        op = spec["paths"][path]["post"]
        narrowed = op["responses"]["403"]["content"]["application/json"]["schema"]["allOf"][1]
        assert {"PIN_REQUIRED", "PIN_INVALID"} <= set(narrowed["properties"]["error"]["properties"]["code"]["enum"])
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        assert schema["properties"]["pin"]["pattern"] == "^[0-9]{4}$", path
    assert set(spec["paths"]["/pin"]) == {"get", "put"}
