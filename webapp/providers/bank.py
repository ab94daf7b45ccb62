"""Bank payouts, as the services see them: a person's bank account registered with the payout provider,
which hands back an opaque token that later payouts name as their destination. We keep the token and the
last four digits, never the number (DESIGN §12).

    PAYOUT_PROVIDER=sandbox                  (the default) registers nothing anywhere; see SandboxPayouts
    PAYOUT_PROVIDER=stripe                   Stripe Payouts (providers/stripe_payouts.py)
    PAYOUT_PROVIDER=yourpackage.bank:Class   import that class and call Class(config) once per use

A provider is called outside any database transaction (DESIGN §6), by the payout job, with an idempotency
key derived from the payout's id: a second call with the same key must not pay twice.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from webapp.providers import configured

SANDBOX, STRIPE = "sandbox", "stripe"
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


class PayoutRejected(Exception):
    """The provider refuses this payout for good (the account is closed): it never will work. The message
    is for the person and names no number."""


@dataclass(frozen=True)
class PayoutOrder:
    """What to pay, to which account (the provider's token), under which idempotency key."""

    payout_id: str
    token: str
    amount: int  # minor units
    currency: str  # ISO 4217, upper case
    idempotency_key: str


@dataclass(frozen=True)
class PayoutReceipt:
    ref: str  # the provider's id for the payout
    paid: bool  # True: the money has left for the bank; False: accepted, its webhook will say how it ends


class PayoutProvider(Protocol):
    def tokenize_account(self, account: AccountDetails) -> str:
        """The provider's opaque token for the account, or AccountRejected, or ProviderDown."""

    def send_payout(self, order: PayoutOrder) -> PayoutReceipt:
        """Pay once per idempotency key, or PayoutRejected (never will work), or ProviderDown (may work later)."""


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

    def send_payout(self, order: PayoutOrder) -> PayoutReceipt:
        """Ending 0002: "account closed". Ending 0005: the first two calls with a key time out. Like a real
        bank it remembers each idempotency key: the call count lives in Redis when there is one, because
        each attempt may run in another worker process (a forked work horse); without Redis jobs run inline
        in one process, and a dict does. SANDBOX_PAYOUT_DELAY (seconds) makes every call slow, as a bank
        can be: tests kill a worker while a call is in flight."""
        call = self._count(order.idempotency_key)
        time.sleep(float(self.config.get("SANDBOX_PAYOUT_DELAY") or 0))  # the bank has it; its answer is slow
        last4 = self.last4_of(order.token)
        if last4 == "0002":
            raise PayoutRejected("The bank says this account is closed.")
        if last4 == "0005" and call <= 2:
            raise ProviderDown("The bank did not answer in time.")
        digest = hashlib.sha256(order.idempotency_key.encode()).hexdigest()[:24]
        return PayoutReceipt(ref=f"sandbox_po_{digest}", paid=True)  # the same key, the same payout

    _calls: Counter = Counter()
    _lock = threading.Lock()

    def _count(self, key: str) -> int:
        if self.config.get("REDIS_URL"):
            from webapp.background import redis_for

            redis, name = redis_for(self.config), f"ewallet:sandbox-payout-calls:{key}"
            with redis.pipeline() as pipe:
                calls, _ = pipe.incr(name).expire(name, 24 * 3600).execute()
            return int(calls)
        with self._lock:
            self._calls[key] += 1
            return self._calls[key]


def provider(config: dict) -> PayoutProvider:
    """The configured provider (see the module docstring)."""
    if (config.get("PAYOUT_PROVIDER") or SANDBOX) == STRIPE:  # imported only then: it loads the Stripe SDK
        from webapp.providers.stripe_payouts import StripePayoutProvider

        return StripePayoutProvider(config)
    return configured(config, "PAYOUT_PROVIDER", {SANDBOX: SandboxPayouts})
