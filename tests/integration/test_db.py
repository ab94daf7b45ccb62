"""The engine's connection hygiene on MariaDB: a connection never carries a transaction into its next use,
and one the server dropped costs no unit of work its answer."""

import logging
import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from webapp.db import UnitOfWork, is_lost_connection, numbered, retry_on_conflict
from webapp.engine import make_engine
from webapp.services import ledger


def test_a_connection_returned_mid_transaction_is_rolled_back(database_url):
    engine = make_engine(database_url)
    code = f"test:{uuid.uuid4().hex}"
    try:
        raw = engine.raw_connection()  # what a careless caller could do: write, then hand the connection back
        with raw.cursor() as cursor:
            cursor.execute("INSERT INTO accounts (code, kind, currency, created_at) VALUES (%s, 'house', 'USD', NOW())",
                           (code,))
        raw.close()
        with engine.connect() as connection:
            found = connection.execute(text("SELECT COUNT(*) FROM accounts WHERE code = :code"), {"code": code})
            assert found.scalar_one() == 0
    finally:
        engine.dispose()


def test_a_committed_connection_is_not_rolled_back_again(database_url):
    """After COMMIT the server reports no open transaction, so check-in sends nothing (one round trip saved
    per request); a later use still starts clean."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            connection.commit()
            dbapi = connection.connection.dbapi_connection
        sent = []
        original = dbapi.rollback
        dbapi.rollback = lambda: (sent.append("ROLLBACK"), original())[1]
        with engine.connect() as connection:  # the pool hands out the same connection
            assert connection.connection.dbapi_connection is dbapi
            connection.execute(text("SELECT 1"))
            connection.commit()
        assert sent == []
    finally:
        engine.dispose()


def test_a_lock_taken_on_the_raw_connection_is_released_at_check_in(database_url):
    """PyMySQL does not refresh the server's status after a SELECT, so the reset can't rely on it alone:
    a row locked with a raw SELECT … FOR UPDATE must still be unlocked when the connection goes back."""
    engine = make_engine(database_url)
    code = f"test:{uuid.uuid4().hex}"
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO accounts (code, kind, currency, created_at)"
                                    " VALUES (:code, 'house', 'USD', NOW())"), {"code": code})
        raw = engine.raw_connection()
        thread_id = raw.dbapi_connection.thread_id()
        with raw.cursor() as cursor:
            cursor.execute("SELECT id FROM accounts WHERE code = %s FOR UPDATE", (code,))
        raw.close()
        with engine.connect() as other:
            open_transactions = other.execute(text(
                "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = :thread"),
                {"thread": thread_id})
            assert open_transactions.scalar_one() == 0
    finally:
        engine.dispose()


def kill(database_url, thread_ids) -> None:
    """KILL connections from outside the pool under test, as a restart, a failover or an operator would,
    and wait until the server has closed them."""
    killer = make_engine(database_url)
    with killer.connect() as connection:
        for thread_id in thread_ids:
            connection.exec_driver_sql(f"KILL {thread_id}")
        for _ in range(100):
            alive = connection.execute(text("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN "
                                            f"({', '.join(map(str, thread_ids))})")).scalar_one()
            if not alive:
                break
            time.sleep(0.01)
    killer.dispose()


def thread_id(connection) -> int:
    return connection.connection.dbapi_connection.thread_id()


def test_connections_killed_while_idle_are_replaced_at_checkout(database_url):
    """Every pooled connection is killed while idle (a restart, a failover, wait_timeout). The pool sees it
    at checkout without a round trip and connects afresh: no unit of work fails, retried or not."""
    engine = make_engine(database_url)
    uow = UnitOfWork(sessionmaker(engine, expire_on_commit=False))
    try:
        held = [engine.connect() for _ in range(3)]
        killed = [thread_id(connection) for connection in held]
        for connection in held:
            connection.close()
        kill(database_url, killed)
        seen = []
        for _ in range(3):
            with uow:
                seen.append(len(uow.execute(ledger._lock(1), numbered(["none"])).rows))
                seen.append(thread_id(uow._open_connection))
        assert seen[0::2] == [0, 0, 0] and not set(seen[1::2]) & set(killed)
    finally:
        engine.dispose()


def test_a_connection_killed_mid_transaction_fails_as_a_lost_connection_and_only_it_is_retired(database_url):
    """A Prepared statement on a connection killed after checkout goes through SQLAlchemy's own error
    handling: a lost connection, invalidated. The pool keeps its other connections (each is checked at its
    own checkout), so one kill doesn't make every request in flight reconnect."""
    engine = make_engine(database_url)
    uow = UnitOfWork(sessionmaker(engine, expire_on_commit=False))
    try:
        other = engine.connect()  # in use by another request meanwhile
        spare = thread_id(other)
        with pytest.raises(OperationalError) as raised, uow:
            uow.execute(ledger._lock(1), numbered(["none"]))
            kill(database_url, [thread_id(uow._open_connection)])
            uow.execute(ledger._lock(1), numbered(["none"]))
        assert raised.value.connection_invalidated and is_lost_connection(raised.value)
        other.close()
        with engine.connect() as first, engine.connect() as second:  # the killed one's record, and the spare
            assert spare in (thread_id(first), thread_id(second))
    finally:
        engine.dispose()


@pytest.mark.parametrize("path", ["prepared", "orm"])
def test_a_unit_of_work_whose_connection_is_killed_runs_again_and_answers(database_url, caplog, path):
    """Under retry_on_conflict, as every service function runs: the next attempt gets a new connection."""
    caplog.set_level(logging.INFO, logger="webapp.db")
    engine = make_engine(database_url)
    uow = UnitOfWork(sessionmaker(engine, expire_on_commit=False))
    attempts = []

    @retry_on_conflict
    def look(uow):
        with uow:
            attempts.append(thread_id(uow._open_connection))
            if len(attempts) == 1:
                kill(database_url, attempts)
            if path == "prepared":
                return len(uow.execute(ledger._lock(1), numbered(["none"])).rows)
            return uow.session.execute(text("SELECT COUNT(*) FROM wallets WHERE id = 'none'")).scalar_one()

    try:
        assert look(uow) == 0
        assert len(attempts) == 2 and attempts[0] != attempts[1]
        assert sum(getattr(r, "event", None) == "db.retry" for r in caplog.records) == 1
    finally:
        engine.dispose()
