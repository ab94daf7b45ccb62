"""Helpers every form page shares, so each new page gets the same behaviour by reusing them:

- every problem of a submit is shown at once, each next to its field (`errors_for` places a domain error's
  field messages under the form's own field names), with a summary at the top (`_macros.html`);
- Post/Redirect/Get also when the form has problems (`redirect_back` / `restore`): a reload or Back never
  asks to resubmit a form, and what the person typed (never a password) comes back with the messages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, request, session

from webapp.errors import DomainError

FORM = "_form"  # the key for messages shown at the top of a form, not next to a field


def errors_for(error: DomainError, aliases: dict[str, str] | None = None, default: str = FORM) -> dict[str, str]:
    """Field messages from a ValidationError's details, renamed to the form's own field names; any other
    domain error lands on `default` (a field, or the top of the form)."""
    aliases = aliases or {}
    fields = (error.details or {}).get("fields") or {}
    if not fields:
        return {default: error.message}
    placed: dict[str, str] = {}
    for name, message in fields.items():
        placed.setdefault(aliases.get(name, name), message)
    return placed


def redirect_back(form: str, url: str, values: dict[str, str], errors: dict[str, str]):
    """Answer a submit that has problems with a 303 to the form's GET page, which shows them (`restore`).
    The values and messages ride in the signed session cookie for exactly one page view."""
    # Pairs, not a dict: the session's JSON sorts keys, and the messages should keep the form's order.
    session[f"form:{form}"] = {"values": values, "errors": list(errors.items())}
    return redirect(url, 303)


def restore(form: str, defaults: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """What `redirect_back` kept for this form, once: (values over `defaults`, errors)."""
    kept = session.pop(f"form:{form}", None) or {}
    return {**defaults, **kept.get("values", {})}, dict(kept.get("errors", []))


def text(name: str, limit: int = 1024) -> str:
    """A trimmed form value, capped so nobody can post a megabyte into a field we echo back."""
    return (request.form.get(name) or "").strip()[:limit]


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in: an open redirect would make phishing easy."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target
