"""One spelling per identifier (issue 8, point 1): emails, idempotency keys and display names, without a
database. The integration tests (tests/integration/test_identifiers.py) show what this means for money."""

from __future__ import annotations

import unicodedata

import pytest

from webapp.errors import ValidationError
from webapp.services.accounts import normalize_email
from webapp.services.idempotency import check_key
from webapp.services.profiles import check_display_name


@pytest.mark.parametrize(("typed", "stored"), [
    ("  Jose@Example.COM ", "jose@example.com"),
    ("jóse@example.com", "jóse@example.com"),  # an accent is another person, never folded away
    (unicodedata.normalize("NFD", "jóse@example.com"), "jóse@example.com"),  # NFC: one way to write ó
    ("ÉLAN@example.com", "élan@example.com"),
    ("ana@Bücher.DE", "ana@xn--bcher-kva.de"),  # IDNA: the domain as the DNS knows it
    ("ana@xn--bcher-kva.de", "ana@xn--bcher-kva.de"),
    ("ana@ｅxample.com", "ana@example.com"),  # full-width letters map as browsers map them (UTS 46)
    ("a@例え.jp", "a@xn--r8jz45g.jp"),
])
def test_emails_are_stored_in_one_spelling(typed, stored):
    assert normalize_email(typed) == stored


@pytest.mark.parametrize("typed", ["", "jose", "jose@", "@example.com", "jose@example", "jose@example.com.",
                                   "jose@exa mple.com", "jose@-example.com", "jose@a..com", "jose@@example.com",
                                   f"{'j' * 65}@example.com", f"j@{'a' * 64}.com", None, 42])
def test_what_is_not_an_address_is_a_field_error(typed):
    with pytest.raises(ValidationError) as refused:
        normalize_email(typed)
    assert refused.value.fields == {"email": "Enter a valid email address."}


@pytest.mark.parametrize("key", ["a", "Key-AbC-x", "kEY-aBc-X", "0123456789abcdef" * 2, "_-_", "k" * 255])
def test_keys_are_taken_exactly_as_sent(key):
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", " k", "k ", "k\n", "café-x", "k.1", "k/1", "k+1", "ｋ", "k" * 256, 7, None])
def test_other_keys_are_field_errors(key):
    with pytest.raises(ValidationError) as refused:
        check_key(key)
    assert set(refused.value.fields) == {"idempotency_key"}


@pytest.mark.parametrize(("typed", "kept"), [(None, None), ("", None), ("   ", None), (" Ana   María ", "Ana María"),
                                             ("Zoe\u0308", "Zoë"), ("O'Brien-Smith, Jr.", "O'Brien-Smith, Jr.")])
def test_display_names_are_trimmed_and_in_nfc(typed, kept):
    assert check_display_name(typed) == kept


@pytest.mark.parametrize("typed", ["bob@example.com", "Bob\u202eresu", "Bob\u200bSmith", "a\x00b", "x" * 81, 5])
def test_display_names_that_could_mislead_are_refused(typed):
    with pytest.raises(ValidationError) as refused:
        check_display_name(typed)
    assert set(refused.value.fields) == {"display_name"}
