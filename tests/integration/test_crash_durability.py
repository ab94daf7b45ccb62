"""Acknowledged means durable (issue 10, point 3). The app is served over real HTTP by werkzeug against a
private MariaDB (tests/throwaway_mariadb.py, innodb_flush_log_at_trx_commit=1). Clients send transfers with
idempotency keys while the database is SIGKILLed, left down, and started again on the same datadir; the
app is never restarted. Every transfer answered 201 must then be in the ledger once, every request without
a definite answer is resent with its key and applies exactly once, and the books still balance."""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.conftest import Wallets, make_test_app
from tests.throwaway_mariadb import ThrowawayMariaDB
from webapp.extensions import new_uow
from webapp.migrate import upgrade
from webapp.models import IdempotencyKey, JournalEntry, Transaction, Wallet
from webapp.services import audit, reconciliation

CLIENTS = 6  # one sending user each; every user also receives
FUNDING = 1_000_000  # minor units per user: no transfer here can be refused for funds or limits
DOWN = 1.5  # seconds the database stays dead
# Load before the kill and after recovery: at least this long and this many 201s (a busy machine is slower).
PHASE_SECONDS, PHASE_ACKS, PHASE_LIMIT = 2.0, 50, 15.0
POLL = 0.05  # seconds between /readyz probes


@dataclass
class Sent:
    sender: object  # tests.conftest.ApiUser
    body: dict
    started: float
    ended: float
    status: int | None  # None: no answer at all (connection reset, timeout)
    tx_id: str | None = None

    @property
    def definite(self) -> bool:
        """201 applied it, a 4xx refused it; a 5xx or silence leaves the client not knowing."""
        return self.status is not None and self.status < 500


class LogTally(logging.Handler):
    """Counts what the app logs (retries, give-ups, errors by exception type) instead of printing hundreds
    of lines and tracebacks; the counts go into the figures."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.kinds: Counter[str] = Counter()

    def emit(self, record):
        if record.name == "ewallet.access":
            return
        kind = record.exc_info[0] if record.exc_info else None
        self.kinds[getattr(record, "event", None) or (kind and kind.__name__) or record.getMessage()[:40]] += 1


@dataclass
class Setup:
    server: ThrowawayMariaDB
    app: object
    port: int
    logged: LogTally
    boot_seconds: float
    migrate_seconds: float


@pytest.fixture()
def crashable():
    """A throw-away MariaDB migrated to head, and the app on it served over HTTP on a free port."""
    started = time.monotonic()
    with ThrowawayMariaDB() as server:
        booted = time.monotonic()
        url = server.create_database("ewallet")
        upgrade(url)
        migrated = time.monotonic()
        app = make_test_app(url, TESTING=False, MAIL_URL="dummy:")
        root, tally = logging.getLogger(), LogTally()
        json_to_stderr = root.handlers[:]  # what create_app just installed
        root.handlers[:] = [tally]
        http_server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=http_server.serve_forever, name="crash-test-server", daemon=True)
        thread.start()
        try:
            yield Setup(server, app, http_server.server_port, tally, booted - started, migrated - booted)
        finally:
            http_server.shutdown()
            thread.join(timeout=10)
            app.extensions["ewallet.db"].dispose()
            root.handlers[:] = json_to_stderr


def request(port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    """(status, parsed JSON) or (None, None) when the request got no answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    except (OSError, http.client.HTTPException, ValueError):
        return None, None
    finally:
        connection.close()


def send(port: int, sender, body: dict) -> Sent:
    started = time.monotonic()
    status, answer = request(port, "POST", "/api/v1/transfers", body, {"Authorization": f"Bearer {sender.token}"})
    tx_id = answer["data"]["transaction"]["id"] if status == 201 else None
    return Sent(sender, body, started, time.monotonic(), status, tx_id)


def drive(port: int, users: list, wallet_ids: dict, stop: threading.Event, sent: list[Sent]) -> list[threading.Thread]:
    """One client thread per user, each sending small transfers to random others until `stop`."""

    def client(sender):
        others = [u for u in users if u is not sender]
        while not stop.is_set():
            body = {"from_wallet_id": wallet_ids[sender.id], "to_email": random.choice(others).email,
                    "amount": random.randint(1, 99), "currency": "USD", "idempotency_key": uuid.uuid4().hex}
            sent.append(send(port, sender, body))  # list.append is atomic under the GIL

    threads = [threading.Thread(target=client, args=(user,), name=f"client-{n}") for n, user in enumerate(users)]
    for thread in threads:
        thread.start()
    return threads


