"""Sign-up and login: Argon2id hashes, E.164 phones, strong new passwords, failed logins blocked per email
and client address (services/login_guard.py), all audited."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import idna
import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import get_default_parameters
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import FieldErrors, Unauthorized, ValidationError
from webapp.models import User
from webapp.models.base import utcnow
from webapp.services import audit, login_guard, profiles, verification, wallets
from webapp.strength import estimate, uses_own_details

RECOMMENDED = get_default_parameters()  # argon2id, the library's recommended cost (RFC 9106)


def hasher_for(config) -> PasswordHasher:
    """The argon2id hasher at the configured cost (ARGON2_TIME_COST passes over ARGON2_MEMORY_COST KiB),
    the library's recommended cost when unset; password hashes and transaction PINs both use it. Only the
    tests configure less, and production refuses less (config.check_production)."""
    return _hasher(config.get("ARGON2_TIME_COST", RECOMMENDED.time_cost),
                   config.get("ARGON2_MEMORY_COST", RECOMMENDED.memory_cost))


@cache
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)  # argon2id, 4 lanes


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when no real check is due: at the hasher's own cost, so it takes the same time."""
    return hasher.hash("timing-equalizer")


hasher = hasher_for({})  # the recommended cost, for callers with no config at hand
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD = 10
MIN_SCORE = 3  # zxcvbn's "safely unguessable" (~10^8 guesses and up): below it, the password is refused
# Unknown email, wrong password and a blocked (email, address) pair all get this, in about the same time.
LOGIN_REFUSED = ("Email or password is incorrect. After several failed attempts, signing in from here "
                 "pauses for a while.")


def normalize_email(raw: object) -> str:
    """The one spelling of an address that is stored and compared (byte for byte, under the binary
    collation): the domain lower-cased and IDNA-encoded ("Bücher.DE" → "xn--bcher-kva.de"), so a domain
    typed in Unicode or in punycode is one domain; the local part in Unicode NFC, so a composed "é" and
    "e" + combining accent are one letter. The local part is also lower-cased: RFC 5321 lets a mail
    server tell "Jose" from "jose", but people type their address in any case, and every existing
    account is stored lower-cased. Accents are kept: "jóse" and "jose" are two people."""
    local, at, domain = raw.strip().rpartition("@") if isinstance(raw, str) else ("", "", "")
    local = unicodedata.normalize("NFC", local.lower())  # after lower(): "İ".lower() is not NFC
    try:
        # uts46 maps the domain as browsers do (case, full-width letters) before encoding it
        domain = idna.encode(domain, uts46=True).decode("ascii") if at and not domain.endswith(".") else ""
    except UnicodeError:  # idna.IDNAError and the codec's own errors
        domain = ""
    email = f"{local}@{domain}"
    if not domain or len(email) > 254 or not EMAIL_RE.match(email):
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


def check_password(raw: object, *, user_inputs: tuple[str | None, ...] = ()) -> str:
    """A new password: long enough, and not guessable by zxcvbn from common and breached-password lists,
    words, patterns, or the person's own email and phone (`user_inputs`). The reason is the message."""
    if not isinstance(raw, str) or len(raw) < MIN_PASSWORD or len(raw) > 1024:
        raise ValidationError.field("password", f"Use at least {MIN_PASSWORD} characters.")
    result = estimate(raw, tuple(value for value in user_inputs if value))
    if result["score"] < MIN_SCORE:
        raise ValidationError.field("password", _weakness(result))
    return raw


def _weakness(result: dict) -> str:
    if result["feedback"]["warning"]:
        return f"{result['feedback']['warning']} Choose a harder one."
    if uses_own_details(result):
        return "Don't build your password from your email or phone number."
    return "This password is too easy to guess. Add another word or two; uncommon words are better."


