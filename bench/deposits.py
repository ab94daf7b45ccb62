"""Deposit benchmark: Stripe's `payment_intent.succeeded` webhooks crediting card deposits, under gunicorn on
MariaDB, against the transfer benchmark's uniform run in the same process. See bench/README.md.

    .venv/bin/python bench/deposits.py [--deposits 2000] [--clients 32] [--rounds 3] [--wallets 100]

Each round first makes --deposits pending deposits through the deposits service (services/deposits.start,
in this process, 8 threads), with the Stripe provider stubbed: the PaymentIntent a stub returns carries the
same fields Stripe's would, and no Stripe or localstripe is called, because the provider is not what is
measured (untimed). Then it posts each deposit's signed `payment_intent.succeeded` event to
POST /api/v1/webhooks/stripe twice, all 2N deliveries in shuffled order, from --clients closed-loop clients,
until every delivery has an answer. Then the uniform transfer run for --seconds, as bench/transfers.py does.

credits/s counts deposits credited per second of the delivery run; p50/p99 are over every delivery. The
checks: one `deposit` journal entry per deposit (no double credit), every twin answered "duplicate",
the Σ of wallet balances up by exactly the Σ deposited (drift 0), and the app's reconciliation passing.
Target (issue 9): credits/s >= 0.8 x uniform transfers/s, zero double credits, zero drift.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]  # the _harness/_load helpers, and the webapp of this tree

import _harness as h  # noqa: E402
import _load  # noqa: E402
import transfers  # noqa: E402

from webapp.db import UnitOfWork  # noqa: E402
from webapp.extensions import Database  # noqa: E402
from webapp.money import Money  # noqa: E402
from webapp.providers import stripe as stripe_provider  # noqa: E402
from webapp.providers.payments import PaymentIntent  # noqa: E402
from webapp.services import deposits  # noqa: E402

TARGET = 0.8  # credits/s over uniform transfers/s
WARMUP = 100  # deposits credited before each timed delivery run
NO_LIMITS: dict = {}  # a unit of work without a LIMITS table limits nothing (services/limits.py)


class StubStripe:
    """Answers create_payment_intent as Stripe would (an id, a client secret, our metadata), with no call."""

    def create_payment_intent(self, *, amount, currency, metadata, idempotency_key) -> PaymentIntent:
        intent_id = "pi_bench" + uuid.uuid4().hex[:16]
        return PaymentIntent(id=intent_id, amount=amount, currency=currency.upper(), status="requires_payment_method",
                             client_secret=f"{intent_id}_secret_bench", metadata=metadata)


@dataclass(frozen=True)
class Pending:
    transaction_id: str
    intent_id: str
    wallet_id: str
    user_id: str
    amount: int  # minor units, USD


def make_deposits(url: str, parties: list[h.Party], n: int) -> list[Pending]:
    """n pending deposits through the service itself, spread over the parties' wallets."""
    stripe_provider.from_config = lambda config: StubStripe()  # this process only; gunicorn verifies for real
    db = Database(url)
    rng = random.Random()

    def one(i: int) -> Pending:
        party, amount = parties[i % len(parties)], rng.randint(100, 50_000)
        made = deposits.start(UnitOfWork(db.session_factory, NO_LIMITS), user_id=party.user_id,
                              wallet_id=party.wallet_id, amount=Money(amount, "USD"), idempotency_key=uuid.uuid4().hex)
        intent_id = made.client_secret.split("_secret_")[0]
        return Pending(made.transaction.id, intent_id, party.wallet_id, party.user_id, amount)

    try:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(n)))
    finally:
        db.dispose()


