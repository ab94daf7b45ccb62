"""The unit of work's retries (webapp/db.py): which failures run the whole unit of work again, for how
long, and what a connection lost during COMMIT does with and without an idempotency key. Failures are
injected on SQLite: a service function that raises, or a COMMIT that fails (after it landed, or before)."""

from __future__ import annotations

import logging
import time

import pymysql
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from webapp.db import is_lost_connection, is_retryable, retry_on_conflict
from webapp.errors import ServiceUnavailable
from webapp.models import JournalEntry, Wallet
from webapp.money import Money
from webapp.services import accounts, adjustments, reconciliation, transfers
from webapp.services.transfers import Recipient

MESSAGES = {1213: "Deadlock found when trying to get lock", 1205: "Lock wait timeout exceeded",
            2003: "Can't connect to MySQL server", 2006: "MySQL server has gone away",
            2013: "Lost connection to MySQL server during query", 1927: "Connection was killed"}


def db_error(code: int, *, invalidated: bool | None = None) -> OperationalError:
    """What SQLAlchemy raises for a PyMySQL error; it marks the disconnects it recognises as invalidated."""
    invalidated = code in (2006, 2013, 1927) if invalidated is None else invalidated
    orig = pymysql.err.OperationalError(code, MESSAGES.get(code, "error"))
    return OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.fixture()
def retries(caplog):
    """The events webapp.db logs: db.retry per rerun, db.unavailable when it gives up."""
    caplog.set_level(logging.INFO, logger="webapp.db")
    return lambda event="db.retry": sum(getattr(r, "event", None) == event for r in caplog.records)


def failing(times: int, error: Exception):
    """A retried service function that raises `error` on its first `times` calls, then answers."""
    calls = []

    @retry_on_conflict
    def service(uow):
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return service, calls


def rig_commits(monkeypatch, uow, *, until: float | None = None, times: int = 0, land: bool = False,
                error: Exception):
    """Make COMMIT fail with `error` for the next `times` commits or until time `until`. `land`: the commit
    happens first, and only its answer is lost."""
    dialect = uow.engine.dialect
    real = dialect.do_commit
    failed = []

    def do_commit(dbapi_connection):
        if len(failed) < times or (until is not None and time.monotonic() < until):
            failed.append(1)
            if land:
                real(dbapi_connection)
            else:
                dbapi_connection.rollback()  # what the server does with the transaction of a lost connection
            raise error
        real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_commit", do_commit)
    return failed


@pytest.mark.parametrize("code", [1213, 1205, 2003, 2006, 2013, 1927, 2055, 4031])
def test_conflicts_and_lost_connections_are_retryable(code):
    assert is_retryable(db_error(code, invalidated=False))


def test_a_disconnect_sqlalchemy_noticed_is_retryable_whatever_its_code():
    closed = OperationalError("SELECT 1", {}, pymysql.err.InterfaceError(0, ""), connection_invalidated=True)
    assert is_lost_connection(closed) and is_retryable(closed)


@pytest.mark.parametrize("error", [
    db_error(1054), db_error(1045),  # unknown column (a bug), access denied (a setting): retrying won't help
    IntegrityError("INSERT", {}, pymysql.err.IntegrityError(1062, "Duplicate entry")),
    ValueError("not a database error"),
])
def test_other_failures_are_not_retried(error):
    assert not is_retryable(error) and not is_lost_connection(error)


def test_a_connection_lost_before_commit_runs_the_work_again(uow, retries):
    service, calls = failing(3, db_error(2013))
    assert service(uow) == "done"
    assert len(calls) == 4 and retries() == 3


def test_a_statement_on_a_dead_pooled_connection_costs_no_answer(uow, retries):
    service, calls = failing(1, db_error(2006))  # the first statement on a connection that died idle
    assert service(uow) == "done" and retries() == 1


