"""API credentials: short-lived JWT access tokens and rotating refresh tokens stored only as hashes.

Presenting a refresh token that was already spent means it leaked: the whole family is revoked, so the
thief's copy and the owner's newest one stop working together (OAuth 2.0 Security BCP §4.14).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select, update

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import Unauthorized
from webapp.models import RefreshToken, User
from webapp.models.base import new_id, utcnow
from webapp.services import audit

ALGORITHM = "HS256"


def issue_access(config: dict, user_id: str) -> str:
    now = datetime.now(UTC)
    claims = {"sub": user_id, "typ": "access", "iat": now, "jti": new_id(),
              "exp": now + timedelta(seconds=config["JWT_ACCESS_TTL"])}
    return jwt.encode(claims, config["SECRET_KEY"], algorithm=ALGORITHM)


# A client sends the same access token with every request until it expires, and PyJWT's decode (strict
# base64 checks, JSON, HMAC) is ~35 µs of CPU each time. A token that verified once stays valid until its
# `exp`, so remember it until then. Keys are the secret and the token's SHA-256, so the cache holds nothing
# that could be replayed, and only verified tokens get in, so forged ones can't push real ones out.
VERIFIED_LIMIT = 10_000
_verified: dict[tuple[str, bytes], tuple[str, int]] = {}  # -> (user id, exp in epoch seconds)


def verify_access(config: dict, token: str) -> str:
    """The user id inside a valid access token. Only HS256 is accepted: `alg: none` and friends fail."""
    key = (config["SECRET_KEY"], hashlib.sha256(token.encode()).digest())
    user_id, expires = _verified.get(key, (None, 0))
    if time.time() < expires:  # PyJWT's own test: expired once exp <= now
        return user_id
    user_id, expires = _decode_access(config, token)
    if len(_verified) >= VERIFIED_LIMIT:
        _verified.clear()  # crude, but bounded and rare: a refill costs one decode per live token
    _verified[key] = (user_id, expires)
    return user_id


def _decode_access(config: dict, token: str) -> tuple[str, int]:
    try:
        claims = jwt.decode(token, config["SECRET_KEY"], algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "iat"]})
    except jwt.PyJWTError:
        raise Unauthorized("The access token is invalid or expired.") from None
    if claims.get("typ") != "access":
        raise Unauthorized("The access token is invalid or expired.")
    return claims["sub"], int(claims["exp"])


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_refresh(uow: UnitOfWork, user_id: str, family_id: str) -> str:
    token = secrets.token_urlsafe(32)
    ttl = timedelta(seconds=uow.config.get("JWT_REFRESH_TTL", 30 * 24 * 3600))
    uow.session.add(RefreshToken(user_id=user_id, family_id=family_id, token_hash=_hash(token),
                                 expires_at=utcnow() + ttl))
    return token


def start_session(uow: UnitOfWork, *, user: User) -> dict:
    """A fresh token pair after a successful login or sign-up."""
    with uow:
        refresh = _new_refresh(uow, user.id, new_id())
        uow.commit()
    return {"access_token": issue_access(uow.config, user.id), "refresh_token": refresh}


@retry_on_conflict
def rotate(uow: UnitOfWork, *, refresh_token: object) -> dict:
    with uow:
        stored = _locked(uow, refresh_token)
        if stored.used_at or stored.revoked_at:
            _revoke_family(uow, stored.family_id)
            audit.append(uow, stream=audit.user_stream(stored.user_id), event="refresh_token_reuse",
                         actor_id=stored.user_id, data={"family_id": stored.family_id})
            uow.commit()
            raise Unauthorized("This refresh token was already used; sign in again.")
        if stored.expires_at <= utcnow():
            raise Unauthorized("The refresh token has expired; sign in again.")
        stored.used_at = utcnow()
        refresh = _new_refresh(uow, stored.user_id, stored.family_id)
        user_id = stored.user_id
        uow.commit()
    return {"access_token": issue_access(uow.config, user_id), "refresh_token": refresh}


@retry_on_conflict
def logout(uow: UnitOfWork, *, refresh_token: object) -> None:
    with uow:
        stored = _locked(uow, refresh_token)
        _revoke_family(uow, stored.family_id)
        audit.append(uow, stream=audit.user_stream(stored.user_id), event="logout", actor_id=stored.user_id)
        uow.commit()


def _locked(uow: UnitOfWork, refresh_token: object) -> RefreshToken:
    if not isinstance(refresh_token, str) or not refresh_token:
        raise Unauthorized("A refresh token is required.")
    stored = uow.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _hash(refresh_token)).with_for_update()
    )
    if stored is None:
        raise Unauthorized("The refresh token is invalid.")
    return stored


def _revoke_family(uow: UnitOfWork, family_id: str) -> None:
    uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
