"""The unit of work and its retries. A service function owns its transaction (DESIGN §6); the engine and
its connection pool are set up in webapp/engine.py."""

from __future__ import annotations

import functools
import itertools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from webapp.errors import ServiceUnavailable
from webapp.prepared import Prepared

P = ParamSpec("P")
R = TypeVar("R")

# MySQL/MariaDB: 1213 deadlock (also how Galera reports a certification conflict, at COMMIT) and 1205
# lock-wait timeout. Both roll the whole transaction back, so the unit of work may simply run again.
CONFLICT_ERRORS = {1213, 1205}
# The connection died or could not be made: gone away (2006), lost during a query (2013) or a read (2055),
# closed by the server as idle (4031), killed (MariaDB 1927), refused or unreachable while the server
# restarts (2002, 2003; 1053 shutting down). The server rolls back the open transaction of a connection
# it loses, so before COMMIT was sent running again on a new connection is safe (see UnitOfWork.commit
# for a connection lost during COMMIT).
CONNECTION_ERRORS = {1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031}
DEFAULT_RETRY_BUDGET = 2.0  # seconds of retrying before ServiceUnavailable; the app sets DB_RETRY_BUDGET
FIRST_PAUSE, LONGEST_PAUSE = 0.01, 0.25  # seconds: the backoff's ceiling doubles from the first, up to this
log = logging.getLogger(__name__)


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
        # True once this transaction has claimed an idempotency key (services/idempotency.claim, the
        # webhook's event id). If the connection is then lost during COMMIT, nobody can say whether the
        # transaction landed, but running the whole service function again is safe: the rerun finds the
        # key taken and replays the stored result, or claims it afresh if the first COMMIT did not land.
        # Without a key a rerun could do the work twice, so commit() answers ServiceUnavailable instead.
        self.settled_by_key = False

    def __enter__(self) -> UnitOfWork:
        if self._inside:  # a second transaction would silently leave the first one open
            raise RuntimeError("this unit of work is already open; finish it before the next `with uow:`")
        self._inside, self._connection, self._session = True, None, None
        self.after_commit, self._committed = [], []
        self.settled_by_key = False
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
            self._session.flush()  # the statements first: a connection lost during these is a plain retry
        try:
            if self._session is not None:
                self._session.commit()  # nothing left to flush: commits the connection's transaction
            elif self._connection is not None:
                self._connection.commit()
        except DBAPIError as error:
            if is_lost_connection(error):
                self._commit_lost(error)
            raise  # a deadlock at COMMIT (Galera) is a definite rollback: retried like any other
        self._committed += self.after_commit
        self.after_commit = []

    def _commit_lost(self, error: DBAPIError) -> None:
        """COMMIT was sent and no answer came back: the transaction may or may not have landed."""
        if not self.settled_by_key:
            log.warning("connection lost during COMMIT, outcome unknown", extra={"event": "db.commit_unknown"})
            raise ServiceUnavailable() from error
        log.warning("connection lost during COMMIT; the idempotency key settles it", extra={"event": "db.commit_lost"})


def numbered_in(column, count: int):
    """`column IN (:id0, :id1, …)` with a fixed number of parameters, for statements built once per count
    (cache the builder). An expanding IN would be re-rendered on every execution: ~6% of a transfer's CPU.
    Pass the values with `numbered`."""
    return column.in_([bindparam(f"id{n}") for n in range(count)])


def numbered(ids) -> dict[str, object]:
    return {f"id{n}": value for n, value in enumerate(ids)}


def _error_code(error: DBAPIError) -> object:
    args = getattr(error.orig, "args", ())
    return args[0] if args else None


def is_lost_connection(error: BaseException) -> bool:
    """The connection died or could not be made (SQLAlchemy also flags a disconnect it noticed itself)."""
    if not isinstance(error, DBAPIError):
        return False
    return error.connection_invalidated or _error_code(error) in CONNECTION_ERRORS


def is_retryable(error: BaseException) -> bool:
    """Running the unit of work again is safe and may well succeed: a conflict or a lost connection."""
    if not isinstance(error, DBAPIError) or error.orig is None:
        return False
    if _error_code(error) in CONFLICT_ERRORS or is_lost_connection(error):
        return True
    return "database is locked" in str(error.orig)  # SQLite under the dev server


def retry_on_conflict(fn: Callable[P, R]) -> Callable[P, R]:
    """Run the whole unit of work again on deadlock, lock-wait timeout or a lost connection, with jittered
    exponential backoff, for up to DB_RETRY_BUDGET seconds; then ServiceUnavailable (503). Conflicts come
    in bursts (a Galera cluster's certification failures, a hot wallet), so a time budget rather than a
    count. The function takes its unit of work first, as every service function does."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline = time.monotonic() + _retry_budget(args)
        for attempt in itertools.count(1):
            try:
                return fn(*args, **kwargs)
            except DBAPIError as error:
                if not is_retryable(error):
                    raise
                left = deadline - time.monotonic()
                reason = "lost connection" if is_lost_connection(error) else _error_code(error)
                if left <= 0:
                    log.warning("%s gave up after %d attempts (%s)", fn.__name__, attempt, reason,
                                extra={"event": "db.unavailable"})
                    raise ServiceUnavailable() from error
                log.info("retrying %s after %s (attempt %d)", fn.__name__, reason, attempt,
                         extra={"event": "db.retry"})
                ceiling = min(LONGEST_PAUSE, FIRST_PAUSE * 2**attempt)
                time.sleep(min(left, random.uniform(0, ceiling)))  # full jitter: twins drift apart
        raise AssertionError("unreachable")

    return wrapper


def _retry_budget(args: tuple) -> float:
    config = getattr(args[0], "config", None) if args else None
    return float((config or {}).get("DB_RETRY_BUDGET", DEFAULT_RETRY_BUDGET))
