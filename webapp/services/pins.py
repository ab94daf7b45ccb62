"""The transaction PIN (issue 12 point 4): four digits, hashed with Argon2id like passwords, that every new
movement of money out of an account needs once its holder has set one.

Setting or changing it needs the account password. The money services call `check` after their
idempotency claim (a replay of a finished request answers without a PIN; every new movement needs it), on
the sender's row they read anyway, so a person without a PIN costs their hot path nothing. For someone
with a PIN, `check` stops the movement (PinToCheck, which rolls it back) and `guarded` checks the PIN in a
short transaction of its own, under a lock on the person's row: the lock, the Argon2 check and the count
of a wrong try happen together, so PINs sent in parallel are checked one after another and no more than
PIN_MAX_FAILURES of them are ever tried before the lock. A right PIN then runs the movement again.
PIN_MAX_FAILURES wrong PINs in a row lock outgoing money for PIN_LOCK_SECONDS, right PIN or not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import bindparam, select, update

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import FieldErrors, PinInvalid, PinRequired, Unauthorized, ValidationError
from webapp.models import User
from webapp.models.base import utcnow
from webapp.services import audit, risk
from webapp.services.accounts import hasher_for, verify_password

SET_LIMIT = "5 per minute;20 per hour"  # per user, web and app together: the password must not be guessable
PIN = re.compile(r"[0-9]{4}")  # ASCII only: \d and str.isdigit() also take "٤" or a full-width "４"
_users = User.__table__
_this_user = _users.c.id == bindparam("user_id")
# The person's PIN state under their row's lock: the PIN checks of one person take turns.
_LOCKED_STATE = (select(_users.c.pin_hash, _users.c.pin_failures, _users.c.pin_locked_until)
                 .where(_this_user).with_for_update())
_FAILURES = update(_users).where(_this_user).values(pin_failures=bindparam("failures"),
                                                    pin_locked_until=bindparam("until"))
VERIFIED = object()  # what a movement is run with once `guarded` has checked the PIN; no request can send it
T = TypeVar("T")


class Holder(Protocol):
    """What `check` reads of the person moving money: a recipients.Party, or a User row."""

    pin_hash: str | None
    pin_failures: int
    pin_locked_until: datetime | None


class PinToCheck(Exception):  # noqa: N818 - it names what happens next, not a fault
    """Raised inside a movement by someone with a PIN, so that it rolls back; `guarded` checks the PIN on
    its own and runs the movement again. Never shown."""


@dataclass(frozen=True)
class Status:
    is_set: bool
    locked_until: datetime | None  # naive UTC while a lock runs


def status(uow: UnitOfWork, *, user_id: str) -> Status:
    """Whether the person has a PIN (review pages ask for it, the profile offers to set or change it)."""
    with uow:
        row = uow.execute(select(_users.c.pin_hash, _users.c.pin_locked_until).where(_users.c.id == user_id)).first()
    if row is None:
        raise Unauthorized()
    return Status(row.pin_hash is not None, _running(row.pin_locked_until, utcnow()))


def check_new_pin(pin: object) -> str:
    """Four ASCII digits that are not among the first anyone would try."""
    if not isinstance(pin, str) or not PIN.fullmatch(pin):
        raise ValidationError.field("pin", "Use exactly 4 digits.")
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    if steps == {0}:
        raise ValidationError.field("pin", "Four of the same digit is among the first PINs anyone tries.")
    if steps in ({1}, {9}):  # 1234, 4321, and on round the dial: 7890, 0987
        raise ValidationError.field("pin", "Digits in a row, like 1234 or 4321, are among the first PINs anyone "
                                           "tries.")
    return pin


def set_pin(uow: UnitOfWork, *, user_id: str, password: object, pin: object, confirm: object = None) -> Status:
    """Set or change the PIN; the password proves it is the holder. Every problem at once: `password`,
    `pin`, `confirm` (checked only when the form has that field). A running lock stays: it guards the
    money, and the password must not be a way around it."""
    with uow:
        user = uow.session.get(User, user_id)
    if user is None:
        raise Unauthorized()
    problems = FieldErrors()
    if not verify_password(user.password_hash, password if isinstance(password, str) else ""):
        problems.add("password", "This is not your password.")
    problems.check("pin", check_new_pin, pin)
    if "pin" not in problems.fields and confirm is not None and confirm != pin:
        problems.add("confirm", "The two PINs do not match.")
    if problems:
        _refused(uow, user_id, sorted(problems.fields))
        problems.raise_any()
    return _store(uow, user_id, hasher_for(uow.config).hash(pin))  # hashed before any row is locked


def check(uow: UnitOfWork, user_id: str, holder: Holder, pin: object) -> None:
    """Inside a movement's transaction: nothing at all for someone without a PIN, or for a movement run
    again with VERIFIED; PinToCheck otherwise."""
    if holder.pin_hash is not None and pin is not VERIFIED:
        raise PinToCheck()


def guarded(uow: UnitOfWork, *, user_id: str, pin: object, run: Callable[[object], T]) -> T:
    """Run a money movement (`run(pin)`) that needs the PIN once its holder has one: first as it is, which
    for someone without a PIN is all; else, after `verify`, once more with VERIFIED."""
    try:
        return run(None)
    except PinToCheck:  # rolled back: nothing was written
        verify(uow, user_id=user_id, pin=pin)
        return run(VERIFIED)


@retry_on_conflict
def verify(uow: UnitOfWork, *, user_id: str, pin: object) -> None:
    """The PIN, checked and counted in one transaction under the person's row lock: PinRequired, or
    PinInvalid with the tries left or until when a lock runs (a try during a lock is not counted)."""
    with uow:
        state, now = uow.execute(_LOCKED_STATE, {"user_id": user_id}).one(), utcnow()
        if (until := _running(state.pin_locked_until, now)) is not None:
            raise locked(until, now)
        if state.pin_hash is None:
            return
        if pin is None or pin == "":
            raise PinRequired()
        if isinstance(pin, str) and PIN.fullmatch(pin) and verify_password(state.pin_hash, pin):
            if state.pin_failures:  # a right PIN starts the count again
                uow.execute(_FAILURES, {"user_id": user_id, "failures": 0, "until": None})
                uow.commit()
            return
        refusal = _count_wrong(uow, user_id, state.pin_failures + 1, now)
        uow.commit()
    raise refusal


def _count_wrong(uow: UnitOfWork, user_id: str, failures: int, now: datetime) -> PinInvalid:
    """Write one more wrong try, audited, and the lock it may start; the error to answer with."""
    limit, lock_seconds = uow.config.get("PIN_MAX_FAILURES", 5), uow.config.get("PIN_LOCK_SECONDS", 900)
    stream = audit.user_stream(user_id)
    audit.append(uow, stream=stream, event="pin_wrong", actor_id=user_id, data={"failures": failures})
    if failures < limit:
        uow.execute(_FAILURES, {"user_id": user_id, "failures": failures, "until": None})
        return _wrong(limit - failures, lock_seconds)
    until = now + timedelta(seconds=lock_seconds)
    uow.execute(_FAILURES, {"user_id": user_id, "failures": 0, "until": until})
    audit.append(uow, stream=stream, event="pin_locked", actor_id=user_id,
                 data={"failures": failures, "until": until.isoformat()})
    risk.after_lockout(uow, user_id=user_id, kind="pin")
    return locked(until, now)


def locked(until: datetime, now: datetime) -> PinInvalid:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return PinInvalid(f"Too many wrong PINs: sending money is locked until {until:%H:%M} UTC "
                      f"(in {_plural(minutes, 'minute')}).",
                      details={"locked_until": until.isoformat(timespec="microseconds") + "Z"})


def _wrong(left: int, lock_seconds: int) -> PinInvalid:
    return PinInvalid(f"That PIN is not right. {_plural(left, 'try', 'tries')} left before sending money locks "
                      f"for {_plural(max(1, lock_seconds // 60), 'minute')}.", details={"attempts_left": left})


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _running(until: datetime | None, now: datetime) -> datetime | None:
    return until if until is not None and until > now else None


@retry_on_conflict
def _store(uow: UnitOfWork, user_id: str, pin_hash: str) -> Status:
    with uow:
        user = uow.session.get(User, user_id, with_for_update=True)
        event = "pin_changed" if user.pin_hash else "pin_set"  # decided under the lock: twins say it right
        user.pin_hash = pin_hash
        audit.append(uow, stream=audit.user_stream(user_id), event=event, actor_id=user_id)
        uow.commit()
        return Status(True, _running(user.pin_locked_until, utcnow()))


@retry_on_conflict
def _refused(uow: UnitOfWork, user_id: str, fields: list[str]) -> None:
    with uow:
        audit.append(uow, stream=audit.user_stream(user_id), event="pin_change_refused", actor_id=user_id,
                     data={"fields": fields})
        uow.commit()
