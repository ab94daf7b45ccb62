"""Closed-loop load: P processes × T threads, each thread issuing one transfer after another until a shared
deadline. Two kinds of transfer share the harness: POST /api/v1/transfers over one HTTP/1.1 connection per
client (kept alive when the server allows it; gunicorn's sync workers close it after each response), and the
same transaction shape written straight through pymysql (the baseline)."""

from __future__ import annotations

import hashlib
import http.client
import json
import multiprocessing
import random
import resource
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pymysql

from webapp.services.audit import row_hash

Op = Callable[[random.Random], str]  # one transfer; returns "ok" or an error label such as "422 CODE"


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, every completed request
    results: Counter = field(default_factory=Counter)
    cpu: float = 0.0  # CPU seconds the load generator itself spent (all its threads)

    def merge(self, other: Outcome) -> None:
        self.latencies += other.latencies
        self.results += other.results
        self.cpu += other.cpu


@dataclass(frozen=True)
class Plan:
    """Who sends to whom: `hot` sends everything into parties[0] from any other party."""

    parties: list
    hot: bool

    def pick(self, rng: random.Random):
        if self.hot:
            return self.parties[rng.randrange(1, len(self.parties))], self.parties[0]
        sender, recipient = rng.sample(self.parties, 2)
        return sender, recipient


def run(make_op: Callable[[], Op], clients: int, seconds: float, procs: int) -> Outcome:
    """Spread `clients` threads over `procs` processes (one Python process cannot drive pymysql or
    http.client fast enough under the GIL); all start together after a short warm-up and stop at the deadline."""
    context = multiprocessing.get_context("fork")  # the op factory closes over tokens and ids; fork shares them
    queue = context.Queue()
    start = time.time() + 1.0
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    workers = [context.Process(target=_process, args=(make_op, n, start, start + seconds, queue), daemon=True)
               for n in shares if n]
    for worker in workers:
        worker.start()
    total = Outcome()
    try:
        for _ in workers:
            total.merge(queue.get(timeout=seconds + 120))
    finally:
        for worker in workers:
            worker.join(5)
            if worker.is_alive():
                worker.terminate()
    return total


def _process(make_op, threads: int, start: float, stop: float, queue) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent cleans up; we stop at the deadline anyway
    try:
        outcomes = [Outcome() for _ in range(threads)]
        pool = [threading.Thread(target=_loop, args=(make_op(), start, stop, out)) for out in outcomes]
    except Exception as error:  # noqa: BLE001 - e.g. no database connection: report it instead of hanging
        queue.put(Outcome(results=Counter({f"client setup failed: {error}": threads})))
        return
    before = resource.getrusage(resource.RUSAGE_SELF)
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    total = Outcome(cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))
    for out in outcomes:
        total.merge(out)
    queue.put(total)


def _loop(op: Op, start: float, stop: float, out: Outcome) -> None:
    rng = random.Random()
    time.sleep(max(0.0, start - time.time()))
    while time.time() < stop:
        began = time.perf_counter()
        try:
            label = op(rng)
        except Exception as error:  # noqa: BLE001 - counted and shown, never hidden
            label = type(error).__name__
        out.latencies.append(time.perf_counter() - began)
        out.results[label] += 1


# -- through the API ------------------------------------------------------------------------------------


def http_op(port: int, plan: Plan) -> Callable[[], Op]:
    def make() -> Op:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def op(rng: random.Random) -> str:
            sender, recipient = plan.pick(rng)
            body = json.dumps({"from_wallet_id": sender.wallet_id, "to_wallet_id": recipient.wallet_id,
                               "amount": rng.randint(1, 500), "currency": "USD", "idempotency_key": uuid.uuid4().hex})
            try:
                connection.request("POST", "/api/v1/transfers", body, {
                    "Authorization": f"Bearer {sender.token}", "Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()  # the next request reconnects
                raise
            if response.status == 201:
                return "ok"
            try:
                return f"{response.status} {json.loads(payload)['error']['code']}"
            except (ValueError, KeyError, TypeError):
                return str(response.status)

        return op

    return make


# -- straight through pymysql: the baseline -------------------------------------------------------------

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
