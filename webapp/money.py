"""Money: an integer count of minor units plus an ISO 4217 code. Exponents come from CLDR via Babel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision, get_territory_currencies

from webapp.errors import MixedCurrencyError, ValidationError

MAX_MINOR = 2**63 - 1  # BIGINT column; anything larger cannot be stored
# Offered first wherever a person picks a currency: the ones most wallets are opened in.
POPULAR = ("USD", "EUR", "GBP", "KES", "NGN", "GHS", "ZAR", "INR", "CAD", "AUD", "JPY", "AED")


@cache
def currencies() -> frozenset[str]:
    """ISO 4217 currencies that are legal tender somewhere today, per CLDR's territory data: money a wallet
    can hold. Withdrawn ones (DEM, HRK), funds and units (USN, CLF, XDR), metals and test codes are not."""
    today = date.today()
    return frozenset(code for territory in get_global("territory_currencies")
                     for code in get_territory_currencies(territory, today, tender=True))


def currency_choices() -> list[str]:
    """Every currency a wallet can hold, the popular ones first, then A to Z."""
    return [*POPULAR, *sorted(currencies() - set(POPULAR))]


def check_currency(code: object) -> str:
    if not isinstance(code, str) or code.upper() not in currencies():
        raise ValidationError.field("currency", "Choose a currency in use today, like USD or EUR.")
    return code.upper()


@cache
def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit: USD 2, JPY 0, KWD 3."""
    return get_currency_precision(currency)


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str

    def __post_init__(self):
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"Money amount must be an int of minor units, got {type(self.amount).__name__}")
        if not isinstance(self.currency, str) or len(self.currency) != 3:
            raise TypeError("Money currency must be an ISO 4217 code")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse what a person typed ("12.50", "1,000") into Money; too many decimal places is an error."""
        cleaned = str(text).strip().replace(",", "").replace(" ", "")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise ValidationError.field("amount", "Enter an amount like 12.50.") from None
        if not value.is_finite():
            raise ValidationError.field("amount", "Enter an amount like 12.50.")
        places = exponent(currency)
        minor = value.scaleb(places)
        if minor != minor.to_integral_value():
            unit = "no decimals" if places == 0 else f"at most {places} decimal places"
            raise ValidationError.field("amount", f"{currency} amounts have {unit}.")
        return cls(int(minor), currency)

    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MixedCurrencyError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._check(other).amount, self.currency)

    def __radd__(self, other):  # lets sum() start from 0
        if other == 0:
            return self
        return self.__add__(other)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._check(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._check(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._check(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._check(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._check(other).amount

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by an int")
        return Money(self.amount * factor, self.currency)

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def to_input(self) -> str:
        """The plain decimal a form field shows: "12.50", "1200" for JPY."""
        return f"{self.decimal:.{exponent(self.currency)}f}"

    def format(self, locale: str = "en_US") -> str:
        return format_currency(self.decimal, self.currency, locale=locale)

    def __str__(self) -> str:
        return f"{self.to_input()} {self.currency}"
