"""Engine, session factory and the unit of work. A service function owns its transaction (DESIGN §6)."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pymysql.constants import SERVER_STATUS
from sqlalchemy import bindparam, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from webapp.prepared import Prepared

P = ParamSpec("P")
R = TypeVar("R")

# MySQL/MariaDB: 1213 deadlock, 1205 lock-wait timeout. Both leave nothing half-done, so the whole
# unit of work may simply run again.
RETRYABLE_MYSQL_ERRORS = {1213, 1205}
MAX_ATTEMPTS = 5
log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    # READ COMMITTED: row locks (FOR UPDATE) give the isolation money needs; REPEATABLE READ would add
    # gap locks and more deadlocks without protecting anything we rely on.
    # No pool_pre_ping: it costs a round trip on every checkout (measured ~5% of a transfer's CPU);
    # pool_recycle retires connections before the server's idle timeout instead.
    engine = create_engine(
        url,
        pool_recycle=1800,
        pool_size=10,
        max_overflow=20,
        isolation_level="READ COMMITTED",
        connect_args={"charset": "utf8mb4"},
        pool_reset_on_return=None,  # replaced by _roll_back_unless_ended
    )
    event.listen(engine, "checkout", lambda _dbapi, record, _proxy: record.info.update({ENDED: False}))
    event.listen(engine, "begin", _mark_ended(False))
    event.listen(engine, "commit", _mark_ended(True))
    event.listen(engine, "rollback", _mark_ended(True))
    event.listen(engine, "reset", _roll_back_unless_ended)
    return engine


ENDED = "ewallet.transaction_ended"  # in the pool record's info: did SQLAlchemy last commit or roll back?


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


def _sqlite_pragmas(dbapi_connection, _record):
    # pysqlite's own transaction handling fights "BEGIN IMMEDIATE"; we issue BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class UnitOfWork:
    """One database transaction. Rollback is the default; only an explicit commit() keeps changes.

    Core statements (`execute`) run on the unit of work's own connection. The ORM session is made only
    when a service asks for `session`, and then joins that connection's transaction and takes charge of
    it. A transfer runs on Core alone and never pays for a Session's transaction bookkeeping (~5% of its
    CPU, measured with py-spy).

    Re-enterable: each `with uow:` starts with a fresh connection, so retries start clean.
    """

    def __init__(self, session_factory: sessionmaker, config: dict | None = None):
        self.session_factory = session_factory
        self.engine: Engine = session_factory.kw["bind"]
        self.config = config or {}  # the app's settings: limits and policies services must honour
        self.after_commit: list[Callable[[], None]] = []  # run once committed and closed (see __exit__)
        self._committed: list[Callable[[], None]] = []
        self._inside = False
        self._connection: Connection | None = None
        self._session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        if self._inside:  # a second transaction would silently leave the first one open
            raise RuntimeError("this unit of work is already open; finish it before the next `with uow:`")
        self._inside, self._connection, self._session = True, None, None
        self.after_commit, self._committed = [], []
        return self

    def __exit__(self, *exc) -> None:
        # Closing rolls back whatever was not committed. The session detaches its objects *without*
        # expiring them (expire_on_commit=False), so what a service returns stays readable afterwards.
        session, connection = self._session, self._connection
        self._inside, self._connection, self._session = False, None, None
        try:
            if session is not None:
                session.close()
        finally:
            if connection is not None:
                connection.close()
        # Work that follows a commit (a notice, a job) runs only now, with this connection back in the
        # pool: run inline, it opens its own unit of work, and holding two connections per request
        # exhausted the pool under concurrent transfers.
        callbacks, self._committed = self._committed, []
        for callback in callbacks:
            callback()

    @property
    def _open_connection(self) -> Connection:
        if not self._inside:
            raise RuntimeError("use the unit of work inside `with uow:`")
        if self._connection is None:
            self._connection = self.engine.connect()
        return self._connection

    @property
    def session(self) -> Session:
        if self._session is None:
            # control_fully: the session's commit, rollback and close act on the connection's transaction,
            # which it joins at once (or begins) rather than at its first query.
            self._session = self.session_factory(bind=self._open_connection, join_transaction_mode="control_fully")
            self._session.connection()
        return self._session

    def execute(self, statement, params=None):
        """Run a Core statement (or a Prepared one: webapp/prepared.py) in this unit of work's transaction.
        Once there is a session, through it, and the ordinary way: `session.begin_nested()` sends its
        SAVEPOINT only when the session next hands out its connection, so a statement sent on the bare
        connection would run outside the savepoint."""
        if isinstance(statement, Prepared):
            if self._session is None:
                return statement.run(self._open_connection, params)
            statement = statement.statement
        if self._session is not None:
            return self._session.connection().execute(statement, params)
        return self._open_connection.execute(statement, params)

    def commit(self) -> None:
        if self._session is not None:
            self._session.commit()  # flushes pending ORM changes, then commits the connection's transaction
        elif self._connection is not None:
            self._connection.commit()
        self._committed += self.after_commit
        self.after_commit = []


def numbered_in(column, count: int):
    """`column IN (:id0, :id1, …)` with a fixed number of parameters, for statements built once per count
    (cache the builder). An expanding IN would be re-rendered on every execution: ~6% of a transfer's CPU.
    Pass the values with `numbered`."""
    return column.in_([bindparam(f"id{n}") for n in range(count)])


def numbered(ids) -> dict[str, object]:
    return {f"id{n}": value for n, value in enumerate(ids)}


def is_retryable(error: BaseException) -> bool:
    if not isinstance(error, DBAPIError) or error.orig is None:
        return False
    args = getattr(error.orig, "args", ())
    if args and args[0] in RETRYABLE_MYSQL_ERRORS:
        return True
    return "database is locked" in str(error.orig)  # SQLite under the dev server


def retry_on_conflict(fn: Callable[P, R]) -> Callable[P, R]:
    """Run the whole unit of work again on deadlock or lock-wait timeout, a bounded number of times."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except DBAPIError as error:
                if attempt == MAX_ATTEMPTS or not is_retryable(error):
                    raise
                log.info("retrying %s after %s (attempt %d)", fn.__name__, error.orig.args[0], attempt)
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jittered backoff
        raise AssertionError("unreachable")

    return wrapper
