"""The database engine and how its pooled connections are kept: MySQL/MariaDB in production and tests,
SQLite under the dev server. webapp/db.py runs units of work on it."""

from __future__ import annotations

import select
from collections.abc import Callable

from pymysql.constants import SERVER_STATUS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    # READ COMMITTED: row locks (FOR UPDATE) give the isolation money needs; REPEATABLE READ would add
    # gap locks and more deadlocks without protecting anything we rely on.
    # No pool_pre_ping: it costs a round trip on every checkout (measured ~5% of a transfer's CPU);
    # pool_recycle retires connections before the server's idle timeout instead, and one the server
    # closed all the same is found at checkout by a look at its socket (_drop_if_closed).
    engine = create_engine(
        url,
        pool_recycle=1800,
        pool_size=10,
        max_overflow=20,
        isolation_level="READ COMMITTED",
        connect_args=_connect_args(url),
        pool_reset_on_return=None,  # replaced by _roll_back_unless_ended
    )
    event.listen(engine, "checkout", lambda _dbapi, record, _proxy: record.info.update({ENDED: False}))
    event.listen(engine, "checkout", _drop_if_closed)
    event.listen(engine, "handle_error", _keep_pool_on_disconnect)
    event.listen(engine, "begin", _mark_ended(False))
    event.listen(engine, "commit", _mark_ended(True))
    event.listen(engine, "rollback", _mark_ended(True))
    event.listen(engine, "reset", _roll_back_unless_ended)
    return engine


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _connect_args(url: str) -> dict:
    """PyMySQL 2 tries TLS on every connection unless told otherwise, and builds a fresh TLS context
    for each (the system's CA store: ~60 ms of CPU per connection, measured, even when the server has no
    TLS). Nothing on loopback needs it; a remote database gets the driver's default, or what the URL's
    `ssl_*` query parameters ask for (verified TLS belongs there)."""
    parsed = make_url(url)
    wants_tls = any(key.startswith("ssl") for key in parsed.query)
    if (parsed.host or "localhost") in LOOPBACK and not wants_tls:
        return {"charset": "utf8mb4", "ssl_disabled": True}
    return {"charset": "utf8mb4"}


ENDED = "ewallet.transaction_ended"  # in the pool record's info: did SQLAlchemy last commit or roll back?
USED = "ewallet.checked_out_before"  # in the pool record's info: not a connection made for this checkout


def _mark_ended(ended: bool) -> Callable[[Connection], None]:
    def mark(connection: Connection) -> None:
        if not connection.invalidated:  # the server went away: no info to keep, the pool drops it
            connection.info[ENDED] = ended

    return mark


def _roll_back_unless_ended(dbapi_connection, record, state) -> None:
    """The pool's default reset sends ROLLBACK on every check-in, even right after a COMMIT: one round
    trip per request for nothing. Skip it only when both sides agree the transaction is over: SQLAlchemy
    last committed or rolled back (anything done on the raw connection since its checkout counts as
    open), and the server's last status reply shows no open transaction. Any doubt rolls back."""
    if state.terminate_only or state.transaction_was_reset:
        return
    server_open = dbapi_connection.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS
    if server_open or not record.info.get(ENDED):
        dbapi_connection.rollback()


def _drop_if_closed(dbapi_connection, record, _proxy) -> None:
    """Nothing is sent to an idle MySQL connection, so a socket with something to read (the end of the
    stream, or the error packet a KILL or wait_timeout leaves) means the server closed it while it sat in
    the pool. One poll, a system call and no round trip, and the pool connects afresh: a dead idle
    connection costs no request its answer, retried unit of work or not (a token check, a page's reads).
    tests/integration/test_db.py checks it on PyMySQL's socket."""
    if not record.info.get(USED):  # the pool clears info for each new connection
        # Just made: not checked, because the pool tries only twice, and a second dead connection would
        # be "This connection is closed", not the lost connection that retries (or a 503) deal with.
        record.info[USED] = True
        return
    if not hasattr(dbapi_connection, "_sock"):
        return  # not PyMySQL: nothing to look at, and the retries still deal with a dead connection
    sock = dbapi_connection._sock  # plain or TLS; None once PyMySQL closed it itself
    if sock is not None and sock.fileno() >= 0:
        waiting = select.poll()
        waiting.register(sock, select.POLLIN)
        if not waiting.poll(0):
            return  # nothing to read: alive
    raise DisconnectionError("the server closed this pooled connection while it was idle")


def _keep_pool_on_disconnect(context) -> None:
    """SQLAlchemy retires every pooled connection when one turns out dead, expecting a restart. Each is
    checked at checkout instead (_drop_if_closed), so one killed connection doesn't make every request
    in flight reconnect."""
    context.invalidate_pool_on_disconnect = False


def _sqlite_pragmas(dbapi_connection, _record):
    # pysqlite's own transaction handling fights "BEGIN IMMEDIATE"; we issue BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
