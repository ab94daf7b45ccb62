from decimal import Decimal

import pytest

from webapp.errors import MixedCurrencyError, ValidationError
from webapp.money import Money, check_currency, exponent


@pytest.mark.parametrize(("currency", "places"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3)])
def test_exponents_come_from_iso_4217(currency, places):
    assert exponent(currency) == places


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.34", "USD", 1234),
        ("12.5", "USD", 1250),
        ("1,000", "USD", 100000),
        (" 0.01 ", "USD", 1),
        ("1200", "JPY", 1200),
        ("1.234", "KWD", 1234),
        ("0.5", "KWD", 500),
    ],
)
def test_parse_typed_amounts(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.345", "USD"),
        ("1.5", "JPY"),
        ("1.2345", "KWD"),
        ("abc", "USD"),
        ("", "USD"),
        ("NaN", "USD"),
        ("1e999x", "USD"),
    ],
)
def test_parse_refuses_too_many_places_and_garbage(text, currency):
    with pytest.raises(ValidationError) as caught:
        Money.parse(text, currency)
    assert "amount" in caught.value.details["fields"]


@pytest.mark.parametrize(
    ("money", "shown", "plain"),
    [
        (Money(123456, "USD"), "$1,234.56", "1234.56"),
        (Money(1200, "JPY"), "¥1,200", "1200"),
        (Money(1234, "KWD"), "KWD1.234", "1.234"),
    ],
)
def test_format_for_people_and_forms(money, shown, plain):
    assert money.format() == shown
    assert money.to_input() == plain
    assert money.decimal == Decimal(plain)


def test_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(12.5, "USD")
    with pytest.raises(TypeError):
        Money(True, "USD")
    with pytest.raises(MixedCurrencyError):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(MixedCurrencyError):
        assert Money(1, "USD") < Money(2, "JPY")


def test_sum_and_arithmetic():
    assert sum([Money(1, "USD"), Money(2, "USD"), Money(3, "USD")]) == Money(6, "USD")
    assert Money(5, "USD") - Money(7, "USD") == Money(-2, "USD")
    assert -Money(5, "JPY") == Money(-5, "JPY")
    assert Money(5, "USD") * 3 == Money(15, "USD")


def test_currency_codes_are_checked():
    assert check_currency("usd") == "USD"
    for bad in ("ZZZ", "XXX", "US", 12, None, "DEM", "HRK", "USN", "CLF", "XTS", "XAU"):
        with pytest.raises(ValidationError):
            check_currency(bad)
