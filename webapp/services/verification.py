"""Proof that a person receives mail at their address and texts on their number. Only a confirmed address
or number finds a wallet when someone sends money "to this email / phone" (services/recipients.py).

Email: a mailed link, single use, expiring. Opening it only shows a page with a button; the button's POST,
from the signed-in owner of the account, confirms. Mail scanners and link previews fetch every GET in a
message, so a GET that confirmed would confirm addresses nobody looked at; and needing the account's own
session means that someone who signs up with another person's address cannot get that person to confirm
it for them with one click on "Confirm".

Phone: a 6-digit code by text message (webapp/providers/sms.py), expiring, dead after MAX_ATTEMPTS wrong
tries. A fresh link or code replaces any older one.

Secrets are stored only as an HMAC under SECRET_KEY, bound to the user and the channel: a bare hash of a
6-digit code is reversed in a millisecond, and a link can only ever match the account it was made for.
Like password-reset links, they are made by the job that sends them, after commit, so no secret sits in
Redis. Every request, confirmation and refusal is audited in the user's stream.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from webapp import background
from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import DomainError, ValidationError
from webapp.models import User, VerificationCode
from webapp.models.base import utcnow
from webapp.services import audit

EMAIL_JOB = "jobs.verification.email_link"
PHONE_JOB = "jobs.verification.phone_code"
EMAIL, PHONE = "email", "phone"
MAX_ATTEMPTS = 5  # wrong codes before a code is dead: 5 guesses in a million per code sent
# Per user, across the web and the API (Flask-Limiter shared limits): texts cost money and both can be
# used to flood someone's phone or inbox; a code's own tries are bounded by MAX_ATTEMPTS besides.
SEND_LIMIT = "5 per 15 minutes;20 per day"
CONFIRM_LIMIT = "10 per minute"
CODE_DIGITS = 6
_CODE_RE = re.compile(rf"^\d{{{CODE_DIGITS}}}$")


class LinkInvalid(DomainError):
    """Unknown, used, replaced, expired, or made for another account: the person needs a new link."""

    code = "VERIFICATION_LINK_INVALID"
    default_message = "This link has expired or has already been used. Ask for a new one on your profile."


@dataclass(frozen=True)
class Secret:
    """A fresh link token or code, for the one message that carries it. Never stored, never logged."""

    to: str  # the address or E.164 number it goes to
    value: str
    expires_in: int  # seconds


def ttl(config: dict, channel: str) -> int:
    return config.get("EMAIL_VERIFY_TTL", 86400) if channel == EMAIL else config.get("PHONE_CODE_TTL", 600)


def confirmed_at(user: User, channel: str):
    return user.email_verified_at if channel == EMAIL else user.phone_verified_at


def after_signup(uow: UnitOfWork, *, user_id: str) -> None:
    """Mail the first link once the sign-up commits (called inside the sign-up's unit of work)."""
    background.after_commit(uow, EMAIL_JOB, user_id)


@retry_on_conflict
def request(uow: UnitOfWork, *, user_id: str, channel: str) -> str:
    """Send a new link (email) or code (phone) after commit. Returns where it goes, for "we sent it to …"."""
    with uow:
        user = uow.session.get(User, user_id)
        if user is None:
            raise ValidationError.field(channel, "Sign in again.")
        if confirmed_at(user, channel) is not None:
            raise ValidationError.field(channel, f"Your {_noun(channel)} is already confirmed.")
        audit.append(uow, stream=audit.user_stream(user_id), event=f"{channel}_verification_requested",
                     actor_id=user_id)
        background.after_commit(uow, EMAIL_JOB if channel == EMAIL else PHONE_JOB, user_id)
        uow.commit()
    return user.email if channel == EMAIL else user.phone


@retry_on_conflict
def issue(uow: UnitOfWork, *, user_id: str, channel: str) -> Secret | None:
    """A new secret for the job to send, replacing any older one. None if the account is gone or the
    contact is confirmed already (the job then sends nothing)."""
    value = secrets.token_urlsafe(32) if channel == EMAIL else f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    seconds = ttl(uow.config, channel)
    with uow:
        user = uow.session.get(User, user_id, with_for_update=True)  # one issue at a time per user
        if user is None or confirmed_at(user, channel) is not None:
            return None
        _retire(uow, user_id, channel)
        target = user.email if channel == EMAIL else user.phone
        uow.session.add(VerificationCode(user_id=user_id, channel=channel, target=target, attempts=0,
                                         code_hash=_digest(uow, channel, user_id, value),
                                         expires_at=utcnow() + timedelta(seconds=seconds)))
        uow.commit()
    return Secret(to=target, value=value, expires_in=seconds)


def check_link(uow: UnitOfWork, *, user_id: str, token: object) -> str:
    """The address the link would confirm, or LinkInvalid. Reads only: opening a link changes nothing."""
    with uow:
        user = uow.session.get(User, user_id)
        if user is None or _live_link(uow, user, token) is None:
            raise _dead_link(user)
        return user.email


@retry_on_conflict
def confirm_email(uow: UnitOfWork, *, user_id: str, token: object) -> str:
    """Spend the link and mark the address confirmed. Returns the address."""
    with uow:
        user = uow.session.get(User, user_id, with_for_update=True)
        stored = _live_link(uow, user, token, lock=True) if user is not None else None
        if stored is None:
            if user is not None:
                audit.append(uow, stream=audit.user_stream(user_id), event="email_verification_refused",
                             actor_id=user_id)
                uow.commit()
            raise _dead_link(user)
        stored.used_at = user.email_verified_at = utcnow()
        audit.append(uow, stream=audit.user_stream(user_id), event="email_verified", actor_id=user_id)
        uow.commit()
        return user.email


@retry_on_conflict
def confirm_phone(uow: UnitOfWork, *, user_id: str, code: object) -> None:
    """Check the texted code. A wrong one uses up a try (committed even though we raise)."""
    code = re.sub(r"[\s-]", "", code) if isinstance(code, str) else ""
    if not _CODE_RE.match(code):
        raise ValidationError.field("code", f"Enter the {CODE_DIGITS}-digit code we texted you.")
    with uow:
        user = uow.session.get(User, user_id, with_for_update=True)
        if user is None or user.phone_verified_at is not None:
            return
        stored = _live_code(uow, user)
        if stored is None:
            raise ValidationError.field("code", "This code has expired. Ask for a new one.")
        if not hmac.compare_digest(stored.code_hash, _digest(uow, PHONE, user_id, code)):
            stored.attempts += 1
            left = MAX_ATTEMPTS - stored.attempts
            audit.append(uow, stream=audit.user_stream(user_id), event="phone_verification_failed",
                         actor_id=user_id, data={"tries_left": left})
            uow.commit()
            raise ValidationError.field("code", "That code is not right. " + (
                f"You can try {left} more time{'s' if left > 1 else ''}." if left else "Ask for a new code."))
        stored.used_at = user.phone_verified_at = utcnow()
        audit.append(uow, stream=audit.user_stream(user_id), event="phone_verified", actor_id=user_id)
        uow.commit()


def _digest(uow: UnitOfWork, channel: str, user_id: str, value: str) -> str:
    key = (uow.config.get("SECRET_KEY") or "").encode()
    return hmac.new(key, f"{channel}:{user_id}:{value}".encode(), hashlib.sha256).hexdigest()


def _live(user: User, channel: str):
    """Unused, unexpired codes of this channel made for the user's current address or number."""
    target = user.email if channel == EMAIL else user.phone
    return select(VerificationCode).where(
        VerificationCode.user_id == user.id, VerificationCode.channel == channel,
        VerificationCode.target == target, VerificationCode.used_at.is_(None),
        VerificationCode.expires_at > utcnow())


def _live_link(uow: UnitOfWork, user: User, token: object, *, lock: bool = False) -> VerificationCode | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 100 or user.email_verified_at is not None:
        return None
    query = _live(user, EMAIL).where(VerificationCode.code_hash == _digest(uow, EMAIL, user.id, token))
    return uow.session.scalar(query.with_for_update() if lock else query)


def _live_code(uow: UnitOfWork, user: User) -> VerificationCode | None:
    query = _live(user, PHONE).where(VerificationCode.attempts < MAX_ATTEMPTS)
    return uow.session.scalar(query.order_by(VerificationCode.created_at.desc()).limit(1).with_for_update())


def _retire(uow: UnitOfWork, user_id: str, channel: str) -> None:
    """Older unused secrets of the channel stop working (the table has no revoked flag: they expire now)."""
    uow.session.execute(
        update(VerificationCode)
        .where(VerificationCode.user_id == user_id, VerificationCode.channel == channel,
               VerificationCode.used_at.is_(None), VerificationCode.expires_at > utcnow())
        .values(expires_at=utcnow())
    )


def _dead_link(user: User | None) -> LinkInvalid:
    if user is not None and user.email_verified_at is not None:
        return LinkInvalid("Your email address is already confirmed.")
    return LinkInvalid()


def _noun(channel: str) -> str:
    return "email address" if channel == EMAIL else "mobile number"
