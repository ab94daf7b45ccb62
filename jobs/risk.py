"""The "many new recipients" risk rule, after a transfer has committed (services/risk.py queues it from the
transfer's unit of work; without Redis it runs inline right after the commit). Ids in, one service call."""

from __future__ import annotations

import logging
from datetime import datetime

from jobs import app_context
from webapp.extensions import new_uow
from webapp.services import risk

log = logging.getLogger(__name__)


def new_recipients(sender_id: str, at: str) -> None:
    """`at`: when the transfer was made (ISO, UTC), so a job that waited in the queue looks at the same
    minutes the transfer did. Safe to run twice: a rule with an open flag does not fire again."""
    with app_context():
        fired = risk.check_new_recipients(new_uow(), sender_id=sender_id, at=datetime.fromisoformat(at))
        if fired is not None:
            log.info("risk rule new_recipients fired", extra={"event": "risk.flagged"})
