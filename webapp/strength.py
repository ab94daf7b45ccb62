"""How guessable a password or a secret is, by zxcvbn (Dropbox's estimator, maintained offline port): it
knows common and breached-password lists, English words and names, keyboard walks, dates, sequences,
repeats and l33t, and can be told the person's own email and phone (`user_inputs`)."""

from __future__ import annotations

import threading

from zxcvbn import zxcvbn

MAX_LENGTH = 72  # zxcvbn refuses longer input (its matching grows fast); the first 72 characters decide

# zxcvbn keeps each call's user_inputs in a module-level dictionary before matching, so two threads
# checking at once could each match against the other person's email. One call takes 2-40 ms.
_lock = threading.Lock()


def estimate(password: str, user_inputs: tuple[str, ...] = ()) -> dict:
    """zxcvbn's result: `score` 0-4, `guesses_log10`, and `feedback` {warning, suggestions}."""
    inputs = [part for value in user_inputs if value for part in _parts(value)]
    with _lock:
        return zxcvbn(password[:MAX_LENGTH], user_inputs=inputs)


def _parts(value: str) -> list[str]:
    """An email counts whole and by its name and domain; a phone number whole and by the digits people
    type (the national number, the last seven)."""
    name, at, domain = value.partition("@")
    if at:
        return [value, name, domain.split(".")[0]]
    digits = value.lstrip("+")
    return [value, digits, digits[-10:], digits[-7:]]


def uses_own_details(result: dict) -> bool:
    """True when zxcvbn found the person's email or phone (the user_inputs) inside the password."""
    return any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"])
