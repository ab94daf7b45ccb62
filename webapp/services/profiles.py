"""The name people who pay you, or whom you pay, see: shown instead of your email wherever they did not
type your address themselves (Party.shown_to in services/recipients.py)."""

from __future__ import annotations

import re
import unicodedata

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import ValidationError
from webapp.models import User
from webapp.services import audit

MAX_NAME = 80  # users.display_name


def check_display_name(raw: object) -> str | None:
    """A trimmed name in NFC with single spaces, or None for none. No "@": a name shown where an email
    would be must not pass for someone's address. No control or format characters (a right-to-left
    override would make "resu-tellaw" read "wallet-user")."""
    if raw is not None and not isinstance(raw, str):
        raise ValidationError.field("display_name", "Send your name as text.")
    name = re.sub(r"\s+", " ", unicodedata.normalize("NFC", raw or "")).strip()
    if not name:
        return None
    if len(name) > MAX_NAME:
        raise ValidationError.field("display_name", f"Keep your name under {MAX_NAME + 1} characters.")
    if "@" in name or any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in name):
        raise ValidationError.field("display_name", "Use letters, spaces and punctuation, without @.")
    return name


@retry_on_conflict
def set_display_name(uow: UnitOfWork, *, user_id: str, name: object) -> str | None:
    """Set (or, empty, clear) the name. Payments already made keep the name they were made with."""
    name = check_display_name(name)
    with uow:
        user = uow.session.get(User, user_id, with_for_update=True)
        if user is None:
            raise ValidationError.field("display_name", "Sign in again.")
        user.display_name = name
        audit.append(uow, stream=audit.user_stream(user_id), event="display_name_changed", actor_id=user_id)
        uow.commit()
    return name