def signed_request(port: int, pending: Pending, event_id: str) -> bytes:
    """The HTTP request localstripe (or Stripe) would send: the event JSON, signed `t=…,v1=HMAC-SHA256`."""
    intent = {"id": pending.intent_id, "object": "payment_intent", "amount": pending.amount, "currency": "usd",
              "status": "succeeded", "metadata": {"transaction_id": pending.transaction_id,
                                                  "wallet_id": pending.wallet_id, "user_id": pending.user_id}}
    now = int(time.time())
    body = json.dumps({"id": event_id, "object": "event", "type": "payment_intent.succeeded", "created": now,
                       "livemode": False, "data": {"object": intent}}).encode()
    signature = hmac.new(h.WEBHOOK_SECRET.encode(), b"%d.%s" % (now, body), hashlib.sha256).hexdigest()
    head = (f"POST /api/v1/webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Stripe-Signature: t={now},v1={signature}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class _Deliveries(_load._HttpClients):
    """The transfer load's epoll clients, sending a fixed list of requests once each instead of transfers."""

    def __init__(self, port: int, requests: list[bytes]):
        self.address, self.requests, self.at = ("127.0.0.1", port), requests, 0
        self.poller = _load.select.epoll()
        self.busy, self.ready, self.out = {}, [], _load.Outcome()

    def next_request(self) -> bytes | None:
        if self.at >= len(self.requests):
            return None
        self.at += 1
        return self.requests[self.at - 1]

    @staticmethod
    def label(status: int, payload: bytes) -> str:
        if status != 200:
            return _load._HttpClients.label(status, payload)
        return json.loads(payload)["data"]["outcome"]  # "applied" or "duplicate"


@dataclass(frozen=True)
class DeliveryLoad(_load.HttpLoad):
    requests: tuple = ()

    def drive(self, clients: int, start: float, stop: float) -> _load.Outcome:
        return _Deliveries(self.port, list(self.requests)).run(clients, start, stop)


@dataclass
class Credits:
    round: int
    n: int
    seconds: float
    outcome: _load.Outcome
    entries: int  # deposit journal entries written in this round
    drift: int  # Σ balances moved − Σ deposited, minor units
    problems: list[str]
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.outcome.results["applied"] / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.outcome.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def deliveries(port: int, made: list[Pending]) -> tuple[bytes, ...]:
    """Each deposit's event, signed, twice over, in shuffled order."""
    events = [(pending, f"evt_bench{uuid.uuid4().hex[:20]}") for pending in made]
    requests = [signed_request(port, pending, event_id) for pending, event_id in events] * 2
    random.shuffle(requests)
    return tuple(requests)


def deliver(number: int, args, url: str, database: str, port: int, gunicorn: int, parties) -> Credits:
    made = make_deposits(url, parties, args.deposits + WARMUP)
    # Untimed: each worker's first webhooks import the SDK's webhook modules and compile the statements.
    _load.run(DeliveryLoad(port, None, deliveries(port, made[:WARMUP])), args.clients, 3600, 1)
    made, requests = made[WARMUP:], deliveries(port, made[WARMUP:])
    before, meter = h.snapshot(database), h.CpuMeter(gunicorn)
    entries_before = count_entries(database)
    began = time.time() + 1.0  # _load.run starts every client one second from now
    outcome = _load.run(DeliveryLoad(port, None, requests), args.clients, 3600, 1)
    seconds = time.time() - began
    cpu = meter.stop(outcome.cpu)
    after, entries = h.snapshot(database), count_entries(database) - entries_before
    drift = (after.total - before.total) - sum(pending.amount for pending in made)
    row = Credits(number, len(made), seconds, outcome, entries, drift, [], cpu)
    row.problems = check(row, url)
    print(f"  deposits #{number}: {row.rate:.0f} credits/s, p99 {row.percentile(0.99):.0f} ms,"
          f" duplicates ignored {outcome.results['duplicate']}, problems {len(row.problems)}", flush=True)
    return row


def count_entries(database: str) -> int:
    with h.server_connection(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM journal_entries WHERE kind = 'deposit'")
        return int(cursor.fetchone()[0])


def check(row: Credits, url: str) -> list[str]:
    problems, results = [], row.outcome.results
    if results["applied"] != row.n or row.entries != row.n:
        problems.append(f"{results['applied']} applied and {row.entries} credits written for {row.n} deposits")
    if results["duplicate"] != row.n:
        problems.append(f"{results['duplicate']} twins answered duplicate, of {row.n}")
    if other := {label: n for label, n in results.items() if label not in ("applied", "duplicate")}:
        problems.append(f"other answers: {other}")
    if row.drift:
        problems.append(f"wallet total off by {row.drift:+d} minor units")
    if not h.reconcile_ok(url):
        problems.append("reconciliation failed")
    return problems


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deposits", type=int, default=2000, help="pending deposits per round")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10, help="length of each uniform transfer run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wallets", type=int, default=100, help="users, one USD wallet each")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers (as bench/transfers.py)")
    args = parser.parse_args(argv)
    args.threads, args.client_procs = 1, 1
    return args


def report(rows: list, args) -> None:
    print(f"\ngunicorn {args.workers} sync workers; {args.wallets} wallets; {args.deposits} deposits per round, each"
          f" event delivered twice in shuffled order; uniform transfers {args.seconds:g}s; {args.clients} clients\n")
    header = f"{'run':<14}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'dup ignored':>13}{'drift':>7}  {'conserved':<10}"
    print(header + f"{'CPU ms each (app, db)':>24}\n" + "-" * (len(header) + 24))
    for row in rows:
        deposit = isinstance(row, Credits)
        ok = row.outcome.results["applied" if deposit else "ok"]
        cpu = row.cpu
        app_ms, db_ms = (1000 * (cpu["server"] + cpu["client"]) / ok, 1000 * cpu["db"] / ok) if ok else (0, 0)
        print(f"{('deposits #' if deposit else 'uniform #') + str(row.round):<14}{row.rate:>8.0f}"
              f"{row.percentile(0.5):>9.1f}{row.percentile(0.99):>9.1f}"
              f"{row.outcome.results['duplicate'] if deposit else '-':>13}{row.drift:>7}  "
              f"{'no' if row.problems else 'yes':<10}{app_ms:>14.2f}{db_ms:>10.2f}")
    for row in rows:
        for problem in row.problems:
            print(f"  round {row.round}: {problem}")
    by_round = {(type(row), row.round): row for row in rows}
    ratios = [by_round[Credits, n].rate / by_round[transfers.Row, n].rate for n in range(1, args.rounds + 1)
              if by_round[transfers.Row, n].rate]
    if ratios:
        value = statistics.median(ratios)
        print(f"\ncredits/s / uniform transfers/s: {value:.3f} median of [{', '.join(f'{r:.3f}' for r in ratios)}]"
              f" (target >= {TARGET}: {'met' if value >= TARGET else 'MISSED'})")
    doubles = sum(max(0, row.entries - row.n) for row in rows if isinstance(row, Credits))
    print(f"double credits: {doubles}; money conserved: {'yes' if all(not r.problems for r in rows) else 'no'}"
          f" (drift {sum(abs(row.drift) for row in rows)})")


def main(argv=None) -> int:
    args = parse_args(argv)
    database, url = h.create_database()
    server = None
    try:
        port = h.free_port()
        log = Path(tempfile.gettempdir()) / f"{database}-gunicorn.log"
        print(f"database {database}; gunicorn 127.0.0.1:{port}, {args.workers} sync workers (log {log})", flush=True)
        server = h.start_gunicorn(url, port, args.workers, 1, log)
        parties = transfers.setup(url, database, port, args.wallets)
        rows = []
        for number in range(1, args.rounds + 1):
            rows.append(deliver(number, args, url, database, port, server.pid, parties))
            rows.append(transfers.measure("uniform", number, args, url, database, port, server.pid, parties))
        report(rows, args)
        return 0 if all(not row.problems for row in rows) else 1
    finally:
        if server is not None:
            h.stop_gunicorn(server)
        h.drop_database(database)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # main's finally has already stopped gunicorn and dropped the database
        print("\ninterrupted; gunicorn stopped and the database dropped", file=sys.stderr)
        sys.exit(130)
