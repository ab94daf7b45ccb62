"""Automatic risk holds (issue 12, point 7): each rule fires at its threshold and not one step below it; a
rule that fires freezes outgoing money (ACCOUNT_FROZEN) while the person still signs in and receives,
writes one flag per rule while it is open, and audits both; the new-recipients rule runs after the
transfer's commit and is not even queued when switched off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests import stripe_events as ev
from tests.conftest import PASSWORD, make_test_app
from tests.integration.payout_scenarios import reconciled
from tests.integration.test_backoffice import events, user_row
from tests.integration.test_deposits import deposit_row, start
from webapp import background
from webapp.extensions import new_uow
from webapp.models import Transaction
from webapp.models.base import utcnow
from webapp.models.risk import RiskFlag
from webapp.services import audit, risk


def flags(app, user_id: str) -> list[RiskFlag]:
    with app.app_context(), new_uow() as uow:
        return list(uow.session.scalars(select(RiskFlag).where(RiskFlag.user_id == user_id)
                                        .order_by(RiskFlag.created_at)))


def code_of(response) -> tuple[int, str]:
    return response.status_code, response.json["error"]["code"]


def assert_held(app, user, rule: str) -> RiskFlag:
    """Frozen by the rule, with one open flag, the freeze audited without a human actor."""
    found = flags(app, user.id)
    assert [(f.rule, f.resolved_at) for f in found] == [(rule, None)]
    assert user_row(app, user.id).is_frozen
    trail = {event: (actor, data) for event, actor, data in events(app, user.id)}
    actor, frozen = trail["account_frozen"]
    assert actor is None and rule in frozen["reason"] and frozen["flag_id"] == found[0].id
    assert trail["risk_flagged"][1]["rule"] == rule
    return found[0]


def assert_not_held(app, user) -> None:
    assert flags(app, user.id) == [] and not user_row(app, user.id).is_frozen


# --- More than N transfers to new recipients within M minutes (defaults 5 and 10) ---------------------------

def test_new_recipients_fires_on_the_sixth_new_person_within_the_window_not_the_fifth(app, wallets):
    sender, people = wallets.user(balance=100_000), [wallets.user() for _ in range(6)]
    for person in people[:5]:
        assert sender.send(person, 100).status_code == 201
    assert_not_held(app, sender)
    assert sender.send(people[5], 100).status_code == 201  # it goes through: the rule looks after the commit
    flag = assert_held(app, sender, "new_recipients")
    assert flag.details["new_recipients"] == 6 and flag.details["threshold"] == 5 and flag.details["minutes"] == 10
    assert sorted(flag.details["recipients"]) == sorted(p.id for p in people)
    assert code_of(sender.send(people[0], 100)) == (403, "ACCOUNT_FROZEN")
    # Frozen is outgoing only: the person still receives and signs in, on the web and in the app.
    assert people[0].send(sender, 50).status_code == 201
    assert app.test_client().post("/login", data={"email": sender.email, "password": PASSWORD}).status_code == 303
    assert app.test_client().post("/api/v1/auth/login", json={"email": sender.email, "password": PASSWORD}
                                  ).status_code == 200
    assert sender.wallet()["balance"] == 100_000 - 600 + 50 and reconciled(app)


def test_paying_the_same_people_again_does_not_count(app, wallets):
    sender, people = wallets.user(balance=100_000), [wallets.user() for _ in range(5)]
    for _ in range(3):
        for person in people:
            assert sender.send(person, 100).status_code == 201
    assert_not_held(app, sender)


def test_people_paid_before_the_window_are_not_new(app, wallets):
    """Six people in the window, three of them paid an hour ago: three new, no hold. Three more new: six."""
    sender, known, strangers = wallets.user(balance=100_000), [wallets.user() for _ in range(3)], \
        [wallets.user() for _ in range(6)]
    for person in known:
        assert sender.send(person, 100).status_code == 201
    with app.app_context(), new_uow() as uow:  # those transfers were an hour ago
        mine = select(Transaction.journal_entry_id).where(Transaction.user_id == sender.id)
        entries = uow.session.scalars(mine).all()
        uow.session.execute(update(Transaction).where(Transaction.journal_entry_id.in_(entries))
                            .values(created_at=utcnow() - timedelta(hours=1)))
        uow.commit()
    for person in known + strangers[:3]:
        assert sender.send(person, 100).status_code == 201
    assert_not_held(app, sender)
    for person in strangers[3:]:
        assert sender.send(person, 100).status_code == 201
    assert assert_held(app, sender, "new_recipients").details["new_recipients"] == 6


def test_switched_off_the_rule_is_not_even_queued(app, wallets, monkeypatch):
    queued = []
    original = background.after_commit
    monkeypatch.setattr(background, "after_commit", lambda uow, job, *ids, **kw: (
        queued.append(job), original(uow, job, *ids, **kw)))
    sender, people = wallets.user(balance=100_000), [wallets.user() for _ in range(7)]
    monkeypatch.setitem(app.config["RISK_RULES"], "new_recipients", {"count": 0, "minutes": 10})
    for person in people:
        assert sender.send(person, 100).status_code == 201
    assert risk.NEW_RECIPIENTS_JOB not in queued and queued  # the money-received notices still are
    assert_not_held(app, sender)
    monkeypatch.setitem(app.config["RISK_RULES"], "new_recipients", {"count": 5, "minutes": 10})
    assert sender.send(people[0], 100).status_code == 201
    assert queued.count(risk.NEW_RECIPIENTS_JOB) == 1


def test_with_redis_the_rule_is_a_job_the_worker_runs_after_the_commit(database_url, wallets):
    """With REDIS_URL the transfer only queues the check (ids in: the sender and when); a worker freezes."""
    from tests.integration.worker_support import queued_app, work

    with queued_app(database_url) as app:
        there = type(wallets)(app, app.test_client())
        sender, people = there.user(balance=10_000), [there.user() for _ in range(6)]
        for person in people:
            assert sender.send(person, 100).status_code == 201
        assert_not_held(app, sender)  # nothing ran inside the requests
        work(app)
        assert assert_held(app, sender, "new_recipients").details["new_recipients"] == 6


def test_two_firings_at_once_write_one_flag_and_one_freeze(app, wallets, monkeypatch):
    """The job may run twice (a retry), or two jobs at once: the person's row lock lets one flag through."""
    from tests.integration.test_concurrency import race

    sender = wallets.user(balance=100_000)
    monkeypatch.setitem(app.config["RISK_RULES"], "new_recipients", {"count": 0, "minutes": 10})
    for person in [wallets.user() for _ in range(6)]:
        assert sender.send(person, 100).status_code == 201
    monkeypatch.setitem(app.config["RISK_RULES"], "new_recipients", {"count": 5, "minutes": 10})
    at = utcnow()

    def check(_client, _i):
        with app.app_context():
            return risk.check_new_recipients(new_uow(), sender_id=sender.id, at=at)

    fired = race(app, 5, check)
    assert sum(result is not None for result in fired) == 1
    assert_held(app, sender, "new_recipients")
    assert [e for e, _, _ in events(app, sender.id)].count("account_frozen") == 1


