"""Freezing an account: an admin stops its outgoing money (sends, institution payments, top-ups and
withdrawals all refuse with ACCOUNT_FROZEN) while the person can still sign in, see their balances and
receive. Unfreezing lifts it. Both need a reason, kept in the audit trail on the person's stream with the
admin as actor; the user detail page reads the latest one from there.

The money services read users.is_frozen before they lock wallets, so a movement already past that check
when the freeze commits still completes; every one that starts after it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import Forbidden, NotFound, ValidationError
from webapp.models import AuditLog, User
from webapp.services import audit, staff

MAX_REASON = 500  # characters kept in the audit row
EVENTS = ("account_frozen", "account_unfrozen")


@dataclass(frozen=True)
class FreezeNote:
    """The latest freeze or unfreeze of an account, as the back office shows it."""

    event: str  # one of EVENTS
    reason: str
    actor_id: str | None
    at: object  # datetime, naive UTC


def freeze(uow: UnitOfWork, *, admin_id: str, user_id: object, reason: object) -> User:
    return _set_frozen(uow, admin_id=admin_id, user_id=user_id, reason=reason, frozen=True)


def unfreeze(uow: UnitOfWork, *, admin_id: str, user_id: object, reason: object) -> User:
    return _set_frozen(uow, admin_id=admin_id, user_id=user_id, reason=reason, frozen=False)


@retry_on_conflict
def _set_frozen(uow: UnitOfWork, *, admin_id: str, user_id: object, reason: object, frozen: bool) -> User:
    reason = check_reason(reason)
    with uow:
        staff.require(uow, admin_id, staff.ADMIN_ROLES)
        user = uow.session.get(User, user_id, with_for_update=True) if isinstance(user_id, str) else None
        if user is None:
            raise NotFound("User not found.")
        if user.id == admin_id:
            raise Forbidden("Another admin must freeze or unfreeze your account.")
        if user.is_frozen == frozen:
            raise ValidationError("This account is already frozen." if frozen else "This account is not frozen.",
                                  details={"fields": {}})
        user.is_frozen = frozen
        audit.append(uow, stream=audit.user_stream(user.id), event=EVENTS[0] if frozen else EVENTS[1],
                     actor_id=admin_id, data={"reason": reason})
        uow.commit()
    return user


def check_reason(reason: object) -> str:
    """One line of text, for whoever reads the audit trail later."""
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        raise ValidationError.field("reason", "Say why, for the audit trail.")
    if len(text) > MAX_REASON:
        raise ValidationError.field("reason", f"Keep the reason under {MAX_REASON + 1} characters.")
    return text


def latest(uow: UnitOfWork, *, user_id: str) -> FreezeNote | None:
    """The newest freeze or unfreeze on the person's stream, inside the caller's transaction."""
    row = uow.session.scalars(select(AuditLog).where(AuditLog.stream == audit.user_stream(user_id),
                                                     AuditLog.event.in_(EVENTS))
                              .order_by(AuditLog.seq.desc()).limit(1)).first()
    if row is None:
        return None
    return FreezeNote(row.event, (row.data or {}).get("reason", ""), row.actor_id, row.created_at)
