"""Automatic risk holds (issue 12 point 7): rules from config that freeze an account's outgoing money and
put it on the back office's flagged list. The money paths only call the three hooks below; what each rule
counts, and when it fires, lives here.

Contract for callers (being built now): each hook runs inside the caller's unit of work, before commit.
"""

from __future__ import annotations

from webapp.db import UnitOfWork


def after_transfer(uow: UnitOfWork, *, sender_id: str) -> None:
    """A transfer by `sender_id` is about to commit: the "many new recipients" rule looks at it."""


def after_lockout(uow: UnitOfWork, *, user_id: str, kind: str) -> None:
    """`user_id` was just locked out (`kind`: "pin" or "login"): the repeated-lockouts rule looks at it."""


def after_negative_balance(uow: UnitOfWork, *, user_id: str, details: dict) -> None:
    """A refund or lost dispute just left one of `user_id`'s wallets below zero."""