# --- K PIN lockouts within H hours (defaults 2 and 24); sign-in lockouts are not counted -------------------

@pytest.fixture()
def strict(database_url, wallets):
    """Three wrong passwords lock an email out from that address (LOGIN_MAX_FAILURES)."""
    app = make_test_app(database_url, LOGIN_MAX_FAILURES=3, LOGIN_LOCKOUT_SECONDS=600)
    yield type(wallets)(app, app.test_client())
    app.extensions["ewallet.db"].dispose()


def lock_out(app, email: str, address: str) -> None:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    for _ in range(3):
        assert client.post("/api/v1/auth/login", json={"email": email, "password": "wrong-guess-9"}).status_code == 401


def test_sign_in_lockouts_alone_never_freeze_since_strangers_can_cause_them(strict):
    """Anyone who knows the email can lock sign-ins out from a few addresses: that must not be a way to
    freeze someone else's money."""
    app, person, friend = strict.app, strict.user(balance=1_000), strict.user()
    for address in ("198.51.100.21", "198.51.100.22", "198.51.100.23"):
        lock_out(app, person.email, address)
    assert [e for e, _, _ in events(app, person.id)].count("login_locked") == 3
    assert_not_held(app, person)
    assert person.send(friend, 100).status_code == 201


def pin_lockout(app, user_id: str) -> None:
    """What services/pins.py does when wrong PINs lock someone out: audit `pin_locked`, then the hook."""
    with app.app_context(), new_uow() as uow:
        audit.append(uow, stream=audit.user_stream(user_id), event="pin_locked", actor_id=user_id, data={})
        risk.after_lockout(uow, user_id=user_id, kind="pin")
        uow.commit()


