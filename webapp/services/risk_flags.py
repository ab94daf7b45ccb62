"""The back office's side of the automatic risk holds (services/risk.py): the open flags, a person's flags,
and an admin clearing one with a reason. Clearing takes the account off the flagged list and lets the rule
fire again; it does not unfreeze: that stays the admin's separate, reasoned action (services/freezes.py),
so whoever clears a flag decides about the money on its own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import Forbidden, NotFound, ValidationError
from webapp.models import User
from webapp.models.base import utcnow
from webapp.models.risk import RiskFlag
from webapp.services import audit, freezes, staff

PAGE = 200  # open flags on the list, oldest first: the ones waiting longest come first
RULE_NAMES = {"new_recipients": "Many new recipients", "lockouts": "Repeated lockouts",
              "negative_balance": "Below zero after a refund or dispute"}


@dataclass(frozen=True)
class FlagRow:
    flag: RiskFlag
    email: str  # whose account
    is_frozen: bool


def open_flags(uow: UnitOfWork, *, staff_id: str) -> list[FlagRow]:
    """Flags nobody has cleared yet, by the (resolved_at, created_at) index, with whose account each is."""
    with uow:
        staff.require(uow, staff_id, staff.STAFF_ROLES)
        rows = uow.session.execute(
            select(RiskFlag, User.email, User.is_frozen).join(User, User.id == RiskFlag.user_id)
            .where(RiskFlag.resolved_at.is_(None)).order_by(RiskFlag.created_at, RiskFlag.id).limit(PAGE)).all()
        return [FlagRow(flag, email, frozen) for flag, email, frozen in rows]


def flags_of(uow: UnitOfWork, *, user_id: str, limit: int = 20) -> list[RiskFlag]:
    """A person's flags, open or cleared, newest first, inside the caller's transaction."""
    return list(uow.session.scalars(select(RiskFlag).where(RiskFlag.user_id == user_id)
                                    .order_by(RiskFlag.created_at.desc(), RiskFlag.id).limit(limit)))


@retry_on_conflict
def clear(uow: UnitOfWork, *, admin_id: str, flag_id: object, reason: object) -> RiskFlag:
    """An admin has looked and clears the flag, saying why; audited on the person's stream with the admin
    as actor. Reviewers are refused (Forbidden), and nobody clears a flag on their own account."""
    reason = freezes.check_reason(reason)
    with uow:
        staff.require(uow, admin_id, staff.ADMIN_ROLES)
        found = uow.session.get(RiskFlag, flag_id, with_for_update=True) if isinstance(flag_id, str) else None
        if found is None:
            raise NotFound("Flag not found.")
        if found.user_id == admin_id:
            raise Forbidden("Another admin must clear a flag on your account.")
        if found.resolved_at is not None:
            raise ValidationError("This flag was cleared already.", details={"fields": {}})
        found.resolved_at, found.resolved_by, found.resolution = utcnow(), admin_id, reason
        audit.append(uow, stream=audit.user_stream(found.user_id), event="risk_cleared", actor_id=admin_id,
                     data={"flag_id": found.id, "rule": found.rule, "reason": reason})
        uow.commit()
    return found
