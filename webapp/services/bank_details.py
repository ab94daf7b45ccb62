"""Bank details as a person types them, checked for real before anything is stored: an IBAN by its checksum
and its country's format (schwifty, which also names the bank where its registry knows it), or a US account
number with an ABA routing number and its checksum. Every problem of one submit is reported at once.

No message here repeats the number: schwifty's own messages do, so they are never passed on or chained."""

from __future__ import annotations

import re
import unicodedata
import warnings
from functools import cache

from babel import Locale
from schwifty import IBAN, exceptions, registry

from webapp.errors import FieldErrors, ValidationError
from webapp.money import check_currency
from webapp.providers.bank import IBAN as IBAN_KIND
from webapp.providers.bank import US_ACH, AccountDetails

MAX_HOLDER = 100  # bank_accounts.account_holder_name
US = "US"
ABA_WEIGHTS = (3, 7, 1) * 3
# Some countries' IBANs carry national check digits schwifty has no algorithm for: it accepts them unchecked
# (the IBAN's own checksum still holds) and warns on every such IBAN. That is expected here, not news.
warnings.filterwarnings("ignore", category=exceptions.NationalChecksumNotVerified)
# Regions CLDR names that are not ISO 3166-1 countries. XK (Kosovo) stays: it is user-assigned in ISO 3166,
# but SWIFT and the IBAN registry use it.
NOT_COUNTRIES = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → English name."""
    names = Locale("en").territories
    return {code: names[code] for code in names if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES}


@cache
def account_countries() -> list[tuple[str, str]]:
    """(code, name) of the countries an account can be in: the official IBAN registry's, and the US."""
    return sorted(((code, name) for code, name in countries().items() if code == US or _official_iban(code)),
                  key=lambda pair: pair[1])


def _official_iban(country: str) -> bool:
    spec = _iban_spec(country)
    return spec is not None and not spec.aspirational


def _iban_spec(country: str):
    try:
        return registry.get_iban_spec(country)
    except exceptions.InvalidCountryCode:
        return None


def _text(raw: object) -> str:
    if raw is not None and not isinstance(raw, str):
        raise ValidationError("Send this as text.")
    return raw or ""


def _compact(raw: object) -> str:
    """What people paste: "DE89 3704 0044…", "1234-5678": spaces and hyphens are not part of the number."""
    return re.sub(r"[\s-]+", "", _text(raw)).upper()


def check_holder(raw: object) -> str:
    name = re.sub(r"\s+", " ", unicodedata.normalize("NFC", _text(raw))).strip()
    if not name:
        raise ValidationError("Enter the name on the account.")
    if len(name) > MAX_HOLDER:
        raise ValidationError(f"Keep the name under {MAX_HOLDER + 1} characters.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in name):
        raise ValidationError("Use letters, spaces and punctuation.")
    return name


def check_country(raw: object) -> str:
    code = _text(raw).strip().upper()
    if code not in countries():
        raise ValidationError("Choose the account's country, by its two-letter code like DE or US.")
    return code


def check_iban(raw: object) -> IBAN:
    text = _compact(raw)
    if not text:
        raise ValidationError("Enter the account's IBAN.")
    spec = _iban_spec(text[:2])
    if spec is not None and spec.aspirational:  # reserved, not yet in the official registry: nobody pays to it
        raise ValidationError(f"IBANs starting {text[:2]} cannot receive payouts yet.")
    try:
        iban = IBAN(text, validate_bban=True)  # also the bank's own check digits, where schwifty has them
    except exceptions.SchwiftyException as error:
        raise ValidationError(_iban_problem(error, text[:2])) from None
    return iban


def _iban_problem(error: Exception, country: str) -> str:
    if isinstance(error, exceptions.InvalidCountryCode) or country not in countries():
        return "An IBAN starts with its country's two letters, like DE or GB."
    if isinstance(error, exceptions.InvalidLength):
        return f"IBANs starting {country} have {registry.get_iban_spec(country).iban_length} characters."
    if isinstance(error, exceptions.InvalidChecksumDigits | exceptions.InvalidBBANChecksum):
        return "This IBAN's check digits do not match: look for a typo."
    return f"This does not match the format of IBANs starting {country}: look for a typo."


def check_account_number(raw: object) -> str:
    number = _compact(raw)
    if not number:
        raise ValidationError("Enter the account number.")
    if not re.fullmatch(r"\d{4,17}", number):
        raise ValidationError("A US account number has 4 to 17 digits.")
    return number


def check_routing_number(raw: object) -> str:
    number = _compact(raw)
    if not number:
        raise ValidationError("Enter the 9-digit routing number.")
    if not re.fullmatch(r"\d{9}", number) or not aba_checksum_ok(number) or number == "0" * 9:
        raise ValidationError("This is not a valid routing number: it has 9 digits, look for a typo.")
    return number


def aba_checksum_ok(digits: str) -> bool:
    """ABA routing numbers: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) is a multiple of 10."""
    return sum(int(digit) * weight for digit, weight in zip(digits, ABA_WEIGHTS, strict=True)) % 10 == 0


def check(*, account_holder_name: object, iban: object, account_number: object, routing_number: object,
          currency: object, country: object) -> AccountDetails:
    """The account, checked; or one ValidationError naming every bad field."""
    problems = FieldErrors()
    common = {"holder_name": problems.check("account_holder_name", check_holder, account_holder_name),
              "country": problems.check("country", check_country, country),
              "currency": problems.check("currency", check_currency, currency)}
    details = None
    us = _given(account_number) or _given(routing_number)
    if _given(iban) and us:
        problems.add("iban", "Enter an IBAN, or a US account and routing number: not both.")
    elif us:
        details = _us_details(problems, account_number, routing_number, **common)
    else:
        details = _iban_details(problems, iban, **common)
    problems.raise_any()
    return details


def _given(raw: object) -> bool:
    return raw is not None and (not isinstance(raw, str) or raw.strip() != "")


def _iban_details(problems: FieldErrors, raw: object, *, holder_name, country, currency) -> AccountDetails | None:
    iban = problems.check("iban", check_iban, raw)
    if iban is not None and country is not None and iban.country_code != country:
        problems.add("country", f"This IBAN's country is {countries()[iban.country_code]} ({iban.country_code}): "
                                "choose it, or check the IBAN.")
    if problems:
        return None
    return AccountDetails(IBAN_KIND, holder_name, country, currency, iban.compact, bank_name=iban.bank_name)


def _us_details(problems: FieldErrors, account: object, routing: object, *, holder_name, country,
                currency) -> AccountDetails | None:
    number = problems.check("account_number", check_account_number, account)
    routing_number = problems.check("routing_number", check_routing_number, routing)
    if country not in (None, US):
        problems.add("country", "Account and routing numbers are for banks in the United States: choose US, "
                                "or enter an IBAN.")
    if currency not in (None, "USD"):
        problems.add("currency", "US bank accounts receive US dollars (USD).")
    if problems:
        return None
    return AccountDetails(US_ACH, holder_name, country, currency, number, routing_number=routing_number)
