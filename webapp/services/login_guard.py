"""Failed sign-ins, counted per (email, client address) pair in `login_failures`.

A per-account lockout lets any stranger lock the owner out, and tells them the account exists. Counting
per pair instead, LOGIN_MAX_FAILURES failures within LOGIN_LOCKOUT_SECONDS block that pair for
LOGIN_LOCKOUT_SECONDS: the guesser is stopped (on top of the per-address rate limits), while the owner,
from their own address, still signs in. Unknown emails are counted exactly like known ones, and the row
is keyed by a hash of the pair, so the table holds neither emails nor addresses.

A lockout is audited as `login_locked`: on the person's own stream when the email is someone's (and the
repeated-lockouts risk rule counts it there, services/risk.py), on the system stream when it is nobody's.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from webapp.db import UnitOfWork
from webapp.models import LoginFailure
from webapp.models.base import utcnow
from webapp.services import audit, risk

LOCKED_EVENT = "login_locked"


def key_for(email: str, address: str) -> str:
    return hashlib.sha256(f"{email}|{address}".encode()).hexdigest()


def is_blocked(uow: UnitOfWork, key: str) -> bool:
    """A read without a lock, for the first look before the password is checked."""
    until = uow.session.scalar(select(LoginFailure.locked_until).where(LoginFailure.key_hash == key))
    return _blocks(until)


def locked_row(uow: UnitOfWork, key: str) -> LoginFailure | None:
    """The pair's row under its lock, in the transaction that settles an attempt: parallel attempts from
    one pair are counted one after another, and a right password found while a twin's failure blocked the
    pair is still refused."""
    return uow.session.scalar(select(LoginFailure).where(LoginFailure.key_hash == key).with_for_update()
                              .execution_options(populate_existing=True))


def blocked(row: LoginFailure | None) -> bool:
    return row is not None and _blocks(row.locked_until)


def record_failure(uow: UnitOfWork, key: str, row: LoginFailure | None) -> datetime | None:
    """Count one failure for the pair; returns the end of the block when this failure starts one."""
    now, window = utcnow(), timedelta(seconds=uow.config.get("LOGIN_LOCKOUT_SECONDS", 900))
    row = row or _new_row(uow, key)
    if row.first_failed_at <= now - window:  # the window has passed: count afresh
        row.failures, row.first_failed_at = 0, now
    row.failures += 1
    if row.failures < uow.config.get("LOGIN_MAX_FAILURES", 5):
        return None
    row.failures, row.first_failed_at, row.locked_until = 0, now, now + window
    return row.locked_until


def locked_out(uow: UnitOfWork, *, user_id: str | None, until: datetime, address: str) -> None:
    """Audit the lockout `record_failure` just started, in the attempt's transaction. `user_id` is None for
    an email nobody has: then only the system stream hears of it."""
    stream = audit.user_stream(user_id) if user_id is not None else audit.SYSTEM
    audit.append(uow, stream=stream, event=LOCKED_EVENT, actor_id=user_id,
                 data={"until": until.isoformat(), "address": address})
    if user_id is not None:
        risk.after_lockout(uow, user_id=user_id, kind="login")


def clear(uow: UnitOfWork, key: str) -> None:
    """A successful sign-in from this address forgets its earlier failures."""
    uow.session.execute(delete(LoginFailure).where(LoginFailure.key_hash == key))


def _new_row(uow: UnitOfWork, key: str) -> LoginFailure:
    """The pair's first failure. A twin attempt may insert the same key at once: the loser's INSERT waits
    for the winner's commit, fails on the primary key, and then locks the winner's row instead."""
    row = LoginFailure(key_hash=key, failures=0, first_failed_at=utcnow())
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:
        return locked_row(uow, key)
    return row


def _blocks(until: datetime | None) -> bool:
    return until is not None and until > utcnow()
