"""Web sessions that end on the server, and ending every session of a person at once.

A web sign-in is a `web_sessions` row. The browser's signed session cookie holds a random secret and the
row is keyed by its SHA-256, so a copy of the table signs nobody in. A session is refused once its row is
revoked (sign-out, password change or reset, "sign out everywhere"), has been idle longer than
SESSION_IDLE_TIMEOUT, or is older than SESSION_MAX_AGE, whatever the cookie says.

API tokens end through the user's session epoch instead (services/tokens.py): `end_everywhere` bumps it
and revokes every refresh token, and ends every web session by their rows. The epoch is not checked for
web sessions: their rows already say everything, and one mechanism per kind of credential is enough.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.models import RefreshToken, User, WebSession
from webapp.models.base import utcnow
from webapp.services import audit

# last_seen_at is written at most this often per session: the idle timeout needs minutes, not a write on
# every page view.
TOUCH_EVERY = timedelta(seconds=60)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(uow: UnitOfWork, *, user_id: str) -> str:
    """A new web session for a person who just proved who they are; returns the secret for the cookie."""
    secret = secrets.token_urlsafe(32)  # 256 bits
    with uow:
        uow.session.add(WebSession(id=_hash(secret), user_id=user_id))
        uow.commit()
    return secret


def resume(uow: UnitOfWork, *, secret: object) -> User | None:
    """The user of a live session, or None: unknown, revoked, idle too long, too old, or the account gone."""
    if not isinstance(secret, str) or not 20 <= len(secret) <= 100:
        return None  # also a cookie from before web sessions existed, which held "user id:epoch"
    config, now = uow.config, utcnow()
    with uow:
        found = uow.session.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                                    .where(WebSession.id == _hash(secret))).first()
        if found is None:
            return None
        web_session, user = found
        if (web_session.revoked_at is not None
                or web_session.last_seen_at <= now - timedelta(seconds=config.get("SESSION_IDLE_TIMEOUT", 1800))
                or web_session.created_at <= now - timedelta(seconds=config.get("SESSION_MAX_AGE", 43200))):
            return None
        if web_session.last_seen_at <= now - TOUCH_EVERY:
            # Conditional on the row still being live: a sign-out committed since our read stays final.
            uow.session.execute(update(WebSession).where(WebSession.id == web_session.id,
                                                         WebSession.revoked_at.is_(None)).values(last_seen_at=now))
        uow.commit()
    return user


def end(uow: UnitOfWork, *, secret: object) -> None:
    """Sign-out: this session's row is revoked, so a copy of the cookie taken before is refused after."""
    if not isinstance(secret, str):
        return
    with uow:
        uow.session.execute(update(WebSession).where(WebSession.id == _hash(secret), WebSession.revoked_at.is_(None))
                            .values(revoked_at=utcnow()))
        uow.commit()


@retry_on_conflict
def sign_out_everywhere(uow: UnitOfWork, *, user_id: str) -> None:
    with uow:
        end_everywhere(uow, user_id)
        audit.append(uow, stream=audit.user_stream(user_id), event="signed_out_everywhere", actor_id=user_id)
        uow.commit()


def end_everywhere(uow: UnitOfWork, user_id: str) -> None:
    """Inside the caller's transaction: end every web session, refresh token and access token of the user."""
    now = utcnow()
    uow.session.execute(update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1))
    uow.session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
                        .values(revoked_at=now))
    uow.session.execute(update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                        .values(revoked_at=now))