def watch_readiness(port: int, stop: threading.Event, probes: list) -> threading.Thread:
    def probe():
        while not stop.is_set():
            started = time.monotonic()
            status, _ = request(port, "GET", "/readyz")
            probes.append((started, time.monotonic(), status))
            time.sleep(POLL)

    thread = threading.Thread(target=probe, name="readyz-probe")
    thread.start()
    return thread


def wait_ready(port: int, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if request(port, "GET", "/readyz")[0] == 200:
            return time.monotonic()
        time.sleep(POLL)
    raise AssertionError(f"/readyz not 200 within {timeout:.0f}s of the database's restart")


def keep_loading(sent: list[Sent], since: float) -> None:
    """Return once the load has run PHASE_SECONDS and earned PHASE_ACKS 201s since `since`, or at PHASE_LIMIT."""
    time.sleep(PHASE_SECONDS)
    deadline = since + PHASE_LIMIT
    while sum(s.status == 201 and s.started >= since for s in sent) < PHASE_ACKS and time.monotonic() < deadline:
        time.sleep(0.1)


def resend_until_definite(port: int, original: Sent, attempts: int = 5) -> Sent:
    """The same body and key again, as a client that heard nothing (or a 5xx) must do."""
    for _ in range(attempts):
        again = send(port, original.sender, original.body)
        if again.definite:
            return again
        time.sleep(0.5)
    return again


def ledger_state(app) -> dict:
    with app.app_context(), new_uow() as uow:
        session = uow.session
        keys = {(user_id, key): result_id for user_id, key, result_id in session.execute(
            select(IdempotencyKey.user_id, IdempotencyKey.key, IdempotencyKey.result_id)
            .where(IdempotencyKey.operation == "transfer"))}
        sides = Counter(session.scalars(select(Transaction.direction).where(Transaction.kind == "transfer")))
        debits = set(session.scalars(select(Transaction.id).where(Transaction.kind == "transfer",
                                                                  Transaction.direction == "debit")))
        entries = session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == "transfer"))
        balances = dict(session.execute(select(Wallet.user_id, Wallet.balance)).all())
    return {"keys": keys, "sides": sides, "debits": debits, "entries": entries, "balances": balances}


def expected_balances(users: list, acknowledged: dict) -> dict:
    by_email = {u.email: u.id for u in users}
    balances = {u.id: FUNDING for u in users}
    for sender_id, body in acknowledged.values():
        balances[sender_id] -= body["amount"]
        balances[by_email[body["to_email"]]] += body["amount"]
    return balances


@dataclass
class Timeline:
    killed: float
    restarted: float
    accepting: float  # mariadbd took logins again
    ready: float  # the app's /readyz answered 200


def crash_under_load(setup: Setup, users: list, sent: list[Sent], probes: list) -> Timeline:
    """Load, SIGKILL, DOWN seconds dead, restart on the same datadir, wait for /readyz, load again."""
    wallet_ids = {u.id: u.wallet()["id"] for u in users}
    stop_load, stop_probe = threading.Event(), threading.Event()
    load_started = time.monotonic()
    clients = drive(setup.port, users, wallet_ids, stop_load, sent)
    prober = watch_readiness(setup.port, stop_probe, probes)
    try:
        keep_loading(sent, since=load_started)
        killed = time.monotonic()
        setup.server.kill()
        assert request(setup.port, "GET", "/readyz")[0] == 503  # at once, whatever the prober manages to see
        time.sleep(max(0.0, killed + DOWN - time.monotonic()))
        restarted = time.monotonic()
        setup.server.start()
        accepting = time.monotonic()
        ready = wait_ready(setup.port)
        keep_loading(sent, since=ready)
    finally:
        stop_load.set()
        stop_probe.set()
        for thread in [*clients, prober]:
            thread.join(timeout=60)
    return Timeline(killed, restarted, accepting, ready)


