"""Client idempotency keys (DESIGN §7): unique per user and operation, stored with a hash of the request
in the same transaction as the effect, so a key exists if and only if its effect does."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from webapp.db import UnitOfWork
from webapp.errors import IdempotencyConflict, ValidationError
from webapp.models import IdempotencyKey
from webapp.models.base import new_id, utcnow
from webapp.prepared import Prepared

KEY_TTL = timedelta(hours=48)  # DESIGN asks for at least 24 hours
MAX_KEY_LENGTH = 255
KEY_PATTERN = rf"^[A-Za-z0-9_-]{{1,{MAX_KEY_LENGTH}}}$"  # also in the OpenAPI document
KEY_RE = re.compile(KEY_PATTERN)
_INSERT = Prepared(insert(IdempotencyKey.__table__))  # not an ORM flush: it runs on every money movement
T = TypeVar("T")


class KeyTaken(Exception):
    """Another request with this key committed first (or is committing now): replay its result."""


def check_key(key: object) -> str:
    """ASCII letters, digits, "_" and "-" only, taken exactly as sent: a key means one thing to every
    layer (no trimming, case folding or accent folding anywhere), and a UUID or any random token fits."""
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise ValidationError.field("idempotency_key", f"Send a unique key of 1–{MAX_KEY_LENGTH} characters: "
                                    "letters A–Z and a–z, digits, _ and -.")
    return key


def fingerprint(request: dict) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_result(uow: UnitOfWork, *, user_id: str, operation: str, key: str, request_hash: str) -> str | None:
    """The result id stored for this key, or None if the key is new. A different request is a conflict."""
    stored = uow.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.operation == operation, IdempotencyKey.key == key
        )
    )
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise IdempotencyConflict()
    return stored.result_id


def result_for(uow: UnitOfWork, *, user_id: str, operation: str, key: str) -> str | None:
    """The result id a committed request with this key produced, whatever that request was, or None."""
    return uow.session.scalar(
        select(IdempotencyKey.result_id).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.operation == operation, IdempotencyKey.key == key
        )
    )


def claim(uow: UnitOfWork, *, user_id: str, operation: str, key: str, request_hash: str, result_id: str) -> None:
    """Insert the key as the first statement of the unit of work. A concurrent twin blocks on the unique
    index until we commit, then gets KeyTaken: the caller rolls back (nothing else was written yet) and
    replays our result in a fresh transaction instead of moving money again."""
    now = utcnow()
    try:
        uow.execute(_INSERT, {"user_id": user_id, "operation": operation, "key": key, "request_hash": request_hash,
                              "result_id": result_id, "created_at": now, "expires_at": now + KEY_TTL})
    except IntegrityError as error:
        raise KeyTaken() from error
    uow.settled_by_key = True  # a COMMIT lost from here on is settled by rerunning: the key decides (db.py)


def once(uow: UnitOfWork, *, user_id: str, operation: str, key: str, request_hash: str,
         effect: Callable[[str], T], load: Callable[[str], T]) -> T:
    """A money movement at most once per key, the shape every one shares: claim the key as the first
    statement of a transaction, run `effect(result_id)` and commit, and return what it returned; or, when
    the key was claimed before, `load(stored_id)` in a fresh transaction: exactly what the first request
    answered. Call it from a function wrapped in retry_on_conflict: a twin's deadlock reruns the whole."""
    result_id = new_id()
    with uow:
        try:
            claim(uow, user_id=user_id, operation=operation, key=key, request_hash=request_hash, result_id=result_id)
        except KeyTaken:
            pass  # seen before: answer below exactly as the first request was answered
        else:
            result = effect(result_id)
            uow.commit()
            return result
    with uow:
        return load(find_result(uow, user_id=user_id, operation=operation, key=key, request_hash=request_hash))


def purge_expired(uow: UnitOfWork) -> int:
    with uow:
        deleted = uow.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
        uow.commit()
    return deleted.rowcount
