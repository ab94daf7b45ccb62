"""Automatic risk holds (issue 12 point 7): rules from config (RISK_RULES, webapp/config.risk_rules) that
freeze an account's outgoing money and put it on the back office's flagged list. The money paths only call
the three hooks below; what each rule counts, and when it fires, lives here.

Contract for callers: each hook runs inside the caller's unit of work, before commit, so the flag lands
if and only if what caused it does. `after_lockout` is called after the lockout's own audit event
(`pin_locked` / `login_locked` on the person's stream) is appended: the rule counts those events.

Firing a rule (`flag`) sets users.is_frozen, the flag services/freezes.py sets, with an `account_frozen`
audit event that has no human actor and a reason naming the rule (the user detail page shows it); writes a
RiskFlag with what the rule saw; and audits `risk_flagged`. A rule with an open flag on the person does not
fire again: one entry on the list per rule until an admin clears it (services/risk_flags.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, select

from webapp import background
from webapp.db import UnitOfWork, retry_on_conflict
from webapp.models import AuditLog, Transaction, User
from webapp.models.base import utcnow
from webapp.models.risk import RiskFlag
from webapp.services import audit

RULES = ("new_recipients", "lockouts", "negative_balance")
REASONS = {  # the `account_frozen` reason people and operators read
    "new_recipients": "Automatic risk hold (new_recipients): many transfers to new recipients in a short time.",
    "lockouts": "Automatic risk hold (lockouts): repeated PIN lockouts.",
    "negative_balance": "Automatic risk hold (negative_balance): a card refund or dispute left a wallet below zero.",
}
LOCKOUT_EVENTS = ("pin_locked", "login_locked")
NEW_RECIPIENTS_JOB = "jobs.risk.new_recipients"
AUDIT_PAGE = 200  # audit rows read at a time while counting lockouts
SHOWN_RECIPIENTS = 20  # recipient ids kept in a flag's details: enough to look into, bounded in size
_debits, _credits = Transaction.__table__.alias("debit"), Transaction.__table__.alias("credit")


def rule(config: dict, name: str) -> dict:
    return config.get("RISK_RULES", {}).get(name) or {}


def after_transfer(uow: UnitOfWork, *, sender_id: str) -> None:
    """A transfer by `sender_id` is about to commit: the "many new recipients" rule looks at it after the
    commit, as a job (inline without Redis), so the transfer itself pays one list append and nothing more.
    Switched off (count 0), nothing is queued at all."""
    if rule(uow.config, "new_recipients").get("count"):
        background.after_commit(uow, NEW_RECIPIENTS_JOB, sender_id, utcnow().isoformat())


def after_lockout(uow: UnitOfWork, *, user_id: str, kind: str) -> None:
    """`user_id` was just locked out (`kind`: "pin" or "login"): the repeated-lockouts rule looks at it.

    Only PIN lockouts count toward the threshold; sign-in lockouts are kept in the flag's details for
    whoever looks into it. Anyone who knows an email can cause sign-in lockouts from a few addresses
    (services/login_guard.py counts per address for that reason), so counting them would let a stranger
    freeze an account, or tip one over after a single mistyped PIN of the owner's. A PIN lockout needs
    someone signed in to the account."""
    lockouts = rule(uow.config, "lockouts")
    if not lockouts.get("count"):
        return
    seen = _lockouts_since(uow, user_id, utcnow() - timedelta(hours=lockouts["hours"]))
    if seen["pin_locked"] >= lockouts["count"]:
        flag(uow, user_id=user_id, rule="lockouts",
             details={"lockouts": seen["pin_locked"], "sign_in_lockouts": seen["login_locked"],
                      "threshold": lockouts["count"], "hours": lockouts["hours"], "last": kind})


def _lockouts_since(uow: UnitOfWork, user_id: str, since: datetime) -> dict[str, int]:
    """Walk the person's audit stream back from its newest row, a page at a time by its (stream, seq)
    index, and stop at the first row older than `since`: the cost is the person's activity in the window,
    not their whole history, and no index on event names is needed (every audited transfer would pay
    for one). A stream's rows are appended under its head's lock, so seq order is time order."""
    stream, counts, below = audit.user_stream(user_id), dict.fromkeys(LOCKOUT_EVENTS, 0), None
    while True:
        page = select(AuditLog.seq, AuditLog.event, AuditLog.created_at).where(AuditLog.stream == stream)
        if below is not None:
            page = page.where(AuditLog.seq < below)
        rows = uow.session.execute(page.order_by(AuditLog.seq.desc()).limit(AUDIT_PAGE)).all()
        for row in rows:
            if row.created_at < since:
                return counts
            if row.event in counts:
                counts[row.event] += 1
        if len(rows) < AUDIT_PAGE:
            return counts
        below = rows[-1].seq


def after_negative_balance(uow: UnitOfWork, *, user_id: str, details: dict) -> None:
    """A refund or lost dispute just left one of `user_id`'s wallets below zero."""
    if rule(uow.config, "negative_balance").get("enabled"):
        flag(uow, user_id=user_id, rule="negative_balance", details=details)


