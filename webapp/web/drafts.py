"""Review steps that survive Back and reload. A money form that checks out becomes a draft, kept for a
short while in the signed session cookie under a random id together with the idempotency key made for
it. The review page is a GET of that id, so Back and reload show it again instead of asking to resubmit a
form, and every confirm of one draft carries the same key: however often it is sent, the money moves once.

Withdrawals, top-ups and institution payments use the same drafts; `kind` keeps one flow's draft out of
another's review page.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

from flask import request, session

from webapp.web.forms import restore

TTL = 30 * 60  # seconds a review stays open; the idempotency key itself lives 48 h
KEEP = 4  # drafts per session: enough for a few tabs, small enough for a cookie


@dataclass(frozen=True)
class Draft:
    id: str
    kind: str
    values: dict[str, str]  # what the form carried, as typed
    key: str  # the idempotency key every confirm of this draft sends


def save(kind: str, values: dict[str, str]) -> Draft:
    now = int(time.time())
    kept = {draft_id: d for draft_id, d in session.get("drafts", {}).items() if d["exp"] > now}
    draft = Draft(secrets.token_urlsafe(12), kind, values, uuid.uuid4().hex)
    kept[draft.id] = {"kind": kind, "values": values, "key": draft.key, "exp": now + TTL}
    newest = sorted(kept.items(), key=lambda item: item[1]["exp"])[-KEEP:]
    session["drafts"] = dict(newest)
    return draft


def load(kind: str, draft_id: str) -> Draft | None:
    """The draft, while it is fresh and of this kind; None otherwise."""
    kept = session.get("drafts", {}).get(draft_id)
    if not kept or kept["kind"] != kind or kept["exp"] <= time.time():
        return None
    return Draft(draft_id, kind, kept["values"], kept["key"])


def opening(kind: str, blank: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """What a money form shows on GET: the values of the draft named by ?draft= (Edit on a review, or Try
    again after a failure) or `blank`, under what a submit with problems kept (forms.restore), and those
    problems."""
    draft = load(kind, request.args.get("draft", ""))
    return restore(kind, draft.values if draft else blank)
