"""Paying colleges, schools, utilities and shops: the directory, the command that fills it, the reference
checked against each institution's schema, and the money, also with many payers paying one at once."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.integration.institution_scenarios import PAY, STUDENT, add_institution, payment
from tests.integration.test_api_support import set_user
from tests.integration.test_cli import ewallet
from tests.integration.test_concurrency import race
from webapp.extensions import new_uow
from webapp.models import Institution, Posting, Transaction
from webapp.money import Money
from webapp.services import ledger, reconciliation


def institution_balance(app, institution_id: str) -> int:
    with app.app_context(), new_uow() as uow:
        account_id = uow.session.get(Institution, institution_id).account_id
        return ledger.derived_balance(uow, account_id)


def assert_reconciled(app):
    with app.app_context():
        report = reconciliation.reconcile(new_uow())
    assert report.ok, (report.drifts, report.unbalanced_currencies)


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json["error"]["code"]


# --- The directory ----------------------------------------------------------------------------------------


def test_the_command_adds_an_institution_and_prints_its_id(app, database_url, wallets):
    name = f"Riverside College {uuid.uuid4().hex[:6]}"
    done = ewallet(database_url, "institution", "add", name, "--kind", "college", "--country", "us",
                   "--currency", "usd", "--field", r"student_id=^S\d{6}$", "--field", "term=20\\d\\d-(spring|fall)",
                   "--label", "term=Term", "--example", "student_id=S123456")
    assert done.returncode == 0, done.stderr
    new_id = done.stdout.strip()
    assert str(uuid.UUID(new_id)) == new_id  # the id and nothing else, for scripts
    listed = wallets.user().get("/institutions?kind=college").json["data"]["institutions"]
    mine = next(found for found in listed if found["id"] == new_id)
    assert mine == {"id": new_id, "name": name, "kind": "college", "country": "US", "currency": "USD",
                    "reference_fields": [
                        {"name": "student_id", "label": "Student ID", "pattern": r"^S\d{6}$", "example": "S123456"},
                        {"name": "term", "label": "Term", "pattern": r"20\d\d-(spring|fall)"}]}
    assert new_id in ewallet(database_url, "institution", "list").stdout


@pytest.mark.parametrize(("args", "says"), [
    (["--field", "student_id=^S(\\d{6}$"], "does not compile"),
    (["--field", "Student-ID=^S\\d{6}$"], "Field name"),
    (["--field", "student_id="], "pattern"),
    (["--field", "student_id"], "NAME=VALUE"),
    (["--field", "a=x", "--field", "a=y"], "twice"),
    (["--field", "a=x", "--example", "a=y"], "does not match"),
    (["--field", "a=x", "--label", "b=Bee"], "no --field named b"),
    (["--field", "a=x", "--country", "XX"], "country"),
    (["--field", "a=x", "--currency", "ZZZ"], "currency"),
])
def test_the_command_refuses_a_bad_schema(database_url, args, says):
    base = {"--kind": "school", "--country": "US", "--currency": "USD"}
    for option in args[::2]:
        base.pop(option, None)
    flat = [part for pair in base.items() for part in pair]
    done = ewallet(database_url, "institution", "add", "Bad School", *flat, *args)
    assert done.returncode != 0 and says in done.stderr and "Traceback" not in done.stderr


def test_the_list_filters_by_kind_and_leaves_out_inactive_ones(app, wallets):
    utility = add_institution(app, kind="utility", fields=[("account_no", r"\d{8}", "12345678")])
    closed = add_institution(app, kind="utility", fields=[("account_no", r"\d{8}", "12345678")])
    with app.app_context(), new_uow() as uow:
        uow.session.get(Institution, closed).active = False
        uow.commit()
    user = wallets.user()
    ids = [found["id"] for found in user.get("/institutions?kind=utility").json["data"]["institutions"]]
    assert utility in ids and closed not in ids
    assert {found["kind"] for found in user.get("/institutions?kind=utility").json["data"]["institutions"]} == {
        "utility"}
    assert error_of(user.get("/institutions?kind=bank")) == (422, "VALIDATION_ERROR")
    assert error_of(user.post(PAY, json=payment(wallets.user(balance=100), closed))) == (404, "NOT_FOUND")


# --- The reference ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("reference", "fields"), [
    ({}, {"reference.student_id", "reference.term"}),
    ({"student_id": "S12345", "term": "2026-fall"}, {"reference.student_id"}),
    ({"student_id": "S1234567", "term": "2026-fall"}, {"reference.student_id"}),  # a full match, not a prefix
    ({"student_id": "xS123456", "term": "2026-fall"}, {"reference.student_id"}),
    ({"student_id": "S123456", "term": "2026-winter"}, {"reference.term"}),
    ({"student_id": "S123456"}, {"reference.term"}),
    ({"student_id": 123456, "term": "2026-fall"}, {"reference.student_id"}),
    ({"student_id": None, "term": ""}, {"reference.student_id", "reference.term"}),
    ({**STUDENT, "room": "12"}, {"reference.room"}),
    ({"student_id": "S" + "1" * 70, "term": "2026-fall"}, {"reference.student_id"}),
    ({"student_id": "S123456\n", "term": "2026-fall\u0000"}, {"reference.term"}),
    ([], {"reference"}),
    ("S123456", {"reference"}),
])
def test_a_bad_reference_is_a_422_naming_each_field(app, wallets, reference, fields):
    college = add_institution(app)
    payer = wallets.user(balance=10_000)
    response = payer.post(PAY, json=payment(payer, college, reference=reference))
    assert error_of(response) == (422, "VALIDATION_ERROR")
    assert set(response.json["error"]["details"]["fields"]) == fields
    assert payer.wallet()["balance"] == 10_000 and institution_balance(app, college) == 0


def test_missing_and_mistyped_fields_are_named(wallets, app):
    payer = wallets.user(balance=100)
    response = payer.post(PAY, json={"idempotency_key": "k1"})
    assert set(response.json["error"]["details"]["fields"]) == {"wallet_id", "institution_id", "amount", "currency",
                                                                "reference"}
    college = add_institution(app)
    for broken in ({"amount": 12.5}, {"amount": "100"}, {"currency": "ZZZ"}, {"institution_id": 7},
                   {"idempotency_key": "not a key!"}):
        assert error_of(payer.post(PAY, json=payment(payer, college) | broken)) == (422, "VALIDATION_ERROR")


# --- The money --------------------------------------------------------------------------------------------


def test_a_good_reference_pays_and_the_receipt_carries_it(app, wallets):
    college = add_institution(app, name="Riverside College")
    payer = wallets.user(balance=10_000)
    response = payer.post(PAY, json=payment(payer, college, 2_500, reference={"student_id": " S123456 ",
                                                                               "term": "2026-fall"}))
    assert response.status_code == 201, response.json
    tx = response.json["data"]["transaction"]
    assert (tx["kind"], tx["direction"], tx["amount"], tx["currency"], tx["status"]) == (
        "institution_payment", "debit", 2_500, "USD", "completed")
    assert tx["counterparty"] == {"type": "institution", "institution_id": college, "name": "Riverside College",
                                  "kind": "college"}
    assert tx["metadata"] == {"reference": STUDENT, "reference_labels": {"student_id": "Student ID", "term": "Term"}}
    assert payer.get(f"/transactions/{tx['id']}").json["data"]["transaction"] == tx
    assert payer.wallet()["balance"] == 7_500 and institution_balance(app, college) == 2_500
    with app.app_context(), new_uow() as uow:
        entry_id = uow.session.get(Transaction, tx["id"]).journal_entry_id
        legs = sorted(uow.session.execute(select(Posting.amount, Posting.currency).where(Posting.entry_id == entry_id)))
    assert legs == [(-2_500, "USD"), (2_500, "USD")]
    assert_reconciled(app)


def test_a_replay_pays_once_and_another_request_under_the_key_is_a_conflict(app, wallets):
    college = add_institution(app)
    payer = wallets.user(balance=10_000)
    body = payment(payer, college, 1_000, key="fees-once")
    first, again = payer.post(PAY, json=body), payer.post(PAY, json=body)
    assert first.status_code == again.status_code == 201 and first.get_data() == again.get_data()
    assert error_of(payer.post(PAY, json={**body, "amount": 1_001})) == (409, "IDEMPOTENCY_CONFLICT")
    assert error_of(payer.post(PAY, json={**body, "reference": {**STUDENT, "term": "2027-fall"}})) == (
        409, "IDEMPOTENCY_CONFLICT")
    assert payer.wallet()["balance"] == 9_000 and institution_balance(app, college) == 1_000
    assert_reconciled(app)


def test_a_frozen_payer_is_refused_and_nothing_moves(app, wallets):
    college = add_institution(app)
    payer = wallets.user(balance=10_000)
    set_user(app, payer.id, is_frozen=True)
    assert error_of(payer.post(PAY, json=payment(payer, college))) == (403, "ACCOUNT_FROZEN")
    assert payer.wallet()["balance"] == 10_000 and institution_balance(app, college) == 0
    assert_reconciled(app)


def test_a_wallet_below_zero_pays_nothing(app, wallets):
    college = add_institution(app)
    payer = wallets.user(balance=1_000)
    with app.app_context(), new_uow() as uow:  # a card refund after the money was spent (services/deposits.py)
        wallet = ledger.lock_wallets(uow, [payer.wallet()["id"]])[payer.wallet()["id"]]
        house = ledger.house_account_id(uow, "stripe_clearing", "USD")
        ledger.post_entry(uow, kind="refund", legs=[ledger.Leg(Money(-1_500, "USD"), wallet=wallet, may_overdraw=True),
                                                    ledger.Leg(Money(1_500, "USD"), account_id=house)])
        uow.commit()
    assert error_of(payer.post(PAY, json=payment(payer, college, 100))) == (403, "ACCOUNT_FROZEN")
    assert payer.wallet()["balance"] == -500 and institution_balance(app, college) == 0


def refused(wallets, college, euro, case):
    """(who pays, what they send) for each way a payment is refused."""
    payer = wallets.user(balance=10_000)
    if case == "a euro wallet":
        european = wallets.user(balance=500, currency="EUR")
        return european, payment(european, college, 100, currency="EUR")
    if case == "over the per-payment limit":
        rich = wallets.user(balance=1_000_001, kyc="verified")
        return rich, payment(rich, college, 1_000_001)
    if case == "over the unverified limit":
        unverified = wallets.user(balance=100_001)
        return unverified, payment(unverified, college, 100_001)
    if case == "someone else's wallet":
        return payer, payment(wallets.user(balance=500), college, 100)
    return payer, {"more than the balance": lambda: payment(payer, college, 10_001),
                   "a euro institution": lambda: payment(payer, euro, 100),
                   "an unknown institution": lambda: payment(payer, str(uuid.uuid4()), 100)}[case]()


@pytest.mark.parametrize(("case", "expected"), [
    ("more than the balance", (422, "INSUFFICIENT_FUNDS")),
    ("a euro wallet", (422, "CURRENCY_MISMATCH")),
    ("a euro institution", (422, "CURRENCY_MISMATCH")),
    ("over the per-payment limit", (422, "LIMIT_EXCEEDED")),
    ("over the unverified limit", (403, "KYC_REQUIRED")),
    ("someone else's wallet", (404, "NOT_FOUND")),
    ("an unknown institution", (404, "NOT_FOUND")),
])
def test_refusals_move_nothing(app, wallets, case, expected):
    college, euro = add_institution(app), add_institution(app, currency="EUR")
    who, body = refused(wallets, college, euro, case)
    before = who.wallet(body["currency"])["balance"] if case != "someone else's wallet" else None
    response = who.post(PAY, json=body)
    assert error_of(response) == expected, response.json
    assert institution_balance(app, college) == institution_balance(app, euro) == 0
    if before is not None:
        assert who.wallet(body["currency"])["balance"] == before


def test_the_daily_limit_counts_institution_payments_with_transfers(app, wallets):
    college = add_institution(app)
    payer = wallets.user(balance=3_000_000, kyc="verified")
    for _ in range(2):
        assert payer.post(PAY, json=payment(payer, college, 1_000_000)).status_code == 201
    assert payer.send(wallets.user(), 400_000).status_code == 201
    assert error_of(payer.post(PAY, json=payment(payer, college, 100_001))) == (422, "LIMIT_EXCEEDED")
    assert institution_balance(app, college) == 2_000_000
    assert_reconciled(app)


def test_twenty_payers_paying_one_institution_at_once_all_succeed(app, wallets):
    """Nothing of the institution is locked: all twenty go through, no deadlock, no lost posting."""
    college = add_institution(app)
    payers = [wallets.user(balance=5_000) for _ in range(20)]
    bodies = [payment(payer, college, 1_000 + i) for i, payer in enumerate(payers)]

    responses = race(app, 20, lambda client, i: client.post(f"/api/v1{PAY}", json=bodies[i],
                                                            headers=payers[i].headers))

    assert [r.status_code for r in responses] == [201] * 20, [r.json for r in responses if r.status_code != 201]
    assert institution_balance(app, college) == sum(1_000 + i for i in range(20))
    assert [p.wallet()["balance"] for p in payers] == [5_000 - 1_000 - i for i in range(20)]
    assert_reconciled(app)


def test_twenty_copies_of_one_payment_pay_once(app, wallets):
    college = add_institution(app)
    payer = wallets.user(balance=5_000)
    body = payment(payer, college, 1_234, key="tuition-2026-fall")

    responses = race(app, 20, lambda client, i: client.post(f"/api/v1{PAY}", json=body, headers=payer.headers))

    assert {r.status_code for r in responses} == {201} and len({r.get_data() for r in responses}) == 1
    assert payer.wallet()["balance"] == 5_000 - 1_234 and institution_balance(app, college) == 1_234
    assert_reconciled(app)
