"""Bank payouts, as the services see them: a person's bank account registered with the payout provider,
which hands back an opaque token that later payouts name as their destination. We keep the token and the
last four digits, never the number (DESIGN §12).

    PAYOUT_PROVIDER=sandbox                  (the default) registers nothing anywhere; see SandboxPayouts
    PAYOUT_PROVIDER=yourpackage.bank:Class   import that class and call Class(config) once per use

A provider is called outside any database transaction (DESIGN §6). Stripe Payouts (StripePayoutProvider)
arrives with the payouts themselves, and adds the payout call to this interface.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Protocol

from werkzeug.utils import import_string

from webapp.errors import ConfigurationError

SANDBOX = "sandbox"
IBAN, US_ACH = "iban", "us_ach"  # the two kinds of account: an IBAN, or a US account and ABA routing number


@dataclass(frozen=True)
class AccountDetails:
    """A checked account, on its way to the provider. It holds the full number, so it lives only for the
    request that adds the account: never stored, and its repr (in a traceback, a log line) leaves it out."""

    kind: str  # IBAN | US_ACH
    holder_name: str
    country: str  # ISO 3166-1 alpha-2
    currency: str  # ISO 4217
    number: str = field(repr=False)  # the IBAN, compact and upper case, or the US account number (digits)
    routing_number: str | None = None  # ABA, US_ACH only: public (printed on every cheque), so shown
    bank_name: str | None = None  # from schwifty's bank registry, where it knows the bank

    @property
    def last4(self) -> str:
        return self.number[-4:]


class AccountRejected(Exception):
    """The provider refuses this account for good (the bank says it does not exist, or is closed). The
    message is for the person adding it and names no number."""


class ProviderDown(Exception):
    """The provider could not be reached, timed out, or failed on its side: the same request may work later."""


class PayoutProvider(Protocol):
    def tokenize_account(self, account: AccountDetails) -> str:
        """The provider's opaque token for the account, or AccountRejected, or ProviderDown."""


class SandboxPayouts:
    """Registers nothing. Its token carries the account's last four digits, which decide how payouts to the
    account behave, like Stripe's test accounts (DESIGN §9): ending 0002 fails permanently, ending 0005
    times out twice and then succeeds, anything else succeeds."""

    PREFIX = "sandbox_ba_"

    def __init__(self, config: dict):
        self.config = config

    def tokenize_account(self, account: AccountDetails) -> str:
        return f"{self.PREFIX}{account.last4}_{secrets.token_hex(8)}"

    @classmethod
    def last4_of(cls, token: str) -> str:
        """The last four digits a sandbox token was made for."""
        return token.removeprefix(cls.PREFIX)[:4]


def provider(config: dict) -> PayoutProvider:
    """The configured provider (see the module docstring)."""
    name = config.get("PAYOUT_PROVIDER") or SANDBOX
    if name == SANDBOX:
        return SandboxPayouts(config)
    try:
        adapter = import_string(name)
    except ImportError as error:
        raise ConfigurationError(f"PAYOUT_PROVIDER={name!r} cannot be imported: {error}") from None
    return adapter(config)
