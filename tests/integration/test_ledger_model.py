"""A model-based test of the ledger (issue 10, point 5). A Hypothesis state machine drives the real services
on MariaDB: sign-ups, wallets, manual credits, transfers (refused ones too), holds reserved, posted,
released and expired, idempotency keys replayed and reused. Beside it runs a plain Python model of every
balance, hold and key, and after every step the database must agree with the model and keep the ledger's
invariants: postings sum to zero per entry and per currency, cached balances and reserved amounts equal
the ledger, no available balance is below zero, and each stored key moved money exactly once.

The machine has its own database (migrated here, dropped after). Four people sign up once (a sign-up
writes far more than the money tables the machine drives); every example empties the money tables and
opens their wallets again, so the checks cover the whole database and a step costs the same in the last
example as in the first.

The suite runs a short profile: 25 programs of up to 25 steps, derandomized (the same programs on every
run, so CI never flakes on a new find) and not shrunk (a failure prints its whole program at once; shrinking
on a real database can take Hypothesis its full five minutes). The nightly profile explores 500 new random
programs of up to 50 steps and shrinks a failure to the shortest program that still breaks a check:

    HYPOTHESIS_PROFILE=nightly scripts/test tests/integration/test_ledger_model.py -q

Either way the failing program is printed as steps (`state.transfer(...)`) to turn into a regression test.
Neither profile keeps an example database, and Hypothesis's caches go to a temporary folder: no
.hypothesis/ folder appears in the tree.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pytest
from hypothesis import Phase, configuration, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from tests.conftest import MYSQL_SERVER, PASSWORD, _server_connection, make_test_app, unique_email, unique_phone
from webapp.config import limit_table
from webapp.errors import (
    AccountFrozen,
    BelowZero,
    CurrencyMismatch,
    DomainError,
    IdempotencyConflict,
    InsufficientFunds,
    KycRequired,
    LedgerError,
    LimitExceeded,
    ValidationError,
)
from webapp.extensions import new_uow
from webapp.migrate import upgrade
from webapp.models import Hold
from webapp.models.base import utcnow
from webapp.money import Money
from webapp.services import accounts, adjustments, ledger, reconciliation, transfers, wallets
from webapp.services.recipients import Recipient

PROFILES = {  # see the module docstring
    "default": settings(max_examples=25, stateful_step_count=25, deadline=None, database=None, derandomize=True,
                        phases=[Phase.generate]),
    "nightly": settings(max_examples=500, stateful_step_count=50, deadline=None, database=None),
}
PROFILE = PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "default")]

# Limits low enough for a short program to reach, in major units; the same in minor units (2 decimals).
# The unverified tier's per-transfer limit below the verified one's: above it, KYC_REQUIRED; above both, LIMIT_EXCEEDED.
LIMITS = {"LIMITS": limit_table({"LIMIT_UNVERIFIED_SEND_PER_TX": "*:20", "LIMIT_UNVERIFIED_SEND_DAILY": "*:100",
                                 "LIMIT_VERIFIED_SEND_PER_TX": "*:50", "LIMIT_VERIFIED_SEND_DAILY": "*:100"})}
PER_TX, KYC_FREE, DAILY = 5_000, 2_000, 10_000
MAX_PEOPLE = 4
CURRENCIES = st.sampled_from(["USD", "EUR"])  # every sign-up has a USD wallet; EUR ones are opened or credited
SENT_IN = st.one_of(st.just("USD"), CURRENCIES)  # USD three times in four: few people have a EUR wallet
RECIPIENT_BY = st.sampled_from(["email", "user_id", "wallet_id"])
TO_NTH = st.integers(1, MAX_PEOPLE - 1)  # who receives: the next person after the sender, the one after, …
AMOUNTS = st.one_of(st.integers(1, 3_000),
                    st.sampled_from([KYC_FREE, KYC_FREE + 1, PER_TX, PER_TX + 1, "available", "available + 1"]))
OPENING = st.sampled_from([10_000, 3_000, 0])  # USD a person starts with; the first is what shrinking keeps
EXPIRY_HOURS = st.sampled_from([None, 1, 2, 3])  # a hold expires this many hours after the example starts
# Emptied before each example, children first, with foreign-key checks on: a table the machine forgot to
# list fails loudly rather than leaving rows behind. House accounts stay (their ids are cached per engine);
# the people and their audit trail stay too.
EMPTIED = ("postings", "transactions", "idempotency_keys", "holds", "journal_entries", "wallets",
           "accounts WHERE kind = 'wallet'")


@pytest.fixture(scope="module")
def ledger_app():
    name = f"ewallet_model_{uuid.uuid4().hex[:10]}"
    server = _server_connection()
    server.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        url = f"{MYSQL_SERVER}/{name}?charset=utf8mb4"
        upgrade(url)
        app = make_test_app(url, MAIL_URL="dummy:", **LIMITS)  # dummy: no money-received notices to build
        try:
            yield app
        finally:
            app.extensions["ewallet.db"].dispose()
    finally:
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


def test_the_ledger_agrees_with_its_model(ledger_app, tmp_path):
    # Hypothesis caches what it learns of the code under test in ./.hypothesis/ even with no example database
    configuration.set_hypothesis_home_dir(tmp_path)
    try:
        with ledger_app.app_context():
            signed_up = [accounts.register(new_uow(), email=unique_email("model"), password=PASSWORD,
                                           phone=unique_phone(), verified=True) for _ in range(MAX_PEOPLE)]
            run_state_machine_as_test(lambda: LedgerMachine(signed_up), settings=PROFILE)
    finally:
        configuration.set_hypothesis_home_dir(None)


def read(uow, statement: str) -> list[tuple]:
    return [tuple(row) for row in uow.execute(text(statement))]


def write(*statements: str, **params) -> None:
    with (uow := new_uow()):
        for statement in statements:
            uow.execute(text(statement), params)
        uow.commit()


@dataclass(eq=False)
class Person:
    id: str
    email: str
    kyc_verified: bool
    frozen: bool = False
    wallets: dict[str, str] = field(default_factory=dict)  # currency → wallet id; USD always there


@dataclass(eq=False)
class Purse:
    """The model of one wallet, in minor units."""

    id: str
    owner: str
    currency: str
    balance: int = 0
    reserved: int = 0
    sent: int = 0  # transfers sent on sent_day
    sent_day: date | None = None

    @property
    def available(self) -> int:
        return self.balance - self.reserved

    def sent_on(self, day: date) -> int:
        return self.sent if self.sent_day == day else 0


@dataclass(eq=False)
class HoldModel:
    id: str
    purse: Purse
    amount: int
    expires_in: int | None  # hours after the example's start
    status: str = "pending"


@dataclass(frozen=True)
class Request:
    from_wallet_id: str
    to_kind: str
    to_value: str
    amount: int
    currency: str


@dataclass(frozen=True)
class Attempt:
    sender_id: str
    key: str
    request: Request


class LedgerMachine(RuleBasedStateMachine):
    people = Bundle("people")
    holds = Bundle("holds")
    attempts = Bundle("attempts")

    def __init__(self, signed_up: list):
        super().__init__()
        write(*(f"DELETE FROM {table}" for table in EMPTIED))
        self.signed_up = signed_up  # users who join this example in turn, with no wallet yet
        self.start = utcnow()
        self.people_by_id: dict[str, Person] = {}
        self.purses: dict[str, Purse] = {}
        self.hold_models: dict[str, HoldModel] = {}
        self.keys: dict[tuple[str, str], tuple[Request, str]] = {}  # (sender, key) → (request, debit id)
        self.house: Counter = Counter()  # (house account, currency) → Σ its postings

    # --- people and wallets --------------------------------------------------------------------------

    @initialize(target=people, openings=st.tuples(OPENING, OPENING, OPENING), third_kyc=st.booleans())
    def three_people(self, openings, third_kyc):
        """One who passed KYC, one who did not, and one either way, each with an opening USD balance."""
        kyc = (True, False, third_kyc)
        return multiple(*(self._join(kyc[n], opening) for n, opening in enumerate(openings)))

    @precondition(lambda self: len(self.people_by_id) < MAX_PEOPLE)
    @rule(target=people, kyc_verified=st.booleans(), opening=OPENING)
    def join(self, kyc_verified, opening):
        return self._join(kyc_verified, opening)

    @rule(person=people, currency=CURRENCIES)
    def open_wallet(self, person, currency):
        expected = ValidationError if currency in person.wallets else None
        wallet = self._call(expected, wallets.open_wallet, new_uow(), user_id=person.id, currency=currency)
        if wallet is not None:
            self._add_purse(person, wallet.id, currency)

    @rule(person=people, currency=CURRENCIES, amount=st.integers(1, 8_000))
    def credit(self, person, currency, amount):
        self._credit(person, currency, amount)

    def _credit(self, person: Person, currency: str, amount: int) -> None:
        tx = adjustments.credit(new_uow(), email=person.email, amount=Money(amount, currency), reason="model")
        if currency not in person.wallets:  # a credit opens the wallet it needs
            self._add_purse(person, tx.wallet_id, currency)
        self.purses[person.wallets[currency]].balance += amount
        self.house["adjustments", currency] -= amount

    # --- transfers and their keys --------------------------------------------------------------------

    @rule(target=attempts, sender=people, to_nth=TO_NTH, currency=SENT_IN, amount=AMOUNTS, to_kind=RECIPIENT_BY)
    def transfer(self, sender, to_nth, currency, amount, to_kind):
        request = self._request(sender, to_nth, currency, amount, to_kind)
        return self._send(Attempt(sender.id, uuid.uuid4().hex, request))

    @rule(target=attempts, sender=people, to_nth=TO_NTH, currency=SENT_IN, amount=AMOUNTS, to_kind=RECIPIENT_BY)
    def transfer_while_frozen(self, sender, to_nth, currency, amount, to_kind):
        """A frozen account sends nothing. Set the flag the transfer service reads directly (freezing through
        services/freezes.py needs an admin and a reason, which is not what this machine tests), for this one
        transfer: a sender left frozen would starve the rest of the program."""
        self._set_frozen(sender, True)
        try:
            return self.transfer(sender, to_nth, currency, amount, to_kind)
        finally:
            self._set_frozen(sender, False)

    @precondition(lambda self: self.keys)
    @rule(nth=st.integers(0, 1_000))
    def replay(self, nth):
        """A transfer that went through, sent again with its key: the same answer, and no money moves."""
        sender_id, key = list(self.keys)[nth % len(self.keys)]
        self._send(Attempt(sender_id, key, self.keys[sender_id, key][0]))

    @rule(target=attempts, earlier=attempts, change=st.sampled_from(["nothing", "amount", "sender"]))
    def reuse_key(self, earlier, change):
        """An earlier key again. Unchanged: the first answer again, or a first try if that one was refused.
        On another amount: a conflict, if the key was stored. By the next person: a new key for them."""
        request = earlier.request
        if change == "amount":
            return self._send(replace(earlier, request=replace(request, amount=request.amount + 1)))
        if change == "sender":
            people = list(self.people_by_id.values())
            sender = people[(people.index(self.people_by_id[earlier.sender_id]) + 1) % len(people)]
            request = replace(request, from_wallet_id=self._purse(sender, request.currency).id)
            return self._send(Attempt(sender.id, earlier.key, request))
        return self._send(earlier)

    # --- holds ---------------------------------------------------------------------------------------

    @rule(target=holds, person=people, currency=CURRENCIES, amount=AMOUNTS, expires_in=EXPIRY_HOURS)
    def reserve(self, person, currency, amount, expires_in):
        purse = self._purse(person, currency)
        amount = self._amount(amount, purse)
        expected = LedgerError if amount <= 0 else InsufficientFunds if amount > purse.available else None
        expires_at = None if expires_in is None else self.start + timedelta(hours=expires_in)
        hold_id = self._call(expected, self._on_locked, purse, lambda uow, wallet: ledger.reserve(
            uow, wallet, Money(amount, purse.currency), reason="model", expires_at=expires_at).id)
        if hold_id is None:
            return multiple()
        purse.reserved += amount
        self.hold_models[hold_id] = hold = HoldModel(hold_id, purse, amount, expires_in)
        return hold

    @rule(hold=holds, post=st.booleans())
    def settle_hold(self, hold, post):
        """Post it (the payout went out) or release it (it failed). One no longer pending must be refused,
        with nothing changed."""
        def settle(uow, wallet):
            locked_hold = uow.session.get(Hold, hold.id)
            if not post:
                return ledger.release_hold(uow, locked_hold, wallet)
            house = ledger.house_account(uow, "payouts_in_flight", wallet.currency)
            ledger.post_hold(uow, locked_hold, wallet, kind="payout", to_account_id=house.id)

        expected = None if hold.status == "pending" else LedgerError
        self._call(expected, self._on_locked, hold.purse, settle)
        if expected is None:
            hold.status = "posted" if post else "released"
            hold.purse.reserved -= hold.amount
            if post:
                hold.purse.balance -= hold.amount
                self.house["payouts_in_flight", hold.purse.currency] += hold.amount

    @precondition(lambda self: any(hold.status == "pending" for hold in self.hold_models.values()))
    @rule(hours=st.integers(0, 3))
    def expire_holds(self, hours):
        due = [hold for hold in self.hold_models.values()
               if hold.status == "pending" and hold.expires_in is not None and hold.expires_in <= hours]
        # Half an hour past the whole hour: which holds are due never depends on how long the steps took.
        assert ledger.expire_holds(new_uow(), now=self.start + timedelta(hours=hours, minutes=30)) == len(due)
        for hold in due:
            hold.status = "expired"
            hold.purse.reserved -= hold.amount

    # --- the checks, after every step ----------------------------------------------------------------

    @invariant()
    def caches_equal_the_ledger_and_postings_sum_to_zero(self):
        report = reconciliation.reconcile(new_uow())
        assert report.ok, (report.drifts, report.unbalanced_currencies)

    @invariant()
    def the_database_agrees_with_the_model(self):
        """One transaction for all the direct checks: each step runs them, so a few round trips count."""
        today = utcnow().date()
        with (uow := new_uow()):
            unbalanced_entries = read(uow, "SELECT entry_id, currency, SUM(amount) FROM postings "
                                           "GROUP BY entry_id, currency HAVING SUM(amount) <> 0")
            found = read(uow, "SELECT id, balance, reserved, daily_sent, daily_sent_day FROM wallets")
            holds = dict(read(uow, "SELECT id, status FROM holds"))
            house = read(uow, "SELECT a.code, SUM(p.amount) FROM postings p "
                              "JOIN accounts a ON a.id = p.account_id WHERE a.kind = 'house' GROUP BY a.code")
            keys = read(uow, "SELECT k.user_id, k.`key`, k.result_id, t.journal_entry_id FROM idempotency_keys k "
                             "LEFT JOIN transactions t ON t.id = k.result_id WHERE k.operation = 'transfer'")
            moved = read(uow, "SELECT (SELECT COUNT(*) FROM journal_entries WHERE kind = 'transfer'), "
                              "(SELECT COUNT(*) FROM transactions WHERE kind = 'transfer' AND direction = 'debit')")
        assert unbalanced_entries == []
        assert [wallet for wallet in found if wallet[1] < wallet[2]] == [], "available below zero"
        assert {wallet_id: (balance, reserved, sent if day is not None and day >= today else 0)
                for wallet_id, balance, reserved, sent, day in found} == {
            p.id: (p.balance, p.reserved, p.sent_on(today)) for p in self.purses.values()}
        assert holds == {hold.id: hold.status for hold in self.hold_models.values()}
        assert {code: total for code, total in house if total} == {
            f"house:{name}:{currency}": total for (name, currency), total in self.house.items() if total}
        # A replayed key never moves money twice: one stored key, one debit, one journal entry per transfer.
        assert {(user, key): result for user, key, result, _ in keys} == {
            sender_and_key: debit_id for sender_and_key, (_, debit_id) in self.keys.items()}
        entries = {entry for *_, entry in keys}
        assert None not in entries and len(entries) == len(keys)
        assert moved == [(len(keys), len(keys))]

    # --- helpers -------------------------------------------------------------------------------------

    def _join(self, kyc_verified: bool, opening: int) -> Person:
        """The next signed-up user, with KYC as asked, not frozen, a new USD wallet (as at sign-up) and an
        opening credit, so that programs move money from their first step."""
        user = self.signed_up[len(self.people_by_id)]
        write("UPDATE users SET kyc_status = :kyc, is_frozen = 0 WHERE id = :id",
              kyc="verified" if kyc_verified else "unverified", id=user.id)
        person = self.people_by_id[user.id] = Person(user.id, user.email, kyc_verified)
        self._add_purse(person, wallets.open_wallet(new_uow(), user_id=user.id, currency="USD").id, "USD")
        if opening:
            self._credit(person, "USD", opening)
        return person

    @staticmethod
    def _set_frozen(person: Person, frozen: bool) -> None:
        person.frozen = frozen
        write("UPDATE users SET is_frozen = :frozen WHERE id = :id", frozen=frozen, id=person.id)

    def _add_purse(self, person: Person, wallet_id: str, currency: str) -> None:
        person.wallets[currency] = wallet_id
        self.purses[wallet_id] = Purse(wallet_id, person.id, currency)

    def _purse(self, person: Person, currency: str) -> Purse:
        return self.purses[person.wallets.get(currency) or person.wallets["USD"]]

    @staticmethod
    def _amount(amount: int | str, purse: Purse) -> int:
        return {"available": purse.available, "available + 1": purse.available + 1}.get(amount, amount)

    def _request(self, sender: Person, to_nth: int, currency: str, amount: int | str, to_kind: str) -> Request:
        """From the sender's wallet in `currency` (their USD one if they have none: a mismatch) to the person
        `to_nth` places after them in joining order, never themselves."""
        people = list(self.people_by_id.values())
        recipient = people[(people.index(sender) + 1 + (to_nth - 1) % (len(people) - 1)) % len(people)]
        source = self._purse(sender, currency)
        to_value = {"email": recipient.email, "user_id": recipient.id,
                    "wallet_id": self._purse(recipient, currency).id}[to_kind]
        return Request(source.id, to_kind, to_value, self._amount(amount, source), currency)

    def _send(self, attempt: Attempt) -> Attempt:
        request, day = attempt.request, utcnow().date()
        try:
            tx = transfers.transfer(new_uow(), sender_id=attempt.sender_id, from_wallet_id=request.from_wallet_id,
                                    to=Recipient(request.to_kind, request.to_value),
                                    amount=Money(request.amount, request.currency), idempotency_key=attempt.key)
        except DomainError as error:
            tx, outcome = None, type(error)
        else:
            known = {debit_id for _, debit_id in self.keys.values()}
            outcome = "replay" if tx.id in known else "move"
        # A step that straddles midnight UTC may meet either day's sending limit.
        assert outcome in {self._expect(attempt, d) for d in {day, utcnow().date()}}, (outcome, attempt)
        if outcome == "replay":
            assert tx.id == self.keys[attempt.sender_id, attempt.key][1]
        elif outcome == "move":
            source, target = self.purses[request.from_wallet_id], self._target(request)
            source.sent, source.sent_day = source.sent_on(day) + request.amount, day
            source.balance -= request.amount
            self.purses[target].balance += request.amount
            self.keys[attempt.sender_id, attempt.key] = (request, tx.id)
        return attempt

    def _expect(self, attempt: Attempt, day: date) -> str | type[DomainError]:
        """What transfers.transfer must do, its checks taken in the service's order."""
        request, sender = attempt.request, self.people_by_id[attempt.sender_id]
        if request.amount <= 0:
            return ValidationError
        if (stored := self.keys.get((attempt.sender_id, attempt.key))) is not None:
            return "replay" if stored[0] == request else IdempotencyConflict
        target_id = self._target(request)
        source = self.purses[request.from_wallet_id]
        if target_id is None or source.currency != request.currency:
            return CurrencyMismatch
        target = self.purses[target_id]
        if target.currency != request.currency:
            return CurrencyMismatch
        if target.owner == sender.id:
            return ValidationError
        if sender.frozen:
            return AccountFrozen
        if request.amount > PER_TX:
            return LimitExceeded
        if request.amount > KYC_FREE and not sender.kyc_verified:
            return KycRequired
        if source.sent_on(day) + request.amount > DAILY:
            return LimitExceeded
        if source.available < 0:
            return BelowZero
        return InsufficientFunds if request.amount > source.available else "move"

    def _target(self, request: Request) -> str | None:
        if request.to_kind == "wallet_id":
            return request.to_value
        people = self.people_by_id.values()
        recipient = next(p for p in people if request.to_value in (p.email, p.id))
        return recipient.wallets.get(request.currency)

    @staticmethod
    def _on_locked(purse: Purse, work):
        """Run `work(uow, locked wallet)` in one transaction, as a payout or top-up service would."""
        with (uow := new_uow()):
            result = work(uow, ledger.lock_wallets(uow, [purse.id])[purse.id])
            uow.commit()
        return result

    @staticmethod
    def _call(expected: type[Exception] | None, fn, *args, **kwargs):
        """`fn(...)`'s result; when `expected` is an error class, it must raise exactly that (then None)."""
        try:
            result = fn(*args, **kwargs)
        except (DomainError, LedgerError) as error:
            assert type(error) is expected, f"expected {expected}, got {error!r}"
            return None
        assert expected is None, f"expected {expected.__name__}, but it went through"
        return result
