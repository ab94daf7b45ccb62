"""Password reset by email: a single-use, expiring link whose secret is stored only as a SHA-256 hash.

Asking for a link answers the same whether or not the address has an account, and does the same work
in the request either way (one lookup, one audit row): the link is made and mailed by a job after commit
(jobs/notices.py), so the secret never sits in Redis and the mail server's speed shows in no response.
Using a link sets the password and signs the account out everywhere: every web session, refresh token
and access token (services/sessions.py). So does changing the password, which needs the current one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from sqlalchemy import select, update

from webapp import background
from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import DomainError, FieldErrors, Unauthorized, ValidationError
from webapp.models import PasswordResetToken, User
from webapp.models.base import utcnow
from webapp.services import audit, sessions
from webapp.services.accounts import check_password, hasher_for, normalize_email, verify_password

SEND_JOB = "jobs.notices.password_reset"


class ResetLinkInvalid(DomainError):
    """Unknown, used, replaced by a newer link, or expired: the person needs a new link either way."""

    code = "RESET_LINK_INVALID"
    default_message = "This link has expired or has already been used. Ask for a new one."


@dataclass(frozen=True)
class ResetLink:
    """A fresh link's secret, for the one email that carries it. Never stored, never logged."""

    email: str
    token: str
    expires_in: int  # seconds


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@retry_on_conflict
def request_reset(uow: UnitOfWork, *, email: object) -> None:
    """Record the request and, for an existing account, mail a link after commit. Returns nothing, so no
    caller can answer differently for an unknown address."""
    email = normalize_email(email)
    with uow:
        user_id = uow.session.scalar(select(User.id).where(User.email == email))
        if user_id is None:
            audit.append(uow, stream=audit.SYSTEM, event="password_reset_requested",
                         data={"reason": "unknown_email"})
        else:
            audit.append(uow, stream=audit.user_stream(user_id), event="password_reset_requested",
                         actor_id=user_id)
            background.after_commit(uow, SEND_JOB, user_id)
        uow.commit()


@retry_on_conflict
def issue_link(uow: UnitOfWork, *, user_id: str) -> ResetLink | None:
    """A new link for the user, replacing any older unused one. None if the account is gone."""
    ttl = uow.config.get("PASSWORD_RESET_TTL", 3600)
    token = secrets.token_urlsafe(32)  # 256 bits
    with uow:
        user = uow.session.get(User, user_id, with_for_update=True)  # one request at a time per user
        if user is None:
            return None
        _revoke_links(uow, user_id)
        uow.session.add(PasswordResetToken(user_id=user_id, token_hash=_hash(token),
                                           expires_at=utcnow() + timedelta(seconds=ttl)))
        uow.commit()
    return ResetLink(email=user.email, token=token, expires_in=ttl)


def check_link(uow: UnitOfWork, *, token: object) -> None:
    """Raise ResetLinkInvalid unless the link can still be used. Reads only: opening a link (or a mail
    scanner fetching it) changes nothing."""
    with uow:
        stored = _find(uow, token)
        if stored is None or _refusal(stored) is not None:
            raise ResetLinkInvalid()


def reset_password(uow: UnitOfWork, *, token: object, password: object, confirm: object) -> None:
    """Set a new password through a mailed link, then sign the account out everywhere."""
    owner = _refuse_dead_link(uow, token)  # a dead link says so before any complaint about the new password
    _check_new_password(password, confirm, user_inputs=(owner.email, owner.phone))
    _apply(uow, token, hasher_for(uow.config).hash(password))  # hashed (~50 ms) before any row is locked


def _check_new_password(password: object, confirm: object, user_inputs: tuple[str, ...]) -> None:
    fields: dict[str, str] = {}
    try:
        check_password(password, user_inputs=user_inputs)
    except ValidationError as error:
        fields.update(error.details["fields"])
    if "password" not in fields and confirm != password:
        fields["confirm"] = "The two passwords do not match."
    if fields:
        raise ValidationError(next(iter(fields.values())), details={"fields": fields})


@retry_on_conflict
def _refuse_dead_link(uow: UnitOfWork, token: object) -> User:
    """The link's owner, whose email and phone the new password must not be built from."""
    with uow:
        stored = _find(uow, token)
        reason = "unknown_link" if stored is None else _refusal(stored)
        if reason is not None:
            _refuse(uow, stored, reason)
        return uow.session.get(User, stored.user_id)


