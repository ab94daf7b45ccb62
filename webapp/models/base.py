"""Declarative base and the column types every model shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import DeclarativeBase

# Microsecond timestamps on MySQL (its DATETIME defaults to whole seconds, which breaks cursor order).
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
Uuid = String(36)


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Naive UTC: what both MySQL DATETIME and SQLite store, so comparisons never mix aware and naive."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


__all__ = ["Base", "BigId", "Integer", "Timestamp", "Uuid", "new_id", "utcnow"]
