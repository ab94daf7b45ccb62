"""Messages that confirm a contact: the email link and the texted code. Each job makes a fresh secret
(older ones stop working) and sends it; run twice, it simply sends a newer one. A MailError or SmsError
makes RQ retry later (webapp/background.py)."""

from __future__ import annotations

from jobs import app_context
from webapp import mail
from webapp.extensions import new_uow
from webapp.providers import sms
from webapp.services import verification


def email_link(user_id: str) -> None:
    with app_context():
        link = verification.issue(new_uow(), user_id=user_id, channel=verification.EMAIL)
        if link is None:
            return
        mail.send(mail.Message(
            to=link.to, subject="Confirm your email for E-Wallet", template="verify_email",
            context={"verify_url": mail.external_url("web.verify_email", token=link.value),
                     "hours": link.expires_in // 3600},
        ))


def phone_code(user_id: str) -> None:
    with app_context() as app:
        code = verification.issue(new_uow(), user_id=user_id, channel=verification.PHONE)
        if code is None:
            return
        minutes = code.expires_in // 60
        sms.provider(app.config).send(code.to, f"Your E-Wallet code is {code.value}. It expires in {minutes} "
                                               "minutes. Never share it: we will never ask for it.")
