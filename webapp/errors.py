"""Domain errors. Each carries a stable `code` that the API and the web pages map to what a user sees."""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """The process is misconfigured and must not start."""


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details or {}


class ValidationError(DomainError):
    code = "VALIDATION_ERROR"
    default_message = "Some fields are not valid."

    @classmethod
    def field(cls, name: str, message: str) -> ValidationError:
        return cls(message, details={"fields": {name: message}})

    @property
    def fields(self) -> dict[str, str]:
        return (self.details or {}).get("fields") or {}


class FieldErrors:
    """Collects every field problem of one request, so a person fixes a whole form in one go (and an API
    client gets every bad field in one answer) instead of meeting the errors one submit at a time.

        problems = FieldErrors()
        email = problems.check("email", normalize_email, raw_email)
        phone = problems.check("phone", normalize_phone, raw_phone)
        problems.raise_any()
    """

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)  # the first problem found for a field is the one to fix first

    def check(self, name: str, parse, *args, **kwargs):
        """`parse(*args, **kwargs)`, or None with its problem recorded. A ValidationError keeps the fields it
        names; any other domain error (an unknown recipient, say) is recorded against `name`."""
        try:
            return parse(*args, **kwargs)
        except ValidationError as error:
            for field, message in (error.fields or {name: error.message}).items():
                self.add(field, message)
        except DomainError as error:
            self.add(name, error.message)
        return None

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_any(self, message: str | None = None) -> None:
        """One problem is its own message; several are summed up, each still under its field."""
        if self.fields:
            only = next(iter(self.fields.values())) if len(self.fields) == 1 else None
            message = message or only or "Some fields are not valid."
            raise ValidationError(message, details={"fields": dict(self.fields)})


class Unauthorized(DomainError):
    code = "UNAUTHORIZED"
    default_message = "Authentication is required."


class Forbidden(DomainError):
    code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class NotFound(DomainError):
    code = "NOT_FOUND"
    default_message = "Not found."


class InsufficientFunds(DomainError):
    code = "INSUFFICIENT_FUNDS"
    default_message = "Not enough available balance."


class CurrencyMismatch(DomainError):
    code = "CURRENCY_MISMATCH"
    default_message = "The currencies do not match."


class LimitExceeded(DomainError):
    code = "LIMIT_EXCEEDED"
    default_message = "This exceeds your limit."


class KycRequired(DomainError):
    code = "KYC_REQUIRED"
    default_message = "Verify your identity to do this."


class AccountFrozen(DomainError):
    code = "ACCOUNT_FROZEN"
    default_message = "This account is frozen."


class PinRequired(DomainError):
    """The person set a transaction PIN, and this movement of money came without it."""

    code = "PIN_REQUIRED"
    default_message = "Enter your 4-digit transaction PIN to confirm."


class PinInvalid(DomainError):
    """A wrong transaction PIN (`details.attempts_left`), or outgoing money locked after too many of them
    (`details.locked_until`, when even the right PIN is refused)."""

    code = "PIN_INVALID"
    default_message = "That PIN is not right."


class IdempotencyConflict(DomainError):
    code = "IDEMPOTENCY_CONFLICT"
    default_message = "This idempotency key was already used with a different request."


class BelowZero(AccountFrozen):
    """A card refund or chargeback took a wallet below zero: it sends nothing until it is back at zero."""

    default_message = ("This wallet is below zero after a card payment was refunded or disputed. Add money "
                       "to bring it back to zero before sending.")


class ProviderUnavailable(DomainError):
    """A payment provider could not be reached or failed on its side (a timeout, a 5xx): nothing was paid,
    and the same request with a new idempotency key may work in a minute."""

    code = "PROVIDER_UNAVAILABLE"
    default_message = "Card payments are unavailable right now. Try again in a minute."
    retry_after = 60  # seconds, sent as Retry-After


class ServiceUnavailable(DomainError):
    """Our own database could not be reached, or stayed busy, past the retry budget (webapp/db.py), or
    its connection was lost during a COMMIT that no idempotency key can settle. Money requests carry keys,
    so resending one with the same key never moves money twice."""

    code = "SERVICE_UNAVAILABLE"
    default_message = "We can't reach our records right now. Nothing was sent twice; please try again in a moment."
    retry_after = 5  # seconds, sent as Retry-After: a failover or a restart takes a few


# --- Ledger invariants: these are bugs, never user errors. -------------------------------------------


class LedgerError(Exception):
    """A ledger invariant would be broken; the unit of work must roll back."""


class UnbalancedEntryError(LedgerError):
    """Postings of one journal entry do not sum to zero in some currency."""


class MixedCurrencyError(LedgerError, TypeError):
    """Money of two currencies was combined."""


class StaleWalletError(LedgerError):
    """A conditional wallet update touched no row: the cached balance would go wrong."""
