"""Tamper-evident audit trail: append-only rows, each carrying the hash of the previous row of its stream.

One stream per user (plus "system") keeps appends parallel: a transfer locks its sender's stream head,
never a global one (DESIGN §5). `verify` walks every stream and names the first row that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from webapp.db import UnitOfWork
from webapp.models import AuditLog, AuditStream
from webapp.models.base import utcnow
from webapp.prepared import Prepared

GENESIS = "0" * 64
SYSTEM = "system"


def user_stream(user_id: str) -> str:
    return f"user:{user_id}"


def row_hash(prev_hash: str, row: AuditLog | AuditRecord) -> str:
    body = json.dumps(
        {
            "stream": row.stream,
            "seq": row.seq,
            "event": row.event,
            "actor_id": row.actor_id,
            "data": row.data,
            "created_at": row.created_at.isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(f"{prev_hash}{body}".encode()).hexdigest()


_streams = AuditStream.__table__
_INSERT_ROW = Prepared(insert(AuditLog.__table__))
_INSERT_STREAM = insert(_streams)
_LOCK_HEAD = Prepared(select(_streams.c.seq, _streams.c.head_hash).where(_streams.c.stream == bindparam("name"))
                      .with_for_update())
_COLUMNS = ("stream", "seq", "event", "actor_id", "data", "created_at", "prev_hash", "hash")
_MOVE_HEAD = Prepared(update(_streams).where(_streams.c.stream == bindparam("name")).values(
    seq=bindparam("new_seq"), head_hash=bindparam("new_hash")))


def open_stream(uow: UnitOfWork, stream: str) -> None:
    uow.execute(_INSERT_STREAM, {"stream": stream, "seq": 0, "head_hash": GENESIS, "created_at": utcnow()})


def _locked_head(uow: UnitOfWork, stream: str):
    head = uow.execute(_LOCK_HEAD, {"name": stream}).first()
    if head is not None:
        return head
    try:
        with uow.session.begin_nested():
            open_stream(uow, stream)
    except IntegrityError:
        pass  # another transaction opened it first
    return uow.execute(_LOCK_HEAD, {"name": stream}).one()


@dataclass
class AuditRecord:
    """A row as `append` wrote it. A plain record, not an AuditLog: it is a receipt, and building an ORM
    object on every transfer cost more than hashing the row."""

    stream: str
    seq: int
    event: str
    actor_id: str | None
    data: dict
    created_at: datetime
    prev_hash: str
    hash: str = ""
    id: int | None = None


def append(
    uow: UnitOfWork, *, stream: str, event: str, actor_id: str | None = None, data: dict | None = None
) -> AuditRecord:
    """Add a row in the caller's transaction: it lands if and only if the audited change does. Core
    statements, not an ORM flush: every transfer appends, and this is on its hot path (see ledger.py)."""
    head = _locked_head(uow, stream)
    row = AuditRecord(stream=stream, seq=head.seq + 1, event=event, actor_id=actor_id, data=data or {},
                      created_at=utcnow(), prev_hash=head.head_hash)
    row.hash = row_hash(head.head_hash, row)
    written = uow.execute(_INSERT_ROW, {column: getattr(row, column) for column in _COLUMNS})
    row.id = written.lastrowid  # the autoincrement id of the one row inserted
    uow.execute(_MOVE_HEAD, {"name": stream, "new_seq": row.seq, "new_hash": row.hash})
    return row


@dataclass(frozen=True)
class Finding:
    stream: str
    seq: int
    row_id: int | None
    problem: str  # "changed" | "inserted" | "deleted"

    def __str__(self) -> str:
        where = f"row id {self.row_id}" if self.row_id is not None else "after the last row"
        return f"{self.stream} seq {self.seq} ({where}): {self.problem}"


def verify(uow: UnitOfWork) -> Finding | None:
    """The first row, in id order of discovery, that was changed, inserted or deleted; None if intact."""
    with uow:
        findings = [f for head in uow.session.scalars(select(AuditStream)) if (f := _verify_stream(uow, head))]
        orphans = uow.session.scalars(
            select(AuditLog).where(AuditLog.stream.not_in(select(AuditStream.stream))).order_by(AuditLog.id)
        ).first()
        if orphans is not None:
            findings.append(Finding(orphans.stream, orphans.seq, orphans.id, "inserted"))
    return min(findings, key=lambda f: f.row_id if f.row_id is not None else 2**63) if findings else None


def _verify_stream(uow: UnitOfWork, head: AuditStream) -> Finding | None:
    prev_hash, expected_seq = GENESIS, 1
    rows = uow.session.scalars(select(AuditLog).where(AuditLog.stream == head.stream).order_by(AuditLog.seq))
    for row in rows:
        if row.seq > head.seq:
            return Finding(head.stream, row.seq, row.id, "inserted")  # appended behind the head's back
        if row.seq != expected_seq:
            return Finding(head.stream, expected_seq, row.id, "deleted")  # a gap before this row
        if row.prev_hash != prev_hash:
            return Finding(head.stream, row.seq, row.id, "inserted")  # the chain does not lead here
        if row_hash(prev_hash, row) != row.hash:
            return Finding(head.stream, row.seq, row.id, "changed")
        prev_hash, expected_seq = row.hash, expected_seq + 1
    if head.seq != expected_seq - 1 or head.head_hash != prev_hash:
        return Finding(head.stream, expected_seq, None, "deleted")  # the newest rows are gone
    return None
