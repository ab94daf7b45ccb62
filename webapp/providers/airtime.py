"""Mobile airtime, as the services see it: the operators we sell top-ups for, and the aggregator that
delivers them (DESIGN §2, §9).

    TOPUP_PROVIDER=sandbox                    (the default) delivers nothing; see SandboxTopups
    TOPUP_PROVIDER=webapp.providers.reloadly:ReloadlyTopups   Reloadly's Airtime API (providers/reloadly.py)
    TOPUP_PROVIDER=yourpackage.airtime:Class  import that class and call Class(config) once per use

Production needs a real adapter for an aggregator's HTTP API: providers/reloadly.py for Reloadly (DT One,
Ding and the like would be others). It implements TopupProvider, maps its operator ids to the ones below,
and is chosen by TOPUP_PROVIDER. A provider is called outside any database transaction (DESIGN §6), by
the top-up job, with an idempotency key derived from the top-up's id: a second call with the same key
must not top up twice, and answers with what became of the first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from webapp.providers import configured

SANDBOX = "sandbox"
COMPLETED, PENDING = "completed", "pending"  # TopupReceipt.status


@dataclass(frozen=True)
class Operator:
    """A mobile operator we sell airtime for, with the amounts the aggregator takes for it."""

    id: str
    name: str
    country: str  # ISO 3166-1 alpha-2
    currency: str  # ISO 4217: the currency the top-up is paid in
    min_amount: int  # minor units
    max_amount: int  # minor units
    carriers: tuple[str, ...] = ()  # the names libphonenumber's carrier data gives its number ranges

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "country": self.country, "currency": self.currency,
                "min_amount": self.min_amount, "max_amount": self.max_amount}


# The operators on sale, by country. Limits are the aggregator's per top-up, in minor units. US carrier
# data is empty (numbers move between carriers freely), so US numbers always need a chosen operator.
OPERATORS = (
    Operator("us-att", "AT&T", "US", "USD", 500, 10_000),
    Operator("us-tmobile", "T-Mobile", "US", "USD", 500, 10_000),
    Operator("us-verizon", "Verizon", "US", "USD", 1_000, 10_000),
    Operator("gb-ee", "EE", "GB", "GBP", 500, 5_000, ("EE", "Orange", "T-Mobile")),
    Operator("gb-o2", "O2", "GB", "GBP", 500, 5_000, ("O2",)),
    Operator("gb-three", "Three", "GB", "GBP", 500, 5_000, ("Three",)),
    Operator("gb-vodafone", "Vodafone", "GB", "GBP", 500, 5_000, ("Vodafone",)),
    Operator("ke-safaricom", "Safaricom", "KE", "KES", 1_000, 1_000_000, ("Safaricom",)),
    Operator("ke-airtel", "Airtel Kenya", "KE", "KES", 1_000, 1_000_000, ("Airtel",)),
    Operator("ke-telkom", "Telkom Kenya", "KE", "KES", 1_000, 500_000, ("Telkom",)),
    Operator("ng-mtn", "MTN Nigeria", "NG", "NGN", 5_000, 5_000_000, ("MTN",)),
    Operator("ng-airtel", "Airtel Nigeria", "NG", "NGN", 5_000, 5_000_000, ("Airtel",)),
    Operator("ng-glo", "Glo", "NG", "NGN", 5_000, 5_000_000, ("Glo",)),
    Operator("ng-9mobile", "9mobile", "NG", "NGN", 5_000, 5_000_000, ("9mobile", "Etisalat")),
    Operator("in-jio", "Jio", "IN", "INR", 1_000, 500_000, ("Reliance Jio",)),
    Operator("in-airtel", "Airtel India", "IN", "INR", 1_000, 500_000, ("Airtel",)),
    Operator("in-vi", "Vi (Vodafone Idea)", "IN", "INR", 1_000, 500_000, ("Vodafone", "Idea")),
)
BY_ID = {operator.id: operator for operator in OPERATORS}
COUNTRIES = tuple(dict.fromkeys(operator.country for operator in OPERATORS))


def operators_in(country: str | None = None) -> list[Operator]:
    return [operator for operator in OPERATORS if country is None or operator.country == country]


def operator_for_carrier(country: str, carrier: str) -> Operator | None:
    """The operator whose number ranges libphonenumber names `carrier` in `country`, if we sell it."""
    return next((o for o in OPERATORS if o.country == country and carrier in o.carriers), None) if carrier else None


class TopupRejected(Exception):
    """The operator refuses this top-up for good (the number cannot take airtime): it never will work. The
    message is for the person."""


class ProviderDown(Exception):
    """The aggregator could not be reached, timed out, or failed on its side: the same call may work later."""


@dataclass(frozen=True)
class TopupOrder:
    """What to send, to which number and operator, under which idempotency key."""

    topup_id: str
    mobile_number: str  # E.164
    operator: str  # Operator.id
    amount: int  # minor units
    currency: str  # ISO 4217, upper case
    idempotency_key: str
    attempt: int  # 1 for the first call with this key: kept on the top-up row, so it survives any process


@dataclass(frozen=True)
class TopupReceipt:
    ref: str  # the aggregator's id for the top-up: the person's receipt shows it
    status: str  # COMPLETED: delivered; PENDING: the operator has not confirmed yet, ask again with the key


class TopupProvider(Protocol):
    def send(self, order: TopupOrder) -> TopupReceipt:
        """Top up once per idempotency key, or TopupRejected (never will work), or ProviderDown (may work later)."""


class SandboxTopups:
    """Delivers nothing. Behaves by the number's last four digits, like Stripe's test cards (DESIGN §9):
    ending 0002 is refused, ending 0005 is pending on the first call and delivered on the next, anything
    else is delivered. The reference is the same for every call with one key, as a real aggregator's."""

    def __init__(self, config: dict):
        self.config = config

    def send(self, order: TopupOrder) -> TopupReceipt:
        ending = order.mobile_number[-4:]
        if ending == "0002":
            raise TopupRejected("The operator says this number can't receive top-ups.")
        ref = "sandbox_tu_" + hashlib.sha256(order.idempotency_key.encode()).hexdigest()[:24]
        if ending == "0005" and order.attempt <= 1:
            return TopupReceipt(ref=ref, status=PENDING)
        return TopupReceipt(ref=ref, status=COMPLETED)


def provider(config: dict) -> TopupProvider:
    """The configured provider (see the module docstring)."""
    return configured(config, "TOPUP_PROVIDER", {SANDBOX: SandboxTopups})
