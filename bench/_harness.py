"""Setup and teardown for the transfer benchmark: a throwaway MariaDB database, gunicorn on a free loopback
port, funded users with access tokens, ledger checks, and CPU accounting read from /proc."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pymysql
from sqlalchemy.engine import make_url

from webapp.db import UnitOfWork
from webapp.extensions import Database
from webapp.migrate import upgrade
from webapp.money import Money
from webapp.services import adjustments, reconciliation

REPO = Path(__file__).resolve().parent.parent
# The server the tests use (tests/conftest.py): root without a password unless TEST_MYSQL_URL names another.
MYSQL_SERVER = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
PASSWORD = "bench-password-" + "x" * 16
FUNDING = 10_000_000_00  # minor units per wallet: ten million USD, far more than any run can drain
UNLIMITED = "*:100000000"  # major units: the limits are not what this benchmark measures
# Every per-transaction and daily limit of both KYC tiers (webapp/config.limit_table) out of reach, and the
# "many new recipients" risk rule off (its check is a job after each transfer's commit: services/risk.py).
OUT_OF_REACH = {**{f"LIMIT_{cell}_{kind}": UNLIMITED for kind in ("PER_TX", "DAILY")
                   for cell in ("UNVERIFIED_DEPOSIT", "UNVERIFIED_SEND", "VERIFIED_DEPOSIT", "VERIFIED_SEND",
                                "VERIFIED_PAYOUT")},
                "RISK_NEW_RECIPIENTS_COUNT": "0"}
WEBHOOK_SECRET = "whsec_bench_" + uuid.uuid4().hex  # signs bench/deposits.py's webhook events
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Party:
    """One funded user as both load generators need it: API token, wallet and ledger ids."""

    user_id: str
    token: str
    wallet_id: str
    account_id: int


# -- database -------------------------------------------------------------------------------------------


def server_connection(database: str | None = None, autocommit: bool = True) -> pymysql.Connection:
    url = make_url(MYSQL_SERVER)
    return pymysql.connect(host=url.host, port=url.port or 3306, user=url.username or "root",
                           password=url.password or "", database=database, autocommit=autocommit, charset="utf8mb4")


def create_database() -> tuple[str, str]:
    """A fresh database built by the app's own migrations. Returns (name, SQLAlchemy URL)."""
    name = f"ewallet_bench_{uuid.uuid4().hex[:10]}"
    with server_connection() as connection:
        connection.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    url = f"{MYSQL_SERVER}/{name}?charset=utf8mb4"
    try:
        upgrade(url)
    except BaseException:
        drop_database(name)
        raise
    return name, url


def drop_database(name: str) -> None:
    with server_connection() as connection:
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")


# -- gunicorn -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(url: str) -> dict[str, str]:
    scratch = Path(tempfile.gettempdir()) / "ewallet-bench-instance"  # nothing is written there on MariaDB
    return {**os.environ, "DATABASE_URL": url, "EWALLET_ENV": "test", "SECRET_KEY": uuid.uuid4().hex * 2,
            "RATELIMIT_ENABLED": "false", "REDIS_URL": "", "JWT_ACCESS_TTL": "7200",
            "MAIL_URL": "dummy:",  # drop the "you received money" notices: one per transfer otherwise
            **OUT_OF_REACH, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "EWALLET_INSTANCE_DIR": str(scratch),
            "UPLOAD_DIR": str(scratch / "uploads"), "PYTHONPATH": str(REPO)}  # serve the tree this bench is in


def start_gunicorn(url: str, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    """gunicorn in its own session, so Ctrl-C reaches only us and `stop_gunicorn` decides how it ends."""
    worker_class = "gthread" if threads > 1 else "sync"
    command = [sys.executable, "-m", "gunicorn", "webapp:create_app()", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads), "--worker-class", worker_class,
               "--backlog", "256", "--keep-alive", "30", "--timeout", "60", "--no-control-socket"]
    with log.open("wb") as sink:
        server = subprocess.Popen(command, cwd=REPO, env=server_env(url), stdout=sink, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_ready(server, port, log)
    except BaseException:
        stop_gunicorn(server)
        raise
    return server


def wait_ready(server: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            status, _ = request(port, "GET", "/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready after {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # graceful: the master stops its workers
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def request(port: int, method: str, path: str, body: dict | None = None, token: str = "") -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


# -- users ----------------------------------------------------------------------------------------------


def register(port: int, n: int) -> dict[str, str]:
    """Sign up through the API; the response carries a session (the same token pair a login gives).
    Argon2 makes each sign-up ~0.1 s of server CPU, which is why this is setup, never timed."""

    def one(i: int) -> tuple[str, str]:
        email = f"bench-{i}-{uuid.uuid4().hex[:8]}@example.com"
        status, body = request(port, "POST", "/api/v1/auth/register",
                               {"email": email, "password": PASSWORD, "phone": f"+1415{2_000_000 + i}"})
        if status != 201:
            raise RuntimeError(f"register failed: {status} {body}")
        return body["data"]["user"]["id"], body["data"]["access_token"]

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, range(n)))


def fund(url: str, database: str, tokens: dict[str, str]) -> list[Party]:
    """Credit every wallet through the audited adjustments service, then read back the ledger ids."""
    db = Database(url)
    try:
        with server_connection(database) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT u.id, u.email, w.id, w.account_id FROM users u JOIN wallets w ON w.user_id = u.id"
                           " WHERE w.currency = 'USD' ORDER BY u.email")
            rows = cursor.fetchall()
        for _user_id, email, _wallet_id, _account_id in rows:
            adjustments.credit(UnitOfWork(db.session_factory), email=email, amount=Money(FUNDING, "USD"),
                               reason="benchmark funding")
    finally:
        db.dispose()
    return [Party(user_id, tokens[user_id], wallet_id, account_id) for user_id, _, wallet_id, account_id in rows]


# -- ledger checks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    total: int  # Σ wallet balances, minor units: transfers between wallets must leave it unchanged
    entries: int  # transfer journal entries so far


def snapshot(database: str) -> Snapshot:
    with server_connection(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(balance), 0) FROM wallets")
        total = int(cursor.fetchone()[0])
        cursor.execute("SELECT COUNT(*) FROM journal_entries WHERE kind = 'transfer'")
        return Snapshot(total, int(cursor.fetchone()[0]))


def reconcile_ok(url: str) -> bool:
    """The app's own proof: every cached balance equals its postings and all postings sum to zero."""
    db = Database(url)
    try:
        return reconciliation.reconcile(UnitOfWork(db.session_factory)).ok
    finally:
        db.dispose()


# -- CPU accounting -------------------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """utime + stime of one process, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def find_process(*names: str) -> int | None:
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() in names:
                return int(entry.name)
        except OSError:
            continue
    return None


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK  # less idle and iowait


class CpuMeter:
    """CPU seconds spent during one run by gunicorn (master + workers), mariadbd and the whole machine;
    the load generator reports its own. `other` is everything else on the machine (e.g. a test suite)."""

    def __init__(self, gunicorn: int):
        self.gunicorn, self.db = gunicorn, find_process("mariadbd", "mysqld")
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        server = sum(map(process_cpu, [self.gunicorn, *children(self.gunicorn)]))
        return {"server": server, "db": process_cpu(self.db) if self.db else 0.0, "machine": machine_busy(),
                "wall": time.monotonic()}

    def stop(self, client_cpu: float) -> dict[str, float]:
        end = self._sample()
        used = {key: end[key] - self.start[key] for key in end}
        used["client"] = client_cpu
        used["other"] = max(0.0, used["machine"] - used["server"] - used["db"] - client_cpu)
        return used
