"""Unit tests run on an in-memory SQLite database built with create_all: fast, and no server needed."""

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from tests.conftest import CHEAP_ARGON2
from webapp.db import UnitOfWork
from webapp.models import Base

CONFIG = {"DEFAULT_CURRENCY": "USD", "DEFAULT_PHONE_REGION": "US", "LOGIN_MAX_FAILURES": 3,
          "LOGIN_LOCKOUT_SECONDS": 600, "JWT_REFRESH_TTL": 3600, **CHEAP_ARGON2}


@pytest.fixture()
def uow():
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    Base.metadata.create_all(engine)
    yield UnitOfWork(sessionmaker(engine, expire_on_commit=False), CONFIG)
    engine.dispose()
