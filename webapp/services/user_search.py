"""The back office's view of people: find them by email, phone or name, and see one in full (wallets,
recent transactions, identity checks, audit events, the latest freeze, automatic risk flags). Reads only;
every caller is staff, checked here as well as at the door, so a demoted reviewer's open tab shows nothing
more."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from webapp.db import UnitOfWork
from webapp.errors import NotFound
from webapp.models import AuditLog, KycSubmission, Transaction, User, Wallet
from webapp.models.risk import RiskFlag
from webapp.services import audit, freezes, risk_flags, staff

PAGE = 50  # people per search page
RECENT = 20  # transactions, submissions and audit events on a person's page
MAX_QUERY = 100  # characters of a search; nobody types more to find one person


@dataclass(frozen=True)
class UserDetail:
    user: User
    wallets: list[Wallet]
    transactions: list[Transaction]  # newest first
    submissions: list[KycSubmission]  # newest first
    events: list[AuditLog]  # newest first, the person's own stream
    actors: dict[str, str]  # actor id → email, for the events' "by" column and who cleared a flag
    freeze: freezes.FreezeNote | None  # the latest freeze or unfreeze, with its reason
    flags: list[RiskFlag]  # automatic risk flags, open or cleared, newest first


def search(uow: UnitOfWork, *, staff_id: str, query: object) -> list[User]:
    """People whose email, phone or display name contains the query, newest first; no query: the newest."""
    text = " ".join(query.split())[:MAX_QUERY] if isinstance(query, str) else ""
    with uow:
        staff.require(uow, staff_id, staff.STAFF_ROLES)
        found = select(User).order_by(User.created_at.desc(), User.id).limit(PAGE)
        if text:
            found = found.where(or_(*_matches(text)))
        return list(uow.session.scalars(found))


def _matches(text: str) -> list:
    """LIKE patterns with the wildcards people may type (%, _) taken literally, ignoring case (emails are
    stored lower-cased; names compare in a binary collation). Phones are stored in E.164, so
    "+1 (415) 555" is looked for as "+1415555"."""
    words = [User.email.like(_contains(text.lower()), escape="\\"),
             func.lower(User.display_name).like(_contains(text.lower()), escape="\\")]
    digits = re.sub(r"[^\d+]", "", text)
    if len(digits) >= 3:
        words.append(User.phone.like(_contains(digits), escape="\\"))
    return words


def _contains(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def detail(uow: UnitOfWork, *, staff_id: str, user_id: object) -> UserDetail:
    with uow:
        staff.require(uow, staff_id, staff.STAFF_ROLES)
        user = uow.session.get(User, user_id) if isinstance(user_id, str) else None
        if user is None:
            raise NotFound("User not found.")
        session = uow.session
        events = list(session.scalars(select(AuditLog).where(AuditLog.stream == audit.user_stream(user.id))
                                      .order_by(AuditLog.seq.desc()).limit(RECENT)))
        flags = risk_flags.flags_of(uow, user_id=user.id, limit=RECENT)
        acted = {event.actor_id for event in events} | {flag.resolved_by for flag in flags}
        return UserDetail(
            user=user,
            wallets=list(session.scalars(select(Wallet).where(Wallet.user_id == user.id).order_by(Wallet.created_at))),
            transactions=list(session.scalars(select(Transaction).where(Transaction.user_id == user.id)
                                              .order_by(Transaction.created_at.desc(), Transaction.id.desc())
                                              .limit(RECENT))),
            submissions=list(session.scalars(select(KycSubmission).where(KycSubmission.user_id == user.id)
                                             .order_by(KycSubmission.created_at.desc()).limit(RECENT))),
            events=events,
            actors=emails(uow, acted - {None}),
            freeze=freezes.latest(uow, user_id=user.id),
            flags=flags,
        )


def emails(uow: UnitOfWork, user_ids: set[str]) -> dict[str, str]:
    """user id → email, inside the caller's transaction: who acted, for audit rows."""
    if not user_ids:
        return {}
    return dict(uow.session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())
