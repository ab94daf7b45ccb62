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
    """The app's transfer, statement for statement (services/transfers.py), with no HTTP and no ORM: the
    idempotency row; one read of both wallets and their holders; the entry header; the
    sender's audit link (head FOR UPDATE, row, head); both wallets FOR UPDATE in id order; 2 postings in one
    INSERT; both caches in one UPDATE; 2 history rows in one INSERT; COMMIT."""
    now = datetime.now(UTC).replace(tzinfo=None)
    entry_id, debit_id = str(uuid.uuid4()), str(uuid.uuid4())
    with connection.cursor() as cursor:  # the first statement opens the transaction (autocommit is off)
        cursor.execute("INSERT INTO idempotency_keys (user_id, operation, `key`, request_hash, result_id, created_at,"
                       " expires_at) VALUES (%s, 'transfer', %s, %s, %s, %s, %s)",
                       (sender.user_id, uuid.uuid4().hex, hashlib.sha256(entry_id.encode()).hexdigest(), debit_id,
                        now, now + timedelta(hours=48)))
        cursor.execute(_READ_PARTIES, (sender.wallet_id, recipient.wallet_id))
        parties = {row[0]: row for row in cursor.fetchall()}
        cursor.execute("INSERT INTO journal_entries (id, kind, description, created_at)"
                       " VALUES (%s, 'transfer', '', %s)", (entry_id, now))
        _audit(cursor, sender, recipient, amount, entry_id, now)
        cursor.execute("SELECT id, account_id, currency, balance, reserved, version, daily_sent, daily_sent_day"
                       " FROM wallets WHERE id IN (%s, %s) ORDER BY id FOR UPDATE",
                       (sender.wallet_id, recipient.wallet_id))
        wallets = {row[0]: row for row in cursor.fetchall()}
        if wallets[sender.wallet_id][3] - amount < wallets[sender.wallet_id][4]:
            connection.rollback()
            return "422 INSUFFICIENT_FUNDS"
        cursor.executemany("INSERT INTO postings (entry_id, account_id, amount, currency) VALUES (%s, %s, %s, 'USD')",
                           [(entry_id, sender.account_id, -amount), (entry_id, recipient.account_id, amount)])
        today = now.date()
        cursor.execute(_WRITE_WALLETS, (sender.wallet_id, -amount, recipient.wallet_id, amount,  # balance
                                        sender.wallet_id, 0, recipient.wallet_id, 0,  # reserved
                                        today, sender.wallet_id, amount, recipient.wallet_id, 0,  # daily_sent
                                        today, today, sender.wallet_id, recipient.wallet_id))
        if cursor.rowcount != 2:
            raise RuntimeError("wallet changed under its lock")
        cursor.executemany(
            "INSERT INTO transactions (id, wallet_id, user_id, kind, direction, amount, currency, status, counterparty,"
            " metadata, journal_entry_id, created_at) VALUES (%s, %s, %s, 'transfer', %s, %s, 'USD', 'completed', %s,"
            " '{}', %s, %s)",
            [(debit_id, sender.wallet_id, sender.user_id, "debit", amount,
              _party(parties[recipient.wallet_id]), entry_id, now),
             (str(uuid.uuid4()), recipient.wallet_id, recipient.user_id, "credit", amount,
              _party(parties[sender.wallet_id]), entry_id, now)])
        connection.commit()
    return "ok"


# Both wallets and their holders: the app's one read before it locks anything.
_READ_PARTIES = (
    "SELECT w.id, w.currency, u.id, u.email, u.phone, u.kyc_status, u.is_frozen, u.display_name,"
    " u.pin_hash, u.pin_failures, u.pin_locked_until"
    " FROM wallets w JOIN users u ON u.id = w.user_id WHERE w.id IN (%s, %s)"
)
# Both caches in one statement, as ledger._write_wallets: balance and reserved by delta, today's sent total
# restarted on a new day.
_WRITE_WALLETS = (
    "UPDATE wallets SET balance = balance + CASE WHEN id = %s THEN %s WHEN id = %s THEN %s END,"
    " reserved = reserved + CASE WHEN id = %s THEN %s WHEN id = %s THEN %s END, version = version + 1,"
    " daily_sent = CASE WHEN daily_sent_day >= %s THEN daily_sent ELSE 0 END"
    " + CASE WHEN id = %s THEN %s WHEN id = %s THEN %s END,"
    " daily_sent_day = CASE WHEN daily_sent_day > %s THEN daily_sent_day ELSE %s END WHERE id IN (%s, %s)"
)


def _party(row) -> str:
    """As Party.shown_to for a recipient named by wallet id: a name and a masked email, never the email."""
    wallet_id, user_id, email, phone, name = row[0], row[2], row[3], row[4], row[7]
    local, _, domain = email.partition("@")
    return json.dumps({"type": "user", "user_id": user_id, "wallet_id": wallet_id, "name": name or "E-Wallet user",
                       "email": f"{local[:1]}•••@{domain}", "phone": f"{phone[:3]}•••{phone[-2:]}"})


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