@retry_on_conflict
def check_new_recipients(uow: UnitOfWork, *, sender_id: str, at: datetime) -> RiskFlag | None:
    """The job after a transfer made at `at`: more than `count` people the sender had never paid before
    received a transfer from them within `minutes` before it? Then the rule fires (once)."""
    settings = rule(uow.config, "new_recipients")
    if not settings.get("count"):
        return None
    since = at - timedelta(minutes=settings["minutes"])
    with uow:
        new = new_recipients(uow, sender_id=sender_id, since=since, more_than=settings["count"])
        if len(new) <= settings["count"]:
            return None
        fired = flag(uow, user_id=sender_id, rule="new_recipients", details={
            "new_recipients": len(new), "threshold": settings["count"], "minutes": settings["minutes"],
            "since": since.isoformat(timespec="seconds"), "recipients": sorted(new)[:SHOWN_RECIPIENTS]})
        uow.commit()
        return fired


def new_recipients(uow: UnitOfWork, *, sender_id: str, since: datetime, more_than: int) -> set[str]:
    """The people (user ids) the sender paid by transfer since `since` and never before it. Each step uses
    an index: the sender's debits by (user_id, created_at), the other side of each by the journal entry's
    foreign-key index, and the earlier history of just these recipients by (user_id, created_at). That
    last, longer read is skipped when the window holds no more than `more_than` people: then they are all
    returned, too few to fire whether new or not."""
    pairs = and_(_credits.c.journal_entry_id == _debits.c.journal_entry_id, _credits.c.direction == "credit")
    recent = set(uow.execute(
        select(_credits.c.user_id).distinct().select_from(_debits.join(_credits, pairs))
        .where(_debits.c.user_id == sender_id, _debits.c.created_at >= since, _debits.c.kind == "transfer",
               _debits.c.direction == "debit")).scalars())
    if len(recent) <= more_than:
        return recent
    paid = and_(_debits.c.journal_entry_id == _credits.c.journal_entry_id, _debits.c.user_id == sender_id,
                _debits.c.direction == "debit")
    before = set(uow.execute(
        select(_credits.c.user_id).distinct().select_from(_credits.join(_debits, paid))
        .where(_credits.c.user_id.in_(recent), _credits.c.created_at < since, _credits.c.kind == "transfer",
               _credits.c.direction == "credit")).scalars())
    return recent - before


def flag(uow: UnitOfWork, *, user_id: str, rule: str, details: dict) -> RiskFlag | None:
    """Fire `rule` on the person, inside the caller's transaction; None when it has an open flag already.
    The person's row lock orders two firings at once, so only one of them writes a flag."""
    user = uow.session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        return None
    already = uow.session.scalar(select(RiskFlag.id).where(
        RiskFlag.user_id == user_id, RiskFlag.rule == rule, RiskFlag.resolved_at.is_(None)).limit(1))
    if already is not None:
        return None
    fired = RiskFlag(user_id=user_id, rule=rule, details=details, created_at=utcnow())
    uow.session.add(fired)
    uow.session.flush()
    stream = audit.user_stream(user_id)
    if not user.is_frozen:  # frozen already (by an admin, or another rule): that freeze and its reason stand
        user.is_frozen = True
        uow.session.flush()
        audit.append(uow, stream=stream, event="account_frozen",
                     data={"reason": REASONS[rule], "rule": rule, "flag_id": fired.id})
    audit.append(uow, stream=stream, event="risk_flagged", data={"rule": rule, "flag_id": fired.id, "details": details})
    return fired