@retry_on_conflict
def register(uow: UnitOfWork, *, email: object, password: object, phone: object, display_name: object = None,
             verified: bool = False) -> User:
    """A new account with a wallet. Its email and phone find it for senders only once confirmed, so the
    confirmation link is mailed after commit; `verified` is for operators who vouch for both contacts
    (`ewallet dev`'s demo users, `ewallet create-admin`): confirmed at once, nothing mailed."""
    problems = FieldErrors()
    email = problems.check("email", normalize_email, email)
    phone = problems.check("phone", normalize_phone, phone, uow.config.get("DEFAULT_PHONE_REGION", "US"))
    problems.check("password", check_password, password, user_inputs=(email, phone))
    name = problems.check("display_name", profiles.check_display_name, display_name)
    problems.raise_any()
    password_hash = hasher_for(uow.config).hash(password)
    with uow:
        taken = uow.session.scalars(select(User).where((User.email == email) | (User.phone == phone))).all()
        wanted = {"email": email, "phone": phone}
        for other in taken:
            for field, value in wanted.items():
                if getattr(other, field) == value:
                    problems.add(field, f"This {field} is already registered.")
        problems.raise_any()
        confirmed = utcnow() if verified else None
        user = User(email=email, phone=phone, password_hash=password_hash, display_name=name,
                    email_verified_at=confirmed, phone_verified_at=confirmed)
        uow.session.add(user)
        try:
            uow.session.flush()
        except IntegrityError as error:  # a twin sign-up committed between our SELECT and our INSERT
            field = "phone" if "phone" in str(error.orig) else "email"
            raise ValidationError.field(field, f"This {field} is already registered.") from None
        audit.open_stream(uow, audit.user_stream(user.id))
        wallets.open_wallet_in_uow(uow, user_id=user.id, currency=uow.config.get("DEFAULT_CURRENCY", "USD"))
        audit.append(uow, stream=audit.user_stream(user.id), event="register", actor_id=user.id)
        if not verified:
            verification.after_signup(uow, user_id=user.id)
        uow.commit()
    return user


def authenticate(uow: UnitOfWork, *, email: object, password: object, client_address: str) -> User:
    """Return the user, or raise Unauthorized. The password is checked outside any transaction (Argon2
    takes ~50 ms); when there is no account or the pair is blocked, a dummy hash takes its place."""
    email, password = _login_email(email), password if isinstance(password, str) else ""
    key = login_guard.key_for(email, client_address)
    with uow:
        user = uow.session.scalar(select(User).where(User.email == email))
        blocked = login_guard.is_blocked(uow, key)
    real = user is not None and not blocked
    dummy = _dummy_hash(hasher_for(uow.config))
    verified = verify_password(user.password_hash if real else dummy, password) and real
    return _settle(uow, user=user, key=key, verified=verified, password=password, address=client_address)


@retry_on_conflict
def _settle(uow: UnitOfWork, *, user: User | None, key: str, verified: bool, password: str, address: str) -> User:
    """Record the attempt under the pair's row lock; the failure and its audit commit even though we raise."""
    with uow:
        row = login_guard.locked_row(uow, key)
        stream = audit.user_stream(user.id) if user is not None else audit.SYSTEM
        actor_id = user.id if user is not None else None
        until = None
        if login_guard.blocked(row):
            reason = "locked"
        elif verified:
            login_guard.clear(uow, key)
            configured = hasher_for(uow.config)
            if configured.check_needs_rehash(user.password_hash):
                new_hash = configured.hash(password)
                uow.session.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
            audit.append(uow, stream=stream, event="login", actor_id=actor_id)
            uow.commit()
            return user
        else:
            reason = "password" if user is not None else "unknown_email"
            until = login_guard.record_failure(uow, key, row)
        audit.append(uow, stream=stream, event="login_failed", actor_id=actor_id, data={"reason": reason})
        if until is not None:
            login_guard.locked_out(uow, user_id=actor_id, until=until, address=address)
        uow.commit()
    raise Unauthorized(LOGIN_REFUSED)


def _login_email(raw: object) -> str:
    """The email as sign-up stored it; a malformed one is looked up (and counted) as typed, and finds no one."""
    try:
        return normalize_email(raw)
    except ValidationError:
        return raw.strip().lower() if isinstance(raw, str) else ""


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user(uow: UnitOfWork, user_id: str) -> User | None:
    with uow:
        return uow.session.get(User, user_id)
