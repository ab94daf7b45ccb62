"""API credentials: short-lived JWT access tokens and rotating refresh tokens stored only as hashes.

Presenting a refresh token that was already spent means it leaked: the whole family is revoked, so the
thief's copy and the owner's newest one stop working together (OAuth 2.0 Security BCP §4.14).

Access tokens are signed with their own key (JWT_SECRET_KEY), name their issuer and audience, and carry
the user's session epoch (`ep`). A password change or reset and "sign out everywhere" bump the epoch
(services/sessions.py), and `check_access` compares it with the user row on every request, so every
access token issued before stops at once instead of living out its 15 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import bindparam, select, update

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import Unauthorized
from webapp.models import RefreshToken, User
from webapp.models.base import new_id, utcnow
from webapp.prepared import Prepared
from webapp.services import audit

ALGORITHM = "HS256"
INVALID = "The access token is invalid or expired."


def issue_access(config: dict, user_id: str, epoch: int) -> str:
    now = datetime.now(UTC)
    claims = {"sub": user_id, "typ": "access", "iat": now, "jti": new_id(), "ep": epoch,
              "iss": config["JWT_ISSUER"], "aud": config["JWT_AUDIENCE"],
              "exp": now + timedelta(seconds=config["JWT_ACCESS_TTL"])}
    return jwt.encode(claims, config["JWT_SECRET_KEY"], algorithm=ALGORITHM)


# One indexed read by primary key on every API request, so it skips the ORM and SQLAlchemy's execution
# layer like the transfer path's statements (webapp/prepared.py).
_EPOCH = Prepared(select(User.session_epoch).where(User.id == bindparam("user_id")))


def check_access(uow: UnitOfWork, *, token: str) -> str:
    """The user id of a valid access token whose epoch is still the user's: a password change, a reset or
    "sign out everywhere" since it was issued (or a deleted account) makes it 401."""
    user_id, epoch = verify_access(uow.config, token)
    with uow:
        row = uow.execute(_EPOCH, {"user_id": user_id}).first()
        uow.commit()  # ends the read-only transaction now: the pool then returns the connection as is
    if row is None or row[0] != epoch:
        raise Unauthorized(INVALID)
    return user_id


# A client sends the same access token with every request until it expires, and PyJWT's decode (strict
# base64 checks, JSON, HMAC) is ~35 µs of CPU each time. A token that verified once stays valid until its
# `exp`, so remember it until then. Keys are the secret and the token's SHA-256, so the cache holds nothing
# that could be replayed, and only verified tokens get in, so forged ones can't push real ones out.
# The cache answers only for the signature and claims; the epoch is compared with the database each time.
VERIFIED_LIMIT = 10_000
_verified: dict[tuple, tuple[str, int, int]] = {}  # -> (user id, epoch, exp in epoch seconds)


def verify_access(config: dict, token: str) -> tuple[str, int]:
    """(user id, session epoch) inside a valid access token: HS256 under JWT_SECRET_KEY only (`alg: none`
    and friends fail), our issuer and audience, not expired."""
    key = (config["JWT_SECRET_KEY"], config["JWT_ISSUER"], config["JWT_AUDIENCE"],
           hashlib.sha256(token.encode()).digest())
    user_id, epoch, expires = _verified.get(key, (None, 0, 0))
    if time.time() < expires:  # PyJWT's own test: expired once exp <= now
        return user_id, epoch
    user_id, epoch, expires = _decode_access(config, token)
    if len(_verified) >= VERIFIED_LIMIT:
        _verified.clear()  # crude, but bounded and rare: a refill costs one decode per live token
    _verified[key] = (user_id, epoch, expires)
    return user_id, epoch


def _decode_access(config: dict, token: str) -> tuple[str, int, int]:
    try:
        claims = jwt.decode(token, config["JWT_SECRET_KEY"], algorithms=[ALGORITHM],
                            issuer=config["JWT_ISSUER"], audience=config["JWT_AUDIENCE"],
                            options={"require": ["exp", "sub", "iat", "iss", "aud", "ep"]})
    except jwt.PyJWTError:
        raise Unauthorized(INVALID) from None
    epoch = claims["ep"]
    if claims.get("typ") != "access" or not isinstance(epoch, int) or isinstance(epoch, bool):
        raise Unauthorized(INVALID)
    return claims["sub"], epoch, int(claims["exp"])


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_refresh(uow: UnitOfWork, user_id: str, family_id: str) -> str:
    token = secrets.token_urlsafe(32)
    ttl = timedelta(seconds=uow.config.get("JWT_REFRESH_TTL", 30 * 24 * 3600))
    uow.session.add(RefreshToken(user_id=user_id, family_id=family_id, token_hash=_hash(token),
                                 expires_at=utcnow() + ttl))
    return token


def start_session(uow: UnitOfWork, *, user: User) -> dict:
    """A fresh token pair after a successful login, sign-up or password change."""
    with uow:
        refresh = _new_refresh(uow, user.id, new_id())
        uow.commit()
    return {"access_token": issue_access(uow.config, user.id, user.session_epoch), "refresh_token": refresh}


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
        epoch = uow.session.scalar(select(User.session_epoch).where(User.id == user_id))
        uow.commit()
    return {"access_token": issue_access(uow.config, user_id, epoch), "refresh_token": refresh}


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
