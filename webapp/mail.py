"""The mailer: plain-text Jinja templates sent through Flask-Mailman, configured by one MAIL_URL.

    smtp://[user:pass@]host:port[?starttls=1]   SMTP, optionally upgraded with STARTTLS
    smtps://[user:pass@]host:port               SMTP over implicit TLS (port 465)
    dummy:                                      drop every message (load benchmarks)
    (unset)                                     print each message to the console (`ewallet dev`)

Mail is sent after the work it reports on has committed (see webapp/background.py), so a failure here
can never undo that work. It is logged without the address or the body (a reset link is a password),
and raised as a bare MailError for the job runner to retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, has_request_context, url_for
from flask_mailman import EmailMessage, Mail

from webapp.errors import ConfigurationError
from webapp.models.users import mask_email

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 10  # seconds; a stuck mail server must not hold a worker (or a dev request) for ever
LOOPBACK_URL = "http://127.0.0.1:5000"  # links built outside a request, when PUBLIC_URL is unset (dev)


class MailError(Exception):
    """A message could not be sent. Carries no address and no body: both may be secret or personal."""


@dataclass(frozen=True)
class Message:
    """A message to send: who to, the subject, and the template (under templates/mail/) with its values."""

    to: str
    subject: str
    template: str
    context: dict = field(default_factory=dict)


def settings(mail_url: str, sender: str) -> dict:
    """Flask-Mailman's settings for a MAIL_URL (see the module docstring for the forms it takes)."""
    if not mail_url:
        return {"MAIL_BACKEND": "console", "MAIL_DEFAULT_SENDER": sender}
    parts = urlsplit(mail_url)
    if parts.scheme == "dummy":
        return {"MAIL_BACKEND": "dummy", "MAIL_DEFAULT_SENDER": sender}
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError("MAIL_URL must look like smtp://[user:pass@]host:port[?starttls=1]")
    starttls = parse_qs(parts.query).get("starttls", ["0"])[-1].lower() in ("1", "true", "yes", "on")
    implicit_tls = parts.scheme == "smtps"
    if implicit_tls and starttls:
        raise ConfigurationError("MAIL_URL: smtps:// is already TLS; drop ?starttls=1")
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": parts.hostname,
        "MAIL_PORT": parts.port or (465 if implicit_tls else 25),
        "MAIL_USERNAME": unquote(parts.username) if parts.username else None,  # user%40example.com -> @
        "MAIL_PASSWORD": unquote(parts.password) if parts.password else None,
        "MAIL_USE_TLS": starttls,
        "MAIL_USE_SSL": implicit_tls,
        "MAIL_TIMEOUT": SMTP_TIMEOUT,
        "MAIL_DEFAULT_SENDER": sender,
    }


def _state():
    """This app's Flask-Mailman state, made from MAIL_URL on first use and kept in app.extensions (where
    Flask-Mailman's backends look for it). Two threads racing here build the same thing twice; harmless."""
    app = current_app._get_current_object()
    state = app.extensions.get("mailman")
    if state is None:
        config = settings(app.config.get("MAIL_URL", ""), app.config.get("MAIL_FROM", ""))
        state = app.extensions["mailman"] = Mail.init_mail(config, app.testing)
    return state


def send(message: Message) -> None:
    """Render and send one message. Raises MailError (logged, with the address masked) if it did not go."""
    state = _state()
    # The Jinja environment directly, not render_template: the pages' context processors need a request
    # (the signed-in user, the tab bar), and a worker sending mail has none.
    body = current_app.jinja_env.get_template(f"mail/{message.template}.txt").render(**message.context)
    email = EmailMessage(subject=message.subject, body=body, from_email=state.default_sender, to=[message.to])
    try:
        email.send()
    except Exception as error:  # smtplib's errors repeat the refused address, so only the type is logged
        log.warning("mail %r to %s not sent: %s", message.template, mask_email(message.to), type(error).__name__)
        raise MailError(f"mail {message.template!r} not sent ({type(error).__name__})") from None
    log.info("mail %r sent to %s", message.template, mask_email(message.to))


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an email. PUBLIC_URL when set (production requires it); otherwise the host of
    the request being served (dev and tests, where that is the server the person is using), or loopback."""
    public = current_app.config.get("PUBLIC_URL", "")
    if not public and has_request_context():
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(public or LOOPBACK_URL)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)
