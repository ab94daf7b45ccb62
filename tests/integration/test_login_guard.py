"""A stranger can neither lock a user out nor learn from a lockout that the account exists (issue 8, points
4 and 5): rate limits per account and client address together, also behind a proxy, and failed sign-ins
blocked per (email, address) pair, with one answer, in one time, for unknown, wrong and blocked."""

from __future__ import annotations

import hashlib
import random
import statistics
import time
from datetime import timedelta

import pytest
from flask_login import login_user
from sqlalchemy import select, update

from tests.conftest import PASSWORD, Wallets, make_test_app, unique_email
from tests.integration.test_api_support import rate_limited_app
from tests.mailbox import body
from webapp.extensions import new_uow, rate_limit_key
from webapp.models import AuditLog, LoginFailure
from webapp.models.base import utcnow
from webapp.services import audit
from webapp.services.accounts import LOGIN_REFUSED, RECOMMENDED
from webapp.web.session import WebUser

PROXY = "10.255.0.1"  # the TLS proxy every request arrives from when the app sits behind one


def address() -> str:
    return f"203.0.{random.randrange(256)}.{random.randrange(1, 255)}"


class Door:
    """Sign-in through the web form or the API, from one client address, directly or through a proxy."""

    def __init__(self, app, kind: str, client_address: str, *, proxied: bool = False):
        self.client, self.kind, self.address, self.proxied = app.test_client(), kind, client_address, proxied
        self.client.environ_base["REMOTE_ADDR"] = PROXY if proxied else client_address

    @property
    def headers(self) -> dict:
        """Through the proxy: whatever the client sent stays in front (here a new forged address each time)
        and the proxy appends the address it saw, the one ProxyFix trusts with PROXY_FIX_HOPS=1."""
        if not self.proxied:
            return {}
        return {"X-Forwarded-For": f"{address()}, {self.address}", "X-Forwarded-Proto": "https"}

    def login(self, email: str, password: str) -> int:
        """200 signed in, 401 refused, 429 rate limited."""
        if self.kind == "api":
            response = self.client.post("/api/v1/auth/login", json={"email": email, "password": password},
                                        headers=self.headers)
            return response.status_code
        response = self.client.post("/login", data={"email": email, "password": password}, headers=self.headers)
        if response.status_code != 303:
            return response.status_code
        return 200 if response.location == "/" else 401


@pytest.mark.parametrize("proxied", [False, True], ids=["direct", "behind-a-proxy"])
@pytest.mark.parametrize("kind", ["web", "api"])
def test_hammering_login_from_one_address_leaves_the_owner_at_another_working(database_url, wallets, kind, proxied):
    victim = wallets.user()
    with rate_limited_app(database_url, PROXY_FIX_HOPS=1 if proxied else 0) as app:
        attacker = Door(app, kind, address(), proxied=proxied)
        statuses = [attacker.login(victim.email, f"guess-number-{n}") for n in range(12)]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429], statuses
        assert attacker.login(unique_email("other"), "whatever-guess") == 401  # only that account, from there
        owner = Door(app, kind, address(), proxied=proxied)
        assert owner.login(victim.email, PASSWORD) == 200


def test_one_address_trying_many_accounts_is_limited_too(database_url):
    with rate_limited_app(database_url) as app:
        door = Door(app, "api", address())
        statuses = [door.login(unique_email("spray"), "guess-number-1") for _ in range(61)]
        assert statuses[:60] == [401] * 60 and statuses[60] == 429


def test_proxy_fix_hops_comes_from_the_settings(database_url, wallets, smtp_server):
    """PROXY_FIX_HOPS=1 is what makes create_app trust one proxy: address, scheme and host."""
    victim = wallets.user()
    app = make_test_app(database_url, PROXY_FIX_HOPS=1, LOGIN_MAX_FAILURES=3, MAIL_URL=smtp_server.url)
    try:
        attacker = Door(app, "api", address(), proxied=True)
        assert [attacker.login(victim.email, "guess-number-1") for _ in range(4)] == [401] * 4
        assert attacker.login(victim.email, PASSWORD) == 401  # blocked: that pair
        assert Door(app, "api", address(), proxied=True).login(victim.email, PASSWORD) == 200

        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = PROXY
        client.post("/forgot-password", data={"email": victim.email}, headers={
            "X-Forwarded-For": address(), "X-Forwarded-Proto": "https", "X-Forwarded-Host": "wallet.example"})
        assert "https://wallet.example/reset-password/" in body(smtp_server.wait_for(victim.email))
    finally:
        app.extensions["ewallet.db"].dispose()


@pytest.fixture()
def strict_app(database_url):
    app = make_test_app(database_url, LOGIN_MAX_FAILURES=3, LOGIN_LOCKOUT_SECONDS=600)
    yield app
    app.extensions["ewallet.db"].dispose()


@pytest.fixture()
def production_cost_app(database_url):
    """strict_app hashing at argon2's recommended cost, as production does: at the suite's cheap cost
    (tests/conftest.py) a skipped check would hide in the noise."""
    app = make_test_app(database_url, LOGIN_MAX_FAILURES=3, LOGIN_LOCKOUT_SECONDS=600,
                        ARGON2_TIME_COST=RECOMMENDED.time_cost, ARGON2_MEMORY_COST=RECOMMENDED.memory_cost)
    yield app
    app.extensions["ewallet.db"].dispose()


