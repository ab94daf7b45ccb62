"""Small helpers shared by the form views: turning a DomainError into messages placed next to the field
they are about, so no failure ever reaches the user as a bare error page in the middle of a form."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

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
