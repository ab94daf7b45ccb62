"""Payout benchmark: withdrawals requested over HTTP under gunicorn on MariaDB at a steady rate (an open
loop), paid out by real `ewallet worker` processes on Redis through the sandbox bank. See bench/README.md.

    .venv/bin/python bench/payouts.py [--rate 50] [--seconds 10] [--workers 2] [--users 50] [--find-max]

Setup (untimed): a database built by the migrations, gunicorn on a free loopback port with REDIS_URL and a
JOB_QUEUE of its own, --users users signed up through the API, marked KYC-verified, funded, each with a
sandbox US bank account (ending 6789: pays at once), and --workers `ewallet worker` processes (each with
RQ's scheduler, forking a work horse per job, as in production).

A run sends rate × seconds POST /api/v1/payouts/bank at fixed times (request i at t0 + i/rate, from a pool
of threads, whatever the answers: an open loop, so a slow server meets the same demand), then waits until
every payout is paid or failed. Request-to-paid runs from a request's scheduled send time to the paid
payout's updated_at (the same clock). Targets (issue 11): the payouts queue empty within 2 s of the last
request, p99 request-to-paid <= 2 s, none lost (every 201 ends paid), none paid twice (one `payout` entry
per paid payout), money conserved (Σ wallets + payouts in flight unchanged, the app's reconciliation
passes). --find-max then raises the rate until a run misses a target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]  # the _harness helpers, and the webapp of this tree

import _harness as h  # noqa: E402
from redis import Redis  # noqa: E402

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
EWALLET = str(Path(sys.executable).parent / "ewallet")
TARGETS = {"drain_s": 2.0, "p99_s": 2.0}


@dataclass
class Run:
    rate: float
    seconds: float
    sent: list[tuple[float, int, str | None]] = field(default_factory=list)  # (scheduled epoch, status, payout id)
    answered: list[float] = field(default_factory=list)  # s from each request's scheduled time to its answer
    last_sent: float = 0.0  # epoch the last request was answered
    queue_empty_after: float | None = None  # s after last_sent
    all_final_after: float | None = None  # s after last_sent
    paid: dict[str, float] = field(default_factory=dict)  # payout id → request-to-paid seconds
    failed: int = 0
    pending: int = 0  # neither paid nor failed when the wait gave up: lost, as far as this run can tell
    problems: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return sum(1 for _, status, _ in self.sent if status == 201)

    def percentile(self, q: float) -> float:
        values = sorted(self.paid.values())
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

    @property
    def meets_targets(self) -> bool:
        return (not self.problems and self.pending == 0 and self.failed == 0 and self.queue_empty_after is not None
                and self.queue_empty_after <= TARGETS["drain_s"] and self.percentile(0.99) <= TARGETS["p99_s"])


def main() -> None:
    args = parse_args()
    name, url = h.create_database()
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    extra = {"REDIS_URL": REDIS_URL, "JOB_QUEUE": prefix, "PAYOUT_RETRY_BASE": "1"}
    base_env = h.server_env
    h.server_env = lambda database_url: {**base_env(database_url), **extra}  # gunicorn queues on Redis
    log = Path(tempfile.gettempdir()) / f"ewallet-bench-payouts-{prefix}.log"
    server, workers = None, []
    try:
        port = h.free_port()
        server = h.start_gunicorn(url, port, args.gunicorn_workers, 1, log)
        users = prepare_users(port, url, name, args.users)
        workers = start_workers(url, args.workers, log)
        wait_for_workers(prefix, args.workers)
        print(f"gunicorn {args.gunicorn_workers} sync workers, {args.workers} RQ workers, {args.users} users; "
              f"log {log}", flush=True)
        rates = [args.rate] if not args.find_max else [args.rate * m for m in (1, 1.5, 2, 2.5, 3, 4)]
        results = []
        for rate in rates:
            run = one_run(port, name, url, users, prefix, rate, args.seconds, workers, server)
            results.append(run)
            report(run)
            if args.find_max and not run.meets_targets:
                break
        summary(results)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        if server is not None:
            h.stop_gunicorn(server)
        h.drop_database(name)
        forget(prefix)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50, help="payout requests per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2, help="ewallet worker processes")
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--find-max", action="store_true", help="raise the rate until a target is missed")
    return parser.parse_args()


# -- setup ----------------------------------------------------------------------------------------------


def prepare_users(port: int, url: str, database: str, n: int) -> list[tuple[str, str, str]]:
    """(token, wallet id, bank account id) per user: signed up, verified, funded, with a sandbox account."""
    tokens = h.register(port, n)
    with h.server_connection(database) as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE users SET kyc_status = 'verified'")
    parties = h.fund(url, database, tokens)

    def account(party: h.Party) -> tuple[str, str, str]:
        body = {"account_holder_name": "Bench Saver", "account_number": f"{random.randrange(10**7):07d}006789",
                "routing_number": "110000000", "currency": "USD", "country": "US"}
        status, answer = h.request(port, "POST", "/api/v1/bank-accounts", body, party.token)
        if status != 201:
            raise RuntimeError(f"bank account: {status} {answer}")
        return party.token, party.wallet_id, answer["data"]["bank_account"]["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(account, parties))


def start_workers(url: str, n: int, log: Path) -> list[subprocess.Popen]:
    env = h.server_env(url)
    with log.open("ab") as sink:
        return [subprocess.Popen([EWALLET, "worker"], env=env, stdout=sink, stderr=subprocess.STDOUT,
                                 start_new_session=True) for _ in range(n)]


def wait_for_workers(prefix: str, n: int, timeout: float = 60) -> None:
    from rq import Worker

    from webapp.background import queue_for

    queue = queue_for({"REDIS_URL": REDIS_URL, "JOB_QUEUE": prefix}, "payouts")
    deadline = time.monotonic() + timeout
    while len(Worker.all(queue=queue)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("the RQ workers did not start")
        time.sleep(0.2)


# -- one run --------------------------------------------------------------------------------------------


def one_run(port, database, url, users, prefix, rate, seconds, workers, server) -> Run:
    run = Run(rate, seconds)
    before = money(database)
    cpu_before, meter = group_cpu(workers), h.CpuMeter(server.pid)
    total = int(rate * seconds)
    lock = threading.Lock()

    def send(i: int, due: float) -> None:
        token, wallet_id, account_id = users[i % len(users)]
        body = {"wallet_id": wallet_id, "bank_account_id": account_id, "amount": random.randint(100, 10_000),
                "idempotency_key": uuid.uuid4().hex}
        try:
            status, answer = h.request(port, "POST", "/api/v1/payouts/bank", body, token)
        except OSError:
            status, answer = 0, {}
        payout_id = answer.get("data", {}).get("payout", {}).get("id") if status == 201 else None
        with lock:
            run.sent.append((due, status, payout_id))
            run.answered.append(time.time() - due)
            run.last_sent = max(run.last_sent, time.time())

    start = time.time() + 0.5
    with ThreadPoolExecutor(64) as pool:
        for i in range(total):
            due = start + i / rate
            time.sleep(max(0.0, due - time.time()))
            pool.submit(send, i, due)
    wait_until_done(run, database, prefix)
    used = meter.stop(client_cpu=0.0)
    run.cpu = {"workers": group_cpu(workers) - cpu_before, "gunicorn": used["server"], "db": used["db"],
               "machine": used["machine"], "wall": used["wall"]}
    check_money(run, database, url, before)
    return run


def wait_until_done(run: Run, database: str, prefix: str, timeout: float = 60) -> None:
    from webapp.background import queue_for

    queue = queue_for({"REDIS_URL": REDIS_URL, "JOB_QUEUE": prefix}, "payouts")
    ids = {pid for _, status, pid in run.sent if pid}
    deadline = time.time() + timeout
    while time.time() < deadline:
        if run.queue_empty_after is None and queue.count == 0:
            run.queue_empty_after = max(0.0, time.time() - run.last_sent)
        states = payout_states(database, ids)
        if all(status in ("paid", "failed") for status, _ in states.values()):
            run.all_final_after = time.time() - run.last_sent
            if run.queue_empty_after is None:  # emptied between two looks: no later than now
                run.queue_empty_after = run.all_final_after
            break
        time.sleep(0.05)
    due = {pid: scheduled for scheduled, _, pid in run.sent if pid}
    for payout_id, (status, updated) in payout_states(database, ids).items():
        if status == "paid":
            run.paid[payout_id] = updated.replace(tzinfo=UTC).timestamp() - due[payout_id]
        elif status == "failed":
            run.failed += 1
        else:
            run.pending += 1


def payout_states(database: str, ids: set[str]) -> dict:
    with h.server_connection(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, status, updated_at FROM payouts")
        return {pid: (status, updated) for pid, status, updated in cursor.fetchall() if pid in ids}


def money(database: str) -> int:
    """Σ wallet balances + Σ payouts in flight, minor units: payouts move money between the two only."""
    with h.server_connection(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(balance), 0) FROM wallets")
        wallets = int(cursor.fetchone()[0])
        cursor.execute("SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
                       "WHERE a.code LIKE 'house:payouts_in_flight:%'")
        return wallets + int(cursor.fetchone()[0])


def check_money(run: Run, database: str, url: str, before: int) -> None:
    if money(database) != before:
        run.problems.append(f"drift {money(database) - before}")
    with h.server_connection(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT paid_entry_id) FROM payouts WHERE status = 'paid'")
        paid, entries = cursor.fetchone()
        cursor.execute("SELECT COUNT(*) FROM journal_entries WHERE kind = 'payout'")
        (payout_entries,) = cursor.fetchone()
        cursor.execute("SELECT COALESCE(SUM(reserved), 0) FROM wallets")
        (reserved,) = cursor.fetchone()
    if paid != entries or payout_entries != paid:
        run.problems.append(f"{paid} paid, {entries} distinct entries, {payout_entries} payout entries")
    if run.pending == 0 and int(reserved) != 0:
        run.problems.append(f"{reserved} still reserved with every payout ended")
    if not h.reconcile_ok(url):
        run.problems.append("reconciliation failed")


def group_cpu(processes: list[subprocess.Popen]) -> float:
    """CPU seconds of the workers, their live work horses and the horses they have reaped."""
    total = 0.0
    for process in processes:
        for pid in [process.pid, *h.children(process.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(value) for value in fields[11:15]) / h.CLK_TCK  # utime stime cutime cstime
    return total


# -- output ---------------------------------------------------------------------------------------------


def report(run: Run) -> None:
    statuses: dict[int, int] = {}
    for _, status, _ in run.sent:
        statuses[status] = statuses.get(status, 0) + 1
    span = max(run.paid.values(), default=0) + run.seconds
    print(f"\nrate {run.rate:g}/s for {run.seconds:g} s: {len(run.sent)} requests {dict(sorted(statuses.items()))}")
    print(f"  paid {len(run.paid)} ({len(run.paid) / span:.1f}/s over {span:.1f} s), failed {run.failed}, "
          f"not ended {run.pending}")
    print(f"  request-to-paid p50 {run.percentile(0.5):.2f} s, p99 {run.percentile(0.99):.2f} s, "
          f"max {max(run.paid.values(), default=float('nan')):.2f} s")
    drained = "never" if run.queue_empty_after is None else f"{run.queue_empty_after:.2f} s"
    final = "never" if run.all_final_after is None else f"{run.all_final_after:.2f} s"
    print(f"  after the last request: queue empty {drained}, every payout ended {final}")
    answered = sorted(run.answered)
    print(f"  request answered (from its scheduled time) p50 {answered[len(answered) // 2]:.3f} s, "
          f"p99 {answered[int(0.99 * len(answered))]:.3f} s")
    cpu, n = run.cpu, max(len(run.paid), 1)
    print(f"  CPU ms per payout: RQ workers {1000 * cpu['workers'] / n:.1f}, "
          f"gunicorn {1000 * cpu['gunicorn'] / n:.1f}, mariadbd {1000 * cpu['db'] / n:.1f}; "
          f"machine busy {cpu['machine'] / cpu['wall']:.2f} of 2 cores")
    print(f"  money conserved: {'yes' if not run.problems else 'NO: ' + '; '.join(run.problems)}; "
          f"targets {'met' if run.meets_targets else 'MISSED'}")


def summary(results: list[Run]) -> None:
    passing = [run.rate for run in results if run.meets_targets]
    print(f"\nhighest rate meeting the targets: {max(passing) if passing else 'none'} /s "
          f"(p99 median over runs {statistics.median(r.percentile(0.99) for r in results):.2f} s)")


def forget(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    for key in list(redis.scan_iter(f"rq:*{prefix}*")) + list(redis.scan_iter(f"{prefix}-periodic-*")):
        redis.delete(key)


if __name__ == "__main__":
    main()