def answer(app, email: str, password: str, client_address: str) -> tuple[int, dict]:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = client_address
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code, response.json


def events(app, stream: str) -> list[tuple[str, dict]]:
    with app.app_context(), new_uow() as uow:
        rows = uow.session.scalars(select(AuditLog).where(AuditLog.stream == stream).order_by(AuditLog.seq))
        return [(row.event, row.data) for row in rows]


def test_failures_block_only_that_address_for_that_account_and_are_audited(strict_app, wallets):
    user, here, elsewhere = wallets.user(), address(), address()
    for _ in range(3):
        assert answer(strict_app, user.email, "guess-number-1", here)[0] == 401
    blocked = answer(strict_app, user.email, PASSWORD, here)  # the right password, from the blocked pair
    assert blocked[0] == 401 and blocked[1]["error"]["message"] == LOGIN_REFUSED
    assert answer(strict_app, user.email, PASSWORD, elsewhere)[0] == 200  # the owner, from elsewhere
    assert answer(strict_app, user.email, PASSWORD, here)[0] == 401  # still blocked there

    trail = [(event, data) for event, data in events(strict_app, audit.user_stream(user.id)) if "login" in event
             or event == "login_locked"]
    assert [event for event, _ in trail] == ["login", "login_failed", "login_failed", "login_failed", "login_locked",
                                             "login_failed", "login", "login_failed"]  # ApiUser signed in first
    assert trail[4][1]["address"] == here and [trail[5][1], trail[7][1]] == [{"reason": "locked"}] * 2
    assert trail[1][1] == {"reason": "password"}


def test_unknown_wrong_and_blocked_get_one_answer(strict_app, wallets):
    user, nobody, here = wallets.user(), unique_email("nobody"), address()
    for email in (user.email, nobody):
        for _ in range(3):
            answer(strict_app, email, "guess-number-1", here)
    answers = {
        "unknown": answer(strict_app, unique_email("nobody"), PASSWORD, here),
        "wrong": answer(strict_app, user.email, "guess-number-2", address()),
        "blocked with the right password": answer(strict_app, user.email, PASSWORD, here),
        "unknown and blocked": answer(strict_app, nobody, PASSWORD, here),
    }
    assert len({repr(a) for a in answers.values()}) == 1, answers
    assert ("login_locked", here) in [(event, data.get("address")) for event, data in events(strict_app, audit.SYSTEM)]


def test_unknown_wrong_and_blocked_take_about_the_same_time(production_cost_app):
    """Medians of interleaved runs: a blocked pair or an unknown email still pays for one Argon2 check,
    about half of an answer's time, so skipping it shows far beyond the bound (25 ms, or a fifth of the
    fastest median on a machine busy enough to stretch every answer). The person signs up at that cost too."""
    strict_app = production_cost_app
    user, blocked_at = Wallets(strict_app, strict_app.test_client()).user(), address()
    for _ in range(3):
        answer(strict_app, user.email, "guess-number-1", blocked_at)
    cases = {"unknown": lambda: (unique_email("nobody"), PASSWORD, address()),
             "wrong": lambda: (user.email, "guess-number-3", address()),
             "blocked": lambda: (user.email, PASSWORD, blocked_at)}
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(9):
        for name, make in cases.items():
            args = make()
            started = time.perf_counter()
            assert answer(strict_app, *args)[0] == 401
            timings[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    assert max(medians.values()) - min(medians.values()) < max(25, min(medians.values()) / 5), medians


def test_failures_are_kept_under_a_hash_of_the_normalised_email_and_the_address(strict_app):
    email, here = unique_email("stored"), address()
    answer(strict_app, email.upper(), "guess-number-1", here)  # counted under the email as sign-up stores it
    with strict_app.app_context(), new_uow() as uow:
        row = uow.session.get(LoginFailure, hashlib.sha256(f"{email}|{here}".encode()).hexdigest())
    assert row is not None and row.failures == 1


def test_a_block_ends_and_old_failures_fall_out_of_the_window(strict_app, wallets):
    user, here = wallets.user(), address()
    key = hashlib.sha256(f"{user.email}|{here}".encode()).hexdigest()
    for _ in range(3):
        answer(strict_app, user.email, "guess-number-1", here)
    assert answer(strict_app, user.email, PASSWORD, here)[0] == 401
    _set_failures(strict_app, key, locked_until=utcnow() - timedelta(seconds=1))
    assert answer(strict_app, user.email, PASSWORD, here)[0] == 200  # and the success clears the count

    for _ in range(2):
        answer(strict_app, user.email, "guess-number-1", here)
    _set_failures(strict_app, key, first_failed_at=utcnow() - timedelta(seconds=601))
    answer(strict_app, user.email, "guess-number-1", here)  # the first of a new window, not the third
    assert answer(strict_app, user.email, PASSWORD, here)[0] == 200


def _set_failures(app, key: str, **values) -> None:
    with app.app_context(), new_uow() as uow:
        uow.session.execute(update(LoginFailure).where(LoginFailure.key_hash == key).values(**values))
        uow.commit()


def test_a_signed_in_person_is_rate_limited_by_user_id(app):
    """Not by what Flask-Login keeps in the cookie (the session's secret): every session of a person
    shares one budget, and the key names no secret."""
    with app.test_request_context("/profile"):
        login_user(WebUser("user-42", "someone@example.com", "user", "the-session-secret"))
        assert rate_limit_key() == "user:user-42"
