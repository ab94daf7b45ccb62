"""Text messages, behind one small interface so a real gateway is a configuration away.

    SMS_PROVIDER=sandbox                      (the default) print the message, keep it for tests, send nothing
    SMS_PROVIDER=yourpackage.sms:GatewaySms   import that class and call GatewaySms(app.config) once per send

A gateway class needs only `send(to, text)`, raising SmsError when the message did not go (the job that
called it is then retried later, see webapp/background.py). It reads its own settings (API keys, sender
id) from the config it is given, i.e. from the environment like every other setting.

The sandbox prints the text, a one-time code included, to the console, which is what `ewallet dev` wants
and what a production log must never hold: with EWALLET_ENV=production it prints nothing and only logs,
without the code, that nothing was delivered.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Protocol

from webapp.models.users import mask_phone
from webapp.providers import configured

log = logging.getLogger(__name__)
SANDBOX = "sandbox"


class SmsError(Exception):
    """A message could not be sent. Carries no number and no text: the text may be a one-time code."""


class SmsProvider(Protocol):
    def send(self, to: str, text: str) -> None:
        """Send `text` to the E.164 number `to`, or raise SmsError."""


class SandboxSms:
    """Sends nothing. Keeps the last messages in this process (`SandboxSms.sent`), so a test can read the
    code it was "texted", and prints them outside production, so a developer can type it in."""

    sent: deque[tuple[str, str]] = deque(maxlen=200)  # (to, text), newest last; shared by every instance
    _lock = threading.Lock()

    def __init__(self, config: dict):
        self.quiet = config.get("EWALLET_ENV") == "production"

    def send(self, to: str, text: str) -> None:
        if self.quiet:
            log.warning("SMS_PROVIDER=sandbox: a text to %s was not delivered; configure a gateway", mask_phone(to))
            return
        with self._lock:
            self.sent.append((to, text))
        print(f"[sms sandbox] to {to}: {text}", flush=True)  # noqa: T201 - the sandbox's whole job

    @classmethod
    def last_to(cls, to: str) -> str | None:
        """The newest text "sent" to `to` in this process, or None."""
        with cls._lock:
            return next((text for number, text in reversed(cls.sent) if number == to), None)


def provider(config: dict) -> SmsProvider:
    """The configured provider (see the module docstring)."""
    return configured(config, "SMS_PROVIDER", {SANDBOX: SandboxSms})