def assert_ledger_holds_exactly(app, users: list, final: list[Sent]) -> None:
    """Each 201 by its transaction id and key, once; nothing else; balances and books consistent."""
    state = ledger_state(app)
    acknowledged = {(s.sender.id, s.body["idempotency_key"]): (s.sender.id, s.body) for s in final}
    lost = [(s.body["idempotency_key"], s.tx_id) for s in final
            if state["keys"].get((s.sender.id, s.body["idempotency_key"])) != s.tx_id or s.tx_id not in state["debits"]]
    assert lost == [], f"answered 201 but not in the ledger: {lost[:10]}"
    assert set(state["keys"]) == set(acknowledged)
    assert set(state["keys"].values()) == state["debits"]  # no transfer row without its key, none twice
    assert state["sides"] == {"debit": len(acknowledged), "credit": len(acknowledged)}
    assert state["entries"] == len(acknowledged)
    assert state["balances"] == expected_balances(users, acknowledged)
    assert sum(state["balances"].values()) == FUNDING * CLIENTS
    with app.app_context():
        report = reconciliation.reconcile(new_uow())
        assert report.ok, (report.drifts, report.unbalanced_currencies)
        assert audit.verify(new_uow()) is None


def figures(setup: Setup, t: Timeline, sent: list[Sent], down_probes: list, unsure: list, had_committed: int) -> str:
    outage = [s for s in sent if s.started < t.ready and s.ended > t.killed]
    first_201 = min((s.ended for s in sent if s.status == 201 and s.started > t.restarted), default=float("nan"))
    return (f"crash figures: boot {setup.boot_seconds:.2f}s, migrations {setup.migrate_seconds:.2f}s | "
            f"201 before kill {sum(s.status == 201 and s.ended < t.killed for s in sent)}, "
            f"after {sum(s.status == 201 and s.ended >= t.killed for s in sent)} | "
            f"in flight at kill {sum(s.started < t.killed < s.ended for s in sent)}, requests in outage "
            f"{len(outage)} {dict(Counter(str(s.status) for s in outage))} | down {t.restarted - t.killed:.2f}s, "
            f"mariadbd accepting {t.accepting - t.restarted:.2f}s, /readyz 200 {t.ready - t.restarted:.2f}s, "
            f"first 201 {first_201 - t.restarted:.2f}s after restart | resent {len(unsure)} ({had_committed} had "
            f"committed) | /readyz probes while down {len(down_probes)} | app logged {dict(setup.logged.kinds)}")


def test_acknowledged_transfers_survive_a_database_crash(crashable):
    setup, began = crashable, time.monotonic()
    wallets = Wallets(setup.app, setup.app.test_client())
    users = [wallets.user(balance=FUNDING) for _ in range(CLIENTS)]
    sent: list[Sent] = []
    probes: list[tuple[float, float, int | None]] = []

    t = crash_under_load(setup, users, sent, probes)

    # Every request without a definite answer is sent again with its key, as a client must.
    unsure = [s for s in sent if not s.definite]
    committed = ledger_state(setup.app)["keys"]
    had_committed = sum((s.sender.id, s.body["idempotency_key"]) in committed for s in unsure)
    resent = [resend_until_definite(setup.port, s) for s in unsure]
    final = [s for s in sent if s.definite] + resent
    down_probes = [status for started, ended, status in probes if t.killed < started and ended < t.restarted]
    print(f"\n{figures(setup, t, sent, down_probes, unsure, had_committed)} | test {time.monotonic() - began:.1f}s")

    # The app recovered by itself: /readyz said 503 all the while the database was down, then 200.
    assert set(down_probes) <= {503}, Counter(down_probes)
    assert any(status == 200 for started, _, status in probes if started > t.restarted)
    assert Counter(s.status for s in final) == {201: len(sent)}, Counter((s.status, s.tx_id is None) for s in final)
    assert_ledger_holds_exactly(setup.app, users, final)
    # Last, the property the unit of work's retries add (issue 10, points 1-2): no request answered 500.
    answered_5xx = Counter(s.status for s in sent + resent if s.status is not None and s.status >= 500)
    assert 500 not in answered_5xx, answered_5xx
