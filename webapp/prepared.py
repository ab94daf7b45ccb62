"""Prepared statements for the money path: SQLAlchemy Core statements compiled once per dialect and sent
straight to the DB-API cursor.

A transfer sends ten statements. SQLAlchemy's execution layer costs about 45 µs a statement on top of the
driver's own work (an execution context, parameter processing, a result object): a third of what the app
spends beyond the bare driver per transfer (bench/README.md). A Prepared statement keeps what the money
path relies on from that layer, through SQLAlchemy's public API: the compiled SQL; each column type's
conversions, both ways; and SQLAlchemy's own error handling (its exception classes, which deadlock
retries and idempotency replays catch, and retiring the pool's connections when the server went away).
It skips the rest. A statement that needs more (Python-side column defaults, an expanding IN, parameters
computed at execution) is refused when it is first compiled.

Run them with `UnitOfWork.execute`, which sends them the ordinary way once an ORM session shares the
transaction. SQLAlchemy's statement events and `echo` don't see them; begin, commit and rollback still go
through SQLAlchemy, with their events.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import ArgumentError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql import Executable

Params = Mapping[str, Any]


class Prepared:
    """One Core statement and its compiled forms, one per dialect and set of parameter names."""

    def __init__(self, statement: Executable):
        self.statement = statement
        self._plans: dict[tuple[Dialect, frozenset[str]], _Plan] = {}

    def run(self, connection: Connection, params: Params | Sequence[Params] | None) -> Result:
        many = isinstance(params, list)
        rows = params if many else [params or {}]
        if not rows:
            raise ArgumentError("executemany needs at least one row")
        dialect = connection.dialect
        key = (dialect, frozenset(rows[0]))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan.compile(self.statement, dialect, sorted(rows[0]))
        if not connection.in_transaction():
            connection.begin()  # through SQLAlchemy, so its begin hooks run (SQLite's BEGIN IMMEDIATE)
        bound = [plan.bind(row) for row in rows]
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        try:
            if many:
                cursor.executemany(plan.sql, bound)
            else:
                cursor.execute(plan.sql, bound[0])
            return Result(plan.rows(cursor), cursor.rowcount, cursor.lastrowid)
        except BaseException as error:
            # Exactly what Connection.execute does with the same error: wrap driver errors in SQLAlchemy's
            # classes, invalidate this connection (and the pool's older ones) on a disconnect or an
            # interrupted read, run handle_error events. A private method, hence the version cap in
            # pyproject.toml; tests/unit/test_prepared.py and tests/integration/test_db.py check it.
            connection._handle_dbapi_exception(error, plan.sql, bound, cursor, None)
            raise  # not reached: the call above raises
        finally:
            cursor.close()


@dataclass(frozen=True)
class Result:
    """The part of SQLAlchemy's CursorResult the money path uses."""

    rows: list[tuple]
    rowcount: int
    lastrowid: int | None

    def __iter__(self):
        return iter(self.rows)

    def first(self):
        return self.rows[0] if self.rows else None

    def one(self):
        if not self.rows:
            raise NoResultFound("No row was found when one was required")
        if len(self.rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return self.rows[0]



@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool  # the driver's paramstyle: a tuple in order (SQLite) or a dict by name (PyMySQL)
    binds: tuple[tuple[str, Callable | None, bool, Any], ...]  # name, converter, required, literal value
    row_type: type | None  # a named tuple for a SELECT's rows, None for DML
    converters: tuple[Callable | None, ...]

    @classmethod
    def compile(cls, statement: Executable, dialect: Dialect, keys: list[str]) -> _Plan:
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ArgumentError("a Prepared statement can't fill Python-side column defaults: pass every column")
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        binds = []
        for name in names:
            bind = compiled.binds[name]
            if bind.expanding or bind.literal_execute or bind.callable is not None:
                raise ArgumentError(f"a Prepared statement can't expand IN lists, render literals or call for values"
                                    f" ({name!r}): use db.numbered_in or plain parameters")
            binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect), bind.required, bind.value))
        columns = list(getattr(statement, "selected_columns", ()))
        row_type = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None
        converters = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        return cls(str(compiled), compiled.positional, tuple(binds), row_type, converters)

    def bind(self, params: Params) -> tuple | dict:
        values = []
        for name, convert, required, literal in self.binds:
            if name in params:
                value = params[name]
            elif required:
                raise ArgumentError(f"a value is required for bind parameter {name!r}")
            else:
                value = literal
            values.append(convert(value) if convert is not None else value)
        if self.positional:
            return tuple(values)
        return dict(zip((name for name, *_ in self.binds), values, strict=True))

    def rows(self, cursor) -> list[tuple]:
        if self.row_type is None:
            return []
        converters = self.converters
        return [self.row_type(*(value if convert is None else convert(value)
                                for convert, value in zip(converters, row, strict=True)))
                for row in cursor.fetchall()]
