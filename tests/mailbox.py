"""A real SMTP server for the test run (aiosmtpd on a free loopback port): the app sends over SMTP exactly as
in production, and tests read what arrived instead of trusting a mock."""

from __future__ import annotations

import logging
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd's handler: keeps every message it accepts, per recipient, and lets tests wait for one."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(([rcpt.lower() for rcpt in envelope.rcpt_tos], message))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """Every message to `address` so far, oldest first."""
        with self._arrived:
            return [message for rcpts, message in self.messages if address.lower() in rcpts]

    def wait_for(self, address: str, *, count: int = 1, timeout: float = 10) -> EmailMessage:
        """The newest message to `address` once at least `count` have arrived for it."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(found := self.to(address)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} message(s) to {address} after {timeout}s, wanted {count}")
                self._arrived.wait(left)
        return found[-1]


class SmtpServer:
    def __init__(self, **controller_options) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **controller_options)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return self.mailbox.to(address)

    def wait_for(self, address: str, *, count: int = 1, timeout: float = 10) -> EmailMessage:
        return self.mailbox.wait_for(address, count=count, timeout=timeout)


def body(message: EmailMessage) -> str:
    """The plain-text part, with the CRLF line ends of SMTP turned back into newlines."""
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
