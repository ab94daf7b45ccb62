"""The baseline: the transfer's transaction shape written straight through pymysql, no HTTP, no Flask, no
ORM. One thread per client; bench/_load.py runs them over P processes."""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pymysql
from _load import Op, Plan

from webapp.services.audit import row_hash

RETRYABLE = {1213, 1205}  # deadlock, lock-wait timeout: retried like webapp.db.retry_on_conflict


def sql_op(database: str, plan: Plan, connect: Callable[..., pymysql.Connection]) -> Callable[[], Op]:
    def make() -> Op:
        connection = connect(database, autocommit=False)
        connection.cursor().execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")  # as the app

        def op(rng: random.Random) -> str:
            sender, recipient = plan.pick(rng)
            amount = rng.randint(1, 500)
            for attempt in range(1, 6):
                try:
                    return _sql_transfer(connection, sender, recipient, amount)
                except Exception as error:
                    connection.rollback()  # never leave half a transfer for the next BEGIN to commit
                    retryable = isinstance(error, pymysql.err.OperationalError) and error.args[0] in RETRYABLE
                    if not retryable or attempt == 5:
                        raise
                    time.sleep(random.uniform(0, 0.01 * 2**attempt))
            raise AssertionError("unreachable")

        return op

    return make


def _sql_transfer(connection: pymysql.Connection, sender, recipient, amount: int) -> str:
    """The transfer's transaction shape with no HTTP and no ORM: idempotency row, both wallets locked in id
    order, entry + 2 postings, 2 wallet updates, 2 history rows, the sender's audit chain link, commit."""
    now = datetime.now(UTC).replace(tzinfo=None)
    entry_id, debit_id = str(uuid.uuid4()), str(uuid.uuid4())
    with connection.cursor() as cursor:
        connection.begin()
        cursor.execute("INSERT INTO idempotency_keys (user_id, operation, `key`, request_hash, result_id, created_at,"
                       " expires_at) VALUES (%s, 'transfer', %s, %s, %s, %s, %s)",
                       (sender.user_id, uuid.uuid4().hex, hashlib.sha256(entry_id.encode()).hexdigest(), debit_id,
                        now, now + timedelta(hours=48)))
        cursor.execute("SELECT id, balance, reserved, version FROM wallets WHERE id IN (%s, %s) ORDER BY id FOR UPDATE",
                       (sender.wallet_id, recipient.wallet_id))
        wallets = {row[0]: row[1:] for row in cursor.fetchall()}
        balance, reserved, _ = wallets[sender.wallet_id]
        if balance - amount < reserved:
            connection.rollback()
            return "422 INSUFFICIENT_FUNDS"
        cursor.execute("INSERT INTO journal_entries (id, kind, description, created_at)"
                       " VALUES (%s, 'transfer', '', %s)", (entry_id, now))
        cursor.executemany("INSERT INTO postings (entry_id, account_id, amount, currency) VALUES (%s, %s, %s, 'USD')",
                           [(entry_id, sender.account_id, -amount), (entry_id, recipient.account_id, amount)])
        for party, delta in ((sender, -amount), (recipient, amount)):
            balance, _, version = wallets[party.wallet_id]
            cursor.execute("UPDATE wallets SET balance = %s, version = %s WHERE id = %s AND version = %s",
                           (balance + delta, version + 1, party.wallet_id, version))
            if cursor.rowcount != 1:
                raise RuntimeError("wallet changed under its lock")
        cursor.executemany(
            "INSERT INTO transactions (id, wallet_id, user_id, kind, direction, amount, currency, status, counterparty,"
            " metadata, journal_entry_id, created_at) VALUES (%s, %s, %s, 'transfer', %s, %s, 'USD', 'completed', %s,"
            " '{}', %s, %s)",
            [(debit_id, sender.wallet_id, sender.user_id, "debit", amount, _party(recipient), entry_id, now),
             (str(uuid.uuid4()), recipient.wallet_id, recipient.user_id, "credit", amount, _party(sender), entry_id,
              now)])
        _audit(cursor, sender, recipient, amount, entry_id, now)
        connection.commit()
    return "ok"


def _party(party) -> str:
    return json.dumps({"type": "user", "user_id": party.user_id, "wallet_id": party.wallet_id})


def _audit(cursor, sender, recipient, amount: int, entry_id: str, now: datetime) -> None:
    stream = f"user:{sender.user_id}"
    cursor.execute("SELECT seq, head_hash FROM audit_streams WHERE stream = %s FOR UPDATE", (stream,))
    seq, prev = cursor.fetchone()
    data = {"entry_id": entry_id, "from_wallet": sender.wallet_id, "to_wallet": recipient.wallet_id,
            "amount": amount, "currency": "USD"}
    row = SimpleNamespace(stream=stream, seq=seq + 1, event="transfer", actor_id=sender.user_id, data=data,
                          created_at=now)
    digest = row_hash(prev, row)  # the app's own hash, so `ewallet audit verify` still passes afterwards
    cursor.execute("INSERT INTO audit_logs (stream, seq, event, actor_id, data, created_at, prev_hash, hash)"
                   " VALUES (%s, %s, 'transfer', %s, %s, %s, %s, %s)",
                   (stream, seq + 1, sender.user_id, json.dumps(data), now, prev, digest))
    cursor.execute("UPDATE audit_streams SET seq = %s, head_hash = %s WHERE stream = %s", (seq + 1, digest, stream))
