"""What a top-up asks for, checked before any money is held: the number (a real mobile number, parsed by
libphonenumber), the operator (detected from the number's range where the carrier data knows it, else the
one chosen from the list), and the amount within that operator's limits and in the wallet's currency.

Every problem is reported at once, each under its field (FieldErrors), so the API answers one 422 with all
of them and the web form shows each next to its field.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, carrier, geocoder

from webapp.errors import FieldErrors, ValidationError
from webapp.money import MAX_MINOR, Money
from webapp.providers import airtime
from webapp.providers.airtime import Operator

MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
NUMBER = "mobile_number"


@dataclass(frozen=True)
class Target:
    """A top-up that checked out: where, through whom, how much."""

    number: str  # E.164
    country: str  # ISO 3166-1 alpha-2
    operator: Operator
    amount: Money

    @property
    def shown(self) -> str:
        """The number as people write it internationally: "+254 712 340002"."""
        return phonenumbers.format_number(phonenumbers.parse(self.number), PhoneNumberFormat.INTERNATIONAL)


@dataclass(frozen=True)
class Number:
    e164: str
    country: str
    detected: Operator | None  # from the carrier data, when it names an operator we sell


def check(*, mobile_number: object, operator: object, amount: object, currency: str,
          region: str | None = None) -> Target:
    """The top-up of `amount` (minor units) from a `currency` wallet, or a ValidationError naming every bad
    field. `region` reads a number written without its country code (the person's own country)."""
    problems = FieldErrors()
    number = problems.check(NUMBER, parse_number, mobile_number, region)
    chosen = problems.check("operator", choose_operator, number, operator) if number else None
    money = problems.check("amount", check_amount, amount, chosen, currency)
    if chosen is not None and chosen.currency != currency:
        problems.add("wallet_id", f"{chosen.name} top-ups are paid in {chosen.currency}: use a "
                                  f"{chosen.currency} wallet.")
    problems.raise_any()
    return Target(number.e164, number.country, chosen, money)


def parse_number(raw: object, region: str | None = None) -> Number:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError.field(NUMBER, "Enter the mobile number to top up.")
    try:
        parsed = phonenumbers.parse(raw[:40], region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ValidationError.field(NUMBER, "Enter a valid mobile number with its country code, e.g. +254 712 345678.")
    if phonenumbers.number_type(parsed) not in MOBILE_TYPES:
        raise ValidationError.field(NUMBER, "This is not a mobile number: airtime goes to mobile phones only.")
    country = phonenumbers.region_code_for_number(parsed)
    if not airtime.operators_in(country):
        where = geocoder.country_name_for_number(parsed, "en") or country
        raise ValidationError.field(NUMBER, f"We can't top up numbers in {where} yet.")
    detected = airtime.operator_for_carrier(country, carrier.name_for_number(parsed, "en"))
    return Number(phonenumbers.format_number(parsed, PhoneNumberFormat.E164), country, detected)


def choose_operator(number: Number, chosen: object) -> Operator:
    """The operator the person chose (numbers move between operators, so their word wins over the carrier
    data), else the one the number's range belongs to."""
    if chosen not in (None, ""):
        operator = airtime.BY_ID.get(chosen) if isinstance(chosen, str) else None
        if operator is None or operator.country != number.country:
            raise ValidationError.field("operator", "Choose one of the operators for this number's country.")
        return operator
    if number.detected is None:
        raise ValidationError.field("operator", "We can't tell this number's operator: choose it from the list.")
    return number.detected


def check_amount(amount: object, operator: Operator | None, currency: str) -> Money:
    """Whole minor units, and within the operator's limits when the operator takes this currency."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_MINOR:
        raise ValidationError.field("amount", "Send a whole number of minor units (cents), greater than zero.")
    money = Money(amount, currency)
    if operator is not None and operator.currency == currency and \
            not operator.min_amount <= amount <= operator.max_amount:
        low, high = Money(operator.min_amount, currency), Money(operator.max_amount, currency)
        raise ValidationError.field("amount", f"{operator.name} top-ups are {low.format()} to {high.format()}.")
    return money


def region_of(phone: str | None) -> str | None:
    """The country of a person's own number (E.164), to read numbers they write without a country code."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone)) if phone else None
    except phonenumbers.NumberParseException:
        return None
