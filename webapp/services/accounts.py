"""Sign-up and login: Argon2id hashes, E.164 phones, lockout after repeated failures, all audited."""

from __future__ import annotations

import re
from datetime import timedelta

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import AccountLocked, FieldErrors, Unauthorized, ValidationError
from webapp.models import User
from webapp.models.base import utcnow
from webapp.services import audit, wallets

hasher = PasswordHasher()  # argon2id with the library's current recommended cost
_DUMMY_HASH = hasher.hash("timing-equalizer")  # verified against for unknown emails, so timing leaks nothing
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD = 10


def normalize_email(raw: object) -> str:
    email = raw.strip().lower() if isinstance(raw, str) else ""
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ValidationError.field("email", "Enter a valid email address.")
    return email


def normalize_phone(raw: object, region: str = "US") -> str:
    """E.164 via libphonenumber: "+1 (415) 555-0123" and "4155550123" (in the US) both give +14155550123."""
    try:
        number = phonenumbers.parse(raw if isinstance(raw, str) else "", region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError.field("phone", "Enter a valid mobile number with its country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_password(raw: object) -> str:
    if not isinstance(raw, str) or len(raw) < MIN_PASSWORD or len(raw) > 1024:
        raise ValidationError.field("password", f"Use at least {MIN_PASSWORD} characters.")
    return raw


@retry_on_conflict
def register(uow: UnitOfWork, *, email: object, password: object, phone: object) -> User:
    problems = FieldErrors()
    email = problems.check("email", normalize_email, email)
    phone = problems.check("phone", normalize_phone, phone, uow.config.get("DEFAULT_PHONE_REGION", "US"))
    problems.check("password", check_password, password)
    problems.raise_any()
    password_hash = hasher.hash(password)
    with uow:
        taken = uow.session.scalars(select(User).where((User.email == email) | (User.phone == phone))).all()
        wanted = {"email": email, "phone": phone}
        for other in taken:
            for field, value in wanted.items():
                if getattr(other, field) == value:
                    problems.add(field, f"This {field} is already registered.")
        problems.raise_any()
        user = User(email=email, phone=phone, password_hash=password_hash)
        uow.session.add(user)
        try:
            uow.session.flush()
        except IntegrityError as error:  # a twin sign-up committed between our SELECT and our INSERT
            field = "phone" if "phone" in str(error.orig) else "email"
            raise ValidationError.field(field, f"This {field} is already registered.") from None
        audit.open_stream(uow, audit.user_stream(user.id))
        wallets.open_wallet_in_uow(uow, user_id=user.id, currency=uow.config.get("DEFAULT_CURRENCY", "USD"))
        audit.append(uow, stream=audit.user_stream(user.id), event="register", actor_id=user.id)
        uow.commit()
    return user


@retry_on_conflict
def authenticate(uow: UnitOfWork, *, email: object, password: object) -> User:
    """Return the user, or raise Unauthorized. The failure counter commits even though we raise."""
    email = email.strip().lower() if isinstance(email, str) else ""
    password = password if isinstance(password, str) else ""
    with uow:
        user = uow.session.scalar(select(User).where(User.email == email).with_for_update())
        if user is None:
            _verify(_DUMMY_HASH, password)
            audit.append(uow, stream=audit.SYSTEM, event="login_failed", data={"reason": "unknown_email"})
            uow.commit()
            raise Unauthorized("Email or password is incorrect.")
        if user.locked_until and user.locked_until > utcnow():
            audit.append(uow, stream=audit.user_stream(user.id), event="login_failed", actor_id=user.id,
                         data={"reason": "locked"})
            uow.commit()
            raise AccountLocked()
        if not _verify(user.password_hash, password):
            _record_failure(uow, user)
            uow.commit()
            raise Unauthorized("Email or password is incorrect.")
        user.failed_logins, user.locked_until = 0, None
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        audit.append(uow, stream=audit.user_stream(user.id), event="login", actor_id=user.id)
        uow.commit()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _record_failure(uow: UnitOfWork, user: User) -> None:
    user.failed_logins += 1
    stream = audit.user_stream(user.id)
    audit.append(uow, stream=stream, event="login_failed", actor_id=user.id, data={"reason": "password"})
    if user.failed_logins >= uow.config.get("LOGIN_MAX_FAILURES", 5):
        user.failed_logins = 0
        user.locked_until = utcnow() + timedelta(seconds=uow.config.get("LOGIN_LOCKOUT_SECONDS", 900))
        audit.append(uow, stream=stream, event="lockout", actor_id=user.id,
                     data={"until": user.locked_until.isoformat()})


def get_user(uow: UnitOfWork, user_id: str) -> User | None:
    with uow:
        return uow.session.get(User, user_id)
