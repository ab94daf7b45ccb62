"""Emails about what just happened: the password-reset link and "you received money". Each job takes
ids, asks a service what to say, and sends it; a MailError makes RQ retry later (webapp/background.py)."""

from __future__ import annotations

from jobs import app_context
from webapp import mail
from webapp.extensions import new_uow
from webapp.services import notices, passwords


def money_received(transaction_id: str) -> None:
    with app_context():
        notice = notices.money_received(new_uow(), transaction_id=transaction_id)
        if notice is None:
            return
        amount = notice.amount.format()
        mail.send(mail.Message(
            to=notice.to, subject=f"You received {amount}", template="money_received",
            context={"amount": amount, "sender": notice.sender,
                     "receipt_url": mail.external_url("web.transaction_detail", transaction_id=notice.transaction_id)},
        ))


def password_reset(user_id: str) -> None:
    """Make a new link (older ones stop working) and mail it. Run again, it simply sends a newer link."""
    with app_context():
        link = passwords.issue_link(new_uow(), user_id=user_id)
        if link is None:
            return
        mail.send(mail.Message(
            to=link.email, subject="Reset your E-Wallet password", template="password_reset",
            context={"reset_url": mail.external_url("web.reset_password", token=link.token),
                     "minutes": link.expires_in // 60},
        ))
