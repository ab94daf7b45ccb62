"""The engine's connection hygiene on MariaDB: a connection never carries a transaction into its next use,
and one the server dropped costs no unit of work its answer."""

import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from webapp.db import UnitOfWork, is_lost_connection, make_engine, numbered, retry_on_conflict
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


def kill_pooled_connections(engine, database_url, count: int = 3) -> None:
    """Check out `count` connections, return them to the pool, and kill them from outside the pool, as a
    server restart, a failover or an idle timeout would."""
    held = [engine.connect() for _ in range(count)]
    thread_ids = [connection.connection.dbapi_connection.thread_id() for connection in held]
    for connection in held:
        connection.close()
    killer = make_engine(database_url)
    with killer.connect() as connection:
        for thread_id in thread_ids:
            connection.exec_driver_sql(f"KILL {thread_id}")
    killer.dispose()


def test_a_dropped_connection_costs_one_failed_unit_of_work_not_one_per_pooled_connection(database_url):
    """The server kills every pooled connection (a restart, a failover). A Prepared statement meets the
    first dead one: it fails with SQLAlchemy's OperationalError, flagged as a lost connection, and the pool
    retires the other old connections too, so the next unit of work works on a fresh one."""
    engine = make_engine(database_url)
    uow = UnitOfWork(sessionmaker(engine, expire_on_commit=False))
    try:
        kill_pooled_connections(engine, database_url)
        outcomes = []
        for _ in range(3):
            try:
                with uow:
                    outcomes.append(len(uow.execute(ledger._lock(1), numbered(["none"])).rows))
            except OperationalError as error:
                assert is_lost_connection(error) and error.connection_invalidated, error
                outcomes.append("dropped")
        assert outcomes == ["dropped", 0, 0]
    finally:
        engine.dispose()


@pytest.mark.parametrize("path", ["prepared", "orm"])
def test_a_dead_pooled_connection_costs_a_retried_unit_of_work_no_answer(database_url, caplog, path):
    """The same dead connections under retry_on_conflict, as every service function runs: the first
    statement fails, the unit of work runs again on a fresh connection, and every call answers."""
    caplog.set_level(logging.INFO, logger="webapp.db")
    engine = make_engine(database_url)
    uow = UnitOfWork(sessionmaker(engine, expire_on_commit=False))

    @retry_on_conflict
    def look(uow):
        with uow:
            if path == "prepared":
                return len(uow.execute(ledger._lock(1), numbered(["none"])).rows)
            return uow.session.execute(text("SELECT COUNT(*) FROM wallets WHERE id = 'none'")).scalar_one()

    try:
        kill_pooled_connections(engine, database_url)
        assert [look(uow) for _ in range(3)] == [0, 0, 0]
        assert sum(getattr(r, "event", None) == "db.retry" for r in caplog.records) == 1
    finally:
        engine.dispose()