@retry_on_conflict
def _apply(uow: UnitOfWork, token: object, password_hash: str) -> None:
    with uow:
        found = _find(uow, token)
        if found is None:
            _refuse(uow, None, "unknown_link")
        # Lock the user before the link, in the order issue_link locks them, so the two cannot deadlock;
        # then read the link again under its lock: a twin request may have used it a moment ago.
        user = uow.session.get(User, found.user_id, with_for_update=True)
        stored = uow.session.scalar(select(PasswordResetToken).where(PasswordResetToken.id == found.id)
                                    .with_for_update().execution_options(populate_existing=True))
        if (reason := _refusal(stored)) is not None:
            _refuse(uow, stored, reason)
        now = utcnow()
        stored.used_at = now
        user.password_hash = password_hash
        _revoke_links(uow, user.id)
        sessions.end_everywhere(uow, user.id)
        audit.append(uow, stream=audit.user_stream(user.id), event="password_reset", actor_id=user.id)
        uow.commit()


def change_password(uow: UnitOfWork, *, user_id: str, current: object, new: object,
                    confirm: object | None = None) -> User:
    """Set a new password for a signed-in person who knows the current one, then end every web session,
    refresh token and access token of theirs (the caller starts a fresh one). Every problem at once:
    `current_password`, `new_password`, `confirm` (only checked when the form has that field)."""
    with uow:
        user = uow.session.get(User, user_id)
    if user is None:
        raise Unauthorized()
    problems = FieldErrors()
    if not verify_password(user.password_hash, current if isinstance(current, str) else ""):
        problems.add("current_password", "This is not your current password.")
    try:
        check_password(new, user_inputs=(user.email, user.phone))
    except ValidationError as error:
        problems.add("new_password", error.message)
    if "new_password" not in problems.fields and confirm is not None and confirm != new:
        problems.add("confirm", "The two passwords do not match.")
    if problems:
        _audit_refused_change(uow, user_id, sorted(problems.fields))
        problems.raise_any()
    return _store_changed(uow, user, hasher_for(uow.config).hash(new))  # hashed (~50 ms) before any row is locked


@retry_on_conflict
def _audit_refused_change(uow: UnitOfWork, user_id: str, fields: list[str]) -> None:
    with uow:
        audit.append(uow, stream=audit.user_stream(user_id), event="password_change_refused", actor_id=user_id,
                     data={"fields": fields})
        uow.commit()


@retry_on_conflict
def _store_changed(uow: UnitOfWork, read: User, password_hash: str) -> User:
    with uow:
        user = uow.session.get(User, read.id, with_for_update=True, populate_existing=True)
        if user.password_hash != read.password_hash:  # a twin change or a reset won since we checked
            raise ValidationError.field("current_password", "Your password was just changed. Sign in again.")
        user.password_hash = password_hash
        sessions.end_everywhere(uow, user.id)
        audit.append(uow, stream=audit.user_stream(user.id), event="password_changed", actor_id=user.id)
        uow.commit()
        uow.session.refresh(user)  # the new session epoch, for the caller's fresh tokens
    return user


def _find(uow: UnitOfWork, token: object) -> PasswordResetToken | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return uow.session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == _hash(token)))


def _refusal(stored: PasswordResetToken) -> str | None:
    if stored.used_at is not None:
        return "used"
    if stored.revoked_at is not None:
        return "replaced"
    if stored.expires_at <= utcnow():
        return "expired"
    return None


def _refuse(uow: UnitOfWork, stored: PasswordResetToken | None, reason: str) -> NoReturn:
    """Audit the refused attempt (it commits, though the reset does not happen), then refuse."""
    user_id = stored.user_id if stored is not None else None
    stream = audit.user_stream(user_id) if user_id else audit.SYSTEM
    audit.append(uow, stream=stream, event="password_reset_refused", actor_id=user_id, data={"reason": reason})
    uow.commit()
    raise ResetLinkInvalid()


def _revoke_links(uow: UnitOfWork, user_id: str) -> None:
    uow.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None),
               PasswordResetToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