def test_deadlocks_at_commit_are_retried_for_as_long_as_the_budget(uow, monkeypatch, retries):
    """Galera reports a certification conflict as 1213 at COMMIT, and in bursts: 1.5 s of them fit in
    the default 2 s budget, however many attempts that takes."""
    rig_commits(monkeypatch, uow, until=time.monotonic() + 1.5, error=db_error(1213))
    calls = []

    @retry_on_conflict
    def write(uow):
        calls.append(1)
        with uow:
            uow.execute(text("CREATE TABLE IF NOT EXISTS marks (n INTEGER)"))
            uow.execute(text("INSERT INTO marks VALUES (1)"))
            uow.commit()

    write(uow)
    assert retries() == len(calls) - 1 >= 6  # five attempts were once the limit
    with uow:
        assert uow.execute(text("SELECT COUNT(*) FROM marks")).scalar_one() == 1


def test_past_the_budget_the_answer_is_service_unavailable(uow, retries):
    uow.config = {**uow.config, "DB_RETRY_BUDGET": 0.3}
    service, calls = failing(10_000, db_error(2003))  # the server stays down
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as raised:
        service(uow)
    assert 0.3 <= time.monotonic() - started < 0.8
    assert raised.value.code == "SERVICE_UNAVAILABLE" and raised.value.retry_after
    assert retries("db.unavailable") == 1 and len(calls) == retries() + 1


def test_a_commit_lost_without_a_key_is_service_unavailable_not_a_second_run(uow, monkeypatch):
    """Sign-up, sign-in, sessions: no key to look up, so running again could do it twice."""
    rig_commits(monkeypatch, uow, times=1, land=True, error=db_error(2013))
    calls = []

    @retry_on_conflict
    def sign_up(uow):
        calls.append(1)
        return accounts.register(uow, email="carol@example.com", password="long-enough-pass",
                                 phone="+14155550102", verified=True)

    with pytest.raises(ServiceUnavailable):
        sign_up(uow)
    assert len(calls) == 1


@pytest.fixture()
def alice_and_bob(uow):
    alice = accounts.register(uow, email="alice@example.com", password="long-enough-pass", phone="+14155550100",
                              verified=True)
    bob = accounts.register(uow, email="bob@example.com", password="long-enough-pass", phone="+14155550101",
                            verified=True)
    adjustments.credit(uow, email="alice@example.com", amount=Money(10_000, "USD"), reason="opening balance")
    with uow:
        wallets = {w.user_id: w.id for w in uow.session.scalars(select(Wallet))}
    return (alice.id, wallets[alice.id]), (bob.id, wallets[bob.id])


@pytest.mark.parametrize("landed", [True, False], ids=["commit-landed", "commit-lost"])
def test_a_commit_lost_with_a_key_is_settled_by_the_key(uow, monkeypatch, alice_and_bob, retries, landed):
    """The rerun finds the key taken and replays the stored result, or moves the money if the first COMMIT
    never landed: either way, once."""
    alice, bob = alice_and_bob
    rig_commits(monkeypatch, uow, times=1, land=landed, error=db_error(2013))
    sent = transfers.transfer(uow, sender_id=alice[0], from_wallet_id=alice[1], to=Recipient("wallet_id", bob[1]),
                              amount=Money(2_500, "USD"), idempotency_key="pay-bob")
    assert retries("db.commit_lost") == 1 and retries() == 1
    again = transfers.transfer(uow, sender_id=alice[0], from_wallet_id=alice[1], to=Recipient("wallet_id", bob[1]),
                               amount=Money(2_500, "USD"), idempotency_key="pay-bob")
    assert again.id == sent.id and sent.amount == 2_500
    with uow:
        balances = {w.id: w.balance for w in uow.session.scalars(select(Wallet))}
        entries = uow.session.scalar(select(func.count()).select_from(JournalEntry)
                                     .where(JournalEntry.kind == "transfer"))
    assert (balances[alice[1]], balances[bob[1]], entries) == (7_500, 2_500, 1)
    assert reconciliation.reconcile(uow).ok