def test_one_pin_lockout_and_a_strangers_sign_in_lockout_do_not_freeze_two_pin_lockouts_do(strict):
    """A mistyped PIN once, then anyone who knows the email locks sign-ins out: no hold. A second PIN
    lockout is the rule: the flag keeps the sign-in lockout for whoever looks into it."""
    app, person, friend = strict.app, strict.user(balance=1_000), strict.user()
    pin_lockout(app, person.id)
    lock_out(app, person.email, "198.51.100.31")
    assert_not_held(app, person)
    pin_lockout(app, person.id)
    flag = assert_held(app, person, "lockouts")
    assert (flag.details["lockouts"], flag.details["sign_in_lockouts"], flag.details["last"]) == (2, 1, "pin")
    assert code_of(person.send(friend, 100)) == (403, "ACCOUNT_FROZEN")
    elsewhere = app.test_client()  # held, not locked out: the person still signs in and sees their money
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.32"
    assert elsewhere.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD}).status_code == 200


def test_pin_lockouts_alone_fire_at_the_threshold(app, wallets):
    person = wallets.user()
    pin_lockout(app, person.id)
    assert_not_held(app, person)
    pin_lockout(app, person.id)
    assert assert_held(app, person, "lockouts").details == {"lockouts": 2, "sign_in_lockouts": 0, "threshold": 2,
                                                            "hours": 24, "last": "pin"}
    pin_lockout(app, person.id)  # a third, while the flag is open: no second flag, no second freeze event
    assert len(flags(app, person.id)) == 1
    assert [e for e, _, _ in events(app, person.id)].count("account_frozen") == 1


def test_lockouts_are_counted_across_pages_of_a_busy_stream(app, wallets):
    """More audit rows since the first lockout than one page (risk.AUDIT_PAGE) of the walk back."""
    person = wallets.user()
    pin_lockout(app, person.id)
    with app.app_context(), new_uow() as uow:
        for n in range(risk.AUDIT_PAGE + 50):
            audit.append(uow, stream=audit.user_stream(person.id), event="login", actor_id=person.id, data={"n": n})
        uow.commit()
    pin_lockout(app, person.id)
    assert assert_held(app, person, "lockouts").details["lockouts"] == 2


def test_lockouts_of_an_email_nobody_has_flag_nobody(strict):
    app = strict.app
    with app.app_context(), new_uow() as uow:
        before = uow.session.scalar(select(RiskFlag.id).order_by(RiskFlag.created_at.desc()).limit(1))
    for address in ("198.51.100.41", "198.51.100.42"):
        lock_out(app, "nobody-at-all@example.com", address)
    with app.app_context(), new_uow() as uow:
        assert uow.session.scalar(select(RiskFlag.id).order_by(RiskFlag.created_at.desc()).limit(1)) == before


# --- A refund or lost dispute that leaves a wallet below zero ------------------------------------------------

def funded_by_card(app, client, wallets, amount: int):
    person = wallets.user()
    deposit = deposit_row(app, start(person, amount).json["data"]["transaction"]["id"])
    ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(deposit)), app.config["STRIPE_WEBHOOK_SECRET"])
    return person, deposit


def refund_all(app, client, deposit) -> None:
    ev.deliver(client, ev.event("charge.refunded", ev.charge(deposit, amount_refunded=deposit.amount)),
               app.config["STRIPE_WEBHOOK_SECRET"])


def test_a_refund_that_leaves_the_wallet_at_zero_does_not_fire_one_cent_below_does(app, client, wallets):
    friend = wallets.user()
    at_zero, deposit = funded_by_card(app, client, wallets, 2_000)
    refund_all(app, client, deposit)
    assert at_zero.wallet()["balance"] == 0
    assert_not_held(app, at_zero)

    below, deposit = funded_by_card(app, client, wallets, 2_000)
    assert below.send(friend, 1).status_code == 201
    refund_all(app, client, deposit)
    assert below.wallet()["balance"] == -1
    flag = assert_held(app, below, "negative_balance")
    assert (flag.details["balance"], flag.details["currency"]) == (-1, "USD")
    assert friend.wallet()["balance"] == 1 and reconciled(app)


def test_a_lost_dispute_below_zero_fires_and_a_second_one_adds_no_flag_while_open(app, client, wallets):
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    person, first = funded_by_card(app, client, wallets, 3_000)
    assert person.send(wallets.user(), 1_000).status_code == 201
    ev.deliver(client, ev.event("charge.dispute.created", ev.dispute(first, amount=3_000)), secret)
    ev.deliver(client, ev.event("charge.dispute.closed", ev.dispute(first, status="lost", amount=3_000)), secret)
    assert person.wallet()["balance"] == -1_000
    assert_held(app, person, "negative_balance")
    second = deposit_row(app, start(person, 2_000).json["data"]["transaction"]["id"])
    ev.deliver(client, ev.event("payment_intent.succeeded", ev.intent(second)), secret)
    refund_all(app, client, second)
    assert person.wallet()["balance"] == -1_000
    assert len(flags(app, person.id)) == 1 and reconciled(app)
