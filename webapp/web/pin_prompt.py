"""The transaction PIN on the review steps of the money flows (send, pay, top-up, withdraw). The review
asks for it once the person has set one (templates/_pin.html); a missing or wrong PIN comes back to the
same review, by Post/Redirect/Get, with the message under the field. The draft, and so its idempotency
key, stays as it was: the wrong try moved nothing, and the next confirm is the same request."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_login import current_user

from webapp.errors import DomainError, PinInvalid, PinRequired
from webapp.extensions import new_uow
from webapp.services import pins
from webapp.web.forms import redirect_back, restore

REFUSALS = (PinRequired, PinInvalid)  # what a confirm answers on its own review page


@dataclass(frozen=True)
class Prompt:
    is_set: bool
    errors: dict[str, str]  # {"pin": message} after a refused confirm, for the field and the summary


def prompt(kind: str) -> Prompt:
    """What a review page shows about the PIN, with the message of the confirm just refused, if any."""
    _, errors = restore(_form(kind), {})
    return Prompt(pins.status(new_uow(), user_id=current_user.id).is_set, errors)


def typed() -> str:
    """The PIN as typed: trimmed and capped (it is checked, never echoed or kept)."""
    return (request.form.get("pin") or "").strip()[:16]


def back_to_review(kind: str, review_url: str, error: DomainError):
    return redirect_back(_form(kind), review_url, {}, {"pin": error.message})


def _form(kind: str) -> str:
    return f"{kind}:pin"
