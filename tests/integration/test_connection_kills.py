"""The database kills the app's connections under load (a failover, a restart, an operator's KILL): no
request is answered 500, a request resent with its key after a 503 moves money once, and the books
balance. Real threads, the real MariaDB, `KILL <id>` from a connection of its own."""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import Counter

import pymysql
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.conftest import PASSWORD, make_test_app
from webapp.extensions import new_uow
from webapp.models import Transaction, Wallet
from webapp.services import audit, idempotency, reconciliation

CLIENTS = 12
SENDERS = 6
LOAD_SECONDS = 6.0
KILL_EVERY = (0.10, 0.15)  # seconds between kills
MAX_SENDS = 30  # of one request before the test calls it lost


class EventCounter(logging.Handler):
    """Counts webapp.db's events: db.retry per rerun, db.commit_lost per COMMIT settled by its key."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[getattr(record, "event", None)] += 1


class Killer(threading.Thread):
    """Every 100–150 ms, KILL one of the app's connections to the test database, idle or busy."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        url = make_url(database_url)
        self.database = url.database
        self.connection = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username or "root",
                                          password=url.password or "", autocommit=True)
        self.stop, self.kills = threading.Event(), 0

    def run(self) -> None:
        with self.connection.cursor() as cursor:
            while not self.stop.wait(random.uniform(*KILL_EVERY)):
                cursor.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
                               (self.database,))
                ids = [row[0] for row in cursor.fetchall()]
                if not ids:
                    continue
                try:
                    cursor.execute(f"KILL {random.choice(ids)}")
                    self.kills += 1
                except pymysql.err.OperationalError:  # 1094: it ended on its own in between
                    pass
        self.connection.close()


@pytest.fixture()
def replays(monkeypatch):
    """How many claims found their key taken: answers replayed from a stored result."""
    taken = Counter()
    claim = idempotency.claim

    def counting_claim(uow, **kwargs):
        try:
            return claim(uow, **kwargs)
        except idempotency.KeyTaken:
            taken["replays"] += 1
            raise

    monkeypatch.setattr(idempotency, "claim", counting_claim)
    return taken


def send_until_answered(client, sender, recipient, amount: int, outcomes: Counter) -> tuple[str, object]:
    """POST one transfer; resend it with the same key while the answer is 503 (no definite answer)."""
    body = {"from_wallet_id": sender.wallet_id, "to_email": recipient.email, "amount": amount, "currency": "USD",
            "idempotency_key": uuid.uuid4().hex}
    for _ in range(MAX_SENDS):
        response = client.post("/api/v1/transfers", json=body, headers=sender.headers)
        outcomes["requests"] += 1
        outcomes[response.status_code] += 1
        if response.status_code != 503:
            data = response.get_json()
            return body["idempotency_key"], (response.status_code, data["data"]["transaction"]["id"]
                                             if response.status_code == 201 else data["error"]["code"])
        if not (response.headers.get("Retry-After") and response.get_json()["error"]["details"]["correlation_id"]):
            outcomes["503 without Retry-After or correlation id"] += 1
        outcomes["resent"] += 1
        time.sleep(0.05)  # a real client waits Retry-After; the test has no seconds to spare
    return body["idempotency_key"], "no answer"


def test_killed_connections_cost_no_500_and_no_double_transfer(app, wallets, database_url, replays):
    people = [wallets.user(balance=1_000_000) for _ in range(SENDERS)]
    for person in people:
        person.wallet_id = person.wallet()["id"]
    wallet_ids = [person.wallet_id for person in people]
    with app.app_context(), new_uow() as uow:
        total_before = uow.session.scalar(select(func.sum(Wallet.balance)).where(Wallet.id.in_(wallet_ids)))
    events = EventCounter()
    logging.getLogger("webapp.db").addHandler(events)
    outcomes, answers, lock = Counter(), {}, threading.Lock()
    deadline = time.monotonic() + LOAD_SECONDS

    def client_thread() -> None:
        client, mine = app.test_client(), Counter()
        try:
            while time.monotonic() < deadline:
                sender, recipient = random.sample(people, 2)
                key, answer = send_until_answered(client, sender, recipient, random.randint(1, 500), mine)
                with lock:
                    answers[key] = answer
        except Exception as error:  # noqa: BLE001 - counted and asserted below, not lost in a thread
            mine[f"raised {error!r}"] += 1
        with lock:
            outcomes.update(mine)

    killer = Killer(database_url)
    threads = [threading.Thread(target=client_thread) for _ in range(CLIENTS)]
    killer.start()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        killer.stop.set()
        killer.join(timeout=5)
        logging.getLogger("webapp.db").removeHandler(events)

    server_errors = sum(n for status, n in outcomes.items() if isinstance(status, int) and status >= 500)
    print(f"\nconnection kills: {outcomes['requests']} requests, {killer.kills} kills, {server_errors} 5xx "
          f"({outcomes[503]} 503, {outcomes[500]} 500), {outcomes['resent']} resent, {events.counts['db.retry']} "
          f"retries, {events.counts['db.commit_lost']} commits settled by key, {replays['replays']} replays")
    assert outcomes[500] == 0 and killer.kills >= 20
    assert set(outcomes) <= {"requests", "resent", 201, 503}, outcomes
    assert all(isinstance(a, tuple) and a[0] == 201 for a in answers.values()), Counter(map(str, answers.values()))
    sent_ids = [transaction_id for _, transaction_id in answers.values()]
    with app.app_context(), new_uow() as uow:
        total_after = uow.session.scalar(select(func.sum(Wallet.balance)).where(Wallet.id.in_(wallet_ids)))
        debits = uow.session.scalars(select(Transaction.id).where(
            Transaction.kind == "transfer", Transaction.direction == "debit",
            Transaction.wallet_id.in_(wallet_ids))).all()
    assert total_after == total_before
    assert sorted(debits) == sorted(sent_ids)  # each key made one transfer, and its answer names it
    with app.app_context():
        report = reconciliation.reconcile(new_uow())
        assert report.ok, report.drifts
        assert audit.verify(new_uow()) is None


def test_a_page_that_cannot_reach_the_database_says_so_in_words(app, wallets):
    """A signed-in person's next click can't check their session: a 503 page in plain words, with
    Retry-After and the reference, never a 500."""
    person = wallets.user()
    signed_in = app.test_client()
    assert signed_in.post("/login", data={"email": person.email, "password": PASSWORD}).status_code == 303
    down = make_test_app("mysql+pymysql://root@127.0.0.1:9/nowhere", DB_RETRY_BUDGET=0.1).test_client()
    down.set_cookie("session", signed_in.get_cookie("session").value)

    page = down.get("/")
    assert page.status_code == 503 and page.headers["Retry-After"]
    html = page.get_data(as_text=True)
    assert "reach our records right now" in html and "Nothing was sent twice" in html
    assert page.headers["X-Request-ID"] in html
    api = down.get("/api/v1/wallets", headers=person.headers)
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert api.get_json()["error"]["details"]["correlation_id"] == api.headers["X-Request-ID"]
